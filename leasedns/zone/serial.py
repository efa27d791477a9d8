"""SOA serial arithmetic (RFC 1982) and the serial policies an admin can choose."""

from __future__ import annotations

import time

HALF = 1 << 31
MOD = 1 << 32


def gt(a: int, b: int) -> bool:
    """RFC 1982 §3.2: ``a`` is newer than ``b``."""
    return a != b and ((a < b and b - a > HALF) or (a > b and a - b < HALF))


def next_serial(current: int, policy: str, now: float) -> int:
    """The serial after ``current``; never goes backwards in RFC 1982 terms.

    ``increment`` adds one; ``unixtime`` uses the clock; ``date`` uses
    YYYYMMDDnn.  When the policy's value is not newer, it falls back to +1.  Past
    2^32 - 1 the next serial is 1, not 0 (RFC 2136 §7.11: "it is necessary to
    increment it again or set it to one"), as BIND does.
    """
    plus_one = (current + 1) % MOD or 1
    if policy == "increment":
        return plus_one
    if policy == "unixtime":
        cand = int(now) % MOD
    elif policy == "date":
        cand = int(time.strftime("%Y%m%d", time.gmtime(now))) * 100
    else:
        raise ValueError(f"unknown serial policy {policy!r}")
    return cand if gt(cand, current) else plus_one


def soa_serial(rdata: bytes) -> int:
    """SERIAL sits 20 bytes from the end of SOA rdata."""
    return int.from_bytes(rdata[-20:-16], "big")


def with_serial(rdata: bytes, serial: int) -> bytes:
    return rdata[:-20] + serial.to_bytes(4, "big") + rdata[-16:]
