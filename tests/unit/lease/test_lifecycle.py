"""The timer-event policy: what a deadline or half-life step does under each profile, and why."""

from __future__ import annotations

import pytest

from leasedns.lease.entry import LeaseEntry, LeaseKind, Scope
from leasedns.lease.lifecycle import PROFILES, Decision, Effect, Event, ProfileError, decide

DEFERRED = LeaseEntry(
    "lab.example.", "h1.lab.example.", 1, LeaseKind.DEFERRED_DELETE, Scope.RRSET, "",
    1_700_000_000, 600, "dhcp-key.", "dhcp",
)  # fmt: skip


@pytest.mark.parametrize("profile", PROFILES)
def test_deadlines_and_half_life_steps(profile: str) -> None:
    assert decide(Event.DEADLINE, DEFERRED, profile) == Decision(
        Effect.DELETE, "deadline", "deferred delete from dhcp-key. reached its deadline"
    )
    lease = DEFERRED.with_(kind=LeaseKind.UPDATE_LEASE, issuer="laptop.", role="client")
    assert decide(Event.DEADLINE, lease, profile).text == (
        "update lease (RFC 9664) from laptop. reached its deadline"
    )
    admin = DEFERRED.with_(issuer="admin-key.", role="admin")
    assert decide(Event.DEADLINE, admin, profile) == Decision(
        Effect.DELETE, "admin-deadline", "deferred delete set by admin admin-key.: carried out"
    )
    assert decide(Event.HALF_LIFE, DEFERRED, profile).effect == Effect.REDUCE_TTL


def test_each_issuer_is_named_in_its_own_decision() -> None:
    texts = {
        decide(Event.DEADLINE, DEFERRED.with_(issuer=f"k{i}."), "balanced").text for i in range(5)
    }
    assert texts == {f"deferred delete from k{i}. reached its deadline" for i in range(5)}


def test_unknown_profile_is_refused_every_time() -> None:
    decide(Event.DEADLINE, DEFERRED, "balanced")
    for _ in range(2):
        with pytest.raises(ProfileError):
            decide(Event.DEADLINE, DEFERRED, "reckless")
