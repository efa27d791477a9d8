"""The update engine over the in-memory store: TSIG gate, policy, group commit, serials, audit."""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import dns.update
import pytest

from leasedns.keys import Keyring, Role, TsigKey
from leasedns.store.memory_kv import MemoryKV
from leasedns.store.records import Provenance
from leasedns.store.zonestore import Store
from leasedns.update import policy
from leasedns.wire import names
from leasedns.zone import loader
from leasedns.zone.commit import ZoneChange
from leasedns.zone.masterfile import parse_zone_file
from leasedns.zone.update_engine import UpdateEngine, ZonePolicy

ZONE = names.from_text("lab.example.")
REV = names.from_text("0.0.10.in-addr.arpa.")
A, NS, SOA, PTR, MX, TXT = 1, 2, 6, 12, 15, 16
SERIAL = 100

FORWARD = """$ORIGIN lab.example.
$TTL 3600
@       SOA   ns1 hostmaster 100 3600 600 1209600 300
        NS    ns1
ns1     A     10.0.0.2
web     A     10.0.0.40
"""
REVERSE = """$ORIGIN 0.0.10.in-addr.arpa.
$TTL 3600
@       SOA   ns1.lab.example. hostmaster.lab.example. 7 3600 600 1209600 300
        NS    ns1.lab.example.
2       PTR   ns1.lab.example.
"""

SECRETS = {
    "admin-key.": ("hmac-sha256", Role.ADMIN),
    "dhcp-key.": ("hmac-sha512", Role.DHCP),
    "host1.lab.example.": ("hmac-sha1", Role.CLIENT),
    "xfr-key.": ("hmac-sha256", Role.TRANSFER),
}
SECRET = b"0123456789abcdef0123456789abcdef"


def tsig_key(name: str) -> TsigKey:
    alg, role = SECRETS[name]
    return TsigKey(names.from_text(name), alg, SECRET, role)


CLIENT_KEYRING = {
    dns.name.from_text(k): dns.tsig.Key(k, SECRET, alg) for k, (alg, _) in SECRETS.items()
}


def n(text: str) -> names.Name:
    return names.from_text(text, ZONE)


class CountingKV(MemoryKV):
    """The in-memory store, counting write transactions (each is an fsync with LMDB)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0
        self.fail_next_commit = False

    @contextmanager
    def write(self) -> Iterator[Any]:
        self.writes += 1
        with super().write() as txn:
            yield txn
            if self.fail_next_commit:
                self.fail_next_commit = False
                raise OSError(28, "No space left on device")


@dataclass
class Harness:
    """An engine whose clock and reactor turn are in the test's hands."""

    tmp: Path
    policies: dict[names.Name, ZonePolicy] = field(default_factory=dict)
    serial_policy: str = "increment"
    now: float = field(default_factory=time.time)  # dnspython signs with the real clock
    scheduled: list[Callable[[], None]] = field(default_factory=list)
    changes: list[ZoneChange] = field(default_factory=list)
    kv: CountingKV = field(default_factory=CountingKV)

    def __post_init__(self) -> None:
        self.store = Store(self.kv)
        for origin, text in ((ZONE, FORWARD), (REV, REVERSE)):
            path = self.tmp / f"{names.to_text(origin)}zone"
            path.write_text(text)
            with self.store.writer() as w:
                loader.import_zone(w, parse_zone_file(str(path)), str(path), self.now)
        self.kv.writes = 0
        self.engine = UpdateEngine(
            self.store,
            served=lambda z: z in (ZONE, REV),
            keyring=Keyring(tsig_key(k) for k in SECRETS),
            zone_policy=lambda z: self.policies.get(z, ZonePolicy()),
            clock=lambda: self.now,
            schedule=self.scheduled.append,
            on_change=self.changes.append,
            serial_policy=self.serial_policy,
        )

    def run_turn(self) -> None:
        """What the reactor does on its next turn: run what was scheduled."""
        todo, self.scheduled[:] = list(self.scheduled), []
        for f in todo:
            f()

    def submit(self, wire: bytes, addr: str = "192.0.2.7") -> list[bytes]:
        """Hand ``wire`` to the engine; the returned list fills when the reply is sent."""
        replies: list[bytes] = []
        self.engine.submit(wire, addr, replies.append)
        return replies

    def serial(self, zone: names.Name = ZONE) -> int:
        with self.store.reader() as r:
            st = r.zone_state(zone)
            soa = r.get(zone, zone, SOA)
        assert st is not None and soa is not None
        assert int.from_bytes(soa[1][0][-20:-16], "big") == st.serial
        return st.serial

    def get(self, owner: names.Name, rtype: int, zone: names.Name = ZONE) -> set[bytes] | None:
        with self.store.reader() as r:
            got = r.get(zone, owner, rtype)
        return None if got is None else set(got[1])

    def journal(self, zone: names.Name = ZONE) -> list[Any]:
        with self.store.reader() as r:
            return [e for _, e in r.journal(zone)]

    def audit(self) -> list[Any]:
        with self.store.reader() as r:
            return [e for e in r.audit_events() if e.kind == "update"]


@pytest.fixture
def h(tmp_path: Path) -> Harness:
    return Harness(tmp_path)


def update(zone: str = "lab.example.", key: str | None = "admin-key.") -> dns.update.UpdateMessage:
    if key is None:
        return dns.update.UpdateMessage(zone)
    alg = SECRETS[key][0]
    return dns.update.UpdateMessage(
        zone, keyring=CLIENT_KEYRING, keyname=dns.name.from_text(key), keyalgorithm=alg
    )


def reply_of(req: dns.update.UpdateMessage, replies: list[bytes]) -> dns.message.Message:
    """The one reply, its TSIG checked by dnspython as a client would."""
    assert len(replies) == 1
    r = dns.message.from_wire(
        replies[0], keyring=CLIENT_KEYRING if req.had_tsig else None, request_mac=req.mac
    )
    assert r.id == req.id and r.opcode() == dns.opcode.UPDATE and req.is_response(r)
    return r


def ip(text: str) -> bytes:
    return dns.rdata.from_text("IN", "A", text).to_wire()


# -- one update ----------------------------------------------------------------------------


def test_signed_add_is_answered_after_the_commit(h: Harness) -> None:
    u = update()
    u.add("h1", 300, "A", "10.1.1.1")
    replies = h.submit(u.to_wire())
    assert replies == [] and len(h.scheduled) == 1  # queued for the next reactor turn
    h.run_turn()
    r = reply_of(u, replies)
    assert r.rcode() == dns.rcode.NOERROR and r.had_tsig
    assert h.get(n("h1"), A) == {ip("10.1.1.1")}
    assert h.serial() == SERIAL + 1
    assert h.kv.writes == 1


def test_reply_echoes_the_zone_section_and_edns(h: Harness) -> None:
    u = update()
    u.use_edns(0, payload=4096)
    u.add("h1", 300, "A", "10.1.1.1")
    replies = h.submit(u.to_wire())
    h.run_turn()
    r = reply_of(u, replies)
    assert [(q.name.to_text(), q.rdtype) for q in r.zone] == [("lab.example.", SOA)]
    assert r.edns == 0


def test_update_with_an_edns_version_we_do_not_speak_is_badvers(h: Harness) -> None:
    # RFC 6891 §6.1.3 ("MUST respond with RCODE=BADVERS"); BIND and Knot agree.
    u = update()
    u.use_edns(1, payload=4096)
    u.add("h1", 300, "A", "10.1.1.1")
    replies = h.submit(u.to_wire())
    h.run_turn()
    r = reply_of(u, replies)
    assert r.rcode() == dns.rcode.BADVERS and r.had_tsig
    assert r.edns == 0  # we answer in the version we speak
    assert h.get(n("h1"), A) is None
    assert h.serial() == SERIAL


def test_unsigned_reply_is_unsigned(h: Harness) -> None:
    h.policies[ZONE] = ZonePolicy(allow_update=["192.0.2.0/24"])
    u = update(key=None)
    u.add("h1", 300, "A", "10.1.1.1")
    replies = h.submit(u.to_wire())
    h.run_turn()
    r = reply_of(u, replies)
    assert r.rcode() == dns.rcode.NOERROR and not r.had_tsig


def test_journal_entry_holds_the_diff_and_the_soa_change(h: Harness) -> None:
    u = update()
    u.delete("web", "A", "10.0.0.40")
    u.add("web", 3600, "A", "10.0.0.41")
    h.submit(u.to_wire())
    h.run_turn()
    (entry,) = h.journal()
    assert (entry.serial_from, entry.serial_to) == (SERIAL, SERIAL + 1)
    assert [(o, t) for o, t, _, _ in entry.deleted] == [
        ("lab.example.", SOA),
        ("web.lab.example.", A),
    ]
    assert [(o, t) for o, t, _, _ in entry.added] == [
        ("lab.example.", SOA),
        ("web.lab.example.", A),
    ]
    assert (
        entry.deleted[1][3] == ip("10.0.0.40").hex() and entry.added[1][3] == ip("10.0.0.41").hex()
    )


def test_on_change_reports_zone_serial_and_touched_names(h: Harness) -> None:
    u = update()
    u.add("h1", 300, "A", "10.1.1.1")
    h.submit(u.to_wire())
    h.run_turn()
    assert h.changes == [ZoneChange(ZONE, SERIAL + 1, frozenset({n("h1"), ZONE}), False)]


def test_ns_change_below_the_apex_is_structural(h: Harness) -> None:
    u = update()
    u.add("sub", 3600, "NS", "ns.sub")
    h.submit(u.to_wire())
    h.run_turn()
    assert h.changes[0].structural is True


@pytest.mark.parametrize(
    ("key", "provenance"),
    [("admin-key.", Provenance.ADMIN), ("dhcp-key.", Provenance.DHCP)],
)
def test_written_rrsets_carry_provenance_and_timestamps(
    h: Harness, key: str, provenance: Provenance
) -> None:
    u = update(key=key)
    u.add("h1", 300, "A", "10.1.1.1")
    h.submit(u.to_wire())
    h.run_turn()
    with h.store.reader() as r:
        meta = r.get_meta(ZONE, n("h1"), A)
    assert meta is not None
    assert meta.provenance == provenance
    assert meta.created == meta.confirmed == int(h.now)
    assert meta.writer == key


def test_client_key_writes_client_provenance_at_its_own_name(h: Harness) -> None:
    u = update(key="host1.lab.example.")
    u.add("host1", 300, "A", "10.1.1.1")
    replies = h.submit(u.to_wire())
    h.run_turn()
    assert reply_of(u, replies).rcode() == dns.rcode.NOERROR
    with h.store.reader() as r:
        meta = r.get_meta(ZONE, n("host1"), A)
    assert meta is not None and meta.provenance == Provenance.CLIENT


def test_update_that_changes_nothing_keeps_the_serial(h: Harness) -> None:
    """RFC 2136 §3.6: the serial tracks changes; re-adding an existing RR is no change."""
    u = update()
    u.add("web", 3600, "A", "10.0.0.40")
    u.delete("nothere", "A")
    replies = h.submit(u.to_wire())
    h.run_turn()
    assert reply_of(u, replies).rcode() == dns.rcode.NOERROR
    assert h.serial() == SERIAL and h.journal() == [] and h.changes == []


def test_soa_update_with_a_higher_serial_sets_that_serial(h: Harness) -> None:
    """RFC 2136 §3.6: the update changed the serial itself, so it is not bumped again."""
    u = update()
    u.add("@", 600, "SOA", "ns1 hostmaster 500 3600 600 1209600 300")
    u.add("h1", 300, "A", "10.1.1.1")
    h.submit(u.to_wire())
    h.run_turn()
    assert h.serial() == 500


def test_soa_update_with_a_lower_serial_is_ignored_and_bumped_normally(h: Harness) -> None:
    u = update()
    u.add("@", 600, "SOA", "ns1 hostmaster 50 3600 600 1209600 300")
    u.add("h1", 300, "A", "10.1.1.1")
    replies = h.submit(u.to_wire())
    h.run_turn()
    assert reply_of(u, replies).rcode() == dns.rcode.NOERROR
    assert h.serial() == SERIAL + 1


# -- refusals: nothing applied, nothing bumped, everything audited --------------------------


def assert_untouched(h: Harness) -> None:
    assert h.serial() == SERIAL
    assert h.get(n("h1"), A) is None and h.get(n("h1"), MX) is None
    assert h.journal() == [] and h.changes == []


@pytest.mark.parametrize(
    ("build", "rcode"),
    [
        (lambda u: (u.absent("web"), u.add("h1", 60, "A", "10.1.1.1")), dns.rcode.YXDOMAIN),
        (lambda u: (u.present("nothere"), u.add("h1", 60, "A", "10.1.1.1")), dns.rcode.NXDOMAIN),
        (lambda u: (u.absent("web", "A"), u.add("h1", 60, "A", "10.1.1.1")), dns.rcode.YXRRSET),
        (lambda u: (u.present("web", "TXT"), u.add("h1", 60, "A", "10.1.1.1")), dns.rcode.NXRRSET),
        (
            lambda u: (u.add("h1", 60, "A", "10.1.1.1"), u.add("x.other.", 60, "A", "10.1.1.1")),
            dns.rcode.NOTZONE,
        ),
    ],
    ids=["yxdomain", "nxdomain", "yxrrset", "nxrrset", "notzone"],
)
def test_failing_update_changes_nothing(
    h: Harness, build: Callable[[Any], None], rcode: int
) -> None:
    u = update()
    build(u)
    replies = h.submit(u.to_wire())
    h.run_turn()
    r = reply_of(u, replies)
    assert r.rcode() == rcode and r.had_tsig
    assert_untouched(h)
    (event,) = h.audit()
    expected = "rejected" if rcode == dns.rcode.NOTZONE else "prerequisite-failed"
    assert event.outcome == expected and event.reason.startswith(dns.rcode.to_text(rcode))


def test_zone_not_served_is_notauth(h: Harness) -> None:
    u = update(zone="other.example.")
    u.add("h1", 60, "A", "10.1.1.1")
    replies = h.submit(u.to_wire())
    h.run_turn()
    assert reply_of(u, replies).rcode() == dns.rcode.NOTAUTH
    assert_untouched(h)


def test_malformed_update_is_formerr_and_audited(h: Harness) -> None:
    u = update(key=None)
    u.add("h1", 60, "A", "10.1.1.1")
    wire = bytearray(u.to_wire())
    wire[4:6] = b"\x00\x02"  # ZOCOUNT 2
    replies = h.submit(bytes(wire))
    h.run_turn()
    assert len(replies) == 1
    assert replies[0][:2] == wire[:2] and replies[0][3] & 0xF == dns.rcode.FORMERR
    assert replies[0][2] & 0x80 and (replies[0][2] >> 3) & 0xF == dns.opcode.UPDATE
    assert_untouched(h)
    assert [e.outcome for e in h.audit()] == ["refused"]


def test_formerr_echoes_a_readable_zone_section(h: Harness) -> None:
    """A record that does not parse (A with two bytes of RDATA): the zone section is read
    fine, so the FORMERR echoes it, as BIND and Knot do."""
    u = update(key=None)
    u.add("h1", 60, "A", "10.1.1.1")
    good = u.to_wire()
    zone_end = 12 + len(dns.name.from_text("lab.example.").to_wire()) + 4
    bad = good[:-6] + b"\x00\x02\x0a\x01"  # RDLENGTH 2: "10.1"
    replies = h.submit(bad)
    h.run_turn()
    (reply,) = replies
    assert reply[3] & 0xF == dns.rcode.FORMERR
    assert reply[4:12] == b"\x00\x01" + b"\x00" * 6 and reply[12:] == good[12:zone_end]
    assert_untouched(h)


def test_dname_at_the_apex_of_a_populated_zone_is_refused(h: Harness) -> None:
    """RFC 6672 §2.3; BIND and Knot refuse it too. The add before it is not applied either."""
    u = update()
    u.add("h1", 60, "A", "10.1.1.1")
    u.add("@", 300, "DNAME", "elsewhere.example.")
    replies = h.submit(u.to_wire())
    h.run_turn()
    assert reply_of(u, replies).rcode() == dns.rcode.REFUSED
    assert_untouched(h)
    assert "DNAME at the apex" in h.audit()[-1].reason


def test_dname_below_the_apex_is_accepted(h: Harness) -> None:
    u = update()
    u.add("moved", 300, "DNAME", "elsewhere.example.")
    replies = h.submit(u.to_wire())
    h.run_turn()
    assert reply_of(u, replies).rcode() == dns.rcode.NOERROR


def test_prescan_failure_is_formerr(h: Harness) -> None:
    """§3.4.1.3: class NONE with type ANY is FORMERR; the add before it is not applied either."""
    h.policies[ZONE] = ZonePolicy(allow_update=["192.0.2.7"])
    u = update(key=None)
    u.add("h1", 60, "A", "10.1.1.1")
    u.delete("h1", "A")
    wire = bytearray(u.to_wire())
    assert wire[-10:] == struct.pack(">HHIH", A, 255, 0, 0)
    wire[-10:] = struct.pack(">HHIH", 255, 254, 0, 0)
    replies = h.submit(bytes(wire))
    h.run_turn()
    assert reply_of(u, replies).rcode() == dns.rcode.FORMERR
    assert_untouched(h)


def test_unsigned_update_is_refused_without_an_acl(h: Harness) -> None:
    u = update(key=None)
    u.add("h1", 60, "A", "10.1.1.1")
    replies = h.submit(u.to_wire(), addr="192.0.2.7")
    h.run_turn()
    assert reply_of(u, replies).rcode() == dns.rcode.REFUSED
    assert_untouched(h)
    (event,) = h.audit()
    assert event.client == "192.0.2.7" and event.outcome == "refused"


def test_unsigned_update_from_an_address_outside_the_acl_is_refused(h: Harness) -> None:
    h.policies[ZONE] = ZonePolicy(allow_update=["10.0.0.0/24"])
    u = update(key=None)
    u.add("h1", 60, "A", "10.1.1.1")
    replies = h.submit(u.to_wire(), addr="10.0.1.1")
    h.run_turn()
    assert reply_of(u, replies).rcode() == dns.rcode.REFUSED
    assert_untouched(h)


def test_unsigned_update_from_the_acl_gets_full_rights_by_default(h: Harness) -> None:
    """BIND's allow-update gives an allowed address full rights; so does leasedns by default."""
    h.policies[ZONE] = ZonePolicy(allow_update=["10.0.0.0/24"])
    mx = update(key=None)
    mx.add("h1", 60, "MX", "10 mail")
    r_mx = h.submit(mx.to_wire(), addr="10.0.0.9")
    h.run_turn()
    assert reply_of(mx, r_mx).rcode() == dns.rcode.NOERROR
    (applied,) = h.audit()[:1]
    assert applied.role == "admin"


def test_unsigned_update_from_the_acl_gets_dhcp_rights_when_configured(h: Harness) -> None:
    h.policies[ZONE] = ZonePolicy(allow_update=["10.0.0.0/24"], unsigned_role="dhcp")
    ok = update(key=None)
    ok.add("h1", 60, "A", "10.1.1.1")
    mx = update(key=None)
    mx.add("h1", 60, "MX", "10 mail")
    r_ok = h.submit(ok.to_wire(), addr="10.0.0.9")
    r_mx = h.submit(mx.to_wire(), addr="10.0.0.9")
    h.run_turn()
    assert reply_of(ok, r_ok).rcode() == dns.rcode.NOERROR
    assert reply_of(mx, r_mx).rcode() == dns.rcode.REFUSED
    assert h.get(n("h1"), A) == {ip("10.1.1.1")} and h.get(n("h1"), MX) is None
    applied, refused = h.audit()
    assert applied.role == "dhcp" and "10.0.0.9" in applied.actor
    with h.store.reader() as r:
        meta = r.get_meta(ZONE, n("h1"), A)
    assert meta is not None and meta.provenance == Provenance.DHCP


def test_policy_refusal_is_audited_with_key_client_and_attempt(h: Harness) -> None:
    """Issue point 3: REFUSED, audited (key, client address, what was attempted)."""
    u = update(key="dhcp-key.")
    u.add("h1", 60, "A", "10.1.1.1")
    u.add("h1", 60, "MX", "10 mail")
    replies = h.submit(u.to_wire(), addr="198.51.100.4")
    h.run_turn()
    r = reply_of(u, replies)
    assert r.rcode() == dns.rcode.REFUSED and r.had_tsig
    assert_untouched(h)  # the allowed A was not applied either
    (event,) = h.audit()
    assert event.outcome == "refused" and event.zone == "lab.example."
    assert event.actor == "dhcp-key." and event.role == "dhcp" and event.client == "198.51.100.4"
    assert "REFUSED" in event.reason
    attempted = " ".join(event.detail["updates"])
    assert "h1.lab.example." in attempted and "MX" in attempted


def test_client_key_may_not_touch_another_name(h: Harness) -> None:
    u = update(key="host1.lab.example.")
    u.add("host2", 60, "A", "10.1.1.2")
    replies = h.submit(u.to_wire())
    h.run_turn()
    assert reply_of(u, replies).rcode() == dns.rcode.REFUSED


def test_transfer_key_may_not_update(h: Harness) -> None:
    u = update(key="xfr-key.")
    u.add("h1", 60, "A", "10.1.1.1")
    replies = h.submit(u.to_wire())
    h.run_turn()
    assert reply_of(u, replies).rcode() == dns.rcode.REFUSED
    assert_untouched(h)


def test_configured_rules_are_applied(h: Harness) -> None:
    rules = policy.parse_rules(
        [{"grant": "dhcp-key.", "match": "subdomain", "name": "dhcp", "types": ["A"]}], ZONE
    )
    h.policies[ZONE] = ZonePolicy(rules=rules)
    inside = update(key="dhcp-key.")
    inside.add("h.dhcp", 60, "A", "10.1.1.1")
    outside = update(key="dhcp-key.")
    outside.add("h1", 60, "A", "10.1.1.1")
    r_in, r_out = h.submit(inside.to_wire()), h.submit(outside.to_wire())
    h.run_turn()
    assert reply_of(inside, r_in).rcode() == dns.rcode.NOERROR
    assert reply_of(outside, r_out).rcode() == dns.rcode.REFUSED


# -- TSIG failures are answered at once and never queued -----------------------------------


def tsig_error(reply: bytes) -> int:
    r = dns.message.from_wire(reply, keyring=False)
    return r.tsig[0].error if r.tsig else -1


def test_unknown_key_is_badkey(h: Harness) -> None:
    ring = {dns.name.from_text("stranger."): dns.tsig.Key("stranger.", SECRET, "hmac-sha256")}
    u = dns.update.UpdateMessage("lab.example.", keyring=ring, keyname="stranger.")
    u.add("h1", 60, "A", "10.1.1.1")
    replies = h.submit(u.to_wire())
    assert len(replies) == 1 and h.scheduled == []
    assert replies[0][3] & 0xF == dns.rcode.NOTAUTH
    assert tsig_error(replies[0]) == dns.rcode.BADKEY
    assert_untouched(h)


def test_wrong_secret_is_badsig(h: Harness) -> None:
    ring = {dns.name.from_text("admin-key."): dns.tsig.Key("admin-key.", b"x" * 32, "hmac-sha256")}
    u = dns.update.UpdateMessage("lab.example.", keyring=ring, keyname="admin-key.")
    u.add("h1", 60, "A", "10.1.1.1")
    replies = h.submit(u.to_wire(), addr="203.0.113.5")
    assert len(replies) == 1 and h.scheduled == []
    assert replies[0][3] & 0xF == dns.rcode.NOTAUTH
    assert tsig_error(replies[0]) == dns.rcode.BADSIG
    assert_untouched(h)
    events = h.audit()
    assert len(events) == 1 and events[0].outcome == "refused" and events[0].client == "203.0.113.5"


def test_tsig_refusal_audit_names_the_zone_and_the_claimed_key(h: Harness) -> None:
    """Issue point 8: a refused update's audit event says which zone and key were tried."""
    ring = {dns.name.from_text("admin-key."): dns.tsig.Key("admin-key.", b"x" * 32, "hmac-sha256")}
    u = dns.update.UpdateMessage("lab.example.", keyring=ring, keyname="admin-key.")
    u.add("h1", 60, "A", "10.1.1.1")
    h.submit(u.to_wire(), addr="203.0.113.5")
    (event,) = h.audit()
    assert event.zone == "lab.example."
    assert "admin-key." in event.actor
    assert "16" in event.reason or "BADSIG" in event.reason


def test_wrong_algorithm_for_a_known_key_is_badkey(h: Harness) -> None:
    ring = {dns.name.from_text("admin-key."): dns.tsig.Key("admin-key.", SECRET, "hmac-sha512")}
    u = dns.update.UpdateMessage("lab.example.", keyring=ring, keyname="admin-key.")
    u.add("h1", 60, "A", "10.1.1.1")
    replies = h.submit(u.to_wire())
    assert tsig_error(replies[0]) == dns.rcode.BADKEY
    assert_untouched(h)


def test_clock_skew_beyond_fudge_is_badtime(h: Harness) -> None:
    h.now += 1000
    u = update()
    u.add("h1", 60, "A", "10.1.1.1")
    replies = h.submit(u.to_wire())
    assert len(replies) == 1 and h.scheduled == []
    assert replies[0][3] & 0xF == dns.rcode.NOTAUTH
    assert tsig_error(replies[0]) == dns.rcode.BADTIME
    assert_untouched(h)


def test_tampered_message_is_badsig(h: Harness) -> None:
    u = update()
    u.add("h1", 60, "A", "10.1.1.1")
    wire = bytearray(u.to_wire())
    i = wire.find(ip("10.1.1.1"))
    wire[i + 3] = 66  # 10.1.1.66
    replies = h.submit(bytes(wire))
    assert tsig_error(replies[0]) == dns.rcode.BADSIG
    assert_untouched(h)


# -- group commit --------------------------------------------------------------------------


def test_updates_of_one_turn_share_one_transaction_and_one_serial(h: Harness) -> None:
    msgs, replies = [], []
    for i in range(5):
        u = update(key="dhcp-key.")
        u.add(f"h{i}", 60, "A", f"10.1.1.{i}")
        msgs.append(u)
        replies.append(h.submit(u.to_wire()))
    assert len(h.scheduled) == 1  # one flush for the whole batch
    assert all(r == [] for r in replies)
    h.run_turn()
    assert [reply_of(u, r).rcode() for u, r in zip(msgs, replies, strict=True)] == [0] * 5
    assert h.kv.writes == 1
    assert h.serial() == SERIAL + 1
    (entry,) = h.journal()
    assert len(entry.added) == 1 + 5
    assert len(h.changes) == 1
    assert len(h.audit()) == 5


def test_each_update_sees_the_state_the_previous_ones_left(h: Harness) -> None:
    """Issue point 4: prerequisites evaluated in arrival order inside the batch."""

    def claim(addr: str) -> dns.update.UpdateMessage:
        u = update(key="dhcp-key.")
        u.absent("contested")
        u.add("contested", 60, "A", addr)
        return u

    first, second = claim("10.1.1.1"), claim("10.1.1.2")
    r1, r2 = h.submit(first.to_wire()), h.submit(second.to_wire())
    h.run_turn()
    assert reply_of(first, r1).rcode() == dns.rcode.NOERROR
    assert reply_of(second, r2).rcode() == dns.rcode.YXDOMAIN
    assert h.get(n("contested"), A) == {ip("10.1.1.1")}


def test_failed_update_in_a_batch_does_not_disturb_the_others(h: Harness) -> None:
    good = update()
    good.add("h1", 60, "A", "10.1.1.1")
    bad = update()
    bad.present("nothere")
    bad.add("h2", 60, "A", "10.1.1.2")
    later = update()
    later.present("h1", "A")  # sees the first update's write
    later.add("h3", 60, "A", "10.1.1.3")
    rs = [h.submit(m.to_wire()) for m in (good, bad, later)]
    h.run_turn()
    assert [reply_of(m, r).rcode() for m, r in zip((good, bad, later), rs, strict=True)] == [
        dns.rcode.NOERROR,
        dns.rcode.NXDOMAIN,
        dns.rcode.NOERROR,
    ]
    assert h.get(n("h2"), A) is None and h.get(n("h3"), A) is not None
    assert h.serial() == SERIAL + 1


def test_one_bump_per_zone_when_a_batch_spans_zones(h: Harness) -> None:
    fwd = update()
    fwd.add("h1", 60, "A", "10.0.0.9")
    rev = update(zone="0.0.10.in-addr.arpa.")
    rev.add("9", 60, "PTR", "h1.lab.example.")
    fwd2 = update()
    fwd2.add("h2", 60, "A", "10.0.0.10")
    for m in (fwd, rev, fwd2):
        h.submit(m.to_wire())
    h.run_turn()
    assert h.serial() == SERIAL + 1 and h.serial(REV) == 8
    assert sorted(c.zone for c in h.changes) == sorted([ZONE, REV])
    assert h.kv.writes == 1


def test_next_batch_gets_the_next_serial(h: Harness) -> None:
    for i in range(3):
        u = update()
        u.add(f"h{i}", 60, "A", f"10.1.1.{i}")
        h.submit(u.to_wire())
        h.run_turn()
    assert h.serial() == SERIAL + 3
    assert [(e.serial_from, e.serial_to) for e in h.journal()] == [
        (100, 101),
        (101, 102),
        (102, 103),
    ]


def test_store_failure_answers_servfail_to_the_whole_batch(h: Harness) -> None:
    """RFC 2136 §3.4.2.1: a storage failure is SERVFAIL and nothing of the batch remains."""
    msgs = []
    for i in range(3):
        u = update()
        u.add(f"h{i}", 60, "A", f"10.1.1.{i}")
        msgs.append(u)
    rs = [h.submit(m.to_wire()) for m in msgs]
    h.kv.fail_next_commit = True
    h.run_turn()
    assert [reply_of(m, r).rcode() for m, r in zip(msgs, rs, strict=True)] == [
        dns.rcode.SERVFAIL
    ] * 3
    assert h.serial() == SERIAL and h.journal() == [] and h.changes == []
    assert all(h.get(n(f"h{i}"), A) is None for i in range(3))


def test_nothing_is_visible_before_the_batch_runs(h: Harness) -> None:
    u = update()
    u.add("h1", 60, "A", "10.1.1.1")
    h.submit(u.to_wire())
    assert h.get(n("h1"), A) is None and h.serial() == SERIAL
    h.run_turn()
    assert h.get(n("h1"), A) is not None


# -- serial policies -----------------------------------------------------------------------


def test_serial_policy_unixtime(tmp_path: Path) -> None:
    h = Harness(tmp_path, serial_policy="unixtime")
    u = update()
    u.add("h1", 60, "A", "10.1.1.1")
    h.submit(u.to_wire())
    h.run_turn()
    assert h.serial() == int(h.now)


def test_serial_policy_date(tmp_path: Path) -> None:
    h = Harness(tmp_path, serial_policy="date")
    u = update()
    u.add("h1", 60, "A", "10.1.1.1")
    h.submit(u.to_wire())
    h.run_turn()
    assert h.serial() == int(time.strftime("%Y%m%d", time.gmtime(h.now))) * 100


def test_serial_policy_never_goes_backwards(tmp_path: Path) -> None:
    """A unixtime serial below the current one falls back to +1 (RFC 1982 §3.2)."""
    h = Harness(tmp_path, serial_policy="unixtime")
    ahead = int(h.now) + 100_000
    first = update()
    first.add("@", 600, "SOA", f"ns1 hostmaster {ahead} 3600 600 1209600 300")
    h.submit(first.to_wire())
    h.run_turn()
    assert h.serial() == ahead
    u = update()
    u.add("h1", 60, "A", "10.1.1.1")
    h.submit(u.to_wire())
    h.run_turn()
    assert h.serial() == ahead + 1
