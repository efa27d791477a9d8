"""Seeded benchmark inputs: a host zone in RFC 1035 master-file form and a dnsperf query file."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

ORIGIN = "bench.example."
EMPTY_NON_TERMINALS = 20

# Share of the query file per kind; the five add up to 100.
QUERY_MIX = {"a": 60, "aaaa": 15, "cname": 10, "nxdomain": 10, "nodata": 5}


@dataclass
class ZoneShape:
    """What the generator put in the zone, so queries can be aimed at it."""

    hosts: int
    with_aaaa: list[int]
    aliases: int
    empty_non_terminals: int


def host(i: int) -> str:
    return f"host-{i:06d}"


def write_zone(path: Path, hosts: int, seed: int = 1) -> ZoneShape:
    """A for every host, AAAA for ~30%, a CNAME alias per ~10% of hosts, and
    ``EMPTY_NON_TERMINALS`` names that exist only because a child does (RFC 8020 NODATA)."""
    rng = random.Random(seed)
    with_aaaa: list[int] = []
    aliases = max(1, hosts // 10)
    lines = [
        f"$ORIGIN {ORIGIN}",
        "$TTL 3600",
        "@ IN SOA ns1 hostmaster 2026010101 3600 600 1209600 300",
        "@ IN NS ns1",
        "@ IN NS ns2",
        "ns1 IN A 192.0.2.1",
        "ns2 IN A 192.0.2.2",
    ]
    for i in range(hosts):
        name = host(i)
        lines.append(f"{name} IN A 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}")
        if rng.random() < 0.3:
            with_aaaa.append(i)
            lines.append(f"{name} IN AAAA fd00:b::{i >> 16:x}:{i & 0xFFFF:x}")
    for j in range(aliases):
        lines.append(f"alias-{j:06d} IN CNAME {host(rng.randrange(hosts))}")
    for k in range(EMPTY_NON_TERMINALS):
        lines.append(f'svc.ent-{k:02d} IN TXT "child of an empty non-terminal"')
    path.write_text("\n".join(lines) + "\n")
    return ZoneShape(hosts, with_aaaa, aliases, EMPTY_NON_TERMINALS)


def query_lines(shape: ZoneShape, count: int, seed: int = 2) -> list[str]:
    """dnsperf input, ``QUERY_MIX`` in exact proportions, shuffled.

    NXDOMAIN names come from a pool as large as the host set, so a server with an
    answer cache sees them repeat like the other kinds; NODATA is half A at an empty
    non-terminal, half MX at a host.
    """
    rng = random.Random(seed)
    counts = {kind: count * share // 100 for kind, share in QUERY_MIX.items()}
    counts["a"] += count - sum(counts.values())
    out: list[str] = []
    suffix = "." + ORIGIN
    for _ in range(counts["a"]):
        out.append(f"{host(rng.randrange(shape.hosts))}{suffix} A")
    for _ in range(counts["aaaa"]):
        out.append(f"{host(rng.choice(shape.with_aaaa))}{suffix} AAAA")
    for _ in range(counts["cname"]):
        out.append(f"alias-{rng.randrange(shape.aliases):06d}{suffix} A")
    for _ in range(counts["nxdomain"]):
        out.append(f"missing-{rng.randrange(shape.hosts):06d}{suffix} A")
    for n in range(counts["nodata"]):
        if n % 2:
            out.append(f"ent-{rng.randrange(shape.empty_non_terminals):02d}{suffix} A")
        else:
            out.append(f"{host(rng.randrange(shape.hosts))}{suffix} MX")
    rng.shuffle(out)
    return out


def write_queries(path: Path, shape: ZoneShape, count: int, seed: int = 2) -> list[str]:
    lines = query_lines(shape, count, seed)
    path.write_text("\n".join(lines) + "\n")
    return lines
