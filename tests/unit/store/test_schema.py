"""The LMDB key and value layout documented in leasedns.store.schema."""

from __future__ import annotations

import pytest

from leasedns.store import schema

LAB = (b"lab", b"example")
SUB = (b"sub", b"lab", b"example")
WWW = (b"www", b"lab", b"example")


def test_rrset_key_matches_documented_example() -> None:
    assert schema.rrset_key(LAB, WWW, 1) == b"example\x00lab\x00\x00www\x00\x00\x00\x01"
    assert schema.rrset_key(LAB, LAB, 6) == b"example\x00lab\x00\x00\x00\x00\x06"
    assert schema.zone_prefix(LAB) == b"example\x00lab\x00\x00"
    assert schema.owner_prefix(LAB, WWW) == b"example\x00lab\x00\x00www\x00"


@pytest.mark.parametrize(
    ("zone", "owner", "rtype"),
    [
        (LAB, LAB, 6),
        (LAB, WWW, 1),
        (LAB, (b"a", b"b", b"c") + LAB, 65535),
        (LAB, (b"*",) + LAB, 16),
        ((), (b"com",), 2),  # the root zone
        ((), (), 6),
        (LAB, (b"\x01\xff",) + LAB, 0x0100),  # type bytes that look like a separator
    ],
)
def test_rrset_key_split_round_trip(
    zone: tuple[bytes, ...], owner: tuple[bytes, ...], rtype: int
) -> None:
    k = schema.rrset_key(zone, owner, rtype)
    assert k.startswith(schema.zone_prefix(zone))
    assert schema.split_rrset_key(zone, k) == (owner, rtype)


def test_nested_zone_prefixes_are_disjoint() -> None:
    # sub.lab.example. as an owner inside lab.example. (a delegation) and as a zone of its own.
    as_owner = schema.rrset_key(LAB, SUB, 2)
    as_zone = schema.rrset_key(SUB, SUB, 2)
    assert as_owner != as_zone
    assert not as_zone.startswith(schema.zone_prefix(LAB))
    assert not as_owner.startswith(schema.zone_prefix(SUB))


def test_key_order_is_canonical_within_a_zone() -> None:
    owners = [LAB, (b"a",) + LAB, (b"b", b"a") + LAB, (b"z",) + LAB, (b"\x01", b"z") + LAB]
    keys = [schema.rrset_key(LAB, o, 1) for o in owners]
    assert sorted(keys) == keys
    # At one owner, RRsets sort by type number.
    assert schema.rrset_key(LAB, WWW, 1) < schema.rrset_key(LAB, WWW, 28)
    assert schema.rrset_key(LAB, WWW, 255) < schema.rrset_key(LAB, WWW, 256)


@pytest.mark.parametrize(
    "rdatas",
    [
        (),
        (b"",),
        (b"\xc0\x00\x02\x01",),
        (b"x" * 300,),
        (b"", b"\x00\x01"),  # the first length field could pass for a lone RR's
        (b"\x01\x02", b"", b"x" * 300),
    ],
)
def test_rrset_value_round_trip(rdatas: tuple[bytes, ...]) -> None:
    v = schema.encode_rrset(3600, rdatas)
    assert v[:4] == b"\x00\x00\x0e\x10"
    assert schema.decode_rrset(v) == (3600, rdatas)


def test_rrset_value_layout() -> None:
    assert schema.encode_rrset(1, (b"ab", b"c")) == b"\x00\x00\x00\x01\x00\x02ab\x00\x01c"


def test_journal_keys_sort_numerically() -> None:
    keys = [schema.journal_key(LAB, n) for n in (1, 255, 256, 1 << 40)]
    assert sorted(keys) == keys
    assert [schema.journal_seq(k) for k in keys] == [1, 255, 256, 1 << 40]
    assert keys[0] == schema.zone_prefix(LAB) + (1).to_bytes(8, "big")


def test_audit_keys_sort_by_time_then_sequence() -> None:
    keys = [schema.audit_key(5, 2), schema.audit_key(5, 3), schema.audit_key(6, 0)]
    assert sorted(keys) == keys
    assert schema.audit_time_ns(keys[2]) == 6
    assert schema.audit_key(1, (1 << 32) + 7) == schema.audit_key(1, 7)  # sequence is u32


def test_tombstone_key_extends_rrset_key() -> None:
    k = schema.tombstone_key(LAB, WWW, 1, 1_700_000_000)
    assert k == schema.rrset_key(LAB, WWW, 1) + (1_700_000_000).to_bytes(8, "big") + b"\x00\x00"
    k2 = schema.tombstone_key(LAB, WWW, 1, 1_700_000_000, 1)
    assert k2 > k, "a second removal in the same second sorts after the first"


def test_databases_listed() -> None:
    assert set(schema.DATABASES) == {
        b"schema",
        b"zones",
        b"rrsets",
        b"meta",
        b"journal",
        b"audit",
        b"leases",
        b"due",
        b"tombstones",
    }
