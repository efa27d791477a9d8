"""Bytes in, reply out: cheap rejections, FORMERR/NOTIMP/REFUSED/BADVERS, then the query path."""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from typing import Any

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.tsig
import pytest

from leasedns.keys import Keyring, TsigKey
from leasedns.query import respond
from leasedns.query.lookup import Kind
from leasedns.query.zoneindex import ZoneIndex
from leasedns.server.dispatch import Dispatcher, FormErr, parse_request
from leasedns.store.zonestore import Store
from leasedns.wire.names import from_text

LAB = from_text("lab.test.")
WWW = b"\x03www\x03lab\x04test\x00"
ZONE = """\
$ORIGIN lab.test.
$TTL 3600
@ SOA ns1 hostmaster 1 3600 600 86400 300
  NS ns1
ns1 A 192.0.2.1
www A 192.0.2.80
"""


@pytest.fixture
def served(store: Store, load_zone: Callable[..., Any]) -> tuple[Dispatcher, Store]:
    load_zone(store, ZONE)
    return Dispatcher(ZoneIndex([LAB]), max_udp=1232), store


def raw(
    qid: int = 0x4242,
    flags: int = 0x0100,
    counts: tuple[int, int, int, int] = (1, 0, 0, 0),
    body: bytes = WWW + b"\x00\x01\x00\x01",
) -> bytes:
    return struct.pack(">HH4H", qid, flags, *counts) + body


def opt(payload: int = 1232, version: int = 0, do: bool = False, owner: bytes = b"\x00") -> bytes:
    ttl = (version << 16) | (0x8000 if do else 0)
    return owner + struct.pack(">HHIH", 41, payload, ttl, 0)


def rcode_of(wire: bytes) -> int:
    return dns.message.from_wire(wire).rcode()


def handle(served: tuple[Dispatcher, Store], data: bytes, tcp: bool = False) -> bytes | None:
    dispatcher, store = served
    return dispatcher.handle(data, store, ("192.0.2.9", 5353), tcp).wire


# -- dropped ------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"\x00" * 11, raw()[:11]])
def test_short_packet_dropped(served: tuple[Dispatcher, Store], data: bytes) -> None:
    dispatcher, _ = served
    assert handle(served, data) is None
    assert dispatcher.counters.dropped == 1


def test_response_dropped(served: tuple[Dispatcher, Store]) -> None:
    # RFC 1035 §7.3: never answer a response (avoids reflection loops).
    dispatcher, _ = served
    assert handle(served, raw(flags=0x8100)) is None
    assert handle(served, raw(flags=0x8000 | (4 << 11))) is None
    assert dispatcher.counters.dropped == 2


# -- NOTIMP -----------------------------------------------------------------------------------


@pytest.mark.parametrize("opcode", [1, 2, 3, 6, 15])
def test_unknown_opcode_notimp(served: tuple[Dispatcher, Store], opcode: int) -> None:
    wire = handle(served, raw(flags=(opcode << 11) | 0x0100))
    assert wire is not None
    assert wire[:2] == b"\x42\x42"
    flags = struct.unpack(">H", wire[2:4])[0]
    assert flags & 0x8000
    assert (flags >> 11) & 0xF == opcode
    assert flags & 0xF == respond.NOTIMP


def test_update_without_engine_is_notimp(served: tuple[Dispatcher, Store]) -> None:
    wire = handle(served, raw(flags=5 << 11))
    assert wire is not None and wire[3] & 0xF == respond.NOTIMP


def test_notify_without_handler_is_notimp(served: tuple[Dispatcher, Store]) -> None:
    wire = handle(served, raw(flags=(4 << 11) | 0x0400, body=WWW + b"\x00\x06\x00\x01"))
    assert wire is not None and rcode_of(wire) == dns.rcode.NOTIMP


@pytest.mark.parametrize("qtype", [253, 254])  # MAILB, MAILA (RFC 1035 §3.2.3)
def test_meta_qtypes_notimp(served: tuple[Dispatcher, Store], qtype: int) -> None:
    wire = handle(served, raw(body=WWW + struct.pack(">HH", qtype, 1)))
    assert wire is not None and rcode_of(wire) == dns.rcode.NOTIMP


def test_transfer_without_handler_is_notimp(served: tuple[Dispatcher, Store]) -> None:
    wire = handle(served, raw(body=WWW + struct.pack(">HH", 252, 1)), tcp=True)
    assert wire is not None and rcode_of(wire) == dns.rcode.NOTIMP


# -- FORMERR ----------------------------------------------------------------------------------


Q = WWW + b"\x00\x01\x00\x01"


@pytest.mark.parametrize(
    "data, echoed",
    [
        (raw(counts=(0, 0, 0, 0), body=b""), False),  # no question
        (raw(counts=(2, 0, 0, 0), body=Q * 2), False),  # QDCOUNT 2
        (raw(counts=(2, 0, 0, 0)), False),  # QDCOUNT 2 with one question present
        (raw(body=WWW + b"\x00\x01"), False),  # question cut short
        (raw(body=b"\x03www\x03lab"), False),  # name runs past the end
        (raw(body=b"\x03www\xc0\x0c\x00\x01\x00\x01"), False),  # compressed QNAME
        (raw(counts=(1, 0, 0, 1)), True),  # ARCOUNT 1 but no record
        (raw(counts=(1, 0, 0, 2), body=Q + opt() + opt()), True),  # two OPTs
        (raw(counts=(1, 0, 0, 1), body=Q + opt(owner=b"\x01x\x00")), True),  # OPT not at root
    ],
)
def test_formerr(served: tuple[Dispatcher, Store], data: bytes, echoed: bool) -> None:
    """A readable question is echoed (QDCOUNT 1), as BIND and Knot do; else header only."""
    dispatcher, _ = served
    wire = handle(served, data)
    assert wire is not None
    assert wire[:2] == b"\x42\x42"
    assert wire[2] & 0x80
    assert wire[3] & 0xF == respond.FORMERR
    assert wire[4:] == (b"\x00\x01" + b"\x00" * 6 + Q if echoed else b"\x00" * 8)
    assert dispatcher.counters.malformed == 1


def test_records_in_answer_section_of_a_query_are_ignored(
    served: tuple[Dispatcher, Store],
) -> None:
    # As BIND and Knot: RFC 1035 §4.1 puts no condition on them (tests/integration/test_vs_knot).
    a_rr = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + b"\xc0\x00\x02\x01"
    wire = handle(served, raw(counts=(1, 1, 0, 0), body=WWW + b"\x00\x01\x00\x01" + a_rr))
    assert wire is not None and wire[3] & 0xF == respond.NOERROR
    assert dns.message.from_wire(wire).answer  # answered as if the record were not there


def test_qtype_opt_is_formerr(served: tuple[Dispatcher, Store]) -> None:
    # RFC 6891 §6.1.1: OPT is a pseudo-RR and cannot be asked for.
    wire = handle(served, raw(body=WWW + struct.pack(">HH", 41, 1)))
    assert wire is not None
    assert rcode_of(wire) == dns.rcode.FORMERR
    assert wire[12:] == WWW + struct.pack(">HH", 41, 1)  # the question is echoed


def test_tsig_not_last_is_formerr(served: tuple[Dispatcher, Store]) -> None:
    # Algorithm name (13) + time (6) + fudge, MAC size (empty MAC), original ID, error, other length.
    rdata = b"\x0bhmac-sha256\x00" + bytes(6) + struct.pack(">HHHHH", 300, 0, 0x4242, 0, 0)
    tsig = b"\x03key\x00" + struct.pack(">HHIH", 250, 255, 0, len(rdata)) + rdata
    last = WWW + b"\x00\x01\x00\x01" + opt() + tsig
    req, _ = parse_request(raw(counts=(1, 0, 0, 2), body=last))  # TSIG last: accepted
    assert req.edns == (1232, 0, False)
    body = WWW + b"\x00\x01\x00\x01" + tsig + opt()
    wire = handle(served, raw(counts=(1, 0, 0, 2), body=body))
    assert wire is not None and wire[3] & 0xF == respond.FORMERR


def test_parse_request_takes_the_question_as_sent() -> None:
    data = raw(
        counts=(1, 0, 0, 1), body=b"\x03WwW\x03lab\x04test\x00\x00\x1c\x00\x01" + opt(4096, do=True)
    )
    req, _ = parse_request(data)
    assert req.id == 0x4242
    assert req.qname == (b"www", b"lab", b"test")
    assert req.qtype == 28 and req.qclass == 1
    assert req.question == b"\x03WwW\x03lab\x04test\x00\x00\x1c\x00\x01"
    assert req.edns == (4096, 0, True)
    with pytest.raises(FormErr):
        parse_request(raw(counts=(2, 0, 0, 0)))


# -- REFUSED, BADVERS and answers ------------------------------------------------------------------


@pytest.mark.parametrize("qclass", [3, 4])  # CH, HS: not served
def test_other_classes_refused(served: tuple[Dispatcher, Store], qclass: int) -> None:
    wire = handle(served, raw(body=WWW + struct.pack(">HH", 16, qclass)))
    assert wire is not None
    msg = dns.message.from_wire(wire)
    assert msg.rcode() == dns.rcode.REFUSED
    assert msg.question[0].rdclass == qclass
    assert not msg.answer


def test_badvers(served: tuple[Dispatcher, Store]) -> None:
    dispatcher, _ = served
    data = raw(counts=(1, 0, 0, 1), body=WWW + b"\x00\x01\x00\x01" + opt(4096, version=1))
    wire = handle(served, data)
    assert wire is not None
    msg = dns.message.from_wire(wire)
    assert msg.rcode() == dns.rcode.BADVERS
    assert msg.edns == 0
    assert not msg.answer
    assert dispatcher.counters.queries == {(1, 16): 1}


def test_answer(served: tuple[Dispatcher, Store]) -> None:
    dispatcher, _ = served
    q = dns.message.make_query("WWW.lab.test.", "A", use_edns=0, payload=4096)
    reply = dispatcher.handle(q.to_wire(), served[1], None, False)
    assert reply.wire is not None and reply.result is not None
    assert reply.result.kind == Kind.ANSWER
    msg = dns.message.from_wire(reply.wire)
    assert msg.id == q.id
    assert msg.rcode() == dns.rcode.NOERROR
    assert msg.answer[0].to_text() == "WWW.lab.test. 3600 IN A 192.0.2.80"
    assert msg.payload == 1232
    assert dispatcher.counters.queries == {(1, 0): 1}


def test_refused_outside_zones(served: tuple[Dispatcher, Store]) -> None:
    q = dns.message.make_query("www.example.", "A")
    wire = handle(served, q.to_wire())
    assert wire is not None
    assert rcode_of(wire) == dns.rcode.REFUSED


def test_truncation_counted(store: Store, load_zone: Callable[..., Any]) -> None:
    lines = [f"big A 10.0.{i // 256}.{i % 256}" for i in range(60)]
    load_zone(store, ZONE + "\n".join(lines) + "\n")
    dispatcher = Dispatcher(ZoneIndex([LAB]))
    q = dns.message.make_query("big.lab.test.", "A", use_edns=False)
    reply = dispatcher.handle(q.to_wire(), store, None, False)
    assert reply.wire is not None and reply.wire[2] & 0x02
    assert len(reply.wire) <= 512
    assert dispatcher.counters.truncated == 1
    reply = dispatcher.handle(q.to_wire(), store, None, True)
    assert reply.wire is not None and not reply.wire[2] & 0x02
    assert len(dns.message.from_wire(reply.wire).answer[0]) == 60


def test_handlers_plug_in(served: tuple[Dispatcher, Store]) -> None:
    dispatcher, store = served
    seen: list[Any] = []
    dispatcher.update_handler = lambda data, addr, send: seen.append(("update", addr))
    update = raw(flags=5 << 11, body=b"\x03lab\x04test\x00\x00\x06\x00\x01")
    reply = dispatcher.handle(update, store, "peer", False, send=lambda wire: None)
    assert reply.wire is None
    assert seen == [("update", "peer")]
    # Without a way to answer later, an UPDATE gets NOTIMP at once.
    reply = dispatcher.handle(update, store, "peer", False)
    assert reply.wire is not None and reply.wire[3] & 0xF == respond.NOTIMP
    assert dns.rdatatype.SOA == 6 and dns.rdataclass.IN == 1


# -- signed queries (RFC 8945 §5.2, §5.3) ---------------------------------------------------

SECRET = b"query-signing-secret-for-tests!!"


def keyed(served: tuple[Dispatcher, Store]) -> tuple[Dispatcher, Store]:
    dispatcher, store = served
    dispatcher.keyring = lambda: Keyring([TsigKey(from_text("q-key."), "hmac-sha256", SECRET)])
    dispatcher.clock = time.time  # dnspython signs with the real clock
    return dispatcher, store


def signed_query(
    qname: str = "www.lab.test.", rdclass: str = "IN", key: str = "q-key.", secret: bytes = SECRET
) -> tuple[dns.message.Message, bytes]:
    q = dns.message.make_query(qname, "A", rdclass, use_edns=0)
    q.use_tsig(dns.tsig.Key(key, secret, "hmac-sha256"), fudge=300)
    wire = q.to_wire()
    return q, wire


def test_signed_query_gets_a_signed_answer(served: tuple[Dispatcher, Store]) -> None:
    dispatcher, store = keyed(served)
    q, wire = signed_query()
    reply = dispatcher.handle(wire, store, ("192.0.2.9", 5353), False)
    assert reply.result is None  # a signed answer is never cached
    assert reply.wire is not None
    keyring = {dns.name.from_text("q-key."): dns.tsig.Key("q-key.", SECRET, "hmac-sha256")}
    answer = dns.message.from_wire(reply.wire, keyring=keyring, request_mac=q.mac)
    assert answer.had_tsig and answer.rcode() == dns.rcode.NOERROR
    assert [rd.to_text() for rrset in answer.answer for rd in rrset] == ["192.0.2.80"]


@pytest.mark.parametrize(
    "key, secret, error",
    [("other-key.", SECRET, dns.rcode.BADKEY), ("q-key.", b"wrong" * 6, dns.rcode.BADSIG)],
    ids=["unknown-key", "wrong-secret"],
)
def test_badly_signed_query_is_notauth(
    served: tuple[Dispatcher, Store], key: str, secret: bytes, error: int
) -> None:
    dispatcher, store = keyed(served)
    _, wire = signed_query(key=key, secret=secret)
    out = dispatcher.handle(wire, store, ("192.0.2.9", 5353), False).wire
    assert out is not None and out[3] & 0xF == dns.rcode.NOTAUTH
    answer = dns.message.from_wire(out, keyring=False)
    assert answer.tsig_error == error and not answer.answer


def test_signed_query_refused_is_signed_too(served: tuple[Dispatcher, Store]) -> None:
    dispatcher, store = keyed(served)
    q, wire = signed_query(rdclass="CH")
    out = dispatcher.handle(wire, store, ("192.0.2.9", 5353), False).wire
    keyring = {dns.name.from_text("q-key."): dns.tsig.Key("q-key.", SECRET, "hmac-sha256")}
    answer = dns.message.from_wire(out or b"", keyring=keyring, request_mac=q.mac)
    assert answer.had_tsig and answer.rcode() == dns.rcode.REFUSED


# -- EDNS in replies to what we do not parse (RFC 6891 §6.1.1, §6.1.3) -------------------------


def test_notimp_to_an_edns_request_carries_an_opt(served: tuple[Dispatcher, Store]) -> None:
    wire = handle(served, raw(flags=2 << 11, counts=(1, 0, 0, 1), body=Q + opt(do=True)))
    assert wire is not None and wire[3] & 0xF == respond.NOTIMP
    assert wire[4:12] == b"\x00\x00\x00\x00\x00\x00\x00\x01"  # no question, one OPT
    assert wire[12:] == opt(payload=1232, do=True)


@pytest.mark.parametrize(
    "flags, counts, body",
    [(0x0100, (0, 0, 0, 1), b""), (2 << 11, (1, 0, 0, 1), Q)],
    ids=["no-question", "opcode-status"],
)
def test_unknown_edns_version_is_badvers_before_anything_else(
    served: tuple[Dispatcher, Store], flags: int, counts: tuple[int, int, int, int], body: bytes
) -> None:
    dispatcher, _ = served
    wire = handle(served, raw(flags=flags, counts=counts, body=body + opt(version=1)))
    assert wire is not None
    reply = dns.message.from_wire(wire, question_only=False)
    assert reply.rcode() == dns.rcode.BADVERS and reply.edns == 0
    assert dispatcher.counters.queries == {(0, respond.BADVERS): 1}


# -- the server's identity in class CH (RFC 4892) ------------------------------------------


def chaos_query(qname: str, qtype: str = "TXT") -> bytes:
    return dns.message.make_query(qname, qtype, "CH").to_wire()


def test_version_bind_is_answered_in_class_ch(served: tuple[Dispatcher, Store]) -> None:
    dispatcher, store = served
    dispatcher.identity = {from_text("version.bind."): "leasedns 9.9"}
    out = handle(served, chaos_query("VERSION.bind."))
    assert out is not None
    reply = dns.message.from_wire(out)
    assert reply.rcode() == dns.rcode.NOERROR and reply.flags & dns.flags.AA
    [rrset] = reply.answer
    assert rrset.rdclass == dns.rdataclass.CH and rrset.ttl == 0
    assert [rd.to_text() for rd in rrset] == ['"leasedns 9.9"']
    assert rrset.name == dns.name.from_text("VERSION.bind.")  # the question's own spelling


@pytest.mark.parametrize(
    "qname, qtype", [("hostname.bind.", "TXT"), ("version.bind.", "A"), ("other.bind.", "TXT")]
)
def test_other_class_ch_questions_are_refused(
    served: tuple[Dispatcher, Store], qname: str, qtype: str
) -> None:
    dispatcher, _ = served
    dispatcher.identity = {from_text("version.bind."): "leasedns 9.9"}  # hostname hidden
    out = handle(served, chaos_query(qname, qtype))
    assert out is not None and rcode_of(out) == dns.rcode.REFUSED


# -- any octet in a question's labels (RFC 2181 §11) --------------------------------------------


def test_octets_above_127_in_the_question_are_answered(served: tuple[Dispatcher, Store]) -> None:
    # dnslib refuses labels that are not UTF-8; we read the question ourselves.
    out = handle(served, dns.message.make_query(r"\255x.lab.test.", "A").to_wire())
    assert out is not None
    reply = dns.message.from_wire(out)
    assert reply.rcode() == dns.rcode.NXDOMAIN and reply.flags & dns.flags.AA
    assert reply.question[0].name == dns.name.from_text(r"\255x.lab.test.")


@pytest.mark.parametrize("qname", [r"\000.lab.test.", r"www.\000.lab.test.", r"a\000b.lab.test."])
def test_a_nul_octet_names_nothing_stored(served: tuple[Dispatcher, Store], qname: str) -> None:
    # Store keys separate labels with NUL: such a name must never match another one
    # (a\000b.lab.test. would otherwise read as b.a.lab.test.).
    out = handle(served, dns.message.make_query(qname, "A").to_wire())
    assert out is not None
    reply = dns.message.from_wire(out)
    assert reply.rcode() == dns.rcode.NXDOMAIN and not reply.answer
