"""Values kept beside the answer data: RRset metadata, zone state, journal and audit records."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields, replace
from typing import Any, TypeVar

from leasedns.store import codec

_Record = TypeVar("_Record")


class Provenance(enum.StrEnum):
    """Who wrote an RRset; humans (zonefile, admin) outrank automation (dhcp, client)."""

    ZONEFILE = "zonefile"
    ADMIN = "admin"
    DHCP = "dhcp"
    CLIENT = "client"

    @property
    def is_human(self) -> bool:
        return self in _HUMAN


_HUMAN = frozenset({Provenance.ZONEFILE, Provenance.ADMIN})


class State(enum.StrEnum):
    ACTIVE = "active"
    GRACE = "grace"
    PROPOSED = "proposed"
    PINNED = "pinned"


@dataclass(frozen=True)  # no __slots__: from_json fills __dict__ in one step (see there)
class RRsetMeta:
    provenance: Provenance = Provenance.ZONEFILE
    state: State = State.ACTIVE
    identity: str = ""
    created: int = 0
    confirmed: int = 0
    human_touched: int = 0
    state_deadline: int = 0
    writer: str = ""
    grace_seconds: int = 0  # how long grace lasts once it starts (lease length, at least the floor)
    ttl_before_grace: int = 0  # grace lowers the TTL to the floor; this brings it back

    def to_json(self) -> bytes:
        return codec.dumps(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        # spelled out (cheaper than a getattr loop: every removal's tombstone holds one);
        # tests/unit/store check that it names every field
        return {
            "provenance": self.provenance,
            "state": self.state,
            "identity": self.identity,
            "created": self.created,
            "confirmed": self.confirmed,
            "human_touched": self.human_touched,
            "state_deadline": self.state_deadline,
            "writer": self.writer,
            "grace_seconds": self.grace_seconds,
            "ttl_before_grace": self.ttl_before_grace,
        }

    @classmethod
    def from_json(cls, raw: bytes) -> RRsetMeta:
        d = codec.loads(raw)
        # read for every RRset a timer or an update touches: dict lookups, not Enum() calls
        p, st = d.get("provenance", "zonefile"), d.get("state", "active")
        d["provenance"] = _PROVENANCES.get(p) or Provenance(p)
        d["state"] = _STATES.get(st) or State(st)
        if d.keys() == _META_KNOWN:  # every field, as to_json writes them
            return record_from_fields(cls, d)
        return cls(**{k: v for k, v in d.items() if k in _META_KNOWN})  # older or newer

    def with_(self, **changes: Any) -> RRsetMeta:
        return replace(self, **changes)


def record_from_fields(cls: type[_Record], values: dict[str, Any]) -> _Record:
    """A frozen record from a dict holding exactly its fields, checked by the caller.

    The generated ``__init__`` of a frozen dataclass sets each field through
    ``object.__setattr__``, about a microsecond apiece; records parsed per deadline
    (lease entry, RRset metadata) fill ``__dict__`` in one step instead.
    """
    record = object.__new__(cls)
    record.__dict__.update(values)
    return record


_META_FIELDS = tuple(f.name for f in fields(RRsetMeta))
_META_KNOWN = frozenset(_META_FIELDS)
_PROVENANCES = {p.value: p for p in Provenance}
_STATES = {s.value: s for s in State}


@dataclass(slots=True)
class ZoneState:
    origin: str
    serial: int
    files: dict[str, str] = field(default_factory=dict)
    source: str = ""
    profile: str = ""
    imported: int = 0
    journal_seq: int = 0
    journal_first: int = 1  # oldest entry still kept
    journal_bytes: int = 0
    human_gen: int = 0  # moves when human-made data may have changed: the role index follows it
    paused: str = ""  # blast-radius pause: why automatic removal is paused ("" = running)
    paused_at: int = 0

    def to_json(self) -> bytes:
        # written once per zone change: field by field, not dataclasses.asdict (deep copies)
        return codec.dumps({f: getattr(self, f) for f in _ZONE_STATE_FIELDS})

    @classmethod
    def from_json(cls, raw: bytes) -> ZoneState:
        d = codec.loads(raw)
        return cls(**{k: v for k, v in d.items() if k in _ZONE_STATE_KNOWN})


_ZONE_STATE_FIELDS = tuple(f.name for f in fields(ZoneState))
_ZONE_STATE_KNOWN = frozenset(_ZONE_STATE_FIELDS)


# One RR in presentation-independent form: (owner text, type, ttl, rdata hex).
RRTuple = tuple[str, int, int, str]


@dataclass(slots=True)
class JournalEntry:
    """The difference between two serials (RFC 1995 §4 "difference sequence")."""

    serial_from: int
    serial_to: int
    deleted: list[RRTuple]
    added: list[RRTuple]
    actor: str
    reason: str
    time: int

    def to_json(self) -> bytes:
        d = {
            f: getattr(self, f)
            for f in ("serial_from", "serial_to", "deleted", "added", "actor", "reason", "time")
        }
        return codec.dumps(d)

    @classmethod
    def from_json(cls, raw: bytes) -> JournalEntry:
        d = codec.loads(raw)
        d["deleted"] = [tuple(x) for x in d["deleted"]]
        d["added"] = [tuple(x) for x in d["added"]]
        return cls(**d)


@dataclass(slots=True)
class AuditEvent:
    time: float
    kind: str
    zone: str
    actor: str = ""
    role: str = ""
    client: str = ""
    outcome: str = ""
    reason: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> bytes:
        return codec.dumps(
            {
                "time": self.time,
                "kind": self.kind,
                "zone": self.zone,
                "actor": self.actor,
                "role": self.role,
                "client": self.client,
                "outcome": self.outcome,
                "reason": self.reason,
                "detail": self.detail,
            }
        )

    @classmethod
    def from_json(cls, raw: bytes) -> AuditEvent:
        d = codec.loads(raw)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})
