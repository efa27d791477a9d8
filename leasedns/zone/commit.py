"""Closing a batch of zone changes: one SOA serial bump and one journal entry per changed zone."""

from __future__ import annotations

from dataclasses import dataclass

from leasedns.store.records import JournalEntry
from leasedns.store.zonestore import Writer
from leasedns.update.rfc2136 import ZoneTxn
from leasedns.wire import names
from leasedns.wire.names import Name
from leasedns.zone import serial as serials

T_SOA, T_NS, T_DNAME = 6, 2, 39


@dataclass(frozen=True)
class ZoneChange:
    """What listeners (answer cache, NOTIFY) need to know after the commit."""

    zone: Name
    serial: int
    touched: frozenset[Name]
    structural: bool  # an NS or DNAME below the apex changed: a zone cut may have moved


def _maybe_human(w: Writer, zone: Name, owner: Name, rtype: int) -> bool:
    """Could this change move the infrastructure picture (human data, or data now gone)?"""
    meta = w.get_meta(zone, owner, rtype)
    if meta is None:
        return w.get(zone, owner, rtype) is None and rtype in (2, 5, 15, 33, 1, 28)
    return meta.provenance.is_human or bool(meta.human_touched)


def finish_zones(
    w: Writer,
    zones: dict[Name, ZoneTxn],
    now: float,
    actor: str,
    reason: str,
    serial_policy: str = "increment",
    journal_depth: int = 1000,
    journal_max_bytes: int = 64 << 20,
) -> list[ZoneChange]:
    """RFC 2136 §3.6 / draft §4.2: a zone that changed gets a new serial, once per batch."""
    out = []
    for zone, z in zones.items():
        deleted, added = z.changes()
        soa_before = z.before.get((zone, T_SOA))
        if not deleted and not added and soa_before is None:
            continue
        state = w.zone_state(zone)
        cur_soa = w.get(zone, zone, T_SOA)
        if state is None or cur_soa is None:
            continue
        old_serial = state.serial
        old_soa = soa_before if soa_before is not None else cur_soa
        set_by_update = serials.soa_serial(cur_soa[1][0])
        if soa_before is not None and serials.gt(set_by_update, old_serial):
            new_serial = set_by_update  # an update replaced the SOA with a higher serial itself
        else:
            new_serial = serials.next_serial(old_serial, serial_policy, now)
        new_soa = serials.with_serial(cur_soa[1][0], new_serial)
        w.put_rrset(zone, zone, T_SOA, cur_soa[0], (new_soa,), None)  # metadata unchanged
        state.serial = new_serial
        if any(_maybe_human(w, zone, o, t) for o, t in z.before if t != T_SOA):
            state.human_gen += 1
        zt = names.to_text(zone)
        entry = JournalEntry(
            serial_from=old_serial,
            serial_to=new_serial,
            deleted=[(zt, T_SOA, old_soa[0], old_soa[1][0].hex())]
            + [(names.to_text(o), t, ttl, rd.hex()) for o, t, ttl, rd in deleted],
            added=[(zt, T_SOA, cur_soa[0], new_soa.hex())]
            + [(names.to_text(o), t, ttl, rd.hex()) for o, t, ttl, rd in added],
            actor=actor,
            reason=reason,
            time=int(now),
        )
        w.append_journal(zone, state, entry, journal_depth, journal_max_bytes)
        w.put_zone_state(zone, state)
        touched = frozenset({o for o, _ in z.before} | {zone})
        structural = any((t == T_NS and o != zone) or t == T_DNAME for o, t in z.before)
        out.append(ZoneChange(zone, new_serial, touched, structural))
    return out
