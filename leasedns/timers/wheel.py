"""Hierarchical timing wheel of pending timers, turned by the caller's clock (sans-IO)."""

from __future__ import annotations

import heapq

from leasedns.timers.events import Due, TimerKind

_PREFIX: dict[int, bytes] = {kind: bytes((kind,)) for kind in TimerKind}
_KIND_OF_BYTE: dict[int, TimerKind] = {kind.value: kind for kind in TimerKind}

# Region ids: index into TimerWheel._regions.
_OVERDUE = 0
_OVERFLOW = 1
_FIRST_SLOT = 2

_HEAP_MIN_SIZE = 8
"""Regions with at most this many deadlines answer next_deadline with a plain min()."""


class WheelConfigError(ValueError):
    """The wheel's geometry or start time is invalid."""


class _Bucket(set[bytes]):
    """Identities of the timers that share one deadline (two or more of them)."""

    __slots__ = ("deadline",)

    def __init__(self, deadline: int, *identities: bytes) -> None:
        super().__init__(identities)
        self.deadline = deadline  # one int object shared by all the bucket's timers


class TimerWheel:
    """Pending timers keyed by (kind, key), each with one deadline in unix seconds, 1 s ticks.

    Why a wheel: O(1) schedule and cancel for 10^6 timers that are re-armed on every renewal
    (Varghese & Lauck 1987; the cascading form of Linux before 4.8 and of Kafka). The wheel never
    reads a clock: the caller passes `now` to `advance` and arms one wake-up at `next_deadline()`.

    Layout. A timer's identity is one bytes object, kind byte + key (so identities sort like
    (kind, key)); `_deadline_of` maps it to its deadline and `_buckets` maps each distinct
    deadline to its timers (a bare identity when alone, else a `_Bucket`). The wheel proper holds
    distinct deadlines only, so a cascade moves seconds, not timers. With the wheel at time T and
    digits in base `slots`, a deadline d > T lives at the level of the highest digit where d and T
    differ, in the slot named by d's digit there; the levels are therefore ordered (everything at
    level L is earlier than everything at level L+1) and a timer's place is a function of (d, T),
    which is what makes cancel O(1). Deadlines <= T wait in the overdue region, deadlines that
    differ from T above the top level in the overflow region. `advance` jumps: it drains whole
    levels below the highest digit that changed, splits the one slot the new time falls into, and
    re-places the overflow only when the top digit changes, so a week's gap costs the timers it
    fires plus at most levels x slots empty-slot checks (via per-level occupancy bitmasks).

    next_deadline is cached; when the earliest timer goes, the minimum is found in the first
    non-empty region, through a lazily pruned heap of that region kept while it stays in use.
    """

    __slots__ = (
        "_time",
        "_bits",
        "_mask",
        "_levels",
        "_deadline_of",
        "_buckets",
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
        self._buckets: dict[int, bytes | _Bucket] = {}
        self._regions: list[set[int]] = [set() for _ in range(_FIRST_SLOT + levels * slots)]
        self._occupied = [0] * levels  # per level, bit s set when slot s holds deadlines
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
        buckets = self._buckets
        bucket = buckets.get(deadline)
        if bucket is None:
            buckets[deadline] = identity
            deadline_of[identity] = deadline
            self._place(deadline)
            if self._next_known and (self._next is None or deadline < self._next):
                self._next = deadline
        elif isinstance(bucket, bytes):
            shared = deadline_of[bucket]
            buckets[deadline] = _Bucket(shared, bucket, identity)
            deadline_of[identity] = shared
        else:
            bucket.add(identity)
            deadline_of[identity] = bucket.deadline

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
        old = self._time
        due: list[int] = []
        overdue = self._regions[_OVERDUE]
        if overdue:
            due.extend(overdue)
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

    def _place(self, deadline: int) -> None:
        region_id = self._region_of(deadline)
        region = self._regions[region_id]
        region.add(deadline)
        if region_id >= _FIRST_SLOT:
            slot = region_id - _FIRST_SLOT
            self._occupied[slot >> self._bits] |= 1 << (slot & self._mask)
        if region_id == self._heap_region:
            if len(self._heap) > 2 * len(region) + _HEAP_MIN_SIZE:
                self._forget(region_id)  # mostly stale entries: rebuild when next needed
            else:
                heapq.heappush(self._heap, deadline)

    def _unplace(self, deadline: int) -> None:
        region_id = self._region_of(deadline)
        region = self._regions[region_id]
        region.discard(deadline)
        if not region and region_id >= _FIRST_SLOT:
            slot = region_id - _FIRST_SLOT
            self._occupied[slot >> self._bits] &= ~(1 << (slot & self._mask))

    def _remove(self, identity: bytes, deadline: int) -> None:
        del self._deadline_of[identity]
        buckets = self._buckets
        bucket = buckets[deadline]
        if isinstance(bucket, bytes):
            del buckets[deadline]
            self._unplace(deadline)
            if self._next_known and deadline == self._next:
                self._next_known = False
            return
        bucket.discard(identity)
        if len(bucket) == 1:
            (buckets[deadline],) = bucket  # back to a bare identity; the dict keeps its key

    # -- turning -----------------------------------------------------------------------------

    def _turn(self, old: int, now: int, due: list[int]) -> None:
        """Move from `old` to `now` (> old, already set as time), collecting due deadlines."""
        bits = self._bits
        occupied = self._occupied
        top = ((old ^ now).bit_length() - 1) // bits  # highest digit that changed
        # Below `top` every deadline shares old's digit at `top`, which `now` exceeds: all due.
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

    def _drain(self, level: int, slots: int, due: list[int]) -> None:
        """Collect every deadline of the slots whose bits are set in `slots` at `level`."""
        base = _FIRST_SLOT + (level << self._bits)
        regions = self._regions
        while slots:
            lowest = slots & -slots
            slots ^= lowest
            region_id = base + lowest.bit_length() - 1
            due.extend(regions[region_id])
            regions[region_id].clear()
            self._forget(region_id)

    def _split(self, region_id: int, now: int, due: list[int]) -> None:
        """Empty one region: deadlines up to `now` are due, the rest cascade to their new place."""
        region = self._regions[region_id]
        self._regions[region_id] = set()
        self._forget(region_id)
        for deadline in region:
            if deadline <= now:
                due.append(deadline)
            else:
                self._place(deadline)

    def _fire(self, due: list[int]) -> list[Due]:
        if not due:
            return []
        due.sort()
        fired: list[Due] = []
        append = fired.append
        buckets = self._buckets
        deadline_of = self._deadline_of
        kind_of = _KIND_OF_BYTE
        for deadline in due:
            bucket = buckets.pop(deadline)
            if isinstance(bucket, bytes):
                del deadline_of[bucket]
                append(Due(deadline, kind_of[bucket[0]], bucket[1:]))
                continue
            for identity in sorted(bucket):
                del deadline_of[identity]
                append(Due(deadline, kind_of[identity[0]], identity[1:]))
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
