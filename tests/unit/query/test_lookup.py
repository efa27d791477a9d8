"""RFC 1034 §4.3.2 lookup over zones imported from master files, on both store backends."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import dns.rdata
import dns.rdataclass
import dns.rdatatype
import pytest

from leasedns.query.lookup import MAX_CHAIN, Kind, Lookup, LookupResult, RRset
from leasedns.query.zoneindex import ZoneIndex
from leasedns.store.kv import KVBackend
from leasedns.store.lmdb_kv import LmdbKV
from leasedns.store.memory_kv import MemoryKV
from leasedns.store.zonestore import Store
from leasedns.wire import names
from leasedns.wire.names import from_text
from leasedns.zone.loader import import_zone
from leasedns.zone.masterfile import parse_zone_file

A, NS, CNAME, SOA, MX, TXT, AAAA, SRV, DNAME, DS, ANY = 1, 2, 5, 6, 15, 16, 28, 33, 39, 43, 255

LAB = """\
$ORIGIN lab.test.
$TTL 3600
@ SOA ns1 hostmaster 10 3600 600 86400 300
  NS ns1
  NS ns2.elsewhere.invalid.
  MX 10 mail
  MX 20 mx.other.test.
ns1 A 192.0.2.1
    AAAA 2001:db8::1
mail A 192.0.2.25
mx A 192.0.2.26          ; not in the additional section: MX 20 names mx.other.test.
www 300 A 192.0.2.80
    300 A 192.0.2.81
    TXT "hello"
alias CNAME www
chain1 CNAME chain2
chain2 CNAME alias
loop1 CNAME loop2
loop2 CNAME loop1
self CNAME self
out CNAME www.nowhere.invalid.
dangling CNAME nothere
toother CNAME www.other.test.
tokids CNAME www.kids
todel CNAME www.sub
host.ent A 192.0.2.7     ; ent.lab.test. is an empty non-terminal
_sip._udp SRV 0 5 5060 sip
sip A 192.0.2.50
*.wild CNAME www
*.nodata TXT "wild text"
x.*.went TXT "below a wildcard that owns nothing"
sub NS ns.sub
sub NS ns.elsewhere.invalid.
ns.sub A 192.0.2.53
secure NS ns.secure
secure DS 12345 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE2A5D8A4D2F4F1F4A1E6B7C3D
ns.secure A 192.0.2.54
kids NS ns.kids
kids DS 54321 13 2 AAFD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE2A5D8A4D2F4F1F4A1E6B7C3D
ns.kids A 192.0.2.55
old DNAME new
host.new A 192.0.2.99
long DNAME {long}.lab.test.
""".format(long=".".join(["x" * 63] * 3))

KIDS = """\
$ORIGIN kids.lab.test.
$TTL 600
@ 60 SOA ns hostmaster 5 3600 600 86400 900
  NS ns
ns A 192.0.2.55
www A 192.0.2.66
"""

OTHER = """\
$ORIGIN other.test.
$TTL 3600
@ SOA ns hostmaster 1 3600 600 86400 120
  NS ns
ns A 192.0.2.201
www A 192.0.2.200
mx A 192.0.2.202
back CNAME loop1.lab.test.
"""

# RFC 4592 §2.2.1, with real SOA and SRV rdata.
RFC4592 = """\
$ORIGIN example.
example.                 3600 IN  SOA   ns.example.com. hostmaster.example.com. 1 3600 600 86400 3600
example.                 3600     NS    ns.example.com.
example.                 3600     NS    ns.example.net.
*.example.               3600     TXT   "this is a wildcard"
*.example.               3600     MX    10 host1.example.
sub.*.example.           3600     TXT   "this is not a wildcard"
host1.example.           3600     A     192.0.2.1
_ssh._tcp.host1.example. 3600     SRV   0 0 22 host1.example.
_ssh._tcp.host2.example. 3600     SRV   0 0 22 host1.example.
subdel.example.          3600     NS    ns.example.com.
subdel.example.          3600     NS    ns.example.net.
"""

APEX_DNAME = """\
$ORIGIN dn.test.
$TTL 3600
@ SOA ns.lab.test. hostmaster.lab.test. 1 3600 600 86400 300
  NS ns.lab.test.
  DNAME lab.test.
"""

Ask = Callable[..., LookupResult]


@pytest.fixture(scope="module", params=["memory", "lmdb"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    """The zones above, imported once per backend; lookups only read them."""
    tmp = tmp_path_factory.mktemp("lookup")
    kv: KVBackend = MemoryKV() if request.param == "memory" else LmdbKV(str(tmp / "store"), 1 << 26)
    store = Store(kv)
    for i, text in enumerate((LAB, KIDS, OTHER, RFC4592, APEX_DNAME)):
        path = tmp / f"zone{i}.db"
        path.write_text(text)
        with store.writer() as w:
            import_zone(w, parse_zone_file(str(path)), str(path), 1_700_000_000.0)
    yield store
    store.close()


@pytest.fixture
def ask(served: Store) -> Ask:
    with served.reader() as r:
        origins = [z for z, _ in r.zones()]
    index = ZoneIndex(origins)

    def run(qname: str, qtype: int, tcp: bool = False) -> LookupResult:
        with served.reader() as r:
            return Lookup(r, index).run(from_text(qname), qtype, tcp)

    return run


def rd(rtype: int, text: str) -> bytes:
    rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.RdataType.make(rtype), text)
    wire = rdata.to_wire()
    assert wire is not None
    return wire


def show(rrsets: list[RRset]) -> list[tuple[str, int, int, list[str]]]:
    """RRsets in presentation form, rdatas sorted, for readable comparisons."""
    out = []
    for owner, rtype, ttl, rdatas in rrsets:
        texts = sorted(
            dns.rdata.from_wire(
                dns.rdataclass.IN, dns.rdatatype.RdataType.make(rtype), x, 0, len(x)
            ).to_text()
            for x in rdatas
        )
        out.append((names.to_text(owner), rtype, ttl, texts))
    return out


LAB_SOA_NEG = ("lab.test.", SOA, 300, ["ns1.lab.test. hostmaster.lab.test. 10 3600 600 86400 300"])


def n(text: str) -> tuple[bytes, ...]:
    return from_text(text)


# -- plain answers -----------------------------------------------------------------


def test_exact_answer(ask: Ask) -> None:
    res = ask("WWW.lab.test.", A)
    assert res.kind == Kind.ANSWER
    assert res.authoritative
    assert show(res.answer) == [("www.lab.test.", A, 300, ["192.0.2.80", "192.0.2.81"])]
    assert res.authority == [] and res.additional == []
    assert res.deps == {n("www.lab.test.")}
    assert res.volatile == set()


def test_apex_soa(ask: Ask) -> None:
    res = ask("lab.test.", SOA)
    assert res.kind == Kind.ANSWER
    # The SOA in an answer keeps its own TTL; only negative answers use the minimum.
    assert show(res.answer) == [
        ("lab.test.", SOA, 3600, ["ns1.lab.test. hostmaster.lab.test. 10 3600 600 86400 300"])
    ]


def test_nodata(ask: Ask) -> None:
    res = ask("www.lab.test.", AAAA)
    assert res.kind == Kind.NODATA
    assert res.answer == []
    assert show(res.authority) == [LAB_SOA_NEG]
    assert res.volatile == {n("lab.test.")}
    assert n("www.lab.test.") in res.deps


def test_nxdomain(ask: Ask) -> None:
    res = ask("nothere.lab.test.", A)
    assert res.kind == Kind.NXDOMAIN
    assert res.authoritative
    assert res.answer == []
    assert show(res.authority) == [LAB_SOA_NEG]
    assert res.deps == {n("nothere.lab.test."), n("*.lab.test.")}
    assert res.volatile == {n("lab.test.")}


def test_nxdomain_below_a_missing_name(ask: Ask) -> None:
    res = ask("a.b.nothere.lab.test.", A)
    assert res.kind == Kind.NXDOMAIN
    assert n("*.lab.test.") in res.deps  # closest encloser is the apex


def test_negative_ttl_is_soa_ttl_when_smaller(ask: Ask) -> None:
    # RFC 2308 §3: min(SOA TTL, MINIMUM); kids.lab.test. has SOA TTL 60, MINIMUM 900.
    res = ask("nothere.kids.lab.test.", A)
    assert res.kind == Kind.NXDOMAIN
    assert [(o, t, ttl) for o, t, ttl, _ in res.authority] == [(n("kids.lab.test."), SOA, 60)]
    res = ask("www.kids.lab.test.", TXT)
    assert res.kind == Kind.NODATA
    assert res.authority[0][2] == 60


def test_empty_non_terminal_is_nodata(ask: Ask) -> None:
    res = ask("ent.lab.test.", A)
    assert res.kind == Kind.NODATA
    assert show(res.authority) == [LAB_SOA_NEG]
    assert res.deps == {n("ent.lab.test.")}
    assert res.volatile == {n("lab.test.")}
    res = ask("_udp.lab.test.", SRV)
    assert res.kind == Kind.NODATA


def test_refused_outside_served_zones(ask: Ask) -> None:
    res = ask("www.nowhere.invalid.", A)
    assert res.kind == Kind.REFUSED
    assert not res.authoritative
    assert res.answer == res.authority == res.additional == []
    res = ask("test.", SOA)  # the parent of served zones is not served
    assert res.kind == Kind.REFUSED


# -- CNAME ---------------------------------------------------------------------------


def test_cname_followed_in_zone(ask: Ask) -> None:
    res = ask("alias.lab.test.", A)
    assert res.kind == Kind.ANSWER
    assert show(res.answer) == [
        ("alias.lab.test.", CNAME, 3600, ["www.lab.test."]),
        ("www.lab.test.", A, 300, ["192.0.2.80", "192.0.2.81"]),
    ]
    assert res.deps == {n("alias.lab.test."), n("www.lab.test.")}
    assert res.volatile == set()


def test_cname_query_is_not_chased(ask: Ask) -> None:
    res = ask("alias.lab.test.", CNAME)
    assert show(res.answer) == [("alias.lab.test.", CNAME, 3600, ["www.lab.test."])]


def test_cname_chain(ask: Ask) -> None:
    res = ask("chain1.lab.test.", A)
    assert [(names.to_text(o), t) for o, t, _, _ in res.answer] == [
        ("chain1.lab.test.", CNAME),
        ("chain2.lab.test.", CNAME),
        ("alias.lab.test.", CNAME),
        ("www.lab.test.", A),
    ]
    assert res.kind == Kind.ANSWER


def test_cname_then_nodata(ask: Ask) -> None:
    res = ask("alias.lab.test.", MX)
    assert res.kind in (Kind.ANSWER, Kind.NODATA)  # RCODE NOERROR either way
    assert show(res.answer) == [("alias.lab.test.", CNAME, 3600, ["www.lab.test."])]
    assert show(res.authority) == [LAB_SOA_NEG]
    assert n("lab.test.") in res.volatile


def test_cname_to_missing_name_is_nxdomain(ask: Ask) -> None:
    # RFC 6604 §2.1: the RCODE reflects the last name in the chain.
    res = ask("dangling.lab.test.", A)
    assert res.kind == Kind.NXDOMAIN
    assert show(res.answer) == [("dangling.lab.test.", CNAME, 3600, ["nothere.lab.test."])]
    assert show(res.authority) == [LAB_SOA_NEG]


def test_cname_into_another_served_zone_is_not_chased(ask: Ask) -> None:
    # The client asks again (RFC 1034 §4.3.2 step 3a), as BIND and Knot answer it.
    res = ask("toother.lab.test.", A)
    assert res.kind == Kind.ANSWER
    assert res.authoritative
    assert show(res.answer) == [("toother.lab.test.", CNAME, 3600, ["www.other.test."])]
    assert not res.authority and not res.additional
    assert n("toother.lab.test.") in res.deps


def test_cname_into_served_child_zone_is_not_chased(ask: Ask) -> None:
    res = ask("tokids.lab.test.", A)
    assert show(res.answer) == [("tokids.lab.test.", CNAME, 3600, ["www.kids.lab.test."])]


@pytest.mark.parametrize(
    ("qname", "expected"),
    [
        ("loop1.lab.test.", ["loop1.lab.test.", "loop2.lab.test."]),
        ("self.lab.test.", ["self.lab.test."]),
        ("back.other.test.", ["back.other.test."]),  # the chain leaves the zone: stop
    ],
)
def test_cname_loop_terminates(ask: Ask, qname: str, expected: list[str]) -> None:
    res = ask(qname, A)
    assert [names.to_text(o) for o, t, _, _ in res.answer if t == CNAME] == expected
    assert all(t == CNAME for _, t, _, _ in res.answer)
    assert len(res.answer) <= MAX_CHAIN


def test_cname_to_unserved_name_is_left_to_the_client(ask: Ask) -> None:
    res = ask("out.lab.test.", A)
    assert res.kind == Kind.ANSWER
    assert res.authoritative
    assert show(res.answer) == [("out.lab.test.", CNAME, 3600, ["www.nowhere.invalid."])]
    assert res.authority == [] and res.additional == []


# -- wildcards (RFC 4592) ------------------------------------------------------------


def test_rfc4592_synthesised_mx(ask: Ask) -> None:
    res = ask("host3.example.", MX)
    assert res.kind == Kind.ANSWER
    assert show(res.answer) == [("host3.example.", MX, 3600, ["10 host1.example."])]
    assert show(res.additional) == [("host1.example.", A, 3600, ["192.0.2.1"])]
    assert res.volatile == {n("example.")}  # synthesis depends on host3 not existing
    assert res.deps == {n("host3.example."), n("*.example."), n("host1.example.")}


def test_rfc4592_wildcard_nodata(ask: Ask) -> None:
    res = ask("host3.example.", A)
    assert res.kind == Kind.NODATA
    assert [(o, t) for o, t, _, _ in res.authority] == [(n("example."), SOA)]
    assert n("example.") in res.volatile


def test_rfc4592_synthesis_two_levels_down(ask: Ask) -> None:
    res = ask("foo.bar.example.", TXT)
    assert res.kind == Kind.ANSWER
    assert show(res.answer) == [("foo.bar.example.", TXT, 3600, ['"this is a wildcard"'])]


@pytest.mark.parametrize(
    ("qname", "qtype", "kind"),
    [
        ("host1.example.", MX, Kind.NODATA),  # the name exists
        ("sub.*.example.", MX, Kind.NODATA),  # the name exists
        ("_tcp.host1.example.", A, Kind.NODATA),  # an empty non-terminal exists
        ("host2.example.", A, Kind.NODATA),  # an empty non-terminal exists
        ("_telnet._tcp.host1.example.", SRV, Kind.NXDOMAIN),  # closest encloser has no *
        ("ghost.*.example.", MX, Kind.NXDOMAIN),  # source of synthesis would be *.*.example.
        ("a.host2.example.", TXT, Kind.NXDOMAIN),  # closest encloser is the ENT host2.example.
        ("x.y._tcp.host1.example.", TXT, Kind.NXDOMAIN),
    ],
)
def test_rfc4592_no_synthesis(ask: Ask, qname: str, qtype: int, kind: Kind) -> None:
    res = ask(qname, qtype)
    assert res.kind == kind
    assert res.answer == []
    assert [(o, t) for o, t, _, _ in res.authority] == [(n("example."), SOA)]


def test_rfc4592_referral_below_delegation(ask: Ask) -> None:
    res = ask("host.subdel.example.", A)
    assert res.kind == Kind.REFERRAL
    assert show(res.authority) == [
        ("subdel.example.", NS, 3600, ["ns.example.com.", "ns.example.net."])
    ]


def test_wildcard_owner_queried_directly(ask: Ask) -> None:
    res = ask("*.example.", TXT)
    assert show(res.answer) == [("*.example.", TXT, 3600, ['"this is a wildcard"'])]


def test_wildcard_cname(ask: Ask) -> None:
    res = ask("Anything.wild.lab.test.", A)
    assert res.kind == Kind.ANSWER
    assert show(res.answer) == [
        ("anything.wild.lab.test.", CNAME, 3600, ["www.lab.test."]),
        ("www.lab.test.", A, 300, ["192.0.2.80", "192.0.2.81"]),
    ]
    assert n("lab.test.") in res.volatile
    assert n("*.wild.lab.test.") in res.deps


def test_wildcard_parent_is_empty_non_terminal(ask: Ask) -> None:
    res = ask("wild.lab.test.", A)
    assert res.kind == Kind.NODATA


def test_wildcard_synthesis_of_a_missing_type(ask: Ask) -> None:
    res = ask("x.nodata.lab.test.", A)
    assert res.kind == Kind.NODATA
    assert show(res.authority) == [LAB_SOA_NEG]
    res = ask("x.nodata.lab.test.", TXT)
    assert show(res.answer) == [("x.nodata.lab.test.", TXT, 3600, ['"wild text"'])]


def test_wildcard_that_is_an_empty_non_terminal_gives_nodata(ask: Ask) -> None:
    # RFC 4592 §2.2.2: "*.went" exists (it has a descendant), so it is the source of
    # synthesis (§3.3.1) for names below "went": they exist, with no data. BIND and Knot agree.
    for qname in ("foo.went.lab.test.", "x.foo.went.lab.test."):
        res = ask(qname, A)
        assert res.kind == Kind.NODATA
        assert show(res.authority) == [LAB_SOA_NEG]


# -- delegations and DS ----------------------------------------------------------------


def test_referral_with_glue(ask: Ask) -> None:
    res = ask("www.sub.lab.test.", A)
    assert res.kind == Kind.REFERRAL
    assert not res.authoritative
    assert res.glue_required
    assert res.answer == []
    assert show(res.authority) == [
        ("sub.lab.test.", NS, 3600, ["ns.elsewhere.invalid.", "ns.sub.lab.test."])
    ]
    assert show(res.additional) == [("ns.sub.lab.test.", A, 3600, ["192.0.2.53"])]
    assert res.deps == {n("sub.lab.test."), n("ns.sub.lab.test.")}
    assert res.volatile == set()


def test_referral_at_the_cut_itself(ask: Ask) -> None:
    for qtype in (A, NS, SOA):
        res = ask("sub.lab.test.", qtype)
        assert res.kind == Kind.REFERRAL
        assert not res.authoritative
        assert [(o, t) for o, t, _, _ in res.authority] == [(n("sub.lab.test."), NS)]


def test_cname_into_a_delegation_ends_in_a_referral(ask: Ask) -> None:
    res = ask("todel.lab.test.", A)
    assert res.kind == Kind.REFERRAL
    assert show(res.answer) == [("todel.lab.test.", CNAME, 3600, ["www.sub.lab.test."])]
    assert [(names.to_text(o), t) for o, t, _, _ in res.authority] == [("sub.lab.test.", NS)]
    assert show(res.additional) == [("ns.sub.lab.test.", A, 3600, ["192.0.2.53"])]


def test_glue_below_a_cut_is_not_answered(ask: Ask) -> None:
    res = ask("ns.sub.lab.test.", A)
    assert res.kind == Kind.REFERRAL
    assert res.answer == []


def test_ds_at_cut_answered_by_parent(ask: Ask) -> None:
    res = ask("secure.lab.test.", DS)
    assert res.kind == Kind.ANSWER
    assert res.authoritative
    assert [(names.to_text(o), t) for o, t, _, _ in res.answer] == [("secure.lab.test.", DS)]
    assert res.answer[0][3] == (
        rd(DS, "12345 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE2A5D8A4D2F4F1F4A1E6B7C3D"),
    )


def test_ds_missing_at_cut_is_parent_nodata(ask: Ask) -> None:
    res = ask("sub.lab.test.", DS)
    assert res.kind == Kind.NODATA
    assert res.authoritative
    assert show(res.authority) == [LAB_SOA_NEG]


def test_ds_at_served_child_apex_answered_by_parent(ask: Ask) -> None:
    # RFC 4035 §3.1.4.1: DS belongs to the parent side of the cut.
    res = ask("kids.lab.test.", DS)
    assert res.kind == Kind.ANSWER
    assert [(names.to_text(o), t) for o, t, _, _ in res.answer] == [("kids.lab.test.", DS)]
    # Everything else at the child apex comes from the child.
    res = ask("kids.lab.test.", SOA)
    assert show(res.answer) == [
        (
            "kids.lab.test.",
            SOA,
            60,
            ["ns.kids.lab.test. hostmaster.kids.lab.test. 5 3600 600 86400 900"],
        )
    ]
    res = ask("kids.lab.test.", NS)
    assert res.kind == Kind.ANSWER and res.authoritative
    assert show(res.answer) == [("kids.lab.test.", NS, 600, ["ns.kids.lab.test."])]


# -- DNAME (RFC 6672) -------------------------------------------------------------------


def test_dname_substitution(ask: Ask) -> None:
    res = ask("host.old.lab.test.", A)
    assert res.kind == Kind.ANSWER
    assert show(res.answer) == [
        ("old.lab.test.", DNAME, 3600, ["new.lab.test."]),
        ("host.old.lab.test.", CNAME, 3600, ["host.new.lab.test."]),
        ("host.new.lab.test.", A, 3600, ["192.0.2.99"]),
    ]
    assert res.answer[1][3] == (names.to_wire(n("host.new.lab.test.")),)
    assert res.deps == {n("old.lab.test."), n("new.lab.test."), n("host.new.lab.test.")}
    assert res.volatile == set()


def test_dname_owner_itself_is_not_redirected(ask: Ask) -> None:
    res = ask("old.lab.test.", A)
    assert res.kind == Kind.NODATA
    res = ask("old.lab.test.", DNAME)
    assert show(res.answer) == [("old.lab.test.", DNAME, 3600, ["new.lab.test."])]


def test_dname_to_missing_name(ask: Ask) -> None:
    res = ask("nope.old.lab.test.", A)
    assert res.kind == Kind.NXDOMAIN
    assert [t for _, t, _, _ in res.answer] == [DNAME, CNAME]


def test_dname_overflow_is_yxdomain(ask: Ask) -> None:
    # RFC 6672 §2.2: a substituted name longer than 255 octets gives YXDOMAIN.
    res = ask("y" * 63 + ".long.lab.test.", A)
    assert res.kind == Kind.YXDOMAIN
    assert [t for _, t, _, _ in res.answer] == [DNAME]


def test_dname_at_zone_apex(ask: Ask) -> None:
    # RFC 6672 §2.3 allows a DNAME at the apex beside NS; it redirects the names below.
    res = ask("www.dn.test.", A)
    assert res.kind == Kind.ANSWER
    assert show(res.answer) == [  # the synthesised target is in another zone: not chased
        ("dn.test.", DNAME, 3600, ["lab.test."]),
        ("www.dn.test.", CNAME, 3600, ["www.lab.test."]),
    ]


# -- ANY (RFC 8482) ---------------------------------------------------------------------


def test_any_over_udp_is_one_rrset(ask: Ask) -> None:
    res = ask("www.lab.test.", ANY, tcp=False)
    assert res.kind == Kind.ANSWER
    assert [t for _, t, _, _ in res.answer] == [A]


def test_any_over_tcp_is_everything(ask: Ask) -> None:
    res = ask("www.lab.test.", ANY, tcp=True)
    assert [t for _, t, _, _ in res.answer] == [A, TXT]
    res = ask("lab.test.", ANY, tcp=True)
    assert [t for _, t, _, _ in res.answer] == [NS, SOA, MX]


def test_any_at_missing_name_is_nxdomain(ask: Ask) -> None:
    assert ask("nothere.lab.test.", ANY, tcp=True).kind == Kind.NXDOMAIN


# -- additional section ------------------------------------------------------------------


def test_additional_for_mx(ask: Ask) -> None:
    res = ask("lab.test.", MX)
    assert show(res.answer) == [("lab.test.", MX, 3600, ["10 mail.lab.test.", "20 mx.other.test."])]
    # only the zone's own data: mx.other.test. is another served zone's (BIND and Knot agree)
    assert show(res.additional) == [("mail.lab.test.", A, 3600, ["192.0.2.25"])]
    assert {n("lab.test."), n("mail.lab.test.")} <= res.deps


def test_additional_for_ns(ask: Ask) -> None:
    res = ask("lab.test.", NS)
    assert show(res.additional) == [
        ("ns1.lab.test.", A, 3600, ["192.0.2.1"]),
        ("ns1.lab.test.", AAAA, 3600, ["2001:db8::1"]),
    ]


def test_additional_for_srv(ask: Ask) -> None:
    res = ask("_sip._udp.lab.test.", SRV)
    assert show(res.answer) == [("_sip._udp.lab.test.", SRV, 3600, ["0 5 5060 sip.lab.test."])]
    assert show(res.additional) == [("sip.lab.test.", A, 3600, ["192.0.2.50"])]
    assert n("sip.lab.test.") in res.deps


def test_no_additional_for_a(ask: Ask) -> None:
    assert ask("mail.lab.test.", A).additional == []


def test_apex_with_dname_answers_for_itself(ask: Ask) -> None:
    res = ask("dn.test.", SOA)
    assert [(names.to_text(o), t) for o, t, _, _ in res.answer] == [("dn.test.", SOA)]
    res = ask("dn.test.", A)
    assert res.kind == Kind.NODATA
