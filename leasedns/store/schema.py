"""Byte layout of every LMDB database leasedns keeps (the one place it is defined).

One LMDB environment lives in ``<data-dir>/store``; each name below is a named
database inside it.  Integers in keys are big-endian so byte order is numeric
order.  ``zkey`` is the zone's reversed-label key (``wire.names.key``: each
label followed by NUL, root first) and ``okey`` the owner's key *relative to the
zone* in the same form, so::

    lab.example.            zkey = b"example\\0lab\\0"
    www.lab.example.        okey = b"www\\0"

Databases (key -> value):

``schema``
    ``b"version"`` -> ASCII integer, currently ``b"1"``.

``zones``
    ``zkey`` -> JSON zone state (``records.ZoneState``): origin, serial, source
    files with their sha256, profile, last import time.

``rrsets``  (answer data only; the query path reads nothing else)
    ``zkey + b"\\0" + okey + b"\\0" + u16 type`` -> ``u32 ttl`` followed by one
    ``u16 length + rdata`` per RR (uncompressed wire rdata).
    The separator NUL after ``zkey`` cannot occur inside a name key, so one zone
    is exactly the prefix ``zkey + b"\\0"``; within it, a name's own RRsets are
    ``prefix + okey + b"\\0"`` + 2 bytes and its descendants are keys starting
    with ``prefix + okey`` followed by a non-NUL byte.  Byte order is canonical
    DNS order (RFC 4034 §6.1), so AXFR is one cursor walk and "does this name
    have children" (empty non-terminal) is one ``set_range``.
    Example: A at www.lab.example. ->
    ``b"example\\0lab\\0\\0www\\0\\0\\x00\\x01"``.

``meta``
    Same key as ``rrsets`` -> JSON ``records.RRsetMeta`` (provenance, state,
    identity, timestamps, per-RR leases).  Written in the same transaction as the
    RRset; never read when answering a query.

``journal``
    ``zkey + b"\\0" + u64 sequence`` -> JSON ``records.JournalEntry`` (serial
    from/to, deleted and added RRs, actor, reason).  One entry per serial change,
    pruned from the oldest end by depth and size.

``audit``
    ``u64 unix-nanoseconds + u32 sequence`` -> JSON ``records.AuditEvent``.

``leases``
    ``zkey + b"\\0" + okey + b"\\0" + u16 type + u8 lease kind + digest`` -> JSON
    ``lease.entry.LeaseEntry``.  Kind 1 is a deferred delete (draft §3), kind 2
    an RFC 9664 Update Lease.  ``type`` is 255 for a delete of every RRset at
    a name; ``digest`` is 8 bytes of SHA-256 over the canonical rdata for a
    one-RR scope and empty for an RRset or name scope.

``due``
    ``u64 deadline + u8 timer kind + lease key`` -> ``b""``: the durable source
    of the timer wheel, written in the transaction that creates the deadline.

``tombstones``
    ``zkey + b"\\0" + okey + b"\\0" + u16 type + u64 removed-at + u16 sequence``
    -> JSON of the removed RRset with its metadata (the sequence keeps two
    removals of one RRset in the same second apart).
"""

from __future__ import annotations

import functools
import struct

from leasedns.wire import names
from leasedns.wire.names import Name

SCHEMA_VERSION = b"1"

DATABASES = (
    b"schema", b"zones", b"rrsets", b"meta", b"journal", b"audit", b"leases", b"due", b"tombstones",
)  # fmt: skip

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")


def zone_prefix(zone: Name) -> bytes:
    """Every ``rrsets``/``meta`` key of ``zone`` starts with this."""
    return names.key(zone) + b"\x00"


@functools.lru_cache(maxsize=1 << 16)
def owner_prefix(zone: Name, owner: Name) -> bytes:
    """Keys of ``owner`` and of everything below it start with this.

    Cached: a removal builds the same RRset's keys for data, metadata, tombstone
    and leases, several times over (as large as ``names.key``'s cache).
    """
    return zone_prefix(zone) + names.key(names.relative_to(owner, zone))


@functools.lru_cache(maxsize=1 << 16)
def rrset_key(zone: Name, owner: Name, rtype: int) -> bytes:
    """Cached too: a timer's removal reads, deletes and tombstones one RRset by this key."""
    return owner_prefix(zone, owner) + b"\x00" + _U16.pack(rtype)


def split_rrset_key(zone: Name, k: bytes) -> tuple[Name, int]:
    """Inverse of ``rrset_key`` for a key known to be in ``zone``."""
    zp = len(zone_prefix(zone))
    rel = names.from_key(k[zp:-3])
    return rel + zone, _U16.unpack_from(k, len(k) - 2)[0]


def encode_rrset(ttl: int, rdatas: tuple[bytes, ...]) -> bytes:
    parts = [_U32.pack(ttl)]
    for rd in rdatas:
        parts.append(_U16.pack(len(rd)))
        parts.append(rd)
    return b"".join(parts)


def decode_rrset(v: bytes) -> tuple[int, tuple[bytes, ...]]:
    ttl = _U32.unpack_from(v, 0)[0]
    n = len(v)
    if n > 6 and _U16.unpack_from(v, 4)[0] == n - 6:  # one RR, as most dynamic RRsets hold
        return ttl, (bytes(v[6:]),)
    out = []
    i = 4
    while i < n:
        ln = _U16.unpack_from(v, i)[0]
        out.append(bytes(v[i + 2 : i + 2 + ln]))
        i += 2 + ln
    return ttl, tuple(out)


def lease_key(zone: Name, owner: Name, rtype: int, kind: int, digest: bytes) -> bytes:
    return rrset_key(zone, owner, rtype) + bytes((kind,)) + digest


def journal_key(zone: Name, seq: int) -> bytes:
    return zone_prefix(zone) + _U64.pack(seq)


def journal_seq(k: bytes) -> int:
    return _U64.unpack_from(k, len(k) - 8)[0]


def audit_key(ns: int, seq: int) -> bytes:
    return _U64.pack(ns) + _U32.pack(seq & 0xFFFFFFFF)


def audit_time_ns(k: bytes) -> int:
    return _U64.unpack_from(k, 0)[0]


def tombstone_key(zone: Name, owner: Name, rtype: int, removed_at: int, seq: int = 0) -> bytes:
    return rrset_key(zone, owner, rtype) + _U64.pack(removed_at) + _U16.pack(seq)
