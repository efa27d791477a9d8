"""The RRset lifecycle: every rule about states and transitions lives in this file.

Rule 1: what an event does to an RRset is decided by the tables below and
nowhere else (as h11's ``_state.py`` and h2's ``stream.py`` do it).  A missing
key is a programming error (``LifecycleError``), never a silent default.

States: ``active`` (published), ``grace`` (lease over or deleted by automation:
still published with TTL at the floor, awaiting the same client), ``proposed``
(grace over under the conservative rules: still published, waiting for an admin
to approve the cleanup), ``pinned`` (never removed automatically).

Modes are the profile in force for one RRset: ``aggressive`` (the deferred
delete draft exactly), ``balanced``, ``conservative``, and ``protected`` for
RRsets a human made or touched (automation never removes them).
"""

from __future__ import annotations

import enum

from leasedns.store.records import State


class Input(enum.StrEnum):
    LEASE_END = (
        "lease-end"  # deferred delete / RFC 9664 lease / DHCP lease set by automation ran out
    )
    AUTOMATION_DELETE = "automation-delete"  # a dhcp or client key deleted it
    HUMAN_DELETE = "human-delete"  # an admin deleted it (now, or at its deferred deadline)
    GRACE_END = "grace-end"
    SAME_IDENTITY = "same-identity"  # the client that owned it writes it again
    OTHER_IDENTITY = "other-identity"  # another client claims the name
    PIN = "pin"
    UNPIN = "unpin"
    APPROVE = "approve"  # an admin approves a proposed cleanup


class Effect(enum.StrEnum):
    DELETE = "delete"  # remove softly: tombstone + audit
    START_GRACE = "start-grace"
    PROPOSE = "propose"
    REVIVE = "revive"
    REFUSE = "refuse"
    KEEP = "keep"
    PIN = "pin"
    UNPIN = "unpin"


class Mode(enum.StrEnum):
    AGGRESSIVE = "aggressive"
    BALANCED = "balanced"
    CONSERVATIVE = "conservative"
    PROTECTED = "protected"


class LifecycleError(ValueError):
    """An (input, state) pair the lifecycle does not define."""


A, G, P, N = State.ACTIVE, State.GRACE, State.PROPOSED, State.PINNED
I = Input  # noqa: E741 - short alias keeps the tables readable
E = Effect

# Inputs whose outcome depends on the mode: (mode, state, input) -> (effect, next state).
BY_MODE: dict[tuple[Mode, State, Input], tuple[Effect, State | None]] = {
    # aggressive: the draft exactly, no grace
    (Mode.AGGRESSIVE, A, I.LEASE_END): (E.DELETE, None),
    (Mode.AGGRESSIVE, A, I.AUTOMATION_DELETE): (E.DELETE, None),
    (Mode.AGGRESSIVE, G, I.LEASE_END): (E.DELETE, None),
    (Mode.AGGRESSIVE, G, I.AUTOMATION_DELETE): (E.DELETE, None),
    (Mode.AGGRESSIVE, G, I.GRACE_END): (E.DELETE, None),
    (Mode.AGGRESSIVE, P, I.LEASE_END): (E.DELETE, None),
    (Mode.AGGRESSIVE, P, I.AUTOMATION_DELETE): (E.DELETE, None),
    (Mode.AGGRESSIVE, P, I.GRACE_END): (E.KEEP, P),
    # balanced: grace, then a soft removal
    (Mode.BALANCED, A, I.LEASE_END): (E.START_GRACE, G),
    (Mode.BALANCED, A, I.AUTOMATION_DELETE): (E.START_GRACE, G),
    (Mode.BALANCED, G, I.LEASE_END): (E.KEEP, G),
    (Mode.BALANCED, G, I.AUTOMATION_DELETE): (E.KEEP, G),
    (Mode.BALANCED, G, I.GRACE_END): (E.DELETE, None),
    (Mode.BALANCED, P, I.LEASE_END): (E.KEEP, P),
    (Mode.BALANCED, P, I.AUTOMATION_DELETE): (E.KEEP, P),
    (Mode.BALANCED, P, I.GRACE_END): (E.KEEP, P),
    # conservative: grace, then a proposal an admin approves
    (Mode.CONSERVATIVE, A, I.LEASE_END): (E.START_GRACE, G),
    (Mode.CONSERVATIVE, A, I.AUTOMATION_DELETE): (E.START_GRACE, G),
    (Mode.CONSERVATIVE, G, I.LEASE_END): (E.KEEP, G),
    (Mode.CONSERVATIVE, G, I.AUTOMATION_DELETE): (E.KEEP, G),
    (Mode.CONSERVATIVE, G, I.GRACE_END): (E.PROPOSE, P),
    (Mode.CONSERVATIVE, P, I.LEASE_END): (E.KEEP, P),
    (Mode.CONSERVATIVE, P, I.AUTOMATION_DELETE): (E.KEEP, P),
    (Mode.CONSERVATIVE, P, I.GRACE_END): (E.KEEP, P),
    # protected (human-made): automation never removes it
    (Mode.PROTECTED, A, I.LEASE_END): (E.KEEP, A),
    (Mode.PROTECTED, A, I.AUTOMATION_DELETE): (E.KEEP, A),
    (Mode.PROTECTED, G, I.LEASE_END): (E.KEEP, G),
    (Mode.PROTECTED, G, I.AUTOMATION_DELETE): (E.KEEP, G),
    (Mode.PROTECTED, G, I.GRACE_END): (E.KEEP, A),
    (Mode.PROTECTED, P, I.LEASE_END): (E.KEEP, P),
    (Mode.PROTECTED, P, I.AUTOMATION_DELETE): (E.KEEP, P),
    (Mode.PROTECTED, P, I.GRACE_END): (E.KEEP, P),
}

# Inputs whose outcome is the same in every mode: (state, input) -> (effect, next state).
ANY_MODE: dict[tuple[State, Input], tuple[Effect, State | None]] = {
    # pinned: nothing automatic ever removes it
    (N, I.LEASE_END): (E.KEEP, N),
    (N, I.AUTOMATION_DELETE): (E.KEEP, N),
    (N, I.GRACE_END): (E.KEEP, N),
    (N, I.HUMAN_DELETE): (E.DELETE, None),
    (N, I.SAME_IDENTITY): (E.KEEP, N),
    (N, I.OTHER_IDENTITY): (E.REFUSE, N),
    (N, I.PIN): (E.KEEP, N),
    (N, I.UNPIN): (E.UNPIN, A),
    (N, I.APPROVE): (E.KEEP, N),
    # humans outrank automation, in every state
    (A, I.HUMAN_DELETE): (E.DELETE, None),
    (G, I.HUMAN_DELETE): (E.DELETE, None),
    (P, I.HUMAN_DELETE): (E.DELETE, None),
    (A, I.PIN): (E.PIN, N),
    (G, I.PIN): (E.PIN, N),
    (P, I.PIN): (E.PIN, N),
    (A, I.UNPIN): (E.KEEP, A),
    (G, I.UNPIN): (E.KEEP, G),
    (P, I.UNPIN): (E.KEEP, P),
    (A, I.APPROVE): (E.KEEP, A),
    (G, I.APPROVE): (E.DELETE, None),
    (P, I.APPROVE): (E.DELETE, None),
    # reconciliation by identity (RFC 4703 conflict rule for the others)
    (A, I.SAME_IDENTITY): (E.KEEP, A),
    (G, I.SAME_IDENTITY): (E.REVIVE, A),
    (P, I.SAME_IDENTITY): (E.REVIVE, A),
    (A, I.OTHER_IDENTITY): (E.KEEP, A),
    (G, I.OTHER_IDENTITY): (E.REFUSE, G),
    (P, I.OTHER_IDENTITY): (E.REFUSE, P),
}

_BY_MODE_INPUTS = frozenset({I.LEASE_END, I.AUTOMATION_DELETE, I.GRACE_END})

_MODES = {m.value: m for m in Mode}
_STRICTNESS = {Mode.AGGRESSIVE: 0, Mode.BALANCED: 1, Mode.CONSERVATIVE: 2, Mode.PROTECTED: 3}


def transition(mode: Mode, state: State, event: Input) -> tuple[Effect, State | None]:
    """The one entry point: what ``event`` does to an RRset in ``state`` under ``mode``."""
    try:
        if state == N or event not in _BY_MODE_INPUTS:
            return ANY_MODE[(state, event)]
        return BY_MODE[(mode, state, event)]
    except KeyError:
        raise LifecycleError(f"no transition for {event} in state {state} ({mode})") from None


def mode_for(profile: str, human: bool, infrastructure: bool, keep_on_expiry: bool = False) -> Mode:
    """Human-made data is protected; infrastructure and the keep switch are at least conservative."""
    if human:
        return Mode.PROTECTED
    mode = _MODES.get(profile) or Mode(profile)  # asked once per removal: skip the Enum call
    if (infrastructure or keep_on_expiry) and _STRICTNESS[mode] < _STRICTNESS[Mode.CONSERVATIVE]:
        return Mode.CONSERVATIVE
    return mode
