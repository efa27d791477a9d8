"""RFC 2136 §3 processing: zone section, prerequisites, prescan and the update section."""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from pathlib import Path

import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.update
import pytest

from leasedns.store.memory_kv import MemoryKV
from leasedns.store.records import Provenance, RRsetMeta
from leasedns.store.zonestore import Store
from leasedns.update import rfc2136
from leasedns.update.message import C_ANY, C_IN, C_NONE, UpdateMessage, UpdateRR, parse_update
from leasedns.update.rfc2136 import (
    FORMERR,
    NOERROR,
    NOTAUTH,
    NOTIMP,
    NOTZONE,
    NXDOMAIN,
    NXRRSET,
    YXDOMAIN,
    YXRRSET,
    ZoneTxn,
    apply_updates,
    check_prerequisites,
    check_zone_section,
    prescan,
)
from leasedns.wire import names
from leasedns.zone import loader
from leasedns.zone.masterfile import parse_zone_file

ZONE = names.from_text("lab.example.")
A, NS, CNAME, SOA, MX, TXT, AAAA, ANY = 1, 2, 5, 6, 15, 16, 28, 255

ZONE_TEXT = """$ORIGIN lab.example.
$TTL 3600
@       SOA   ns1 hostmaster 100 3600 600 1209600 300
        NS    ns1
        NS    ns2
        MX    10 mail
ns1     A     10.0.0.2
ns2     A     10.0.0.3
mail    A     10.0.0.25
web     A     10.0.0.40
        A     10.0.0.41
        TXT   "web"
www     CNAME web
a.b     TXT   "deep"
sub     NS    ns.sub
ns.sub  A     10.0.1.53
"""


def n(text: str) -> names.Name:
    return names.from_text(text, ZONE)


def rd(rtype: str, text: str) -> bytes:
    return dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(rtype), text).to_wire()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    path = tmp_path / "lab.example.zone"
    path.write_text(ZONE_TEXT)
    s = Store(MemoryKV())
    with s.writer() as w:
        loader.import_zone(w, parse_zone_file(str(path)), str(path), 1_000_000.0)
    return s


@pytest.fixture
def z(store: Store) -> Iterator[ZoneTxn]:
    with store.writer() as w:
        yield ZoneTxn(w, ZONE)


def msg_of(
    build: Callable[[dns.update.UpdateMessage], None], zone: str = "lab.example."
) -> UpdateMessage:
    """An UPDATE built with dnspython's client API and read back by our reader."""
    u = dns.update.UpdateMessage(zone)
    build(u)
    return parse_update(u.to_wire())


def raw_msg(prereqs: list[UpdateRR] = (), updates: list[UpdateRR] = ()) -> UpdateMessage:  # type: ignore[assignment]
    """For RRs no client library will build (odd classes, TTLs, rdata on meta-RRs)."""
    return UpdateMessage(1, 5 << 11, ZONE, C_IN, SOA, list(prereqs), list(updates))


def meta_for(owner: names.Name, rtype: int, old: RRsetMeta | None) -> RRsetMeta:
    return RRsetMeta(provenance=Provenance.DHCP, created=5, writer="test")


def rrset(z: ZoneTxn, owner: str, rtype: int) -> tuple[int, set[bytes]] | None:
    got = z.get(n(owner), rtype)
    return None if got is None else (got[0], set(got[1]))


# -- §3.1 zone section ---------------------------------------------------------------------


def served(name: names.Name) -> bool:
    return name == ZONE


def test_zone_section_for_a_served_zone_passes() -> None:
    assert check_zone_section(msg_of(lambda u: None), served) == NOERROR


def test_zone_not_served_is_notauth() -> None:
    """§3.1.2: not authoritative for the zone named."""
    assert check_zone_section(msg_of(lambda u: None, "other.example."), served) == NOTAUTH


def test_zone_below_a_served_zone_is_notauth() -> None:
    assert check_zone_section(msg_of(lambda u: None, "web.lab.example."), served) == NOTAUTH


def test_zone_type_other_than_soa_is_formerr() -> None:
    """§3.1.1: ZTYPE must be SOA."""
    m = msg_of(lambda u: None)
    m.zrtype = A
    assert check_zone_section(m, served) == FORMERR


def test_zone_class_other_than_in_is_notimp() -> None:
    m = msg_of(lambda u: None)
    m.zclass = 3  # CH: as BIND and Knot answer (tests/integration/test_vs_knot.py)
    assert check_zone_section(m, served) == NOTIMP


# -- §3.2 prerequisites --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "rcode"),
    [
        (lambda u: u.present("web"), NOERROR),
        (lambda u: u.present("nothere"), NXDOMAIN),
        (lambda u: u.present("web", "A"), NOERROR),
        (lambda u: u.present("web", "AAAA"), NXRRSET),
        (lambda u: u.absent("nothere"), NOERROR),
        (lambda u: u.absent("web"), YXDOMAIN),
        (lambda u: u.absent("web", "AAAA"), NOERROR),
        (lambda u: u.absent("web", "A"), YXRRSET),
        (lambda u: u.present("web", dns.rdata.from_text("IN", "TXT", '"web"')), NOERROR),
        (lambda u: u.present("web", dns.rdata.from_text("IN", "TXT", '"other"')), NXRRSET),
        (lambda u: u.present("nothere", dns.rdata.from_text("IN", "TXT", '"x"')), NXRRSET),
    ],
    ids=[
        "in-use",
        "in-use-fails",
        "rrset-exists",
        "rrset-exists-fails",
        "not-in-use",
        "not-in-use-fails",
        "rrset-absent",
        "rrset-absent-fails",
        "value-match",
        "value-mismatch",
        "value-on-missing-rrset",
    ],
)
def test_each_prerequisite_kind(
    z: ZoneTxn, build: Callable[[dns.update.UpdateMessage], None], rcode: int
) -> None:
    """§3.2.1-§3.2.3 and the table of §3.2.4."""
    assert check_prerequisites(z, msg_of(build)) == rcode


def test_empty_non_terminal_is_not_in_use(z: ZoneTxn) -> None:
    """§2.4.4: "in use" means at least one RR with that NAME; b.lab.example. only has children."""
    assert check_prerequisites(z, msg_of(lambda u: u.present("b"))) == NXDOMAIN
    assert check_prerequisites(z, msg_of(lambda u: u.absent("b"))) == NOERROR


def test_cname_owner_is_in_use(z: ZoneTxn) -> None:
    assert check_prerequisites(z, msg_of(lambda u: u.present("www"))) == NOERROR
    assert check_prerequisites(z, msg_of(lambda u: u.present("www", "A"))) == NXRRSET


def test_value_dependent_compares_whole_rrsets_as_sets(z: ZoneTxn) -> None:
    """§3.2.3: same members, no more, no less, in any order."""
    a40 = dns.rdata.from_text("IN", "A", "10.0.0.40")
    a41 = dns.rdata.from_text("IN", "A", "10.0.0.41")
    a42 = dns.rdata.from_text("IN", "A", "10.0.0.42")

    def both(u: dns.update.UpdateMessage) -> None:
        u.present("web", a41)
        u.present("web", a40)

    def subset(u: dns.update.UpdateMessage) -> None:
        u.present("web", a40)

    def superset(u: dns.update.UpdateMessage) -> None:
        u.present("web", a40)
        u.present("web", a41)
        u.present("web", a42)

    assert check_prerequisites(z, msg_of(both)) == NOERROR
    assert check_prerequisites(z, msg_of(subset)) == NXRRSET
    assert check_prerequisites(z, msg_of(superset)) == NXRRSET


def test_value_dependent_duplicates_count_once(z: ZoneTxn) -> None:
    rr = UpdateRR(n("web"), TXT, C_IN, 0, rd("TXT", '"web"'))
    assert check_prerequisites(z, raw_msg(prereqs=[rr, rr])) == NOERROR


def test_value_dependent_ignores_case_of_names_in_rdata(z: ZoneTxn) -> None:
    """RFC 4343: the MX exchange MAIL.LAB.EXAMPLE. equals mail.lab.example."""
    rr = UpdateRR(ZONE, MX, C_IN, 0, rd("MX", "10 MAIL.LAB.EXAMPLE."))
    assert check_prerequisites(z, raw_msg(prereqs=[rr])) == NOERROR


def test_value_dependent_rrsets_checked_after_all_others(z: ZoneTxn) -> None:
    """§3.2.5 pseudocode: the temp RRsets are compared once the loop has run."""
    mismatch = UpdateRR(n("web"), TXT, C_IN, 0, rd("TXT", '"other"'))
    in_use = UpdateRR(n("web"), ANY, C_NONE, 0, b"")
    assert check_prerequisites(z, raw_msg(prereqs=[mismatch, in_use])) == YXDOMAIN


def test_first_failing_prerequisite_decides(z: ZoneTxn) -> None:
    first = UpdateRR(n("nothere"), ANY, C_ANY, 0, b"")  # NXDOMAIN
    second = UpdateRR(n("web"), A, C_NONE, 0, b"")  # YXRRSET
    assert check_prerequisites(z, raw_msg(prereqs=[first, second])) == NXDOMAIN
    assert check_prerequisites(z, raw_msg(prereqs=[second, first])) == YXRRSET


@pytest.mark.parametrize(
    "rr",
    [
        UpdateRR(n("web"), ANY, C_ANY, 60, b""),  # TTL must be 0
        UpdateRR(n("web"), A, C_NONE, 1, b""),
        UpdateRR(n("web"), A, C_IN, 5, bytes([10, 0, 0, 40])),
        UpdateRR(n("web"), A, C_ANY, 0, bytes([10, 0, 0, 40])),  # RDLENGTH must be 0
        UpdateRR(n("web"), A, C_NONE, 0, bytes([10, 0, 0, 40])),
        UpdateRR(n("web"), ANY, C_IN, 0, b""),  # value-dependent with type ANY
        UpdateRR(n("web"), A, 3, 0, b""),  # CH: not ZCLASS, NONE nor ANY
    ],
    ids=["any-ttl", "none-ttl", "zone-ttl", "any-rdata", "none-rdata", "zone-type-any", "class-ch"],
)
def test_malformed_prerequisites_are_formerr(z: ZoneTxn, rr: UpdateRR) -> None:
    assert check_prerequisites(z, raw_msg(prereqs=[rr])) == FORMERR


@pytest.mark.parametrize("owner", ["lab.example.org.", "example.", "."])
def test_prerequisite_outside_the_zone_is_notzone(z: ZoneTxn, owner: str) -> None:
    rr = UpdateRR(names.from_text(owner), ANY, C_NONE, 0, b"")
    assert check_prerequisites(z, raw_msg(prereqs=[rr])) == NOTZONE


def test_ttl_is_checked_before_the_zone(z: ZoneTxn) -> None:
    """§3.2.5 pseudocode order: TTL first, then NOTZONE."""
    rr = UpdateRR(names.from_text("other.example."), ANY, C_NONE, 7, b"")
    assert check_prerequisites(z, raw_msg(prereqs=[rr])) == FORMERR


def test_prerequisites_see_earlier_writes_in_the_same_transaction(z: ZoneTxn) -> None:
    apply_updates(z, [UpdateRR(n("fresh"), A, C_IN, 60, rd("A", "10.5.5.5"))], C_IN, meta_for)
    assert check_prerequisites(z, msg_of(lambda u: u.present("fresh", "A"))) == NOERROR
    assert check_prerequisites(z, msg_of(lambda u: u.absent("fresh"))) == YXDOMAIN


# -- §3.4.1 prescan ------------------------------------------------------------------------


def test_prescan_accepts_every_kind_from_a_client(z: ZoneTxn) -> None:
    def build(u: dns.update.UpdateMessage) -> None:
        u.add("h", 60, "A", "10.0.0.9")
        u.delete("h", "A", "10.0.0.9")
        u.delete("h", "A")
        u.delete("h")

    assert prescan(ZONE, msg_of(build)) == NOERROR


@pytest.mark.parametrize(
    "rr",
    [
        UpdateRR(n("h"), ANY, C_IN, 60, b""),  # add with type ANY
        UpdateRR(n("h"), 252, C_IN, 60, b"\x00"),  # AXFR
        UpdateRR(n("h"), 253, C_IN, 60, b"\x00"),  # MAILB
        UpdateRR(n("h"), 254, C_IN, 60, b"\x00"),  # MAILA
        UpdateRR(n("h"), A, C_ANY, 60, b""),  # delete RRset with TTL
        UpdateRR(n("h"), A, C_ANY, 0, b"\x0a\x00\x00\x01"),  # delete RRset with rdata
        UpdateRR(n("h"), 252, C_ANY, 0, b""),  # delete AXFR
        UpdateRR(n("h"), A, C_NONE, 60, b"\x0a\x00\x00\x01"),  # delete RR with TTL
        UpdateRR(n("h"), ANY, C_NONE, 0, b""),  # delete RR of type ANY
        UpdateRR(n("h"), 254, C_NONE, 0, b"\x00"),  # delete RR of MAILA
        UpdateRR(n("h"), A, 3, 60, b"\x0a\x00\x00\x01"),  # class CH
    ],
    ids=[
        "add-any",
        "add-axfr",
        "add-mailb",
        "add-maila",
        "any-ttl",
        "any-rdata",
        "any-axfr",
        "none-ttl",
        "none-any",
        "none-maila",
        "class-ch",
    ],
)
def test_prescan_formerr(rr: UpdateRR) -> None:
    """§3.4.1.3 pseudocode."""
    assert prescan(ZONE, raw_msg(updates=[rr])) == FORMERR


def test_prescan_checks_every_rr_before_any_is_applied() -> None:
    good = UpdateRR(n("h"), A, C_IN, 60, rd("A", "10.0.0.9"))
    bad = UpdateRR(n("h"), ANY, C_IN, 60, b"")
    assert prescan(ZONE, raw_msg(updates=[good, bad])) == FORMERR


@pytest.mark.parametrize("owner", ["lab.example.org.", "example.", "ns.other."])
def test_prescan_outside_the_zone_is_notzone(owner: str) -> None:
    rr = UpdateRR(names.from_text(owner), A, C_IN, 60, rd("A", "10.0.0.9"))
    assert prescan(ZONE, raw_msg(updates=[rr])) == NOTZONE


def test_prescan_allows_deferred_delete_ttls_only_when_asked() -> None:
    rrset_delete = UpdateRR(n("h"), A, C_ANY, 3600, b"")
    rr_delete = UpdateRR(n("h"), A, C_NONE, 3600, rd("A", "10.0.0.9"))
    m = raw_msg(updates=[rrset_delete, rr_delete])
    assert prescan(ZONE, m) == FORMERR
    assert prescan(ZONE, m, allow_deferred=True) == NOERROR


# -- §3.4.2 update section -----------------------------------------------------------------


def apply(z: ZoneTxn, build: Callable[[dns.update.UpdateMessage], None]) -> list[str]:
    m = msg_of(build)
    assert prescan(ZONE, m) == NOERROR
    return apply_updates(z, m.updates, m.zclass, meta_for)


def test_add_creates_an_rrset_with_metadata(z: ZoneTxn) -> None:
    assert apply(z, lambda u: u.add("h1", 300, "A", "10.1.1.1")) == []
    assert rrset(z, "h1", A) == (300, {rd("A", "10.1.1.1")})
    meta = z.meta(n("h1"), A)
    assert meta is not None and meta.provenance == Provenance.DHCP and meta.writer == "test"


def test_add_to_an_existing_rrset_keeps_its_members(z: ZoneTxn) -> None:
    apply(z, lambda u: u.add("web", 3600, "A", "10.0.0.42"))
    assert rrset(z, "web", A) == (3600, {rd("A", f"10.0.0.{i}") for i in (40, 41, 42)})


def test_ttl_of_an_added_rr_becomes_the_rrset_ttl(z: ZoneTxn) -> None:
    """RFC 2181 §5.2: one TTL per RRset; the newest RR sets it."""
    apply(z, lambda u: u.add("web", 120, "A", "10.0.0.42"))
    assert rrset(z, "web", A) == (120, {rd("A", f"10.0.0.{i}") for i in (40, 41, 42)})


def test_duplicate_rr_replaces_and_does_not_grow_the_rrset(z: ZoneTxn) -> None:
    """§3.4.2.2: a duplicate RDATA replaces the zone RR (only its TTL can change)."""
    apply(z, lambda u: u.add("web", 3600, "A", "10.0.0.40"))
    assert rrset(z, "web", A) == (3600, {rd("A", "10.0.0.40"), rd("A", "10.0.0.41")})
    assert z.changes() == ([], [])  # nothing changed at all
    apply(z, lambda u: u.add("web", 60, "A", "10.0.0.40"))
    assert rrset(z, "web", A) == (60, {rd("A", "10.0.0.40"), rd("A", "10.0.0.41")})


def test_duplicate_compared_without_case_of_embedded_names(z: ZoneTxn) -> None:
    rr = UpdateRR(ZONE, MX, C_IN, 3600, rd("MX", "10 MAIL.lab.EXAMPLE."))
    apply_updates(z, [rr], C_IN, meta_for)
    got = z.get(ZONE, MX)
    assert got is not None and len(got[1]) == 1


def test_cname_is_not_added_beside_other_data(z: ZoneTxn) -> None:
    """§3.4.2.2: a CNAME update RR at a name holding other data is ignored."""
    ignored = apply(z, lambda u: u.add("web", 60, "CNAME", "mail"))
    assert len(ignored) == 1 and "CNAME" in ignored[0]
    assert z.get(n("web"), CNAME) is None


def test_other_data_is_not_added_beside_a_cname(z: ZoneTxn) -> None:
    """§3.4.2.2, vice versa: the non-CNAME update RR is ignored."""
    ignored = apply(z, lambda u: u.add("www", 60, "A", "10.9.9.9"))
    assert len(ignored) == 1
    assert z.get(n("www"), A) is None
    assert rrset(z, "www", CNAME) == (3600, {rd("CNAME", "web.lab.example.")})


def test_cname_replaces_the_cname(z: ZoneTxn) -> None:
    apply(z, lambda u: u.add("www", 60, "CNAME", "mail"))
    assert rrset(z, "www", CNAME) == (60, {rd("CNAME", "mail.lab.example.")})


def test_cname_at_a_new_name_is_added(z: ZoneTxn) -> None:
    apply(z, lambda u: u.add("alias", 60, "CNAME", "web"))
    assert rrset(z, "alias", CNAME) == (60, {rd("CNAME", "web.lab.example.")})


def test_cname_after_deleting_the_other_data_in_the_same_update(z: ZoneTxn) -> None:
    """Update RRs are applied in order, each seeing the ones before it."""

    def build(u: dns.update.UpdateMessage) -> None:
        u.delete("web")
        u.add("web", 60, "CNAME", "mail")

    assert apply(z, build) == []
    assert z.types_at(n("web")).keys() == {CNAME}


def soa_rdata(serial: int, mname: str = "ns1.lab.example.") -> bytes:
    return rd("SOA", f"{mname} hostmaster.lab.example. {serial} 3600 600 1209600 300")


def test_soa_with_a_higher_serial_replaces_the_soa(z: ZoneTxn) -> None:
    new = soa_rdata(101, "ns2.lab.example.")
    apply_updates(z, [UpdateRR(ZONE, SOA, C_IN, 600, new)], C_IN, meta_for)
    assert rrset(z, "@", SOA) == (600, {new})


@pytest.mark.parametrize("serial", [100, 99, 100 + (1 << 31)])
def test_soa_with_a_serial_not_higher_is_ignored(z: ZoneTxn, serial: int) -> None:
    """§3.4.2.2 and RFC 1982: equal, lower, and 2^31 away (undefined) are all ignored."""
    before = z.get(ZONE, SOA)
    ignored = apply_updates(
        z, [UpdateRR(ZONE, SOA, C_IN, 600, soa_rdata(serial % (1 << 32)))], C_IN, meta_for
    )
    assert len(ignored) == 1
    assert z.get(ZONE, SOA) == before


def test_soa_serial_wraps_per_rfc1982(tmp_path: Path) -> None:
    path = tmp_path / "wrap.zone"
    path.write_text(ZONE_TEXT.replace(" 100 3600", " 4294967290 3600"))
    s = Store(MemoryKV())
    with s.writer() as w:
        loader.import_zone(w, parse_zone_file(str(path)), str(path), 1.0)
        zt = ZoneTxn(w, ZONE)
        apply_updates(zt, [UpdateRR(ZONE, SOA, C_IN, 600, soa_rdata(5))], C_IN, meta_for)
        assert rrset(zt, "@", SOA) == (600, {soa_rdata(5)})


def test_soa_below_the_apex_is_ignored(z: ZoneTxn) -> None:
    ignored = apply_updates(z, [UpdateRR(n("web"), SOA, C_IN, 600, soa_rdata(500))], C_IN, meta_for)
    assert len(ignored) == 1 and z.get(n("web"), SOA) is None


def test_delete_rr(z: ZoneTxn) -> None:
    apply(z, lambda u: u.delete("web", "A", "10.0.0.40"))
    assert rrset(z, "web", A) == (3600, {rd("A", "10.0.0.41")})


def test_delete_last_rr_removes_the_rrset(z: ZoneTxn) -> None:
    apply(z, lambda u: u.delete("mail", "A", "10.0.0.25"))
    assert z.get(n("mail"), A) is None
    assert z.meta(n("mail"), A) is None


def test_delete_rr_that_is_not_there_changes_nothing(z: ZoneTxn) -> None:
    assert apply(z, lambda u: u.delete("web", "A", "10.0.0.99")) == []
    assert apply(z, lambda u: u.delete("nothere", "A", "10.0.0.99")) == []
    assert z.changes() == ([], [])


def test_delete_rr_matches_names_in_rdata_without_case(z: ZoneTxn) -> None:
    rr = UpdateRR(ZONE, MX, C_NONE, 0, rd("MX", "10 Mail.Lab.Example."))
    apply_updates(z, [rr], C_IN, meta_for)
    assert z.get(ZONE, MX) is None


def test_delete_rrset(z: ZoneTxn) -> None:
    apply(z, lambda u: u.delete("web", "A"))
    assert z.get(n("web"), A) is None
    assert rrset(z, "web", TXT) == (3600, {rd("TXT", '"web"')})


def test_delete_name(z: ZoneTxn) -> None:
    apply(z, lambda u: u.delete("web"))
    assert z.types_at(n("web")) == {}


def test_delete_name_at_the_apex_keeps_soa_and_ns(z: ZoneTxn) -> None:
    """§3.4.2.3: at ZNAME only RRs other than SOA and NS are deleted."""
    apply(z, lambda u: u.delete("@"))
    assert set(z.types_at(ZONE)) == {SOA, NS}


@pytest.mark.parametrize("rtype", ["SOA", "NS"])
def test_delete_apex_soa_or_ns_rrset_is_ignored(z: ZoneTxn, rtype: str) -> None:
    before = z.get(ZONE, dns.rdatatype.from_text(rtype))
    ignored = apply(z, lambda u: u.delete("@", rtype))
    assert len(ignored) == 1
    assert z.get(ZONE, dns.rdatatype.from_text(rtype)) == before


def test_delete_soa_rr_is_ignored(z: ZoneTxn) -> None:
    """§3.4.2.4: an SOA is never deleted by a class NONE RR."""
    cur = z.get(ZONE, SOA)
    assert cur is not None
    ignored = apply_updates(z, [UpdateRR(ZONE, SOA, C_NONE, 0, cur[1][0])], C_IN, meta_for)
    assert len(ignored) == 1 and z.get(ZONE, SOA) == cur


def test_apex_ns_rrs_can_be_deleted_but_not_the_last(z: ZoneTxn) -> None:
    """§3.4.2.4: the NS RR that is the only one left at the apex is kept."""

    def both(u: dns.update.UpdateMessage) -> None:
        u.delete("@", "NS", "ns1")
        u.delete("@", "NS", "ns2")

    ignored = apply(z, both)
    assert len(ignored) == 1
    assert rrset(z, "@", NS) == (3600, {rd("NS", "ns2.lab.example.")})


def test_delegation_ns_below_the_apex_can_be_deleted(z: ZoneTxn) -> None:
    assert apply(z, lambda u: u.delete("sub", "NS", "ns.sub")) == []
    assert z.get(n("sub"), NS) is None


def test_add_then_delete_in_one_update_nets_to_nothing(z: ZoneTxn) -> None:
    def build(u: dns.update.UpdateMessage) -> None:
        u.add("h", 60, "A", "10.0.0.7")
        u.delete("h", "A", "10.0.0.7")

    apply(z, build)
    assert z.get(n("h"), A) is None
    assert z.changes() == ([], [])


def test_changes_reports_net_deletions_and_additions(z: ZoneTxn) -> None:
    def build(u: dns.update.UpdateMessage) -> None:
        u.delete("web", "A", "10.0.0.40")
        u.add("h", 60, "AAAA", "fd00::7")
        u.add("web", 3600, "TXT", '"web"')  # a duplicate: no change

    apply(z, build)
    deleted, added = z.changes()
    assert deleted == [(n("web"), A, 3600, rd("A", "10.0.0.40"))]
    assert added == [(n("h"), AAAA, 60, rd("AAAA", "fd00::7"))]


def test_changes_sees_a_ttl_change_as_delete_and_add(z: ZoneTxn) -> None:
    apply(z, lambda u: u.add("mail", 60, "A", "10.0.0.25"))
    deleted, added = z.changes()
    assert deleted == [(n("mail"), A, 3600, rd("A", "10.0.0.25"))]
    assert added == [(n("mail"), A, 60, rd("A", "10.0.0.25"))]


def test_writes_stay_inside_the_callers_transaction(store: Store) -> None:
    """Nothing reaches the store when the caller's transaction does not commit."""

    class Abort(Exception):
        pass

    with pytest.raises(Abort), store.writer() as w:
        zt = ZoneTxn(w, ZONE)
        apply_updates(zt, [UpdateRR(n("h"), A, C_IN, 60, rd("A", "10.0.0.7"))], C_IN, meta_for)
        raise Abort
    with store.reader() as r:
        assert r.get(ZONE, n("h"), A) is None


def test_canon_ignores_case_only_for_types_with_names() -> None:
    assert rfc2136.canon(CNAME, rd("CNAME", "WEB.lab.example.")) == rfc2136.canon(
        CNAME, rd("CNAME", "web.lab.example.")
    )
    assert rfc2136.canon(TXT, rd("TXT", '"ABC"')) != rfc2136.canon(TXT, rd("TXT", '"abc"'))


def test_unknown_type_round_trips_as_opaque_bytes(z: ZoneTxn) -> None:
    data = struct.pack(">HH", 1, 2)
    apply_updates(z, [UpdateRR(n("h"), 65280, C_IN, 60, data)], C_IN, meta_for)
    assert rrset(z, "h", 65280) == (60, {data})
