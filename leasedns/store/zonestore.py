"""Zone-level reads and writes over an ordered key/value backend (LMDB or its in-memory twin)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager

from leasedns.store import schema
from leasedns.store.kv import KVBackend, KVReader, KVWriter
from leasedns.store.records import AuditEvent, JournalEntry, RRsetMeta, ZoneState
from leasedns.wire import names
from leasedns.wire.names import Name

RRsetData = tuple[int, tuple[bytes, ...]]


class Reader:
    """Read access to zones; the query engine sees only this."""

    __slots__ = ("kv",)

    def __init__(self, kv: KVReader) -> None:
        self.kv = kv

    def zones(self) -> list[tuple[Name, ZoneState]]:
        out = []
        for k, v in self.kv.scan(b"zones"):
            out.append((names.from_key(k), ZoneState.from_json(v)))
        return out

    def zone_state(self, zone: Name) -> ZoneState | None:
        v = self.kv.get(b"zones", names.key(zone))
        return None if v is None else ZoneState.from_json(v)

    def get(self, zone: Name, owner: Name, rtype: int) -> RRsetData | None:
        v = self.kv.get(b"rrsets", schema.rrset_key(zone, owner, rtype))
        return None if v is None else schema.decode_rrset(v)

    def types_at(self, zone: Name, owner: Name) -> dict[int, RRsetData]:
        prefix = schema.owner_prefix(zone, owner) + b"\x00"
        n = len(prefix) + 2
        out: dict[int, RRsetData] = {}
        for k, v in self.kv.scan(b"rrsets", prefix):
            if len(k) != n or not k.startswith(prefix):
                break
            out[int.from_bytes(k[-2:], "big")] = schema.decode_rrset(v)
        return out

    def has_children(self, zone: Name, owner: Name) -> bool:
        """True when some name strictly below ``owner`` holds data (so ``owner`` exists)."""
        prefix = schema.owner_prefix(zone, owner)
        for k, _ in self.kv.scan(b"rrsets", prefix + b"\x01"):
            return k.startswith(prefix)
        return False

    def iter_zone(self, zone: Name) -> Iterator[tuple[Name, int, int, tuple[bytes, ...]]]:
        """Every RRset of ``zone`` in canonical order (apex first)."""
        prefix = schema.zone_prefix(zone)
        for k, v in self.kv.scan(b"rrsets", prefix):
            if not k.startswith(prefix):
                break
            owner, rtype = schema.split_rrset_key(zone, k)
            ttl, rdatas = schema.decode_rrset(v)
            yield owner, rtype, ttl, rdatas

    def get_meta(self, zone: Name, owner: Name, rtype: int) -> RRsetMeta | None:
        v = self.kv.get(b"meta", schema.rrset_key(zone, owner, rtype))
        return None if v is None else RRsetMeta.from_json(v)

    def iter_meta(self, zone: Name) -> Iterator[tuple[Name, int, RRsetMeta]]:
        prefix = schema.zone_prefix(zone)
        for k, v in self.kv.scan(b"meta", prefix):
            if not k.startswith(prefix):
                break
            owner, rtype = schema.split_rrset_key(zone, k)
            yield owner, rtype, RRsetMeta.from_json(v)

    def journal(self, zone: Name) -> Iterator[tuple[int, JournalEntry]]:
        prefix = schema.zone_prefix(zone)
        for k, v in self.kv.scan(b"journal", prefix):
            if not k.startswith(prefix) or len(k) != len(prefix) + 8:
                break
            yield schema.journal_seq(k), JournalEntry.from_json(v)

    def get_lease(self, key: bytes) -> bytes | None:
        return self.kv.get(b"leases", key)

    def leases_at(self, zone: Name, owner: Name) -> list[tuple[bytes, bytes]]:
        """Lease entries on ``owner`` itself (any type, any kind)."""
        return _prefixed(self.kv, b"leases", schema.owner_prefix(zone, owner) + b"\x00")

    def iter_leases(self, zone: Name | None = None) -> Iterator[tuple[bytes, bytes]]:
        prefix = schema.zone_prefix(zone) if zone is not None else b""
        for k, v in self.kv.scan(b"leases", prefix):
            if not k.startswith(prefix):
                break
            yield k, v

    def get_tombstone(self, key: bytes) -> bytes | None:
        return self.kv.get(b"tombstones", key)

    def iter_tombstones(self, zone: Name) -> Iterator[tuple[bytes, bytes]]:
        prefix = schema.zone_prefix(zone)
        for k, v in self.kv.scan(b"tombstones", prefix):
            if not k.startswith(prefix):
                break
            yield k, v

    def iter_due(self) -> Iterator[bytes]:
        for k, _ in self.kv.scan(b"due"):
            yield k

    def audit_events(self, since: float = 0.0) -> Iterator[AuditEvent]:
        start = schema.audit_key(int(since * 1e9), 0)
        for _, v in self.kv.scan(b"audit", start):
            yield AuditEvent.from_json(v)


_UNREAD = object()  # a memo miss (None is a remembered "no such RRset")


class Writer(Reader):
    """Writes inside one transaction: all of it lands, or none of it.

    RRsets and their metadata read or written here are remembered for the rest of
    the transaction: an update's checks, its apply, the lifecycle guard and the
    serial bump read the same few RRsets several times.  Every write of those goes
    through this class, so the memo cannot go stale; the values are immutable.
    """

    __slots__ = ("_audit_seq", "_rrsets", "_metas", "_types")
    kv: KVWriter

    def __init__(self, kv: KVWriter, audit_seq: itertools.count) -> None:
        super().__init__(kv)
        self._audit_seq = audit_seq
        self._rrsets: dict[tuple[Name, Name, int], RRsetData | None] = {}
        self._metas: dict[tuple[Name, Name, int], RRsetMeta | None] = {}
        self._types: dict[tuple[Name, Name], dict[int, RRsetData]] = {}

    def get(self, zone: Name, owner: Name, rtype: int) -> RRsetData | None:
        at = (zone, owner, rtype)
        found = self._rrsets.get(at, _UNREAD)
        if found is not _UNREAD:
            return found  # type: ignore[return-value]
        types = self._types.get((zone, owner))
        found = types.get(rtype) if types is not None else Reader.get(self, zone, owner, rtype)
        self._rrsets[at] = found
        return found

    def types_at(self, zone: Name, owner: Name) -> dict[int, RRsetData]:
        types = self._types.get((zone, owner))
        if types is None:
            types = self._types[(zone, owner)] = Reader.types_at(self, zone, owner)
        return dict(types)

    def get_meta(self, zone: Name, owner: Name, rtype: int) -> RRsetMeta | None:
        at = (zone, owner, rtype)
        meta = self._metas.get(at, _UNREAD)
        if meta is not _UNREAD:
            return meta  # type: ignore[return-value]
        found = self._metas[at] = Reader.get_meta(self, zone, owner, rtype)
        return found

    def put_rrset(
        self,
        zone: Name,
        owner: Name,
        rtype: int,
        ttl: int,
        rdatas: tuple[bytes, ...],
        meta: RRsetMeta | None,
    ) -> None:
        """Store an RRset; ``meta=None`` keeps its metadata as it is (a serial bump)."""
        k = schema.rrset_key(zone, owner, rtype)
        self.kv.put(b"rrsets", k, schema.encode_rrset(ttl, rdatas))
        self._rrsets[(zone, owner, rtype)] = data = (ttl, tuple(rdatas))
        types = self._types.get((zone, owner))
        if types is not None:
            types[rtype] = data
        if meta is not None:
            self.kv.put(b"meta", k, meta.to_json())
            self._metas[(zone, owner, rtype)] = meta

    def put_meta(self, zone: Name, owner: Name, rtype: int, meta: RRsetMeta) -> None:
        self.kv.put(b"meta", schema.rrset_key(zone, owner, rtype), meta.to_json())
        self._metas[(zone, owner, rtype)] = meta

    def delete_rrset(self, zone: Name, owner: Name, rtype: int) -> bool:
        k = schema.rrset_key(zone, owner, rtype)
        at = (zone, owner, rtype)
        self._rrsets[at] = None
        self._metas[at] = None
        types = self._types.get((zone, owner))
        if types is not None:
            types.pop(rtype, None)
        self.kv.delete(b"meta", k)
        return self.kv.delete(b"rrsets", k)

    def put_zone_state(self, zone: Name, state: ZoneState) -> None:
        self.kv.put(b"zones", names.key(zone), state.to_json())

    def delete_zone(self, zone: Name) -> None:
        self._rrsets.clear()
        self._metas.clear()
        self._types.clear()
        prefix = schema.zone_prefix(zone)
        for db in (b"rrsets", b"meta", b"journal", b"tombstones", b"leases"):
            doomed = [k for k, _ in _prefixed(self.kv, db, prefix)]
            for k in doomed:
                self.kv.delete(db, k)
        self.kv.delete(b"zones", names.key(zone))

    def append_journal(
        self, zone: Name, state: ZoneState, entry: JournalEntry, depth: int, max_bytes: int
    ) -> None:
        """Add one entry, then drop the oldest until depth and size limits hold (no scan)."""
        raw = entry.to_json()
        state.journal_seq += 1
        if state.journal_bytes == 0 or state.journal_first > state.journal_seq:
            state.journal_first = (
                state.journal_seq
            )  # first entry, or a store from before the counters
        self.kv.put(b"journal", schema.journal_key(zone, state.journal_seq), raw)
        state.journal_bytes += len(raw)
        while state.journal_first < state.journal_seq and (
            state.journal_seq - state.journal_first + 1 > depth or state.journal_bytes > max_bytes
        ):
            k = schema.journal_key(zone, state.journal_first)
            old = self.kv.get(b"journal", k)
            if old is not None:
                state.journal_bytes -= len(old)
                self.kv.delete(b"journal", k)
            state.journal_first += 1

    def put_lease(self, key: bytes, value: bytes) -> None:
        self.kv.put(b"leases", key, value)

    def delete_lease(self, key: bytes) -> bool:
        return self.kv.delete(b"leases", key)

    def put_tombstone(self, key: bytes, value: bytes) -> None:
        self.kv.put(b"tombstones", key, value)

    def delete_tombstone(self, key: bytes) -> bool:
        return self.kv.delete(b"tombstones", key)

    def put_due(self, key: bytes) -> None:
        self.kv.put(b"due", key, b"")

    def delete_due(self, key: bytes) -> bool:
        return self.kv.delete(b"due", key)

    def audit(self, event: AuditEvent) -> None:
        k = schema.audit_key(int(event.time * 1e9), next(self._audit_seq))
        self.kv.put(b"audit", k, event.to_json())


def _prefixed(kv: KVReader, db: bytes, prefix: bytes) -> list[tuple[bytes, bytes]]:
    out = []
    for k, v in kv.scan(db, prefix):
        if not k.startswith(prefix):
            break
        out.append((k, v))
    return out


class Store:
    """Transactions over a backend: ``reader()`` and ``writer()`` as context managers."""

    def __init__(self, kv: KVBackend) -> None:
        self.kv = kv
        self._audit_seq = itertools.count()

    @contextmanager
    def reader(self) -> Iterator[Reader]:
        with self.kv.read() as txn:
            yield Reader(txn)

    @contextmanager
    def writer(self) -> Iterator[Writer]:
        with self.kv.write() as txn:
            yield Writer(txn, self._audit_seq)

    def generation(self) -> int:
        """Changes with every committed write (see ``KVBackend.generation``)."""
        return self.kv.generation()

    def close(self) -> None:
        self.kv.close()
