"""RFC 1034 §4.3.2 lookup over a store reader, returning a result kind and RRsets.

Message building is separate (``query.respond``); this module decides *what*
the answer is.  It also reports which names it read so the answer cache can
invalidate precisely (``LookupResult.deps``), and whether the answer depends on
the absence of data (``volatile``: NXDOMAIN, NODATA, wildcard synthesis), which
the cache drops whenever the zone's serial moves.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from leasedns.query.zoneindex import ZoneIndex
from leasedns.store.zonestore import Reader, RRsetData
from leasedns.wire import names
from leasedns.wire.names import Name

T_A, T_NS, T_CNAME, T_SOA, T_PTR, T_MX, T_TXT, T_AAAA, T_SRV = 1, 2, 5, 6, 12, 15, 16, 28, 33
T_DNAME, T_OPT, T_DS, T_RRSIG, T_ANY = 39, 41, 43, 46, 255

MAX_CHAIN = 12

# An RRset in an answer: owner, type, TTL, rdatas.
RRset = tuple[Name, int, int, tuple[bytes, ...]]


class Kind(enum.IntEnum):
    ANSWER = 0
    NODATA = 1
    NXDOMAIN = 2
    REFERRAL = 3
    REFUSED = 4
    YXDOMAIN = 5


@dataclass(slots=True)
class LookupResult:
    kind: Kind
    answer: list[RRset] = field(default_factory=list)
    authority: list[RRset] = field(default_factory=list)
    additional: list[RRset] = field(default_factory=list)
    authoritative: bool = True
    glue_required: bool = False
    deps: set[Name] = field(default_factory=set)
    volatile: set[Name] = field(default_factory=set)


def rdata_target(rtype: int, rdata: bytes) -> Name | None:
    """The domain name an NS/CNAME/DNAME/PTR/MX/SRV rdata points at (uncompressed wire)."""
    off = {T_NS: 0, T_CNAME: 0, T_DNAME: 0, T_PTR: 0, T_MX: 2, T_SRV: 6}.get(rtype)
    if off is None:
        return None
    try:
        return names.from_wire(rdata, off)[0]
    except names.NameError_:
        return None


def soa_negative(zone: Name, soa: RRsetData) -> RRset:
    """RFC 2308 §3: the SOA in a negative answer carries TTL min(SOA TTL, MINIMUM)."""
    ttl, rdatas = soa
    minimum = int.from_bytes(rdatas[0][-4:], "big")
    return (zone, T_SOA, min(ttl, minimum), rdatas)


class Lookup:
    """One query's walk through the served zones."""

    def __init__(self, reader: Reader, zones: ZoneIndex) -> None:
        self.r = reader
        self.zones = zones

    def run(self, qname: Name, qtype: int, tcp: bool = False) -> LookupResult:
        zone = self.zones.find(qname, qtype)
        if zone is None:
            return LookupResult(Kind.REFUSED, authoritative=False)
        res = LookupResult(Kind.ANSWER)
        seen: set[Name] = set()
        name = qname
        for _ in range(MAX_CHAIN):
            seen.add(name)
            target = self._resolve(zone, name, qtype, tcp, res)
            if target is None or target in seen:
                break
            if self.zones.find(target, qtype) != zone:
                # A target in another zone, even one served here, is returned as it is: the
                # client asks again (RFC 1034 §4.3.2 step 3a), as BIND and Knot answer.
                break
            name = target
        self._add_additional(zone, res)
        return res

    def _resolve(
        self, zone: Name, qname: Name, qtype: int, tcp: bool, res: LookupResult
    ) -> Name | None:
        """Answer ``qname`` inside ``zone``; return a CNAME target to chase, if any."""
        r = self.r
        if qname != zone:  # RFC 6672 §2.3: a DNAME at the apex redirects everything below it
            apex_dname = r.get(zone, zone, T_DNAME)
            if apex_dname is not None:
                return self._dname(zone, apex_dname, qname, res)
        # Step 3b: walk down from the apex looking for a zone cut, a DNAME or a missing node.
        for depth in range(len(zone) + 1, len(qname)):
            node = qname[len(qname) - depth :]
            if b"\x00" in node[0]:  # such a name is never stored (NUL separates key labels)
                return self._no_such_name(zone, qname, node[1:], qtype, tcp, res)
            res.deps.add(node)
            types = r.types_at(zone, node)
            if not types:
                if not r.has_children(zone, node):
                    return self._no_such_name(zone, qname, node[1:], qtype, tcp, res)
                continue
            ns = types.get(T_NS)
            if ns is not None:
                return self._referral(node, ns, res)
            dname = types.get(T_DNAME)
            if dname is not None:
                return self._dname(node, dname, qname, res)
        if qname and b"\x00" in qname[0]:
            return self._no_such_name(zone, qname, qname[1:], qtype, tcp, res)
        res.deps.add(qname)
        types = r.types_at(zone, qname)
        if not types:
            if r.has_children(zone, qname):
                return self._nodata(zone, res)  # empty non-terminal: NODATA, not NXDOMAIN
            return self._no_such_name(zone, qname, qname[1:], qtype, tcp, res)
        ns = types.get(T_NS)
        if ns is not None and qname != zone and qtype != T_DS:
            return self._referral(qname, ns, res)  # DS lives on the parent side of the cut
        return self._answer_from(zone, qname, types, qtype, tcp, res)

    def _referral(self, cut: Name, ns: RRsetData, res: LookupResult) -> Name | None:
        """RFC 1034 §4.3.2 step 3b: NS of the cut in authority, no AA, glue in additional."""
        res.kind = Kind.REFERRAL
        res.authoritative = bool(res.answer)
        res.glue_required = True
        res.authority.append((cut, T_NS, ns[0], ns[1]))
        return None

    def _answer_from(
        self,
        zone: Name,
        owner: Name,
        types: dict[int, RRsetData],
        qtype: int,
        tcp: bool,
        res: LookupResult,
    ) -> Name | None:
        if qtype == T_ANY:
            return self._any(zone, owner, types, tcp, res)
        data = types.get(qtype)
        if data is not None:
            res.kind = Kind.ANSWER
            res.answer.append((owner, qtype, data[0], data[1]))
            return None
        cname = types.get(T_CNAME)
        if cname is not None:
            res.kind = Kind.ANSWER
            res.answer.append((owner, T_CNAME, cname[0], cname[1]))
            return rdata_target(T_CNAME, cname[1][0])
        return self._nodata(zone, res)

    def _any(
        self, zone: Name, owner: Name, types: dict[int, RRsetData], tcp: bool, res: LookupResult
    ) -> Name | None:
        """RFC 8482 §4.1: over UDP one RRset (the lowest type), over TCP all of them."""
        res.kind = Kind.ANSWER
        for rtype in sorted(types):
            if rtype == T_RRSIG:
                continue
            ttl, rdatas = types[rtype]
            res.answer.append((owner, rtype, ttl, rdatas))
            if not tcp:
                break
        return None

    def _nodata(self, zone: Name, res: LookupResult) -> Name | None:
        res.kind = Kind.NODATA if not res.answer else Kind.ANSWER
        res.volatile.add(zone)
        soa = self.r.get(zone, zone, T_SOA)
        if soa is not None:
            res.authority.append(soa_negative(zone, soa))
        return None

    def _no_such_name(
        self, zone: Name, qname: Name, encloser: Name, qtype: int, tcp: bool, res: LookupResult
    ) -> Name | None:
        """RFC 4592 §3.3.1: the closest encloser's ``*`` child answers for names that don't exist."""
        res.volatile.add(zone)
        wild = (b"*",) + encloser
        res.deps.add(wild)
        types = self.r.types_at(zone, wild)
        if types:
            return self._answer_from(zone, qname, types, qtype, tcp, res)
        if self.r.has_children(zone, wild):  # §2.2.2: "*" as an empty non-terminal exists
            return self._nodata(zone, res)
        res.kind = Kind.NXDOMAIN  # RFC 6604: in a CNAME chain the RCODE reflects the last name
        soa = self.r.get(zone, zone, T_SOA)
        if soa is not None:
            res.authority.append(soa_negative(zone, soa))
        return None

    def _dname(self, owner: Name, dname: RRsetData, qname: Name, res: LookupResult) -> Name | None:
        """RFC 6672 §2.2: the DNAME, then a CNAME synthesised with its TTL."""
        ttl, rdatas = dname
        target = rdata_target(T_DNAME, rdatas[0])
        res.kind = Kind.ANSWER
        res.answer.append((owner, T_DNAME, ttl, rdatas))
        if target is None:
            return None
        new = qname[: len(qname) - len(owner)] + target
        try:
            names.check(new)
        except names.NameError_:
            res.kind = Kind.YXDOMAIN  # RFC 6672 §2.2: the substituted name is too long
            return None
        res.answer.append((qname, T_CNAME, ttl, (names.to_wire(new),)))
        return new

    def _add_additional(self, zone: Name, res: LookupResult) -> None:
        """Addresses of NS/MX/SRV targets the answer's zone holds (RFC 1035 §3.3; glue for
        referrals, in-domain and sibling, RFC 9471).  Never another served zone's data: BIND
        and Knot leave it out too, and a resolver would not trust it (RFC 2181 §5.4.1)."""
        wanted: list[Name] = []
        sections = res.authority if res.kind == Kind.REFERRAL else res.answer
        for _owner, rtype, _ttl, rdatas in sections:
            if rtype in (T_NS, T_MX, T_SRV):
                for rd in rdatas:
                    t = rdata_target(rtype, rd)
                    if t is not None and t not in wanted:
                        wanted.append(t)
        for t in wanted:
            if not names.is_subdomain(t, zone):
                continue
            res.deps.add(t)
            for rtype in (T_A, T_AAAA):
                data = self.r.get(zone, t, rtype)
                if data is not None:
                    res.additional.append((t, rtype, data[0], data[1]))
