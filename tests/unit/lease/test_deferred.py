"""Deferred deletes (draft §3), TTL limits and half-life (§4), RFC 9664 leases: with a fake clock."""

from __future__ import annotations

import struct

import dns.edns
import dns.rdatatype
import pytest
from harness import Harness, deferred_delete, rcode

from leasedns.lease.entry import CANCEL, first_step, halve, step_after

A = dns.rdatatype.A


@pytest.fixture
def h(tmp_path):  # type: ignore[no-untyped-def]
    return Harness(tmp_path)


def add_host(
    h: Harness, name: str = "h1", addr: str = "10.0.0.50", ttl: int = 3600, lease: int | None = None
):  # type: ignore[no-untyped-def]
    u = h.update()
    u.add(name, ttl, "A", addr)
    if lease is not None:
        deferred_delete(u, name, lease, "A", addr)
    return h.send(u)


def test_deferred_delete_runs_after_ttl_seconds_not_before(h: Harness) -> None:
    assert rcode(add_host(h, lease=100)) == "NOERROR"  # §3.6: ADD + deferred delete -> NOERROR
    assert h.rrset("h1", A) is not None
    h.advance(99)
    assert h.rrset("h1", A) is not None, "nothing is ever deleted early"
    h.advance(1)
    assert h.rrset("h1", A) is None


@pytest.mark.parametrize("kind", ["deferred delete", "RFC 9664 lease"])
def test_a_deadline_set_within_a_second_is_never_rounded_down(h: Harness, kind: str) -> None:
    """Sent 0.9 s into a second, a 30 s lease must not end 29.1 s later (draft §3: the
    delete is "deferred for that number of seconds"; RFC 9664 §2.1 the same for a lease)."""
    h.clock.t += 0.9
    sent = h.clock.t
    if kind == "deferred delete":
        assert rcode(add_host(h, lease=30)) == "NOERROR"
    else:
        u = h.update()
        u.add("h1", 600, "A", "10.0.0.50")
        u.use_edns(0, options=[_lease_option(30)])
        assert rcode(h.send(u)) == "NOERROR"
    h.advance(29.95)
    assert h.rrset("h1", A) is not None, f"gone {h.clock.t - sent:.2f} s after a 30 s {kind}"
    h.advance(1.05)
    assert h.rrset("h1", A) is None, "carried out within a second of its deadline"


def test_ttl_zero_delete_is_immediate(h: Harness) -> None:
    add_host(h)
    u = h.update()
    u.delete("h1", "A", "10.0.0.50")
    assert rcode(h.send(u)) == "NOERROR"
    assert h.rrset("h1", A) is None


def test_added_rr_ttl_capped_at_half_the_lease(h: Harness) -> None:
    add_host(h, ttl=3600, lease=600)
    assert h.rrset("h1", A)[0] == 300  # §4.1 min(3600, 600/2)


def test_existing_rr_keeps_ttl_until_first_halving_then_halves(h: Harness) -> None:
    add_host(h, ttl=3600)
    u = h.update()
    deferred_delete(u, "h1", 800, "A", "10.0.0.50")
    serial0 = h.serial()
    assert rcode(h.send(u)) == "NOERROR"
    assert h.serial() == serial0, "recording a deferred delete changes no zone data"
    assert h.rrset("h1", A)[0] == 3600
    h.advance(399)
    assert h.rrset("h1", A)[0] == 3600
    h.advance(1)  # t0 + L/2
    assert h.rrset("h1", A)[0] == 1800
    assert h.serial() == serial0 + 1, "each reduction is a zone change"
    h.advance(200)  # t0 + 3L/4
    assert h.rrset("h1", A)[0] == 900
    h.advance(100)  # t0 + 7L/8
    assert h.rrset("h1", A)[0] == 450


def test_half_life_never_goes_below_floor(h: Harness) -> None:
    add_host(h, ttl=120)
    u = h.update()
    deferred_delete(u, "h1", 10000, "A", "10.0.0.50")
    h.send(u)
    h.advance(5000)
    assert h.rrset("h1", A)[0] == 60  # 120 -> 60
    serial = h.serial()
    h.advance(4000)
    assert h.rrset("h1", A)[0] == 60, "a TTL at or below 60 is never reduced further"
    assert h.serial() == serial


def test_half_life_schedule_functions() -> None:
    assert first_step(1000, 800) == 1400
    assert step_after(1000, 800, 1400) == 1600
    assert step_after(1000, 800, 1600) == 1700
    assert halve(120) == 60 and halve(60) == 60 and halve(100) == 50


def test_replacing_deferred_delete_moves_deadline_either_way(h: Harness) -> None:
    add_host(h, lease=100)
    u = h.update()
    deferred_delete(u, "h1", 500, "A", "10.0.0.50")
    h.send(u)
    h.advance(200)
    assert h.rrset("h1", A) is not None, "the later deadline replaced the earlier one"
    u = h.update()
    deferred_delete(u, "h1", 10, "A", "10.0.0.50")
    h.send(u)
    h.advance(10)
    assert h.rrset("h1", A) is None, "an earlier deadline replaces a later one too"


def test_cancel_removes_deferred_delete_and_deletes_nothing(h: Harness) -> None:
    add_host(h, lease=100)
    u = h.update()
    deferred_delete(u, "h1", CANCEL, "A", "10.0.0.50")
    assert rcode(h.send(u)) == "NOERROR"
    h.advance(1000)
    assert h.rrset("h1", A) is not None


def test_cancel_with_nothing_pending_is_harmless(h: Harness) -> None:
    add_host(h)
    serial = h.serial()
    u = h.update()
    deferred_delete(u, "h1", CANCEL, "A", "10.0.0.50")
    assert rcode(h.send(u)) == "NOERROR"
    assert h.rrset("h1", A) is not None and h.serial() == serial


def test_deferred_delete_of_nothing_is_a_delete_of_nothing(h: Harness) -> None:
    serial = h.serial()
    u = h.update()
    deferred_delete(u, "ghost", 30, "A", "10.0.0.99")
    assert rcode(h.send(u)) == "NOERROR"
    assert h.serial() == serial
    add_host(h, "ghost", "10.0.0.99")
    h.advance(100)
    assert h.rrset("ghost", A) is not None, "no deferral was stored for data that did not exist"


def test_normal_delete_purges_deferred_delete(h: Harness) -> None:
    add_host(h, lease=100)
    u = h.update()
    u.delete("h1", "A")
    h.send(u)
    add_host(h)  # re-added without a lease
    h.advance(500)
    assert h.rrset("h1", A) is not None, "re-added record must not vanish at the old deadline"


def test_add_matching_deferred_delete_changes_nothing_about_it(h: Harness) -> None:
    add_host(h, lease=100)
    add_host(h)  # same RR again
    h.advance(100)
    assert h.rrset("h1", A) is None


def test_rrset_and_name_scoped_deferred_deletes(h: Harness) -> None:
    add_host(h, "multi", "10.0.0.60")
    add_host(h, "multi", "10.0.0.61")
    u = h.update()
    u.add("multi", 3600, "TXT", '"hello"')
    h.send(u)
    u = h.update()
    deferred_delete(u, "multi", 50, "A")
    h.send(u)
    h.advance(50)
    assert h.rrset("multi", A) is None
    assert h.rrset("multi", dns.rdatatype.TXT) is not None
    u = h.update()
    deferred_delete(u, "multi", 20)
    h.send(u)
    h.advance(20)
    assert h.rrset("multi", dns.rdatatype.TXT) is None


def test_one_serial_bump_per_tick_for_many_deadlines(h: Harness) -> None:
    for i in range(50):
        add_host(h, f"n{i}", f"10.0.1.{i}", lease=100)
    serial = h.serial()
    h.advance(100)
    assert all(h.rrset(f"n{i}", A) is None for i in range(50))
    assert h.serial() == serial + 1


def test_deadlines_survive_a_restart_and_fire_at_once_when_past(tmp_path) -> None:  # type: ignore[no-untyped-def]
    h = Harness(tmp_path)
    add_host(h, lease=100)
    h2 = Harness(tmp_path, store=h.store)  # a new process over the same store
    h2.clock.t = h.clock.t + 500
    assert h2.timers.load(int(h2.clock.t)) >= 1
    h2.advance(0)
    assert h2.rrset("h1", A) is None


def _lease_option(lease: int, key_lease: int | None = None) -> dns.edns.GenericOption:
    data = struct.pack(">I", lease) + (
        struct.pack(">I", key_lease) if key_lease is not None else b""
    )
    return dns.edns.GenericOption(2, data)


def test_rfc9664_lease_granted_clamped_and_expires(h: Harness) -> None:
    u = h.update()
    u.add("svc", 7200, "A", "10.0.0.70")
    u.use_edns(0, options=[_lease_option(5)])  # below the 30 s minimum
    r = h.send(u)
    assert rcode(r) == "NOERROR"
    opt = [o for o in r.options if o.otype == 2]
    assert opt and struct.unpack(">I", opt[0].to_wire())[0] == 30
    assert h.rrset("svc", A)[0] == 15  # min(7200, 30/2)
    h.advance(29)
    assert h.rrset("svc", A) is not None
    h.advance(1)
    assert h.rrset("svc", A) is None, "after expiry the record is no longer served"


def test_rfc9664_key_lease_eight_bytes_echoed(h: Harness) -> None:
    u = h.update()
    u.add("svc2", 600, "A", "10.0.0.71")
    u.use_edns(0, options=[_lease_option(3600, 10 * 86400)])
    r = h.send(u)
    data = [o for o in r.options if o.otype == 2][0].to_wire()
    assert struct.unpack(">II", data) == (3600, 7 * 86400)


def test_rfc9664_refresh_without_changes_keeps_serial(h: Harness) -> None:
    def register() -> None:
        u = h.update()
        u.add("svc3", 600, "A", "10.0.0.72")
        u.use_edns(0, options=[_lease_option(3600)])
        assert rcode(h.send(u)) == "NOERROR"

    register()
    serial = h.serial()
    h.advance(3000)
    register()  # refresh before expiry
    assert h.serial() == serial, "RFC 9664 §5.3: a refresh that changes nothing keeps the serial"
    h.advance(3000)
    assert h.rrset("svc3", A) is not None, "the refresh moved the lease end"
    h.advance(600)
    assert h.rrset("svc3", A) is None


def test_admin_deferred_delete_is_carried_out_under_balanced(tmp_path) -> None:  # type: ignore[no-untyped-def]
    h = Harness(tmp_path, profile="balanced")
    u = h.update("admin-key.")
    deferred_delete(u, "static", 30, "A", "10.0.0.10")
    assert rcode(h.send(u)) == "NOERROR"
    h.advance(30)
    assert h.rrset("static", A) is None, (
        "humans outrank automation: an admin's deferred delete runs"
    )


def test_dhcp_deferred_delete_of_zonefile_record_is_not_carried_out(tmp_path) -> None:  # type: ignore[no-untyped-def]
    h = Harness(tmp_path, profile="balanced")
    u = h.update()
    deferred_delete(u, "static", 30, "A", "10.0.0.10")
    assert rcode(h.send(u)) == "NOERROR"
    h.advance(100)
    assert h.rrset("static", A) is not None, "automation never removes what a human made"


def test_balanced_lease_end_moves_to_grace_then_removes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    h = Harness(tmp_path, profile="balanced", grace=100)
    add_host(h, lease=50)
    h.advance(50)
    cur = h.rrset("h1", A)
    assert cur is not None and cur[0] == 25, "in grace: still published"
    h.advance(99)
    assert h.rrset("h1", A) is not None
    h.advance(1)
    assert h.rrset("h1", A) is None
    with h.store.reader() as r:
        assert list(r.iter_tombstones(h.zone)), "soft removal keeps a tombstone"


def test_lease_update_within_the_minimum_interval_gets_no_reply(h: Harness) -> None:
    """RFC 9664 §8: after a Lease Update was acknowledged, another from the same client for
    the same name within the interval "MUST be silently ignored": no reply, no change, an
    audit line."""
    h.engine.lease_update_interval = 1.0

    def lease_update(addr: str, owner: str = "svc") -> list[bytes]:
        u = h.update()
        u.add(owner, 600, "A", addr)
        u.use_edns(0, options=[_lease_option(3600)])
        replies: list[bytes] = []
        h.engine.submit(u.to_wire(), "127.0.0.1", replies.append)
        h.engine.flush()
        return replies

    assert len(lease_update("10.0.0.80")) == 1
    serial = h.serial()
    h.clock.t += 0.5
    assert lease_update("10.0.0.81") == [], "silently ignored: no reply at all"
    assert h.serial() == serial and h.rrset("svc", A)[1] == (bytes([10, 0, 0, 80]),)
    plain = h.update()
    plain.add("other", 600, "A", "10.0.0.82")
    assert rcode(h.send(plain)) == "NOERROR", "an update without a lease is not held back"
    assert len(lease_update("10.0.0.83", "svc2")) == 1, "nor one for another name (a DHCP server)"
    h.clock.t += 0.5
    assert len(lease_update("10.0.0.81")) == 1, "answered again once the interval is over"
    assert len(h.rrset("svc", A)[1]) == 2
    with h.store.reader() as r:
        outcomes = [e.outcome for e in r.audit_events() if e.kind == "update"]
    assert outcomes == ["applied", "ignored", "applied", "applied", "applied"]
