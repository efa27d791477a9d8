"""NOTIFY (RFC 1996) to secondaries: per (zone, secondary) pending state, retry timing, messages.

Timing (defaults; the sender may pass others):

- the first NOTIFY for a new serial goes out at once (after ``delay``, 0 by default);
- unanswered, it is retransmitted every 3 s, 5 sends in all (NSD's
  ``XFRD_NOTIFY_RETRY_TIMOUT`` and ``notify-retry``);
- after that burst, one send every SOA RETRY seconds clamped to 60..3600 s
  (Knot's retry-min/max idea), until answered or superseded;
- a reply with NOERROR or NOTIMP ends it (RFC 1996 §4.7: NOTIMP means the peer
  does not do NOTIFY, so asking again is pointless); any other RCODE counts as
  a failed try;
- a newer serial replaces a pending older one and starts over at once, since
  one NOTIFY with the newest SOA tells the secondary everything; an older or
  equal serial changes nothing.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from leasedns.wire import names
from leasedns.wire.names import Name
from leasedns.wire.render import Renderer
from leasedns.zone import serial as serials

OP_NOTIFY = 4
T_SOA = 6
C_IN = 1
AA, QR = 0x0400, 0x8000
NOERROR, NOTIMP = 0, 4

RETRANSMIT_INTERVAL = 3.0
BURST_TRIES = 5
BACKOFF_MIN = 60.0
BACKOFF_MAX = 3600.0

Target = tuple[str, int]  # (host, port)
Key = tuple[Name, Target]


@dataclass
class Pending:
    """An unanswered NOTIFY of ``serial`` for ``zone`` to ``target``."""

    zone: Name
    target: Target
    serial: int
    soa_ttl: int
    soa_rdata: bytes
    next_at: float
    attempts: int = 0
    ids: set[int] = field(default_factory=set)

    @property
    def soa_retry(self) -> int:
        """SOA RETRY sits 8 octets from the end of the rdata."""
        return int.from_bytes(self.soa_rdata[-12:-8], "big")


def retry_interval(attempts: int, soa_retry: int) -> float:
    """Seconds to wait after the ``attempts``-th unanswered send."""
    if attempts < BURST_TRIES:
        return RETRANSMIT_INTERVAL
    return min(max(float(soa_retry), BACKOFF_MIN), BACKOFF_MAX)


class NotifyState:
    """All pending NOTIFYs; the sender asks ``due(now)`` and reports ``sent`` and replies."""

    def __init__(self) -> None:
        self._pending: dict[Key, Pending] = {}

    def schedule(
        self,
        zone: Name,
        target: Target,
        soa_ttl: int,
        soa_rdata: bytes,
        now: float,
        delay: float = 0.0,
    ) -> bool:
        """A zone now has the serial in ``soa_rdata``; return True if a send was (re)armed."""
        serial = serials.soa_serial(soa_rdata)
        k = (zone, target)
        old = self._pending.get(k)
        if old is not None and not serials.gt(serial, old.serial):
            return False
        self._pending[k] = Pending(zone, target, serial, soa_ttl, soa_rdata, now + delay)
        return True

    def due(self, now: float) -> list[Pending]:
        """Pending NOTIFYs whose next send time has come, oldest deadline first."""
        out = [p for p in self._pending.values() if p.next_at <= now]
        out.sort(key=lambda p: p.next_at)
        return out

    def sent(self, zone: Name, target: Target, msg_id: int, now: float) -> None:
        p = self._pending.get((zone, target))
        if p is None:
            return
        p.attempts += 1
        p.ids.add(msg_id)
        p.next_at = now + retry_interval(p.attempts, p.soa_retry)

    def answered(self, zone: Name, target: Target, msg_id: int, rcode: int) -> bool:
        """A reply to one of our sends arrived; True when it ends the NOTIFY.

        A reply to a send for a superseded serial does not count: the secondary
        has not yet heard of the newest one.
        """
        k = (zone, target)
        p = self._pending.get(k)
        if p is None or msg_id not in p.ids:
            return False
        if rcode in (NOERROR, NOTIMP):
            del self._pending[k]
            return True
        return False

    def get(self, zone: Name, target: Target) -> Pending | None:
        return self._pending.get((zone, target))

    def pending(self) -> list[Pending]:
        return list(self._pending.values())

    def in_flight_ids(self) -> set[int]:
        out: set[int] = set()
        for p in self._pending.values():
            out |= p.ids
        return out

    def next_deadline(self) -> float | None:
        if not self._pending:
            return None
        return min(p.next_at for p in self._pending.values())

    def cancel_zone(self, zone: Name) -> None:
        """Forget a zone no longer served."""
        for k in [k for k in self._pending if k[0] == zone]:
            del self._pending[k]


def build_notify(zone: Name, msg_id: int, soa_ttl: int, soa_rdata: bytes) -> bytes:
    """RFC 1996 §3.7: opcode NOTIFY, AA set, QNAME the zone, QTYPE SOA, the new SOA as answer."""
    question = names.to_wire(zone) + struct.pack(">HH", T_SOA, C_IN)
    r = Renderer(msg_id, (OP_NOTIFY << 11) | AA, question, zone, 65535)
    r.add(1, (zone, T_SOA, soa_ttl, (soa_rdata,)))
    return r.finish()


@dataclass(frozen=True)
class NotifyReply:
    msg_id: int
    zone: Name
    rcode: int


def parse_notify_reply(data: bytes) -> NotifyReply | None:
    """The ID, zone and RCODE of a NOTIFY response, or None for anything else."""
    if len(data) < 12:
        return None
    msg_id, flags, qd = struct.unpack_from(">HHH", data, 0)
    if not flags & QR or (flags >> 11) & 0xF != OP_NOTIFY or qd != 1:
        return None
    try:
        zone, end = names.from_wire(data, 12)
    except names.NameError_:
        return None
    if end + 4 > len(data):
        return None
    return NotifyReply(msg_id, zone, flags & 0xF)
