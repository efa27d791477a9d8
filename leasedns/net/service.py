"""Starting the server: store, zones, listeners, signals; the only place that runs the reactor."""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from typing import Any

from twisted.internet import reactor

from leasedns.config import Config, ConfigError
from leasedns.net import udp_batch
from leasedns.net.http import make_site
from leasedns.net.tcp import DnsStreamFactory
from leasedns.net.udp import DnsDatagramProtocol
from leasedns.server.core import ServerCore
from leasedns.store.lmdb_kv import LmdbKV
from leasedns.store.zonestore import Store

log = logging.getLogger("leasedns")


class StartupError(RuntimeError):
    """The server cannot start (bad zone on first start, address in use, ...)."""


def pid_path(data_dir: str) -> str:
    return os.path.join(data_dir, "leasedns.pid")


def build_core(cfg: Config) -> ServerCore:
    os.makedirs(cfg.data_dir, exist_ok=True)
    store = Store(LmdbKV(os.path.join(cfg.data_dir, "store")))
    core = ServerCore(cfg, store)
    with store.reader() as r:
        known = {st.source for _, st in r.zones()}
    report = core.load_zones(first_start=True)
    fatal = [msg for source, msg in report.errors if source not in known]
    if fatal:
        raise StartupError("\n".join(fatal))
    return core


def listen(core: ServerCore, cfg: Config) -> list[Any]:
    """Bind every endpoint.  UDP is read in batches with recvmmsg/sendmmsg where the
    platform has them; ``LEASEDNS_UDP_BATCH=0`` in the environment forces the plain
    one-datagram-per-call Twisted protocol instead."""
    batch = udp_batch.available() and os.environ.get("LEASEDNS_UDP_BATCH", "1") != "0"
    ports = []
    for ep in cfg.listen:
        if batch:
            ports.append(udp_batch.listen_udp(core, ep.host, ep.port))
        else:
            ports.append(reactor.listenUDP(ep.port, DnsDatagramProtocol(core), interface=ep.host))  # type: ignore[attr-defined]
        factory = DnsStreamFactory(
            core, cfg.tcp_idle_timeout, cfg.tcp_max_connections, cfg.tcp_max_queries_per_connection
        )
        ports.append(reactor.listenTCP(ep.port, factory, backlog=128, interface=ep.host))  # type: ignore[attr-defined]
    if cfg.http is not None:
        ports.append(reactor.listenTCP(cfg.http.port, make_site(core), interface=cfg.http.host))  # type: ignore[attr-defined]
    return ports


def serve(cfg: Config) -> int:
    t0 = time.monotonic()
    try:
        core = build_core(cfg)
    except StartupError as e:
        print(f"leasedns: cannot start:\n{e}", file=sys.stderr)
        return 1
    from leasedns.net.wiring import install_all

    try:
        install_all(core, cfg)
    except ConfigError as e:
        print(f"leasedns: cannot start: {e}", file=sys.stderr)
        return 1
    try:
        listen(core, cfg)
    except Exception as e:  # noqa: BLE001 - CannotListenError and friends: say it plainly
        print(f"leasedns: cannot listen: {e}", file=sys.stderr)
        return 1

    def reload(*_: Any) -> None:
        report = core.load_zones()
        for _, e in report.errors:
            log.error("reload: %s (still serving the last good data)", e)
        for z in report.loaded:
            log.info("reload: loaded %s", z)

    signal.signal(signal.SIGHUP, lambda *a: reactor.callFromThread(reload))  # type: ignore[attr-defined]
    with open(pid_path(cfg.data_dir), "w") as f:
        f.write(f"{os.getpid()}\n")
    where = ", ".join(str(e) for e in cfg.listen)
    log.info(
        "serving %d zone(s) on %s (http %s), ready in %.2f s",
        len(core.zones.origins), where, cfg.http or "off", time.monotonic() - t0,
    )  # fmt: skip
    for hook in core.start_hooks:
        hook()
    reactor.run()  # type: ignore[attr-defined]
    try:
        os.unlink(pid_path(cfg.data_dir))
    except OSError:
        pass
    return 0
