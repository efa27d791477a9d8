"""The batched UDP reader on real loopback sockets: every reply in a burst, IDs, 0x20, cache hits."""

from __future__ import annotations

import random
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dns.message
import dns.rcode
import dns.rdatatype
import pytest
from twisted.internet import reactor
from twisted.internet.error import CannotListenError

from leasedns.config import Config, ZoneConfig
from leasedns.net import udp_batch
from leasedns.net.udp_batch import BatchUdpReader, listen_udp
from leasedns.server.core import ServerCore
from leasedns.server.dispatch import Reply
from leasedns.store.memory_kv import MemoryKV
from leasedns.store.zonestore import Store

HOSTS = 10
ZONE = (
    "$ORIGIN batch.test.\n$TTL 300\n"
    "@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n"
    "@ IN NS ns1\nns1 IN A 192.0.2.1\n"
    + "".join(f"h{i} IN A 192.0.2.{10 + i}\n" for i in range(HOSTS))
    + "".join(f'big IN TXT "{i:03d}{"x" * 240}"\n' for i in range(24))
)

pytestmark = pytest.mark.skipif(not udp_batch.available(), reason="needs recvmmsg/sendmmsg")


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


FAMILIES = [
    pytest.param((socket.AF_INET, "127.0.0.1"), id="ipv4"),
    pytest.param(
        (socket.AF_INET6, "::1"),
        id="ipv6",
        marks=pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback"),
    ),
]


@pytest.fixture
def core(tmp_path: Path) -> ServerCore:
    zone = tmp_path / "batch.test.zone"
    zone.write_text(ZONE)
    cfg = Config(
        zones=[ZoneConfig(file=str(zone))],
        data_dir=str(tmp_path),
        http=None,
        max_udp_payload=8192,
    )
    c = ServerCore(cfg, Store(MemoryKV()))
    report = c.load_zones(first_start=True)
    assert not report.errors and report.loaded
    return c


class Pair:
    """A server-side reader (driven by hand, as the reactor would) and a client socket."""

    def __init__(self, core: ServerCore, family: int, host: str) -> None:
        server = socket.socket(family, socket.SOCK_DGRAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        server.bind((host, 0))
        server.setblocking(False)
        self.reader = BatchUdpReader(core, server)
        self.server_addr = server.getsockname()
        self.client = socket.socket(family, socket.SOCK_DGRAM)
        self.client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.client.bind((host, 0))
        self.client.setblocking(False)

    def burst(self, datagrams: list[bytes], expect: int, settle: float = 0.0) -> list[bytes]:
        """Send all of ``datagrams`` before the reader runs, then collect ``expect`` replies
        (and anything else arriving within ``settle`` seconds after that)."""
        for d in datagrams:
            self.client.sendto(d, self.server_addr)
        replies: list[bytes] = []
        deadline = time.monotonic() + 5.0
        while len(replies) < expect and time.monotonic() < deadline:
            self.reader.doRead()
            replies += self.drain()
            time.sleep(0.001)
        end = time.monotonic() + settle
        while time.monotonic() < end:
            self.reader.doRead()
            replies += self.drain()
            time.sleep(0.005)
        return replies

    def drain(self) -> list[bytes]:
        out = []
        while True:
            try:
                out.append(self.client.recv(65535))
            except BlockingIOError:
                return out

    def close(self) -> None:
        self.reader.connectionLost(None)
        self.client.close()


@pytest.fixture(params=FAMILIES)
def pair(request: pytest.FixtureRequest, core: ServerCore) -> Iterator[Pair]:
    family, host = request.param
    p = Pair(core, family, host)
    yield p
    p.close()


def mixed_case(text: str, rng: random.Random) -> str:
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in text)


def query(name: str, qid: int, rdtype: str = "A", payload: int | None = None) -> bytes:
    q = dns.message.make_query(name, rdtype, use_edns=payload is not None, payload=payload or 0)
    q.id = qid
    return q.to_wire()


def host_queries(count: int, rng: random.Random, ids: Iterator[int]) -> dict[int, bytes]:
    """``count`` queries for h0..h9 in random letter case, by their (unique) ID."""
    out = {}
    for _ in range(count):
        qid = next(ids)
        out[qid] = query(mixed_case(f"h{rng.randrange(HOSTS)}.batch.test.", rng), qid)
    return out


def by_id(replies: list[bytes]) -> dict[int, bytes]:
    out = {struct.unpack(">H", r[:2])[0]: r for r in replies}
    assert len(out) == len(replies), "one reply per query"
    return out


def fresh(core: ServerCore, q: bytes) -> bytes:
    """The answer the core computes without the cache."""
    wire = core.handle(q, ("192.0.2.99", 53), False).wire
    assert wire is not None
    return wire


def assert_answers(core: ServerCore, sent: dict[int, bytes], got: dict[int, bytes]) -> None:
    for qid, q in sent.items():
        r = got[qid]
        assert r == fresh(core, q)  # byte for byte, cached or not
        assert r[12 : len(q)] == q[12:]  # the question echoed in the client's own case
        msg = dns.message.from_wire(r)
        assert msg.id == qid and msg.rcode() == dns.rcode.NOERROR
        name = msg.question[0].name.to_text().lower()
        host = int(name.split(".")[0][1:])
        assert [rd.address for rd in msg.answer[0]] == [f"192.0.2.{10 + host}"]


def hits(core: ServerCore) -> int:
    return sum(core.cache.hit_counts().values())


def test_available_on_linux() -> None:
    assert udp_batch.available()


def test_burst_answers_every_query_and_counts_hits(pair: Pair, core: ServerCore) -> None:
    rng = random.Random(7)
    ids = iter(rng.sample(range(1 << 16), 400))
    first = host_queries(150, rng, ids)  # more than two batches: 64 + 64 + 22
    got = by_id(pair.burst(list(first.values()), len(first)))
    assert set(got) == set(first)
    assert_answers(core, first, got)
    counters = core.dispatcher.counters
    # One miss per distinct (case-folded) question; every other one is served from the cache.
    assert counters.cache_misses == HOSTS
    assert hits(core) == 150 - HOSTS

    second = host_queries(150, rng, ids)
    got = by_id(pair.burst(list(second.values()), len(second)))
    assert_answers(core, second, got)
    assert counters.cache_misses == HOSTS
    assert hits(core) == 300 - HOSTS


def test_malformed_packets_in_a_batch_do_not_stop_the_others(pair: Pair, core: ServerCore) -> None:
    rng = random.Random(11)
    ids = iter(rng.sample(range(1 << 16), 200))
    good = host_queries(60, rng, ids)
    bad_id = next(ids)
    bad = [
        b"\x01\x02\x03",  # too short: dropped
        query("h1.batch.test.", next(ids))[:2] + b"\x81\x00" + query("h1.batch.test.", 0)[4:],
        struct.pack(">HH4H", bad_id, 0x0100, 1, 0, 0, 0) + b"\x05abc",  # cut-off question
    ]
    datagrams = list(good.values())
    for n, b in enumerate(bad):
        datagrams.insert(15 + 15 * n, b)
    counters = core.dispatcher.counters
    malformed, dropped = counters.malformed, counters.dropped
    replies = pair.burst(datagrams, len(good) + 1, settle=0.05)
    got = by_id(replies)
    formerr = got.pop(bad_id)
    assert dns.message.from_wire(formerr, question_only=True).rcode() == dns.rcode.FORMERR
    assert set(got) == set(good)
    assert_answers(core, good, got)
    assert (counters.malformed, counters.dropped) == (malformed + 1, dropped + 2)


def test_an_exception_in_handle_is_contained(
    pair: Pair, core: ServerCore, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = core.handle

    def handle(data: bytes, addr: object, tcp: bool, send: Any = None) -> Reply:
        if b"\x04boom" in data.lower():
            raise RuntimeError("a bug in the slow path")
        return real(data, addr, tcp, send)

    monkeypatch.setattr(core, "handle", handle)
    rng = random.Random(3)
    ids = iter(rng.sample(range(1 << 16), 200))
    good = host_queries(40, rng, ids)
    datagrams = list(good.values())
    for at in (5, 20, 35):
        datagrams.insert(at, query("boom.batch.test.", next(ids)))
    before = core.dispatcher.counters.malformed
    got = by_id(pair.burst(datagrams, len(good), settle=0.05))
    assert set(got) == set(good)
    assert core.dispatcher.counters.malformed == before + 3
    # The reader is still serving.
    more = host_queries(5, rng, ids)
    assert set(by_id(pair.burst(list(more.values()), len(more)))) == set(more)


def test_oversized_datagram_is_dropped(pair: Pair, core: ServerCore) -> None:
    rng = random.Random(5)
    ids = iter(rng.sample(range(1 << 16), 100))
    good = host_queries(20, rng, ids)
    huge = query("h1.batch.test.", next(ids)) + b"\x00" * (udp_batch.RECV_SLOT + 100)
    datagrams = list(good.values())
    datagrams.insert(10, huge)
    before = core.dispatcher.counters.malformed
    got = by_id(pair.burst(datagrams, len(good), settle=0.05))
    assert set(got) == set(good)
    assert core.dispatcher.counters.malformed == before + 1


def test_a_reply_larger_than_a_send_slot_still_goes_out(pair: Pair, core: ServerCore) -> None:
    q = query("big.batch.test.", 4242, "TXT", payload=8192)
    small = host_queries(10, random.Random(1), iter(range(100, 200)))
    replies = by_id(pair.burst([q, *small.values()], 11))
    assert len(replies[4242]) > udp_batch.SEND_SLOT
    assert replies[4242] == fresh(core, q)
    assert len(dns.message.from_wire(replies[4242]).answer[0]) == 24
    del replies[4242]
    assert_answers(core, small, replies)


def test_a_deferred_reply_reaches_the_sender(
    pair: Pair, core: ServerCore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As an UPDATE's reply after group commit: nothing now, the wire later through ``send``."""
    real = core.handle
    later: list[tuple[bytes, Any, Any]] = []

    def handle(data: bytes, addr: object, tcp: bool, send: Any = None) -> Reply:
        if b"\x05later" in data.lower():
            later.append((data, addr, send))
            return Reply(None)
        return real(data, addr, tcp, send)

    monkeypatch.setattr(core, "handle", handle)
    rng = random.Random(9)
    ids = iter(rng.sample(range(1 << 16), 100))
    good = host_queries(30, rng, ids)
    late_id = next(ids)
    datagrams = list(good.values())
    datagrams.insert(12, query("later.batch.test.", late_id))
    got = by_id(pair.burst(datagrams, len(good), settle=0.05))
    assert set(got) == set(good)
    assert_answers(core, good, got)

    [(data, addr, send)] = later
    client = pair.client.getsockname()
    assert addr == (client[0], client[1])  # (host, port), as Twisted gives it for IPv6 too
    send(data[:2] + b"\x84\x00" + data[4:])
    time.sleep(0.01)
    [reply] = pair.drain()
    assert struct.unpack(">H", reply[:2])[0] == late_id


def test_listen_udp_registers_with_the_reactor_and_stops(core: ServerCore) -> None:
    reader = listen_udp(core, "127.0.0.1", 0)
    try:
        assert reader in reactor.getReaders()  # type: ignore[attr-defined]
        port = reader.getHost().port
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
            with pytest.raises(CannotListenError):
                listen_udp(core, "127.0.0.1", port)
            busy.settimeout(2)
            busy.sendto(query("h3.batch.test.", 77), ("127.0.0.1", port))
            reader.doRead()
            reply = dns.message.from_wire(busy.recv(4096))
            assert reply.id == 77 and reply.answer[0][0].address == "192.0.2.13"
    finally:
        reader.stopListening()
    assert reader not in reactor.getReaders()  # type: ignore[attr-defined]
    assert reader.fileno() == -1
    reader.stopListening()  # twice is harmless
