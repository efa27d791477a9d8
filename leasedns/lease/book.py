"""Lease bookkeeping inside one write transaction: entries, their `due` keys, and wheel changes.

The in-memory wheel is only changed after the transaction commits, so
``wheel_ops`` collects what to do to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from leasedns.lease.entry import LeaseEntry, LeaseKind
from leasedns.store.zonestore import Writer
from leasedns.timers.events import TimerKind, due_key
from leasedns.wire.names import Name

# ("schedule", deadline, kind, key) or ("cancel", 0, kind, key)
WheelOp = tuple[str, int, TimerKind, bytes]


def deadline_timer(entry: LeaseEntry) -> TimerKind:
    return _DEFERRED_TIMER if entry.kind == _DEFERRED_DELETE else _LEASE_END_TIMER


def timers_of(entry: LeaseEntry) -> list[tuple[int, TimerKind]]:
    out = [(entry.deadline, deadline_timer(entry))]
    if entry.next_step:
        out.append((entry.next_step, _HALF_LIFE_TIMER))
    return out


# Bound once: Python 3.11 looks ``Enum.MEMBER`` up through EnumType.__getattr__ (per deadline).
_DEFERRED_DELETE = LeaseKind.DEFERRED_DELETE
_DEFERRED_TIMER, _LEASE_END_TIMER = TimerKind.DEFERRED_DELETE, TimerKind.LEASE_END
_HALF_LIFE_TIMER = TimerKind.HALF_LIFE


@dataclass
class LeaseBook:
    w: Writer
    wheel_ops: list[WheelOp] = field(default_factory=list)
    _fired: set[tuple[int, TimerKind, bytes]] = field(default_factory=set)  # taken out as due

    def fire(self, deadline: int, kind: TimerKind, key: bytes) -> None:
        """A timer fired: its `due` key goes now; the wheel has already let go of it.

        Removing the entry later then neither deletes the key twice nor cancels the timer
        again (a tick of 10,000 deadlines would do both 10,000 times for nothing).
        """
        self.w.delete_due(due_key(deadline, kind, key))
        self._fired.add((deadline, kind, key))

    def schedule(self, deadline: int, kind: TimerKind, key: bytes) -> None:
        """A new timer: durable in `due`, on the wheel once the transaction commits."""
        self._fired.discard((deadline, kind, key))
        self.w.put_due(due_key(deadline, kind, key))
        self.wheel_ops.append(("schedule", deadline, kind, key))

    def get(self, key: bytes) -> LeaseEntry | None:
        raw = self.w.get_lease(key)
        return None if raw is None else LeaseEntry.from_json(raw)

    def at(self, zone: Name, owner: Name) -> list[LeaseEntry]:
        return [LeaseEntry.from_json(v) for _, v in self.w.leases_at(zone, owner)]

    def put(self, entry: LeaseEntry) -> None:
        key = entry.key()
        old = self.get(key)
        if old is not None:
            self._unschedule(old, key)
        self.w.put_lease(key, entry.to_json())
        for deadline, kind in timers_of(entry):
            self.schedule(deadline, kind, key)

    def remove(self, entry: LeaseEntry, key: bytes | None = None) -> None:
        key = key or entry.key()
        self._unschedule(entry, key)
        self.w.delete_lease(key)

    def _unschedule(self, entry: LeaseEntry, key: bytes) -> None:
        # timers_of(entry), spelled out: every deadline a tick carries out comes here
        self._drop(entry.started + entry.seconds, deadline_timer(entry), key)
        if entry.next_step:
            self._drop(entry.next_step, _HALF_LIFE_TIMER, key)
        else:
            self.wheel_ops.append(("cancel", 0, _HALF_LIFE_TIMER, key))

    def _drop(self, deadline: int, kind: TimerKind, key: bytes) -> None:
        if (deadline, kind, key) not in self._fired:
            self.w.delete_due(due_key(deadline, kind, key))
            self.wheel_ops.append(("cancel", 0, kind, key))
