"""The wire answer cache: which queries get a key, replay with another ID and case, invalidation."""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from typing import Any

import dns.message
import dns.rdatatype
import pytest

from leasedns.query.lookup import Kind, LookupResult
from leasedns.query.zoneindex import ZoneIndex
from leasedns.server.answer_cache import AnswerCache, cache_key
from leasedns.server.dispatch import Dispatcher
from leasedns.store.zonestore import Store
from leasedns.wire.names import from_text

WWW = b"\x03www\x03lab\x04test\x00"
LAB = from_text("lab.test.")
OTHER = from_text("other.test.")


def query(
    qname: bytes = WWW,
    qtype: int = 1,
    qid: int = 1,
    flags: int = 0x0100,
    counts: tuple[int, int, int, int] = (1, 0, 0, 0),
    tail: bytes = b"",
) -> bytes:
    return struct.pack(">HH4H", qid, flags, *counts) + qname + struct.pack(">HH", qtype, 1) + tail


def opt(payload: int = 1232, do: bool = False) -> bytes:
    return b"\x00" + struct.pack(">HHIH", 41, payload, 0x8000 if do else 0, 0)


# -- cache_key -----------------------------------------------------------------------


def test_key_ignores_id_and_name_case() -> None:
    a = cache_key(query(qid=1))
    b = cache_key(query(qname=b"\x03WWW\x03LaB\x04TEST\x00", qid=0xFFFF))
    assert a is not None and b is not None
    assert a == b
    assert a[1] == 12 + len(WWW) + 4  # end of the question


def test_key_lowercases_only_the_name() -> None:
    # Regression: a QTYPE byte 0x41 ('A') must not be folded onto 0x61 ('a').
    upper = cache_key(query(qtype=0x0041))
    lower = cache_key(query(qtype=0x0061))
    assert upper is not None and lower is not None
    assert upper[0] != lower[0]
    # Nor may the bytes after the question (here an OPT payload of 0x1041 vs 0x1061).
    k1 = cache_key(query(counts=(1, 0, 0, 1), tail=opt(0x1041)))
    k2 = cache_key(query(counts=(1, 0, 0, 1), tail=opt(0x1061)))
    assert k1 is not None and k2 is not None and k1[0] != k2[0]


def test_key_includes_flags_and_edns_shape() -> None:
    keys = {
        cache_key(query(flags=0x0100))[0],  # type: ignore[index]
        cache_key(query(flags=0x0000))[0],  # type: ignore[index]
        cache_key(query(flags=0x0110))[0],  # type: ignore[index]
        cache_key(query(counts=(1, 0, 0, 1), tail=opt()))[0],  # type: ignore[index]
        cache_key(query(counts=(1, 0, 0, 1), tail=opt(do=True)))[0],  # type: ignore[index]
    }
    assert len(keys) == 5


@pytest.mark.parametrize(
    "data",
    [
        query()[:16],  # too short
        query(flags=0x8100),  # a response
        query(flags=0x2000),  # opcode NOTIFY
        query(flags=0x2800),  # opcode UPDATE
        query(counts=(2, 0, 0, 0)),  # two questions
        query(counts=(0, 0, 0, 0)),
        query(counts=(1, 1, 0, 0)),
        query(counts=(1, 0, 1, 0)),
        query(qname=b"\x03www\xc0\x0c"),  # compressed QNAME
        query(qname=b"\x40" + b"a" * 64 + b"\x00"),
        query()[:-1],  # QCLASS cut short
        struct.pack(">HH4H", 1, 0, 1, 0, 0, 0) + b"\x10abc",  # label runs past the end
        struct.pack(">HH4H", 1, 0, 1, 0, 0, 0) + b"\x03abc\x03de",
    ],
)
def test_key_refuses(data: bytes) -> None:
    assert cache_key(data) is None


# -- entries and invalidation -------------------------------------------------------------


def result(
    deps: Iterable[tuple[bytes, ...]] = (), volatile: Iterable[tuple[bytes, ...]] = ()
) -> LookupResult:
    return LookupResult(Kind.ANSWER, deps=set(deps), volatile=set(volatile))


def response_for(data: bytes, rcode: int = 0) -> bytes:
    """A stand-in response: the query's header with QR and RCODE set, plus one byte of answer."""
    flags = struct.unpack(">H", data[2:4])[0] | 0x8000 | rcode
    return data[:2] + struct.pack(">H", flags) + data[4:] + b"\x99"


def put(
    cache: AnswerCache, name: bytes, res: LookupResult | None, qtype: int = 1, rcode: int = 0
) -> bytes:
    data = query(qname=name, qtype=qtype)
    k = cache_key(data)
    assert k is not None
    cache.put(k[0], k[1], response_for(data, rcode), res)
    return k[0]


def label_wire(text: str) -> bytes:
    return b"".join(bytes([len(x)]) + x.encode() for x in text.split(".")) + b"\x00"


def test_put_stores_header_tail_and_shape() -> None:
    cache = AnswerCache()
    k = put(cache, WWW, result(), qtype=28, rcode=3)
    e = cache.get(k)
    assert e is not None
    assert e[0] == b"\x81\x03\x00\x01\x00\x00\x00\x00\x00\x00"
    assert e[1] == b"\x99"
    assert e[2:] == [0, 28, 3, False]  # hits, qtype, rcode, TC
    assert len(cache) == 1


def test_put_without_result_or_with_short_response_is_ignored() -> None:
    cache = AnswerCache()
    put(cache, WWW, None)
    data = query()
    k = cache_key(data)
    assert k is not None
    cache.put(k[0], k[1], data[:20], result())
    assert len(cache) == 0


def test_invalidate_by_name_drops_dependants_only() -> None:
    cache = AnswerCache()
    www, mail, mx = (from_text(x + ".lab.test.") for x in ("www", "mail", "mx"))
    k1 = put(cache, label_wire("www.lab.test"), result({www}))
    k2 = put(cache, label_wire("mail.lab.test"), result({mail}))
    k3 = put(cache, label_wire("lab.test"), result({LAB, mail, mx}))
    cache.invalidate([mail], LAB)
    assert cache.get(k1) is not None
    assert cache.get(k2) is None
    assert cache.get(k3) is None
    cache.invalidate([from_text("unrelated.lab.test.")], LAB)
    assert cache.get(k1) is not None


def test_volatile_entries_dropped_on_any_change_in_their_zone() -> None:
    cache = AnswerCache()
    www = from_text("www.lab.test.")
    positive = put(cache, label_wire("www.lab.test"), result({www}))
    negative = put(cache, label_wire("nope.lab.test"), result({from_text("nope.lab.test.")}, {LAB}))
    elsewhere = put(cache, label_wire("nope.other.test"), result(set(), {OTHER}))
    cache.invalidate([from_text("unrelated.lab.test.")], LAB)
    assert cache.get(positive) is not None
    assert cache.get(negative) is None
    assert cache.get(elsewhere) is not None
    cache.invalidate([], OTHER)
    assert cache.get(elsewhere) is None


def test_structural_change_clears_everything() -> None:
    cache = AnswerCache()
    put(cache, label_wire("www.lab.test"), result({from_text("www.lab.test.")}))
    put(cache, label_wire("www.other.test"), result({from_text("www.other.test.")}))
    cache.invalidate([], LAB, structural=True)
    assert len(cache) == 0
    assert cache.by_name == {} and cache.volatile == {}


def test_full_cache_starts_over() -> None:
    cache = AnswerCache(max_entries=2)
    put(cache, label_wire("a.lab.test"), result())
    put(cache, label_wire("b.lab.test"), result())
    k = put(cache, label_wire("c.lab.test"), result())
    assert len(cache) == 1
    assert cache.get(k) is not None


def test_hit_counts_fold_dropped_entries() -> None:
    cache = AnswerCache()
    www = from_text("www.lab.test.")
    k1 = put(cache, label_wire("www.lab.test"), result({www}), qtype=1, rcode=0)
    k2 = put(cache, label_wire("aaaa.lab.test"), result({from_text("aaaa.lab.test.")}), qtype=28)
    k3 = put(cache, label_wire("nx.lab.test"), result(set(), {LAB}), qtype=1, rcode=3)
    for k, hits in ((k1, 5), (k2, 2), (k3, 4)):
        e = cache.get(k)
        assert e is not None
        e[2] += hits
    assert cache.hit_counts() == {(1, 0): 5, (28, 0): 2, (1, 3): 4}
    cache.invalidate([www], LAB)  # drops k1 (by name) and k3 (volatile)
    assert len(cache) == 1
    assert cache.hit_counts() == {(1, 0): 5, (28, 0): 2, (1, 3): 4}
    k1 = put(cache, label_wire("www.lab.test"), result({www}))
    e = cache.get(k1)
    assert e is not None
    e[2] += 1
    assert cache.hit_counts()[(1, 0)] == 6
    cache.clear()
    assert cache.hit_counts() == {(1, 0): 6, (28, 0): 2, (1, 3): 4}


# -- replay against the real query path ------------------------------------------------------------

ZONE = """\
$ORIGIN lab.test.
$TTL 3600
@ SOA ns1 hostmaster 1 3600 600 86400 300
  NS ns1
  MX 10 mail
ns1 A 192.0.2.1
mail A 192.0.2.25
www A 192.0.2.80
alias CNAME www
"""


@pytest.mark.parametrize(
    ("first", "second", "qtype"),
    [
        ("www.lab.test.", "WwW.LAB.test.", 1),
        ("lab.test.", "LAB.TEST.", 15),
        ("alias.lab.test.", "ALIAS.lab.TEST.", 1),
        ("nope.lab.test.", "NoPe.LaB.TeSt.", 1),
    ],
)
def test_replay_equals_a_fresh_answer(
    store: Store, load_zone: Callable[..., Any], first: str, second: str, qtype: int
) -> None:
    load_zone(store, ZONE)
    dispatcher = Dispatcher(ZoneIndex([LAB]))
    cache = AnswerCache()
    q1 = dns.message.make_query(
        first, dns.rdatatype.RdataType.make(qtype), use_edns=0, payload=4096, id=1
    ).to_wire()
    q2 = dns.message.make_query(
        second, dns.rdatatype.RdataType.make(qtype), use_edns=0, payload=4096, id=2
    ).to_wire()
    k1, k2 = cache_key(q1), cache_key(q2)
    assert k1 is not None and k2 is not None and k1[0] == k2[0]
    reply = dispatcher.handle(q1, store, None, False)
    assert reply.wire is not None
    cache.put(k1[0], k1[1], reply.wire, reply.result)
    e = cache.get(k2[0])
    assert e is not None
    replayed = q2[:2] + e[0] + q2[12 : k2[1]] + e[1]
    fresh = dispatcher.handle(q2, store, None, False).wire
    assert replayed == fresh
    msg = dns.message.from_wire(replayed)
    assert msg.id == 2
    assert str(msg.question[0].name) == second
