"""Reading the TSIG of a reply by hand (RFC 8945), where dnspython will not: a reply with a
TSIG error, or one echoing a zone section it finds malformed."""

from __future__ import annotations

import hashlib
import hmac
import struct

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.tsig
import dns.wire
from serverkit import skip_name

T_TSIG = 250


def last_rr(raw: bytes) -> tuple[int, int, dns.rdata.Rdata | None]:
    """Where the last RR of ``raw`` starts, its type, and its RDATA when it is a TSIG."""
    counts = struct.unpack_from("!HHHH", raw, 4)
    pos = 12
    for _ in range(counts[0]):
        pos = skip_name(raw, pos) + 4
    start, rtype, tsig = -1, -1, None
    for _ in range(sum(counts[1:])):
        start = pos
        pos = skip_name(raw, pos)
        rtype, _cls, _ttl, rdlen = struct.unpack_from("!HHIH", raw, pos)
        pos += 10
        if rtype == T_TSIG:
            parser = dns.wire.Parser(raw, pos)
            with parser.restrict_to(rdlen):
                tsig = dns.rdata.from_wire_parser(dns.rdataclass.ANY, dns.rdatatype.TSIG, parser)
        pos += rdlen
    return start, rtype, tsig


def reply_tsig(raw: bytes) -> dns.rdata.Rdata:
    _, _, tsig = last_rr(raw)
    assert tsig is not None, "the reply carries no TSIG RR (or it is not the last RR)"
    return tsig


def reply_mac_is_valid(raw: bytes, request_mac: bytes, key: dns.tsig.Key) -> bool:
    """RFC 8945 §5.3 (§5.3.2 for a signed error): the reply's MAC (hmac-sha256 here) covers
    the request MAC with its length, the reply as it was before the TSIG RR was added
    (original ID, ARCOUNT less one), and the reply's TSIG variables (§4.3.3)."""
    start, _, rd = last_rr(raw)
    assert rd is not None, "the reply carries no TSIG RR"
    (ar,) = struct.unpack_from("!H", raw, 10)
    unsigned = struct.pack("!H", rd.original_id) + raw[2:10] + struct.pack("!H", ar - 1)
    unsigned += raw[12:start]
    variables = (
        dns.name.from_text(key.name.to_text()).to_digestable()
        + struct.pack("!HI", dns.rdataclass.ANY, 0)
        + rd.algorithm.to_digestable()
        + struct.pack(
            "!HIHHH",
            rd.time_signed >> 32,
            rd.time_signed & 0xFFFFFFFF,
            rd.fudge,
            rd.error,
            len(rd.other),
        )  # fmt: skip
        + rd.other
    )
    body = struct.pack("!H", len(request_mac)) + request_mac + unsigned + variables
    want = hmac.new(key.secret, body, hashlib.sha256).digest()
    return len(rd.mac) > 0 and hmac.compare_digest(want[: len(rd.mac)], rd.mac)
