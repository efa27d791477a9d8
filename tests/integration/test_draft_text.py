"""Conformance with the deferred-delete draft (1999) and RFC 9664, written from the texts alone."""

from __future__ import annotations

import base64
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import dns.edns
import dns.message
import dns.name
import dns.opcode
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.tsigkeyring
import dns.update
import pytest
from serverkit import Server, free_port, make_server, metric, udp_exchange

# --- set-up ----------------------------------------------------------------------------------

ZONE = "lease.test."  # most tests; each uses names of its own
QUIET = "quiet.test."  # tests that assert "no serial change" (no other timers run here)
SECRET = base64.b64encode(b"draft-text-conformance-secret-01").decode()
KEY = "updater."  # role left at its default
OTHER_KEY = "other-client."
CANCEL = 0xFFFFFFFF  # draft §3.4
UPDATE_LEASE = 2  # RFC 9664 §9

# A server may keep deadlines in whole seconds: the tests of other rules accept a deletion up
# to one second early; test_deadlines_are_not_rounded_down_to_whole_seconds holds the exact rule.
EARLY = 1.1
EXACT = 0.25  # poll period + round trip
# "timely" (draft §3.1): carried out within this much after the deadline.  Deadlines are
# whole seconds from the next second after receipt (up to 1 s later than t0 + lease), and
# the test suite shares two CPUs between four workers: a second more for scheduling.
LATE = 2.0


def zone_text(origin: str) -> str:
    return f"""$ORIGIN {origin}
$TTL 3600
@    IN SOA ns1 hostmaster 1 3600 600 86400 300
@    IN NS  ns1
ns1  IN A   192.0.2.1
"""


def write_config(root: Path, lease_bounds: bool, paced: bool) -> Path:
    """Both zones with the `aggressive` profile (the draft's semantics).  Unless ``paced``,
    the RFC 9664 §8 minimum interval is off: these tests send many Lease Updates from one
    key in quick succession; the interval has a server of its own."""
    zone_lines = []
    for origin in (ZONE, QUIET):
        f = root / f"{origin}zone"
        f.write_text(zone_text(origin))
        zone_lines.append(f"  - {{file: {f}, origin: {origin}, profile: aggressive}}")
    bounds = "lease_min: 1\nkey_lease_min: 1\n" if lease_bounds else ""
    bounds += "" if paced else "lease_update_interval: 0\n"
    cfg = root / "leasedns.yaml"
    cfg.write_text("profile: aggressive\n" + bounds + "zones:\n" + "\n".join(zone_lines) + "\n")
    return cfg


@dataclass
class NotifyLog:
    """A secondary's port: answers every NOTIFY and records (arrival time, zone, serial)."""

    port: int
    seen: list[tuple[float, str, int | None]] = field(default_factory=list)
    sock: socket.socket | None = None

    def run(self) -> None:
        assert self.sock is not None
        while True:
            try:
                data, peer = self.sock.recvfrom(65535)
            except OSError:
                return
            try:
                msg = dns.message.from_wire(data)
            except Exception:
                continue
            if msg.opcode() != dns.opcode.NOTIFY:
                continue
            serial = None
            for rrset in msg.answer:
                if rrset.rdtype == dns.rdatatype.SOA:
                    serial = rrset[0].serial
            self.seen.append((time.monotonic(), msg.question[0].name.to_text(), serial))
            self.sock.sendto(dns.message.make_response(msg).to_wire(), peer)

    def since(self, t: float, zone: str) -> list[tuple[float, str, int | None]]:
        return [n for n in self.seen if n[0] >= t and n[1] == zone]


@pytest.fixture(scope="module")
def notify_log() -> Iterator[NotifyLog]:
    log = NotifyLog(free_port())
    log.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    log.sock.bind(("127.0.0.1", log.port))
    t = threading.Thread(target=log.run, daemon=True)
    t.start()
    yield log
    log.sock.close()


def start_server(
    root: Path, lease_bounds: bool = True, extra: list[str] | None = None, paced: bool = False
) -> Server:
    cfg = write_config(root, lease_bounds, paced)
    keys = ["--key", f"{KEY}:hmac-sha256:{SECRET}", "--key", f"{OTHER_KEY}:hmac-sha256:{SECRET}"]
    s = make_server(
        root,
        zones=[],
        extra=["--config", str(cfg), "--profile", "aggressive", *keys, *(extra or [])],
    )
    s.start()
    return s


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory, notify_log: NotifyLog) -> Iterator[Server]:
    """Lease bounds lowered to 1 s so RFC 9664 expiry is observable in seconds."""
    s = start_server(
        tmp_path_factory.mktemp("draft"), extra=["--notify", f"127.0.0.1:{notify_log.port}"]
    )
    yield s
    s.stop()


@pytest.fixture(scope="module")
def default_srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The configured lease bounds left at their defaults."""
    s = start_server(tmp_path_factory.mktemp("defaults"), lease_bounds=False)
    yield s
    s.stop()


# --- building updates by hand (a deferred delete keeps its TTL even without RDATA) ------------


class WireRR(dns.rrset.RRset):
    """One update-section RR written exactly as given: class, TTL and RDATA (or none)."""

    def __init__(
        self, owner: str, rdclass: int, rdtype: int, ttl: int, rdata: dns.rdata.Rdata | None
    ) -> None:
        super().__init__(dns.name.from_text(owner), dns.rdataclass.IN, rdtype)
        self.wire_class = rdclass
        self.wire_ttl = ttl
        self.wire_rdata = rdata

    def to_wire(self, file, compress=None, origin=None, **kw) -> int:  # type: ignore[no-untyped-def,override]
        self.name.to_wire(file, None, origin)
        file.write(struct.pack("!HHI", self.rdtype, self.wire_class, self.wire_ttl))
        rd = b"" if self.wire_rdata is None else self.wire_rdata.to_wire()
        file.write(struct.pack("!H", len(rd)) + rd)
        return 1


def rdata(rtype: str, text: str) -> dns.rdata.Rdata:
    return dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(rtype), text)


def add(owner: str, ttl: int, rtype: str, text: str) -> WireRR:
    """RFC 2136 §2.5.1: add to an RRset."""
    return WireRR(owner, dns.rdataclass.IN, dns.rdatatype.from_text(rtype), ttl, rdata(rtype, text))


def del_rr(owner: str, ttl: int, rtype: str, text: str) -> WireRR:
    """Delete one RR (class NONE); TTL ≠ 0 defers it (draft §3)."""
    return WireRR(
        owner, dns.rdataclass.NONE, dns.rdatatype.from_text(rtype), ttl, rdata(rtype, text)
    )


def del_rrset(owner: str, ttl: int, rtype: str) -> WireRR:
    """Delete an RRset (class ANY, a type)."""
    return WireRR(owner, dns.rdataclass.ANY, dns.rdatatype.from_text(rtype), ttl, None)


def del_name(owner: str, ttl: int) -> WireRR:
    """Delete all RRsets at a name (class ANY, type ANY)."""
    return WireRR(owner, dns.rdataclass.ANY, dns.rdatatype.ANY, ttl, None)


def scoped(kind: Callable[..., WireRR], owner: str, ttl: int) -> WireRR:
    """A delete of ``kind`` (del_rr, del_rrset, del_name) aimed at A 10.4.0.1 at ``owner``."""
    if kind is del_rr:
        return del_rr(owner, ttl, "A", "10.4.0.1")
    if kind is del_rrset:
        return del_rrset(owner, ttl, "A")
    return del_name(owner, ttl)


def keyring() -> dict[dns.name.Name, dns.tsig.Key]:
    return dns.tsigkeyring.from_text({KEY: SECRET, OTHER_KEY: SECRET})


def update_message(
    records: list[WireRR],
    zone: str = ZONE,
    lease: bytes | None = None,
    key: str = KEY,
) -> dns.update.UpdateMessage:
    msg = dns.update.UpdateMessage(zone)
    msg.update.extend(records)
    if lease is not None:
        msg.use_edns(0, options=[dns.edns.GenericOption(UPDATE_LEASE, lease)])
    msg.use_tsig(keyring(), keyname=key, algorithm="hmac-sha256")
    return msg


def send(
    s: Server,
    *records: WireRR,
    zone: str = ZONE,
    lease: int | tuple[int, int] | None = None,
    key: str = KEY,
) -> dns.message.Message:
    """One signed update over UDP; ``lease`` adds the RFC 9664 option (4 or 8 bytes)."""
    option = None
    if isinstance(lease, int):
        option = struct.pack("!I", lease)
    elif lease is not None:
        option = struct.pack("!II", *lease)
    msg = update_message(list(records), zone, option, key)
    return dns.query.udp(msg, s.host, port=s.port, timeout=3)


def ok(reply: dns.message.Message) -> None:
    assert reply.rcode() == dns.rcode.NOERROR, dns.rcode.to_text(reply.rcode())


def lease_option(reply: dns.message.Message) -> bytes | None:
    """The OPTION-DATA of the Update Lease option in ``reply``."""
    for opt in reply.options:
        if opt.otype == UPDATE_LEASE:
            return opt.to_wire()
    return None


# --- observing what is served -----------------------------------------------------------------


def lookup(s: Server, owner: str, rtype: str = "A") -> dns.message.Message:
    return dns.query.udp(dns.message.make_query(owner, rtype), s.host, port=s.port, timeout=2)


def served(s: Server, owner: str, rtype: str = "A") -> tuple[int, set[str]] | None:
    """(TTL, RDATA texts) of the RRset served at ``owner``/``rtype``, or None."""
    want = dns.name.from_text(owner)
    for rrset in lookup(s, owner, rtype).answer:
        if rrset.name == want and rrset.rdtype == dns.rdatatype.from_text(rtype):
            return rrset.ttl, {rd.to_text() for rd in rrset}
    return None


def rdata_of(s: Server, owner: str, rtype: str = "A") -> set[str]:
    got = served(s, owner, rtype)
    return set() if got is None else got[1]


def ttl(s: Server, owner: str, rtype: str = "A") -> int | None:
    got = served(s, owner, rtype)
    return None if got is None else got[0]


def axfr(s: Server, zone: str = ZONE) -> list[dns.rrset.RRset]:
    return [
        rrset
        for m in dns.query.xfr(s.host, zone, port=s.port, relativize=False)
        for rrset in m.answer
    ]


def axfr_ttls(s: Server, zone: str = ZONE) -> dict[str, int]:
    """Owner name -> TTL of its A RRset, as a zone transfer shows them."""
    return {r.name.to_text(): r.ttl for r in axfr(s, zone) if r.rdtype == dns.rdatatype.A}


def serial(s: Server, zone: str = ZONE) -> int:
    return lookup(s, zone, "SOA").answer[0][0].serial


@dataclass
class Watch:
    """When, relative to t0, a condition was last seen holding and first seen failing."""

    last_held: float
    first_failed: float

    def deadline_error(self, lease: float, what: str, early: float = EARLY) -> str | None:
        """Why this does not look like a deadline of ``lease`` seconds, or None."""
        if self.last_held < lease - early:
            return (
                f"{what}: gone after {self.first_failed:.2f}s, before its {lease}s deadline "
                f"(last seen at {self.last_held:.2f}s)"
            )
        if self.first_failed > lease + LATE:
            return f"{what}: still there at {self.last_held:.2f}s, deadline {lease}s"
        return None

    def check_deadline(self, lease: float, what: str, early: float = EARLY) -> None:
        error = self.deadline_error(lease, what, early)
        assert error is None, error


def watch_all(conds: dict[str, Callable[[], bool]], t0: float, limit: float) -> dict[str, Watch]:
    """Poll every condition until each has failed once (or ``limit`` seconds after t0 pass)."""
    last = dict.fromkeys(conds, float("-inf"))
    first: dict[str, float] = {}
    while len(first) < len(conds):
        for key, cond in conds.items():
            if key in first:
                continue
            asked = time.monotonic() - t0
            if cond():
                last[key] = asked
            else:
                first[key] = asked
        if time.monotonic() - t0 > limit:
            break
        time.sleep(0.05)
    return {k: Watch(last[k], first.get(k, float("inf"))) for k in conds}


def watch(cond: Callable[[], bool], t0: float, limit: float) -> Watch:
    """Poll ``cond`` until it fails (or ``limit`` seconds after t0 pass)."""
    return watch_all({"": cond}, t0, limit)[""]


def has(s: Server, owner: str, text: str, rtype: str = "A") -> bool:
    got = served(s, owner, rtype)
    return got is not None and text in got[1]


def just_before_a_second() -> None:
    """Wait until the wall clock is 0.9 s into a second: a deadline kept in whole seconds
    from the time of receipt would then fall 0.9 s early."""
    time.sleep((0.9 - time.time() % 1) % 1)


def poll_until(cond: Callable[[], bool], timeout: float = 2.0) -> None:
    end = time.monotonic() + timeout
    while not cond() and time.monotonic() < end:
        time.sleep(0.05)


def wait_until(t0: float, seconds: float) -> None:
    time.sleep(max(0.0, t0 + seconds - time.monotonic()))


def name(label: str, zone: str = ZONE) -> str:
    return f"{label}.{zone}"


# === draft §3: the three kinds of deferred delete ===============================================


def test_deferred_delete_of_one_rr(srv: Server) -> None:
    """Draft §3: a delete of an RR (class NONE) with TTL N ≠ 0 "will be deferred for that
    number of seconds"; §1.1: the serial is incremented when the delete is carried out."""
    n = name("rr-one")
    ok(send(srv, add(n, 300, "A", "10.1.0.1"), add(n, 300, "A", "10.1.0.2")))
    t0 = time.monotonic()
    ok(send(srv, del_rr(n, 2, "A", "10.1.0.1")))
    s0 = serial(srv)
    assert rdata_of(srv, n) == {"10.1.0.1", "10.1.0.2"}, "nothing deleted at once"
    w = watch(lambda: has(srv, n, "10.1.0.1"), t0, 2 + LATE + 1)
    w.check_deadline(2, "deferred RR delete")
    assert rdata_of(srv, n) == {"10.1.0.2"}, "only that RR is deleted"
    assert serial(srv) > s0, "carrying out the delete changes the zone: serial bumped"


def test_deferred_delete_of_an_rrset(srv: Server, notify_log: NotifyLog) -> None:
    """Draft §3: a delete of an RRset (class ANY, a type) with TTL N ≠ 0 is deferred N s;
    §1.1/§4.2: the change bumps the serial and slaves are notified of it (RFC 1996)."""
    n = name("rrset-one")
    ok(send(srv, add(n, 300, "A", "10.1.1.1"), add(n, 300, "A", "10.1.1.2")))
    ok(send(srv, add(n, 300, "TXT", '"stays"')))
    t0 = time.monotonic()
    ok(send(srv, del_rrset(n, 2, "A")))
    s0 = serial(srv)
    w = watch(lambda: served(srv, n) is not None, t0, 2 + LATE + 1)
    w.check_deadline(2, "deferred RRset delete")
    assert served(srv, n, "TXT") == (300, {'"stays"'}), "other RRsets at the name stay"
    s1 = serial(srv)
    assert s1 > s0
    poll_until(lambda: any(sn is None or sn >= s1 for _, _, sn in notify_log.since(t0, ZONE)))
    assert any(sn is None or sn >= s1 for _, _, sn in notify_log.since(t0, ZONE)), (
        f"no NOTIFY for serial {s1}: {notify_log.since(t0, ZONE)}"
    )


def test_deferred_delete_of_all_rrsets_at_a_name(srv: Server) -> None:
    """Draft §3: a delete of all RRsets at a name (class ANY, type ANY) with TTL N ≠ 0."""
    n = name("name-one")
    ok(send(srv, add(n, 300, "A", "10.1.2.1"), add(n, 300, "TXT", '"goes too"')))
    t0 = time.monotonic()
    ok(send(srv, del_name(n, 2)))
    s0 = serial(srv)
    assert served(srv, n, "TXT") is not None
    w = watch(lambda: served(srv, n) is not None or served(srv, n, "TXT") is not None, t0, 4.5)
    w.check_deadline(2, "deferred name delete")
    assert lookup(srv, n, "A").rcode() == dns.rcode.NXDOMAIN
    assert serial(srv) > s0


def test_deadlines_are_not_rounded_down_to_whole_seconds(srv: Server) -> None:
    """Draft §3: "the delete operation will be deferred for that number of seconds"; RFC
    9664 §2.1: a Lease is "An agreement by a DNS server to continue to publish a record
    from the time of registration until the lease duration has elapsed". Sent 0.9 s into
    a clock second, each is served for the full 2 s, not until a whole-second deadline."""
    dd, lz = name("exact-dd"), name("exact-lease")
    ok(send(srv, add(dd, 300, "A", "10.1.4.1")))
    just_before_a_second()
    t0 = time.monotonic()
    with ThreadPoolExecutor(2) as pool:  # both arrive 0.9 s into the same second
        sent = [
            pool.submit(send, srv, del_rrset(dd, 2, "A")),
            pool.submit(send, srv, add(lz, 300, "A", "10.1.4.2"), lease=2),
        ]
        for f in sent:
            ok(f.result())
    got = watch_all(
        {"dd": lambda: served(srv, dd) is not None, "lease": lambda: served(srv, lz) is not None},
        t0,
        2 + LATE + 1,
    )
    errors = [
        got["dd"].deadline_error(2, "deferred delete (draft §3)", early=EXACT),
        got["lease"].deadline_error(2, "RFC 9664 lease (§2.1, §7)", early=EXACT),
    ]
    failed = [e for e in errors if e is not None]
    assert not failed, "\n".join(failed)


def test_deferred_ttl_is_an_unsigned_32_bit_count(srv: Server) -> None:
    """Draft §3: the TTL "represents the number of seconds (a 32 bit unsigned integer)",
    "over 136 years": a TTL with the top bit set is a long deferral, not zero or negative."""
    n = name("far-future")
    ok(send(srv, add(n, 300, "A", "10.1.3.1")))
    ok(send(srv, del_rr(n, 0x80000001, "A", "10.1.3.1")))
    ok(send(srv, del_rrset(n, 0xFFFFFFFE, "A")))
    time.sleep(1.2)
    assert served(srv, n) == (300, {"10.1.3.1"})
    ok(send(srv, del_rr(n, CANCEL, "A", "10.1.3.1"), del_rrset(n, CANCEL, "A")))


# === draft §3.2: replacing a pending deferred delete ============================================


def test_later_replacement_postpones_the_delete(srv: Server) -> None:
    """Draft §3.2: a deferred delete matching a pending one (same name, type, class, rdata)
    "MUST replace the old one": a later deadline means nothing is deleted at the old one."""
    n = name("replace-later")
    ok(send(srv, add(n, 300, "A", "10.2.0.1")))
    ok(send(srv, del_rr(n, 2, "A", "10.2.0.1")))
    t0 = time.monotonic()
    ok(send(srv, del_rr(n, 4, "A", "10.2.0.1")))
    w = watch(lambda: served(srv, n) is not None, t0, 4 + LATE + 1)
    w.check_deadline(4, "replaced with a later deadline")


def test_earlier_replacement_advances_the_delete(srv: Server) -> None:
    """Draft §3.2 / §2 ("extend or shorten the lifetime"): an earlier deadline replaces a
    later one, and the delete is carried out at the new deadline."""
    n = name("replace-earlier")
    ok(send(srv, add(n, 300, "A", "10.2.1.1")))
    ok(send(srv, del_rrset(n, 600, "A")))
    t0 = time.monotonic()
    ok(send(srv, del_rrset(n, 2, "A")))
    w = watch(lambda: served(srv, n) is not None, t0, 2 + LATE + 1)
    w.check_deadline(2, "replaced with an earlier deadline")


def test_matching_is_by_name_type_class_and_rdata(srv: Server) -> None:
    """Draft §3.2: matching "indicates the same name, type, class, and rdata"; only a match
    is replaced (§3.2) or cancelled (§3.4). So: RR deletes of two RRs keep their own
    deadlines; an RR delete (NONE) does not replace an RRset delete (ANY) of the same name
    and type; cancelling another RR's delete leaves this one pending."""
    two, cls, other = name("two-rdata"), name("two-classes"), name("cancel-other")
    for n in (two, cls, other):
        ok(send(srv, add(n, 300, "A", "10.2.2.1"), add(n, 300, "A", "10.2.2.2")))
    t0 = time.monotonic()
    ok(send(srv, del_rr(two, 2, "A", "10.2.2.1"), del_rr(two, 3, "A", "10.2.2.2")))
    ok(send(srv, del_rrset(cls, 2, "A")))
    ok(send(srv, del_rr(cls, 600, "A", "10.2.2.1")))
    ok(send(srv, del_rr(other, 2, "A", "10.2.2.1")))
    ok(send(srv, del_rr(other, CANCEL, "A", "10.2.2.2")))
    got = watch_all(
        {
            "two .1": lambda: has(srv, two, "10.2.2.1"),
            "two .2": lambda: has(srv, two, "10.2.2.2"),
            "classes": lambda: served(srv, cls) is not None,
            "other": lambda: has(srv, other, "10.2.2.1"),
        },
        t0,
        3 + LATE + 1,
    )
    got["two .1"].check_deadline(2, "RR delete of 10.2.2.1 (2 s)")
    got["two .2"].check_deadline(3, "RR delete of 10.2.2.2 (3 s) beside it")
    got["classes"].check_deadline(2, "RRset delete (2 s) with a later RR delete after it")
    got["other"].check_deadline(2, "RR delete next to a cancel of another RR's delete")
    assert has(srv, other, "10.2.2.2"), "the RR whose (absent) delete was cancelled stays"
    ok(send(srv, del_rr(cls, CANCEL, "A", "10.2.2.1")))


def test_deferred_delete_of_nonexistent_data_is_noerror_without_serial_change(
    srv: Server,
) -> None:
    """Draft §3.2: a deferred delete that does not refer to any record "should fail as a
    normal delete" would: RFC 2136 §3.4.2 ignores such deletes silently (NOERROR)."""
    n = name("never-there", QUIET)
    s0 = serial(srv, QUIET)
    ok(send(srv, del_rr(n, 30, "A", "10.3.0.1"), zone=QUIET))
    ok(send(srv, del_rrset(n, 30, "A"), zone=QUIET))
    ok(send(srv, del_name(n, 30), zone=QUIET))
    assert serial(srv, QUIET) == s0


def test_deferred_delete_of_nonexistent_data_is_not_kept(srv: Server) -> None:
    """Draft §3.2: a deferred delete that refers to no record fails as a normal delete
    would (reading: it is not stored), so data added afterwards is not removed at its
    deadline. (§3.5's "no additional processing" on adds concerns stored deletes.)"""
    n = name("added-after")
    t0 = time.monotonic()
    ok(send(srv, del_rrset(n, 2, "A")))
    ok(send(srv, add(n, 300, "A", "10.3.1.1")))
    wait_until(t0, 2.6)
    assert served(srv, n) == (300, {"10.3.1.1"})


# === draft §3.3 and §3.5: normal deletes and adds ==============================================


def test_normal_delete_purges_the_deferred_delete_so_a_readd_survives(srv: Server) -> None:
    """Draft §3.3: a normal delete "MUST purge any deferred delete that no longer refers to
    any records" (§2: it is "removed if a normal delete update was received"), so the same
    RR added again is not removed at the old deadline. For each kind of deferred delete,
    purged by a normal delete of the same or a wider scope."""
    cases = {  # name: (deferred delete, normal delete)
        name("readd-rr"): (del_rr, del_rr),
        name("readd-rrset"): (del_rr, del_rrset),
        name("readd-name"): (del_name, del_name),
    }
    for n in cases:
        ok(send(srv, add(n, 300, "A", "10.4.0.1")))
    t0 = time.monotonic()
    for n, (deferred, normal) in cases.items():
        ok(send(srv, scoped(deferred, n, 2)))
        ok(send(srv, scoped(normal, n, 0)))
        assert served(srv, n) is None, f"{n}: a TTL 0 delete is carried out at once"
        ok(send(srv, add(n, 300, "A", "10.4.0.1")))
    wait_until(t0, 2.6)
    for n in cases:
        assert served(srv, n) == (300, {"10.4.0.1"}), f"{n}: re-added RR removed"


def test_normal_delete_keeps_a_deferred_delete_that_still_refers_to_records(
    srv: Server,
) -> None:
    """Draft §3.3: only deferred deletes that *no longer* refer to any record are purged;
    an RRset delete still covering a remaining RR is carried out at its deadline."""
    n = name("partial")
    ok(send(srv, add(n, 300, "A", "10.4.1.1"), add(n, 300, "A", "10.4.1.2")))
    t0 = time.monotonic()
    ok(send(srv, del_rrset(n, 2, "A")))
    ok(send(srv, del_rr(n, 0, "A", "10.4.1.1")))
    assert rdata_of(srv, n) == {"10.4.1.2"}
    w = watch(lambda: served(srv, n) is not None, t0, 2 + LATE + 1)
    w.check_deadline(2, "deferred RRset delete after a partial normal delete")


def test_add_of_matched_data_does_not_change_the_deferral(srv: Server) -> None:
    """Draft §3.5: "When data is added through a dynamic update which matches a deferred
    delete, there is no additional processing done": the deadline neither moves nor
    lapses, and the add (an update with no lease of its own) keeps its TTL."""
    n = name("add-under")
    ok(send(srv, add(n, 300, "A", "10.5.0.1")))
    t0 = time.monotonic()
    ok(send(srv, del_rrset(n, 3, "A")))
    ok(send(srv, add(n, 300, "A", "10.5.0.2")))
    got = served(srv, n)
    assert got is not None and got[1] == {"10.5.0.1", "10.5.0.2"}
    assert got[0] > 3 // 2, "the add is not capped to L/2: its update carries no lease"
    w = watch(lambda: served(srv, n) is not None, t0, 3 + LATE + 1)
    w.check_deadline(3, "RRset delete with an add after it")


# === draft §3.4: cancellation ==================================================================


def test_cancel_removes_the_pending_delete_and_deletes_nothing(srv: Server) -> None:
    """Draft §3.4: TTL 0xFFFFFFFF makes the server "unconditionally remove any matching
    deferred" delete; for each kind of delete, nothing is deleted, then or later."""
    rr, rrset, whole = (
        name("cancel-rr", QUIET),
        name("cancel-rrset", QUIET),
        name("cancel-name", QUIET),
    )
    for n in (rr, rrset, whole):
        ok(send(srv, add(n, 300, "A", "10.6.0.1"), zone=QUIET))
    t0 = time.monotonic()
    ok(
        send(
            srv,
            del_rr(rr, 2, "A", "10.6.0.1"),
            del_rrset(rrset, 2, "A"),
            del_name(whole, 2),
            zone=QUIET,
        )
    )
    s0 = serial(srv, QUIET)
    ok(
        send(
            srv,
            del_rr(rr, CANCEL, "A", "10.6.0.1"),
            del_rrset(rrset, CANCEL, "A"),
            del_name(whole, CANCEL),
            zone=QUIET,
        )
    )
    for n in (rr, rrset, whole):
        assert served(srv, n) is not None, f"{n}: a cancel deletes nothing"
    wait_until(t0, 2.6)
    for n in (rr, rrset, whole):
        assert served(srv, n) is not None, f"{n}: deleted at the cancelled deadline"
    assert serial(srv, QUIET) == s0, "neither the cancel nor the old deadline changed the zone"


def test_cancel_with_nothing_pending_is_noerror(srv: Server) -> None:
    """Draft §3.4: the removal is unconditional; with nothing pending there is nothing to
    remove, and nothing is deleted (RFC 2136 answers NOERROR to a no-op delete)."""
    n = name("cancel-nothing", QUIET)
    ok(send(srv, add(n, 300, "A", "10.6.1.1"), zone=QUIET))
    s0 = serial(srv, QUIET)
    ok(send(srv, del_rr(n, CANCEL, "A", "10.6.1.1"), zone=QUIET))
    ok(send(srv, del_rrset(n, CANCEL, "A"), zone=QUIET))
    ok(send(srv, del_name(n, CANCEL), zone=QUIET))
    ok(send(srv, del_name(name("cancel-nobody", QUIET), CANCEL), zone=QUIET))
    assert served(srv, n) == (300, {"10.6.1.1"})
    assert serial(srv, QUIET) == s0


# === draft §3.6: support detection =============================================================


def test_add_plus_low_ttl_deferred_delete_is_noerror_and_the_add_applies(srv: Server) -> None:
    """Draft §3.6: an ADD + Delete request "where the delete has low TTL": a server
    compliant with the draft "will return NOERROR" (an RFC 2136 one FORMERR or NOTIMP)."""
    n = name("detect")
    s0 = serial(srv)
    ok(send(srv, add(n, 300, "A", "10.7.0.1"), del_rr(n, 1, "A", "10.7.0.1")))
    got = served(srv, n)
    assert got is not None and got[1] == {"10.7.0.1"}, "the ADD is applied"
    assert serial(srv) > s0


# === draft §4: TTLs ============================================================================


def test_ttl_cap_with_a_deferred_delete(srv: Server) -> None:
    """Draft §4.1: "The TTL of all added or updated RRs in the Update Section SHOULD be
    maximized silently to one half of the lease time": min(requested, L/2), for every RR
    the update adds or re-adds, also those the deferred delete does not cover."""
    n, m, low, old = name("cap-a"), name("cap-b"), name("cap-c"), name("cap-d")
    ok(send(srv, add(old, 3600, "A", "10.8.0.4")))
    ok(
        send(
            srv,
            add(old, 3600, "A", "10.8.0.4"),
            add(n, 3600, "A", "10.8.0.1"),
            add(m, 3600, "TXT", '"same update"'),
            add(low, 100, "A", "10.8.0.3"),
            del_rrset(n, 600, "A"),
            del_rrset(low, 600, "A"),
        )
    )
    assert ttl(srv, n) == 300
    assert ttl(srv, m, "TXT") == 300
    assert ttl(srv, low) == 100, "a TTL under L/2 is kept"
    assert ttl(srv, old) == 300, "an RR already there, updated by the same add, is capped too"
    ok(send(srv, del_rrset(n, CANCEL, "A"), del_rrset(low, CANCEL, "A")))


def test_ttl_cap_with_an_rfc9664_lease(srv: Server) -> None:
    """Draft §4.1 with RFC 9664's lease as "the lease time": added RRs get min(TTL, L/2)."""
    n, low = name("cap-lease-a"), name("cap-lease-b")
    ok(send(srv, add(n, 3600, "A", "10.8.1.1"), add(low, 100, "A", "10.8.1.2"), lease=600))
    assert ttl(srv, n) == 300
    assert ttl(srv, low) == 100


def test_ttl_half_life_with_floor_at_sixty(srv: Server, notify_log: NotifyLog) -> None:
    """Draft §4.2: "Each time an RR's expiry reaches half of its previous value, that RR's
    TTL will be reduced to half of its previous value, until the TTL reaches a value less
    than or equal to sixty (60)"; each reduction makes the zone "changed" (serial increment
    and slave notification). With lease 8 s set at t0: 3600 → 1800 at t0+4 → 900 at t0+6;
    100 → 50 at t0+4, then no further; 60 never. The RRs existed before the deferred delete
    (a separate update), so §4.1 did not cap them."""
    big, mid, small = name("hl-big"), name("hl-mid"), name("hl-small")
    ok(send(srv, add(big, 3600, "A", "10.9.0.1"), add(mid, 100, "A", "10.9.0.2")))
    ok(send(srv, add(small, 60, "A", "10.9.0.3")))
    t0 = time.monotonic()
    ok(send(srv, del_rrset(big, 8, "A"), del_rrset(mid, 8, "A"), del_rrset(small, 8, "A")))
    s0 = serial(srv)
    assert (ttl(srv, big), ttl(srv, mid), ttl(srv, small)) == (3600, 100, 60)

    w = watch(lambda: ttl(srv, big) == 3600, t0, 4 + LATE + 1)
    w.check_deadline(4, "first halving (3600)")
    assert ttl(srv, big) == 1800
    assert axfr_ttls(srv).get(big) == 1800, "the reduced TTL is what a zone transfer shows"
    assert ttl(srv, mid) == 50, "100 halves once to 50"
    assert ttl(srv, small) == 60, "a TTL of 60 is never reduced"
    s1 = serial(srv)
    assert s1 > s0, "a reduction changes the zone: serial bumped"
    poll_until(lambda: any(sn is None or sn >= s1 for _, _, sn in notify_log.since(t0, ZONE)))
    assert any(sn is None or sn >= s1 for _, _, sn in notify_log.since(t0, ZONE)), (
        f"a reduction is notified to the slaves: no NOTIFY for serial {s1}"
    )

    w = watch(lambda: ttl(srv, big) == 1800, t0, 6 + LATE + 1)
    w.check_deadline(6, "second halving (1800)")
    assert ttl(srv, big) == 900
    assert serial(srv) > s1
    assert ttl(srv, mid) == 50, "50 ≤ 60: not reduced further"
    assert ttl(srv, small) == 60

    w = watch(lambda: served(srv, big) is not None, t0, 8 + LATE + 1)
    w.check_deadline(8, "the delete after the halvings")
    assert served(srv, mid) is None and served(srv, small) is None


# === RFC 9664 ==================================================================================


def test_lease_4_byte_reply_and_expiry(srv: Server) -> None:
    """RFC 9664 §4.3: a successful Lease Update gets an Update Lease option back, and "When
    a server receives a 4-byte variant, it MUST respond with a 4-byte variant"; §4: the
    LEASE applies to all RRs in the Update section, KEY RRs included; §7: after the lease
    "the server MUST NOT return that RR in answers to queries" (zone transfers included)."""
    n = name("srp-4")
    t0 = time.monotonic()
    reply = send(
        srv, add(n, 300, "A", "10.10.0.1"), add(n, 300, "KEY", "256 3 8 AwEAAQ=="), lease=2
    )
    ok(reply)
    assert lease_option(reply) == struct.pack("!I", 2)
    assert served(srv, n, "KEY") is not None
    w = watch(lambda: served(srv, n) is not None or served(srv, n, "KEY") is not None, t0, 4.5)
    w.check_deadline(2, "4-byte lease (A and KEY)")
    assert n not in {r.name.to_text() for r in axfr(srv)}, "a zone transfer still has it"


def test_lease_8_byte_key_lease_applies_to_key_rrs(srv: Server) -> None:
    """RFC 9664 §4: in the 8-byte variant LEASE applies to all RRs "_except_ for KEY RRs",
    KEY-LEASE to KEY RRs; §7: each stops being served when its own lease elapses."""
    n = name("srp-8")
    t0 = time.monotonic()
    reply = send(
        srv, add(n, 300, "A", "10.10.1.1"), add(n, 300, "KEY", "256 3 8 AwEAAQ=="), lease=(2, 3)
    )
    ok(reply)
    assert lease_option(reply) == struct.pack("!II", 2, 3)
    watch(lambda: served(srv, n) is not None, t0, 4.5).check_deadline(2, "LEASE (A)")
    assert served(srv, n, "KEY") is not None, "the KEY RR follows KEY-LEASE"
    watch(lambda: served(srv, n, "KEY") is not None, t0, 5.5).check_deadline(3, "KEY-LEASE")


@pytest.mark.parametrize(
    ("asked", "granted"),
    [
        (3600, 3600),
        (5, 30),  # §8: "A minimum of 30 seconds for both ... is RECOMMENDED"
        (10**6, 86400),  # §8: upper bounds of "24 hours and 7 days, respectively"
        ((3600, 10**7), (3600, 604800)),
        ((5, 5), (30, 30)),
        ((10**6, 7200), (86400, 7200)),
    ],
)
def test_granted_lease_is_clamped_to_the_default_bounds(
    default_srv: Server, asked: int | tuple[int, int], granted: int | tuple[int, int]
) -> None:
    """RFC 9664 §4: the response carries "the actual lease duration granted"; §8: servers
    "MUST have a default minimum lease duration" and should have a default upper bound."""
    tag = "-".join(str(v) for v in (asked if isinstance(asked, tuple) else (asked,)))
    reply = send(default_srv, add(name(f"clamp-{tag}"), 300, "A", "10.10.2.1"), lease=asked)
    ok(reply)
    if isinstance(granted, int):
        assert lease_option(reply) == struct.pack("!I", granted)
    else:
        assert lease_option(reply) == struct.pack("!II", *granted)


def test_refresh_acknowledged_without_serial_change(srv: Server) -> None:
    """RFC 9664 §5.3: "Upon receiving a valid Refresh Request, the server MUST send an
    acknowledgment" with the new lease, and "MUST NOT increment the serial number of a
    zone as the result of a Refresh Request"."""
    n = name("refresh", QUIET)
    ok(send(srv, add(n, 300, "A", "10.11.0.1"), zone=QUIET, lease=3600))
    s0 = serial(srv, QUIET)
    time.sleep(1.0)  # the same client: RFC 9664 §8 allows ignoring a request sent too soon
    reply = send(srv, add(n, 300, "A", "10.11.0.1"), zone=QUIET, lease=7200)
    ok(reply)
    assert lease_option(reply) == struct.pack("!I", 7200)
    assert serial(srv, QUIET) == s0


def test_refresh_extends_the_lease(srv: Server) -> None:
    """RFC 9664 §5: a Refresh Request prevents the RRs "from being garbage collected"; the
    refreshed lease runs from the refresh (§5.1: it "contains the desired new lease")."""
    n = name("refresh-extends")
    ok(send(srv, add(n, 300, "A", "10.11.1.1"), lease=2))
    time.sleep(1.0)
    t1 = time.monotonic()
    ok(send(srv, add(n, 300, "A", "10.11.1.1"), lease=2))
    watch(lambda: served(srv, n) is not None, t1, 4.5).check_deadline(2, "refreshed lease")


def test_refresh_after_expiry_adds_again_and_bumps_serial(srv: Server) -> None:
    """RFC 9664 §5.1: when the RRs "were for some reason garbage collected, the Refresh
    Request will result in those RRs being added again"; §5.3: "If the Refresh Request
    changes the contents of the zone, the server MUST update the zone serial number"."""
    n = name("refresh-late")
    t0 = time.monotonic()
    ok(send(srv, add(n, 300, "A", "10.11.2.1"), lease=2))
    watch(lambda: served(srv, n) is not None, t0, 4.5).check_deadline(2, "lease")
    s0 = serial(srv)
    reply = send(srv, add(n, 300, "A", "10.11.2.1"), lease=2)
    ok(reply)
    assert lease_option(reply) is not None
    assert served(srv, n) is not None
    assert serial(srv) > s0


@pytest.mark.parametrize("length", [0, 2, 6, 12])
def test_malformed_lease_option_is_formerr(srv: Server, length: int) -> None:
    """RFC 9664 §4: OPTION-LENGTH is "4 or 8"; RFC 6891 §7: "an option value that is badly
    formatted ... a FORMERR MUST be returned", and "the response MUST include an OPT
    record". The update is not applied."""
    n = name(f"bad-option-{length}")
    msg = update_message([add(n, 300, "A", "10.12.0.1")], lease=bytes(range(length)))
    raw = udp_exchange(srv, msg.to_wire())
    assert raw is not None, "no reply"
    reply = dns.message.from_wire(raw, keyring=keyring(), request_mac=msg.mac)
    assert reply.rcode() == dns.rcode.FORMERR, dns.rcode.to_text(reply.rcode())
    assert reply.edns >= 0, "FORMERR for an EDNS option carries an OPT"
    assert served(srv, n) is None


@pytest.fixture(scope="module")
def paced_srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The RFC 9664 §8 minimum interval at its default."""
    s = start_server(tmp_path_factory.mktemp("paced"), paced=True)
    yield s
    s.stop()


def test_lease_update_within_the_minimum_interval_is_silently_ignored(paced_srv: Server) -> None:
    """RFC 9664 §8: "The server MUST enforce a minimum interval between updates. After a
    Refresh or Registration Request has been successfully processed and acknowledged,
    another Lease Update Request of either type from the client during that interval MUST
    be silently ignored." The interval is not given; read as: longer than a round trip,
    so a second request from the same client (key and address) sent at once gets no
    reply and changes nothing."""
    n = name("too-soon")
    ok(send(paced_srv, add(n, 300, "A", "10.13.0.1"), lease=3600, key=OTHER_KEY))
    again = update_message(
        [add(n, 300, "A", "10.13.0.2")], lease=struct.pack("!I", 3600), key=OTHER_KEY
    )
    raw = udp_exchange(paced_srv, again.to_wire(), timeout=1.0)
    reply = None if raw is None else dns.message.from_wire(raw, keyring=False)
    observed = (
        None if reply is None else (dns.rcode.to_text(reply.rcode()), lease_option(reply)),
        rdata_of(paced_srv, n),
    )
    assert observed == (None, {"10.13.0.1"}), f"(reply, data served) = {observed}"
    assert metric(paced_srv, "leasedns_lease_updates_ignored_total") == 1


# === draft §3.1: persistence across restarts ===================================================


@pytest.fixture(scope="module")
def restart_srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = start_server(tmp_path_factory.mktemp("restart"))
    yield s
    s.stop()


def deferred_and_leased(s: Server, label: str, net: int, seconds: int) -> tuple[str, str, float]:
    """Two names ending after ``seconds``: one by a deferred RRset delete, one by an RFC
    9664 lease; and the time the first was sent."""
    dd, lz = name(f"{label}-dd"), name(f"{label}-lease")
    ok(send(s, add(dd, 300, "A", f"10.14.{net}.1")))
    t0 = time.monotonic()
    ok(send(s, del_rrset(dd, seconds, "A")))
    ok(send(s, add(lz, 300, "A", f"10.14.{net}.2"), lease=seconds))
    return dd, lz, t0


def test_deadline_holds_across_a_restart(restart_srv: Server) -> None:
    """Draft §3.1: "Deferred delete records are stored, persistently, by the name server"
    (here through SIGKILL); RFC 9664 §7 leases likewise end when they were granted to."""
    s = restart_srv
    dd, lz, t0 = deferred_and_leased(s, "restart", 0, 4)
    s.kill()
    s.start()
    assert served(s, dd) is not None and served(s, lz) is not None
    got = watch_all(
        {"dd": lambda: served(s, dd) is not None, "lease": lambda: served(s, lz) is not None},
        t0,
        4 + LATE + 1,
    )
    got["dd"].check_deadline(4, "deferred delete")
    got["lease"].check_deadline(4, "RFC 9664 lease")


def test_deadline_passed_while_down_is_carried_out_at_start(restart_srv: Server) -> None:
    """Draft §3.1 (persistent, evaluated "in a timely" way) and RFC 9664 §7 ("MUST NOT
    return that RR"): deadlines that passed while the server was down take effect at
    start, before the data would be served again."""
    s = restart_srv
    dd, lz, t0 = deferred_and_leased(s, "down", 1, 2)
    s0 = serial(s)
    s.stop()
    wait_until(t0, 3)
    s.start()
    assert served(s, dd) is None, "deferred delete not carried out at start"
    assert served(s, lz) is None, "expired lease still served after start"
    assert serial(s) > s0
