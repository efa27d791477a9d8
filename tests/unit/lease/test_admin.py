"""Admin operations (pin, unpin, approve, restore, resume) over the engines with a fake clock."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import dns.message
import dns.rcode
import dns.rdatatype
import dns.update
import pytest
from harness import Harness

from leasedns.lease.admin import AdminError, AdminTxn
from leasedns.lease.book import LeaseBook
from leasedns.store import schema
from leasedns.store.records import Provenance, State
from leasedns.timers.events import TimerKind, due_key
from leasedns.wire import names, tsig
from leasedns.zone.commit import ZoneChange
from leasedns.zone.update_engine import Pending

A, DHCID = dns.rdatatype.A, dns.rdatatype.DHCID
DHCID_1 = "AAIBY2/AuCccgoJbsaxcQc9TUapptP69lOjxfNuVAA2kjEA="


def send(
    h: Harness, build: Callable[[dns.update.UpdateMessage], Any], key: str = "dhcp-key."
) -> str:
    """One update as if signed by ``key`` (TSIG itself is tested elsewhere; the clock is fake)."""
    u = dns.update.UpdateMessage("lab.example.")
    build(u)
    replies: list[bytes] = []
    result = tsig.TsigResult(h.keyring[names.from_text(key)], 0, None)
    h.engine.queue.append(Pending(u.to_wire(), "127.0.0.1", replies.append, result))
    h.engine.flush()
    return dns.rcode.to_text(dns.message.from_wire(replies[0]).rcode())


def add_host(h: Harness, name: str = "h1", addr: str = "10.0.0.5") -> None:
    assert (
        send(h, lambda u: (u.add(name, 600, "A", addr), u.add(name, 600, "DHCID", DHCID_1)))
        == "NOERROR"
    )


def drop_host(h: Harness, name: str = "h1") -> None:
    assert send(h, lambda u: (u.delete(name, "A"), u.delete(name, "DHCID"))) == "NOERROR"


def admin(h: Harness, op: Callable[[AdminTxn], Any]) -> tuple[Any, list[ZoneChange]]:
    """Run ``op`` the way the API does: one write transaction, then the wheel."""
    now = int(h.clock())
    with h.store.writer() as w:
        book = LeaseBook(w)
        guard = h.lifecycle.guard(w, book, now)
        txn = AdminTxn(w, book, guard, "tester", now)
        out = op(txn)
        changes = txn.finish()
    h.timers.apply(book.wheel_ops)
    return out, changes


def n(text: str) -> names.Name:
    return names.from_text(text, names.from_text("lab.example."))


def meta(h: Harness, name: str, rtype: int = A):  # type: ignore[no-untyped-def]
    with h.store.reader() as r:
        return r.get_meta(h.zone, n(name), rtype)


def tombstones(h: Harness) -> list[dict[str, Any]]:
    with h.store.reader() as r:
        return [json.loads(v) for _, v in r.iter_tombstones(h.zone)]


def audit(h: Harness, kind: str) -> list[Any]:
    with h.store.reader() as r:
        return [e for e in r.audit_events() if e.kind == kind]


@pytest.fixture
def h(tmp_path):  # type: ignore[no-untyped-def]
    return Harness(tmp_path, profile="balanced", grace=100)


@pytest.fixture
def cons(tmp_path):  # type: ignore[no-untyped-def]
    return Harness(tmp_path, profile="conservative", grace=100)


# -- pin / unpin ---------------------------------------------------------------------


def test_pin_in_grace_cancels_the_grace_timer_and_keeps_the_record(h: Harness) -> None:
    add_host(h)
    drop_host(h)
    m = meta(h, "h1")
    assert m.state == State.GRACE
    deadline = m.state_deadline
    changes, zone_changes = admin(h, lambda t: t.pin(h.zone, n("h1"), A))
    assert [(c.before, c.after, c.changed) for c in changes] == [("grace", "pinned", True)]
    assert len(zone_changes) == 1, "leaving grace brings the TTL back: one zone change"
    with h.store.reader() as r:
        cur = r.get(h.zone, n("h1"), A)
    assert cur is not None and cur[0] > 60, "the TTL grace lowered to the floor is restored"
    key = schema.rrset_key(h.zone, n("h1"), A)
    with h.store.reader() as r:
        assert due_key(deadline, TimerKind.GRACE_END, key) not in set(r.iter_due())
    h.advance(1000)
    assert h.rrset("h1", A) is not None
    assert meta(h, "h1").state == State.PINNED
    assert h.rrset("h1", DHCID) is None, "only the pinned type was kept"
    (ev,) = audit(h, "pin")
    assert ev.actor == "tester" and ev.detail["state_before"] == "grace"


def test_pinned_record_survives_automation_delete_and_unpin_makes_it_active(h: Harness) -> None:
    add_host(h)
    admin(h, lambda t: t.pin(h.zone, n("h1"), None))
    assert {meta(h, "h1", A).state, meta(h, "h1", DHCID).state} == {State.PINNED}
    drop_host(h)
    h.advance(1000)
    assert h.rrset("h1", A) is not None and h.rrset("h1", DHCID) is not None
    changes, _ = admin(h, lambda t: t.unpin(h.zone, n("h1"), A))
    assert [(c.before, c.after) for c in changes] == [("pinned", "active")]
    assert meta(h, "h1").state == State.ACTIVE
    again, _ = admin(h, lambda t: t.unpin(h.zone, n("h1"), A))
    assert not again[0].changed and "not pinned" in again[0].message


def test_pin_twice_changes_nothing_the_second_time(h: Harness) -> None:
    add_host(h)
    admin(h, lambda t: t.pin(h.zone, n("h1"), A))
    (second,), _ = admin(h, lambda t: t.pin(h.zone, n("h1"), A))
    assert not second.changed
    assert len(audit(h, "pin")) == 1


def test_zone_file_record_can_be_pinned(h: Harness) -> None:
    admin(h, lambda t: t.pin(h.zone, n("static"), A))
    m = meta(h, "static")
    assert m.state == State.PINNED and m.provenance == Provenance.ZONEFILE


# -- approve ---------------------------------------------------------------------------


def test_conservative_grace_ends_in_proposal_and_approve_removes_softly(cons: Harness) -> None:
    add_host(cons)
    drop_host(cons)
    cons.advance(101)
    assert meta(cons, "h1").state == State.PROPOSED
    assert cons.rrset("h1", A) is not None, "a proposal stays published"
    serial = cons.serial()
    changes, zone_changes = admin(cons, lambda t: t.approve(cons.zone, n("h1"), None))
    assert sorted(c.rtype for c in changes) == [A, DHCID]
    assert cons.rrset("h1", A) is None and cons.rrset("h1", DHCID) is None
    assert [zc.serial for zc in zone_changes] == [serial + 1] and cons.serial() == serial + 1
    stones = tombstones(cons)
    assert {t["type"] for t in stones} == {A, DHCID}
    assert all(t["reason"] == "cleanup approved by an admin" for t in stones)
    assert len(audit(cons, "cleanup-approve")) == 2
    with cons.store.reader() as r:
        _, entry = list(r.journal(cons.zone))[-1]
    assert (names.to_text(n("h1")), A, 60, "0a000005") in entry.deleted
    assert entry.actor == "tester" and "cleanup approved" in entry.reason


def test_approve_in_grace_removes_and_cancels_the_timer(h: Harness) -> None:
    add_host(h)
    drop_host(h)
    admin(h, lambda t: t.approve(h.zone, n("h1"), A))
    assert h.rrset("h1", A) is None
    with h.store.reader() as r:
        assert not [k for k in r.iter_due() if k.endswith(schema.rrset_key(h.zone, n("h1"), A))]


def test_approve_refuses_active_pinned_and_human_records(h: Harness) -> None:
    add_host(h)
    for name in ("h1", "static"):
        with pytest.raises(AdminError) as e:
            admin(h, lambda t, name=name: t.approve(h.zone, n(name), A))
        assert not e.value.not_found and "not proposed for cleanup" in str(e.value)
    admin(h, lambda t: t.pin(h.zone, n("h1"), A))
    with pytest.raises(AdminError):
        admin(h, lambda t: t.approve(h.zone, n("h1"), A))
    assert h.rrset("h1", A) is not None and h.rrset("static", A) is not None
    assert tombstones(h) == []


def test_a_refused_operation_writes_nothing(h: Harness) -> None:
    """The error aborts the transaction: no half-done approve of an ANY."""
    add_host(h)
    with h.store.reader() as r:
        before = len(list(r.audit_events()))
    with pytest.raises(AdminError):
        admin(h, lambda t: (t.pin(h.zone, n("h1"), A), t.approve(h.zone, n("static"), A)))
    assert meta(h, "h1").state == State.ACTIVE
    with h.store.reader() as r:
        assert len(list(r.audit_events())) == before


# -- restore ----------------------------------------------------------------------------


def test_removed_after_grace_then_restored_with_its_metadata(h: Harness) -> None:
    add_host(h)
    drop_host(h)
    h.advance(101)
    assert h.rrset("h1", A) is None
    (stone,) = [t for t in tombstones(h) if t["type"] == A]
    assert stone["reason"] == "grace ended" and stone["meta"]["provenance"] == "dhcp"
    serial = h.serial()
    changes, zone_changes = admin(h, lambda t: t.restore(h.zone, n("h1"), A))
    assert [(c.before, c.after) for c in changes] == [("removed", "active")]
    assert h.rrset("h1", A) == (stone["ttl"], (bytes.fromhex("0a000005"),))
    m = meta(h, "h1")
    assert m.state == State.ACTIVE and m.provenance == Provenance.DHCP
    assert m.identity == stone["meta"]["identity"] and m.state_deadline == 0
    assert [zc.serial for zc in zone_changes] == [serial + 1]
    assert [t["type"] for t in tombstones(h)] == [DHCID], "the used tombstone is gone"
    (ev,) = audit(h, "restore")
    assert (
        ev.detail["owner"] == "h1.lab.example." and ev.detail["removed_at"] == stone["removed_at"]
    )


def test_restore_any_brings_back_every_type(h: Harness) -> None:
    add_host(h)
    drop_host(h)
    h.advance(101)
    admin(h, lambda t: t.restore(h.zone, n("h1"), None))
    assert h.rrset("h1", A) is not None and h.rrset("h1", DHCID) is not None
    assert tombstones(h) == []


def test_restore_picks_the_latest_removal_or_the_one_asked_for(h: Harness) -> None:
    add_host(h, addr="10.0.0.5")
    drop_host(h)
    h.advance(101)
    first = next(t for t in tombstones(h) if t["type"] == A)["removed_at"]
    h.advance(10)
    add_host(h, addr="10.0.0.6")
    drop_host(h)
    h.advance(101)
    admin(h, lambda t: t.restore(h.zone, n("h1"), A))
    assert h.rrset("h1", A)[1] == (bytes([10, 0, 0, 6]),)
    send(h, lambda u: u.delete("h1", "A"), key="admin-key.")
    h.advance(1)
    admin(h, lambda t: t.restore(h.zone, n("h1"), A, removed_at=first))
    assert h.rrset("h1", A)[1] == (bytes([10, 0, 0, 5]),)


def test_restore_refuses_when_the_name_is_in_use_again(h: Harness) -> None:
    add_host(h)
    drop_host(h)
    h.advance(101)
    add_host(h, addr="10.0.0.7")
    with pytest.raises(AdminError) as e:
        admin(h, lambda t: t.restore(h.zone, n("h1"), A))
    assert "exists again" in str(e.value) and not e.value.not_found
    assert h.rrset("h1", A)[1] == (bytes([10, 0, 0, 7]),)


def test_restore_refuses_beside_a_cname(h: Harness) -> None:
    add_host(h)
    drop_host(h)
    h.advance(101)
    send(h, lambda u: u.add("h1", 300, "CNAME", "static"), key="admin-key.")
    with pytest.raises(AdminError, match="CNAME"):
        admin(h, lambda t: t.restore(h.zone, n("h1"), A))


def test_unknown_record_tombstone_and_zone_are_not_found(h: Harness) -> None:
    for op in (
        lambda t: t.pin(h.zone, n("nope"), A),
        lambda t: t.pin(h.zone, n("nope"), None),
        lambda t: t.restore(h.zone, n("nope"), A),
        lambda t: t.resume(names.from_text("other.example.")),
    ):
        with pytest.raises(AdminError) as e:
            admin(h, op)
        assert e.value.not_found


# -- resume -----------------------------------------------------------------------------


def test_resume_clears_the_pause_and_the_removal_window(h: Harness) -> None:
    h.settings = type(h.settings)(profile="balanced", grace=100, blast_min=2, blast_share=0.0)
    for i in range(5):
        assert send(h, lambda u, i=i: u.add(f"b{i}", 600, "A", f"10.0.0.{60 + i}")) == "NOERROR"
    for i in range(5):
        send(h, lambda u, i=i: u.delete(f"b{i}", "A"))
    h.advance(101)
    with h.store.reader() as r:
        st = r.zone_state(h.zone)
    assert st is not None and st.paused, "more than 2 removals in the window pause the zone"
    kept = [i for i in range(5) if h.rrset(f"b{i}", A) is not None]
    assert len(kept) == 3
    assert h.lifecycle.blast.recent[h.zone]
    change, zone_changes = admin(h, lambda t: t.resume(h.zone))
    assert change.changed and zone_changes == []
    with h.store.reader() as r:
        st = r.zone_state(h.zone)
    assert st is not None and not st.paused and st.paused_at == 0
    assert h.zone not in h.lifecycle.blast.recent
    (ev,) = audit(h, "cleanup-resumed")
    assert "was paused" in ev.reason
    h.advance(61)  # held removals retry a minute later, under the limit again: 2 go, 1 pauses
    assert len([i for i in range(5) if h.rrset(f"b{i}", A) is not None]) == 1
    with h.store.reader() as r:
        st = r.zone_state(h.zone)
    assert st is not None and st.paused
    admin(h, lambda t: t.resume(h.zone))
    (not_paused,), _ = admin(h, lambda t: [t.resume(h.zone)])
    assert not not_paused.changed and not_paused.message == "automatic removal is not paused"
