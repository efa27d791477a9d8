"""Values kept beside the answer data: RRset metadata, zone state, journal and audit records."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from leasedns.store import codec


class Provenance(enum.StrEnum):
    """Who wrote an RRset; humans (zonefile, admin) outrank automation (dhcp, client)."""

    ZONEFILE = "zonefile"
    ADMIN = "admin"
    DHCP = "dhcp"
    CLIENT = "client"

    @property
    def is_human(self) -> bool:
        return self in (Provenance.ZONEFILE, Provenance.ADMIN)


class State(enum.StrEnum):
    ACTIVE = "active"
    GRACE = "grace"
    PROPOSED = "proposed"
    PINNED = "pinned"


@dataclass(frozen=True, slots=True)
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
        return {f: getattr(self, f) for f in _META_FIELDS}

    @classmethod
    def from_json(cls, raw: bytes) -> RRsetMeta:
        d = codec.loads(raw)
        d = {k: v for k, v in d.items() if k in _META_KNOWN}
        d["provenance"] = Provenance(d.get("provenance", "zonefile"))
        d["state"] = State(d.get("state", "active"))
        return cls(**d)

    def with_(self, **changes: Any) -> RRsetMeta:
        return replace(self, **changes)


_META_FIELDS = tuple(f.name for f in fields(RRsetMeta))
_META_KNOWN = frozenset(_META_FIELDS)


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
        return codec.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: bytes) -> ZoneState:
        d = codec.loads(raw)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


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
        d = {
            f: getattr(self, f)
            for f in (
                "time",
                "kind",
                "zone",
                "actor",
                "role",
                "client",
                "outcome",
                "reason",
                "detail",
            )
        }
        return codec.dumps(d)

    @classmethod
    def from_json(cls, raw: bytes) -> AuditEvent:
        d = codec.loads(raw)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})
