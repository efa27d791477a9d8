"""Turning lookup results into response messages: flags, RCODE, EDNS (RFC 6891) and truncation."""

from __future__ import annotations

import struct

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rcode
import pytest

from leasedns.query import respond
from leasedns.query.lookup import Kind, LookupResult, RRset
from leasedns.query.respond import (
    Request,
    render_error,
    render_header_error,
    render_result,
    udp_limit,
)
from leasedns.wire import names
from leasedns.wire.names import from_text

A, NS, SOA, TXT = 1, 2, 6, 16
QNAME = from_text("www.lab.test.")
QUESTION = b"\x03wWw\x03lab\x04test\x00\x00\x01\x00\x01"
SOA_RD = (
    names.to_wire(from_text("ns1.lab.test."))
    + names.to_wire(from_text("hostmaster.lab.test."))
    + struct.pack(">IIIII", 10, 3600, 600, 86400, 300)
)


def request(
    edns: tuple[int, int, bool] | None = None, flags: int = 0x0100, opcode: int = 0
) -> Request:
    return Request(0xBEEF, flags, opcode, QNAME, A, 1, QUESTION, edns)


def addresses(count: int, owner: str = "www.lab.test.") -> RRset:
    rdatas = tuple(bytes([10, 0, i // 256, i % 256]) for i in range(count))
    return (from_text(owner), A, 300, rdatas)


def parse(wire: bytes) -> dns.message.Message:
    return dns.message.from_wire(wire)


def counts(wire: bytes) -> tuple[int, int, int, int]:
    return struct.unpack(">HHHH", wire[4:12])


@pytest.mark.parametrize(
    ("edns", "max_udp", "limit"),
    [
        (None, 1232, 512),  # RFC 1035 §4.2.1 without EDNS
        ((4096, 0, False), 1232, 1232),  # ours is smaller
        ((1000, 0, False), 1232, 1000),  # theirs is smaller
        ((100, 0, False), 1232, 512),  # never below 512 (RFC 6891 §6.2.5)
        ((65535, 0, False), 4096, 4096),
    ],
)
def test_udp_limit(edns: tuple[int, int, bool] | None, max_udp: int, limit: int) -> None:
    assert udp_limit(request(edns), max_udp) == limit


def test_answer_flags_and_question_echo() -> None:
    res = LookupResult(Kind.ANSWER, answer=[addresses(2)])
    wire = render_result(request(flags=0x0110), res, tcp=False, max_udp=1232)
    assert wire[:2] == b"\xbe\xef"
    flags = struct.unpack(">H", wire[2:4])[0]
    # QR, AA; RD and CD copied from the query (RFC 1035 §4.1.1, RFC 4035 §3.1.6); no RA.
    assert flags == respond.QR | respond.AA | respond.RD | respond.CD
    assert wire[12 : 12 + len(QUESTION)] == QUESTION
    assert counts(wire) == (1, 2, 0, 0)
    msg = parse(wire)
    assert msg.answer[0].name == dns.name.from_text("wWw.lab.test.")


@pytest.mark.parametrize(
    ("kind", "rcode", "aa"),
    [
        (Kind.ANSWER, dns.rcode.NOERROR, True),
        (Kind.NODATA, dns.rcode.NOERROR, True),
        (Kind.NXDOMAIN, dns.rcode.NXDOMAIN, True),
        (Kind.YXDOMAIN, dns.rcode.YXDOMAIN, True),
        (Kind.REFUSED, dns.rcode.REFUSED, False),
    ],
)
def test_rcode_and_aa_per_kind(kind: Kind, rcode: int, aa: bool) -> None:
    res = LookupResult(kind, authoritative=kind != Kind.REFUSED)
    msg = parse(render_result(request(), res, tcp=False, max_udp=1232))
    assert msg.rcode() == rcode
    assert bool(msg.flags & dns.flags.AA) == aa
    assert msg.flags & dns.flags.QR


def test_referral_is_not_authoritative() -> None:
    ns = (from_text("sub.lab.test."), NS, 3600, (names.to_wire(from_text("ns.sub.lab.test.")),))
    glue = (from_text("ns.sub.lab.test."), A, 3600, (b"\xc0\x00\x02\x35",))
    res = LookupResult(
        Kind.REFERRAL, authority=[ns], additional=[glue], authoritative=False, glue_required=True
    )
    msg = parse(render_result(request(), res, tcp=False, max_udp=1232))
    assert msg.rcode() == dns.rcode.NOERROR
    assert not msg.flags & dns.flags.AA
    assert [r.rdtype for r in msg.authority] == [NS]
    assert [r.rdtype for r in msg.additional] == [A]


def test_negative_answer_carries_soa() -> None:
    soa = (from_text("lab.test."), SOA, 300, (SOA_RD,))
    res = LookupResult(Kind.NXDOMAIN, authority=[soa])
    wire = render_result(request(), res, tcp=False, max_udp=1232)
    msg = parse(wire)
    assert msg.rcode() == dns.rcode.NXDOMAIN
    assert msg.authority[0].ttl == 300
    assert msg.authority[0][0].minimum == 300
    # Owner and both rdata names point into the question's lab.test. (offset 16).
    assert wire[12 + len(QUESTION) : 12 + len(QUESTION) + 2] == b"\xc0\x10"


def test_no_edns_no_opt() -> None:
    res = LookupResult(Kind.ANSWER, answer=[addresses(1)])
    msg = parse(render_result(request(), res, tcp=False, max_udp=1232))
    assert msg.edns < 0


@pytest.mark.parametrize("do", [False, True])
def test_opt_echoed_with_our_payload(do: bool) -> None:
    res = LookupResult(Kind.ANSWER, answer=[addresses(1)])
    wire = render_result(request((4096, 0, do)), res, tcp=False, max_udp=1232)
    msg = parse(wire)
    assert msg.edns == 0
    assert msg.payload == 1232
    assert bool(msg.ednsflags & dns.flags.DO) == do
    assert counts(wire)[3] == 1


def test_truncation_without_edns_stays_within_512() -> None:
    # 40 A records: 12 + 18 + 40 * 16 = 670 bytes, over 512.
    res = LookupResult(Kind.ANSWER, answer=[addresses(40)])
    wire = render_result(request(), res, tcp=False, max_udp=1232)
    assert len(wire) <= 512
    assert wire[2] & 0x02  # TC
    assert counts(wire)[1] in (0, 40)  # whole RRsets only (RFC 2181 §9)
    msg = parse(wire)
    assert msg.flags & dns.flags.TC


def test_same_answer_fits_with_edns_or_tcp() -> None:
    res = LookupResult(Kind.ANSWER, answer=[addresses(40)])
    wire = render_result(request((1232, 0, False)), res, tcp=False, max_udp=1232)
    assert not wire[2] & 0x02
    assert counts(wire) == (1, 40, 0, 1)
    wire = render_result(request(), res, tcp=True, max_udp=1232)
    assert not wire[2] & 0x02
    assert counts(wire) == (1, 40, 0, 0)


def test_truncation_drops_whole_rrsets_and_keeps_opt() -> None:
    first = addresses(20, "www.lab.test.")
    second = (from_text("www.lab.test."), TXT, 300, (b"\xff" + b"t" * 255,) * 3)
    res = LookupResult(Kind.ANSWER, answer=[first, second])
    wire = render_result(request((512, 0, True)), res, tcp=False, max_udp=1232)
    assert len(wire) <= 512
    assert wire[2] & 0x02
    an = counts(wire)[1]
    assert an in (0, 20)  # never a part of an RRset
    msg = parse(wire)
    assert msg.edns == 0  # RFC 6891 §7: the OPT survives truncation
    assert msg.ednsflags & dns.flags.DO
    for rrset in msg.answer:
        assert len(rrset) in (20, 3)


def test_additional_that_does_not_fit_is_dropped_without_tc() -> None:
    extra = (from_text("mail.lab.test."), TXT, 300, (b"\xff" + b"t" * 255,) * 2)
    res = LookupResult(Kind.ANSWER, answer=[addresses(1)], additional=[extra])
    wire = render_result(request(), res, tcp=False, max_udp=1232)
    assert not wire[2] & 0x02
    assert counts(wire) == (1, 1, 0, 0)


def test_glue_that_does_not_fit_sets_tc() -> None:
    # RFC 9471: a referral whose glue does not fit is truncated.
    ns = (from_text("sub.lab.test."), NS, 3600, (names.to_wire(from_text("ns.sub.lab.test.")),))
    glue = (from_text("ns.sub.lab.test."), A, 3600, tuple(bytes([192, 0, 2, i]) for i in range(40)))
    res = LookupResult(
        Kind.REFERRAL, authority=[ns], additional=[glue], authoritative=False, glue_required=True
    )
    wire = render_result(request(), res, tcp=False, max_udp=1232)
    assert len(wire) <= 512
    assert wire[2] & 0x02
    assert counts(wire)[2] == 1


def test_render_error_echoes_question() -> None:
    wire = render_error(request(flags=0x0100, opcode=0), respond.REFUSED, 1232)
    assert wire[:2] == b"\xbe\xef"
    assert struct.unpack(">H", wire[2:4])[0] == respond.QR | respond.RD | respond.REFUSED
    assert counts(wire) == (1, 0, 0, 0)
    assert wire[12:] == QUESTION


def test_badvers_uses_the_extended_rcode() -> None:
    # RFC 6891 §6.1.3: BADVERS (16) is upper bits 1 in the OPT TTL and 0 in the header.
    wire = render_error(request((4096, 1, True)), respond.BADVERS, 1232)
    assert wire[3] & 0x0F == 0
    msg = parse(wire)
    assert msg.rcode() == dns.rcode.BADVERS
    assert msg.edns == 0  # the version we do speak
    assert msg.payload == 1232
    assert counts(wire) == (1, 0, 0, 1)


def test_header_error_for_unparsable_message() -> None:
    query = b"\x12\x34\x29\x00\x00\x01\x00\x00\x00\x00\x00\x00\xff"  # opcode 5, RD
    wire = render_header_error(query, respond.FORMERR)
    assert wire is not None
    assert wire[:2] == b"\x12\x34"
    assert struct.unpack(">H", wire[2:4])[0] == respond.QR | (5 << 11) | respond.RD | 1
    assert wire[4:] == bytes(8)
    assert render_header_error(b"\x00" * 11, respond.FORMERR) is None
