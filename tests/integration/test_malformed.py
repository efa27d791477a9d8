"""Robustness of the real server against malformed and hostile packets, over raw sockets.

RFC 1035 §4.1.1: a query the server cannot interpret gets FORMERR, an opcode it does not
implement gets NOTIMP; §7.3 and common practice: responses (QR=1) and packets shorter
than a header are dropped without a reply.  After every batch a valid query must still
be answered correctly over UDP and TCP.
"""

from __future__ import annotations

import random
import socket
import struct
import time

import dns.flags
import dns.message
import dns.rcode
import pytest
from serverkit import (
    Server,
    recv_exact,
    tcp_connect,
    tcp_exchange,
    tcp_read,
    udp_exchange,
)

FORMERR, NOTIMP = 1, 4


def header(
    qid: int = 0x1234, flags: int = 0, qd: int = 1, an: int = 0, ns: int = 0, ar: int = 0
) -> bytes:
    return struct.pack(">HHHHHH", qid, flags, qd, an, ns, ar)


def qname_wire(text: str) -> bytes:
    out = b"".join(bytes([len(lab)]) + lab.encode() for lab in text.strip(".").split("."))
    return out + b"\x00"


def question(name: str = "hv1.lab.example.", qtype: int = 1, qclass: int = 1) -> bytes:
    return qname_wire(name) + struct.pack(">HH", qtype, qclass)


OPT = b"\x00" + struct.pack(">HHIH", 41, 1232, 0, 0)


def assert_still_serving(server: Server) -> None:
    """A valid query gets the right answer over UDP and over TCP."""
    for tcp in (False, True):
        q = dns.message.make_query("hv1.lab.example.", "A")
        raw = tcp_exchange(server, q.to_wire()) if tcp else udp_exchange(server, q.to_wire())
        assert raw is not None, f"no answer over {'TCP' if tcp else 'UDP'}"
        r = dns.message.from_wire(raw)
        assert r.id == q.id and r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA
        assert [rd.to_text() for rd in r.answer[0]] == ["10.0.0.11"]


def assert_error_reply(raw: bytes | None, sent: bytes, rcode: int) -> None:
    """A header echoing ID and opcode, QR set, the expected RCODE."""
    assert raw is not None, "expected an error reply, got none"
    assert len(raw) >= 12
    assert raw[:2] == sent[:2], "ID not echoed"
    assert raw[2] & 0x80, "QR not set"
    assert (raw[2] >> 3) & 0xF == (sent[2] >> 3) & 0xF, "opcode not echoed"
    assert raw[3] & 0xF == rcode, f"rcode {raw[3] & 0xF}, expected {rcode}"
    assert raw[6:10] == b"\x00\x00\x00\x00", "an error reply carries no answer or authority"


def assert_error_both(server: Server, wire: bytes, rcode: int) -> None:
    assert_error_reply(udp_exchange(server, wire), wire, rcode)
    assert_error_reply(tcp_exchange(server, wire), wire, rcode)


# -- dropped without a reply ----------------------------------------------------------------


def test_short_packets_dropped(lab_server: Server) -> None:
    full = header() + question()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for n in range(12):
            s.sendto(full[:n], (lab_server.host, lab_server.port))
        s.settimeout(0.4)
        with pytest.raises(TimeoutError):
            s.recv(65535)
    assert_still_serving(lab_server)


def test_short_message_over_tcp_dropped(lab_server: Server) -> None:
    full = header(qid=0x4242) + question()
    with tcp_connect(lab_server) as s:
        for n in (0, 1, 11):
            s.sendall(n.to_bytes(2, "big") + full[:n])
        s.sendall(len(full).to_bytes(2, "big") + full)
        r = dns.message.from_wire(tcp_read(s))  # the first reply is the valid query's
        assert r.id == 0x4242 and r.rcode() == dns.rcode.NOERROR


def test_responses_ignored(lab_server: Server) -> None:
    """QR=1: never answer a response (no reflection loops between servers)."""
    answer = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + b"\x0a\x00\x00\x01"
    packets = [
        header(flags=0x8400) + question(),
        header(flags=0x8403) + question(),  # an NXDOMAIN response
        header(flags=0x8400, an=1) + question() + answer,
        header(flags=0x8000 | (5 << 11)) + question(),  # an UPDATE response
    ]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for p in packets:
            s.sendto(p, (lab_server.host, lab_server.port))
        s.settimeout(0.4)
        with pytest.raises(TimeoutError):
            s.recv(65535)
    assert_still_serving(lab_server)


# -- FORMERR --------------------------------------------------------------------------------


def test_header_only_is_formerr(lab_server: Server) -> None:
    assert_error_both(lab_server, header(qd=0), FORMERR)
    assert_still_serving(lab_server)


@pytest.mark.parametrize("qd", [0, 2])
def test_qdcount_not_one_is_formerr(lab_server: Server, qd: int) -> None:
    body = question() * max(qd, 1) if qd else b""
    assert_error_both(lab_server, header(qd=qd) + body, FORMERR)
    assert_still_serving(lab_server)


@pytest.mark.parametrize(
    "wire",
    [
        header(qd=1),  # QDCOUNT 1, no question
        header(qd=1) + qname_wire("hv1.lab.example."),  # question without type and class
        header(qd=1) + question()[:-1],  # one byte short
        header(qd=1) + b"\x03hv1\x03lab",  # name runs off the end
        header(qd=1) + b"\x40" + b"a" * 64 + b"\x00\x00\x01\x00\x01",  # label length 64
        header(an=5) + question(),  # ANCOUNT 5, nothing there
        header(ns=3) + question(),
        header(ar=2) + question(),
        header(ar=1) + question() + OPT[:-3],  # OPT cut short
        header(ar=1) + question() + b"\x00" + struct.pack(">HHIH", 41, 1232, 0, 10) + b"\x00\x01",
    ],
    ids=[
        "qd1-empty",
        "no-type-class",
        "question-short",
        "name-past-end",
        "label-64",
        "ancount-lie",
        "nscount-lie",
        "arcount-lie",
        "opt-short",
        "opt-rdlength-lie",
    ],
)
def test_lying_counts_and_short_sections_are_formerr(lab_server: Server, wire: bytes) -> None:
    assert_error_both(lab_server, wire, FORMERR)
    assert_still_serving(lab_server)


def test_name_too_long_is_formerr(lab_server: Server) -> None:
    name = b"".join(b"\x3f" + b"a" * 63 for _ in range(4)) + b"\x00"  # 257 octets > 255
    assert_error_both(lab_server, header() + name + b"\x00\x01\x00\x01", FORMERR)
    assert_still_serving(lab_server)


@pytest.mark.parametrize(
    "wire",
    [
        header() + b"\xc0\x0c\x00\x01\x00\x01",  # the question's name points at itself
        header() + b"\x01a\xc0\x0c\x00\x01\x00\x01",  # a -> a -> a ...
        header() + b"\xc0\x0e\xc0\x0c\x00\x01\x00\x01",  # two pointers pointing at each other
        header() + b"\xc0\xff\x00\x01\x00\x01",  # pointer past the end
        # additional record whose owner points at itself
        (lambda q: header(ar=1) + q + b"\xc0" + bytes([12 + len(q)]) + OPT[1:])(question()),
        # additional record whose owner loops through a label
        (lambda q: header(ar=1) + q + b"\x01x\xc0" + bytes([12 + len(q)]) + OPT[1:])(question()),
    ],
    ids=["self", "label-loop", "pointer-pair", "past-end", "ar-self", "ar-label-loop"],
)
def test_compression_loops_are_formerr(lab_server: Server, wire: bytes) -> None:
    assert_error_both(lab_server, wire, FORMERR)
    assert_still_serving(lab_server)


def test_qtype_opt_is_formerr(lab_server: Server) -> None:
    wire = header() + question(qtype=41)
    assert_error_both(lab_server, wire, FORMERR)
    assert_still_serving(lab_server)


def test_two_opt_records_are_formerr(lab_server: Server) -> None:
    """RFC 6891 §6.1.1: more than one OPT RR is a FORMERR."""
    assert_error_both(lab_server, header(ar=2) + question() + OPT + OPT, FORMERR)
    assert_still_serving(lab_server)


# -- NOTIMP ---------------------------------------------------------------------------------


@pytest.mark.parametrize("opcode", [1, 2, 3, 6, 7, 15])
def test_unknown_opcode_is_notimp(lab_server: Server, opcode: int) -> None:
    wire = header(flags=opcode << 11) + question()
    assert_error_both(lab_server, wire, NOTIMP)
    assert_still_serving(lab_server)


# -- fuzzing --------------------------------------------------------------------------------


def _blast(server: Server, packets: list[bytes]) -> dict[int, bytes]:
    """Send every packet (index = ID where there is one) and collect the replies by ID."""
    replies: dict[int, bytes] = {}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        addr = (server.host, server.port)
        for start in range(0, len(packets), 50):
            for p in packets[start : start + 50]:
                s.sendto(p, addr)
            s.settimeout(0.1)
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline:
                try:
                    raw = s.recv(65535)
                except TimeoutError:
                    break
                assert len(raw) >= 12, raw
                replies[int.from_bytes(raw[:2], "big")] = raw
    return replies


def _check_fuzz_replies(packets: list[bytes], replies: dict[int, bytes]) -> None:
    for qid, raw in replies.items():
        assert qid < len(packets), f"reply with an ID we never sent: {raw!r}"
        sent = packets[qid]
        assert len(sent) >= 12 and not sent[2] & 0x80, f"answered a packet it must drop: {sent!r}"
        assert raw[2] & 0x80, "reply without QR"
        assert (raw[2] >> 3) & 0xF == (sent[2] >> 3) & 0xF, "opcode not echoed"


def test_random_bytes(lab_server: Server) -> None:
    rng = random.Random(20261121)
    packets = []
    for i in range(300):
        p = bytearray(rng.randbytes(rng.randrange(0, 300)))
        if len(p) >= 2:
            p[0:2] = i.to_bytes(2, "big")
        packets.append(bytes(p))
    _check_fuzz_replies(packets, _blast(lab_server, packets))
    assert_still_serving(lab_server)


def test_mutated_queries(lab_server: Server) -> None:
    """Valid queries with a few bytes changed reach deeper into the parser than noise does."""
    rng = random.Random(7)
    bases = [
        dns.message.make_query(n, t, use_edns=e).to_wire()
        for n, t, e in [
            ("www.lab.example.", "A", None),
            ("x.sub.lab.example.", "AAAA", 0),
            ("_ldap._tcp.lab.example.", "SRV", 0),
            ("120.0.0.10.in-addr.arpa.", "PTR", None),
        ]
    ]
    packets = []
    for i in range(300):
        p = bytearray(rng.choice(bases))
        for _ in range(rng.randrange(1, 4)):
            pos = rng.randrange(2, len(p))
            p[pos] = rng.randrange(256)
        if rng.random() < 0.2:
            del p[rng.randrange(12, len(p)) :]
        p[0:2] = i.to_bytes(2, "big")
        packets.append(bytes(p))
    replies = _blast(lab_server, packets)
    _check_fuzz_replies(packets, replies)
    assert replies, "not one mutated query was answered"
    assert_still_serving(lab_server)


# -- TCP framing ----------------------------------------------------------------------------


def test_tcp_length_longer_than_data_then_close(lab_server: Server) -> None:
    wire = header() + question()
    with tcp_connect(lab_server) as s:
        s.sendall((len(wire) + 100).to_bytes(2, "big") + wire)
    with tcp_connect(lab_server) as s:
        s.sendall(b"\xff\xff" + b"\x00" * 10)  # promises 65535 bytes, sends 10
        s.shutdown(socket.SHUT_WR)
        s.settimeout(3)
        assert s.recv(10) == b""  # the server closes without answering
    assert_still_serving(lab_server)


def test_tcp_formerr_keeps_the_connection(lab_server: Server) -> None:
    """A bad message on a connection gets FORMERR; later messages are still answered."""
    bad = header(qid=1, qd=2) + question() + question()
    good = dns.message.make_query("hv1.lab.example.", "A")
    with tcp_connect(lab_server) as s:
        s.sendall(len(bad).to_bytes(2, "big") + bad)
        assert_error_reply(tcp_read(s), bad, FORMERR)
        wire = good.to_wire()
        s.sendall(len(wire).to_bytes(2, "big") + wire)
        r = dns.message.from_wire(tcp_read(s))
        assert r.id == good.id and r.rcode() == dns.rcode.NOERROR


def test_tcp_garbage(lab_server: Server) -> None:
    rng = random.Random(99)
    for _ in range(10):
        with tcp_connect(lab_server) as s:
            s.sendall(rng.randbytes(rng.randrange(1, 2000)))
            s.shutdown(socket.SHUT_WR)
            s.settimeout(3)
            try:  # whatever comes back must be well framed; then the server closes
                while True:
                    n = int.from_bytes(recv_exact(s, 2), "big")
                    raw = recv_exact(s, n)
                    assert n >= 12 and raw[2] & 0x80
            except (EOFError, ConnectionResetError):
                pass
    assert_still_serving(lab_server)
