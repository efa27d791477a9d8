"""RFC 1982 serial arithmetic and the serial policies."""

from __future__ import annotations

import calendar

import pytest

from leasedns.zone.serial import HALF, MOD, gt, next_serial, soa_serial, with_serial

MAX = MOD - 1


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (1, 0),
        (2, 1),
        (0, MAX),  # wrap-around: 0 follows 4294967295
        (5, MAX - 5),
        (HALF - 1, 0),  # the farthest ahead that still counts as newer
        (0, HALF + 1),
        (2026112101, 2026112100),
    ],
)
def test_gt(a: int, b: int) -> None:
    # RFC 1982 §3.2: s1 > s2 iff (i1 < i2 and i2 - i1 > 2^31) or (i1 > i2 and i1 - i2 < 2^31).
    assert gt(a, b)
    assert not gt(b, a)


@pytest.mark.parametrize("a", [0, 1, HALF, MAX])
def test_gt_is_irreflexive(a: int) -> None:
    assert not gt(a, a)


@pytest.mark.parametrize(("a", "b"), [(HALF, 0), (0, HALF), (HALF + 7, 7), (MAX, HALF - 1)])
def test_gt_undefined_at_exactly_half(a: int, b: int) -> None:
    # RFC 1982 §3.2: pairs 2^31 apart are not comparable; neither is greater.
    assert not gt(a, b)
    assert not gt(b, a)


def test_increment() -> None:
    assert next_serial(10, "increment", 0.0) == 11
    assert next_serial(10, "increment", 0.0) == 11
    assert next_serial(MAX, "increment", 0.0) == 1  # RFC 2136 §7.11: the wrap skips 0
    assert gt(next_serial(MAX, "increment", 0.0), MAX)


def test_unixtime() -> None:
    assert next_serial(10, "unixtime", 1_700_000_000.9) == 1_700_000_000
    # The clock is behind the current serial: fall back to +1.
    assert next_serial(1_800_000_000, "unixtime", 1_700_000_000.0) == 1_800_000_001
    # Same second twice: still moves forward.
    assert next_serial(1_700_000_000, "unixtime", 1_700_000_000.0) == 1_700_000_001


def _at(y: int, m: int, d: int) -> float:
    return float(calendar.timegm((y, m, d, 12, 0, 0)))


def test_date() -> None:
    now = _at(2026, 11, 21)
    assert next_serial(10, "date", now) == 2026112100
    assert next_serial(2026112000, "date", now) == 2026112100
    # A second change on the same day counts up the two-digit suffix.
    assert next_serial(2026112100, "date", now) == 2026112101
    assert next_serial(2026112107, "date", now) == 2026112108
    # A serial ahead of today (or a unixtime-style one) falls back to +1.
    assert next_serial(2026112300, "date", now) == 2026112301
    assert next_serial(3_000_000_000, "date", now) == 3_000_000_001


def test_date_uses_utc() -> None:
    late = float(calendar.timegm((2026, 12, 31, 23, 59, 59)))
    assert next_serial(1, "date", late) == 2026123100


def test_unknown_policy() -> None:
    with pytest.raises(ValueError):
        next_serial(1, "random", 0.0)


def test_soa_serial_and_with_serial() -> None:
    rdata = (
        b"\x00\x00" + (7).to_bytes(4, "big") + bytes.fromhex("00000e10 00000258 00015180 0000012c")
    )
    assert soa_serial(rdata) == 7
    new = with_serial(rdata, 2026112101)
    assert soa_serial(new) == 2026112101
    assert new[:2] == rdata[:2] and new[-16:] == rdata[-16:]
    assert len(new) == len(rdata)
