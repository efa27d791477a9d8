"""LeaseBook inside one transaction: entries, their `due` keys, and what the wheel is told."""

from __future__ import annotations

from leasedns.lease.book import LeaseBook, timers_of
from leasedns.lease.entry import LeaseEntry, LeaseKind, Scope
from leasedns.store.zonestore import Store
from leasedns.timers.events import TimerKind, parse_due_key

T0 = 1_700_000_000
ENTRY = LeaseEntry(
    "lab.example.", "h1.lab.example.", 1, LeaseKind.DEFERRED_DELETE, Scope.RRSET, "",
    T0, 600, "dhcp-key.", "dhcp", next_step=T0 + 300,
)  # fmt: skip


def due_in(store: Store) -> list[tuple[int, TimerKind]]:
    with store.reader() as r:
        return sorted((d.deadline, d.kind) for d in map(parse_due_key, r.iter_due()))


def test_put_writes_the_entry_and_one_due_key_per_timer(store: Store) -> None:
    with store.writer() as w:
        book = LeaseBook(w)
        book.put(ENTRY)
    assert (
        due_in(store)
        == sorted(timers_of(ENTRY))
        == [
            (T0 + 300, TimerKind.HALF_LIFE),
            (T0 + 600, TimerKind.DEFERRED_DELETE),
        ]
    )
    assert [op[0] for op in book.wheel_ops] == ["schedule", "schedule"]


def test_a_fired_timer_is_neither_deleted_nor_cancelled_twice(store: Store) -> None:
    with store.writer() as w:
        LeaseBook(w).put(ENTRY)
    with store.writer() as w:
        book = LeaseBook(w)
        book.fire(T0 + 600, TimerKind.DEFERRED_DELETE, ENTRY.key())
        book.remove(ENTRY)
        assert w.get_lease(ENTRY.key()) is None
    assert due_in(store) == []
    # the half-life timer still pending is cancelled; the one that fired is already off the wheel
    assert book.wheel_ops == [("cancel", 0, TimerKind.HALF_LIFE, ENTRY.key())]


def test_a_fired_timer_scheduled_again_is_kept_then_removed_normally(store: Store) -> None:
    with store.writer() as w:
        LeaseBook(w).put(ENTRY)
    fired = (T0 + 300, TimerKind.HALF_LIFE, ENTRY.key())
    with store.writer() as w:
        book = LeaseBook(w)
        book.fire(*fired)
        book.schedule(*fired)  # re-armed in the same batch
    assert (T0 + 300, TimerKind.HALF_LIFE) in due_in(store)
    with store.writer() as w:
        book = LeaseBook(w)
        book.fire(*fired)
        book.schedule(*fired)
        book.remove(ENTRY)
    assert due_in(store) == []
    assert book.wheel_ops == [  # re-armed, so removing the entry cancels it again
        ("schedule", T0 + 300, TimerKind.HALF_LIFE, ENTRY.key()),
        ("cancel", 0, TimerKind.DEFERRED_DELETE, ENTRY.key()),
        ("cancel", 0, TimerKind.HALF_LIFE, ENTRY.key()),
    ]


def test_replacing_an_entry_moves_its_due_keys(store: Store) -> None:
    with store.writer() as w:
        LeaseBook(w).put(ENTRY)
    later = ENTRY.with_(seconds=900, next_step=0)
    with store.writer() as w:
        book = LeaseBook(w)
        book.put(later)
    assert due_in(store) == [(T0 + 900, TimerKind.DEFERRED_DELETE)]
    assert ("cancel", 0, TimerKind.HALF_LIFE, ENTRY.key()) in book.wheel_ops
    assert book.wheel_ops[-1] == ("schedule", T0 + 900, TimerKind.DEFERRED_DELETE, ENTRY.key())
