"""The write transaction's memo of RRsets, metadata and types: never stale, never leaks out."""

from __future__ import annotations

from pathlib import Path

import pytest

from leasedns.store.lmdb_kv import LmdbKV
from leasedns.store.memory_kv import MemoryKV
from leasedns.store.records import Provenance, RRsetMeta
from leasedns.store.zonestore import Store

LAB = (b"lab", b"example")
WWW = (b"www", b"lab", b"example")
A, TXT, SOA = 1, 16, 6
V4 = b"\xc0\x00\x02\x01"
V4B = b"\xc0\x00\x02\x02"
DHCP = RRsetMeta(provenance=Provenance.DHCP, created=5)
ADMIN = RRsetMeta(provenance=Provenance.ADMIN, created=7)


@pytest.fixture(params=["memory", "lmdb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    kv = MemoryKV() if request.param == "memory" else LmdbKV(str(tmp_path / "db"))
    s = Store(kv)
    with s.writer() as w:
        w.put_rrset(LAB, WWW, A, 300, (V4,), DHCP)
    return s


def test_reads_after_writes_in_one_transaction_see_the_writes(store: Store) -> None:
    with store.writer() as w:
        assert w.get(LAB, WWW, A) == (300, (V4,))  # now remembered
        assert set(w.types_at(LAB, WWW)) == {A}
        w.put_rrset(LAB, WWW, A, 60, (V4, V4B), ADMIN)
        w.put_rrset(LAB, WWW, TXT, 60, (b"\x01x",), DHCP)
        assert w.get(LAB, WWW, A) == (60, (V4, V4B))
        assert w.get_meta(LAB, WWW, A) == ADMIN
        assert set(w.types_at(LAB, WWW)) == {A, TXT}
        w.delete_rrset(LAB, WWW, A)
        assert w.get(LAB, WWW, A) is None and w.get_meta(LAB, WWW, A) is None
        assert set(w.types_at(LAB, WWW)) == {TXT}
    with store.reader() as r:  # and they landed
        assert r.get(LAB, WWW, A) is None
        assert set(r.types_at(LAB, WWW)) == {TXT}


def test_a_serial_bump_keeps_the_metadata(store: Store) -> None:
    with store.writer() as w:
        w.put_rrset(LAB, LAB, SOA, 3600, (b"\x00" * 22,), ADMIN)
    with store.writer() as w:
        w.put_rrset(LAB, LAB, SOA, 3600, (b"\x01" * 22,), None)
        assert w.get_meta(LAB, LAB, SOA) == ADMIN
    with store.reader() as r:
        assert r.get_meta(LAB, LAB, SOA) == ADMIN
        assert r.get(LAB, LAB, SOA) == (3600, (b"\x01" * 22,))


def test_types_at_hands_out_a_copy(store: Store) -> None:
    with store.writer() as w:
        w.types_at(LAB, WWW).clear()
        assert set(w.types_at(LAB, WWW)) == {A}


def test_an_aborted_transaction_leaves_nothing_behind(store: Store) -> None:
    with pytest.raises(RuntimeError), store.writer() as w:
        w.put_rrset(LAB, WWW, A, 60, (V4B,), ADMIN)
        raise RuntimeError("abort")
    with store.writer() as w:  # a new writer: nothing remembered from the aborted one
        assert w.get(LAB, WWW, A) == (300, (V4,))
        assert w.get_meta(LAB, WWW, A) == DHCP


def test_delete_zone_forgets_everything(store: Store) -> None:
    with store.writer() as w:
        assert w.get(LAB, WWW, A) is not None
        w.delete_zone(LAB)
        assert w.get(LAB, WWW, A) is None
        assert w.types_at(LAB, WWW) == {}
