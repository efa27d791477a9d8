"""A lease or deferred delete on data in a zone: what it covers, when it ends, its TTL steps."""

from __future__ import annotations

import enum
import functools
import hashlib
from dataclasses import dataclass, fields, replace
from typing import Any

from leasedns.store import codec, schema
from leasedns.store.records import record_from_fields
from leasedns.wire import names
from leasedns.wire.names import Name

CANCEL = 0xFFFFFFFF  # draft §3.4: a delete with this TTL cancels, deletes nothing
TTL_FLOOR = 60  # draft §4.2: half-life stops once a TTL is at or below a minute
T_ANY = 255


class LeaseKind(enum.IntEnum):
    """Persisted in lease keys: never renumber."""

    DEFERRED_DELETE = 1  # draft-ietf-dnsind-deferred-dns-delete §3
    UPDATE_LEASE = 2  # RFC 9664


class Scope(enum.StrEnum):
    RR = "rr"  # class NONE delete: one RR
    RRSET = "rrset"  # class ANY + type
    NAME = "name"  # class ANY + ANY: every RRset at the name


@dataclass(frozen=True)  # no __slots__: from_json fills __dict__ in one step
class LeaseEntry:
    zone: str
    owner: str
    rtype: int
    kind: LeaseKind
    scope: Scope
    rdata: str  # hex of the RR's rdata for Scope.RR, else ""
    started: int
    seconds: int
    issuer: str  # key name, or "unsigned from ADDR"
    role: str  # the issuer's role: admin, dhcp, client
    next_step: int = 0  # when the TTL next halves (draft §4.2); 0 = no more steps

    @property
    def deadline(self) -> int:
        return self.started + self.seconds

    @property
    def zone_name(self) -> Name:
        return _name(self.zone)

    @property
    def owner_name(self) -> Name:
        return _name(self.owner)

    def key(self) -> bytes:
        return lease_key(
            self.zone_name,
            self.owner_name,
            self.rtype,
            self.kind,
            self.scope,
            bytes.fromhex(self.rdata),
        )

    def to_json(self) -> bytes:
        return codec.dumps({f: getattr(self, f) for f in _FIELDS})

    @classmethod
    def from_json(cls, raw: bytes) -> LeaseEntry:
        d: dict[str, Any] = codec.loads(raw)
        d["kind"] = _KINDS[d["kind"]]
        d["scope"] = _SCOPES[d["scope"]]
        if d.keys() == _FIELD_SET:  # every field, as to_json writes them (read per deadline)
            return record_from_fields(cls, d)
        return cls(**d)  # written before a field existed: its default

    def with_(self, **kw: Any) -> LeaseEntry:
        return replace(self, **kw)


_FIELDS = tuple(f.name for f in fields(LeaseEntry))
_FIELD_SET = frozenset(_FIELDS)
_KINDS = {k.value: k for k in LeaseKind}
_SCOPES = {s.value: s for s in Scope}


@functools.lru_cache(maxsize=65536)
def _name(text: str) -> Name:
    """Entries name their zone and owner in text; a tick reads the same few names often.

    The text was written by ``names.to_text`` from a checked name: without escapes it is
    plain labels and dots, split far more cheaply than by the general parser (the fallback).
    """
    if "\\" not in text and len(text) > 1 and text[-1] == ".":
        labels = tuple(text[:-1].encode("utf-8").lower().split(b"."))
        if b"" not in labels:
            return labels
    return names.from_text(text)


def rdata_digest(canonical_rdata: bytes) -> bytes:
    return hashlib.sha256(canonical_rdata).digest()[:8]


def lease_key(zone: Name, owner: Name, rtype: int, kind: int, scope: Scope, rdata: bytes) -> bytes:
    from leasedns.update.rfc2136 import canon

    digest = rdata_digest(canon(rtype, rdata)) if scope == Scope.RR else b""
    return schema.lease_key(zone, owner, rtype if scope != Scope.NAME else T_ANY, kind, digest)


def first_step(started: int, seconds: int) -> int:
    """Draft §4.2: the first halving comes when half the lease is left."""
    return started + seconds // 2 if seconds >= 2 else 0


def step_after(started: int, seconds: int, step: int) -> int:
    """The halving after ``step``: when the remaining lease halves again (0 = none left)."""
    remaining = started + seconds - step
    nxt = step + remaining // 2
    return nxt if remaining >= 2 and nxt > step else 0


def halve(ttl: int) -> int:
    """Draft §4.2: halve, but a TTL at or below 60 s is never reduced further (120 -> 60)."""
    return ttl // 2 if ttl > TTL_FLOOR else ttl


def capped_ttl(requested: int, lease_seconds: int) -> int:
    """Draft §4.1: an RR added with a lease is served with TTL at most half the lease."""
    return min(requested, lease_seconds // 2)
