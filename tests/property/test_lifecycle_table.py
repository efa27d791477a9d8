"""The lifecycle table: every (mode, state, input) is defined or an error, and random event
sequences through the real engines keep the invariants: automation never removes human-made
data, nothing is removed while pinned or while the zone is paused, and every removal leaves a
tombstone and an audit event."""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dns.message
import dns.rcode
import dns.update
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from leasedns.keys import Keyring, Role, TsigKey
from leasedns.lease.admin import AdminError, AdminTxn
from leasedns.lease.book import LeaseBook
from leasedns.lease.protect import BlastRadius, ZoneLifecycle
from leasedns.lease.roles import InfraSettings, RoleIndex
from leasedns.lease.state import (
    ANY_MODE,
    BY_MODE,
    Effect,
    Input,
    LifecycleError,
    Mode,
    transition,
)
from leasedns.store import schema
from leasedns.store.memory_kv import MemoryKV
from leasedns.store.records import State
from leasedns.store.zonestore import Store
from leasedns.wire import names, tsig
from leasedns.zone import loader
from leasedns.zone.masterfile import parse_zone_file
from leasedns.zone.timer_engine import TimerEngine
from leasedns.zone.update_engine import Lifecycle, Pending, UpdateEngine, ZonePolicy

AUTOMATION = (Input.LEASE_END, Input.AUTOMATION_DELETE, Input.GRACE_END)
STRICTNESS = (Mode.AGGRESSIVE, Mode.BALANCED, Mode.CONSERVATIVE, Mode.PROTECTED)
# GRACE_END only fires for an RRset in grace (Guard.grace_end checks first): undefined elsewhere.
UNDEFINED = {(m, State.ACTIVE, Input.GRACE_END) for m in Mode}


# -- the table itself -----------------------------------------------------------------


def outcome(mode: Mode, state: State, event: Input) -> tuple[Effect, State | None] | None:
    try:
        return transition(mode, state, event)
    except LifecycleError:
        return None


@given(st.sampled_from(Mode), st.sampled_from(State), st.sampled_from(Input))
def test_every_triple_is_defined_or_an_error(mode: Mode, state: State, event: Input) -> None:
    result = outcome(mode, state, event)
    if (mode, state, event) in UNDEFINED:
        assert result is None
        return
    assert result is not None, f"({mode}, {state}, {event}) has no rule"
    effect, nxt = result
    assert isinstance(effect, Effect)
    assert (nxt is None) == (effect == Effect.DELETE), "DELETE and only DELETE ends the RRset"
    assert nxt is None or isinstance(nxt, State)


def test_the_undefined_pairs_are_exactly_the_impossible_ones() -> None:
    missing = {
        (m, s, i) for m, s, i in itertools.product(Mode, State, Input) if outcome(m, s, i) is None
    }
    assert missing == UNDEFINED
    for state, inp in ANY_MODE:
        assert all((m, state, inp) not in BY_MODE for m in Mode), "one rule per pair"


@given(st.sampled_from(Mode), st.sampled_from(State), st.sampled_from(Input))
def test_table_invariants(mode: Mode, state: State, event: Input) -> None:
    result = outcome(mode, state, event)
    if result is None:
        return
    effect, _ = result
    if mode == Mode.PROTECTED and event in AUTOMATION:
        assert effect != Effect.DELETE, "automation never removes human-made data"
    if state == State.PINNED and event != Input.HUMAN_DELETE:
        assert effect != Effect.DELETE, "nothing but a human delete removes a pinned RRset"
    if event == Input.HUMAN_DELETE:
        assert effect == Effect.DELETE, "a human's explicit delete is carried out"
    if event == Input.SAME_IDENTITY:
        assert effect != Effect.REFUSE
    if event == Input.OTHER_IDENTITY and state != State.ACTIVE:
        assert effect == Effect.REFUSE, "RFC 4703: no hijacking a name in grace"
    if event == Input.APPROVE and effect == Effect.DELETE:
        assert state in (State.GRACE, State.PROPOSED)


@given(st.sampled_from(State), st.sampled_from(AUTOMATION))
def test_stricter_modes_never_delete_where_looser_ones_keep(state: State, event: Input) -> None:
    deletes = [
        (r := outcome(m, state, event)) is not None and r[0] == Effect.DELETE for m in STRICTNESS
    ]
    for looser, stricter in itertools.pairwise(deletes):
        assert looser or not stricter


# -- random sequences through the engines ------------------------------------------------

ZONE_TEXT = """$ORIGIN lab.example.
$TTL 3600
@       SOA   ns1 hostmaster 1 3600 600 86400 300
        NS    ns1
ns1     A     10.0.0.2
static  A     10.0.0.10
        TXT   "made by hand"
www     CNAME h0
"""
ZONE = names.from_text("lab.example.")
HOSTS = ("h0", "h1", "h2")
HUMAN_NAMES = ("static", "ns1", "www")
IDENTITIES = tuple(base64.b64encode(bytes([0, 2, 1, i]) * 8).decode() for i in range(3))
SECRET = b"0123456789abcdef0123456789abcdef"
KEYS = {
    "dhcp-key.": TsigKey(names.from_text("dhcp-key."), "hmac-sha256", SECRET, Role.DHCP),
    "admin-key.": TsigKey(names.from_text("admin-key."), "hmac-sha256", SECRET, Role.ADMIN),
}


class World:
    """A zone, the update and timer engines and the admin operations over an in-memory store."""

    def __init__(self, zone_file: Path, profile: str, blast_min: int = 2) -> None:
        self.t = 1_800_000_000
        self.store = Store(MemoryKV())
        with self.store.writer() as w:
            loader.import_zone(w, parse_zone_file(str(zone_file)), str(zone_file), self.t)
        self.settings = ZoneLifecycle(profile=profile, grace=30, blast_min=blast_min, blast_share=0.0,
                                      blast_window=120)  # fmt: skip
        self.lifecycle = Lifecycle(lambda z: self.settings, self.roles, BlastRadius())
        self.timers = TimerEngine(self.store, self.t, lambda z: self.settings, self.roles,
                                  lambda: [ZONE], self.lifecycle.blast)  # fmt: skip
        self.engine = UpdateEngine(
            self.store, served=lambda z: z == ZONE, keyring=Keyring(KEYS.values()),
            zone_policy=lambda z: ZonePolicy(), clock=lambda: float(self.t),
            schedule=lambda f: None, on_change=lambda ch: None,
            on_wheel_ops=self.timers.apply, lifecycle=self.lifecycle,
        )  # fmt: skip

    def roles(self, zone: names.Name) -> RoleIndex:
        with self.store.reader() as r:
            return RoleIndex.build(r, [ZONE], InfraSettings())

    def update(self, key: str, build: Callable[[dns.update.UpdateMessage], Any]) -> str:
        u = dns.update.UpdateMessage("lab.example.")
        build(u)
        replies: list[bytes] = []
        result = tsig.TsigResult(KEYS[key], 0, None)
        self.engine.queue.append(Pending(u.to_wire(), "127.0.0.1", replies.append, result))
        self.engine.flush()
        rcode = dns.rcode.to_text(dns.message.from_wire(replies[0]).rcode())
        assert rcode != "SERVFAIL", "an exception escaped the lifecycle inside an update"
        return rcode

    def advance(self, seconds: int) -> None:
        end = self.t + seconds
        while True:
            nd = self.timers.next_deadline()
            if nd is None or nd > end:
                break
            self.t = max(self.t, nd)
            self.timers.tick(self.t)
        self.t = end

    def admin(self, op: Callable[[AdminTxn], Any]) -> None:
        try:
            with self.store.writer() as w:
                book = LeaseBook(w)
                txn = AdminTxn(w, book, self.lifecycle.guard(w, book, self.t), "admin", self.t)
                op(txn)
                txn.finish()
        except AdminError:
            return
        self.timers.apply(book.wheel_ops)

    # -- observation --------------------------------------------------------------

    def snapshot(self) -> dict[tuple[names.Name, int], tuple[frozenset[bytes], Any]]:
        with self.store.reader() as r:
            return {
                (o, t): (frozenset(rds), r.get_meta(ZONE, o, t))
                for o, t, _ttl, rds in r.iter_zone(ZONE)
            }

    def tombstone_keys(self) -> set[bytes]:
        with self.store.reader() as r:
            return {k for k, _ in r.iter_tombstones(ZONE)}

    def paused(self) -> bool:
        with self.store.reader() as r:
            st_ = r.zone_state(ZONE)
            return bool(st_ and st_.paused)


def n(text: str) -> names.Name:
    return names.from_text(text, ZONE)


def dhcp_add(host: str, ident: int, addr: int) -> Callable[[World], None]:
    def run(w: World) -> None:
        w.update("dhcp-key.", lambda u: (u.add(host, 600, "A", f"10.0.0.{50 + addr}"),
                                         u.add(host, 600, "DHCID", IDENTITIES[ident])))  # fmt: skip

    return run


def dhcp_delete(host: str, ident: int | None, whole_name: bool) -> Callable[[World], None]:
    """Kea's remove: the DHCID names the client; then the A RRset (or the whole name)."""

    def build(u: dns.update.UpdateMessage) -> None:
        if ident is not None:
            u.present(host, "DHCID", IDENTITIES[ident])
        if whole_name:
            u.delete(host)
        else:
            u.delete(host, "A")
            u.delete(host, "DHCID")

    return lambda w: (w.update("dhcp-key.", build), None)[1]


def churn(hosts: list[str], ident: int, wait: int = 0) -> Callable[[World], None]:
    """Clients come and go together (a lab's lunch break): adds, removes, time passing."""

    def run(w: World) -> None:
        for i, host in enumerate(hosts):
            dhcp_add(host, ident, i)(w)
        for host in hosts:
            dhcp_delete(host, ident, False)(w)
        w.advance(wait)

    return run


def dhcp_lease(host: str, seconds: int) -> Callable[[World], None]:
    def build(u: dns.update.UpdateMessage) -> None:
        u.delete(host, "A")
        u.update[-1].ttl = seconds  # a deferred delete: the draft's lease

    return lambda w: (w.update("dhcp-key.", build), None)[1]


def dhcp_delete_human(name: str) -> Callable[[World], None]:
    return lambda w: (w.update("dhcp-key.", lambda u: u.delete(name)), None)[1]


def admin_delete(host: str) -> Callable[[World], None]:
    return lambda w: (w.update("admin-key.", lambda u: u.delete(host, "A")), None)[1]


def admin_add(host: str, addr: int) -> Callable[[World], None]:
    return lambda w: (
        w.update("admin-key.", lambda u: u.add(host, 300, "A", f"10.0.1.{addr}")),
        None,
    )[1]


def admin_op(op: str, host: str) -> Callable[[World], None]:
    def run(w: World) -> None:
        if op == "resume":
            w.admin(lambda t: t.resume(ZONE))
        elif op == "restore":
            w.admin(lambda t: t.restore(ZONE, n(host), None))
        else:
            w.admin(lambda t: getattr(t, op)(ZONE, n(host), None))

    return run


HOST = st.sampled_from(HOSTS)
IDENT = st.sampled_from((0, 0, 0, 1, 2))
AUTO_STEPS = st.one_of(
    st.builds(
        churn,
        st.lists(HOST, min_size=1, max_size=3, unique=True),
        IDENT,
        st.sampled_from((0, 31, 61)),
    ),
    st.builds(dhcp_add, HOST, IDENT, st.integers(0, 3)),
    st.builds(dhcp_delete, HOST, st.one_of(st.none(), IDENT), st.booleans()),
    st.builds(dhcp_lease, HOST, st.integers(1, 90)),
    st.builds(dhcp_delete_human, st.sampled_from(HUMAN_NAMES)),
    st.builds(lambda s: lambda w: w.advance(s), st.sampled_from((1, 5, 31, 61, 121))),
)
HUMAN_STEPS = st.one_of(
    st.builds(admin_delete, HOST),
    st.builds(admin_add, HOST, st.integers(1, 3)),
    st.builds(admin_op, st.sampled_from(("pin", "unpin", "approve", "restore", "resume")), HOST),
)
# Mostly automation (DHCP churn and time passing), now and then an admin.
STEPS = st.one_of(
    st.tuples(st.just("auto"), AUTO_STEPS),
    st.tuples(st.just("auto"), AUTO_STEPS),
    st.tuples(st.just("auto"), AUTO_STEPS),
    st.tuples(st.just("human"), HUMAN_STEPS),
)


def is_human(meta: Any) -> bool:
    return meta is not None and (meta.provenance.is_human or bool(meta.human_touched))


@pytest.fixture(scope="module")
def zone_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("lifecycle") / "lab.zone"
    p.write_text(ZONE_TEXT)
    return p


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(profile=st.sampled_from(("aggressive", "balanced", "conservative")),
       blast_min=st.sampled_from((1, 3)), steps=st.lists(STEPS, min_size=4, max_size=25))  # fmt: skip
def test_random_sequences_keep_the_invariants(
    zone_file: Path, profile: str, blast_min: int, steps: list
) -> None:
    w = World(zone_file, profile, blast_min)
    for who, step in steps:
        w.t += 1
        before = w.snapshot()
        paused_before = w.paused()
        stones_before = w.tombstone_keys()
        start = w.t
        step(w)
        after = w.snapshot()
        removed = [k for k in before if k not in after]
        with w.store.reader() as r:
            new_stones = [
                json.loads(v) for k, v in r.iter_tombstones(ZONE) if k not in stones_before
            ]
            events = list(r.audit_events(start))
        event(f"{who} step made {'tombstones' if new_stones else 'no tombstone'}")
        if paused_before:
            event(f"{who} step while paused")
        if who == "auto":
            for k, (rds, meta) in before.items():
                if k[1] == 6:
                    continue  # the SOA's serial moves with every change
                kept = after.get(k, (frozenset(), None))[0]
                if is_human(meta):
                    assert rds <= kept, f"automation removed human-made {k}"
                if meta is not None and meta.state == State.PINNED:
                    assert rds <= kept, f"automation removed pinned {k}"
            for s in new_stones:  # also RRsets added and removed within the step
                m = s["meta"]
                what = f"{s['owner']} type {s['type']}"
                assert not paused_before, f"{what} removed while the zone was paused"
                assert m["provenance"] in ("dhcp", "client") and not m["human_touched"], what
                assert m["state"] != "pinned", f"automation removed pinned {what}"
        for owner, rtype in removed:
            ot = names.to_text(owner)
            assert any(
                s["owner"] == ot and s["type"] == rtype and start <= s["removed_at"] <= w.t
                for s in new_stones
            ), f"{ot} type {rtype} removed without a tombstone"
        for s in new_stones:
            ot = s["owner"]
            assert any(
                e.detail.get("owner") == ot or any(ot in u for u in e.detail.get("updates", []))
                for e in events
            ), f"{ot} type {s['type']} removed without an audit event"


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(AUTO_STEPS, min_size=1, max_size=15))
def test_nothing_is_removed_automatically_while_paused(zone_file: Path, steps: list) -> None:
    """Balanced: the profile whose grace ends in removals (conservative only proposes)."""
    w = World(zone_file, "balanced", blast_min=1)
    churn(list(HOSTS), 0, 61)(w)  # everyone leaves at once: the limit pauses the zone
    assert w.paused()
    stones = w.tombstone_keys()
    for step in steps:
        step(w)
        assert w.paused(), "only an admin resumes"
        assert w.tombstone_keys() == stones, "an automatic removal ran while paused"


def test_automation_cannot_delete_one_rr_of_a_human_rrset(tmp_path: Path) -> None:
    p = tmp_path / "lab.zone"
    p.write_text(ZONE_TEXT + "rr A 10.0.0.21\nrr A 10.0.0.22\n")
    w = World(p, "balanced")
    rk = (n("rr"), 1)
    assert len(w.snapshot()[rk][0]) == 2
    w.update("dhcp-key.", lambda u: u.delete("rr", "A", "10.0.0.21"))
    assert len(w.snapshot()[rk][0]) == 2, "a dhcp key removed an RR of a zone-file RRset"


def test_rrset_key_roundtrip_used_by_the_checks() -> None:
    k = schema.rrset_key(ZONE, n("h0"), 1)
    assert schema.split_rrset_key(ZONE, k) == (n("h0"), 1)


def test_two_removals_in_one_second_keep_two_tombstones(zone_file: Path) -> None:
    w = World(zone_file, "aggressive")
    for addr in ("10.0.1.1", "10.0.1.2"):
        w.update("admin-key.", lambda u, a=addr: u.add("h1", 300, "A", a))
        w.update("admin-key.", lambda u: u.delete("h1", "A"))
    assert len(w.tombstone_keys()) == 2
