"""Timer wheel benchmark: memory per timer, schedule/cancel cost, advance over a busy tick."""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from leasedns.timers.events import TimerKind  # noqa: E402
from leasedns.timers.wheel import TimerWheel  # noqa: E402

START = 1_700_000_000
DAY = 86_400
WEEK = 7 * DAY


def make_keys(count: int) -> list[bytes]:
    """RRset-store-like keys: reversed owner labels + type, 29-31 bytes."""
    return [b"com\x00example\x00dhcp\x00host-%07d\x00\x00\x01" % i for i in range(count)]


def make_offsets(count: int, span: int, seed: int = 1) -> list[int]:
    rng = random.Random(seed)
    return [rng.randrange(60, span) for _ in range(count)]


def fill(wheel: TimerWheel, keys: list[bytes], offsets: list[int]) -> None:
    schedule = wheel.schedule
    kind = TimerKind.LEASE_END
    for key, offset in zip(keys, offsets, strict=True):
        schedule(START + offset, kind, key)  # a fresh int per timer, as a real caller makes


def fill_dict(keys: list[bytes], offsets: list[int]) -> dict[bytes, int]:
    """What the cheapest keyed timer table would do per timer: one dict insert."""
    table: dict[bytes, int] = {}
    for key, offset in zip(keys, offsets, strict=True):
        table[b"\x03" + key] = START + offset
    return table


def bytes_per_timer(keys: list[bytes], offsets: list[int]) -> float:
    gc.collect()
    tracemalloc.start()
    wheel = TimerWheel(START)
    fill(wheel, keys, offsets)
    used, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(wheel) == len(keys)
    return used / len(keys)


def baseline_bytes_per_timer(keys: list[bytes], offsets: list[int]) -> float:
    """For scale: a bare dict identity -> deadline, one int object per timer."""
    gc.collect()
    tracemalloc.start()
    table = fill_dict(keys, offsets)
    used, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(table) == len(keys)
    return used / len(keys)


def ns_per_op(count: int, action: Callable[[], object]) -> float:
    began = time.perf_counter_ns()
    action()
    return (time.perf_counter_ns() - began) / count


def seconds(action: Callable[[], object]) -> tuple[float, object]:
    began = time.perf_counter()
    result = action()
    return time.perf_counter() - began, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--timers", type=int, default=1_000_000, help="pending timers")
    parser.add_argument("--burst", type=int, default=10_000, help="timers due in one tick")
    args = parser.parse_args()
    count, burst = args.timers, args.burst
    keys = make_keys(count)
    day = make_offsets(count, DAY)
    month = make_offsets(count, 30 * DAY)
    rows: list[tuple[str, str]] = []

    rows.append(("key length (bytes)", f"{len(keys[0])}"))
    for label, offsets in (("1 day", day), ("30 days", month)):
        rows.append(
            (f"memory/timer, deadlines over {label}", f"{bytes_per_timer(keys, offsets):.0f} B")
        )
    rows.append(
        ("  baseline dict identity->deadline", f"{baseline_bytes_per_timer(keys, day):.0f} B")
    )

    gc.collect()
    gc.disable()  # timings of the wheel, not of the cyclic collector
    rows.append(
        (
            "  calibration: bare dict insert",
            f"{ns_per_op(count, lambda: fill_dict(keys, day)):.0f} ns/op",
        )
    )
    wheel = TimerWheel(START)
    rows.append(
        ("schedule (new timer)", f"{ns_per_op(count, lambda: fill(wheel, keys, day)):.0f} ns/op")
    )
    rows.append(
        (
            "schedule (replace pending)",
            f"{ns_per_op(count, lambda: fill(wheel, keys, month)):.0f} ns/op",
        )
    )
    kind = TimerKind.LEASE_END
    cancel = wheel.cancel
    rows.append(
        ("cancel", f"{ns_per_op(count, lambda: [cancel(kind, key) for key in keys]):.0f} ns/op")
    )
    assert len(wheel) == 0

    # A busy tick: `burst` timers share one deadline 600 s ahead (above level 0, so advance also
    # cascades), among `count` others spread over the following day.
    wheel = TimerWheel(START)
    later = [offset + 3600 for offset in day]
    fill(wheel, keys, later)
    tick = START + 600
    for index in range(burst):
        wheel.schedule(tick, TimerKind.HALF_LIFE, b"burst-%06d" % index)
    elapsed, fired = seconds(lambda: wheel.advance(tick))
    assert isinstance(fired, list) and len(fired) == burst
    rows.append((f"advance: {burst} due in one tick, {count} pending", f"{elapsed * 1e3:.1f} ms"))
    elapsed, _ = seconds(wheel.next_deadline)
    rows.append(("next_deadline after that advance", f"{elapsed * 1e6:.1f} us"))

    # A server down for a week: the jump itself, then with every pending timer firing.
    empty = TimerWheel(START)
    empty.schedule(START + WEEK + 1, TimerKind.GRACE_END, b"k")
    elapsed, _ = seconds(lambda: empty.advance(START + WEEK))
    rows.append(("advance 604800 s, nothing due", f"{elapsed * 1e6:.1f} us"))
    elapsed, fired = seconds(lambda: wheel.advance(START + WEEK))
    assert isinstance(fired, list) and len(fired) == count
    rows.append((f"advance 604800 s, all {count} due", f"{elapsed:.2f} s"))
    gc.enable()

    width = max(len(name) for name, _ in rows)
    print(f"TimerWheel(slots=64, levels=6), {count} timers, Python {sys.version.split()[0]}")
    for name, value in rows:
        print(f"  {name:<{width}}  {value:>12}")


if __name__ == "__main__":
    main()
