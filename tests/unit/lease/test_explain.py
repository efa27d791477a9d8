"""Explanations: plain sentences from metadata, policy and time, agreeing with the lifecycle table."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from leasedns.lease.entry import LeaseEntry, LeaseKind, Scope
from leasedns.lease.explain import (
    Attempt,
    Reason,
    Subject,
    clock_time,
    duration,
    explain,
    identity_text,
)
from leasedns.lease.protect import ZoneLifecycle
from leasedns.store.records import Provenance, RRsetMeta, State

T0 = int(datetime(2026, 11, 21, 10, 2, tzinfo=UTC).timestamp())  # "10:02"
DHCID = "dhcid:000201636fc0b8271c82825bb1ac5c41cf5351aa69b4febd94e8f17cdb95000da48c40"
HOST = Subject("lab.example.", "host1.lab.example.", "A", 300, ("10.0.0.5",))
BALANCED = ZoneLifecycle()
DHCP_META = RRsetMeta(Provenance.DHCP, State.ACTIVE, DHCID, T0, T0, 0, 0, "kea-d2.")


def lease(kind: LeaseKind = LeaseKind.UPDATE_LEASE, seconds: int = 7200, role: str = "dhcp",
          issuer: str = "kea-d2.", started: int = T0, next_step: int = 0) -> LeaseEntry:  # fmt: skip
    return LeaseEntry("lab.example.", "host1.lab.example.", 1, kind, Scope.RRSET, "", started,
                      seconds, issuer, role, next_step)  # fmt: skip


def texts(reasons: list[Reason]) -> list[str]:
    return [r.text for r in reasons]


def codes(reasons: list[Reason]) -> list[str]:
    return [r.code for r in reasons]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (40, "40 s"), (60, "1 m"), (125, "2 m 5 s"), (3600, "1 h"), (7080, "1 h 58 m"),
     (7199, "1 h 59 m"), (86400 * 2 + 3 * 3600 + 59, "2 d 3 h"), (-5, "0 s")],
)  # fmt: skip
def test_durations_are_human(seconds: int, text: str) -> None:
    assert duration(seconds) == text


def test_clock_time_shows_the_date_only_on_another_day() -> None:
    assert clock_time(T0, T0 + 3600) == "10:02"
    assert clock_time(T0, T0 + 86400) == "2026-11-21 10:02"


def test_identity_is_shortened_for_sentences() -> None:
    assert identity_text(DHCID) == "DHCID 000201636fc0…"
    assert identity_text("key:host1.lab.example.") == "key host1.lab.example."
    assert identity_text("client-id:01:aa:bb") == "client-id:01:aa:bb"


def test_zone_file_record_is_never_removed_by_lease_expiry() -> None:
    meta = RRsetMeta(created=T0, confirmed=T0)
    dd = lease(LeaseKind.DEFERRED_DELETE, seconds=40, issuer="dhcp-key.")
    out = explain(HOST, meta, [dd], BALANCED, [], "", T0)
    assert out[0] == Reason(
        "zonefile", "created by the zone file; DHCP lease expiry will not remove it"
    )
    assert texts(out)[1] == (
        "deferred delete in 40 s (set by dhcp-key): will not remove it, it was made by a human"
    )
    assert "no-lease" not in codes(out)


def test_dhcp_record_with_a_lease_under_balanced() -> None:
    out = explain(HOST, DHCP_META, [lease(seconds=7200)], BALANCED, [], "", T0 + 120)
    assert texts(out) == [
        "added by DHCP key kea-d2 (DHCID 000201636fc0…) at 10:02",
        "lease ends in 1 h 58 m, then 2 h grace; removed after that unless renewed or pinned",
    ]


def test_fixed_grace_from_the_settings_is_what_the_sentence_says() -> None:
    settings = ZoneLifecycle(grace=3600)
    out = explain(HOST, DHCP_META, [lease(seconds=7200)], settings, [], "", T0 + 120)
    assert out[1].text == (
        "lease ends in 1 h 58 m, then 1 h grace; removed after that unless renewed or pinned"
    )


def test_aggressive_and_conservative_promise_what_they_do() -> None:
    aggressive = explain(HOST, DHCP_META, [lease()], ZoneLifecycle("aggressive"), [], "", T0)
    assert aggressive[1].text == "lease ends in 2 h; removed then unless renewed or pinned"
    conservative = explain(HOST, DHCP_META, [lease()], ZoneLifecycle("conservative"), [], "", T0)
    assert conservative[1].text == (
        "lease ends in 2 h, then 2 h grace; then proposed for cleanup, removed only when an admin "
        "approves"
    )


def test_infrastructure_is_explained_and_handled_conservatively() -> None:
    out = explain(
        HOST, DHCP_META, [lease()], BALANCED, ["target of CNAME nfs.lab.example."], "", T0
    )
    assert (
        Reason(
            "infrastructure",
            "kept as infrastructure: target of CNAME nfs.lab.example. "
            "(handled as conservative: cleanup needs an admin's approval)",
        )
        in out
    )
    assert "then proposed for cleanup" in texts(out)[-1]


def test_infrastructure_of_a_human_record_is_a_plain_fact() -> None:
    out = explain(HOST, RRsetMeta(), [], BALANCED, ["target of CNAME nfs.lab.example."], "", T0)
    assert texts(out) == [
        "created by the zone file; DHCP lease expiry will not remove it",
        "infrastructure: target of CNAME nfs.lab.example.",
    ]


def test_grace_says_since_whom_it_waits_for_and_when_it_ends() -> None:
    meta = DHCP_META.with_(state=State.GRACE, state_deadline=T0 + 3600, grace_seconds=3600)
    out = explain(HOST, meta, [], BALANCED, [], "", T0 + 60)
    assert (
        Reason(
            "grace",
            "in grace since 10:02 — awaiting the same client (DHCID 000201636fc0…) to return; "
            "removed at 11:02",
        )
        in out
    )
    assert "no-lease" not in codes(out)
    proposed_after = explain(HOST, meta, [], ZoneLifecycle("conservative"), [], "", T0 + 60)
    assert "proposed for cleanup at 11:02" in proposed_after[1].text


def test_proposed_tells_the_admin_the_command() -> None:
    meta = DHCP_META.with_(state=State.PROPOSED)
    out = explain(HOST, meta, [], ZoneLifecycle("conservative"), [], "", T0)
    assert out[1] == Reason(
        "proposed",
        "proposed for cleanup: waiting for an admin "
        "(leasedns cleanup approve host1.lab.example. A)",
    )


def test_pinned_is_never_removed_and_leases_say_so() -> None:
    meta = DHCP_META.with_(state=State.PINNED)
    out = explain(HOST, meta, [lease()], BALANCED, ["pinned by an admin"], "", T0)
    assert out[1] == Reason("pinned", "pinned: never removed automatically")
    assert "infrastructure" not in codes(out), "the pin is not repeated as a role"
    assert out[2].text == "lease ends in 2 h: will not remove it, it is pinned"


def test_pause_is_shown_with_the_resume_command_for_automation_records_only() -> None:
    why = "more than 10 automatic removals within 600 s"
    out = explain(HOST, DHCP_META, [], BALANCED, [], why, T0)
    assert (
        Reason(
            "paused",
            f"automatic removal is paused for this zone ({why}); leasedns cleanup resume lab.example.",
        )
        in out
    )
    assert "paused" not in codes(explain(HOST, RRsetMeta(), [], BALANCED, [], why, T0))
    aggressive = ZoneLifecycle("aggressive")
    assert "paused" not in codes(explain(HOST, DHCP_META, [], aggressive, [], why, T0))


def test_held_grace_says_it_is_held() -> None:
    meta = DHCP_META.with_(state=State.GRACE, state_deadline=T0, grace_seconds=60)
    out = explain(HOST, meta, [], BALANCED, [], "server was down", T0 + 300)
    assert out[1].text.endswith("(held: automatic removal is paused)")


def test_admin_deferred_delete_is_always_carried_out() -> None:
    dd = lease(LeaseKind.DEFERRED_DELETE, seconds=40, role="admin", issuer="admin-key.")
    for meta in (DHCP_META, RRsetMeta(), DHCP_META.with_(state=State.PINNED)):
        out = explain(HOST, meta, [dd], BALANCED, [], "", T0)
        assert (
            Reason(
                "deferred-delete", "deferred delete in 40 s (set by admin-key: always carried out)"
            )
            in out
        )


def test_ttl_step_is_announced() -> None:
    subject = Subject("lab.example.", "host1.lab.example.", "A", 600, ("10.0.0.5",))
    out = explain(subject, DHCP_META, [lease(seconds=4800, next_step=T0 + 2400)], BALANCED, [], "",
                  T0)  # fmt: skip
    assert Reason("ttl-step", "TTL halves next at 10:42 (600 s → 300 s)") in out
    at_floor = Subject("lab.example.", "host1.lab.example.", "A", 60, ("10.0.0.5",))
    out = explain(at_floor, DHCP_META, [lease(next_step=T0 + 2400)], BALANCED, [], "", T0)
    assert "ttl-step" not in codes(out)


def test_without_a_lease_a_dhcp_record_waits_for_its_dhcp_server() -> None:
    out = explain(HOST, DHCP_META, [], ZoneLifecycle(grace=7200), [], "", T0)
    assert out[-1] == Reason(
        "no-lease",
        "no lease here: stays until its DHCP server deletes it, then 2 h grace; "
        "removed after that unless renewed or pinned",
    )


def test_client_and_admin_and_adopted_provenance() -> None:
    client = RRsetMeta(Provenance.CLIENT, State.ACTIVE, "key:host1.lab.example.", T0, T0 + 600,
                       0, 0, "host1.lab.example.")  # fmt: skip
    assert explain(HOST, client, [], BALANCED, [], "", T0 + 900)[0].text == (
        "added by the host itself (key host1.lab.example) at 10:02; last renewed at 10:12"
    )
    admin = RRsetMeta(Provenance.ADMIN, created=T0, human_touched=T0, writer="admin-key.")
    assert explain(HOST, admin, [], BALANCED, [], "", T0)[0] == Reason(
        "admin", "added by admin admin-key at 10:02; DHCP lease expiry will not remove it"
    )
    adopted = DHCP_META.with_(
        provenance=Provenance.ADMIN, human_touched=T0 + 60, writer="admin-key."
    )
    out = explain(HOST, adopted, [lease()], BALANCED, [], "", T0 + 60)
    assert out[0].code == "adopted" and "now human-owned" in out[0].text
    assert out[1].text.endswith("will not remove it, it was made by a human")


def test_keep_on_expiry_switch() -> None:
    out = explain(HOST, DHCP_META, [lease()], ZoneLifecycle(keep_on_expiry=True), [], "", T0)
    assert "keep-on-expiry" in codes(out)
    assert "then proposed for cleanup" in out[-1].text


def test_refused_attempts_are_explained() -> None:
    attempts = [
        Attempt(T0 + 60, "dhcp-key.", "delete", "made by a human"),
        Attempt(T0 + 120, "dhcp-key.", "overwrite", "made by a human"),
        Attempt(T0 + 180, "other-key.", "claim"),
    ]
    out = explain(HOST, RRsetMeta(), [], BALANCED, [], "", T0 + 200, attempts)
    assert texts(out)[1:] == [
        "dhcp-key tried to delete it at 10:03: not applied (made by a human)",
        "dhcp-key tried to overwrite it at 10:04: refused (made by a human)",
        "another client tried to claim the name through other-key at 10:05: refused "
        "(RFC 4703 conflict rule)",
    ]


def test_deadline_already_past_is_worded_as_past() -> None:
    out = explain(HOST, DHCP_META, [lease(seconds=60)], BALANCED, [], "paused", T0 + 600)
    assert out[-1].text.startswith("lease ended at 10:03, then 1 h grace")


def test_only_the_last_three_attempts_are_listed() -> None:
    attempts = [Attempt(T0 + i, "dhcp-key.", "delete") for i in range(10)]
    out = explain(HOST, RRsetMeta(), [], BALANCED, [], "", T0 + 60, attempts)
    assert codes(out).count("automation-refused") == 3


def test_a_returning_client_is_explained_once_with_the_latest_move() -> None:
    attempts = [
        Attempt(T0 + 60, "kea-d2.", "reconciled", "10.0.0.4 → 10.0.0.5"),
        Attempt(T0 + 120, "kea-d2.", "reconciled", "10.0.0.5 → 10.0.0.9"),
    ]
    out = explain(HOST, DHCP_META, [], BALANCED, [], "", T0 + 200, attempts)
    assert (
        Reason("reconciled", "the same client returned at 10:04: reconciled 10.0.0.5 → 10.0.0.9")
        in out
    )
    assert codes(out).count("reconciled") == 1 and "automation-refused" not in codes(out)


def test_attempts_before_the_rrset_was_created_belong_to_an_earlier_one() -> None:
    early = [Attempt(T0 - 60, "kea-d2.", "claim"), Attempt(T0 - 30, "kea-d2.", "delete")]
    out = explain(HOST, DHCP_META, [], BALANCED, [], "", T0 + 60, early)
    assert "claim-refused" not in codes(out) and "automation-refused" not in codes(out)
