"""Hierarchical timing wheel of pending timers, turned by the caller's clock (sans-IO)."""

from __future__ import annotations

import heapq
from operator import itemgetter

from leasedns.timers.events import Due, TimerKind

_PREFIX: dict[int, bytes] = {kind: bytes((kind,)) for kind in TimerKind}
_KIND_OF_BYTE: dict[int, TimerKind] = {kind.value: kind for kind in TimerKind}

# Region ids index TimerWheel._regions: the overdue region, the overflow, then level-major slots.
_OVERDUE = 0
_OVERFLOW = 1
_FIRST_SLOT = 2

_HEAP_MIN_SIZE = 8
"""Regions of at most this many deadlines answer next_deadline with a plain min()."""

_LIST_MAX = 32
"""Timers sharing a deadline are kept in a list up to this many (compact), then in a set."""

_by_deadline = itemgetter(0)


class WheelConfigError(ValueError):
    """The wheel's geometry or start time is invalid."""


class _Few(list[bytes]):
    """Identities of the timers that share one deadline, when there are 2 to _LIST_MAX."""

    __slots__ = ("deadline",)

    def __init__(self, deadline: int, *identities: bytes) -> None:
        super().__init__(identities)
        self.deadline = deadline  # one int object shared by all these timers


class _Many(set[bytes]):
    """Identities of the timers that share one deadline, when there are more than _LIST_MAX."""

    __slots__ = ("deadline",)

    def __init__(self, deadline: int, *identities: bytes) -> None:
        super().__init__(identities)
        self.deadline = deadline


_Timers = bytes | _Few | _Many
"""The timers of one deadline: a lone identity, a _Few list or a _Many set."""


class TimerWheel:
    """Pending timers keyed by (kind, key), each with one deadline in unix seconds, 1 s ticks.

    Why a wheel: O(1) schedule and cancel for 10^6 timers that are re-armed on every renewal
    (Varghese & Lauck 1987; the cascading form of Linux before 4.8 and of Kafka). The wheel never
    reads a clock: the caller passes `now` to `advance` and arms one wake-up at `next_deadline()`.

    Layout. A timer's identity is one bytes object, kind byte + key, so identities sort like
    (kind, key); `_deadline_of` maps it to its deadline. The wheel proper is a list of regions,
    each a dict from a distinct deadline to its timers (a bare identity when alone, a `_Few` list
    when few, a `_Many` set when many, so removal stays O(1)); a cascade moves seconds, not
    timers. With the wheel at time T and digits in base `slots`, a deadline d > T lives at the
    level of the highest digit where d and T differ, in the slot named by d's digit there. The
    levels are therefore ordered (all of level L is earlier than all of level L+1), and a timer's
    region is a function of (d, T), which is what makes cancel O(1). Deadlines <= T wait in the
    overdue region, deadlines that differ from T above the top level in the overflow region.
    `advance` jumps rather than ticks: it drains whole levels below the highest digit that
    changed, splits the one slot the new time falls into, and re-places the overflow only when a
    digit above the top level changes; a week's gap costs the timers it fires plus at most
    levels x slots bit tests on per-level occupancy masks.

    next_deadline is cached; when the earliest timer goes, the minimum is found in the first
    non-empty region, through a lazily pruned heap of that region kept while it stays in use.
    """

    __slots__ = (
        "_time",
        "_bits",
        "_mask",
        "_levels",
        "_deadline_of",
        "_regions",
        "_occupied",
        "_next",
        "_next_known",
        "_heap_region",
        "_heap",
    )

    def __init__(self, now: int, slots: int = 64, levels: int = 6) -> None:
        if slots < 2 or slots & (slots - 1):
            raise WheelConfigError(f"slots must be a power of two >= 2, not {slots}")
        if levels < 1:
            raise WheelConfigError(f"levels must be >= 1, not {levels}")
        if now < 0:
            raise WheelConfigError(f"start time must be >= 0, not {now}")
        self._time = now
        self._bits = slots.bit_length() - 1
        self._mask = slots - 1
        self._levels = levels
        self._deadline_of: dict[bytes, int] = {}
        self._regions: list[dict[int, _Timers]] = [{} for _ in range(_FIRST_SLOT + levels * slots)]
        self._occupied = [0] * levels  # per level, bit s is set when slot s holds deadlines
        self._next: int | None = None
        self._next_known = True
        self._heap_region = -1
        self._heap: list[int] = []

    @property
    def time(self) -> int:
        """The time of the last `advance` (or the start time)."""
        return self._time

    def __len__(self) -> int:
        return len(self._deadline_of)

    def __contains__(self, item: tuple[TimerKind, bytes]) -> bool:
        kind, key = item
        prefix = _PREFIX.get(kind)
        return prefix is not None and prefix + key in self._deadline_of

    def __repr__(self) -> str:
        return f"<TimerWheel time={self._time} pending={len(self._deadline_of)}>"

    def deadline_of(self, kind: TimerKind, key: bytes) -> int | None:
        prefix = _PREFIX.get(kind)
        return None if prefix is None else self._deadline_of.get(prefix + key)

    def schedule(self, deadline: int, kind: TimerKind, key: bytes) -> None:
        """Arm timer (kind, key) for `deadline`, replacing its earlier arming, sooner or later.

        A deadline at or before the wheel's time is due at the next `advance`.
        """
        prefix = _PREFIX.get(kind)
        if prefix is None:
            raise ValueError(f"unknown timer kind {kind!r}")
        if not isinstance(deadline, int):
            raise TypeError(f"deadline must be int unix seconds, not {type(deadline).__name__}")
        identity = prefix + key
        deadline_of = self._deadline_of
        old = deadline_of.get(identity)
        if old is not None:
            if old == deadline:
                return
            self._remove(identity, old)
        region_id = self._region_of(deadline)
        region = self._regions[region_id]
        timers = region.get(deadline)
        if timers is None:
            region[deadline] = identity
            deadline_of[identity] = deadline
            self._occupy(region_id, region, deadline)
            if self._next_known and (self._next is None or deadline < self._next):
                self._next = deadline
        elif isinstance(timers, bytes):
            shared = deadline_of[timers]  # one int object per distinct deadline
            region[deadline] = _Few(shared, timers, identity)
            deadline_of[identity] = shared
        elif isinstance(timers, _Few):
            if len(timers) < _LIST_MAX:
                timers.append(identity)
            else:
                region[deadline] = _Many(timers.deadline, *timers, identity)
            deadline_of[identity] = timers.deadline
        else:
            timers.add(identity)
            deadline_of[identity] = timers.deadline

    def cancel(self, kind: TimerKind, key: bytes) -> bool:
        """Disarm timer (kind, key); False when it was not pending."""
        prefix = _PREFIX.get(kind)
        if prefix is None:
            return False
        identity = prefix + key
        deadline = self._deadline_of.get(identity)
        if deadline is None:
            return False
        self._remove(identity, deadline)
        return True

    def next_deadline(self) -> int | None:
        """The earliest pending deadline, exact (it may lie before `time`), or None when empty."""
        if not self._next_known:
            self._next = self._find_min()
            self._next_known = True
        return self._next

    def advance(self, now: int) -> list[Due]:
        """Move the wheel's time to `now` and return every timer due by then, in
        (deadline, kind, key) order. Time never goes back: an earlier `now` counts as `time`."""
        return [Due(deadline, kind, key) for deadline, kind, key in self.take_due(now)]

    def take_due(self, now: int) -> list[tuple[int, TimerKind, bytes]]:
        """What `advance` returns, as plain (deadline, kind, key) tuples.

        For a timer tick that fires thousands at once: a frozen `Due` costs a microsecond
        to build, more than the tuple and the unpacking together.
        """
        if not isinstance(now, int):
            raise TypeError(f"now must be int unix seconds, not {type(now).__name__}")
        old = self._time
        due: list[tuple[int, _Timers]] = []
        overdue = self._regions[_OVERDUE]
        if overdue:
            due.extend(overdue.items())
            overdue.clear()
            self._forget(_OVERDUE)
        if now > old:
            self._time = now
            self._turn(old, now, due)
        else:
            now = old
        if self._next_known and self._next is not None and self._next <= now:
            self._next_known = False
        return self._fire(due)

    # -- placement ---------------------------------------------------------------------------

    def _region_of(self, deadline: int) -> int:
        time = self._time
        if deadline <= time:
            return _OVERDUE
        level = ((deadline ^ time).bit_length() - 1) // self._bits
        if level >= self._levels:
            return _OVERFLOW
        digit = (deadline >> (level * self._bits)) & self._mask
        return _FIRST_SLOT + (level << self._bits) + digit

    def _occupy(self, region_id: int, region: dict[int, _Timers], deadline: int) -> None:
        """Book-keeping after `deadline` became a new key of region `region_id`."""
        if region_id >= _FIRST_SLOT:
            slot = region_id - _FIRST_SLOT
            self._occupied[slot >> self._bits] |= 1 << (slot & self._mask)
        if region_id == self._heap_region:
            if len(self._heap) > 2 * len(region) + _HEAP_MIN_SIZE:
                self._forget(region_id)  # mostly stale entries: rebuild when next needed
            else:
                heapq.heappush(self._heap, deadline)

    def _remove(self, identity: bytes, deadline: int) -> None:
        del self._deadline_of[identity]
        region_id = self._region_of(deadline)
        region = self._regions[region_id]
        timers = region[deadline]
        if isinstance(timers, bytes):
            del region[deadline]
            if not region and region_id >= _FIRST_SLOT:
                slot = region_id - _FIRST_SLOT
                self._occupied[slot >> self._bits] &= ~(1 << (slot & self._mask))
            if self._next_known and deadline == self._next:
                self._next_known = False
            return
        if isinstance(timers, _Few):
            timers.remove(identity)
        else:
            timers.discard(identity)
        if len(timers) == 1:
            (region[deadline],) = timers  # back to a bare identity; the dict keeps its key

    # -- turning -----------------------------------------------------------------------------

    def _turn(self, old: int, now: int, due: list[tuple[int, _Timers]]) -> None:
        """Move from `old` to `now` (> old, already the wheel's time), collecting due timers."""
        bits = self._bits
        occupied = self._occupied
        top = ((old ^ now).bit_length() - 1) // bits  # the highest digit that changed
        # Below `top` every deadline has old's digit at `top`, which now's exceeds: all are due.
        for level in range(min(top, self._levels)):
            self._drain(level, occupied[level], due)
            occupied[level] = 0
        if top >= self._levels:
            self._split(_OVERFLOW, now, due)
            return
        digit = (now >> (top * bits)) & self._mask
        in_use = occupied[top]
        self._drain(top, in_use & ((1 << digit) - 1), due)
        occupied[top] = in_use & ~((2 << digit) - 1)  # slots after `digit` stay where they are
        if in_use >> digit & 1:
            self._split(_FIRST_SLOT + (top << bits) + digit, now, due)

    def _drain(self, level: int, slots: int, due: list[tuple[int, _Timers]]) -> None:
        """Collect all timers of the slots whose bits are set in `slots` at `level`."""
        base = _FIRST_SLOT + (level << self._bits)
        regions = self._regions
        while slots:
            lowest = slots & -slots
            slots ^= lowest
            region_id = base + lowest.bit_length() - 1
            due.extend(regions[region_id].items())
            regions[region_id].clear()
            self._forget(region_id)

    def _split(self, region_id: int, now: int, due: list[tuple[int, _Timers]]) -> None:
        """Empty one region: timers up to `now` are due, the rest cascade to their new place."""
        region = self._regions[region_id]
        self._regions[region_id] = {}
        self._forget(region_id)
        regions = self._regions
        for deadline, timers in region.items():
            if deadline <= now:
                due.append((deadline, timers))
                continue
            target_id = self._region_of(deadline)
            target = regions[target_id]
            target[deadline] = timers
            self._occupy(target_id, target, deadline)

    def _fire(self, due: list[tuple[int, _Timers]]) -> list[tuple[int, TimerKind, bytes]]:
        if not due:
            return []
        due.sort(key=_by_deadline)  # deadlines are distinct across regions
        fired: list[tuple[int, TimerKind, bytes]] = []
        append = fired.append
        deadline_of = self._deadline_of
        kind_of = _KIND_OF_BYTE
        for deadline, timers in due:
            if isinstance(timers, bytes):
                del deadline_of[timers]
                append((deadline, kind_of[timers[0]], timers[1:]))
                continue
            for identity in sorted(timers):
                del deadline_of[identity]
                append((deadline, kind_of[identity[0]], identity[1:]))
        return fired

    # -- earliest deadline -------------------------------------------------------------------

    def _find_min(self) -> int | None:
        if not self._deadline_of:
            return None
        if self._regions[_OVERDUE]:
            return self._region_min(_OVERDUE)
        for level, in_use in enumerate(self._occupied):
            if in_use:
                slot = (in_use & -in_use).bit_length() - 1
                return self._region_min(_FIRST_SLOT + (level << self._bits) + slot)
        return self._region_min(_OVERFLOW)

    def _region_min(self, region_id: int) -> int:
        region = self._regions[region_id]
        if len(region) <= _HEAP_MIN_SIZE:
            return min(region)
        heap = self._heap
        if region_id != self._heap_region:
            heap = list(region)
            heapq.heapify(heap)
            self._heap = heap
            self._heap_region = region_id
        while heap[0] not in region:  # every member was pushed, so this stops
            heapq.heappop(heap)
        return heap[0]

    def _forget(self, region_id: int) -> None:
        if region_id == self._heap_region:
            self._heap_region = -1
            self._heap = []
