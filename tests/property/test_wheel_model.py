"""The timing wheel against a plain dict model, for any schedule/cancel/advance sequence."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from leasedns.timers.events import TimerKind
from leasedns.timers.wheel import TimerWheel

GEOMETRIES = [(2, 1), (2, 4), (4, 2), (4, 3), (8, 3), (64, 2), (64, 6)]

kinds = st.sampled_from(list(TimerKind))
keys = st.sampled_from([b"", b"a", b"ab", b"b", b"\x00", b"\xff"] + [b"%d" % i for i in range(40)])
# Offsets from the wheel's time: near (level 0), across carries, past small horizons, far past.
offsets = st.one_of(
    st.integers(-70, 70),
    st.integers(-5000, 5000),
    st.sampled_from([1, 2, 3, 4, 15, 16, 17, 63, 64, 65, 4095, 4096, 4097, 604_800]),
    st.integers(0, 10**8),
    st.integers(2**35, 2**45),
)
jumps = st.one_of(
    st.integers(-10, 10),
    st.integers(0, 130),
    st.integers(0, 10_000),
    st.integers(0, 10**8),
    st.sampled_from([604_800, 2**36, 2**40]),
)
starts = st.one_of(
    st.integers(0, 2**40),
    st.sampled_from([0, 1, 15, 63, 64**2 - 1, 64**3 - 2, 1_700_000_000]),
)


class WheelAgainstModel(RuleBasedStateMachine):
    """The model: pending timers in a dict (kind, key) -> deadline and a time that never goes
    back; advance returns every deadline <= max(time, now), sorted."""

    def __init__(self) -> None:
        super().__init__()
        self.wheel = TimerWheel(0)
        self.pending: dict[tuple[TimerKind, bytes], int] = {}
        self.now = 0

    @initialize(start=starts, geometry=st.sampled_from(GEOMETRIES))
    def start(self, start: int, geometry: tuple[int, int]) -> None:
        slots, levels = geometry
        self.wheel = TimerWheel(start, slots=slots, levels=levels)
        self.now = start

    @rule(kind=kinds, key=keys, offset=offsets)
    def schedule(self, kind: TimerKind, key: bytes, offset: int) -> None:
        deadline = max(0, self.now + offset)
        self.wheel.schedule(deadline, kind, key)
        self.pending[(kind, key)] = deadline

    @rule(
        kind=kinds,
        base=offsets,
        spread=st.sampled_from([1, 3, 64, 5000]),
        picks=st.lists(st.tuples(keys, st.integers(0, 10**6)), min_size=1, max_size=40),
    )
    def schedule_crowd(
        self, kind: TimerKind, base: int, spread: int, picks: list[tuple[bytes, int]]
    ) -> None:
        """Many timers close together, so single regions hold many deadlines."""
        for key, jitter in picks:
            deadline = max(0, self.now + base + jitter % spread)
            self.wheel.schedule(deadline, kind, key)
            self.pending[(kind, key)] = deadline

    @rule(kind=kinds, key=keys)
    def cancel(self, kind: TimerKind, key: bytes) -> None:
        expected = self.pending.pop((kind, key), None) is not None
        assert self.wheel.cancel(kind, key) is expected

    @precondition(lambda self: self.pending)
    @rule(later=st.one_of(st.none(), st.integers(1, 10_000)))
    def cancel_or_renew_earliest(self, later: int | None) -> None:
        """What renewals do most: touch the timer that is due first."""
        identity = min(self.pending, key=lambda item: (self.pending[item], item))
        if later is None:
            assert self.wheel.cancel(*identity)
            del self.pending[identity]
        else:
            self.pending[identity] += later
            self.wheel.schedule(self.pending[identity], *identity)

    @rule(jump=jumps)
    def advance(self, jump: int) -> None:
        self.check_advance(self.now + jump)

    @precondition(lambda self: self.pending)
    @rule()
    def advance_to_next_deadline(self) -> None:
        """What the reactor adapter does: wake exactly at next_deadline."""
        deadline = self.wheel.next_deadline()
        assert deadline is not None
        self.check_advance(deadline)

    def check_advance(self, now: int) -> None:
        self.now = max(self.now, now)
        expected = sorted(
            (deadline, kind, key)
            for (kind, key), deadline in self.pending.items()
            if deadline <= self.now
        )
        for _deadline, kind, key in expected:
            del self.pending[(kind, key)]
        got = [(due.deadline, due.kind, due.key) for due in self.wheel.advance(now)]
        assert got == expected
        assert self.wheel.time == self.now

    @invariant()
    def same_pending_timers(self) -> None:
        assert len(self.wheel) == len(self.pending)
        assert self.wheel.next_deadline() == min(self.pending.values(), default=None)
        for (kind, key), deadline in self.pending.items():
            assert (kind, key) in self.wheel
            assert self.wheel.deadline_of(kind, key) == deadline


WheelAgainstModel.TestCase.settings = settings(
    max_examples=300, stateful_step_count=60, deadline=None
)
TestWheelAgainstModel = WheelAgainstModel.TestCase
