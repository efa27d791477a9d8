"""Due deadlines applied in one transaction per tick: TTL half-life, deferred deletes, lease ends.

The wheel (``timers.wheel``) says what is due; the ``due`` LMDB index is its
durable source, reloaded at start, so deadlines that passed while the server
was down fire at once, in deadline order.  All changes of one tick share one
transaction and one serial bump per zone (ARCHITECTURE §4, "coalescing").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from leasedns.lease.book import LeaseBook, WheelOp
from leasedns.lease.deferred import carry_out
from leasedns.lease.entry import LeaseEntry
from leasedns.lease.lifecycle import Effect, Event
from leasedns.store.records import AuditEvent, RRsetMeta
from leasedns.store.zonestore import Store
from leasedns.timers.events import Due, TimerKind, due_key, parse_due_key
from leasedns.timers.wheel import TimerWheel
from leasedns.update.rfc2136 import ZoneTxn
from leasedns.wire.names import Name
from leasedns.zone.commit import ZoneChange, finish_zones


@dataclass
class TimerStats:
    ttl_reductions: int = 0
    deferred_deletes_executed: int = 0
    leases_expired: int = 0
    ticks: int = 0
    stale: int = 0
    kept: int = 0


@dataclass
class TickResult:
    changes: list[ZoneChange] = field(default_factory=list)
    fired: int = 0


class TimerEngine:
    def __init__(
        self,
        store: Store,
        now: int,
        profile_for: Callable[[Name], str],
        serial_policy: str = "increment",
        journal_depth: int = 1000,
        journal_max_bytes: int = 64 << 20,
    ) -> None:
        self.store = store
        self.wheel = TimerWheel(now)
        self.profile_for = profile_for
        self.serial_policy = serial_policy
        self.journal_depth = journal_depth
        self.journal_max_bytes = journal_max_bytes
        self.stats = TimerStats()

    def load(self) -> int:
        """Fill the wheel from the durable ``due`` index (at start)."""
        n = 0
        with self.store.reader() as r:
            for k in r.iter_due():
                d = parse_due_key(k)
                self.wheel.schedule(d.deadline, d.kind, d.key)
                n += 1
        return n

    def apply(self, ops: list[WheelOp]) -> None:
        for op, deadline, kind, key in ops:
            if op == "schedule":
                self.wheel.schedule(deadline, kind, key)
            else:
                self.wheel.cancel(kind, key)

    def next_deadline(self) -> int | None:
        return self.wheel.next_deadline()

    def tick(self, now: int) -> TickResult:
        due = self.wheel.advance(now)
        res = TickResult(fired=len(due))
        if not due:
            return res
        self.stats.ticks += 1
        with self.store.writer() as w:
            book = LeaseBook(w)
            zones: dict[Name, ZoneTxn] = {}
            for d in due:
                w.delete_due(due_key(d.deadline, d.kind, d.key))
                raw = w.get_lease(d.key)
                if raw is None:
                    self.stats.stale += 1
                    continue
                e = LeaseEntry.from_json(raw)
                if not self._current(e, d):
                    self.stats.stale += 1
                    continue
                zone = e.zone_name
                z = zones.get(zone) or ZoneTxn(w, zone)
                zones[zone] = z
                event = Event.HALF_LIFE if d.kind == TimerKind.HALF_LIFE else Event.DEADLINE
                decision = carry_out(z, book, e, event, self.profile_for(zone), _timer_meta(now))
                self._count(e, decision.effect, event)
                if event == Event.DEADLINE:
                    w.audit(
                        AuditEvent(
                            time=float(now), kind=e.kind.name.lower().replace("_", "-"),
                            zone=e.zone, actor=e.issuer, role=e.role, outcome=str(decision.effect),
                            reason=decision.text,
                            detail={"owner": e.owner, "type": e.rtype, "scope": str(e.scope),
                                    "rdata": e.rdata, "set_at": e.started, "lease": e.seconds,
                                    "deadline": e.deadline, "code": decision.code},
                        )
                    )  # fmt: skip
            res.changes = finish_zones(
                w, zones, now, "timer", "lease deadline or TTL half-life",
                self.serial_policy, self.journal_depth, self.journal_max_bytes,
            )  # fmt: skip
        self.apply(book.wheel_ops)
        return res

    @staticmethod
    def _current(e: LeaseEntry, d: Due) -> bool:
        """A timer left over from a replaced entry does nothing."""
        if d.kind == TimerKind.HALF_LIFE:
            return e.next_step == d.deadline
        return e.deadline == d.deadline

    def _count(self, e: LeaseEntry, effect: Effect, event: Event) -> None:
        if effect == Effect.REDUCE_TTL:
            self.stats.ttl_reductions += 1
        elif effect == Effect.DELETE:
            if e.kind == 1:
                self.stats.deferred_deletes_executed += 1
            else:
                self.stats.leases_expired += 1
        else:
            self.stats.kept += 1


def _timer_meta(now: int) -> Callable[[Name, int, RRsetMeta | None], RRsetMeta]:
    def meta_for(owner: Name, rtype: int, old: RRsetMeta | None) -> RRsetMeta:
        return old if old is not None else RRsetMeta(created=now)

    return meta_for
