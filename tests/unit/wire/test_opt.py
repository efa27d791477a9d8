"""find_opt: the OPT of a message we do not otherwise parse, or None when there is none worth answering."""

from __future__ import annotations

import struct

import pytest

from leasedns.wire.opt import find_opt

QUESTION = b"\x03www\x03lab\x04test\x00\x00\x01\x00\x01"


def opt(payload: int = 1232, version: int = 0, do: bool = False, owner: bytes = b"\x00",
        options: bytes = b"") -> bytes:  # fmt: skip
    ttl = (version << 16) | (0x8000 if do else 0)
    return owner + struct.pack("!HHIH", 41, payload, ttl, len(options)) + options


def message(counts: tuple[int, int, int, int], body: bytes) -> bytes:
    return struct.pack("!HH4H", 0x4242, 0, *counts) + body


@pytest.mark.parametrize(
    "wire, found",
    [
        (message((1, 0, 0, 1), QUESTION + opt()), (1232, 0, False)),
        (message((0, 0, 0, 1), opt(4096, 1, True)), (4096, 1, True)),  # no question
        (message((1, 0, 0, 1), QUESTION + opt(options=b"\x00\x0a\x00\x02ab")), (1232, 0, False)),
        (message((1, 0, 0, 0), QUESTION), None),
        (message((1, 0, 0, 2), QUESTION + opt() + opt()), None),  # two OPTs
        (message((1, 0, 0, 1), QUESTION + opt(owner=b"\x01x\x00")), None),  # not at the root
        (message((1, 0, 0, 1), QUESTION + opt(options=b"\x00\x0a\x00\x09ab")), None),  # overrun
        (message((1, 1, 0, 0), QUESTION + opt()), None),  # OPT in the answer section
        (message((1, 0, 0, 1), QUESTION), None),  # counted but missing
        (b"\x00" * 11, None),
    ],
)
def test_find_opt(wire: bytes, found: tuple[int, int, bool] | None) -> None:
    assert find_opt(wire) == found
