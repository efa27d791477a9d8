"""Due deadlines applied in one transaction per tick: TTL half-life, deferred deletes, lease ends.

The wheel (``timers.wheel``) says what is due; the ``due`` LMDB index is its
durable source, reloaded at start, so deadlines that passed while the server
was down fire at once, in deadline order.  All changes of one tick share one
transaction and one serial bump per zone (ARCHITECTURE §4, "coalescing").
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from leasedns.lease.book import LeaseBook, WheelOp
from leasedns.lease.deferred import carry_out
from leasedns.lease.entry import LeaseEntry, LeaseKind
from leasedns.lease.lifecycle import Effect, Event
from leasedns.lease.protect import Actor, BlastRadius, Guard, ZoneLifecycle
from leasedns.lease.roles import RoleIndex
from leasedns.lease.state import Input
from leasedns.store import codec, schema
from leasedns.store.records import AuditEvent, RRsetMeta
from leasedns.store.zonestore import Store, Writer
from leasedns.timers.events import Due, TimerKind, parse_due_key
from leasedns.timers.wheel import TimerWheel
from leasedns.update.rfc2136 import MetaFor, ZoneTxn
from leasedns.wire import names
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
    grace_ended: int = 0


@dataclass
class TickResult:
    changes: list[ZoneChange] = field(default_factory=list)
    fired: int = 0


class TimerEngine:
    def __init__(
        self,
        store: Store,
        now: int,
        settings_for: Callable[[Name], ZoneLifecycle],
        roles_for: Callable[[Name], RoleIndex],
        zones: Callable[[], Iterable[Name]],
        blast: BlastRadius,
        serial_policy: str = "increment",
        journal_depth: int = 1000,
        journal_max_bytes: int = 64 << 20,
    ) -> None:
        self.store = store
        self.wheel = TimerWheel(now)
        self.settings_for = settings_for
        self.roles_for = roles_for
        self.zones = zones
        self.blast = blast
        self.serial_policy = serial_policy
        self.journal_depth = journal_depth
        self.journal_max_bytes = journal_max_bytes
        self.stats = TimerStats()
        self._actors: dict[tuple[str, str], Actor] = {}

    def zone_of(self, key: bytes) -> Name | None:
        """The served zone whose key prefix ``key`` starts with (the longest)."""
        best: Name | None = None
        for z in self.zones():
            if key.startswith(schema.zone_prefix(z)) and (best is None or len(z) > len(best)):
                best = z
        return best

    def load(self, now: int) -> int:
        """Fill the wheel from the durable ``due`` index (at start).

        Downtime must never turn into mass deletion: when more removal deadlines
        passed while the server was down than the zone's blast-radius limit
        allows, automatic removal pauses for that zone until an admin resumes it.
        """
        n = 0
        overdue: dict[Name, int] = {}
        with self.store.reader() as r:
            for k in r.iter_due():
                d = parse_due_key(k)
                self.wheel.schedule(d.deadline, d.kind, d.key)
                n += 1
                if d.deadline <= now and d.kind != TimerKind.HALF_LIFE:
                    z = self.zone_of(d.key)
                    if z is not None:
                        overdue[z] = overdue.get(z, 0) + 1
        if overdue:
            with self.store.writer() as w:
                for z, count in overdue.items():
                    s = self.settings_for(z)
                    dynamic = sum(1 for _, _, m in w.iter_meta(z) if not m.provenance.is_human)
                    if count > max(s.blast_min, int(s.blast_share * dynamic)):
                        self.blast.pause(
                            w, z, f"server was down: {count} removal deadlines passed", now
                        )
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
        due = self.wheel.take_due(now)  # (deadline, kind, key) tuples: no Due object per timer
        res = TickResult(fired=len(due))
        if not due:
            return res
        # A big tick allocates many short-lived objects and no cycles: the cyclic
        # collector would only rescan them over and over.
        gc_was_on = gc.isenabled()
        gc.disable()
        try:
            return self._tick(due, now, res)
        finally:
            if gc_was_on:
                gc.enable()

    def _tick(
        self, due: list[tuple[int, TimerKind, bytes]], now: int, res: TickResult
    ) -> TickResult:
        self.stats.ticks += 1
        with self.store.writer() as w:
            book = LeaseBook(w)
            guard = Guard(w, book, Actor("leasedns", "timer"), self.settings_for, self.roles_for,
                          self.blast, now)  # fmt: skip
            zones: dict[Name, ZoneTxn] = {}
            meta_for = _timer_meta(now)
            for deadline, kind, key in due:
                book.fire(deadline, kind, key)
                if kind is _GRACE_END_TIMER:
                    self._grace_end(w, guard, zones, Due(deadline, kind, key))
                else:
                    self._lease_due(w, book, guard, zones, deadline, kind, key, now, meta_for)
            res.changes = finish_zones(
                w, zones, now, "timer", "lease deadline, TTL half-life or grace end",
                self.serial_policy, self.journal_depth, self.journal_max_bytes,
            )  # fmt: skip
        self.apply(book.wheel_ops)
        return res

    def _zone(self, w: Writer, guard: Guard, zones: dict[Name, ZoneTxn], zone: Name) -> ZoneTxn:
        z = zones.get(zone)
        if z is None:
            z = zones[zone] = ZoneTxn(w, zone, guard=guard)
        return z

    def _grace_end(self, w: Writer, guard: Guard, zones: dict[Name, ZoneTxn], d: Due) -> None:
        zone = self.zone_of(d.key)
        if zone is None:
            self.stats.stale += 1
            return
        owner, rtype = schema.split_rrset_key(zone, d.key)
        meta = w.get_meta(zone, owner, rtype)
        deadline = meta.state_deadline if meta is not None else 0
        if meta is None or d.deadline < deadline:
            self.stats.stale += 1
            return
        z = self._zone(w, guard, zones, zone)
        z.before.setdefault((owner, rtype), w.get(zone, owner, rtype))
        outcome = guard.grace_end(zone, owner, rtype, deadline)
        if outcome == "stale":
            self.stats.stale += 1
            return
        self.stats.grace_ended += 1
        w.audit(AuditEvent(float(guard.now), "grace-end", names.to_text(zone), actor="leasedns", role="timer",
                           outcome=outcome, reason=_GRACE_TEXT.get(outcome, outcome),
                           detail={"owner": names.to_text(owner), "type": rtype,
                                   "identity": meta.identity}))  # fmt: skip

    def _lease_due(
        self, w: Writer, book: LeaseBook, guard: Guard, zones: dict[Name, ZoneTxn], due_at: int,
        kind: TimerKind, key: bytes, now: int, meta_for: MetaFor,
    ) -> None:  # fmt: skip
        raw = w.get_lease(key)
        if raw is None:
            self.stats.stale += 1
            return
        e = LeaseEntry.from_json(raw)
        half_life, deadline = kind is _HALF_LIFE_TIMER, e.deadline
        if not (e.next_step == due_at if half_life else due_at >= deadline):
            # left over from a replaced entry (a later deadline: a retry after a blast-radius pause)
            self.stats.stale += 1
            return
        zone = e.zone_name  # below, dict lookups first: the method calls only on a miss
        z = zones.get(zone) or self._zone(w, guard, zones, zone)
        event = _HALF_LIFE if half_life else _DEADLINE
        guard.actor = self._actors.get((e.issuer, e.role)) or self._actor(e.issuer, e.role)
        guard.cause = _HUMAN_DELETE if e.role == "admin" else _LEASE_END
        guard.lease_seconds = e.seconds
        decision = carry_out(z, book, e, event, guard.settings(zone).profile, meta_for, key)
        guard.actor = _TIMER
        guard.cause = None
        if decision.code == "paused":
            guard.retry_later(kind, due_at, key)
        self._count(e, decision.effect)
        if not half_life:  # by position: one event per deadline, keywords cost twice as much
            w.audit(AuditEvent(
                float(now), _AUDIT_KIND[e.kind], e.zone, e.issuer, e.role, "",  # time ... client
                decision.effect, decision.text,  # outcome (a StrEnum: stored as its text), reason
                {"owner": e.owner, "type": e.rtype, "scope": e.scope, "rdata": e.rdata,
                 "set_at": e.started, "lease": e.seconds, "deadline": deadline,
                 "code": decision.code},
            ))  # fmt: skip

    def purge_tombstones(self, now: int) -> int:
        """Tombstones older than the zone's retention are dropped for good."""
        n = 0
        with self.store.writer() as w:
            for zone in self.zones():
                keep = self.settings_for(zone).tombstone_retention
                doomed = [
                    k
                    for k, v in w.iter_tombstones(zone)
                    if codec.loads(v)["removed_at"] < now - keep
                ]
                for k in doomed:
                    w.delete_tombstone(k)
                    n += 1
        return n

    def _actor(self, issuer: str, role: str) -> Actor:
        a = self._actors.get((issuer, role))
        if a is None:
            a = self._actors[(issuer, role)] = Actor(issuer, role)
        return a

    def _count(self, e: LeaseEntry, effect: Effect) -> None:
        if effect == _REDUCE_TTL:
            self.stats.ttl_reductions += 1
        elif effect == _DELETE:
            if e.kind == _DEFERRED_DELETE:
                self.stats.deferred_deletes_executed += 1
            else:
                self.stats.leases_expired += 1
        else:
            self.stats.kept += 1


_TIMER = Actor("leasedns", "timer")
# Enum members bound once: in Python 3.11 ``Enum.MEMBER`` goes through EnumType.__getattr__,
# and a tick of 10,000 deadlines would look up a dozen per deadline.
_HALF_LIFE_TIMER, _GRACE_END_TIMER = TimerKind.HALF_LIFE, TimerKind.GRACE_END
_HALF_LIFE, _DEADLINE = Event.HALF_LIFE, Event.DEADLINE
_HUMAN_DELETE, _LEASE_END = Input.HUMAN_DELETE, Input.LEASE_END
_REDUCE_TTL, _DELETE = Effect.REDUCE_TTL, Effect.DELETE
_DEFERRED_DELETE = LeaseKind.DEFERRED_DELETE
_AUDIT_KIND = {LeaseKind.DEFERRED_DELETE: "deferred-delete", LeaseKind.UPDATE_LEASE: "update-lease"}

_GRACE_TEXT = {
    "removed": "grace ended without the client returning: removed softly (tombstone kept)",
    "proposed": "grace ended: cleanup proposed, waiting for an admin to approve",
    "kept": "grace ended: kept (protected, pinned or infrastructure)",
    "paused": "grace ended but automatic removal is paused for this zone",
}


def _timer_meta(now: int) -> MetaFor:
    def meta_for(owner: Name, rtype: int, old: RRsetMeta | None) -> RRsetMeta:
        return old if old is not None else RRsetMeta(created=now)

    return meta_for
