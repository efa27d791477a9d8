"""Transport and message-level edges, written from the RFC texts, against a real server.

One leasedns process serves the shipped lab.example. and EDGE (below: RRsets sized around
the 512 and 1232 octet UDP limits, and enough names for a zone transfer of several TCP
messages) with one TSIG key.  Requests are built byte by byte or with dnspython and sent
over real UDP and TCP sockets.  Each test names the RFC section it checks; where the RFCs
allow several behaviours only what they require is asserted, and the docstring says
which choice leasedns (and BIND) make.  Every test that sends malformed input ends by
checking that the server still answers a normal query over UDP and TCP.

What test_tcp.py, test_malformed.py, test_xfr.py and the differential tests against BIND
and Knot already cover is not repeated; the cases here look at the same areas from
other angles (error replies to EDNS requests, pipelines mixing good and bad requests,
hand-made TSIG RRs, the default idle timeout, ...).
"""

from __future__ import annotations

import hashlib
import hmac
import socket
import struct
import time
from collections.abc import Iterator

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.query
import dns.rdata
import dns.rrset
import dns.tsig
import dns.zone
import pytest
from serverkit import (
    ZONES,
    Server,
    closed_by_peer,
    make_server,
    tcp_connect,
    tcp_exchange,
    tcp_read,
    udp_exchange,
)
from tsigkit import reply_mac_is_valid, reply_tsig

EDGE = "edge.test."
HOSTS = 3000  # about 66 kB of AXFR: several 16 kB TCP messages
KEY_NAME = "edge-key."
SECRET = "bst4g+jKRwKwOcxigyhWUps4Fhwg+xZMJtMJmf09gb8="
KEY = dns.tsig.Key(KEY_NAME, SECRET, "hmac-sha256")
KEYRING = {KEY.name: KEY}
SHA256_LEN = 32

NOERROR, FORMERR, NOTIMP, REFUSED, NOTAUTH = 0, 1, 4, 5, 9
BADVERS = 16
BADSIG, BADKEY, BADTIME, BADTRUNC = 16, 17, 18, 22
T_A, T_TXT, T_OPT, T_TSIG, T_SOA = 1, 16, 41, 250, 6
C_IN, C_CH, C_HS, C_ANY = 1, 3, 4, 255
QR, AA, TC, RD, RA = 0x8000, 0x0400, 0x0200, 0x0100, 0x0080
DO = 0x00008000
NO_REPLY_WAIT = 0.5  # loopback answers come in milliseconds


def _txt(count: int, size: int, letter: str) -> str:
    return " ".join(f'"{letter * size}"' for _ in range(count))


EDGE_ZONE = f"""$ORIGIN {EDGE}
$TTL 300
@       IN SOA ns hostmaster 100 3600 600 86400 60
        IN NS  ns
ns      IN A   192.0.2.1
www     IN A   192.0.2.80
small   IN TXT {_txt(2, 150, "s")}
medium  IN TXT {_txt(3, 230, "m")}
big     IN TXT {_txt(8, 250, "b")}
""" + "".join(f"h{i:04d} IN A 10.1.{i // 250}.{i % 250}\n" for i in range(HOSTS))
# Reply sizes without EDNS: small ~360 octets (over 100, under 512), medium ~740 (over 512,
# under 1232), big ~2050 (over 1232).


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("edges")
    (tmp / "edge.test.zone").write_text(EDGE_ZONE)
    s = make_server(
        tmp,
        zones=[ZONES / "lab.example.zone", tmp / "edge.test.zone"],
        extra=["--key", f"edge-key:hmac-sha256:{SECRET}:transfer"],
    )
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def short_idle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A second server whose TCP idle timeout is 1 s, for the slow-sender test."""
    tmp = tmp_path_factory.mktemp("shortidle")
    (tmp / "edge.test.zone").write_text(EDGE_ZONE)
    cfg = tmp / "leasedns.yaml"
    cfg.write_text("tcp_idle_timeout: 1\n")
    s = make_server(tmp, zones=[tmp / "edge.test.zone"], extra=["--config", str(cfg)])
    s.start()
    yield s
    s.stop()


# -- building requests byte by byte ---------------------------------------------------------


def header(
    qid: int = 0x1234, flags: int = 0, qd: int = 1, an: int = 0, ns: int = 0, ar: int = 0
) -> bytes:
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


def question(name: str = f"www.{EDGE}", qtype: int = T_A, qclass: int = C_IN) -> bytes:
    return dns.name.from_text(name).to_wire() + struct.pack("!HH", qtype, qclass)


def opt_rr(payload: int = 1232, ttl: int = 0, rdata: bytes = b"", owner: bytes = b"\x00") -> bytes:
    """RFC 6891 §6.1.2: NAME, TYPE 41, CLASS = payload size, TTL = ext. RCODE/VERSION/DO/Z."""
    return owner + struct.pack("!HHIH", T_OPT, payload, ttl, len(rdata)) + rdata


def query(
    name: str = f"www.{EDGE}",
    qtype: int = T_A,
    qclass: int = C_IN,
    qid: int = 0x1234,
    flags: int = 0,
    edns: bytes | None = None,
) -> bytes:
    """One question; ``edns`` (an OPT RR) goes in the additional section."""
    return header(qid, flags, ar=1 if edns else 0) + question(name, qtype, qclass) + (edns or b"")


def frame(wire: bytes) -> bytes:
    return len(wire).to_bytes(2, "big") + wire


# -- reading replies ------------------------------------------------------------------------


def parse(raw: bytes) -> dns.message.Message:
    """A reply as dnspython reads it, TSIG left unchecked (the tests check it by hand)."""
    return dns.message.from_wire(raw, keyring=False)


def rcode_of(raw: bytes) -> int:
    """The full RCODE (header and OPT extended RCODE, RFC 6891 §6.1.3)."""
    return int(parse(raw).rcode())


def assert_reply_to(raw: bytes | None, sent: bytes) -> dns.message.Message:
    """RFC 1035 §4.1.1: a reply copies the ID, sets QR and keeps the opcode."""
    assert raw is not None, "no reply"
    assert raw[:2] == sent[:2], "ID not echoed"
    assert raw[2] & 0x80, "QR not set"
    assert (raw[2] >> 3) & 0xF == (sent[2] >> 3) & 0xF, "opcode not echoed"
    return parse(raw)


def both(server: Server, wire: bytes) -> list[tuple[str, bytes | None]]:
    return [("udp", udp_exchange(server, wire)), ("tcp", tcp_exchange(server, wire))]


def assert_alive(server: Server) -> None:
    """A normal query still gets its normal answer over UDP and over TCP."""
    for transport, raw in both(server, query(qid=0x7777)):
        m = assert_reply_to(raw, b"\x77\x77\x00")
        assert m.rcode() == NOERROR and m.flags & AA, transport
        assert [rd.to_text() for rd in m.answer[0]] == ["192.0.2.80"], transport


def no_udp_reply(server: Server, *packets: bytes) -> bool:
    """True when none of ``packets`` gets anything back."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for p in packets:
            s.sendto(p, (server.host, server.port))
        s.settimeout(NO_REPLY_WAIT)
        try:
            s.recv(65535)
        except TimeoutError:
            return True
    return False


# -- TSIG by hand (RFC 8945 §4.2, §4.3) --------------------------------------------------------


def _time48(t: int) -> bytes:
    return struct.pack("!HI", (t >> 32) & 0xFFFF, t & 0xFFFFFFFF)


def tsig_variables(
    key_name: str, algorithm: str, time_signed: int, fudge: int, error: int, other: bytes
) -> bytes:
    """RFC 8945 §4.3.3: the TSIG variables a MAC covers, names in canonical form."""
    return (
        dns.name.from_text(key_name).canonicalize().to_wire()
        + struct.pack("!HI", C_ANY, 0)
        + dns.name.from_text(algorithm).canonicalize().to_wire()
        + _time48(time_signed)
        + struct.pack("!HHH", fudge, error, len(other))
        + other
    )


def tsig_rr(
    key_name: str,
    algorithm: str,
    time_signed: int,
    fudge: int,
    mac: bytes,
    original_id: int,
    error: int = 0,
    other: bytes = b"",
) -> bytes:
    rdata = (
        dns.name.from_text(algorithm).to_wire()
        + _time48(time_signed)
        + struct.pack("!HH", fudge, len(mac))
        + mac
        + struct.pack("!HHH", original_id, error, len(other))
        + other
    )
    owner = dns.name.from_text(key_name).to_wire()
    return owner + struct.pack("!HHIH", T_TSIG, C_ANY, 0, len(rdata)) + rdata


def add_rr(wire: bytes, rr: bytes) -> bytes:
    """``wire`` with ``rr`` appended to its additional section."""
    (ar,) = struct.unpack_from("!H", wire, 10)
    return wire[:10] + struct.pack("!H", ar + 1) + wire[12:] + rr


def sign(
    wire: bytes,
    *,
    time_signed: int | None = None,
    fudge: int = 300,
    mac_len: int | None = None,
    key_name: str = KEY_NAME,
    algorithm: str = "hmac-sha256",
    mac: bytes | None = None,
) -> tuple[bytes, bytes]:
    """``wire`` with a TSIG RR made by hand (RFC 8945 §4.3.1: the request's MAC covers the
    message, then the TSIG variables), the MAC cut to ``mac_len`` octets; returns the
    signed message and the MAC sent."""
    t = int(time.time()) if time_signed is None else time_signed
    if mac is None:
        full = hmac.new(
            KEY.secret, wire + tsig_variables(key_name, algorithm, t, fudge, 0, b""), hashlib.sha256
        ).digest()
        mac = full[: mac_len or SHA256_LEN]
    (qid,) = struct.unpack_from("!H", wire, 0)
    return add_rr(wire, tsig_rr(key_name, algorithm, t, fudge, mac, qid)), mac


# == RFC 7766: DNS over TCP ===================================================================


def test_pipelined_mixed_requests_all_answered_by_id(edge: Server) -> None:
    """RFC 7766 §6.2.1.1: "DNS servers (especially recursive) MUST expect to receive
    pipelined queries. [...] The server SHOULD answer all pipelined queries, even if they
    are received in quick succession."  §7: replies are matched by ID.  Good queries,
    errors of every kind and a zone transfer, all written in one segment."""
    requests = {
        0x0101: (query(qid=0x0101), NOERROR),
        0x0102: (query(f"nope.{EDGE}", qid=0x0102), 3),  # NXDOMAIN
        0x0103: (query("www.example.com.", qid=0x0103), REFUSED),
        0x0104: (header(0x0104, qd=2) + question() + question(), FORMERR),
        0x0105: (query(qid=0x0105, flags=9 << 11), NOTIMP),
        0x0106: (query(qid=0x0106, edns=opt_rr(ttl=1 << 16)), BADVERS),
        0x0107: (query("lab.example.", 252, qid=0x0107), NOERROR),  # AXFR of a small zone
        0x0108: (query(f"medium.{EDGE}", T_TXT, qid=0x0108), NOERROR),
        0x0109: (query(f"h0042.{EDGE}", qid=0x0109), NOERROR),
    }
    with tcp_connect(edge) as s:
        s.sendall(b"".join(frame(w) for w, _ in requests.values()))
        got: dict[int, list[bytes]] = {}
        while set(got) != set(requests):
            raw = tcp_read(s)
            got.setdefault(int.from_bytes(raw[:2], "big"), []).append(raw)
    for qid, (wire, rcode) in requests.items():
        first = got[qid][0]
        assert_reply_to(first, wire)
        assert rcode_of(first) == rcode, f"{qid:#x}: {parse(first)}"
    axfr = [rr for raw in got[0x0107] for rr in parse(raw).answer]
    assert axfr[0].rdtype == T_SOA
    m = parse(got[0x0108][0])
    assert not m.flags & TC and len(b"".join(m.answer[0][0].strings)) == 690
    assert_alive(edge)


def test_length_prefix_and_messages_split_across_segments(edge: Server) -> None:
    """RFC 7766 §8: "DNS clients and servers SHOULD pass the two-octet length field, and
    the message described by that length field, to the TCP layer at the same time", which
    does not stop a sender from doing otherwise: the server must reassemble.  Two queries
    sent three octets at a time, so the second length prefix is split between segments
    and shares one with the end of the first message."""
    qs = [query(qid=0x0201), query(f"h0007.{EDGE}", qid=0x0202)]
    data = b"".join(frame(q) for q in qs)
    with tcp_connect(edge) as s:
        for i in range(0, len(data), 3):
            s.sendall(data[i : i + 3])
            time.sleep(0.01)
        replies = [parse(tcp_read(s)), parse(tcp_read(s))]
    assert sorted(r.id for r in replies) == [0x0201, 0x0202]
    assert all(r.rcode() == NOERROR and r.answer for r in replies)


def test_two_messages_in_one_segment_first_malformed(edge: Server) -> None:
    """RFC 7766 §8 and RFC 1035 §4.2.2: each message is framed by its own length; a
    malformed one (a question name pointing at itself) gets FORMERR and the next one in
    the same segment is still answered on the same connection."""
    bad = header(0x0301) + b"\xc0\x0c\x00\x01\x00\x01"
    good = query(qid=0x0302)
    with tcp_connect(edge) as s:
        s.sendall(frame(bad) + frame(good))
        first, second = tcp_read(s), tcp_read(s)
    assert first[:2] == b"\x03\x01" and first[3] & 0xF == FORMERR
    m = assert_reply_to(second, good)
    assert m.rcode() == NOERROR and m.answer
    assert_alive(edge)


def test_zero_length_and_sub_header_messages_on_tcp(edge: Server) -> None:
    """RFC 1035 §4.2.2 framing with lengths 0, 3 and 11 (shorter than a header, §4.1.1) and
    a bare 12-octet header with QDCOUNT 0.  Nothing requires a reply to the short ones; a
    server may drop them or close the connection (leasedns drops them and keeps reading).
    Whatever it does, it must not crash, and the bare header, when the connection is
    still open, gets FORMERR."""
    frames = [b"", b"\x00\x01\x02", header(0x0401)[:11], header(0x0402, qd=0)]
    good = query(qid=0x0403)
    replies: dict[int, bytes] = {}
    with tcp_connect(edge) as s:
        s.sendall(b"".join(frame(f) for f in frames) + frame(good))
        try:
            while 0x0403 not in replies:
                raw = tcp_read(s)
                replies[int.from_bytes(raw[:2], "big")] = raw
        except (EOFError, ConnectionResetError):
            pass  # closing the connection is allowed
    assert set(replies) <= {0x0402, 0x0403}, replies
    if 0x0402 in replies:
        assert replies[0x0402][3] & 0xF == FORMERR
    if 0x0403 in replies:
        assert assert_reply_to(replies[0x0403], good).rcode() == NOERROR
    assert_alive(edge)


def test_idle_connection_closed_after_the_documented_timeout(edge: Server) -> None:
    """RFC 7766 §6.2.3: "it is RECOMMENDED that the default server application-level idle
    period be on the order of seconds [...] A timeout of at least a few seconds is
    advisable for normal operations".  The README documents ``tcp_idle_timeout`` 10 s by
    default: the connection stays open for a few seconds, then the server closes it."""
    with tcp_connect(edge) as s:
        s.sendall(frame(query(qid=0x0501)))
        assert parse(tcp_read(s)).rcode() == NOERROR
        t0 = time.monotonic()
        assert not closed_by_peer(s, within=3.0), "closed at once, not after 10 s"
        assert closed_by_peer(s, within=10.0), "idle connection still open after 13 s"
        assert 9.0 <= time.monotonic() - t0 <= 12.5


def test_idle_timer_not_reset_by_a_partial_message(short_idle: Server) -> None:
    """RFC 7766 §6.2.3: "A DNS server that resets its idle timeout after receiving a single
    segment might be vulnerable to a 'slow-read attack'.  For this reason, servers SHOULD
    reset the idle timeout on the receipt of a full DNS message, rather than on receipt
    of any part of a DNS message."  With a 1 s idle timeout, a client that sends one
    octet of a message every 0.25 s must still be cut off about 1 s after its last full
    message."""
    partial = frame(query(f"h0001.{EDGE}", qid=0x0602))
    with tcp_connect(short_idle) as s:
        s.sendall(frame(query(qid=0x0601)))
        assert parse(tcp_read(s)).rcode() == NOERROR
        t0 = time.monotonic()
        closed = False
        for octet in partial[:-1]:  # never the whole message
            try:
                s.sendall(bytes([octet]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            if closed_by_peer(s, within=0.25):
                closed = True
                break
            if time.monotonic() - t0 > 3.0:
                break
        held = time.monotonic() - t0
    assert closed and held < 2.5, f"a trickling client kept the connection for {held:.1f} s"


# == RFC 6891: EDNS(0) ========================================================================


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_two_opt_rrs_anywhere_in_additional_are_formerr(edge: Server, tcp: bool) -> None:
    """RFC 6891 §6.1.1: "If a query message with more than one OPT RR is received, a
    FORMERR (RCODE=1) MUST be returned."  The two OPTs are not adjacent here (an A record
    sits between them)."""
    a_rr = question(f"x.{EDGE}")[:-4] + struct.pack("!HHIH", T_A, C_IN, 60, 4) + bytes(4)
    wire = header(ar=3) + question() + opt_rr() + a_rr + opt_rr(payload=4096)
    raw = tcp_exchange(edge, wire) if tcp else udp_exchange(edge, wire)
    m = assert_reply_to(raw, wire)
    assert m.rcode() == FORMERR and not m.answer
    assert_alive(edge)


def test_opt_with_a_non_root_owner_is_formerr(edge: Server) -> None:
    """RFC 6891 §6.1.2: NAME "MUST be 0 (root domain)"; §7: "If there is a problem with
    processing the OPT record itself [...] a FORMERR MUST be returned."  (BIND answers
    FORMERR too; Knot ignores the owner.)"""
    wire = query(edns=opt_rr(owner=b"\x03www\x00"))
    for transport, raw in both(edge, wire):
        m = assert_reply_to(raw, wire)
        assert m.rcode() == FORMERR and not m.answer, transport
    assert_alive(edge)


def test_option_running_past_the_opt_rdata_is_formerr(edge: Server) -> None:
    """RFC 6891 §7: "If there is a problem with processing the OPT record itself, such as
    an option value that is badly formatted or that includes out-of-range values, a
    FORMERR MUST be returned."  An option whose OPTION-LENGTH (16) runs past the RDATA
    (2 octets of data).  The same paragraph asks for an OPT in that FORMERR; BIND 9.18
    and Knot 3.2 both send none (an OPT they could not read has no payload size to
    answer with), and leasedns follows them: test_vs_refs_edges compares this case."""
    wire = query(edns=opt_rr(rdata=struct.pack("!HH", 65001, 16) + b"ab"))
    raw = udp_exchange(edge, wire)
    m = assert_reply_to(raw, wire)
    assert m.rcode() == FORMERR and not m.answer
    assert m.edns == -1, "as BIND and Knot: no OPT in a FORMERR about the OPT itself"
    assert_alive(edge)


def test_opt_in_the_answer_section_of_a_query(edge: Server) -> None:
    """RFC 6891 §6.1.1: "An OPT pseudo-RR [...] MAY be added to the additional data
    section of a request."  Nothing says what to do with one elsewhere.  BIND's parser
    answers FORMERR (an OPT outside the additional section); leasedns ignores records in
    a query's answer section, so it answers the question.  Required only: a reply to the
    question, never data taken from the misplaced OPT, and a server still serving."""
    wire = header(an=1) + question() + opt_rr()
    raw = udp_exchange(edge, wire)
    m = assert_reply_to(raw, wire)
    assert m.rcode() in (NOERROR, FORMERR)
    if m.rcode() == NOERROR:
        assert [rd.to_text() for rd in m.answer[0]] == ["192.0.2.80"]
    assert all(rrset.rdtype != T_OPT for rrset in m.answer + m.authority)
    assert_alive(edge)


@pytest.mark.parametrize("payload", [0, 100, 511])
def test_payload_below_512_is_taken_as_512(edge: Server, payload: int) -> None:
    """RFC 6891 §6.2.3: "Values lower than 512 MUST be treated as equal to 512."  A ~360
    octet answer fits whole (no TC), a ~740 octet one is truncated to at most 512."""
    wire = query(f"small.{EDGE}", T_TXT, edns=opt_rr(payload=payload))
    raw = udp_exchange(edge, wire)
    m = assert_reply_to(raw, wire)
    assert raw is not None and not m.flags & TC and m.answer and len(raw) > 300
    wire = query(f"medium.{EDGE}", T_TXT, edns=opt_rr(payload=payload))
    raw = udp_exchange(edge, wire)
    m = assert_reply_to(raw, wire)
    assert m.flags & TC and len(raw) <= 512


def test_unknown_options_ignored_and_not_echoed(edge: Server) -> None:
    """RFC 6891 §6.1.2: "Any OPTION-CODE values not understood by a responder or requestor
    MUST be ignored."  Three unknown options (one of them empty, one at 65535): a normal
    answer, our OPT, none of the options back."""
    options = struct.pack("!HH", 65001, 3) + b"abc" + struct.pack("!HH", 65535, 0)
    options += struct.pack("!HH", 20000, 8) + bytes(range(8))
    for transport, raw in both(edge, query(edns=opt_rr(rdata=options))):
        m = parse(raw or b"")
        assert m.rcode() == NOERROR and m.answer, transport
        assert m.edns == 0 and not m.options, transport


@pytest.mark.parametrize("version", [1, 255])
def test_unknown_edns_version_is_badvers_with_an_opt(edge: Server, version: int) -> None:
    """RFC 6891 §6.1.3: "If a responder does not implement the VERSION level of the
    request, then it MUST respond with RCODE=BADVERS. [...] the VERSION of each response
    SHOULD be the highest implementation level of the responder" (0 here).  BADVERS is 16:
    header RCODE 0 and extended RCODE 1 in the OPT, so the OPT must be there."""
    wire = query(edns=opt_rr(ttl=version << 16 | DO))
    for transport, raw in both(edge, wire):
        m = assert_reply_to(raw, wire)
        assert raw is not None and raw[3] & 0xF == 0, transport
        assert m.edns == 0 and m.rcode() == BADVERS, transport
        assert not m.answer, transport


def test_do_bit_copied_and_no_dnssec_records(edge: Server) -> None:
    """RFC 3225 §3: "The DO bit of the query MUST be copied in the response."  The zones
    are unsigned, so no RRSIG, NSEC, NSEC3 or DNSKEY appear and AD stays clear, DO or not
    (BIND copies DO whether or not the zone is signed).  Without DO, none in the reply."""
    dnssec = {46, 47, 50, 48}
    for name, rdtype in [(f"www.{EDGE}", T_A), (f"nope.{EDGE}", T_A), (EDGE, 48)]:
        for do in (True, False):
            wire = query(name, rdtype, edns=opt_rr(ttl=DO if do else 0))
            m = assert_reply_to(udp_exchange(edge, wire), wire)
            assert bool(m.ednsflags & dns.flags.DO) == do, (name, do)
            assert not m.flags & dns.flags.AD
            types = {rrset.rdtype for rrset in m.answer + m.authority + m.additional}
            assert not types & dnssec, (name, do, m)


@pytest.mark.parametrize("payload", [600, 1232, 4096])
def test_answer_over_the_advertised_size_is_truncated_and_valid(edge: Server, payload: int) -> None:
    """RFC 6891 §6.2.3-6.2.5 with RFC 1035 §4.2.1 and RFC 2181 §9: a reply that does not fit
    min(client's size, ours) is sent with TC=1, no bigger than that size, and is itself a
    well-formed message (question echoed, counts right, OPT present).  Over TCP the same
    question gets the whole RRset."""
    wire = query(f"big.{EDGE}", T_TXT, edns=opt_rr(payload=payload))
    raw = udp_exchange(edge, wire)
    m = assert_reply_to(raw, wire)
    assert raw is not None and m.flags & TC
    assert len(raw) <= min(payload, 1232)
    assert m.edns == 0 and m.question[0].name == dns.name.from_text(f"big.{EDGE}")
    full = parse(tcp_exchange(edge, wire))
    assert not full.flags & TC and sum(len(s) for s in full.answer[0][0].strings) == 2000


def test_answer_over_512_without_edns_is_truncated(edge: Server) -> None:
    """RFC 1035 §2.3.4 and §4.2.1: without EDNS a UDP message is at most 512 octets;
    "Messages carried by UDP are restricted to 512 bytes (not counting the IP or UDP
    headers).  Longer messages are truncated and the TC bit is set in the header."  No
    OPT in the reply (RFC 6891 §7)."""
    wire = query(f"medium.{EDGE}", T_TXT)
    raw = udp_exchange(edge, wire)
    m = assert_reply_to(raw, wire)
    assert raw is not None and m.flags & TC and len(raw) <= 512 and m.edns == -1
    m = parse(udp_exchange(edge, query(f"medium.{EDGE}", T_TXT, edns=opt_rr())) or b"")
    assert not m.flags & TC and m.answer, "a 1232-octet client gets the ~740-octet answer"


# == RFC 1035 / RFC 2181: the message =========================================================


@pytest.mark.parametrize("qd", [0, 2])
def test_qdcount_not_one_with_edns_is_formerr_with_an_opt(edge: Server, qd: int) -> None:
    """RFC 1035 §4.1.1 (FORMERR: "unable to interpret the query"), and RFC 6891 §6.1.1: "If
    an OPT record is present in a received request, compliant responders MUST include an
    OPT record in their respective responses", error replies included."""
    wire = header(qd=qd, ar=1) + question() * qd + opt_rr()
    for transport, raw in both(edge, wire):
        m = assert_reply_to(raw, wire)
        assert m.rcode() == FORMERR and not m.answer, transport
        assert m.edns == 0, f"{transport}: no OPT in the FORMERR"
    assert_alive(edge)


def test_responses_sent_to_the_server_are_not_answered(edge: Server) -> None:
    """RFC 1035 §4.1.1: QR "specifies whether this message is a query (0), or a response
    (1)"; a server answers queries.  A response to a query, with EDNS, and a NOTIFY
    response (RFC 1996 §3.3, §4.8) all get nothing back; the next query is answered."""
    notify_resp = query(EDGE, T_SOA, flags=QR | AA | (4 << 11))
    packets = [
        query(flags=QR | AA),
        query(flags=QR, edns=opt_rr()),
        query(flags=QR | REFUSED),
        notify_resp,
    ]
    assert no_udp_reply(edge, *packets)
    with tcp_connect(edge) as s:
        s.sendall(b"".join(frame(p) for p in packets) + frame(query(qid=0x0801)))
        assert tcp_read(s)[:2] == b"\x08\x01", "a response was answered over TCP"
    assert_alive(edge)


@pytest.mark.parametrize("opcode", [8, 9, 10, 11, 12, 13, 14])
def test_unassigned_opcodes_are_notimp_with_an_opt(edge: Server, opcode: int) -> None:
    """RFC 1035 §4.1.1: RCODE 4 "Not Implemented - The name server does not support the
    requested kind of query"; RFC 6891 §6.1.1: the request's OPT gets one back.  (Opcodes
    1, 2, 3, 6, 7 and 15 are in test_malformed.py.)"""
    wire = query(flags=opcode << 11, edns=opt_rr())
    m = assert_reply_to(udp_exchange(edge, wire), wire)
    assert m.rcode() == NOTIMP and not m.answer and m.edns == 0
    assert_alive(edge)


@pytest.mark.parametrize(
    ("qclass", "name", "qtype"),
    [
        (C_CH, f"www.{EDGE}", T_A),
        (C_HS, f"www.{EDGE}", T_A),
        (C_ANY, f"www.{EDGE}", T_A),
        (C_CH, EDGE, T_SOA),
        (254, f"www.{EDGE}", T_A),
    ],
    ids=["CH-A", "HS-A", "ANY-A", "CH-SOA", "NONE-A"],
)
def test_other_classes_never_get_in_data(edge: Server, qclass: int, name: str, qtype: int) -> None:
    """RFC 1035 §3.2.4/§3.2.5 and RFC 2181 §6.1 (a zone has one class): a question in class
    CH, HS, NONE or ANY for a name of an IN zone is not answered from the IN data as if it
    were that class.  The RFCs leave the RCODE open: leasedns answers REFUSED for every
    one; BIND answers REFUSED for CH/HS, FORMERR for ANY and NONE (Knot answers ANY from
    IN data, with class IN records)."""
    wire = query(name, qtype, qclass)
    m = assert_reply_to(udp_exchange(edge, wire), wire)
    assert m.rcode() in (REFUSED, NOTIMP, FORMERR, NOERROR)
    for rrset in m.answer + m.authority:
        assert qclass == C_ANY or rrset.rdclass == qclass, m
    if m.rcode() != FORMERR:
        assert m.question and m.question[0].rdclass == qclass


def test_chaos_version_bind_is_class_ch(edge: Server) -> None:
    """RFC 4892 §2 (version.bind/id.server, CH TXT): what comes back, if anything, is class
    CH and owned by the question name; leasedns and BIND answer it."""
    wire = query("version.bind.", T_TXT, C_CH)
    m = assert_reply_to(udp_exchange(edge, wire), wire)
    assert m.rcode() in (NOERROR, REFUSED)
    for rrset in m.answer:
        assert rrset.rdclass == C_CH and rrset.name == dns.name.from_text("version.bind.")


@pytest.mark.parametrize(
    "wire",
    [
        # question name is a pointer forward, to a name in the additional section
        header(ar=1)
        + b"\xc0\x12"
        + b"\x00\x01\x00\x01"
        + b"\x03www\x00"
        + struct.pack("!HHIH", T_A, C_IN, 0, 4)
        + bytes(4),
        # pointer into the header (offset 2: the flags read as a label)
        header() + b"\xc0\x02\x00\x01\x00\x01",
        # a label then a pointer to the following octet (forward, one step)
        header() + b"\x01a\xc0\x0f\x00\x00\x01\x00\x01",
        # reserved label types 0b01 and 0b10 (RFC 6891 §5 deprecates extended labels)
        header() + b"\x41\x01a\x00\x00\x01\x00\x01",
        header() + b"\x81\x01a\x00\x00\x01\x00\x01",
        # OPT owner a pointer forward past the end of the message
        header(ar=1) + question() + b"\xc0\xf0" + opt_rr()[1:],
        # question cut in the middle of a label, with TC and RD set
        header(flags=TC | RD) + b"\x03ww",
    ],
    ids=[
        "qname-forward",
        "into-header",
        "forward-one",
        "label-01",
        "label-10",
        "opt-owner-past",
        "cut-label",
    ],
)
def test_bad_names_are_formerr_or_dropped(edge: Server, wire: bytes) -> None:
    """RFC 1035 §4.1.4: a pointer refers to "a prior occurance of the same name" and "The 10
    and 01 combinations are reserved for future use"; a request breaking this cannot be
    interpreted: FORMERR (RFC 1035 §4.1.1), or no reply at all.  Then the server serves."""
    for transport, raw in both_or_none(edge, wire):
        if raw is not None:
            m_rcode = raw[3] & 0xF
            assert raw[:2] == wire[:2] and raw[2] & 0x80, transport
            assert m_rcode == FORMERR, f"{transport}: RCODE {m_rcode}"
    assert_alive(edge)


def both_or_none(server: Server, wire: bytes) -> list[tuple[str, bytes | None]]:
    """UDP and TCP replies, None where the server sent nothing (or closed the connection)."""
    out: list[tuple[str, bytes | None]] = [("udp", udp_exchange(server, wire, NO_REPLY_WAIT))]
    with tcp_connect(server, timeout=NO_REPLY_WAIT * 2) as s:
        s.sendall(frame(wire))
        try:
            out.append(("tcp", tcp_read(s)))
        except (EOFError, ConnectionResetError, TimeoutError):
            out.append(("tcp", None))
    return out


def test_tc_aa_ra_z_in_a_query_do_not_leak_into_the_reply(edge: Server) -> None:
    """RFC 1035 §4.1.1: TC "specifies that this message was truncated", AA and RA are
    response bits, Z "Must be zero in all queries and responses".  A query with them set
    gets a normal answer whose TC, RA and Z are clear (the answer fits)."""
    wire = query(flags=TC | AA | RA | 0x0040)
    m = assert_reply_to(udp_exchange(edge, wire), wire)
    assert m.rcode() == NOERROR and m.answer
    assert not m.flags & (TC | RA | 0x0040) and m.flags & AA


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_rd_copied_ra_clear_aa_set(edge: Server, tcp: bool) -> None:
    """RFC 1035 §4.1.1: RD "may be set in a query and is copied into the response"; RA
    "denotes whether recursive query support is available in the name server": an
    authoritative-only server leaves it clear.  AA on data of its own zone."""
    wire = query(flags=RD)
    raw = tcp_exchange(edge, wire) if tcp else udp_exchange(edge, wire)
    m = assert_reply_to(raw, wire)
    assert m.flags & RD and not m.flags & RA and m.flags & AA


@pytest.mark.parametrize("qid", [0x0000, 0x0001, 0x8000, 0xFFFF])
def test_id_echoed(edge: Server, qid: int) -> None:
    """RFC 1035 §4.1.1: the ID "is copied the corresponding reply", for answers and for
    errors alike, over both transports."""
    for wire in (query(qid=qid), query("www.example.com.", qid=qid), header(qid, qd=0)):
        for transport, raw in both(edge, wire):
            assert raw is not None and raw[:2] == qid.to_bytes(2, "big"), transport


@pytest.mark.parametrize(
    ("name", "qtype", "edns", "rcode"),
    [
        ("NoPe.EdGe.TeSt.", T_A, None, 3),
        ("WwW.ExAmPlE.CoM.", T_A, None, REFUSED),
        ("WwW.eDgE.tEsT.", T_A, opt_rr(ttl=1 << 16), BADVERS),
        ("WwW.eDgE.tEsT.", T_OPT, None, FORMERR),
        ("MeDiUm.EdGe.TeSt.", T_TXT, None, NOERROR),  # truncated
    ],
    ids=["nxdomain", "refused", "badvers", "formerr", "truncated"],
)
def test_question_case_preserved_in_every_kind_of_reply(
    edge: Server, name: str, qtype: int, edns: bytes | None, rcode: int
) -> None:
    """RFC 1035 §7.3 (a reply is matched to its question) and the 0x20 practice that rests
    on it: the question section of the reply is the question's octets, letter case kept,
    also in negative, refused, BADVERS, FORMERR and truncated replies."""
    wire = query(name, qtype, edns=edns)
    raw = udp_exchange(edge, wire)
    m = assert_reply_to(raw, wire)
    assert raw is not None and m.rcode() == rcode
    end = 12 + len(question(name, qtype))
    assert raw[4:6] == b"\x00\x01" and raw[12:end] == wire[12:end]


# == RFC 8945: TSIG ===========================================================================


def test_hand_signed_query_is_answered_and_signed(edge: Server) -> None:
    """RFC 8945 §5.3: a request whose TSIG verifies gets a signed reply, its MAC over the
    request MAC.  Checks the hand-made signer the other TSIG tests rely on."""
    wire, mac = sign(query())
    raw = udp_exchange(edge, wire)
    m = assert_reply_to(raw, wire)
    assert raw is not None and m.rcode() == NOERROR and m.answer
    assert reply_tsig(raw).error == 0 and reply_mac_is_valid(raw, mac, KEY)


@pytest.mark.parametrize(
    ("name", "rdtype", "edns", "rcode", "tc"),
    [
        (f"www.{EDGE}", T_A, True, NOERROR, False),
        ("www.example.com.", T_A, False, REFUSED, False),
        (f"big.{EDGE}", T_TXT, True, NOERROR, True),
        (f"medium.{EDGE}", T_TXT, False, NOERROR, True),
    ],
    ids=["edns", "refused", "truncated-edns", "truncated-512"],
)
def test_every_reply_to_a_good_signature_is_signed(
    edge: Server, name: str, rdtype: int, edns: bool, rcode: int, tc: bool
) -> None:
    """RFC 8945 §5.3: "When a server has generated a response to a signed request, it signs
    the response using the same algorithm and key", refusals and truncated UDP replies
    included; the TSIG RR stays last, after our OPT (RFC 6891 §6.1.1 keeps TSIG last), and
    a truncated reply with its TSIG still fits 512 octets or the OPT's size."""
    wire, mac = sign(query(name, rdtype, edns=opt_rr() if edns else None))
    raw = udp_exchange(edge, wire)
    m = assert_reply_to(raw, wire)  # dnspython refuses a TSIG that is not the last RR
    assert raw is not None and m.rcode() == rcode and bool(m.flags & TC) == tc
    assert (m.edns == 0) == edns
    assert len(raw) <= (1232 if edns else 512)
    assert reply_tsig(raw).error == 0 and reply_mac_is_valid(raw, mac, KEY)


@pytest.mark.parametrize(
    "failure", ["badsig", "badkey", "badtime", "badtrunc", "short-mac"], ids=str
)
def test_tsig_error_reply_to_an_edns_request_has_an_opt(edge: Server, failure: str) -> None:
    """RFC 6891 §6.1.1: "If an OPT record is present in a received request, compliant
    responders MUST include an OPT record in their respective responses."  Nothing in RFC
    8945 exempts TSIG error replies (NOTAUTH with BADSIG, BADKEY, BADTIME, BADTRUNC) or the
    FORMERR for a too-short MAC; the OPT sits before the TSIG RR, which stays last."""
    q = query(edns=opt_rr())
    kw: dict[str, object] = {
        "badsig": {"mac": bytes(32)},
        "badkey": {"key_name": "no-such-key."},
        "badtime": {"time_signed": int(time.time()) - 3600},
        "badtrunc": {"mac_len": 16},
        "short-mac": {"mac_len": 8},
    }[failure]
    wire, _ = sign(q, **kw)  # type: ignore[arg-type]
    m = assert_reply_to(udp_exchange(edge, wire), wire)
    assert m.rcode() == (FORMERR if failure == "short-mac" else NOTAUTH) and not m.answer
    assert m.edns == 0, f"no OPT in the {failure} reply to a request with an OPT"


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_tsig_not_last_is_formerr(edge: Server, tcp: bool) -> None:
    """RFC 8945 §5.2: "If multiple TSIG records are detected or a TSIG record is present in
    any other position, the DNS message is dropped and a response with RCODE 1 (FORMERR)
    MUST be returned."  A validly signed query with an OPT appended after the TSIG."""
    signed, _ = sign(query())
    wire = add_rr(signed, opt_rr())
    raw = tcp_exchange(edge, wire) if tcp else udp_exchange(edge, wire)
    m = assert_reply_to(raw, wire)
    assert m.rcode() == FORMERR and not m.answer
    assert_alive(edge)


def test_two_tsig_rrs_are_formerr(edge: Server) -> None:
    """RFC 8945 §5.2, as above: "Multiple TSIG records are not allowed"; two valid-looking
    TSIG RRs at the end of the additional section get FORMERR."""
    signed, mac = sign(query())
    wire = add_rr(signed, tsig_rr(KEY_NAME, "hmac-sha256", int(time.time()), 300, mac, 0x1234))
    for transport, raw in both(edge, wire):
        m = assert_reply_to(raw, wire)
        assert m.rcode() == FORMERR and not m.answer, transport
    assert_alive(edge)


@pytest.mark.parametrize("mac_len", [1, 8, 9, 12, 15], ids=lambda n: f"mac{n}")
def test_mac_shorter_than_the_minimum_is_formerr(edge: Server, mac_len: int) -> None:
    """RFC 8945 §5.2.2.1, case 3: "'MAC Size' field is less than the larger of 10 (octets)
    and half the length of the hash function in use: With the exception of certain TSIG
    error messages [...] this case MUST NOT be generated and, if received, MUST cause the
    DNS message to be dropped and RCODE 1 (FORMERR) to be returned."  HMAC-SHA256: 32
    octets, so every MAC under 16 octets; each is the true MAC, truncated."""
    wire, _ = sign(query(), mac_len=mac_len)
    m = assert_reply_to(udp_exchange(edge, wire), wire)
    assert m.rcode() == FORMERR and not m.answer
    assert_alive(edge)


def test_mac_longer_than_the_hash_is_formerr(edge: Server) -> None:
    """RFC 8945 §5.2.2.1, case 1: "If the 'MAC Size' field is greater than the keyed hash
    output length: This case MUST NOT be generated and, if received, MUST cause the DNS
    message to be dropped and RCODE 1 (FORMERR) to be returned."  33 octets for SHA-256."""
    _, mac = sign(query())
    wire, _ = sign(query(), mac=mac + b"\x00")
    m = assert_reply_to(udp_exchange(edge, wire), wire)
    assert m.rcode() == FORMERR and not m.answer
    assert_alive(edge)


@pytest.mark.parametrize("mac_len", [16, 20, 31])
def test_allowed_truncation_is_accepted_or_badtrunc_signed(edge: Server, mac_len: int) -> None:
    """RFC 8945 §5.2.2.1, case 4: a MAC of at least max(10, hash/2) octets is a truncation
    the RFC allows; §5.2.4 lets local policy refuse it: "If a TSIG is received with
    truncation that is below the local policy [...], the server MUST return a TSIG error
    with an RCODE of 9 (NOTAUTH) and a TSIG ERROR of 22 (BADTRUNC)", and §5.3.2: when "the
    MAC is too short for the local policy, the server SHOULD send back a signed error
    message".  leasedns (like BIND for a key configured without truncation) answers
    BADTRUNC; whichever answer comes, it is signed and verifies over the truncated MAC."""
    wire, mac = sign(query(), mac_len=mac_len)
    raw = udp_exchange(edge, wire)
    m = assert_reply_to(raw, wire)
    assert raw is not None
    rd = reply_tsig(raw)
    if m.rcode() == NOERROR:
        assert rd.error == 0 and m.answer
    else:
        assert m.rcode() == NOTAUTH and rd.error == BADTRUNC and not m.answer
    assert reply_mac_is_valid(raw, mac, KEY), "the reply is not signed over the request MAC"


def test_time_outside_fudge_is_badtime_signed_with_our_clock(edge: Server) -> None:
    """RFC 8945 §5.2.3: "If the server time is outside the time interval specified by the
    request (which is the Time Signed value plus/minus the Fudge value), the server MUST
    generate an error response with an RCODE of 9 (NOTAUTH) and TSIG ERROR 18 (BADTIME).
    [...] A response indicating a BADTIME error MUST be signed by the same key as the
    request."  §4.2: Other Data then holds "the server's current time" (6 octets)."""
    for skew in (-3600, +3600):
        before = int(time.time())
        wire, mac = sign(query(), time_signed=before + skew, fudge=300)
        raw = udp_exchange(edge, wire)
        after = int(time.time())
        m = assert_reply_to(raw, wire)
        assert raw is not None and m.rcode() == NOTAUTH and not m.answer
        rd = reply_tsig(raw)
        assert rd.error == BADTIME and len(rd.other) == 6
        hi, lo = struct.unpack("!HI", rd.other)
        assert before - 2 <= (hi << 32 | lo) <= after + 2, "Other Data is not the server's time"
        assert reply_mac_is_valid(raw, mac, KEY), "the BADTIME reply is not signed with the key"


@pytest.mark.parametrize(
    ("key_name", "algorithm"),
    [(KEY_NAME, "hmac-unknown."), (KEY_NAME, "hmac-sha512."), ("no-such-key.", "hmac-sha256.")],
    ids=["unknown-algorithm", "other-algorithm", "unknown-key"],
)
def test_unknown_key_or_algorithm_is_badkey_unsigned(
    edge: Server, key_name: str, algorithm: str
) -> None:
    """RFC 8945 §5.2.1: "If a non-forwarding server does not recognize the key or algorithm
    used by the client (or recognizes the algorithm but does not implement it), the server
    MUST generate an error response with RCODE 9 (NOTAUTH) and TSIG ERROR 17 (BADKEY).
    This response MUST be unsigned as specified in Section 5.3.2" (MAC Size 0)."""
    wire, _ = sign(query(), key_name=key_name, algorithm=algorithm, mac=bytes(32))
    for transport, raw in both(edge, wire):
        m = assert_reply_to(raw, wire)
        assert raw is not None and m.rcode() == NOTAUTH and not m.answer, transport
        rd = reply_tsig(raw)
        assert rd.error == BADKEY and rd.mac == b"", transport


def test_wrong_mac_is_badsig_unsigned(edge: Server) -> None:
    """RFC 8945 §5.2.2: a MAC that does not verify: NOTAUTH, TSIG ERROR 16 (BADSIG), and
    §5.3.2: "It MUST NOT send back a signed error message" for an error in the MAC."""
    wire, _ = sign(query(), mac=bytes(32))
    m = assert_reply_to(udp_exchange(edge, wire), wire)
    assert m.rcode() == NOTAUTH and not m.answer
    rd = m.tsig[0] if m.tsig else None
    assert rd is not None and rd.error == BADSIG and rd.mac == b""


def test_signed_axfr_every_message_signed(edge: Server) -> None:
    """RFC 8945 §5.3.1: in a multi-message reply each message is signed, the first over the
    request MAC, each later one over the previous MAC (verified by dnspython's
    multi-message validation, message by message).  The zone needs several messages."""
    q = dns.message.make_query(EDGE, "AXFR")
    q.use_tsig(KEYRING, KEY.name, algorithm=KEY.algorithm)
    wire = q.to_wire()
    msgs: list[dns.message.Message] = []
    ctx = None
    soas = 0
    with tcp_connect(edge, timeout=10) as s:
        s.sendall(frame(wire))
        while soas < 2:
            m = dns.message.from_wire(
                tcp_read(s),
                keyring=KEYRING,
                request_mac=q.mac,
                xfr=True,
                origin=dns.name.from_text(EDGE),
                tsig_ctx=ctx,
                multi=True,
            )
            ctx = m.tsig_ctx
            assert m.rcode() == NOERROR and m.had_tsig, f"message {len(msgs)} not signed"
            msgs.append(m)
            soas += sum(1 for rrset in m.answer if rrset.rdtype == T_SOA for _ in rrset)
    assert len(msgs) >= 3
    records = sum(len(rrset) for m in msgs for rrset in m.answer)
    assert records == HOSTS + 2 + 2 + 3 + 1  # hosts, apex SOA/NS, ns/www, 3 TXT, closing SOA
    # The same transfer as a secondary takes it with dnspython's client.
    zone = dns.zone.Zone(EDGE)
    xfr = dns.message.make_query(EDGE, "AXFR")
    xfr.use_tsig(KEYRING, KEY.name, algorithm=KEY.algorithm)
    dns.query.inbound_xfr(edge.host, zone, xfr, port=edge.port, timeout=10, lifetime=20)
    assert zone.get_rdataset(f"h2999.{EDGE}", "A") is not None


# == RFC 1996: NOTIFY =========================================================================


def notify(zone: str, qid: int = 0x0901, flags: int = AA) -> bytes:
    """RFC 1996 §3.7: opcode NOTIFY (4), QTYPE SOA, the zone as QNAME."""
    return query(zone, T_SOA, qid=qid, flags=flags | (4 << 11))


def notify_with_soa(zone: str) -> bytes:
    """RFC 1996 §3.7: "The master MAY include the SOA in the answer section"."""
    m = dns.message.make_query(zone, "SOA", flags=dns.flags.AA, use_edns=False)
    m.set_opcode(dns.opcode.NOTIFY)
    soa = f"ns.{zone} hostmaster.{zone} 4000000000 3600 600 86400 60"
    m.answer.append(dns.rrset.from_text(zone, 300, "IN", "SOA", soa))
    return m.to_wire()


@pytest.mark.parametrize(
    ("tcp", "kind"),
    [(False, "plain"), (True, "plain"), (False, "with-soa"), (False, "signed")],
    ids=["udp", "tcp", "udp-with-soa", "udp-signed"],
)
def test_notify_for_a_zone_we_are_primary_for(edge: Server, tcp: bool, kind: str) -> None:
    """RFC 1996 §4.7: the response is "intended to be identical to the NOTIFY request,
    except that the QR bit is also set": ID, op NOTIFY, NOERROR, flags QR AA, qcount 1,
    the zone, its class, T_SOA.  (A primary has nothing to refresh; BIND also answers
    NOERROR with AA.)  With the SOA in the answer section (§3.7) too, and a signed NOTIFY
    gets a signed reply (RFC 8945 §5.3)."""
    wire, mac = notify(EDGE), b""
    if kind == "with-soa":
        wire = notify_with_soa(EDGE)
    elif kind == "signed":
        wire, mac = sign(wire)
    raw = tcp_exchange(edge, wire) if tcp else udp_exchange(edge, wire)
    if mac:
        assert raw is not None and reply_mac_is_valid(raw, mac, KEY)
    m = assert_reply_to(raw, wire)
    assert m.opcode() == dns.opcode.NOTIFY and m.rcode() == NOERROR
    assert m.flags & QR and m.flags & AA
    assert raw is not None and raw[12:][: len(question(EDGE, T_SOA))] == question(EDGE, T_SOA)
    assert struct.unpack_from("!H", raw, 4)[0] == 1


def test_notify_for_a_zone_not_served(edge: Server) -> None:
    """RFC 1996 §3.10 has a secondary "ignore the request and produce an error message in
    its operations log" for a NOTIFY from an unknown primary; servers answer NOTAUTH (BIND,
    Knot, leasedns) or REFUSED.  No AA, no data."""
    wire = notify("other.test.")
    m = assert_reply_to(udp_exchange(edge, wire), wire)
    assert m.rcode() in (NOTAUTH, REFUSED) and not m.answer and not m.flags & AA


def test_notify_with_qr_set_gets_no_reply(edge: Server) -> None:
    """RFC 1996 §3.3: a NOTIFY with QR set is a response; §4.8: a primary receiving one only
    takes it off its retry queue.  An unsolicited one, with and without AA, is not answered."""
    assert no_udp_reply(edge, notify(EDGE, flags=QR | AA), notify(EDGE, qid=0x0902, flags=QR))
    assert_alive(edge)


# == RFC 5936 / RFC 1995: zone transfers ======================================================


def current_serial(server: Server, zone: str = EDGE) -> int:
    m = parse(udp_exchange(server, query(zone, T_SOA)) or b"")
    return int(m.answer[0][0].serial)


def ixfr_request(zone: str, serial: int, qid: int = 0x0A01) -> bytes:
    """RFC 1995 §3: the client's SOA in the authority section."""
    m = dns.message.make_query(zone, "IXFR", use_edns=False)
    m.id = qid
    soa = f"ns.{zone} hostmaster.{zone} {serial} 3600 600 86400 60"
    m.authority.append(dns.rrset.from_text(zone, 0, "IN", "SOA", soa))
    return m.to_wire()


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_ixfr_with_a_newer_serial_gets_the_current_soa(edge: Server, tcp: bool) -> None:
    """RFC 1995 §2: "If an IXFR query with the same or newer version number than that of
    the server is received, it is replied to with a single SOA record of the server's
    current version, just as in AXFR."  Newer by serial arithmetic (RFC 1982), also
    across the wrap."""
    cur = current_serial(edge)
    for newer in (cur + 10, (cur + 2**31 - 1) % 2**32):
        wire = ixfr_request(EDGE, newer)
        raw = tcp_exchange(edge, wire) if tcp else udp_exchange(edge, wire)
        m = assert_reply_to(raw, wire)
        assert m.rcode() == NOERROR
        rrs = [rd for rrset in m.answer for rd in rrset]
        assert len(rrs) == 1 and rrs[0].rdtype == T_SOA and rrs[0].serial == cur, m


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_ixfr_for_a_zone_not_served(edge: Server, tcp: bool) -> None:
    """RFC 5936 §2.2.1 note e) (which IXFR follows, RFC 1995 §2 "just as in AXFR"): "If a
    server is not authoritative for the queried zone, the server SHOULD set the value to
    NotAuth(9)."  REFUSED is the other answer seen in the field; no data either way."""
    wire = ixfr_request("other.test.", 1)
    raw = tcp_exchange(edge, wire) if tcp else udp_exchange(edge, wire)
    m = assert_reply_to(raw, wire)
    assert m.rcode() in (NOTAUTH, REFUSED) and not m.answer


def test_axfr_of_a_name_below_the_apex_is_notauth(edge: Server) -> None:
    """RFC 5936 §2.2.1 note e): "If a server is not authoritative for the queried zone, the
    server SHOULD set the value to NotAuth(9)"; www.edge.test. is a name in a zone, not a
    zone."""
    for name in (f"www.{EDGE}", f"h0001.{EDGE}", "lab.example.edge.test."):
        wire = query(name, 252)
        m = assert_reply_to(tcp_exchange(edge, wire), wire)
        assert m.rcode() == NOTAUTH and not m.answer, name


def test_axfr_over_udp_is_not_served(edge: Server) -> None:
    """RFC 5936 §4.2: "AXFR sessions over UDP transport are not defined."  Whether unsigned,
    signed with a key allowed to transfer, or with EDNS: no zone content over UDP (BIND
    FORMERR, Knot NOTIMP, leasedns REFUSED; none is required)."""
    signed, _ = sign(query(EDGE, 252))
    for wire in (query(EDGE, 252), signed, query(EDGE, 252, edns=opt_rr(payload=4096))):
        raw = udp_exchange(edge, wire, NO_REPLY_WAIT)
        if raw is None:
            continue
        m = assert_reply_to(raw, wire)
        assert m.rcode() != NOERROR and not m.answer, m
    assert_alive(edge)
