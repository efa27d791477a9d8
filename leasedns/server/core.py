"""The server's state without the reactor: store, served zones, dispatcher and answer cache.

``net/`` feeds bytes in and writes what comes out; everything here can be
driven directly by tests.  Zone (re)loading lives here too because it decides
what the query path serves: a broken file keeps the last good data.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from leasedns import __version__
from leasedns.config import Config
from leasedns.query.zoneindex import ZoneIndex
from leasedns.server.answer_cache import AnswerCache
from leasedns.server.dispatch import Dispatcher, Reply
from leasedns.store.records import AuditEvent
from leasedns.store.zonestore import Store
from leasedns.wire import names
from leasedns.wire.names import Name
from leasedns.zone import loader
from leasedns.zone.masterfile import ZoneFileError, fingerprint_files, parse_zone_file

log = logging.getLogger("leasedns")


@dataclass
class LoadReport:
    loaded: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (zone file, message)


class ServerCore:
    def __init__(self, cfg: Config, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.cfg = cfg
        self.store = store
        self.clock = clock
        self.zones = ZoneIndex()
        self.dispatcher = Dispatcher(self.zones, cfg.max_udp_payload, clock)
        self.dispatcher.identity = identity(cfg)
        self.cache = AnswerCache(cfg.cache_entries)
        self.zone_load_errors = 0
        self.started = clock()
        self.zone_origins: dict[str, Name] = {}
        self.on_zone_change: list[Callable[[Name, int], None]] = []
        self.extra_collectors: list[Callable[[], list[object]]] = []
        self.http_children: dict[bytes, object] = {}
        self.start_hooks: list[Callable[[], None]] = []
        self.keyring: object = None  # leasedns.keys.Keyring, set by net.wiring
        self.update_engine: object = None
        self.timer_engine: object = None
        self.lifecycle: object = None
        self.wheel_clock: object = None

    # -- zones ---------------------------------------------------------------

    def load_zones(self, first_start: bool = False) -> LoadReport:
        """Import configured zone files whose content changed; keep serving on errors."""
        report = LoadReport()
        with self.store.reader() as r:
            by_source = {st.source: (origin, st) for origin, st in r.zones()}
        served: set[Name] = set()
        for zc in self.cfg.zones:
            prev = by_source.get(zc.file)
            if (
                prev is not None
                and prev[1].files
                and fingerprint_files(prev[1].files) == prev[1].files
            ):
                served.add(prev[0])
                self.zone_origins[zc.file] = prev[0]
                report.unchanged.append(zc.file)
                continue
            try:
                origin = names.from_text(zc.origin) if zc.origin else None
                parsed = parse_zone_file(zc.file, origin)
            except (ZoneFileError, names.NameError_) as e:
                self.zone_load_errors += 1
                report.errors.append((zc.file, str(e)))
                log.error("zone load failed: %s", e)
                self._audit_load_error(zc.file, str(e))
                if prev is not None:
                    served.add(prev[0])  # last good data keeps being served
                continue
            now = self.clock()
            with self.store.writer() as w:
                res = loader.import_zone(w, parsed, zc.file, now, self.cfg.serial_policy)
            served.add(parsed.origin)
            self.zone_origins[zc.file] = parsed.origin
            report.loaded.append(f"{zc.file}: {names.to_text(parsed.origin)} serial {res.serial}")
            for warning in parsed.warnings:
                log.warning("%s", warning)
            if res.changed:
                self.zone_changed(parsed.origin, res.serial, res.changed_names, structural=True)
        if served != set(self.zones.origins):
            self.zones.origins = frozenset(served)
            self.cache.clear()
        return report

    def _audit_load_error(self, source: str, message: str) -> None:
        with self.store.writer() as w:
            w.audit(
                AuditEvent(
                    time=self.clock(),
                    kind="zone-load-error",
                    zone="",
                    actor=source,
                    role="zonefile",
                    outcome="rejected",
                    reason=message,
                )
            )

    def zone_changed(
        self, zone: Name, serial: int, changed: set[Name], structural: bool = False
    ) -> None:
        """Invalidate cached answers and tell listeners (NOTIFY) about a new serial."""
        self.cache.invalidate(changed, zone, structural)
        for cb in self.on_zone_change:
            cb(zone, serial)

    # -- messages ------------------------------------------------------------

    def handle(
        self, data: bytes, addr: object, tcp: bool, send: Callable[[bytes], None] | None = None
    ) -> Reply:
        return self.dispatcher.handle(data, self.store, addr, tcp, send)


def identity(cfg: Config) -> dict[Name, str]:
    """What CH TXT version.bind/.server and hostname.bind/id.server answer (RFC 4892);
    ``version: none`` or ``hostname: none`` in the configuration hides one (REFUSED)."""
    version = f"leasedns {__version__}" if cfg.version is None else cfg.version
    host = socket.gethostname() if cfg.hostname is None else cfg.hostname
    out = {}
    for name, text in (("version.bind.", version), ("version.server.", version),
                       ("hostname.bind.", host), ("id.server.", host)):  # fmt: skip
        if text:
            out[names.from_text(name)] = text
    return out
