"""10,000 deferred deletes due in one tick: time to process them, and serial bumps (target < 1 s, one bump).

Runs the real engines over a real LMDB store in a temporary directory:
    .venv/bin/python benchmarks/bench_timer_tick.py [--count 10000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit" / "lease"))

from harness import Harness, deferred_delete  # noqa: E402

from leasedns.store.lmdb_kv import LmdbKV  # noqa: E402
from leasedns.store.zonestore import Store  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--profile", default="aggressive")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="leasedns-tick-"))
    store = Store(LmdbKV(str(tmp / "store")))
    h = Harness(tmp, profile=args.profile, store=store)
    t0 = time.perf_counter()
    replies: list[bytes] = []
    for i in range(args.count):  # queued together: one group-committed transaction
        u = h.update()
        addr = f"10.{200 + ((i >> 16) & 15)}.{(i >> 8) & 255}.{i & 255}"  # none in a human record
        u.add(f"host{i}", 3600, "A", addr)
        deferred_delete(u, f"host{i}", 600, "A", addr)
        h.engine.submit(u.to_wire(), "127.0.0.1", replies.append)
    h.engine.flush()
    setup = time.perf_counter() - t0
    assert all(r[3] & 0xF == 0 for r in replies), "every update applied"
    h.advance(599)  # the half-life steps before the deadline, in their own ticks
    h.lifecycle.roles_for(h.zone)  # a running server has its role index from before
    serial_before = h.serial()
    h.clock.t += 1
    t1 = time.perf_counter()
    res = h.timers.tick(int(h.clock.t))
    tick = time.perf_counter() - t1
    serial_after = h.serial()
    left = sum(
        1
        for i in range(0, args.count, max(1, args.count // 100))
        if h.rrset(f"host{i}", 1) is not None
    )
    print(f"updates applied (one group commit): {args.count} in {setup:.2f} s")
    print(f"deadlines due in one tick:          {res.fired}")
    print(f"tick processing time:               {tick:.3f} s  (target < 1 s)")
    print(
        f"serial bumps:                       {(serial_after - serial_before) % (1 << 32)}  (target 1)"
    )
    print(f"records left of a 1% sample:        {left}")
    store.close()
    os.system(f"rm -rf {tmp}")
    return 0 if tick < 1.0 and serial_after - serial_before == 1 and left == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
