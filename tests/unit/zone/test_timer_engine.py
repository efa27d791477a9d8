"""One timer tick over many due deadlines: lifecycle per deadline, one serial bump, `due` kept."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from leasedns.lease.book import LeaseBook
from leasedns.lease.entry import LeaseEntry, LeaseKind, Scope, first_step
from leasedns.lease.protect import BlastRadius, ZoneLifecycle
from leasedns.lease.roles import InfraSettings, RoleIndex
from leasedns.store import codec
from leasedns.store.records import Provenance, RRsetMeta, State
from leasedns.store.zonestore import Store
from leasedns.timers.events import TimerKind, parse_due_key
from leasedns.wire import names
from leasedns.zone.timer_engine import TimerEngine

ZONE = names.from_text("lab.example.")
A = 1
T0 = 1_700_000_000
LEASE = 600
DEADLINE = T0 + LEASE
ZONE_TEXT = """$ORIGIN lab.example.
$TTL 3600
@ IN SOA ns1 hostmaster 100 3600 600 86400 300
@ NS ns1
ns1 A 10.0.0.2
"""


def address(i: int) -> bytes:
    return bytes((10, 9, i >> 8, i & 255))


def owner(i: int) -> names.Name:
    return names.from_text(f"host{i}.lab.example.")


def deferred(
    i: int, started: int = T0, seconds: int = LEASE, scope: Scope = Scope.RR
) -> LeaseEntry:
    return LeaseEntry(
        "lab.example.", f"host{i}.lab.example.", A, LeaseKind.DEFERRED_DELETE, scope,
        address(i).hex() if scope == Scope.RR else "", started, seconds, "dhcp-key.", "dhcp",
    )  # fmt: skip


def add_hosts(store: Store, count: int, ttl: int = 60) -> None:
    """``count`` DHCP-made A RRsets, each with a deferred delete due at DEADLINE."""
    with store.writer() as w:
        book = LeaseBook(w)
        for i in range(count):
            meta = RRsetMeta(provenance=Provenance.DHCP, created=T0, writer="dhcp-key.")
            w.put_rrset(ZONE, owner(i), A, ttl, (address(i),), meta)
            book.put(deferred(i))


def engine(store: Store, profile: str = "aggressive") -> TimerEngine:
    settings = ZoneLifecycle(profile=profile)

    def roles(zone: names.Name) -> RoleIndex:
        with store.reader() as r:
            return RoleIndex.build(r, [ZONE], InfraSettings())

    timers = TimerEngine(store, T0, lambda z: settings, roles, lambda: [ZONE], BlastRadius())
    timers.load(T0)
    return timers


@pytest.fixture
def lab(store: Store, load_zone: Callable[..., object]) -> Store:
    load_zone(store, ZONE_TEXT, now=float(T0))
    return store


def serial(store: Store) -> int:
    with store.reader() as r:
        state = r.zone_state(ZONE)
        assert state is not None
        return state.serial


def test_many_deadlines_in_one_tick_each_through_the_lifecycle_one_serial_bump(lab: Store) -> None:
    add_hosts(lab, 300)
    timers = engine(lab)
    before = serial(lab)
    with lab.reader() as r:
        journal_before = len(list(r.journal(ZONE)))
    assert timers.tick(DEADLINE - 1).fired == 0, "nothing is deleted early"
    res = timers.tick(DEADLINE)
    assert res.fired == 300
    assert [c.serial for c in res.changes] == [before + 1]
    assert timers.stats.deferred_deletes_executed == 300 and timers.stats.stale == 0
    with lab.reader() as r:
        assert all(r.get(ZONE, owner(i), A) is None for i in range(300))
        assert r.get(ZONE, names.from_text("ns1.lab.example."), A) is not None
        assert serial(lab) == before + 1
        journal = [entry for _, entry in r.journal(ZONE)]
        assert len(journal) == journal_before + 1, "one journal entry for the whole tick"
        assert len(journal[-1].deleted) == 300 + 1  # every A record, and the old SOA
        stones = [codec.loads(v) for _, v in r.iter_tombstones(ZONE)]
        events = [ev for ev in r.audit_events() if ev.kind == "deferred-delete"]
        assert list(r.iter_leases(ZONE)) == [] and list(r.iter_due()) == []
    assert sorted(s["owner"] for s in stones) == sorted(f"host{i}.lab.example." for i in range(300))
    assert {(s["reason"], s["actor"], s["removed_at"]) for s in stones} == {
        ("lease-end", "dhcp-key.", DEADLINE)
    }
    assert stones[0]["meta"]["provenance"] == "dhcp" and stones[0]["rdatas"]
    assert len(events) == 300
    assert {(ev.outcome, ev.detail["code"], ev.actor) for ev in events} == {
        ("delete", "deadline", "dhcp-key.")
    }
    assert timers.next_deadline() is None


def test_under_balanced_a_deadline_starts_grace_instead_of_removing(lab: Store) -> None:
    add_hosts(lab, 20)
    timers = engine(lab, profile="balanced")
    timers.tick(DEADLINE)
    with lab.reader() as r:
        metas = [r.get_meta(ZONE, owner(i), A) for i in range(20)]
        assert all(r.get(ZONE, owner(i), A) is not None for i in range(20))
        due = [parse_due_key(k) for k in r.iter_due()]
        assert list(r.iter_leases(ZONE)) == []
    assert all(m is not None and m.state == State.GRACE for m in metas)
    assert {d.kind for d in due} == {TimerKind.GRACE_END} and len(due) == 20
    assert timers.next_deadline() == due[0].deadline


def test_a_removal_purges_entries_it_orphans_at_the_same_owner(lab: Store) -> None:
    add_hosts(lab, 2)
    with lab.writer() as w:  # host0 also has a later RRset-wide deferred delete
        LeaseBook(w).put(deferred(0, seconds=5 * LEASE, scope=Scope.RRSET))
    timers = engine(lab)
    timers.tick(DEADLINE)
    with lab.reader() as r:
        assert list(r.iter_leases(ZONE)) == [] and list(r.iter_due()) == []
    assert timers.next_deadline() is None
    assert timers.tick(T0 + 5 * LEASE).fired == 0


def test_half_life_step_reschedules_durably_and_on_the_wheel(lab: Store) -> None:
    add_hosts(lab, 1, ttl=3600)
    with lab.writer() as w:  # the entry with its first half-life step, as an update writes it
        LeaseBook(w).put(deferred(0).with_(next_step=first_step(T0, LEASE)))
    timers = engine(lab)
    step = first_step(T0, LEASE)
    assert timers.tick(step).fired == 1 and timers.stats.ttl_reductions == 1
    with lab.reader() as r:
        cur = r.get(ZONE, owner(0), A)
        due = sorted((d.deadline, d.kind) for d in map(parse_due_key, r.iter_due()))
        raw = r.get_lease(deferred(0).key())
    assert cur is not None and cur[0] == 1800
    assert raw is not None
    nxt = LeaseEntry.from_json(raw).next_step
    assert step < nxt < DEADLINE
    assert due == [(nxt, TimerKind.HALF_LIFE), (DEADLINE, TimerKind.DEFERRED_DELETE)]
    assert timers.next_deadline() == nxt


def test_a_timer_left_from_a_replaced_entry_does_nothing(lab: Store) -> None:
    add_hosts(lab, 1)
    timers = engine(lab)
    with lab.writer() as w:  # replaced by a later deadline; its old timer stays on the wheel
        book = LeaseBook(w)
        book.put(deferred(0, seconds=2 * LEASE))
    res = timers.tick(DEADLINE)
    assert res.fired == 1 and timers.stats.stale == 1 and res.changes == []
    with lab.reader() as r:
        assert r.get(ZONE, owner(0), A) is not None
        assert [parse_due_key(k).deadline for k in r.iter_due()] == [T0 + 2 * LEASE]


def test_every_audit_event_names_its_deferred_delete(lab: Store) -> None:
    add_hosts(lab, 5)
    timers = engine(lab)
    timers.tick(DEADLINE)
    with lab.reader() as r:
        events = [ev for ev in r.audit_events() if ev.kind == "deferred-delete"]
    by_owner = {ev.detail["owner"]: ev for ev in events}
    for i in range(5):
        ev = by_owner[f"host{i}.lab.example."]
        assert ev.zone == "lab.example." and ev.role == "dhcp" and ev.client == ""
        assert ev.detail == {
            "owner": f"host{i}.lab.example.", "type": A, "scope": "rr", "rdata": address(i).hex(),
            "set_at": T0, "lease": LEASE, "deadline": DEADLINE, "code": "deadline",
        }  # fmt: skip
        assert ev.reason == "deferred delete from dhcp-key. reached its deadline"


def test_events_of_one_second_are_all_kept(lab: Store) -> None:
    add_hosts(lab, 50)
    engine(lab).tick(DEADLINE)
    with lab.reader() as r:
        times = [ev.time for ev in r.audit_events() if ev.kind == "deferred-delete"]
    assert len(times) == 50 and set(times) == {float(DEADLINE)}
