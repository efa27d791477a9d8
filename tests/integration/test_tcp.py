"""DNS over TCP as RFC 7766 wants it: connection reuse, pipelining, idle timeout, a cap."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import dns.flags
import dns.message
import dns.rcode
import pytest
from serverkit import Server, closed_by_peer, make_server, tcp_connect, tcp_read

QUERIES = [
    ("hv1.lab.example.", "A", "10.0.0.11"),
    ("hv2.lab.example.", "A", "10.0.0.12"),
    ("hv3.lab.example.", "A", "10.0.0.13"),
    ("nas.lab.example.", "AAAA", "fd00:10::20"),
    ("mail.lab.example.", "A", "10.0.0.25"),
    ("web.lab.example.", "A", "10.0.0.40"),
    ("ns2.lab.example.", "A", "10.0.0.3"),
    ("x.dev.lab.example.", "A", "10.0.0.99"),
    ("printer2.lab.example.", "A", "10.0.0.31"),
    ("111.0.0.10.in-addr.arpa.", "PTR", "dhcp-111.lab.example."),
]


def frame(q: dns.message.Message) -> bytes:
    wire = q.to_wire()
    return len(wire).to_bytes(2, "big") + wire


def check_answer(raw: bytes, q: dns.message.Message, expected: str) -> None:
    r = dns.message.from_wire(raw)
    assert q.is_response(r), r
    assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA
    assert [rd.to_text() for rd in r.answer[-1]] == [expected]


def query_on(s: socket.socket, name: str = "hv1.lab.example.", expected: str = "10.0.0.11") -> None:
    q = dns.message.make_query(name, "A")
    s.sendall(frame(q))
    check_answer(tcp_read(s), q, expected)


def test_several_queries_on_one_connection(lab_server: Server) -> None:
    with tcp_connect(lab_server) as s:
        for name, rtype, expected in QUERIES:
            q = dns.message.make_query(name, rtype)
            s.sendall(frame(q))
            check_answer(tcp_read(s), q, expected)


def test_pipelined_queries(lab_server: Server) -> None:
    """RFC 7766 §6.2.1.1: all ten sent at once; ten answers come back, matched by ID."""
    qs = [dns.message.make_query(n, t) for n, t, _ in QUERIES]
    assert len({q.id for q in qs}) == len(qs)
    with tcp_connect(lab_server) as s:
        s.sendall(b"".join(frame(q) for q in qs))
        got = {}
        for _ in qs:
            raw = tcp_read(s)
            got[int.from_bytes(raw[:2], "big")] = raw
    for q, (_, _, expected) in zip(qs, QUERIES, strict=True):
        check_answer(got[q.id], q, expected)


def test_message_split_across_segments(lab_server: Server) -> None:
    """RFC 7766 §8: the length and the message may arrive in any number of pieces."""
    q = dns.message.make_query("hv2.lab.example.", "A")
    data = frame(q)
    with tcp_connect(lab_server) as s:
        for i in range(len(data)):
            s.sendall(data[i : i + 1])
            time.sleep(0.002)
        check_answer(tcp_read(s), q, "10.0.0.12")


def test_two_messages_in_one_segment_with_a_partial_third(lab_server: Server) -> None:
    qs = [dns.message.make_query(n, t) for n, t, _ in QUERIES[:3]]
    data = b"".join(frame(q) for q in qs)
    cut = len(frame(qs[0])) + len(frame(qs[1])) + 5
    with tcp_connect(lab_server) as s:
        s.sendall(data[:cut])
        check_answer(tcp_read(s), qs[0], QUERIES[0][2])
        check_answer(tcp_read(s), qs[1], QUERIES[1][2])
        s.sendall(data[cut:])
        check_answer(tcp_read(s), qs[2], QUERIES[2][2])


def _server_with(tmp: Path, yaml_text: str) -> Server:
    cfg = tmp / "leasedns.yaml"
    cfg.write_text(yaml_text)
    s = make_server(tmp, extra=["--config", str(cfg)])
    s.start()
    return s


@pytest.fixture(scope="module")
def idle_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = _server_with(tmp_path_factory.mktemp("idle"), "tcp_idle_timeout: 1\n")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def capped_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = _server_with(tmp_path_factory.mktemp("cap"), "tcp_max_connections: 3\n")
    yield s
    s.stop()


def test_idle_timeout_closes_connection(idle_server: Server) -> None:
    """RFC 7766 §6.2.3: the server closes a connection that stays quiet."""
    with tcp_connect(idle_server) as s:
        query_on(s)
        t0 = time.monotonic()
        assert closed_by_peer(s, within=4.0), "idle connection was not closed"
        assert 0.7 <= time.monotonic() - t0 <= 3.0
    with tcp_connect(idle_server) as s:  # a fresh connection works
        query_on(s)


def test_idle_timer_restarts_with_each_query(idle_server: Server) -> None:
    with tcp_connect(idle_server) as s:
        for _ in range(3):  # 3 x 0.45 s in all, longer than the 1 s timeout
            time.sleep(0.45)
            query_on(s)
        assert closed_by_peer(s, within=4.0)


def test_idle_timeout_without_any_query(idle_server: Server) -> None:
    with tcp_connect(idle_server) as s:
        assert closed_by_peer(s, within=4.0)


def open_working(server: Server, timeout: float = 3.0) -> socket.socket:
    """A connection that has answered a query; retried while the server still counts
    connections the client already closed (it learns of a close asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        s = tcp_connect(server)
        try:
            query_on(s)
            return s
        except (EOFError, ConnectionResetError):
            s.close()
            assert time.monotonic() < deadline, "no room for a connection"
            time.sleep(0.05)


def test_connection_cap(capped_server: Server) -> None:
    """With tcp_max_connections 3, a fourth connection is closed at once."""
    conns = [open_working(capped_server) for _ in range(3)]
    try:
        with tcp_connect(capped_server) as extra:
            assert closed_by_peer(extra, within=2.0), "fourth connection was not closed"
        for c in conns:  # the three keep working
            query_on(c)
        conns.pop().close()
        open_working(capped_server).close()
    finally:
        for c in conns:
            c.close()
