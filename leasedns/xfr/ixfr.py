"""Incremental zone transfer (RFC 1995): the journal's differences, condensed into one sequence."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from leasedns.store.records import JournalEntry, RRTuple
from leasedns.store.zonestore import Reader
from leasedns.wire import names
from leasedns.wire.names import Name
from leasedns.xfr.axfr import T_SOA, RRset, soa_of
from leasedns.zone import serial as serials

# One RR: owner, type, TTL, rdata.
RR = tuple[Name, int, int, bytes]
# What identifies an RR when deleting it: TTL is not part of it (RFC 2136 §2.5.4 likewise).
_RRKey = tuple[Name, int, bytes]


class Plan(enum.Enum):
    """What an IXFR request gets (RFC 1995 §2 and §4)."""

    UP_TO_DATE = "up-to-date"  # the client's serial is ours or newer: our SOA alone
    INCREMENTAL = "incremental"  # a difference sequence from the journal
    FULL = "full"  # unknown or purged serial: the whole zone, AXFR style


@dataclass
class Difference:
    """One difference sequence: from ``old_soa`` to ``new_soa``, deletions before additions."""

    serial_from: int
    serial_to: int
    old_soa: RR
    new_soa: RR
    deleted: dict[_RRKey, int] = field(default_factory=dict)  # key -> TTL
    added: dict[_RRKey, int] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.deleted) + len(self.added)

    def apply(self, entry_deleted: Iterable[RR], entry_added: Iterable[RR]) -> None:
        """Fold one later change into this one (RFC 1995 §6 condensation).

        Deleting what an earlier step added cancels the addition; adding back
        what an earlier step deleted, with the same TTL, cancels the deletion.
        """
        for owner, rtype, ttl, rdata in entry_deleted:
            k = (owner, rtype, rdata)
            if k in self.added:
                del self.added[k]
            else:
                self.deleted.setdefault(k, ttl)
        for owner, rtype, ttl, rdata in entry_added:
            k = (owner, rtype, rdata)
            if self.deleted.get(k) == ttl and k not in self.added:
                del self.deleted[k]
            else:
                self.added[k] = ttl


def _rr(t: RRTuple) -> RR:
    owner, rtype, ttl, rdata_hex = t
    return names.from_text(owner), int(rtype), int(ttl), bytes.fromhex(rdata_hex)


def _split_soa(zone: Name, rrs: Iterable[RRTuple]) -> tuple[list[RR], RR | None]:
    """The entry's RRs without the apex SOA, and that SOA if the entry recorded it."""
    out: list[RR] = []
    soa: RR | None = None
    for t in rrs:
        rr = _rr(t)
        if rr[1] == T_SOA and rr[0] == zone:
            soa = rr
        else:
            out.append(rr)
    return out, soa


def _soa_at(recorded: RR | None, serial: int, current: RR) -> RR:
    """The SOA of version ``serial``: as the journal recorded it, else the current one
    with its serial replaced (loaders that leave the SOA out of the entry)."""
    if recorded is not None and serials.soa_serial(recorded[3]) == serial:
        return recorded
    return current[0], T_SOA, current[2], serials.with_serial(current[3], serial)


def chain(
    entries: Iterable[tuple[int, JournalEntry]], since: int, until: int
) -> list[JournalEntry]:
    """Consecutive journal entries leading from serial ``since`` to ``until``, or [] if none do.

    A gap (pruned or reset history) breaks a chain; a later entry starting at
    ``since`` may start a new one.
    """
    run: list[JournalEntry] = []
    for _, e in entries:
        if run and e.serial_from == run[-1].serial_to:
            run.append(e)
        elif e.serial_from == since:
            run = [e]
        else:
            run = []
        if run and run[-1].serial_to == until:
            return run
    return []


def condense(zone: Name, steps: list[JournalEntry], current_soa: RR) -> Difference:
    """One difference sequence equivalent to all of ``steps`` (RFC 1995 §6).

    The old SOA is the one the first entry deleted when it recorded it, else the
    current SOA carrying the client's serial; the new SOA is always the current one.
    """
    first_del, first_soa = _split_soa(zone, steps[0].deleted)
    diff = Difference(
        serial_from=steps[0].serial_from,
        serial_to=steps[-1].serial_to,
        old_soa=_soa_at(first_soa, steps[0].serial_from, current_soa),
        new_soa=current_soa,  # the chain ends at the current serial
    )
    diff.apply(first_del, _split_soa(zone, steps[0].added)[0])
    for e in steps[1:]:
        diff.apply(_split_soa(zone, e.deleted)[0], _split_soa(zone, e.added)[0])
    return diff


def client_is_current(client_serial: int, current: int) -> bool:
    """RFC 1995 §2: a client with our serial or a newer one (RFC 1982) gets our SOA alone."""
    return client_serial == current or serials.gt(client_serial, current)


def _zone_has_more_rrs(reader: Reader, zone: Name, than: int) -> bool:
    n = 0
    for _, _, _, rdatas in reader.iter_zone(zone):
        n += len(rdatas)
        if n > than:
            return True
    return False


def plan(reader: Reader, zone: Name, client_serial: int) -> tuple[Plan, Difference | None]:
    """Decide how to answer an IXFR for ``client_serial``, inside one read transaction.

    RFC 1995 §5: a difference longer than the zone itself is not worth sending,
    so it is answered AXFR style too.
    """
    soa = soa_of(reader, zone)
    current = (zone, T_SOA, soa[2], soa[3][0])
    cur_serial = serials.soa_serial(current[3])
    if client_is_current(client_serial, cur_serial):
        return Plan.UP_TO_DATE, None
    steps = chain(reader.journal(zone), client_serial, cur_serial)
    if not steps:
        return Plan.FULL, None
    diff = condense(zone, steps, current)
    if not _zone_has_more_rrs(reader, zone, diff.size):
        return Plan.FULL, None
    return Plan.INCREMENTAL, diff


def _grouped(rrs: dict[_RRKey, int]) -> Iterator[RRset]:
    """RRs gathered into RRsets (same owner, type, TTL) in canonical name order, to pack tightly."""
    sets: dict[tuple[Name, int, int], list[bytes]] = {}
    for (owner, rtype, rdata), ttl in rrs.items():
        sets.setdefault((owner, rtype, ttl), []).append(rdata)
    for (owner, rtype, ttl), rdatas in sorted(
        sets.items(), key=lambda kv: (names.key(kv[0][0]), kv[0][1])
    ):
        yield owner, rtype, ttl, tuple(rdatas)


def ixfr_rrsets(diff: Difference) -> Iterator[RRset]:
    """RFC 1995 §4: current SOA, old SOA, deletions, new SOA, additions, current SOA."""
    new = diff.new_soa
    current: RRset = (new[0], T_SOA, new[2], (new[3],))
    old = diff.old_soa
    yield current
    yield old[0], T_SOA, old[2], (old[3],)
    yield from _grouped(diff.deleted)
    yield current
    yield from _grouped(diff.added)
    yield current


def up_to_date_rrsets(reader: Reader, zone: Name) -> list[RRset]:
    """RFC 1995 §2: the single SOA answer (also the UDP overflow answer)."""
    return [soa_of(reader, zone)]
