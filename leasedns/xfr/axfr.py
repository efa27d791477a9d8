"""Full zone transfer (RFC 5936): the zone's RRsets from one read transaction, packed into messages."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from leasedns.query.respond import AA, QR, RD, Request
from leasedns.store.zonestore import Reader
from leasedns.wire.names import Name
from leasedns.wire.render import Renderer, opt_rr

T_SOA = 6

# RFC 5936 §2.2 asks for enough RRs per message to amortise its overhead; 16 KiB is what
# Knot and BIND aim for, small enough to keep compression pointers (14 bits) useful.
MESSAGE_TARGET = 16384
MESSAGE_MAX = 65535

RRset = tuple[Name, int, int, tuple[bytes, ...]]


class ZoneMissingError(LookupError):
    """The zone has no SOA in the store, so there is nothing to transfer."""


class RecordTooLargeError(ValueError):
    """One RR does not fit in a message of the allowed size."""


def soa_of(reader: Reader, zone: Name) -> RRset:
    """The zone's SOA RRset, read inside the caller's transaction."""
    got = reader.get(zone, zone, T_SOA)
    if got is None or not got[1]:
        raise ZoneMissingError(f"zone {zone!r} has no SOA")
    return zone, T_SOA, got[0], got[1][:1]


def axfr_rrsets(reader: Reader, zone: Name) -> Iterator[RRset]:
    """RFC 5936 §2.2: the SOA first, every other RRset, the same SOA again last.

    Everything comes from ``reader``'s one transaction, so a transfer never mixes
    two versions of the zone.
    """
    soa = soa_of(reader, zone)
    yield soa
    for owner, rtype, ttl, rdatas in reader.iter_zone(zone):
        if rtype == T_SOA and owner == zone:
            continue
        yield owner, rtype, ttl, rdatas
    yield soa


def response_flags(req: Request, aa: bool = True) -> int:
    """RFC 5936 §2.2.1: QR and AA set, opcode QUERY, RD copied, TC/RA/AD/CD clear.
    (IXFR over UDP goes without AA, as BIND and Knot send it; RFC 1995 is silent.)"""
    return QR | (AA if aa else 0) | (req.flags & RD)


def pack_messages(
    req: Request,
    rrsets: Iterable[RRset],
    target: int = MESSAGE_TARGET,
    hard_limit: int = MESSAGE_MAX,
    reserve: int = 0,
    edns_payload: int | None = None,
    aa: bool = True,
) -> Iterator[bytes]:
    """Answer-section messages holding ``rrsets`` in order.

    The question goes in the first message only (RFC 5936 §2.2.2 allows leaving it
    out later); so does the OPT RR when the request had one (§2.2.5).  ``reserve``
    octets are kept free in every message for a TSIG RR added afterwards.  An
    RRset too large for one message is split between messages RR by RR; a single
    RR larger than ``target`` gets a message of its own of up to ``hard_limit``.
    """
    flags = response_flags(req, aa)
    opt = b""
    if req.edns is not None and edns_payload is not None:
        opt = opt_rr(edns_payload, do=req.edns[2])
    first = True

    def fresh(limit: int) -> Renderer:
        question = req.question if first else b""
        return Renderer(req.id, flags, question, req.qname, limit)

    def room() -> int:
        return reserve + (len(opt) if first else 0)

    def finish(r: Renderer) -> bytes:
        nonlocal first
        if first and opt:
            r.add_raw(3, opt)
        first = False
        return r.finish()

    r = fresh(target)
    for rrset in rrsets:
        if r.add(1, rrset, room()):
            continue
        if r.counts[1]:
            yield finish(r)
            r = fresh(target)
            if r.add(1, rrset, room()):
                continue
        owner, rtype, ttl, rdatas = rrset
        for rd in rdatas:
            one = (owner, rtype, ttl, (rd,))
            if r.add(1, one, room()):
                continue
            if r.counts[1]:
                yield finish(r)
                r = fresh(target)
                if r.add(1, one, room()):
                    continue
            big = fresh(hard_limit)
            if not big.add(1, one, room()):
                raise RecordTooLargeError(
                    f"an RR of type {rtype} does not fit in {hard_limit} octets"
                )
            yield finish(big)
            r = fresh(target)
    if r.counts[1] or first:
        yield finish(r)
