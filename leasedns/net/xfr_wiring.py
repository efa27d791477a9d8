"""Zone transfer (AXFR/IXFR) and NOTIFY wiring: handlers into the dispatcher, NOTIFY on each serial."""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from twisted.internet import reactor

from leasedns.config import Config, ConfigError, Endpoint
from leasedns.keys import Keyring, KeySpecError, TsigKey, key_from_yaml, parse_key_spec
from leasedns.net.notify_send import NotifySender
from leasedns.query.respond import Request
from leasedns.server.core import ServerCore
from leasedns.server.dispatch import Reply
from leasedns.wire import names
from leasedns.wire.names import Name
from leasedns.xfr.access import DEFAULT_ACL, AclSpecError, TransferAcl, parse_acl
from leasedns.xfr.axfr import T_SOA
from leasedns.xfr.handler import XfrHandler
from leasedns.xfr.notify import Target

log = logging.getLogger("leasedns")


def resolve_target(ep: Endpoint) -> Target | None:
    """An IP literal as is (normalised); a host name resolved once, at start."""
    try:
        return str(ipaddress.ip_address(ep.host)), ep.port
    except ValueError:
        pass
    try:
        info = socket.getaddrinfo(ep.host, ep.port, type=socket.SOCK_DGRAM)
    except OSError as e:
        log.warning("NOTIFY target %s: cannot resolve: %s; skipped", ep, e)
        return None
    return str(info[0][4][0]), ep.port


def notify_keys(cfg: Config, ring: Keyring) -> dict[Target, TsigKey]:
    """Secondaries whose NOTIFYs are TSIG-signed (``notify: [{address, key}]`` in YAML)."""
    out: dict[Target, TsigKey] = {}
    for ep, key_name in cfg.notify_keys.items():
        t = resolve_target(ep)
        k = ring.get(names.from_text(key_name if key_name.endswith(".") else key_name + "."))
        if k is None:
            raise ConfigError(
                f"{cfg.source}: notify key {key_name!r} is not among the configured keys"
            )
        if t is not None:
            out[t] = k
    return out


def _fallback_keyring(cfg: Config) -> Keyring:
    """Keys from the configuration, for when no other engine has set ``core.keyring``.

    Entries this cannot read are skipped; the update engine reports them.
    """
    keys: list[TsigKey] = []
    for k in cfg.keys:
        spec = {x: v for x, v in k.items() if x != "__line__"}
        try:
            keys.append(parse_key_spec(spec["spec"]) if "spec" in spec else key_from_yaml(spec))
        except (KeySpecError, TypeError):
            continue
    try:
        return Keyring(keys)
    except KeySpecError:
        return Keyring()


def install_xfr(core: ServerCore, cfg: Config) -> None:
    """Serve AXFR/IXFR and inbound NOTIFY; NOTIFY the secondaries after each serial change."""
    acls: dict[str, TransferAcl] = {}
    notify_of: dict[str, list[Endpoint]] = {}
    for zc in cfg.zones:
        try:
            acls[zc.file] = parse_acl(zc.allow_transfer)
        except AclSpecError as e:
            raise ConfigError(f"{cfg.source}: zone {zc.file}: {e}") from None
        notify_of[zc.file] = zc.notify

    def file_of(zone: Name) -> str | None:
        for f, origin in core.zone_origins.items():
            if origin == zone:
                return f
        return None

    def acl_for(zone: Name) -> TransferAcl:
        f = file_of(zone)
        return acls.get(f, DEFAULT_ACL) if f is not None else DEFAULT_ACL

    fallback: list[Keyring] = []

    def keyring() -> Keyring:
        if isinstance(core.keyring, Keyring):
            return core.keyring
        if not fallback:
            fallback.append(_fallback_keyring(cfg))
        return fallback[0]

    core.dispatcher.keyring = keyring  # signed queries are checked with the same keys
    handler = XfrHandler(core.store, core.zones, acl_for, cfg.max_udp_payload)
    counters = core.dispatcher.counters

    def counted(req: Request, reply: Reply) -> Reply:
        if reply.wire is not None and len(reply.wire) >= 4:
            counters.count(req.qtype, reply.wire[3] & 0xF)
        return reply

    core.dispatcher.xfr_handler = lambda data, req, rec, addr, tcp: counted(
        req, handler.transfer(data, req, rec, addr, tcp, core.clock(), keyring())
    )
    core.dispatcher.notify_handler = lambda data, req, rec, addr: counted(
        req, handler.notify(data, req, rec, addr, core.clock(), keyring())
    )

    resolved: dict[Endpoint, Target | None] = {}

    def targets_for(zone: Name) -> list[Target]:
        f = file_of(zone)
        eps = list(cfg.notify) + (notify_of.get(f, []) if f is not None else [])
        out: list[Target] = []
        for ep in eps:
            if ep not in resolved:
                resolved[ep] = resolve_target(ep)
            t = resolved[ep]
            if t is not None and t not in out:
                out.append(t)
        return out

    sender = NotifySender(reactor, keys=notify_keys(cfg, keyring()))

    def on_zone_change(zone: Name, serial: int) -> None:
        targets = targets_for(zone)
        if not targets:
            return
        with core.store.reader() as r:
            soa = r.get(zone, zone, T_SOA)
        if soa is None or not soa[1]:
            return
        log.debug(
            "NOTIFY %s serial %d to %d secondary(ies)", names.to_text(zone), serial, len(targets)
        )
        sender.notify(zone, targets, soa[0], soa[1][0])

    def on_start() -> None:
        if not cfg.notify and not any(notify_of.values()):
            return
        sender.listen(reactor)
        with core.store.reader() as r:
            serials = {origin: st.serial for origin, st in r.zones()}
        for zone in sorted(core.zones.origins):
            on_zone_change(zone, serials.get(zone, 0))

    core.on_zone_change.append(on_zone_change)
    core.start_hooks.append(on_start)
    core.extra_collectors.append(lambda: list(_metrics(handler, sender)))


def _metrics(handler: XfrHandler, sender: NotifySender) -> Iterator[object]:
    t = CounterMetricFamily(
        "leasedns_transfers", "Zone transfer requests by outcome", labels=["outcome"]
    )
    for outcome, n in sorted(handler.outcomes.items()):
        t.add_metric([outcome], n)
    yield t
    c = sender.counters
    yield CounterMetricFamily("leasedns_notify_sent", "NOTIFY messages sent", value=c.sent)
    yield CounterMetricFamily(
        "leasedns_notify_acknowledged", "NOTIFYs ended by a NOERROR/NOTIMP reply", value=c.answered
    )
    yield CounterMetricFamily(
        "leasedns_notify_errors", "NOTIFY replies with an error or a bad TSIG", value=c.errors
    )
    yield CounterMetricFamily(
        "leasedns_notify_unanswered_bursts",
        "Times a secondary left 5 NOTIFYs unanswered (then retried at the SOA RETRY pace)",
        value=c.unanswered_bursts,
    )
    yield GaugeMetricFamily(
        "leasedns_notify_pending", "NOTIFYs awaiting an answer", value=len(sender.state.pending())
    )
