"""Importing a parsed master file into the store: the difference, in one transaction, audited."""

from __future__ import annotations

from dataclasses import dataclass, field

from leasedns.store.records import (
    AuditEvent,
    JournalEntry,
    Provenance,
    RRsetMeta,
    RRTuple,
    ZoneState,
)
from leasedns.store.zonestore import Writer
from leasedns.wire import names
from leasedns.wire.names import Name
from leasedns.zone import serial as serials
from leasedns.zone.masterfile import ParsedZone
from leasedns.zone.present import rr_text

T_SOA = 6

RRsetId = tuple[Name, int]


@dataclass
class ImportResult:
    origin: Name
    serial: int
    added: list[RRTuple] = field(default_factory=list)
    deleted: list[RRTuple] = field(default_factory=list)
    kept_dynamic: list[str] = field(default_factory=list)
    changed_names: set[Name] = field(default_factory=set)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.deleted)


def group(parsed: ParsedZone) -> dict[RRsetId, tuple[int, tuple[bytes, ...]]]:
    """RRsets of the file; RFC 2181 §5.2: one TTL per RRset, the smallest given."""
    out: dict[RRsetId, tuple[int, list[bytes]]] = {}
    for r in parsed.records:
        k = (r.name, r.rtype)
        if k in out:
            ttl, rds = out[k]
            if r.rdata not in rds:
                rds.append(r.rdata)
            out[k] = (min(ttl, r.ttl), rds)
        else:
            out[k] = (r.ttl, [r.rdata])
    return {k: (ttl, tuple(rds)) for k, (ttl, rds) in out.items()}


def rr_tuples(owner: Name, rtype: int, ttl: int, rdatas: tuple[bytes, ...]) -> list[RRTuple]:
    return [(names.to_text(owner), rtype, ttl, rd.hex()) for rd in rdatas]


AUDIT_RR_LIMIT = 200  # RRs listed per audit event; the journal keeps them all


def _rr_line(rr: RRTuple) -> str:
    owner, rtype, ttl, rdata_hex = rr
    return rr_text(names.from_text(owner), rtype, ttl, bytes.fromhex(rdata_hex))


def import_zone(
    w: Writer, parsed: ParsedZone, source: str, now: float, serial_policy: str = "increment"
) -> ImportResult:
    """Apply the file's difference against the zone-file RRsets in the store.

    RRsets written dynamically (admin, DHCP, clients) are never touched by a
    re-import; where the file disagrees with one, that is reported, not applied.
    """
    origin = parsed.origin
    want = group(parsed)
    state = w.zone_state(origin)
    file_soa = want[(origin, T_SOA)]
    file_serial = serials.soa_serial(file_soa[1][0])
    res = ImportResult(origin, file_serial)
    have: dict[RRsetId, tuple[int, tuple[bytes, ...]]] = {}
    dynamic: set[RRsetId] = set()
    for owner, rtype, ttl, rdatas in w.iter_zone(origin):
        meta = w.get_meta(origin, owner, rtype)
        if meta is not None and meta.provenance != Provenance.ZONEFILE:
            dynamic.add((owner, rtype))
        have[(owner, rtype)] = (ttl, rdatas)
    t = int(now)
    for k, (ttl, rdatas) in want.items():
        if k[1] == T_SOA:
            continue
        old = have.get(k)
        if k in dynamic:
            if old is None or set(old[1]) != set(rdatas) or old[0] != ttl:
                res.kept_dynamic.append(f"{names.to_text(k[0])} type {k[1]}")
            continue
        if old is not None and old[0] == ttl and set(old[1]) == set(rdatas):
            continue
        if old is not None:
            res.deleted += rr_tuples(k[0], k[1], *old)
        res.added += rr_tuples(k[0], k[1], ttl, rdatas)
        res.changed_names.add(k[0])
        w.put_rrset(origin, k[0], k[1], ttl, rdatas, RRsetMeta(created=t, confirmed=t))
    for k, old in have.items():
        if k in want or k in dynamic or k[1] == T_SOA:
            continue
        res.deleted += rr_tuples(k[0], k[1], *old)
        res.changed_names.add(k[0])
        w.delete_rrset(origin, k[0], k[1])
    old_soa = have.get((origin, T_SOA))
    soa_changed = (
        old_soa is None
        or old_soa[0] != file_soa[0]
        or (serials.with_serial(old_soa[1][0], 0) != serials.with_serial(file_soa[1][0], 0))
    )
    if state is None:
        new_serial = file_serial
    elif res.changed or soa_changed or serials.gt(file_serial, state.serial):
        new_serial = (
            file_serial
            if serials.gt(file_serial, state.serial)
            else serials.next_serial(state.serial, serial_policy, now)
        )
    else:
        new_serial = state.serial
    soa_rdata = serials.with_serial(file_soa[1][0], new_serial)
    if old_soa is None or old_soa[1][0] != soa_rdata or old_soa[0] != file_soa[0]:
        if old_soa is not None:
            res.deleted[:0] = rr_tuples(origin, T_SOA, *old_soa)
        res.added[:0] = rr_tuples(origin, T_SOA, file_soa[0], (soa_rdata,))
        res.changed_names.add(origin)
        w.put_rrset(
            origin, origin, T_SOA, file_soa[0], (soa_rdata,), RRsetMeta(created=t, confirmed=t)
        )
    res.serial = new_serial
    if state is None:
        state = ZoneState(origin=names.to_text(origin), serial=new_serial)
    old_serial = state.serial
    state.serial = new_serial
    state.human_gen += 1
    state.files = dict(parsed.files)
    state.source = source
    state.imported = t
    if res.changed and old_serial != new_serial and (old_soa is not None):
        entry = JournalEntry(
            old_serial, new_serial, res.deleted, res.added, "zonefile", "zone file re-import", t
        )
        w.append_journal(origin, state, entry, depth=1000, max_bytes=64 << 20)
    w.put_zone_state(origin, state)
    w.audit(
        AuditEvent(
            time=now,
            kind="zone-import" if old_soa is None else "zone-reimport",
            zone=names.to_text(origin),
            actor=source,
            role="zonefile",
            outcome="applied" if res.changed or old_soa is None else "unchanged",
            reason=(
                "zone file loaded"
                if old_soa is None
                else "zone file changed"
                if res.changed
                else "zone file re-read: no record changed"
            ),
            detail={
                "serial": new_serial,
                "added": len(res.added),
                "deleted": len(res.deleted),
                # what changed, for re-imports (a first import lists nothing: it is the file)
                "added_rrs": [_rr_line(t) for t in res.added[:AUDIT_RR_LIMIT]] if old_soa else [],
                "deleted_rrs": [_rr_line(t) for t in res.deleted[:AUDIT_RR_LIMIT]]
                if old_soa
                else [],
                "kept_dynamic": res.kept_dynamic,
            },
        )
    )
    return res
