"""Timer kinds, the due event the wheel hands back, and the byte layout of `due` index keys."""

from __future__ import annotations

import enum
from dataclasses import dataclass

DEADLINE_SIZE = 8
"""Bytes of the big-endian deadline that opens every `due` key."""


class TimerKind(enum.IntEnum):
    """What a timer is for; the values are persisted in `due` keys, so never renumber them."""

    HALF_LIFE = 1
    DEFERRED_DELETE = 2
    LEASE_END = 3
    GRACE_END = 4
    NOTIFY_RETRY = 5
    PRUNE = 6
    TOMBSTONE_PURGE = 7


_KIND_BYTE = {kind: bytes((kind,)) for kind in TimerKind}
_DEADLINE_LIMIT = 1 << (8 * DEADLINE_SIZE)


@dataclass(frozen=True, slots=True)
class Due:
    """A timer whose deadline has come; (kind, key) says which one, deadline when it was due."""

    deadline: int
    kind: TimerKind
    key: bytes


class DueKeyError(ValueError):
    """A `due` key is malformed, or a deadline does not fit the key's u64 field."""


def due_key(deadline: int, kind: TimerKind, key: bytes) -> bytes:
    """Encode the durable `due` index key of one timer.

    Layout (ARCHITECTURE.md §2, `due` database; the value is empty):

        offset 0, 8 bytes   deadline, unix seconds, unsigned big-endian
        offset 8, 1 byte    TimerKind value
        offset 9, the rest  the timer's key, opaque (e.g. an RRset store key)

    Example: due_key(1700000000, TimerKind.LEASE_END, b"k") is 000000006553f100 03 6b (hex).
    Byte order equals (deadline, kind, key) order, the order `TimerWheel.advance` returns timers
    in, so a cursor walk over `due` visits timers in firing order, and every key below
    `(now + 1).to_bytes(8, "big")` is due by `now`.
    """
    if not 0 <= deadline < _DEADLINE_LIMIT:
        raise DueKeyError(f"deadline {deadline} does not fit an unsigned 64-bit field")
    kind_byte = _KIND_BYTE.get(kind)
    if kind_byte is None:
        raise DueKeyError(f"unknown timer kind {kind!r}")
    return deadline.to_bytes(DEADLINE_SIZE, "big") + kind_byte + key


def parse_due_key(raw: bytes | bytearray | memoryview) -> Due:
    """Decode a key written by `due_key` (bytes, or a buffer such as an LMDB cursor hands out)."""
    if len(raw) <= DEADLINE_SIZE:
        raise DueKeyError(f"due key of {len(raw)} bytes is shorter than deadline + kind")
    try:
        kind = TimerKind(raw[DEADLINE_SIZE])
    except ValueError:
        raise DueKeyError(f"unknown timer kind {raw[DEADLINE_SIZE]} in due key") from None
    return Due(int.from_bytes(raw[:DEADLINE_SIZE], "big"), kind, bytes(raw[DEADLINE_SIZE + 1 :]))
