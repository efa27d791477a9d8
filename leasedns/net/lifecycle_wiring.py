"""The lifecycle settings of each zone, the role index and the blast-radius state, from the config."""

from __future__ import annotations

from typing import Any

from leasedns.config import Config
from leasedns.lease.protect import BlastRadius, ZoneLifecycle
from leasedns.lease.roles import InfraSettings, RoleIndex
from leasedns.server.core import ServerCore
from leasedns.wire.names import Name
from leasedns.zone.update_engine import Lifecycle


def _infra(*parts: dict[str, Any]) -> InfraSettings:
    s = InfraSettings()
    for p in parts:
        s.networks += [str(n) for n in p.get("networks") or []]
        s.name_patterns += [str(n) for n in p.get("names") or []]
    return s


def build_lifecycle(core: ServerCore, cfg: Config) -> Lifecycle:
    blast = dict(cfg.blast_radius)
    cache: dict[Name, ZoneLifecycle] = {}
    infra_cache: dict[str, Any] = {"key": None, "index": None}

    def zone_cfg(zone: Name):  # type: ignore[no-untyped-def]
        for zc in cfg.zones:
            if core.zone_origins.get(zc.file) == zone:
                return zc
        return None

    def settings_for(zone: Name) -> ZoneLifecycle:
        if zone not in cache:
            zc = zone_cfg(zone)
            cache[zone] = ZoneLifecycle(
                profile=(zc.profile if zc and zc.profile else cfg.profile),
                grace=(zc.grace if zc and zc.grace is not None else cfg.grace),
                keep_on_expiry=bool(zc and zc.keep_on_expiry),
                blast_share=float(blast.get("share", 0.25)),
                blast_window=int(blast.get("window", 600)),
                blast_min=int(blast.get("min", 10)),
                tombstone_retention=cfg.tombstone_retention,
                overrides=tuple(
                    (str(o.get("names", "")), str(o.get("network", "")), str(o["profile"]))
                    for o in (zc.profile_overrides if zc else [])
                ),
            )
        return cache[zone]

    def roles_for(zone: Name) -> RoleIndex:
        with core.store.reader() as r:
            key = tuple((z, st.human_gen) for z, st in r.zones() if z in core.zones)
            if infra_cache["key"] != key:
                parts = [cfg.infrastructure] + [zc.infrastructure for zc in cfg.zones]
                infra_cache["index"] = RoleIndex.build(r, [z for z, _ in key], _infra(*parts))
                infra_cache["key"] = key
        return infra_cache["index"]  # type: ignore[no-any-return]

    lc = Lifecycle(settings_for, roles_for, BlastRadius(), lambda: core.zones.origins)
    core.lifecycle = lc
    return lc
