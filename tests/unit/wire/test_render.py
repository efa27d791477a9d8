"""Response rendering: compression against the question (RFC 1035 §4.1.4), whole-RRset adds, OPT."""

from __future__ import annotations

import struct

import dns.message
import dns.name
import dns.rdatatype
import pytest

from leasedns.wire import names
from leasedns.wire.names import from_text
from leasedns.wire.render import Renderer, opt_rr

A, NS, CNAME, SOA, MX, TXT, SRV = 1, 2, 5, 6, 15, 16, 33
QNAME = from_text("www.lab.test.")
# The question as a client sent it, in mixed case (0x20): www.lab.test. A IN.
QUESTION = b"\x03WwW\x03LaB\x04tEsT\x00\x00\x01\x00\x01"
V4 = b"\xc0\x00\x02\x01"


def renderer(limit: int = 65535) -> Renderer:
    return Renderer(0x1234, 0x8400, QUESTION, QNAME, limit)


def wire_name(text: str) -> bytes:
    return names.to_wire(from_text(text))


def parse(wire: bytes) -> dns.message.Message:
    return dns.message.from_wire(wire)


def test_header_and_question_only() -> None:
    wire = renderer().finish()
    assert wire == struct.pack(">HHHHHH", 0x1234, 0x8400, 1, 0, 0, 0) + QUESTION


def test_no_question() -> None:
    wire = Renderer(7, 0x8001, b"", (), 512).finish()
    assert wire == struct.pack(">HHHHHH", 7, 0x8001, 0, 0, 0, 0)


def test_owner_equal_to_qname_points_at_the_question() -> None:
    r = renderer()
    assert r.add(1, (QNAME, A, 300, (V4,)))
    wire = r.finish()
    rr = wire[12 + len(QUESTION) :]
    assert rr == b"\xc0\x0c" + struct.pack(">HHIH", A, 1, 300, 4) + V4
    msg = parse(wire)
    # The answer's owner is the question's bytes, so the client's letter case comes back.
    assert msg.answer[0].name == dns.name.from_text("WwW.LaB.tEsT.")
    assert str(msg.answer[0].name) == "WwW.LaB.tEsT."


def test_suffix_of_qname_points_into_the_question() -> None:
    r = renderer()
    assert r.add(1, (from_text("mail.lab.test."), A, 60, (V4,)))
    rr = r.finish()[12 + len(QUESTION) :]
    assert rr[:7] == b"\x04mail\xc0\x10"  # lab.test. starts at offset 16 in the question
    r = renderer()
    assert r.add(1, (from_text("lab.test."), A, 60, (V4,)))
    assert r.finish()[12 + len(QUESTION) :][:2] == b"\xc0\x10"


def test_rdata_names_compressed_for_rfc1035_types() -> None:
    r = renderer()
    mail = from_text("mail.lab.test.")
    assert r.add(1, (QNAME, CNAME, 60, (wire_name("mail.lab.test."),)))
    assert r.add(2, (from_text("lab.test."), MX, 60, (b"\x00\x0a" + wire_name("mail.lab.test."),)))
    assert r.add(3, (mail, A, 60, (V4,)))
    wire = r.finish()
    body = wire[12 + len(QUESTION) :]
    # CNAME rdata: written in full, not pointing into the question (whose case it would take).
    cname_rdata = body[12:]
    assert cname_rdata[:15] == b"\x04mail\x03lab\x04test\x00"
    mail_offset = 12 + len(QUESTION) + 12
    # MX: the owner lab.test. points at the question; the rdata at the "mail" name above.
    mx = body[12 + 15 :]
    assert mx[:2] == b"\xc0\x10"
    assert struct.unpack(">H", mx[10:12])[0] == 4  # RDLENGTH counts the compressed form
    assert mx[12:16] == b"\x00\x0a" + struct.pack(">H", 0xC000 | mail_offset)
    # The A record's owner is the same name again.
    a_rr = mx[16:]
    assert a_rr[:2] == struct.pack(">H", 0xC000 | mail_offset)
    msg = parse(wire)
    # Owners take the question's case (0x20); RDATA keeps the zone's, as BIND and Knot send it.
    assert [rrset.to_text() for rrset in msg.answer] == ["WwW.LaB.tEsT. 60 IN CNAME mail.lab.test."]
    assert msg.authority[0].to_text() == "LaB.tEsT. 60 IN MX 10 mail.lab.test."


def test_rdata_names_keep_their_stored_case() -> None:
    """RFC 5936 §3.4 (and what BIND and Knot send): "WwW" in a CNAME's RDATA stays "WwW";
    another RDATA name may point at it only where the case is the same."""
    r = renderer()
    mixed = b"\x03WwW\x03lab\x04test\x00"
    assert r.add(1, (from_text("alias.lab.test."), CNAME, 60, (mixed,)))
    assert r.add(1, (from_text("alias2.lab.test."), CNAME, 60, (b"\x03www\x03lab\x04test\x00",)))
    assert r.add(1, (from_text("alias3.lab.test."), CNAME, 60, (mixed,)))
    soa = b"\x03NS1\x03lab\x04test\x00" + b"\x0aHostMaster\x03lab\x04test\x00" + bytes(20)
    assert r.add(2, (from_text("lab.test."), SOA, 60, (soa,)))
    msg = parse(r.finish())
    assert [rr.target.to_text() for rrset in msg.answer for rr in rrset] == [
        "WwW.lab.test.", "www.lab.test.", "WwW.lab.test."
    ]  # fmt: skip
    assert (msg.authority[0][0].mname.to_text(), msg.authority[0][0].rname.to_text()) == (
        "NS1.lab.test.", "HostMaster.lab.test."
    )  # fmt: skip


def test_soa_names_compressed() -> None:
    r = renderer()
    rdata = wire_name("ns1.lab.test.") + wire_name("hostmaster.lab.test.") + bytes(20)
    assert r.add(2, (from_text("lab.test."), SOA, 300, (rdata,)))
    wire = r.finish()
    start = 12 + len(QUESTION) + 2 + 10
    soa = wire[start:]
    assert soa[:14] == b"\x03ns1\x03lab\x04test\x00"  # not into the question
    assert soa[14:27] == b"\x0ahostmaster" + struct.pack(">H", 0xC000 | (start + 4))
    assert soa[27:] == bytes(20)
    assert struct.unpack(">H", wire[12 + len(QUESTION) + 10 : 12 + len(QUESTION) + 12])[0] == 47
    msg = parse(wire)
    assert msg.authority[0][0].mname == dns.name.from_text("ns1.lab.test.")
    assert msg.authority[0].name.to_text() == "LaB.tEsT."


def test_srv_and_txt_rdata_left_as_is() -> None:
    # RFC 2782: SRV targets are not compressed; RFC 3597 §4: only RFC 1035 types may be.
    srv = b"\x00\x00\x00\x05\x13\xc4" + wire_name("www.lab.test.")
    txt = b"\x0dwww.lab.test."
    r = renderer()
    assert r.add(1, (QNAME, SRV, 60, (srv,)))
    assert r.add(1, (QNAME, TXT, 60, (txt,)))
    wire = r.finish()
    assert srv in wire and txt in wire
    msg = parse(wire)
    assert msg.answer[0][0].target == dns.name.from_text("www.lab.test.")


def test_add_refuses_an_rrset_that_does_not_fit_and_leaves_the_message_unchanged() -> None:
    r = renderer(limit=100)
    assert r.add(1, (QNAME, A, 60, (V4,)))
    before = r.finish()
    big = from_text("big.lab.test.")
    assert not r.add(1, (big, TXT, 60, (b"\x40" + b"x" * 64,)))
    assert r.finish() == before
    # The refused RRset's names are forgotten: a later "big" is written out, not pointed at
    # bytes that were taken back.
    assert r.add(1, (big, A, 60, (V4,)))
    wire = r.finish()
    assert wire[len(before) : len(before) + 6] == b"\x03big\xc0\x10"
    assert len(parse(wire).answer) == 2


def test_add_counts_rrs_not_rrsets() -> None:
    r = renderer()
    assert r.add(1, (QNAME, A, 60, (V4, b"\xc0\x00\x02\x02", b"\xc0\x00\x02\x03")))
    assert r.add(3, (from_text("x.lab.test."), A, 60, (V4,)))
    assert struct.unpack(">HHHH", r.finish()[4:12]) == (1, 3, 0, 1)


def test_add_reserve_keeps_room() -> None:
    r = renderer()
    base = len(r.finish())
    rr_len = 2 + 10 + 4
    r = Renderer(1, 0, QUESTION, QNAME, base + rr_len + 10)
    assert not r.add(1, (QNAME, A, 60, (V4,)), reserve=11)
    assert r.add(1, (QNAME, A, 60, (V4,)), reserve=10)


def test_pointers_stay_below_0x4000() -> None:
    r = renderer()
    filler = tuple(b"\xff" + bytes([i]) * 255 for i in range(70))  # ~18 KB of TXT
    assert r.add(1, (QNAME, TXT, 60, filler))
    late = from_text("late.name.test.")
    assert r.add(1, (late, A, 60, (V4,)))
    assert r.add(2, (late, A, 60, (V4,)))
    wire = r.finish()
    assert len(wire) > 0x4000
    msg = parse(wire)
    assert msg.answer[-1].name == dns.name.from_text("late.name.test.")
    assert msg.authority[0].name == dns.name.from_text("late.name.test.")
    # Offsets past 0x3FFF cannot be pointed at, so "late.name" appears in full twice.
    assert wire.count(b"\x04late\x04name") == 2


def test_add_raw_and_set_flags() -> None:
    r = renderer()
    r.add_raw(3, opt_rr(1232))
    r.set_flags(0x8383)
    wire = r.finish()
    assert wire[2:4] == b"\x83\x83"
    assert struct.unpack(">HHHH", wire[4:12]) == (1, 0, 0, 1)
    assert wire.endswith(opt_rr(1232))


@pytest.mark.parametrize(
    ("args", "ttl"),
    [
        ({"payload": 1232}, 0),
        ({"payload": 4096, "do": True}, 0x8000),
        ({"payload": 512, "ext_rcode": 1}, 0x01000000),  # BADVERS is 16 = ext 1, low 0
        ({"payload": 512, "version": 1}, 0x00010000),
    ],
)
def test_opt_rr_layout(args: dict[str, int], ttl: int) -> None:
    # RFC 6891 §6.1.2: root owner, type 41, CLASS = payload, TTL = ext-rcode|version|DO|Z.
    rr = opt_rr(**args)  # type: ignore[arg-type]
    assert rr == b"\x00" + struct.pack(">HHIH", 41, args["payload"], ttl, 0)
    assert dns.rdatatype.OPT == 41
