"""The OPT record of a message we do not otherwise parse (RFC 6891), found by walking it."""

from __future__ import annotations

import struct

from leasedns.wire import names

T_OPT = 41
_COUNTS = struct.Struct("!HHHH")
_RR_HEAD = struct.Struct("!HHIH")  # TYPE, CLASS, TTL, RDLENGTH
_OPTION_HEAD = struct.Struct("!HH")  # OPTION-CODE, OPTION-LENGTH


def find_opt(wire: bytes) -> tuple[int, int, bool] | None:
    """(payload size, version, DO) of the message's one well-formed OPT, or None.

    Best effort and never raises: error replies to messages that fail elsewhere (no
    question, an unknown opcode) still owe the client an OPT (§6.1.1), and BADVERS comes
    before any other error when the version is one we don't speak (§6.1.3).  A message
    whose OPT is itself wrong (two of them, an owner other than the root, options running
    past the RDATA) has none worth answering: it gets FORMERR without one, as from BIND
    and Knot."""
    if len(wire) < 12:
        return None
    qd, an, ns, ar = _COUNTS.unpack_from(wire, 4)
    if ar == 0:
        return None
    found = None
    pos = 12
    try:
        for _ in range(qd):
            pos = names.skip_compressed(wire, pos) + 4
        for i in range(an + ns + ar):
            start = pos
            pos = names.skip_compressed(wire, pos)
            if pos + 10 > len(wire):
                return None
            rtype, rclass, ttl, rdlen = _RR_HEAD.unpack_from(wire, pos)
            pos += 10 + rdlen
            if rtype != T_OPT:
                continue
            if i < an + ns or found is not None or wire[start] != 0 or pos > len(wire):
                return None
            if not _options_fit(wire, pos - rdlen, pos):
                return None
            found = rclass, (ttl >> 16) & 0xFF, bool(ttl & 0x8000)
    except names.NameError_:
        return None
    return found


def _options_fit(wire: bytes, start: int, end: int) -> bool:
    while start < end:
        if start + 4 > end:
            return False
        _code, length = _OPTION_HEAD.unpack_from(wire, start)
        start += 4 + length
    return start == end
