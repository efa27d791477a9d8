"""The lifecycle policy: what a timer-driven event does to data, and why.

Every removal driven by a timer (a deferred delete's deadline, an RFC 9664
lease ending) is decided here and nowhere else, so profiles can change the
outcome without touching the timer or update code.  The ``aggressive``
profile is the deferred-delete draft exactly.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass

from leasedns.lease.entry import LeaseEntry, LeaseKind


class Effect(enum.StrEnum):
    DELETE = "delete"  # carry the removal out now
    REDUCE_TTL = "reduce-ttl"  # draft §4.2 half-life step
    KEEP = "keep"  # do nothing; the reason says why


class Event(enum.StrEnum):
    DEADLINE = "deadline"  # a deferred delete or lease reached its end
    HALF_LIFE = "half-life"


PROFILES = ("aggressive", "balanced", "conservative")


class ProfileError(ValueError):
    """A profile name leasedns does not know."""


@dataclass(frozen=True)
class Decision:
    effect: Effect
    code: str
    text: str


def decide(event: Event, entry: LeaseEntry, profile: str) -> Decision:
    """What ``event`` on ``entry`` does under ``profile``."""
    if profile not in PROFILES:
        raise ProfileError(f"unknown profile {profile!r}")
    if event == _HALF_LIFE_EVENT:
        return _HALF_LIFE
    return _deadline(entry.kind == _DEFERRED_DELETE, entry.role == "admin", entry.issuer)


_HALF_LIFE_EVENT, _DEFERRED_DELETE = Event.HALF_LIFE, LeaseKind.DEFERRED_DELETE  # looked up once
_HALF_LIFE = Decision(
    Effect.REDUCE_TTL, "half-life", "remaining lease halved: TTL halved (draft §4.2)"
)


@functools.lru_cache(maxsize=1024)
def _deadline(deferred: bool, admin: bool, issuer: str) -> Decision:
    """Decisions are immutable: one per issuer serves every deadline of a tick."""
    what = "deferred delete" if deferred else "update lease (RFC 9664)"
    if admin:
        return Decision(
            Effect.DELETE, "admin-deadline", f"{what} set by admin {issuer}: carried out"
        )
    return Decision(Effect.DELETE, "deadline", f"{what} from {issuer} reached its deadline")
