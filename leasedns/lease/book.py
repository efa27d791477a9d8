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
    return (
        TimerKind.DEFERRED_DELETE
        if entry.kind == LeaseKind.DEFERRED_DELETE
        else TimerKind.LEASE_END
    )


def timers_of(entry: LeaseEntry) -> list[tuple[int, TimerKind]]:
    out = [(entry.deadline, deadline_timer(entry))]
    if entry.next_step:
        out.append((entry.next_step, TimerKind.HALF_LIFE))
    return out


@dataclass
class LeaseBook:
    w: Writer
    wheel_ops: list[WheelOp] = field(default_factory=list)

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
            self.w.put_due(due_key(deadline, kind, key))
            self.wheel_ops.append(("schedule", deadline, kind, key))

    def remove(self, entry: LeaseEntry, key: bytes | None = None) -> None:
        key = key or entry.key()
        self._unschedule(entry, key)
        self.w.delete_lease(key)

    def _unschedule(self, entry: LeaseEntry, key: bytes) -> None:
        for deadline, kind in timers_of(entry):
            self.w.delete_due(due_key(deadline, kind, key))
            self.wheel_ops.append(("cancel", 0, kind, key))
        if not entry.next_step:
            self.wheel_ops.append(("cancel", 0, TimerKind.HALF_LIFE, key))
