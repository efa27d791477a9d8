"""Zone reads and writes over both backends (the in-memory twin and a real LMDB environment)."""

from __future__ import annotations

from pathlib import Path

import pytest

from leasedns.store import schema
from leasedns.store.lmdb_kv import LmdbKV, StoreVersionError
from leasedns.store.records import (
    AuditEvent,
    JournalEntry,
    Provenance,
    RRsetMeta,
    State,
    ZoneState,
)
from leasedns.store.zonestore import Store

EXAMPLE = (b"example",)
LAB = (b"lab", b"example")
SUB = (b"sub", b"lab", b"example")
A, NS, SOA, TXT, AAAA = 1, 2, 6, 16, 28
V4 = b"\xc0\x00\x02\x01"
V4B = b"\xc0\x00\x02\x02"
SOA_RD = b"\x00\x00" + bytes(20)  # root mname and rname, then five zero counters


def n(*labels: str) -> tuple[bytes, ...]:
    return tuple(x.encode() for x in labels)


def fill(store: Store) -> None:
    """lab.example. with a delegation to sub.lab.example., which is also served itself."""
    meta = RRsetMeta()
    with store.writer() as w:
        w.put_rrset(LAB, LAB, SOA, 3600, (SOA_RD,), meta)
        w.put_rrset(LAB, LAB, NS, 3600, (b"\x02ns\x03lab\x07example\x00",), meta)
        w.put_rrset(LAB, n("www", "lab", "example"), A, 300, (V4, V4B), meta)
        w.put_rrset(LAB, n("www", "lab", "example"), AAAA, 300, (b"\x20\x01" + bytes(14),), meta)
        w.put_rrset(LAB, n("host", "ent", "lab", "example"), A, 60, (V4,), meta)
        w.put_rrset(LAB, SUB, NS, 3600, (b"\x02ns\x03sub\x03lab\x07example\x00",), meta)
        w.put_rrset(LAB, n("ns", "sub", "lab", "example"), A, 3600, (V4,), meta)
        w.put_rrset(SUB, SUB, SOA, 600, (SOA_RD,), meta)
        w.put_rrset(SUB, SUB, NS, 600, (b"\x02ns\x03sub\x03lab\x07example\x00",), meta)
        w.put_rrset(SUB, n("deep", "sub", "lab", "example"), TXT, 600, (b"\x02hi",), meta)
        w.put_rrset(EXAMPLE, EXAMPLE, SOA, 86400, (SOA_RD,), meta)
        w.put_rrset(EXAMPLE, n("zz", "example"), A, 86400, (V4,), meta)
        w.put_zone_state(LAB, ZoneState(origin="lab.example.", serial=1))
        w.put_zone_state(SUB, ZoneState(origin="sub.lab.example.", serial=7))
        w.put_zone_state(EXAMPLE, ZoneState(origin="example.", serial=3))


def test_get_and_types_at(store: Store) -> None:
    fill(store)
    www = n("www", "lab", "example")
    with store.reader() as r:
        assert r.get(LAB, www, A) == (300, (V4, V4B))
        assert r.get(LAB, www, TXT) is None
        assert r.get(SUB, www, A) is None
        assert r.types_at(LAB, www) == {
            A: (300, (V4, V4B)),
            AAAA: (300, (b"\x20\x01" + bytes(14),)),
        }
        assert set(r.types_at(LAB, LAB)) == {SOA, NS}
        assert r.types_at(LAB, n("ent", "lab", "example")) == {}
        assert r.types_at(LAB, n("nope", "lab", "example")) == {}
        # The delegation NS lives in the parent; the child apex data in the child.
        assert set(r.types_at(LAB, SUB)) == {NS}
        assert set(r.types_at(SUB, SUB)) == {SOA, NS}


def test_has_children_detects_empty_non_terminals(store: Store) -> None:
    fill(store)
    with store.reader() as r:
        assert r.has_children(LAB, n("ent", "lab", "example"))  # ENT: no data, a child below
        assert not r.has_children(LAB, n("host", "ent", "lab", "example"))
        assert not r.has_children(LAB, n("www", "lab", "example"))
        assert not r.has_children(LAB, n("nope", "lab", "example"))
        assert r.has_children(LAB, LAB)
        assert r.has_children(LAB, SUB)  # ns.sub glue sits below the cut in the parent
        assert r.has_children(SUB, SUB)
        assert not r.has_children(SUB, n("deep", "sub", "lab", "example"))
        # Another zone's keys never count: example. has only zz below its apex.
        assert r.has_children(EXAMPLE, EXAMPLE)
        assert not r.has_children(EXAMPLE, n("zz", "example"))


def test_has_children_of_owner_whose_name_is_a_prefix_of_a_sibling(store: Store) -> None:
    with store.writer() as w:
        w.put_rrset(LAB, n("ab", "lab", "example"), A, 1, (V4,), RRsetMeta())
        w.put_rrset(LAB, n("a", "lab", "example"), A, 1, (V4,), RRsetMeta())
    with store.reader() as r:
        assert not r.has_children(LAB, n("a", "lab", "example"))


def test_iter_zone_is_canonical_and_isolated(store: Store) -> None:
    fill(store)
    with store.reader() as r:
        lab = [(owner, rtype) for owner, rtype, _, _ in r.iter_zone(LAB)]
        sub = [(owner, rtype) for owner, rtype, _, _ in r.iter_zone(SUB)]
        top = [(owner, rtype) for owner, rtype, _, _ in r.iter_zone(EXAMPLE)]
    assert lab == [
        (LAB, NS),
        (LAB, SOA),
        (n("host", "ent", "lab", "example"), A),
        (SUB, NS),
        (n("ns", "sub", "lab", "example"), A),
        (n("www", "lab", "example"), A),
        (n("www", "lab", "example"), AAAA),
    ]
    assert sub == [(SUB, NS), (SUB, SOA), (n("deep", "sub", "lab", "example"), TXT)]
    assert top == [(EXAMPLE, SOA), (n("zz", "example"), A)]


def test_zones_and_zone_state(store: Store) -> None:
    fill(store)
    with store.reader() as r:
        listed = r.zones()
        assert [z for z, _ in listed] == [EXAMPLE, LAB, SUB]
        assert [s.serial for _, s in listed] == [3, 1, 7]
        state = r.zone_state(SUB)
        assert state is not None and state.origin == "sub.lab.example."
        assert r.zone_state((b"nothere",)) is None


def test_meta_round_trip(store: Store) -> None:
    meta = RRsetMeta(
        provenance=Provenance.DHCP,
        state=State.GRACE,
        identity="01:aa",
        created=10,
        confirmed=11,
        human_touched=12,
        state_deadline=13,
        writer="dhcpd",
    )
    www = n("www", "lab", "example")
    with store.writer() as w:
        w.put_rrset(LAB, www, A, 300, (V4,), meta)
        w.put_rrset(LAB, LAB, SOA, 300, (SOA_RD,), RRsetMeta())
    with store.reader() as r:
        assert r.get_meta(LAB, www, A) == meta
        assert r.get_meta(LAB, www, AAAA) is None
        assert list(r.iter_meta(LAB)) == [(LAB, SOA, RRsetMeta()), (www, A, meta)]
    with store.writer() as w:
        w.put_meta(LAB, www, A, meta.with_(state=State.ACTIVE))
    with store.reader() as r:
        got = r.get_meta(LAB, www, A)
        assert got is not None and got.state == State.ACTIVE and got.identity == "01:aa"
        assert r.get(LAB, www, A) == (300, (V4,))  # answer data untouched


def test_delete_rrset_removes_data_and_meta(store: Store) -> None:
    fill(store)
    www = n("www", "lab", "example")
    with store.writer() as w:
        assert w.delete_rrset(LAB, www, A)
        assert not w.delete_rrset(LAB, www, A)
    with store.reader() as r:
        assert r.get(LAB, www, A) is None
        assert r.get_meta(LAB, www, A) is None
        assert set(r.types_at(LAB, www)) == {AAAA}


def test_delete_zone_leaves_nested_zones(store: Store) -> None:
    fill(store)
    state = ZoneState(origin="lab.example.", serial=1)
    entry = JournalEntry(1, 2, [], [], "t", "r", 0)
    with store.writer() as w:
        w.append_journal(LAB, state, entry, depth=10, max_bytes=1 << 20)
        w.append_journal(SUB, ZoneState(origin="sub.lab.example.", serial=1), entry, 10, 1 << 20)
        w.put_lease(schema.lease_key(LAB, n("www", "lab", "example"), A, 1, b""), b"{}")
        w.put_lease(schema.lease_key(SUB, n("deep", "sub", "lab", "example"), TXT, 1, b""), b"{}")
    with store.writer() as w:
        w.delete_zone(LAB)
    with store.reader() as r:
        assert list(r.iter_zone(LAB)) == []
        assert list(r.iter_meta(LAB)) == []
        assert list(r.journal(LAB)) == []
        assert list(r.iter_leases(LAB)) == []
        assert len(list(r.iter_leases(SUB))) == 1
        assert r.zone_state(LAB) is None
        assert len(list(r.iter_zone(SUB))) == 3
        assert len(list(r.iter_meta(SUB))) == 3
        assert len(list(r.journal(SUB))) == 1
        assert len(list(r.iter_zone(EXAMPLE))) == 2
        assert [z for z, _ in r.zones()] == [EXAMPLE, SUB]


def _entry(i: int, size: int = 0) -> JournalEntry:
    added = [("x.lab.example.", TXT, 60, "00" * size)] if size else []
    return JournalEntry(i, i + 1, [], added, "test", f"change {i}", 1000 + i)


def test_journal_append_and_prune_by_depth(store: Store) -> None:
    state = ZoneState(origin="lab.example.", serial=1)
    for i in range(1, 6):
        with store.writer() as w:
            w.append_journal(LAB, state, _entry(i), depth=3, max_bytes=1 << 20)
    assert state.journal_seq == 5
    with store.reader() as r:
        got = list(r.journal(LAB))
    assert [seq for seq, _ in got] == [3, 4, 5]
    assert [e.serial_from for _, e in got] == [3, 4, 5]
    assert got[-1][1] == _entry(5)


def test_journal_prune_by_bytes_keeps_newest(store: Store) -> None:
    state = ZoneState(origin="lab.example.", serial=1)
    size = len(_entry(1, 100).to_json())
    with store.writer() as w:
        for i in range(1, 5):
            w.append_journal(LAB, state, _entry(i, 100), depth=100, max_bytes=2 * size + 10)
    with store.reader() as r:
        assert [seq for seq, _ in r.journal(LAB)] == [3, 4]
    # An entry larger than the limit on its own is still kept (the newest always survives).
    with store.writer() as w:
        w.append_journal(LAB, state, _entry(9, 5000), depth=100, max_bytes=2 * size + 10)
    with store.reader() as r:
        assert [seq for seq, _ in r.journal(LAB)] == [5]


def test_journal_is_per_zone(store: Store) -> None:
    lab_state = ZoneState(origin="lab.example.", serial=1)
    sub_state = ZoneState(origin="sub.lab.example.", serial=1)
    top_state = ZoneState(origin="example.", serial=1)
    with store.writer() as w:
        w.append_journal(LAB, lab_state, _entry(1), 10, 1 << 20)
        w.append_journal(SUB, sub_state, _entry(2), 10, 1 << 20)
        w.append_journal(SUB, sub_state, _entry(3), 10, 1 << 20)
        w.append_journal(EXAMPLE, top_state, _entry(4), 1, 1 << 20)
    with store.reader() as r:
        assert [e.serial_from for _, e in r.journal(LAB)] == [1]
        assert [e.serial_from for _, e in r.journal(SUB)] == [2, 3]
        assert [e.serial_from for _, e in r.journal(EXAMPLE)] == [4]


def test_journal_pruning_does_not_touch_other_zones(store: Store) -> None:
    lab_state = ZoneState(origin="lab.example.", serial=1)
    top_state = ZoneState(origin="example.", serial=1)
    with store.writer() as w:
        for i in range(3):
            w.append_journal(LAB, lab_state, _entry(i), 10, 1 << 20)
        w.append_journal(EXAMPLE, top_state, _entry(9), depth=1, max_bytes=1 << 20)
        w.append_journal(EXAMPLE, top_state, _entry(10), depth=1, max_bytes=1 << 20)
    with store.reader() as r:
        assert len(list(r.journal(LAB))) == 3
        assert [e.serial_from for _, e in r.journal(EXAMPLE)] == [10]


def test_audit_events_in_time_order_with_since(store: Store) -> None:
    times = [50.0, 10.0, 30.0, 30.0, 20.5]
    with store.writer() as w:
        for i, t in enumerate(times):
            w.audit(AuditEvent(time=t, kind="k", zone="lab.example.", reason=str(i)))
    with store.reader() as r:
        everything = list(r.audit_events())
        assert [(e.time, e.reason) for e in everything] == [
            (10.0, "1"),
            (20.5, "4"),
            (30.0, "2"),  # same time: written order
            (30.0, "3"),
            (50.0, "0"),
        ]
        assert [e.reason for e in r.audit_events(since=30.0)] == ["2", "3", "0"]
        assert [e.reason for e in r.audit_events(since=30.5)] == ["0"]
        assert list(r.audit_events(since=51.0)) == []


def test_audit_event_round_trip(store: Store) -> None:
    ev = AuditEvent(
        time=1_700_000_000.25,
        kind="update",
        zone="lab.example.",
        actor="key1",
        role="admin",
        client="192.0.2.9",
        outcome="applied",
        reason="because",
        detail={"added": 2, "names": ["a", "b"]},
    )
    with store.writer() as w:
        w.audit(ev)
    with store.reader() as r:
        assert list(r.audit_events()) == [ev]


class Boom(Exception):
    """Raised inside a write transaction to abort it."""


def test_writer_is_atomic(store: Store) -> None:
    fill(store)
    www = n("www", "lab", "example")
    with pytest.raises(Boom), store.writer() as w:
        w.put_rrset(LAB, n("new", "lab", "example"), A, 1, (V4,), RRsetMeta())
        w.delete_rrset(LAB, www, A)
        w.put_zone_state(LAB, ZoneState(origin="lab.example.", serial=99))
        w.append_journal(LAB, ZoneState(origin="lab.example.", serial=1), _entry(1), 10, 1 << 20)
        w.audit(AuditEvent(time=1.0, kind="k", zone="lab.example."))
        w.delete_zone(SUB)
        raise Boom()
    with store.reader() as r:
        assert r.get(LAB, n("new", "lab", "example"), A) is None
        assert r.get_meta(LAB, n("new", "lab", "example"), A) is None
        assert r.get(LAB, www, A) == (300, (V4, V4B))
        state = r.zone_state(LAB)
        assert state is not None and state.serial == 1
        assert list(r.journal(LAB)) == []
        assert list(r.audit_events()) == []
        assert len(list(r.iter_zone(SUB))) == 3


def test_writer_sees_its_own_writes(store: Store) -> None:
    with store.writer() as w:
        w.put_rrset(LAB, LAB, SOA, 1, (SOA_RD,), RRsetMeta())
        assert w.get(LAB, LAB, SOA) == (1, (SOA_RD,))
        assert list(w.iter_zone(LAB)) == [(LAB, SOA, 1, (SOA_RD,))]


def test_reader_keeps_its_snapshot(store: Store) -> None:
    fill(store)
    www = n("www", "lab", "example")
    new = n("new", "lab", "example")
    with store.reader() as r:
        with store.writer() as w:
            w.put_rrset(LAB, new, A, 1, (V4,), RRsetMeta())
            w.delete_rrset(LAB, www, A)
        assert r.get(LAB, new, A) is None
        assert r.get(LAB, www, A) == (300, (V4, V4B))
        assert not any(owner == new for owner, *_ in r.iter_zone(LAB))
    with store.reader() as r:
        assert r.get(LAB, new, A) == (1, (V4,))
        assert r.get(LAB, www, A) is None


def test_lmdb_write_is_durable_across_reopen(tmp_path: Path) -> None:
    path = str(tmp_path / "db")
    store = Store(LmdbKV(path, map_size=1 << 24))
    fill(store)
    store.close()
    again = Store(LmdbKV(path, map_size=1 << 24))
    with again.reader() as r:
        assert r.get(LAB, n("www", "lab", "example"), A) == (300, (V4, V4B))
    again.close()


def test_lmdb_refuses_other_schema_version(tmp_path: Path) -> None:
    path = str(tmp_path / "db")
    kv = LmdbKV(path, map_size=1 << 24)
    with kv.write() as txn:
        txn.put(b"schema", b"version", b"999")
    kv.close()
    with pytest.raises(StoreVersionError):
        LmdbKV(path, map_size=1 << 24)
