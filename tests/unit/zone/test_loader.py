"""Zone-file import: first load, difference-only re-import, serial bumps, journal and audit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dns.rdata
import dns.rdataclass
import dns.rdatatype
import pytest

from leasedns.store.records import Provenance, RRsetMeta
from leasedns.store.zonestore import Store
from leasedns.wire.names import from_text
from leasedns.zone import serial as serials
from leasedns.zone.loader import group
from leasedns.zone.masterfile import ParsedZone, ZoneRecord

LoadZone = Callable[..., Any]
A, NS, SOA, TXT, AAAA = 1, 2, 6, 16, 28
LAB = from_text("lab.test.")
NOW = 1_700_000_000.0

ZONE = """\
$ORIGIN lab.test.
$TTL 3600
@ SOA ns1 hostmaster {serial} 3600 600 86400 300
  NS ns1
ns1 A 192.0.2.1
www A 192.0.2.80
    A 192.0.2.81
old A 192.0.2.99
txt TXT "one"
"""

EDITED = """\
$ORIGIN lab.test.
$TTL 3600
@ SOA ns1 hostmaster {serial} 3600 600 86400 300
  NS ns1
ns1 A 192.0.2.1
www A 192.0.2.81
    A 192.0.2.82
new AAAA 2001:db8::1
txt TXT "one"
"""


def rdhex(rtype: int, text: str) -> str:
    rd = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.RdataType.make(rtype), text)
    wire = rd.to_wire()
    assert wire is not None
    return wire.hex()


def soa_hex(serial: int) -> str:
    return rdhex(SOA, f"ns1.lab.test. hostmaster.lab.test. {serial} 3600 600 86400 300")


def stored(store: Store) -> dict[tuple[str, int], tuple[int, frozenset[bytes]]]:
    with store.reader() as r:
        return {
            (".".join(x.decode() for x in owner) + ".", rtype): (ttl, frozenset(rdatas))
            for owner, rtype, ttl, rdatas in r.iter_zone(LAB)
        }


def stored_serial(store: Store) -> int:
    with store.reader() as r:
        soa = r.get(LAB, LAB, SOA)
        state = r.zone_state(LAB)
    assert soa is not None and state is not None
    assert serials.soa_serial(soa[1][0]) == state.serial
    return state.serial


def test_first_import(store: Store, load_zone: LoadZone) -> None:
    res = load_zone(store, ZONE.format(serial=10), now=NOW)
    assert res.origin == LAB
    assert res.serial == 10
    assert res.changed
    assert res.deleted == []
    assert res.kept_dynamic == []
    assert res.added[0] == ("lab.test.", SOA, 3600, soa_hex(10))
    assert sorted(res.added[1:]) == sorted(
        [
            ("lab.test.", NS, 3600, rdhex(NS, "ns1.lab.test.")),
            ("ns1.lab.test.", A, 3600, rdhex(A, "192.0.2.1")),
            ("www.lab.test.", A, 3600, rdhex(A, "192.0.2.80")),
            ("www.lab.test.", A, 3600, rdhex(A, "192.0.2.81")),
            ("old.lab.test.", A, 3600, rdhex(A, "192.0.2.99")),
            ("txt.lab.test.", TXT, 3600, rdhex(TXT, '"one"')),
        ]
    )
    assert res.changed_names == {
        from_text(x)
        for x in ("lab.test.", "ns1.lab.test.", "www.lab.test.", "old.lab.test.", "txt.lab.test.")
    }
    assert stored_serial(store) == 10
    with store.reader() as r:
        state = r.zone_state(LAB)
        assert state is not None
        assert state.origin == "lab.test."
        assert state.imported == int(NOW)
        assert state.source.endswith("zone.db")
        assert list(state.files) == [state.source]
        assert len(state.files[state.source]) == 64  # sha256 hex
        assert list(r.journal(LAB)) == []  # nothing to diff against yet
        events = list(r.audit_events())
        assert [(e.kind, e.zone, e.outcome) for e in events] == [
            ("zone-import", "lab.test.", "applied")
        ]
        assert events[0].detail["serial"] == 10
        meta = r.get_meta(LAB, from_text("www.lab.test."), A)
        assert meta == RRsetMeta(
            provenance=Provenance.ZONEFILE, created=int(NOW), confirmed=int(NOW)
        )


def test_reimport_applies_only_the_difference(store: Store, load_zone: LoadZone) -> None:
    load_zone(store, ZONE.format(serial=10), now=NOW)
    res = load_zone(store, EDITED.format(serial=10), now=NOW + 60)
    # The file's serial did not move, so the loader bumps it (increment policy).
    assert res.serial == 11
    assert res.deleted == [
        ("lab.test.", SOA, 3600, soa_hex(10)),
        ("www.lab.test.", A, 3600, rdhex(A, "192.0.2.80")),
        ("www.lab.test.", A, 3600, rdhex(A, "192.0.2.81")),
        ("old.lab.test.", A, 3600, rdhex(A, "192.0.2.99")),
    ]
    assert res.added == [
        ("lab.test.", SOA, 3600, soa_hex(11)),
        ("www.lab.test.", A, 3600, rdhex(A, "192.0.2.81")),
        ("www.lab.test.", A, 3600, rdhex(A, "192.0.2.82")),
        ("new.lab.test.", AAAA, 3600, rdhex(AAAA, "2001:db8::1")),
    ]
    assert res.changed_names == {
        from_text(x) for x in ("lab.test.", "www.lab.test.", "old.lab.test.", "new.lab.test.")
    }
    data = stored(store)
    assert ("old.lab.test.", A) not in data
    assert data[("new.lab.test.", AAAA)][0] == 3600
    assert data[("www.lab.test.", A)][1] == {
        bytes.fromhex(rdhex(A, "192.0.2.81")),
        bytes.fromhex(rdhex(A, "192.0.2.82")),
    }
    assert stored_serial(store) == 11
    with store.reader() as r:
        journal = list(r.journal(LAB))
        assert len(journal) == 1
        seq, entry = journal[0]
        assert seq == 1
        assert (entry.serial_from, entry.serial_to) == (10, 11)
        assert entry.deleted == res.deleted
        assert entry.added == res.added
        assert entry.actor == "zonefile"
        assert entry.time == int(NOW + 60)
        state = r.zone_state(LAB)
        assert state is not None and state.journal_seq == 1
        kinds = [e.kind for e in r.audit_events()]
        assert kinds == ["zone-import", "zone-reimport"]
        # An untouched RRset keeps its metadata from the first import.
        meta = r.get_meta(LAB, from_text("txt.lab.test."), TXT)
        assert meta is not None and meta.created == int(NOW)


def test_reimport_takes_a_higher_file_serial(store: Store, load_zone: LoadZone) -> None:
    load_zone(store, ZONE.format(serial=10), now=NOW)
    res = load_zone(store, EDITED.format(serial=2026010101), now=NOW + 1)
    assert res.serial == 2026010101
    assert stored_serial(store) == 2026010101
    with store.reader() as r:
        ((_, entry),) = r.journal(LAB)
        assert (entry.serial_from, entry.serial_to) == (10, 2026010101)


def test_reimport_with_a_lower_file_serial_still_moves_forward(
    store: Store, load_zone: LoadZone
) -> None:
    load_zone(store, ZONE.format(serial=500), now=NOW)
    res = load_zone(store, EDITED.format(serial=7), now=NOW + 1)
    assert res.serial == 501
    assert stored_serial(store) == 501


def test_reimport_serial_wraps_per_rfc1982(store: Store, load_zone: LoadZone) -> None:
    """Past 2^32 - 1 the serial goes to 1, which RFC 1982 counts as newer (RFC 2136 §7.11
    skips 0)."""
    load_zone(store, ZONE.format(serial=4294967295), now=NOW)
    res = load_zone(store, EDITED.format(serial=4294967295), now=NOW + 1)
    assert res.serial == 1
    assert serials.gt(1, 4294967295)


def test_reimport_with_unixtime_policy(store: Store, load_zone: LoadZone) -> None:
    load_zone(store, ZONE.format(serial=10), now=NOW)
    res = load_zone(store, EDITED.format(serial=10), now=NOW + 5, serial_policy="unixtime")
    assert res.serial == int(NOW + 5)


def test_reimport_of_only_a_new_file_serial(store: Store, load_zone: LoadZone) -> None:
    load_zone(store, ZONE.format(serial=10), now=NOW)
    res = load_zone(store, ZONE.format(serial=12), now=NOW + 1)
    assert res.serial == 12
    assert res.deleted == [("lab.test.", SOA, 3600, soa_hex(10))]
    assert res.added == [("lab.test.", SOA, 3600, soa_hex(12))]
    assert res.changed_names == {LAB}
    with store.reader() as r:
        assert [(e.serial_from, e.serial_to) for _, e in r.journal(LAB)] == [(10, 12)]


def test_soa_timer_change_bumps_the_serial(store: Store, load_zone: LoadZone) -> None:
    load_zone(store, ZONE.format(serial=10), now=NOW)
    res = load_zone(store, ZONE.format(serial=10).replace("86400 300", "86400 60"), now=NOW + 1)
    assert res.serial == 11
    with store.reader() as r:
        soa = r.get(LAB, LAB, SOA)
    assert soa is not None and int.from_bytes(soa[1][0][-4:], "big") == 60


def test_unchanged_reimport_changes_nothing(store: Store, load_zone: LoadZone) -> None:
    load_zone(store, ZONE.format(serial=10), now=NOW)
    before = stored(store)
    # Same records in another order and spelling: still no change.
    shuffled = ZONE.format(serial=10).replace(
        "www A 192.0.2.80\n    A 192.0.2.81", "WWW 3600 IN A 192.0.2.81\nwww.lab.test. A 192.0.2.80"
    )
    res = load_zone(store, shuffled, "other.db", now=NOW + 1)
    assert not res.changed
    assert res.added == [] and res.deleted == []
    assert res.changed_names == set()
    assert res.serial == 10
    assert stored(store) == before
    with store.reader() as r:
        assert list(r.journal(LAB)) == []
        state = r.zone_state(LAB)
        assert state is not None and state.serial == 10 and state.journal_seq == 0


def test_dynamic_rrsets_survive_reimport(store: Store, load_zone: LoadZone) -> None:
    load_zone(store, ZONE.format(serial=10), now=NOW)
    dhcp_host = from_text("laptop.lab.test.")
    laptop = bytes.fromhex(rdhex(A, "192.0.2.150"))
    admin_www = bytes.fromhex(rdhex(A, "192.0.2.200"))
    with store.writer() as w:
        w.put_rrset(LAB, dhcp_host, A, 300, (laptop,), RRsetMeta(provenance=Provenance.DHCP))
        w.put_rrset(
            LAB,
            from_text("www.lab.test."),
            A,
            60,
            (admin_www,),
            RRsetMeta(provenance=Provenance.ADMIN),
        )
    res = load_zone(store, EDITED.format(serial=10), now=NOW + 1)
    data = stored(store)
    assert data[("laptop.lab.test.", A)] == (300, frozenset({laptop}))
    assert data[("www.lab.test.", A)] == (60, frozenset({admin_www}))
    # The file disagrees with the admin's www A: reported, not applied.
    assert res.kept_dynamic == ["www.lab.test. type 1"]
    assert all(owner not in ("www.lab.test.", "laptop.lab.test.") for owner, *_ in res.added)
    assert all(owner not in ("www.lab.test.", "laptop.lab.test.") for owner, *_ in res.deleted)
    with store.reader() as r:
        meta = r.get_meta(LAB, dhcp_host, A)
        assert meta is not None and meta.provenance == Provenance.DHCP
        events = list(r.audit_events())
        assert events[-1].detail["kept_dynamic"] == ["www.lab.test. type 1"]


def test_dynamic_rrset_matching_the_file_is_not_reported(store: Store, load_zone: LoadZone) -> None:
    load_zone(store, ZONE.format(serial=10), now=NOW)
    with store.writer() as w:
        w.put_meta(LAB, from_text("txt.lab.test."), TXT, RRsetMeta(provenance=Provenance.CLIENT))
    res = load_zone(store, ZONE.format(serial=10), now=NOW + 1)
    assert res.kept_dynamic == []
    assert not res.changed


def test_ttl_change_replaces_the_rrset(store: Store, load_zone: LoadZone) -> None:
    load_zone(store, ZONE.format(serial=10), now=NOW)
    res = load_zone(
        store, ZONE.format(serial=10).replace('txt TXT "one"', 'txt 60 TXT "one"'), now=NOW + 1
    )
    assert res.deleted[1:] == [("txt.lab.test.", TXT, 3600, rdhex(TXT, '"one"'))]
    assert res.added[1:] == [("txt.lab.test.", TXT, 60, rdhex(TXT, '"one"'))]
    assert stored(store)[("txt.lab.test.", TXT)][0] == 60


def test_group_uses_the_smallest_ttl_and_drops_duplicates() -> None:
    # RFC 2181 §5.2: one TTL per RRset; the lowest given is used.
    www = from_text("www.lab.test.")
    recs = [
        ZoneRecord(www, A, 300, b"\x01\x01\x01\x01", "f", 1),
        ZoneRecord(www, A, 60, b"\x02\x02\x02\x02", "f", 2),
        ZoneRecord(www, A, 900, b"\x01\x01\x01\x01", "f", 3),
        ZoneRecord(www, TXT, 10, b"\x01x", "f", 4),
    ]
    parsed = ParsedZone(origin=LAB, records=recs, files={}, warnings=[])
    assert group(parsed) == {
        (www, A): (60, (b"\x01\x01\x01\x01", b"\x02\x02\x02\x02")),
        (www, TXT): (10, (b"\x01x",)),
    }


@pytest.mark.parametrize("policy", ["increment", "date", "unixtime"])
def test_first_import_keeps_the_file_serial_whatever_the_policy(
    store: Store, load_zone: LoadZone, policy: str
) -> None:
    res = load_zone(store, ZONE.format(serial=3), now=NOW, serial_policy=policy)
    assert res.serial == 3
