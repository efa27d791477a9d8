"""Restart time of leasedns over a store holding a large zone: process start to first answer."""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import time

import bench_query
import gen_zone

TARGET_SECONDS = 1.0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--hosts", type=int, default=100_000)
    p.add_argument("--restarts", type=int, default=3)
    args = p.parse_args()

    out = bench_query.OUT
    out.mkdir(parents=True, exist_ok=True)
    zone = out / "bench-restart.zone"
    data_dir = out / "restart-data"
    log = out / "restart.log"
    began = time.monotonic()
    shape = gen_zone.write_zone(zone, args.hosts)
    generated = time.monotonic() - began
    names = shape.hosts + shape.aliases + shape.empty_non_terminals * 2 + 3
    print(f"zone: {names} names ({shape.hosts} hosts, {len(shape.with_aaaa)} with AAAA, "
          f"{shape.aliases} CNAMEs), {zone.stat().st_size / 1e6:.1f} MB, "
          f"written in {generated:.1f} s")  # fmt: skip
    if data_dir.exists():
        shutil.rmtree(data_dir)

    server = bench_query.start_leasedns(zone, data_dir, log)
    try:
        check_some_hosts(server, shape)
    finally:
        bench_query.stop(server)
    store = data_dir / "store" / "data.mdb"
    print(f"first start (parse + import into an empty store): {server.startup:.2f} s; "
          f"store {store.stat().st_size / 1e6:.1f} MB on disk")  # fmt: skip

    times: list[float] = []
    for n in range(1, args.restarts + 1):
        server = bench_query.start_leasedns(zone, data_dir, log)
        try:
            check_some_hosts(server, shape)
        finally:
            bench_query.stop(server)
        times.append(server.startup)
        print(f"restart {n} (unchanged file, served from the store): {server.startup:.3f} s")
    median = statistics.median(times)
    verdict = "met" if median < TARGET_SECONDS else "MISSED"
    print(f"restart median {median:.3f} s, target < {TARGET_SECONDS:.0f} s: {verdict}")
    return 0 if median < TARGET_SECONDS else 1


def check_some_hosts(server: bench_query.Server, shape: gen_zone.ZoneShape) -> None:
    """The store really holds the zone: a few hosts answer with the address the file gave them."""
    rng = random.Random(4)
    for i in rng.sample(range(shape.hosts), 5):
        reply = bench_query.ask(server.port, f"{gen_zone.host(i)}.{gen_zone.ORIGIN}", "A")
        want = f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"
        got = [rd.to_text() for rrset in reply.answer for rd in rrset]
        if got != [want]:
            raise bench_query.BenchError(f"{gen_zone.host(i)}: expected {want}, got {got}")


if __name__ == "__main__":
    sys.exit(main())
