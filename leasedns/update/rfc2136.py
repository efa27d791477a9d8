"""RFC 2136 §3: zone section, prerequisites, prescan and applying updates to a zone view.

Every check runs before the first write, and applying cannot fail half-way
(§3.4.2 only ever *ignores* an RR), so an update is applied whole or not at
all inside the caller's transaction.  Helpers are named after the RFC checks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import dns.rdata
import dns.rdataclass
import dns.rdatatype

from leasedns.store.records import RRsetMeta
from leasedns.store.zonestore import RRsetData, Writer
from leasedns.update.message import C_ANY, C_IN, C_NONE, T_ANY, T_SOA, UpdateMessage, UpdateRR
from leasedns.wire import names
from leasedns.wire.names import Name
from leasedns.zone import serial as serials

NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 2, 3, 4, 5
YXDOMAIN, YXRRSET, NXRRSET, NOTAUTH, NOTZONE = 6, 7, 8, 9, 10

T_NS, T_CNAME, T_DNAME = 2, 5, 39
T_RRSIG, T_NSEC, T_NSEC3 = 46, 47, 50
T_IXFR, T_AXFR, T_MAILB, T_MAILA = 251, 252, 253, 254
_QUERY_META = {T_IXFR, T_AXFR, T_MAILB, T_MAILA, 41, 249, 250}
_NAME_TYPES = {2, 3, 4, 5, 6, 7, 8, 9, 12, 14, 15, 17, 18, 21, 26, 33, 35, 36, 39}
_DNSSEC_BESIDE_CNAME = {T_RRSIG, T_NSEC, T_NSEC3}


def canon(rtype: int, rdata: bytes) -> bytes:
    """RFC 4034 §6.2 canonical rdata, so comparisons ignore the case of embedded names."""
    if rtype not in _NAME_TYPES or not rdata:
        return rdata
    try:
        return dns.rdata.from_wire(
            dns.rdataclass.RdataClass(C_IN),
            dns.rdatatype.RdataType.make(rtype),
            rdata,
            0,
            len(rdata),
        ).to_digestable()
    except Exception:  # noqa: BLE001 - odd data compares as bytes
        return rdata


RRsetId = tuple[Name, int]


@dataclass
class ZoneTxn:
    """One zone inside a write transaction, remembering each RRset's state before the batch."""

    w: Writer
    zone: Name
    before: dict[RRsetId, RRsetData | None] = field(default_factory=dict)
    guard: Any = None  # lease.protect.Guard: the lifecycle's veto on removals and automation adds

    def get(self, owner: Name, rtype: int) -> RRsetData | None:
        return self.w.get(self.zone, owner, rtype)

    def types_at(self, owner: Name) -> dict[int, RRsetData]:
        return self.w.types_at(self.zone, owner)

    def meta(self, owner: Name, rtype: int) -> RRsetMeta | None:
        return self.w.get_meta(self.zone, owner, rtype)

    def _remember(self, owner: Name, rtype: int, cur: RRsetData | None = None) -> None:
        k = (owner, rtype)
        if k not in self.before:
            self.before[k] = cur if cur is not None else self.get(owner, rtype)

    def put(
        self, owner: Name, rtype: int, ttl: int, rdatas: tuple[bytes, ...], meta: RRsetMeta
    ) -> None:
        self._remember(owner, rtype)
        self.w.put_rrset(self.zone, owner, rtype, ttl, rdatas, meta)

    def delete(self, owner: Name, rtype: int) -> None:
        self._remember(owner, rtype)
        self.w.delete_rrset(self.zone, owner, rtype)

    def remove(self, owner: Name, rtype: int, cur: RRsetData | None = None) -> str:
        """Delete an RRset unless the lifecycle keeps it; returns why it was kept ("" = gone).

        ``cur`` is the RRset as the caller just read it (saves reading it again).
        """
        self._remember(owner, rtype, cur)
        if self.guard is None:
            self.w.delete_rrset(self.zone, owner, rtype)
            return ""
        return str(self.guard.remove(self.zone, owner, rtype, cur))

    def before_add(self, owner: Name, rtype: int) -> None:
        self._remember(owner, rtype)
        if self.guard is not None:
            self.guard.before_add(self.zone, owner, rtype)

    # What prerequisites see: a client's own RRsets in grace look deleted to it.
    def seen(self, owner: Name, rtype: int) -> RRsetData | None:
        if self.guard is not None and self.guard.hidden(self.zone, owner, rtype):
            return None
        return self.get(owner, rtype)

    def seen_types(self, owner: Name) -> dict[int, RRsetData]:
        types = self.types_at(owner)
        if self.guard is None:
            return types
        return {t: d for t, d in types.items() if not self.guard.hidden(self.zone, owner, t)}

    def changes(
        self,
    ) -> tuple[list[tuple[Name, int, int, bytes]], list[tuple[Name, int, int, bytes]]]:
        """Net (deleted, added) RRs since the batch began, SOA excluded."""
        deleted, added = [], []
        for (owner, rtype), old in self.before.items():
            if rtype == T_SOA:
                continue
            new = self.get(owner, rtype)
            old_rrs = {} if old is None else {canon(rtype, rd): (old[0], rd) for rd in old[1]}
            new_rrs = {} if new is None else {canon(rtype, rd): (new[0], rd) for rd in new[1]}
            for c, (ttl, rd) in old_rrs.items():
                if c not in new_rrs or new_rrs[c][0] != ttl:
                    deleted.append((owner, rtype, ttl, rd))
            for c, (ttl, rd) in new_rrs.items():
                if c not in old_rrs or old_rrs[c][0] != ttl:
                    added.append((owner, rtype, ttl, rd))
        return deleted, added


def check_zone_section(msg: UpdateMessage, served: Callable[[Name], bool]) -> int:
    """§3.1: one SOA-typed zone entry naming a zone we are primary for.

    A class other than IN is NOTIMP, not §3.1.1's NOTAUTH: BIND and Knot both answer so
    (we implement no other class), and clients meet it the same way from all three."""
    if msg.zrtype != T_SOA:
        return FORMERR
    if msg.zclass != C_IN:
        return NOTIMP
    if not served(msg.zone):
        return NOTAUTH
    return NOERROR


def check_prerequisites(z: ZoneTxn, msg: UpdateMessage) -> int:
    """§3.2: every prerequisite in order; value-dependent RRsets compared as sets at the end."""
    temp: dict[RRsetId, set[bytes]] = {}
    for rr in msg.prereqs:
        if rr.ttl != 0:
            return FORMERR
        if not names.is_subdomain(rr.name, z.zone):
            return NOTZONE
        if rr.rclass == C_ANY:
            if rr.rdata:
                return FORMERR
            if rr.rtype == T_ANY:
                if not z.seen_types(rr.name):
                    return NXDOMAIN  # §2.4.4 name is in use
            elif z.seen(rr.name, rr.rtype) is None:
                return NXRRSET  # §2.4.1 RRset exists (value independent)
        elif rr.rclass == C_NONE:
            if rr.rdata:
                return FORMERR
            if rr.rtype == T_ANY:
                if z.seen_types(rr.name):
                    return YXDOMAIN  # §2.4.5 name is not in use
            elif z.seen(rr.name, rr.rtype) is not None:
                return YXRRSET  # §2.4.3 RRset does not exist
        elif rr.rclass == msg.zclass:
            if rr.rtype == T_ANY:
                return FORMERR
            temp.setdefault((rr.name, rr.rtype), set()).add(canon(rr.rtype, rr.rdata))
        else:
            return FORMERR
    for (owner, rtype), want in temp.items():  # §2.4.2 RRset exists (value dependent)
        have = z.seen(owner, rtype)
        if have is None or {canon(rtype, rd) for rd in have[1]} != want:
            return NXRRSET
    return NOERROR


def prescan(z_origin: Name, msg: UpdateMessage, allow_deferred: bool = False) -> int:
    """§3.4.1: every update RR is checked before any is applied.

    With ``allow_deferred`` a delete may carry a non-zero TTL: the deferred
    delete of draft-ietf-dnsind-deferred-dns-delete §3 (applied by the lease layer).
    """
    for rr in msg.updates:
        if not names.is_subdomain(rr.name, z_origin):
            return NOTZONE
        if rr.rclass == msg.zclass:
            if rr.rtype == T_ANY or rr.rtype in _QUERY_META or 128 <= rr.rtype <= 255:
                return FORMERR
            if not rr.rdata:
                return FORMERR
        elif rr.rclass == C_ANY:
            if (rr.ttl != 0 and not allow_deferred) or rr.rdata:
                return FORMERR
            if rr.rtype in _QUERY_META or (128 <= rr.rtype <= 254):
                return FORMERR
        elif rr.rclass == C_NONE:
            if rr.ttl != 0 and not allow_deferred:
                return FORMERR
            if rr.rtype == T_ANY or rr.rtype in _QUERY_META or 128 <= rr.rtype <= 255:
                return FORMERR
            if not rr.rdata:
                return FORMERR
        else:
            return FORMERR
    return NOERROR


def occluding_apex_dname(z: ZoneTxn, msg: UpdateMessage) -> str:
    """A DNAME added at the apex of a zone with names below it: refused, as BIND (its NS
    targets would be occluded) and Knot do.  RFC 6672 §2.3: records "MUST NOT exist at any
    subdomain of the owner of a DNAME RR", and at the apex that is the whole zone."""
    for rr in msg.updates:
        if rr.rtype == T_DNAME and rr.rclass == msg.zclass and rr.name == z.zone:
            if z.w.has_children(z.zone, z.zone):
                return "a DNAME at the apex would hide every name in the zone (RFC 6672 §2.3)"
    return ""


MetaFor = Callable[[Name, int, RRsetMeta | None], RRsetMeta]


def apply_updates(z: ZoneTxn, updates: list[UpdateRR], zclass: int, meta_for: MetaFor) -> list[str]:
    """§3.4.2 in order; returns what was ignored (for the audit), never fails."""
    ignored: list[str] = []
    apex = z.zone
    for rr in updates:
        if rr.rclass == zclass:
            why = _add_rr(z, rr, meta_for)
        elif rr.rclass == C_ANY and rr.rtype == T_ANY:
            why = _delete_name(z, rr.name, meta_for, apex)
        elif rr.rclass == C_ANY:
            why = _delete_rrset(z, rr.name, rr.rtype, apex)
        else:
            why = _delete_rr(z, rr, meta_for, apex)
        if why:
            ignored.append(f"{names.to_text(rr.name)} type {rr.rtype}: {why}")
    return ignored


def _add_rr(z: ZoneTxn, rr: UpdateRR, meta_for: MetaFor) -> str:
    """§3.4.2.2: add, replace duplicates, CNAME rules, SOA only forward."""
    if rr.rtype != T_SOA:
        z.before_add(rr.name, rr.rtype)
    types = z.types_at(rr.name)
    if rr.rtype == T_SOA:
        if rr.name != z.zone:
            return "SOA only at the apex"
        cur = types.get(T_SOA)
        if cur is None or not serials.gt(
            serials.soa_serial(rr.rdata), serials.soa_serial(cur[1][0])
        ):
            return "SOA serial not higher (RFC 1982)"
        z.put(rr.name, T_SOA, rr.ttl, (rr.rdata,), meta_for(rr.name, T_SOA, z.meta(rr.name, T_SOA)))
        return ""
    if rr.rtype == T_CNAME:
        if any(t not in (T_CNAME, *_DNSSEC_BESIDE_CNAME) for t in types):
            return "CNAME beside other data"
        z.put(
            rr.name,
            T_CNAME,
            rr.ttl,
            (rr.rdata,),
            meta_for(rr.name, T_CNAME, z.meta(rr.name, T_CNAME)),
        )
        return ""
    if T_CNAME in types and rr.rtype not in _DNSSEC_BESIDE_CNAME:
        return "name holds a CNAME"
    cur = types.get(rr.rtype)
    rdatas: tuple[bytes, ...]
    if cur is None:
        rdatas = (rr.rdata,)
    else:
        c = canon(rr.rtype, rr.rdata)
        rdatas = tuple(rd for rd in cur[1] if canon(rr.rtype, rd) != c) + (rr.rdata,)
        if len(rdatas) == len(cur[1]) and cur[0] == rr.ttl:
            return ""  # a duplicate changes nothing (not even the TTL)
    z.put(rr.name, rr.rtype, rr.ttl, rdatas, meta_for(rr.name, rr.rtype, z.meta(rr.name, rr.rtype)))
    return ""


def _delete_rrset(z: ZoneTxn, owner: Name, rtype: int, apex: Name) -> str:
    """§3.4.2.3: class ANY deletes an RRset; SOA and NS at the apex are kept."""
    if owner == apex and rtype in (T_SOA, T_NS):
        return "apex SOA/NS are not deleted"
    cur = z.get(owner, rtype)
    if cur is not None:
        return z.remove(owner, rtype, cur)
    return ""


def _delete_name(z: ZoneTxn, owner: Name, meta_for: MetaFor, apex: Name) -> str:
    """§3.4.2.3: class ANY type ANY deletes every RRset at a name (but apex SOA/NS)."""
    kept = []
    for rtype in list(z.types_at(owner)):
        if owner == apex and rtype in (T_SOA, T_NS):
            continue
        why = z.remove(owner, rtype)
        if why:
            kept.append(f"type {rtype} {why}")
    return "; ".join(kept)


def _delete_rr(z: ZoneTxn, rr: UpdateRR, meta_for: MetaFor, apex: Name) -> str:
    """§3.4.2.4: class NONE deletes one RR; never the SOA nor the apex's last NS."""
    if rr.rtype == T_SOA:
        return "SOA is never deleted"
    cur = z.get(rr.name, rr.rtype)
    if cur is None:
        return ""
    c = canon(rr.rtype, rr.rdata)
    rest = tuple(rd for rd in cur[1] if canon(rr.rtype, rd) != c)
    if len(rest) == len(cur[1]):
        return ""
    if not rest:
        if rr.name == apex and rr.rtype == T_NS:
            return "last apex NS is kept"
        return z.remove(rr.name, rr.rtype, cur)
    if z.guard is not None:
        why = z.guard.may_shrink(z.zone, rr.name, rr.rtype)
        if why:
            return str(why)
    z.put(rr.name, rr.rtype, cur[0], rest, meta_for(rr.name, rr.rtype, z.meta(rr.name, rr.rtype)))
    return ""
