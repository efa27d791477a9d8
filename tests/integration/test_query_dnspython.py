"""Every kind of answer from the real server, checked section by section with dnspython.

Expectations follow the RFCs (1034 §4.3.2, 2308, 4592, 6604, 8482), not the code:
AA on authoritative data, SOA with TTL min(SOA TTL, MINIMUM) on negative answers,
referrals without AA, and so on.  Each test runs over UDP and over TCP.
"""

from __future__ import annotations

import dns.flags
import dns.message
import dns.rcode
import dns.rdata
import dns.rdatatype
import pytest
from serverkit import DELEG_SERVERS, Server, ask, tcp_exchange, udp_exchange

pytestmark = pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])

SOA_LAB = "ns1.lab.example. hostmaster.lab.example. 2026112101 3600 600 1209600 300"
SOA_REV = SOA_LAB  # the reverse zone has the same SOA fields
NEG_LAB = [("lab.example.", "SOA", 300, [SOA_LAB])]  # min(3600, 300)
NEG_REV = [("0.0.10.in-addr.arpa.", "SOA", 300, [SOA_REV])]

Section = list[tuple[str, str, int, list[str]]]


def sect(rrsets: list) -> Section:  # type: ignore[type-arg]
    """A section as (owner, type, TTL, sorted rdata texts), in the order sent."""
    return [
        (
            rrset.name.to_text().lower(),
            dns.rdatatype.to_text(rrset.rdtype),
            rrset.ttl,
            sorted(rd.to_text() for rd in rrset),
        )
        for rrset in rrsets
    ]


def norm(section: Section | None) -> Section:
    """Expected rdata texts in dnspython's presentation, so they compare with ``sect``."""
    out = []
    for owner, rtype, ttl, rdatas in section or []:
        texts = [dns.rdata.from_text("IN", rtype, t).to_text() for t in rdatas]
        out.append((owner, rtype, ttl, sorted(texts)))
    return out


def check(
    r: dns.message.Message,
    rcode: int = dns.rcode.NOERROR,
    aa: bool = True,
    answer: Section | None = None,
    authority: Section | None = None,
    additional: Section | None = None,
) -> None:
    assert r.rcode() == rcode, r
    assert bool(r.flags & dns.flags.AA) == aa, r
    assert not r.flags & dns.flags.TC, r
    assert not r.flags & dns.flags.RA, r  # an authoritative-only server offers no recursion
    assert sect(r.answer) == norm(answer), r
    assert sect(r.authority) == norm(authority), r
    assert sect(r.additional) == norm(additional), r


# -- positive answers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("qname", "qtype", "rdatas"),
    [
        ("hv1.lab.example.", "A", ["10.0.0.11"]),
        ("nas.lab.example.", "AAAA", ["fd00:10::20"]),
        ("lab.example.", "TXT", ['"v=spf1 mx -all"']),
        ("info.lab.example.", "TXT", ['"lab \\"rack 3\\"" "second; string"']),
        ("a.b.lab.example.", "TXT", ['"deep"']),
        ("lab.example.", "CAA", ['0 iodef "mailto:hostmaster@lab.example"', '0 issue "letsencrypt.org"']),
        ("lab.example.", "NAPTR", ['100 10 "S" "SIP+D2U" "" _sip._udp.lab.example.']),
        ("printer1.lab.example.", "HINFO", ['"HP-LaserJet-M507" "Embedded"']),
        ("web.lab.example.", "SSHFP", ["1 2 c4f9e8d7b6a5948372615041322314a5b6c7d8e9f0a1b2c3d4e5f607 18293a4b"]),
        ("_443._tcp.web.lab.example.", "TLSA", ["3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b566 64c5d3d6"]),
        ("dhcp-fixed.lab.example.", "DHCID", ["AAIBY2/AuCccgoJbsaxcQc9TUapptP69lOjxfNuVAA2kjEA="]),
        ("lab.example.", "SOA", [SOA_LAB]),
    ],
)  # fmt: skip
def test_positive_answer_is_authoritative(
    lab_server: Server, tcp: bool, qname: str, qtype: str, rdatas: list[str]
) -> None:
    r = ask(lab_server, qname, qtype, tcp=tcp)
    check(r, answer=[(qname, qtype, 3600, rdatas)])


def test_flags_and_question_echoed(lab_server: Server, tcp: bool) -> None:
    """RFC 1035 §4.1.1: ID, opcode, RD and the question are copied; RFC 4035 §3.1.6: CD too."""
    r = ask(lab_server, "hv2.lab.example.", "A", tcp=tcp)
    assert r.flags & dns.flags.RD and r.flags & dns.flags.QR and not r.flags & dns.flags.CD
    assert r.opcode() == 0
    assert sect(r.question) == [("hv2.lab.example.", "A", 0, [])]
    q = dns.message.make_query("hv2.lab.example.", "A")
    q.flags = (q.flags & ~dns.flags.RD) | dns.flags.CD
    raw = tcp_exchange(lab_server, q.to_wire()) if tcp else udp_exchange(lab_server, q.to_wire())
    assert raw is not None
    r = dns.message.from_wire(raw)
    assert r.id == q.id and not r.flags & dns.flags.RD and r.flags & dns.flags.CD
    check(r, answer=[("hv2.lab.example.", "A", 3600, ["10.0.0.12"])])


# -- negative answers (RFC 2308) ------------------------------------------------------------


@pytest.mark.parametrize(
    "qname",
    ["nope.lab.example.", "deeper.nope.lab.example.", "c.b.lab.example.", "x.hv1.lab.example."],
)
def test_nxdomain_has_soa_with_negative_ttl(lab_server: Server, tcp: bool, qname: str) -> None:
    r = ask(lab_server, qname, "A", tcp=tcp)
    check(r, rcode=dns.rcode.NXDOMAIN, authority=NEG_LAB)


@pytest.mark.parametrize(
    ("qname", "qtype"),
    [
        ("hv1.lab.example.", "AAAA"),
        ("lab.example.", "A"),
        ("b.lab.example.", "A"),  # empty non-terminal: the name exists (RFC 8020)
        ("b.lab.example.", "TXT"),
        ("_tcp.lab.example.", "SRV"),  # another empty non-terminal
        ("dev.lab.example.", "A"),  # parent of the wildcard: empty non-terminal
    ],
)
def test_nodata_has_soa_with_negative_ttl(
    lab_server: Server, tcp: bool, qname: str, qtype: str
) -> None:
    r = ask(lab_server, qname, qtype, tcp=tcp)
    check(r, authority=NEG_LAB)


def test_negative_ttl_is_soa_ttl_when_lower_than_minimum(special_server: Server, tcp: bool) -> None:
    """RFC 2308 §3: TTL of the SOA in authority = min(SOA TTL 30, MINIMUM 300) = 30."""
    soa = [("min.test.", "SOA", 30, ["ns.min.test. hostmaster.min.test. 7 3600 600 86400 300"])]
    check(
        ask(special_server, "none.min.test.", "A", tcp=tcp), rcode=dns.rcode.NXDOMAIN, authority=soa
    )
    check(ask(special_server, "ns.min.test.", "MX", tcp=tcp), authority=soa)


# -- CNAME ----------------------------------------------------------------------------------


def test_cname_chain_is_followed(lab_server: Server, tcp: bool) -> None:
    r = ask(lab_server, "alias1.lab.example.", "A", tcp=tcp)
    check(
        r,
        answer=[
            ("alias1.lab.example.", "CNAME", 3600, ["alias2.lab.example."]),
            ("alias2.lab.example.", "CNAME", 3600, ["web.lab.example."]),
            ("web.lab.example.", "A", 3600, ["10.0.0.40"]),
        ],
    )


def test_cname_query_returns_only_the_cname(lab_server: Server, tcp: bool) -> None:
    r = ask(lab_server, "alias1.lab.example.", "CNAME", tcp=tcp)
    check(r, answer=[("alias1.lab.example.", "CNAME", 3600, ["alias2.lab.example."])])


def test_cname_chain_ending_in_nodata(lab_server: Server, tcp: bool) -> None:
    """RFC 2308 §2.2: the chain, then NODATA for the last name (SOA in authority)."""
    r = ask(lab_server, "alias1.lab.example.", "AAAA", tcp=tcp)
    check(
        r,
        answer=[
            ("alias1.lab.example.", "CNAME", 3600, ["alias2.lab.example."]),
            ("alias2.lab.example.", "CNAME", 3600, ["web.lab.example."]),
        ],
        authority=NEG_LAB,
    )


def test_cname_to_nas_has_both_address_types(lab_server: Server, tcp: bool) -> None:
    r = ask(lab_server, "files.lab.example.", "AAAA", tcp=tcp)
    check(
        r,
        answer=[
            ("files.lab.example.", "CNAME", 3600, ["nas.lab.example."]),
            ("nas.lab.example.", "AAAA", 3600, ["fd00:10::20"]),
        ],
    )


def test_out_of_zone_cname_target_returned_as_is(lab_server: Server, tcp: bool) -> None:
    """RFC 1034 §4.3.2 step 3a: the target is not ours, so the answer stops at the CNAME."""
    r = ask(lab_server, "docs.lab.example.", "A", tcp=tcp)
    check(r, answer=[("docs.lab.example.", "CNAME", 3600, ["docs.example.org."])])


def test_cname_loop_terminates(special_server: Server, tcp: bool) -> None:
    r = ask(special_server, "loop1.special.test.", "A", tcp=tcp)
    check(
        r,
        answer=[
            ("loop1.special.test.", "CNAME", 600, ["loop2.special.test."]),
            ("loop2.special.test.", "CNAME", 600, ["loop1.special.test."]),
        ],
    )
    r = ask(special_server, "self.special.test.", "A", tcp=tcp)
    check(r, answer=[("self.special.test.", "CNAME", 600, ["self.special.test."])])


def test_dangling_cname_is_nxdomain(special_server: Server, tcp: bool) -> None:
    """RFC 6604 §2.1: the RCODE is that of the last name in the chain."""
    r = ask(special_server, "dangling.special.test.", "A", tcp=tcp)
    soa = [
        (
            "special.test.",
            "SOA",
            60,
            ["ns.special.test. hostmaster.special.test. 1 3600 600 86400 60"],
        )
    ]
    check(
        r,
        rcode=dns.rcode.NXDOMAIN,
        answer=[("dangling.special.test.", "CNAME", 600, ["missing.special.test."])],
        authority=soa,
    )


def test_cname_into_another_served_zone_stops_at_the_zone_edge(
    special_server: Server, tcp: bool
) -> None:
    # As BIND and Knot answer: the client asks again for the target (test_vs_refs_answers).
    r = ask(special_server, "tolab.special.test.", "A", tcp=tcp)
    check(r, answer=[("tolab.special.test.", "CNAME", 600, ["www.lab.example."])])


# -- wildcards (RFC 4592) -------------------------------------------------------------------


@pytest.mark.parametrize("qname", ["x.dev.lab.example.", "a.b.x.dev.lab.example."])
def test_wildcard_synthesis(lab_server: Server, tcp: bool, qname: str) -> None:
    r = ask(lab_server, qname, "A", tcp=tcp)
    check(r, answer=[(qname, "A", 3600, ["10.0.0.99"])])


def test_wildcard_not_used_for_existing_name(lab_server: Server, tcp: bool) -> None:
    r = ask(lab_server, "build.dev.lab.example.", "A", tcp=tcp)
    check(r, answer=[("build.dev.lab.example.", "A", 3600, ["10.0.0.98"])])
    # build.dev exists, so its missing types are plain NODATA, not the wildcard's A.
    r = ask(lab_server, "build.dev.lab.example.", "TXT", tcp=tcp)
    check(r, authority=NEG_LAB)


def test_wildcard_not_used_below_existing_name(lab_server: Server, tcp: bool) -> None:
    """RFC 4592 §2.2.1: the closest encloser of y.build.dev is build.dev, which has no ``*``."""
    r = ask(lab_server, "y.build.dev.lab.example.", "A", tcp=tcp)
    check(r, rcode=dns.rcode.NXDOMAIN, authority=NEG_LAB)


def test_wildcard_nodata_for_other_types(lab_server: Server, tcp: bool) -> None:
    r = ask(lab_server, "x.dev.lab.example.", "MX", tcp=tcp)
    check(r, authority=NEG_LAB)


def test_wildcard_owner_itself(lab_server: Server, tcp: bool) -> None:
    r = ask(lab_server, "*.dev.lab.example.", "A", tcp=tcp)
    check(r, answer=[("*.dev.lab.example.", "A", 3600, ["10.0.0.99"])])


def test_wildcard_cname(special_server: Server, tcp: bool) -> None:
    """RFC 4592 §4.3: a synthesised CNAME, owned by the query name, then the target."""
    r = ask(special_server, "foo.w.special.test.", "A", tcp=tcp)
    check(
        r,
        answer=[
            ("foo.w.special.test.", "CNAME", 600, ["target.special.test."]),
            ("target.special.test.", "A", 600, ["192.0.2.10"]),
        ],
    )
    r = ask(special_server, "a.b.w.special.test.", "CNAME", tcp=tcp)
    check(r, answer=[("a.b.w.special.test.", "CNAME", 600, ["target.special.test."])])


# -- delegation -----------------------------------------------------------------------------

REFERRAL_NS = [("sub.lab.example.", "NS", 3600, ["ns.sub.lab.example."])]
REFERRAL_GLUE = [("ns.sub.lab.example.", "A", 3600, ["10.0.1.53"])]


@pytest.mark.parametrize(
    ("qname", "qtype"),
    [
        ("x.sub.lab.example.", "A"),
        ("deep.x.sub.lab.example.", "MX"),
        ("sub.lab.example.", "A"),
        ("sub.lab.example.", "NS"),
        ("ns.sub.lab.example.", "A"),  # glue is not authoritative data (RFC 1034 §4.2.1)
        ("x.sub.lab.example.", "DS"),  # only DS at the cut itself belongs to the parent
    ],
)
def test_referral(lab_server: Server, tcp: bool, qname: str, qtype: str) -> None:
    """RFC 1034 §4.3.2 step 3b: no AA, NS of the cut in authority, glue in additional."""
    r = ask(lab_server, qname, qtype, tcp=tcp)
    check(r, aa=False, authority=REFERRAL_NS, additional=REFERRAL_GLUE)


def test_ds_at_cut_answered_by_parent(lab_server: Server, tcp: bool) -> None:
    """RFC 4035 §3.1.4.1: DS lives on the parent side of the cut, answered with AA."""
    r = ask(lab_server, "sub.lab.example.", "DS", tcp=tcp)
    ds = "12345 13 2 2bb183af5f22588179a53b0a98631fad1a29211892b5b23f9e0ae6c3 fa6b5a3e"
    check(r, answer=[("sub.lab.example.", "DS", 3600, [ds])])


# -- additional-section processing ----------------------------------------------------------


def test_mx_target_addresses_in_additional(lab_server: Server, tcp: bool) -> None:
    r = ask(lab_server, "lab.example.", "MX", tcp=tcp)
    check(
        r,
        answer=[("lab.example.", "MX", 3600, ["10 mail.lab.example."])],
        additional=[("mail.lab.example.", "A", 3600, ["10.0.0.25"])],
    )


def test_srv_target_addresses_in_additional(lab_server: Server, tcp: bool) -> None:
    r = ask(lab_server, "_ldap._tcp.lab.example.", "SRV", tcp=tcp)
    check(
        r,
        answer=[("_ldap._tcp.lab.example.", "SRV", 3600, ["0 100 389 nas.lab.example."])],
        additional=[
            ("nas.lab.example.", "A", 3600, ["10.0.0.20"]),
            ("nas.lab.example.", "AAAA", 3600, ["fd00:10::20"]),
        ],
    )


def test_ns_target_addresses_in_additional(lab_server: Server, tcp: bool) -> None:
    r = ask(lab_server, "lab.example.", "NS", tcp=tcp)
    assert sect(r.answer) == [
        ("lab.example.", "NS", 3600, ["ns1.lab.example.", "ns2.lab.example."])
    ]
    assert r.flags & dns.flags.AA and r.rcode() == dns.rcode.NOERROR
    assert sorted(sect(r.additional)) == [
        ("ns1.lab.example.", "A", 3600, ["10.0.0.2"]),
        ("ns1.lab.example.", "AAAA", 3600, ["fd00:10::2"]),
        ("ns2.lab.example.", "A", 3600, ["10.0.0.3"]),
    ]
    assert r.authority == []


def test_ptr_gets_no_additional(lab_server: Server, tcp: bool) -> None:
    r = ask(lab_server, "40.0.0.10.in-addr.arpa.", "PTR", tcp=tcp)
    check(r, answer=[("40.0.0.10.in-addr.arpa.", "PTR", 3600, ["web.lab.example."])])


# -- outside the served zones ---------------------------------------------------------------


@pytest.mark.parametrize("qname", ["example.com.", "example.", ".", "lab.example.org."])
def test_refused_outside_served_zones(lab_server: Server, tcp: bool, qname: str) -> None:
    r = ask(lab_server, qname, "A", tcp=tcp)
    check(r, rcode=dns.rcode.REFUSED, aa=False)
    assert sect(r.question) == [(qname, "A", 0, [])]


# -- ANY (RFC 8482) -------------------------------------------------------------------------


def test_any(lab_server: Server, tcp: bool) -> None:
    """Over UDP one RRset of the name's (RFC 8482 §4.1); over TCP all of them."""
    r = ask(lab_server, "lab.example.", "ANY", tcp=tcp)
    assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA
    assert not r.flags & dns.flags.TC
    apex = norm([
        ("lab.example.", "NS", 3600, ["ns1.lab.example.", "ns2.lab.example."]),
        ("lab.example.", "SOA", 3600, [SOA_LAB]),
        ("lab.example.", "MX", 3600, ["10 mail.lab.example."]),
        ("lab.example.", "TXT", 3600, ['"v=spf1 mx -all"']),
        ("lab.example.", "NAPTR", 3600, ['100 10 "S" "SIP+D2U" "" _sip._udp.lab.example.']),
        ("lab.example.", "CAA", 3600, ['0 iodef "mailto:hostmaster@lab.example"', '0 issue "letsencrypt.org"']),
    ])  # fmt: skip
    got = sect(r.answer)
    if tcp:
        assert sorted(got) == sorted(apex)
    else:
        assert len(got) == 1 and got[0] in apex, got
    assert r.authority == []


def test_any_at_cname_returns_the_cname_unfollowed(lab_server: Server, tcp: bool) -> None:
    r = ask(lab_server, "www.lab.example.", "ANY", tcp=tcp)
    check(r, answer=[("www.lab.example.", "CNAME", 3600, ["web.lab.example."])])


def test_any_at_missing_name(lab_server: Server, tcp: bool) -> None:
    check(
        ask(lab_server, "nope.lab.example.", "ANY", tcp=tcp),
        rcode=dns.rcode.NXDOMAIN,
        authority=NEG_LAB,
    )


# -- reverse zone ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last", "target"),
    [
        (2, "ns1.lab.example."),
        (40, "web.lab.example."),
        (98, "build.dev.lab.example."),
        (100, "dhcp-100.lab.example."),
        (123, "dhcp-123.lab.example."),
        (150, "dhcp-150.lab.example."),
    ],
)
def test_reverse_ptr(lab_server: Server, tcp: bool, last: int, target: str) -> None:
    qname = f"{last}.0.0.10.in-addr.arpa."
    check(ask(lab_server, qname, "PTR", tcp=tcp), answer=[(qname, "PTR", 3600, [target])])


@pytest.mark.parametrize("last", [99, 151, 255])
def test_reverse_outside_pool_is_nxdomain(lab_server: Server, tcp: bool, last: int) -> None:
    r = ask(lab_server, f"{last}.0.0.10.in-addr.arpa.", "PTR", tcp=tcp)
    check(r, rcode=dns.rcode.NXDOMAIN, authority=NEG_REV)


def test_reverse_apex(lab_server: Server, tcp: bool) -> None:
    r = ask(lab_server, "0.0.10.in-addr.arpa.", "NS", tcp=tcp)
    assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA
    assert sect(r.answer) == [
        ("0.0.10.in-addr.arpa.", "NS", 3600, ["ns1.lab.example.", "ns2.lab.example."])
    ]
    # The targets live in lab.example., which this server also serves: their addresses
    # may be added (RFC 1035 §3.3.11 "additional section processing").
    for owner, _t, _ttl, _rd in sect(r.additional):
        assert owner in ("ns1.lab.example.", "ns2.lab.example.")


# -- 0x20 -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("qname", "qtype", "has_answer"),
    [
        ("AlIaS1.LaB.eXaMpLe.", "A", True),
        ("X.dEv.LAB.example.", "A", True),  # wildcard synthesis: the owner is the query name
        ("sUb.LaB.eXaMpLe.", "DS", True),
        ("NoPe.lAb.ExAmPlE.", "A", False),
        ("HoSt.SuB.lab.example.", "A", False),
    ],
)
def test_0x20_case_echoed_in_raw_bytes(
    lab_server: Server, tcp: bool, qname: str, qtype: str, has_answer: bool
) -> None:
    """The question comes back byte for byte, and the answer's owner has the same letters."""
    q = dns.message.make_query(qname, qtype)
    q.flags &= ~dns.flags.RD
    wire = q.to_wire()
    question = wire[12:]  # no EDNS: the question is the rest of the message
    raw = tcp_exchange(lab_server, wire) if tcp else udp_exchange(lab_server, wire)
    assert raw is not None
    assert raw[12 : 12 + len(question)] == question
    r = dns.message.from_wire(raw)  # dnspython keeps the letter case of names it reads
    assert r.question[0].name.to_text() == qname
    if has_answer:
        assert r.answer[0].name.to_text() == qname
        owner = raw[12 + len(question) :]
        assert owner[:2] == b"\xc0\x0c" or owner.startswith(question[:-4])


# -- referral glue and size (RFC 9471) ------------------------------------------------------


def test_referral_glue_that_does_not_fit_sets_tc(special_server: Server, tcp: bool) -> None:
    """RFC 9471 §3: in-domain glue must all be there, or TC is set (over UDP without EDNS)."""
    q = dns.message.make_query("host.deleg.special.test.", "A")
    raw = (
        tcp_exchange(special_server, q.to_wire())
        if tcp
        else udp_exchange(special_server, q.to_wire())
    )
    assert raw is not None
    r = dns.message.from_wire(raw)
    assert r.rcode() == dns.rcode.NOERROR and not r.flags & dns.flags.AA
    if tcp:
        assert not r.flags & dns.flags.TC
    else:
        assert len(raw) <= 512 and r.flags & dns.flags.TC
    if not r.flags & dns.flags.TC:
        assert len(r.additional) == 2 * DELEG_SERVERS  # one A and one AAAA RRset per name


def test_referral_glue_fits_with_edns(special_server: Server, tcp: bool) -> None:
    r = ask(special_server, "host.deleg.special.test.", "A", tcp=tcp, use_edns=0, payload=1232)
    assert r.rcode() == dns.rcode.NOERROR and not r.flags & (dns.flags.AA | dns.flags.TC)
    assert r.answer == []
    assert sect(r.authority) == [
        (
            "deleg.special.test.",
            "NS",
            600,
            sorted(f"ns{i}.deleg.special.test." for i in range(1, DELEG_SERVERS + 1)),
        )
    ]
    owners = sorted({rrset.name.to_text() for rrset in r.additional})
    assert owners == sorted(f"ns{i}.deleg.special.test." for i in range(1, DELEG_SERVERS + 1))
    assert len(r.additional) == 2 * DELEG_SERVERS


def test_z_and_ad_bits_not_echoed(lab_server: Server, tcp: bool) -> None:
    """RFC 1035 §4.1.1: Z is zero in responses; RFC 4035 §3.2.3: AD only for validated data."""
    q = dns.message.make_query("hv1.lab.example.", "A")
    wire = bytearray(q.to_wire())
    wire[3] |= 0x40 | 0x20  # Z and AD
    raw = tcp_exchange(lab_server, bytes(wire)) if tcp else udp_exchange(lab_server, bytes(wire))
    assert raw is not None
    assert raw[3] & 0x70 == 0
    check(dns.message.from_wire(raw), answer=[("hv1.lab.example.", "A", 3600, ["10.0.0.11"])])


def test_cname_into_a_delegation(special_server: Server, tcp: bool) -> None:
    """RFC 1034 §4.3.2: the CNAME (ours, so AA), then a referral for its target."""
    r = ask(special_server, "todeleg.special.test.", "A", tcp=tcp, use_edns=0, payload=1232)
    assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA
    assert not r.flags & dns.flags.TC
    assert sect(r.answer) == [("todeleg.special.test.", "CNAME", 600, ["host.deleg.special.test."])]
    assert [(o, t) for o, t, _, _ in sect(r.authority)] == [("deleg.special.test.", "NS")]
    assert len(r.additional) == 2 * DELEG_SERVERS


def test_ds_at_apex_without_parent_is_nodata(lab_server: Server, tcp: bool) -> None:
    """RFC 4035 §3.1.4.1: authoritative for the child only, the server answers NODATA."""
    check(ask(lab_server, "lab.example.", "DS", tcp=tcp), authority=NEG_LAB)
