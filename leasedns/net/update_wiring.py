"""Dynamic update (RFC 2136) wiring: keyring, per-zone policy, group commit on the reactor."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from twisted.internet import reactor

from leasedns import keys
from leasedns.config import Config, ConfigError
from leasedns.server.core import ServerCore
from leasedns.update import policy
from leasedns.wire import names
from leasedns.wire.names import Name
from leasedns.zone.commit import ZoneChange
from leasedns.zone.update_engine import LeaseLimits, UpdateEngine, ZonePolicy

log = logging.getLogger("leasedns")


def build_keyring(cfg: Config) -> keys.Keyring:
    out = []
    for k in cfg.keys:
        try:
            out += keys.keys_of_entry(k)
        except (keys.KeySpecError, OSError) as e:
            raise ConfigError(f"{cfg.source}:{k.get('__line__', 0)}: key: {e}") from e
    return keys.Keyring(out)


def zone_policies(core: ServerCore, cfg: Config) -> Callable[[Name], ZonePolicy]:
    cache: dict[Name, ZonePolicy] = {}

    def for_zone(zone: Name) -> ZonePolicy:
        if zone not in cache:
            zp = ZonePolicy()
            for zc in cfg.zones:
                if core.zone_origins.get(zc.file) == zone:
                    zp = ZonePolicy(
                        policy.parse_rules(zc.update_policy, zone),
                        list(zc.allow_update),
                        zc.allow_update_role,
                    )
            cache[zone] = zp
        return cache[zone]

    return for_zone


def install_update(core: ServerCore, cfg: Config, clock: Any = reactor) -> UpdateEngine:
    keyring = build_keyring(cfg)
    core.keyring = keyring

    def on_change(ch: ZoneChange) -> None:
        core.zone_changed(ch.zone, ch.serial, set(ch.touched), ch.structural)

    engine = UpdateEngine(
        core.store,
        served=lambda z: z in core.zones,
        keyring=keyring,
        zone_policy=zone_policies(core, cfg),
        clock=time.time,
        schedule=lambda f: clock.callLater(0, f),
        on_change=on_change,
        serial_policy=cfg.serial_policy,
        journal_depth=cfg.journal_depth,
        journal_max_bytes=cfg.journal_max_bytes,
        max_udp=cfg.max_udp_payload,
        lease_limits=LeaseLimits(
            cfg.lease_min, cfg.lease_max, cfg.key_lease_min, cfg.key_lease_max
        ),
        lease_update_interval=cfg.lease_update_interval,
    )

    def handler(data: bytes, addr: object, send: Callable[[bytes], None]) -> None:
        host = addr[0] if isinstance(addr, tuple) else str(addr)
        engine.submit(data, host, send)

    core.dispatcher.update_handler = handler
    core.update_engine = engine
    log.info("dynamic update: %d TSIG key(s): %s", len(keyring),
             ", ".join(names.to_text(n) for n in keyring) or "none")  # fmt: skip
    return engine
