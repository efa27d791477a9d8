"""Unit tests of the timing wheel and the `due` key layout; time is injected, nothing sleeps."""

from __future__ import annotations

import random
import time

import pytest

from leasedns.timers.events import Due, DueKeyError, TimerKind, due_key, parse_due_key
from leasedns.timers.wheel import TimerWheel, WheelConfigError

T0 = 1_700_000_000
WEEK = 604_800
LEASE = TimerKind.LEASE_END
GRACE = TimerKind.GRACE_END


def fired(wheel: TimerWheel, now: int) -> list[tuple[int, TimerKind, bytes]]:
    return [(due.deadline, due.kind, due.key) for due in wheel.advance(now)]


# -- basics ------------------------------------------------------------------------------------


def test_new_wheel_is_empty() -> None:
    wheel = TimerWheel(T0)
    assert len(wheel) == 0
    assert wheel.next_deadline() is None
    assert wheel.time == T0
    assert wheel.advance(T0 + 10) == []
    assert wheel.time == T0 + 10


def test_timer_fires_at_its_deadline_and_not_before() -> None:
    wheel = TimerWheel(T0)
    wheel.schedule(T0 + 10, LEASE, b"host")
    assert fired(wheel, T0 + 9) == []
    assert (LEASE, b"host") in wheel
    assert wheel.advance(T0 + 10) == [Due(T0 + 10, LEASE, b"host")]
    assert len(wheel) == 0
    assert (LEASE, b"host") not in wheel
    assert wheel.next_deadline() is None


def test_take_due_fires_what_advance_would_as_plain_tuples() -> None:
    a, b = TimerWheel(T0), TimerWheel(T0)
    for wheel in (a, b):
        wheel.schedule(T0 + 5, GRACE, b"y")
        for i in range(40):  # a deadline shared by many timers
            wheel.schedule(T0 + 5, LEASE, b"h%02d" % i)
        wheel.schedule(T0 + 3, LEASE, b"x")
        wheel.schedule(T0 + 9, LEASE, b"later")
    taken = b.take_due(T0 + 5)
    assert taken == fired(a, T0 + 5)
    assert all(type(t) is tuple for t in taken)
    assert len(a) == len(b) == 1 and a.next_deadline() == b.next_deadline() == T0 + 9


def test_due_carries_a_timer_kind_member() -> None:
    wheel = TimerWheel(T0)
    wheel.schedule(T0 + 1, TimerKind.NOTIFY_RETRY, b"zone")
    (due,) = wheel.advance(T0 + 1)
    assert due.kind is TimerKind.NOTIFY_RETRY
    assert type(due.key) is bytes


def test_late_advance_reports_the_original_deadline() -> None:
    wheel = TimerWheel(T0)
    wheel.schedule(T0 + 5, LEASE, b"a")
    assert fired(wheel, T0 + 500) == [(T0 + 5, LEASE, b"a")]


# -- replace and cancel ------------------------------------------------------------------------


def test_scheduling_again_earlier_replaces() -> None:
    wheel = TimerWheel(T0)
    wheel.schedule(T0 + 5000, LEASE, b"a")
    wheel.schedule(T0 + 30, LEASE, b"a")
    assert len(wheel) == 1
    assert wheel.deadline_of(LEASE, b"a") == T0 + 30
    assert wheel.next_deadline() == T0 + 30
    assert fired(wheel, T0 + 30) == [(T0 + 30, LEASE, b"a")]
    assert fired(wheel, T0 + 5000) == []


def test_scheduling_again_later_replaces() -> None:
    wheel = TimerWheel(T0)
    wheel.schedule(T0 + 30, LEASE, b"a")
    wheel.schedule(T0 + 5000, LEASE, b"a")
    assert len(wheel) == 1
    assert wheel.next_deadline() == T0 + 5000
    assert fired(wheel, T0 + 4999) == []
    assert fired(wheel, T0 + 5000) == [(T0 + 5000, LEASE, b"a")]


def test_scheduling_the_same_deadline_again_changes_nothing() -> None:
    wheel = TimerWheel(T0)
    wheel.schedule(T0 + 30, LEASE, b"a")
    wheel.schedule(T0 + 30, LEASE, b"a")
    assert len(wheel) == 1
    assert fired(wheel, T0 + 30) == [(T0 + 30, LEASE, b"a")]


def test_kind_and_key_together_identify_a_timer() -> None:
    wheel = TimerWheel(T0)
    wheel.schedule(T0 + 10, LEASE, b"a")
    wheel.schedule(T0 + 20, GRACE, b"a")
    wheel.schedule(T0 + 30, LEASE, b"b")
    assert len(wheel) == 3
    assert wheel.deadline_of(LEASE, b"a") == T0 + 10
    assert wheel.deadline_of(GRACE, b"a") == T0 + 20
    assert wheel.deadline_of(GRACE, b"b") is None


def test_cancel_reports_whether_the_timer_was_pending() -> None:
    wheel = TimerWheel(T0)
    wheel.schedule(T0 + 10, LEASE, b"a")
    assert wheel.cancel(GRACE, b"a") is False
    assert wheel.cancel(LEASE, b"a") is True
    assert wheel.cancel(LEASE, b"a") is False
    assert len(wheel) == 0
    assert fired(wheel, T0 + 100) == []


def test_cancel_one_of_many_sharing_a_deadline() -> None:
    wheel = TimerWheel(T0)
    for key in (b"a", b"b", b"c"):
        wheel.schedule(T0 + 7, LEASE, key)
    assert wheel.cancel(LEASE, b"b")
    assert wheel.cancel(LEASE, b"c")
    assert wheel.next_deadline() == T0 + 7
    wheel.schedule(T0 + 7, GRACE, b"d")
    assert fired(wheel, T0 + 7) == [(T0 + 7, LEASE, b"a"), (T0 + 7, GRACE, b"d")]


def test_many_timers_sharing_one_deadline() -> None:
    wheel = TimerWheel(T0)
    keys = [b"%03d" % i for i in range(300)]
    for key in reversed(keys):
        wheel.schedule(T0 + 60, LEASE, key)
    for key in keys[::3]:
        assert wheel.cancel(LEASE, key)
    wheel.schedule(T0 + 61, LEASE, keys[1])  # moves away
    wheel.schedule(T0 + 60, GRACE, keys[1])
    kept = sorted(set(keys) - set(keys[::3]) - {keys[1]})
    assert len(wheel) == len(kept) + 2
    assert fired(wheel, T0 + 60) == [(T0 + 60, LEASE, key) for key in kept] + [
        (T0 + 60, GRACE, keys[1])
    ]
    assert fired(wheel, T0 + 61) == [(T0 + 61, LEASE, keys[1])]


def test_cancel_of_the_last_timer_at_a_deadline_moves_next_deadline() -> None:
    wheel = TimerWheel(T0)
    wheel.schedule(T0 + 7, LEASE, b"a")
    wheel.schedule(T0 + 7, LEASE, b"b")
    wheel.schedule(T0 + 9, LEASE, b"c")
    wheel.cancel(LEASE, b"a")
    assert wheel.next_deadline() == T0 + 7
    wheel.cancel(LEASE, b"b")
    assert wheel.next_deadline() == T0 + 9
    wheel.cancel(LEASE, b"c")
    assert wheel.next_deadline() is None


# -- past deadlines and time -------------------------------------------------------------------


def test_past_deadlines_are_due_at_the_next_advance_without_time_moving() -> None:
    wheel = TimerWheel(T0)
    wheel.schedule(T0, LEASE, b"now")
    wheel.schedule(T0 - 3600, LEASE, b"hour-ago")
    wheel.schedule(0, GRACE, b"epoch")
    assert wheel.next_deadline() == 0
    assert fired(wheel, T0) == [
        (0, GRACE, b"epoch"),
        (T0 - 3600, LEASE, b"hour-ago"),
        (T0, LEASE, b"now"),
    ]
    assert len(wheel) == 0


def test_past_deadline_is_fired_with_those_passed_by_the_same_advance() -> None:
    wheel = TimerWheel(T0)
    wheel.schedule(T0 + 50, LEASE, b"future")
    wheel.schedule(T0 - 1, LEASE, b"past")
    assert fired(wheel, T0 + 60) == [(T0 - 1, LEASE, b"past"), (T0 + 50, LEASE, b"future")]


def test_time_never_goes_back() -> None:
    wheel = TimerWheel(T0)
    wheel.schedule(T0 + 1, LEASE, b"a")
    wheel.schedule(T0 - 5, LEASE, b"late")
    assert fired(wheel, T0 - 100) == [(T0 - 5, LEASE, b"late")]
    assert wheel.time == T0
    assert fired(wheel, T0 + 1) == [(T0 + 1, LEASE, b"a")]


def test_the_wheel_keeps_its_time_and_fires_only_what_advance_passes() -> None:
    wheel = TimerWheel(T0)
    wheel.schedule(T0 + 2, LEASE, b"a")
    wheel.advance(T0 + 1)
    wheel.schedule(T0 + 1, LEASE, b"b")  # now at the wheel's time: due at the next advance
    assert fired(wheel, T0 + 1) == [(T0 + 1, LEASE, b"b")]
    assert fired(wheel, T0 + 2) == [(T0 + 2, LEASE, b"a")]


# -- ordering ----------------------------------------------------------------------------------


def test_timers_of_one_tick_come_in_kind_then_key_order() -> None:
    wheel = TimerWheel(T0)
    entries = [
        (TimerKind.TOMBSTONE_PURGE, b"a"),
        (TimerKind.HALF_LIFE, b"b"),
        (TimerKind.HALF_LIFE, b"ab"),
        (TimerKind.HALF_LIFE, b"a"),
        (TimerKind.HALF_LIFE, b""),
        (TimerKind.DEFERRED_DELETE, b"\x00"),
        (TimerKind.HALF_LIFE, b"\xff"),
    ]
    for kind, key in entries:
        wheel.schedule(T0 + 100, kind, key)
    got = [(due.kind, due.key) for due in wheel.advance(T0 + 100)]
    assert got == sorted(entries)
    assert got[0] == (TimerKind.HALF_LIFE, b"")
    assert got[-1] == (TimerKind.TOMBSTONE_PURGE, b"a")


def test_a_long_advance_returns_deadlines_in_order_across_levels() -> None:
    rng = random.Random(7)
    wheel = TimerWheel(T0)
    expected = []
    for index in range(2000):
        deadline = T0 + rng.choice(
            [rng.randrange(-50, 70), rng.randrange(5000), rng.randrange(10**7)]
        )
        kind = rng.choice(list(TimerKind))
        key = b"k%d" % index
        wheel.schedule(deadline, kind, key)
        expected.append((deadline, kind, key))
    assert fired(wheel, T0 + 10**7) == sorted(expected)


def test_every_second_fires_exactly_on_time_across_cascades() -> None:
    start = 4**3 - 3  # just before a carry at every level of a 4-slot wheel
    wheel = TimerWheel(start, slots=4, levels=3)
    for offset in range(-2, 200):
        wheel.schedule(start + offset, LEASE, b"%d" % offset)
    assert fired(wheel, start) == [(start + o, LEASE, b"%d" % o) for o in (-2, -1, 0)]
    for now in range(start + 1, start + 200):
        assert wheel.next_deadline() == now
        assert fired(wheel, now) == [(now, LEASE, b"%d" % (now - start))]
    assert len(wheel) == 0


# -- long jumps and overflow -------------------------------------------------------------------


def test_week_long_gap_fires_the_missed_timers_in_order_and_keeps_the_rest() -> None:
    wheel = TimerWheel(T0)
    wheel.schedule(T0 + 60, LEASE, b"minute")
    wheel.schedule(T0 + 86_400, GRACE, b"day")
    wheel.schedule(T0 + WEEK, LEASE, b"week")
    wheel.schedule(T0 + WEEK + 1, LEASE, b"week+1")
    wheel.schedule(T0 + 365 * 86_400, LEASE, b"year")
    assert fired(wheel, T0 + WEEK) == [
        (T0 + 60, LEASE, b"minute"),
        (T0 + 86_400, GRACE, b"day"),
        (T0 + WEEK, LEASE, b"week"),
    ]
    assert wheel.next_deadline() == T0 + WEEK + 1
    assert fired(wheel, T0 + WEEK + 1) == [(T0 + WEEK + 1, LEASE, b"week+1")]
    assert wheel.next_deadline() == T0 + 365 * 86_400


def test_huge_jumps_do_not_step_through_time() -> None:
    wheel = TimerWheel(T0)
    wheel.schedule(T0 + 10**15, LEASE, b"far")
    wheel.schedule(T0 + 10**15 + 1, LEASE, b"farther")
    began = time.perf_counter()
    assert fired(wheel, T0 + 10**15) == [(T0 + 10**15, LEASE, b"far")]
    assert fired(wheel, T0 + 10**18) == [(T0 + 10**15 + 1, LEASE, b"farther")]
    assert wheel.advance(T0 + 10**18 + WEEK) == []
    assert time.perf_counter() - began < 1.0  # stepping would take forever, not a second


def test_deadlines_beyond_the_horizon_overflow_and_come_back_exactly() -> None:
    wheel = TimerWheel(5, slots=4, levels=2)  # the wheel proper spans 16 s
    for deadline in (17, 16, 1000, 1001, 10**9, 2**40 + 3):
        wheel.schedule(deadline, LEASE, b"%d" % deadline)
    assert wheel.next_deadline() == 16
    assert fired(wheel, 15) == []
    assert fired(wheel, 16) == [(16, LEASE, b"16")]
    assert fired(wheel, 17) == [(17, LEASE, b"17")]
    assert wheel.next_deadline() == 1000
    assert fired(wheel, 999) == []
    assert fired(wheel, 1000) == [(1000, LEASE, b"1000")]
    assert wheel.cancel(LEASE, b"1001")
    assert wheel.next_deadline() == 10**9
    assert fired(wheel, 10**9 + 5) == [(10**9, LEASE, b"1000000000")]
    assert fired(wheel, 2**40 + 2) == []
    assert fired(wheel, 2**40 + 3) == [(2**40 + 3, LEASE, b"%d" % (2**40 + 3))]


def test_default_wheel_takes_deadlines_past_its_top_level() -> None:
    wheel = TimerWheel(T0)
    far = T0 + 64**6 * 3
    wheel.schedule(far, LEASE, b"far")
    wheel.schedule(T0 + 1, LEASE, b"near")
    assert fired(wheel, T0 + 1) == [(T0 + 1, LEASE, b"near")]
    assert wheel.next_deadline() == far
    assert fired(wheel, far - 1) == []
    assert fired(wheel, far) == [(far, LEASE, b"far")]


def test_one_level_wheel_works() -> None:
    wheel = TimerWheel(0, slots=2, levels=1)
    for deadline in (1, 2, 3, 9):
        wheel.schedule(deadline, LEASE, bytes([deadline]))
    assert [due.deadline for due in wheel.advance(2)] == [1, 2]
    assert wheel.next_deadline() == 3
    assert [due.deadline for due in wheel.advance(100)] == [3, 9]


# -- next_deadline -----------------------------------------------------------------------------


def test_next_deadline_follows_cancels_of_the_earliest_in_a_crowded_slot() -> None:
    rng = random.Random(3)
    wheel = TimerWheel(T0 - T0 % 4096)  # a level-2 slot then holds all of [+4096, +8192)
    start = wheel.time
    deadlines = {b"%d" % i: start + 4096 + rng.randrange(4096) for i in range(300)}
    for key, deadline in deadlines.items():
        wheel.schedule(deadline, LEASE, key)
    while deadlines:
        assert wheel.next_deadline() == min(deadlines.values())
        earliest = min(deadlines, key=lambda k: (deadlines[k], k))
        if rng.random() < 0.3:  # a renewal: the earliest moves later
            deadlines[earliest] += rng.randrange(1, 6000)
            wheel.schedule(deadlines[earliest], LEASE, earliest)
        else:
            assert wheel.cancel(LEASE, earliest)
            del deadlines[earliest]
    assert wheel.next_deadline() is None


def test_next_deadline_after_advance_and_after_earlier_schedule() -> None:
    wheel = TimerWheel(T0)
    wheel.schedule(T0 + 100, LEASE, b"a")
    wheel.schedule(T0 + 9000, LEASE, b"b")
    assert wheel.next_deadline() == T0 + 100
    wheel.advance(T0 + 50)
    assert wheel.next_deadline() == T0 + 100
    wheel.advance(T0 + 100)
    assert wheel.next_deadline() == T0 + 9000
    wheel.schedule(T0 + 200, GRACE, b"c")
    assert wheel.next_deadline() == T0 + 200
    wheel.schedule(T0 + 10, GRACE, b"d")  # before the wheel's time
    assert wheel.next_deadline() == T0 + 10
    wheel.cancel(GRACE, b"d")
    assert wheel.next_deadline() == T0 + 200


# -- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("slots", "levels", "now"), [(3, 2, 0), (1, 2, 0), (64, 0, 0), (64, 6, -1)]
)
def test_bad_geometry_is_refused(slots: int, levels: int, now: int) -> None:
    with pytest.raises(WheelConfigError):
        TimerWheel(now, slots=slots, levels=levels)


def test_unknown_kind_and_non_int_deadline_are_refused() -> None:
    wheel = TimerWheel(T0)
    with pytest.raises(ValueError):
        wheel.schedule(T0 + 1, 99, b"a")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        wheel.schedule(T0 + 1.5, LEASE, b"a")  # type: ignore[arg-type]
    assert wheel.cancel(99, b"a") is False  # type: ignore[arg-type]
    assert (99, b"a") not in wheel  # type: ignore[operator]
    assert len(wheel) == 0


def test_non_int_time_is_refused_before_anything_fires() -> None:
    wheel = TimerWheel(T0)
    wheel.schedule(T0 - 1, LEASE, b"late")
    wheel.schedule(T0 + 1, LEASE, b"soon")
    with pytest.raises(TypeError):
        wheel.advance(T0 + 1.5)  # type: ignore[arg-type]
    assert len(wheel) == 2
    assert fired(wheel, T0 + 1) == [(T0 - 1, LEASE, b"late"), (T0 + 1, LEASE, b"soon")]


# -- persisted values --------------------------------------------------------------------------


def test_timer_kind_values_are_the_persisted_ones() -> None:
    assert {kind.name: kind.value for kind in TimerKind} == {
        "HALF_LIFE": 1,
        "DEFERRED_DELETE": 2,
        "LEASE_END": 3,
        "GRACE_END": 4,
        "NOTIFY_RETRY": 5,
        "PRUNE": 6,
        "TOMBSTONE_PURGE": 7,
    }


def test_due_key_layout() -> None:
    assert due_key(1_700_000_000, LEASE, b"k") == bytes.fromhex("000000006553f100036b")
    assert due_key(0, TimerKind.HALF_LIFE, b"") == bytes(8) + b"\x01"


def test_due_key_round_trips() -> None:
    for deadline, kind, key in [(0, LEASE, b""), (2**64 - 1, TimerKind.PRUNE, b"\x00zone\xff")]:
        assert parse_due_key(due_key(deadline, kind, key)) == Due(deadline, kind, key)
    assert parse_due_key(memoryview(due_key(5, GRACE, b"x"))) == Due(5, GRACE, b"x")


def test_due_key_bytes_sort_like_the_wheel_fires() -> None:
    rng = random.Random(11)
    timers = [
        (
            rng.choice([T0, T0 + 1, T0 + 256, 2**40]),
            rng.choice(list(TimerKind)),
            rng.randbytes(rng.randrange(4)),
        )
        for _ in range(500)
    ]
    assert sorted(timers, key=lambda t: due_key(*t)) == sorted(timers)


@pytest.mark.parametrize("raw", [b"", bytes(8), bytes(8) + b"\x00", bytes(8) + b"\x08key"])
def test_malformed_due_keys_are_refused(raw: bytes) -> None:
    with pytest.raises(DueKeyError):
        parse_due_key(raw)


@pytest.mark.parametrize("deadline", [-1, 2**64])
def test_due_key_refuses_deadlines_outside_u64(deadline: int) -> None:
    with pytest.raises(DueKeyError):
        due_key(deadline, LEASE, b"k")
