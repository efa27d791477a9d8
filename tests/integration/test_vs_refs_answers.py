"""Differential conformance on the shape of answers: CNAME and DNAME chains within and
across zones, delegations and glue, wildcards, negative answers, the question's case and
additional data, with BIND, Knot and leasedns serving the same zones.

Three zones are served by each: ``a.test.``, its child ``sub.a.test.`` (delegated from
a.test. and served here too) and ``b.test.``.  Each case is one question, sent over UDP with
EDNS (payload 4096) or over TCP, and its reply cut into aspects as in test_vs_refs_edges.py
(RCODE, header flags, question, the three sections as sets of RRsets with TTLs, OPT), plus
the owner names as sent, case kept.  Every aspect a case does not leave out must be the same
in all three; a case whose references disagree fails, so an aspect is left out only with a
comment saying why.  Last, where BIND and Knot agree and leasedns does not, strict xfail
tests.

Not compared: a wildcard NS RRset (BIND will not load ``*.x NS``), octet 0 in an owner name
(leasedns will not load it; asked for, it is an xfail test), and A/AAAA at owners that are
not host names (BIND's check-names refuses them; ``a\\.b`` owns a TXT instead)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import dns.message
import pytest
from test_vs_refs_edges import (
    ASPECTS,
    Trio,
    aspects,
    differences,
    started_trio,
    tcp_stream,
    udp_ask,
)

pytestmark = pytest.mark.interop

# -- zones --------------------------------------------------------------------------------

A = "a.test."
B = "b.test."
SUB = "sub.a.test."

LONG = "l" * 63
DNAME_TARGET = f"{LONG}.{LONG}.{'t' * 60}.a.test."  # 197 octets: 58 more make 255
CHAIN = 12

A_ZONE = f"""$ORIGIN a.test.
$TTL 300
@             IN SOA   ns1 hostmaster 1 3600 600 86400 60
              IN NS    ns1
              IN NS    ns.b.test.
              IN MX    10 www
ns1           IN A     192.0.2.1
              IN AAAA  2001:db8::1
www           IN A     192.0.2.80
              IN AAAA  2001:db8::80
              IN TXT   "www"
MiXeD         IN A     192.0.2.61
tob           IN CNAME www.b.test.
tobnx         IN CNAME nx.b.test.
toout         IN CNAME www.outside.example.
todeleg       IN CNAME host.deleg
tosub         IN CNAME www.sub
tosubnx       IN CNAME nx.sub
towild        IN CNAME foo.wild
toback        IN CNAME back.b.test.
xloop         IN CNAME xloop.b.test.
todn          IN CNAME x.dn
tomixed       IN CNAME mixed
*.wild        IN A     192.0.2.99
*.wild        IN TXT   "wild"
explicit.wild IN AAAA  2001:db8::98
a.sub2.wild   IN A     192.0.2.97
*.cw          IN CNAME www
*.cwb         IN CNAME www.b.test.
x.*.went      IN TXT   "below a wildcard"
*.e.ent       IN A     192.0.2.95
a.b.ent2      IN A     192.0.2.3
dn            IN DNAME b.test.
dn            IN A     192.0.2.70
dnin          IN DNAME tgt.a.test.
x.tgt         IN A     192.0.2.77
dnout         IN DNAME outside.example.
dnlong        IN DNAME {DNAME_TARGET}
dnsub         IN DNAME sub.a.test.
*.wdn         IN A     192.0.2.78
x.wdn         IN DNAME b.test.
deleg         IN NS    ns.deleg
              IN NS    ns.b.test.
              IN NS    ns.outside.example.
              IN NS    ns.sib
ns.deleg      IN A     192.0.2.54
              IN AAAA  2001:db8::54
sib           IN NS    ns.sib
ns.sib        IN A     192.0.2.55
noaddr        IN NS    ns.noaddr
noaddr        IN NS    nowhere.a.test.
sub           IN NS    ns1.sub
ns1.sub       IN A     192.0.2.10
mx            IN MX    10 www
              IN MX    20 www.b.test.
              IN MX    30 www.sub
              IN MX    40 mail.outside.example.
              IN MX    60 tob
mxglue        IN MX    10 ns.deleg
srv           IN SRV   0 0 80 www
              IN SRV   1 0 80 www.b.test.
              IN SRV   2 0 80 www.sub
srvglue       IN SRV   0 0 80 ns.deleg
a\\.b         IN TXT   "dot"
\\255x         IN TXT   "octet 255"
c1            IN CNAME www
""" + "".join(f"c{i} IN CNAME c{i - 1}\n" for i in range(2, CHAIN + 1))

B_ZONE = """$ORIGIN b.test.
$TTL 30
@             IN SOA   ns hostmaster 1 3600 600 86400 600
              IN NS    ns
ns            IN A     192.0.2.2
              IN AAAA  2001:db8::2
www           IN A     192.0.2.20
              IN AAAA  2001:db8::20
x             IN A     192.0.2.21
back          IN CNAME www.a.test.
xloop         IN CNAME xloop.a.test.
tosub         IN CNAME www.sub.a.test.
mx            IN MX    10 www.a.test.
              IN MX    20 www
"""

SUB_ZONE = """$ORIGIN sub.a.test.
$TTL 300
@             IN SOA   ns1 hostmaster 1 3600 600 86400 60
              IN NS    ns1
ns1           IN A     192.0.2.10
www           IN A     192.0.2.11
back          IN CNAME www.a.test.
"""

ANSWER_ZONES = {A: A_ZONE, B: B_ZONE, SUB: SUB_ZONE}


@pytest.fixture(scope="module")
def trio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trio]:
    yield from started_trio(tmp_path_factory.mktemp("vsanswers"), ANSWER_ZONES)


# -- questions ----------------------------------------------------------------------------

CASE_ASPECTS = (*ASPECTS, "owners")


def owners(raw: bytes | None) -> object:
    """The owner names of every RR as sent, case kept (``aspects`` lower-cases them)."""
    if raw is None:
        return "no reply"
    m = dns.message.from_wire(raw, keyring=False)
    return tuple(
        sorted(
            (section, rrset.name.to_text())
            for section in ("answer", "authority", "additional")
            for rrset in getattr(m, section)
        )
    )


@dataclass(frozen=True)
class Ask:
    qname: str
    rdtype: str
    tcp: bool = False
    skip: frozenset[str] = frozenset()

    @property
    def title(self) -> str:
        return f"{self.qname} {self.rdtype}{' tcp' if self.tcp else ''}"


def ask(qname: str, rdtype: str = "A", tcp: bool = False, skip: str = "") -> Ask:
    return Ask(qname, rdtype, tcp, frozenset(skip.split()))


def wire(a: Ask) -> bytes:
    q = dns.message.make_query(a.qname, a.rdtype, flags=0, use_edns=0, payload=4096)
    return q.to_wire()


def reply(ep: Any, a: Ask) -> dict[str, object]:
    raw = tcp_stream(ep, wire(a))[0] if a.tcp else udp_ask(ep, wire(a))
    return {**aspects(raw), "owners": owners(raw)}


def a_(rel: str) -> str:
    return A if rel == "@" else f"{rel}.{A}"


# What each case leaves out, by reason; the comment on each constant says why.

# leasedns follows a CNAME (or a DNAME's synthesised CNAME) into another zone it serves and
# answers from there (the target's data, or the RCODE and SOA of that zone); BIND and Knot
# stop at the zone's edge.  test_answer_stops_at_the_zone_edge below, an xfail test.
CROSSES = "rcode answer authority owners"
# The same, where the target lies below a cut of a.test. that is also a zone served here
# (sub.a.test.): Knot then adds a.test.'s referral to sub (NS and glue), BIND does not.
CROSSES_CUT = "rcode answer authority additional owners"
# leasedns adds addresses from another zone it serves (ns.b.test., www.b.test.,
# www.sub.a.test.) to the additional section; BIND and Knot only the zone's own data (and
# the zone's glue).  test_additional_data_stays_in_the_zone below, an xfail test.
OTHER_ZONE_ADDITIONAL = "additional owners"
# Chains of more than 5 CNAMEs: Knot stops after the fifth without the target's data, BIND
# follows up to 11 (leasedns too) and answers SERVFAIL with EDE 15 beyond.  RFC 1034
# §3.6.2 asks for no limit in particular.
LONG_CHAIN = "answer owners"
LONGER_CHAIN = "rcode answer options owners"
# QTYPE ANY at a name with several RRsets: Knot answers with one RRset (RFC 8482 §4.1),
# BIND with all of them.
MANY_RRSETS = "answer additional owners"
# A query whose case differs from the zone's: BIND writes owner names as stored (or lower
# case for a synthesised name), Knot as asked; names in RDATA compressed against the
# question take the question's case in Knot.  RFC 4343 §4 lets a server do either.
QCASE = "owners"
QCASE_RDATA = "answer authority owners"

CASES = [
    # CNAME: inside the zone, out of every zone served, into a delegation, to a wildcard.
    ask(a_("toout")), ask(a_("todeleg"), skip=OTHER_ZONE_ADDITIONAL), ask(a_("towild")),
    ask(a_("tomixed"), skip=QCASE), ask(a_("foo.cw")), ask(a_("foo.cw"), "CNAME"),
    ask(a_("foo.cw"), "TXT"),
    *(ask(a_(f"c{i}")) for i in range(1, 6)),
    *(ask(a_(f"c{i}"), skip=LONG_CHAIN) for i in range(6, CHAIN)),
    ask(a_(f"c{CHAIN}"), skip=LONGER_CHAIN),
    # CNAME into another zone served here.
    *(ask(a_(n), skip=CROSSES) for n in ["tob", "tobnx", "toback", "xloop", "foo.cwb"]),
    ask(a_("tob"), "MX", skip=CROSSES), ask(a_("tob"), "CNAME"), ask(a_("tob"), "ANY", tcp=True),
    ask("tosub.b.test.", skip=CROSSES), ask("back.sub.a.test.", skip=CROSSES),
    ask("back.b.test.", "AAAA", skip=CROSSES),
    *(ask(a_(n), skip=CROSSES_CUT) for n in ["tosub", "tosubnx"]),
    # wildcards (RFC 4592): data of the type or not, blocked by an existing name (§2.2.2),
    # asked for literally (§2.1.1), at an empty non-terminal, below an empty non-terminal.
    ask(a_("foo.wild")), ask(a_("foo.wild"), "TXT"), ask(a_("foo.wild"), "MX"),
    ask(a_("foo.wild"), "ANY", tcp=True, skip=MANY_RRSETS), ask(a_("x.y.wild")),
    ask(a_("*.wild")), ask(a_("*.wild"), "MX"), ask(a_("explicit.wild")),
    ask(a_("explicit.wild"), "AAAA"), ask(a_("x.explicit.wild")), ask(a_("sub2.wild")),
    ask(a_("x.sub2.wild")), ask(a_("*.went")), ask(a_("*.went"), "TXT"),
    ask(a_("x.*.went"), "TXT"), ask(a_("x.*.went")), ask(a_("foo.e.ent")), ask(a_("e.ent")),
    ask(a_("ent")), ask(a_("x.ent")), ask(a_("foo.wdn")), ask(a_("x.wdn")),
    # An empty non-terminal wildcard: test_empty_non_terminal_wildcard_matches below.
    ask(a_("foo.went"), skip="rcode"), ask(a_("x.foo.went"), skip="rcode"),
    # DNAME (RFC 6672): the DNAME itself, other data beside it, names below it.
    ask(a_("dn"), "DNAME"), ask(a_("dn")), ask(a_("dn"), "ANY", tcp=True, skip=MANY_RRSETS),
    ask(a_("x.tgt.dnin")), ask(a_("x.dnin")), ask(a_("x.x.dnin")), ask(a_("www.dnout")),
    ask(a_("tgt")),
    *(ask(a_(n), skip=CROSSES) for n in ["x.dn", "www.dn", "nx.dn", "todn", "y.x.wdn"]),
    ask(a_("a.b.dn"), "AAAA", skip=CROSSES), ask(a_("x.dn"), "DNAME", skip=CROSSES),
    ask(a_("www.dnsub"), skip=CROSSES_CUT),
    # A substitution longer than 255 octets: BIND (and leasedns) YXDOMAIN as RFC 6672 §2.2
    # says, Knot NXDOMAIN with the SOA.
    *(ask(f"{label}.dnlong.a.test.", skip="rcode authority owners")
      for label in [f"{LONG}.{LONG}", "o" * 58]),
    # ... and one of exactly 255 octets: NXDOMAIN from a.test. in all three.
    ask(f"{'f' * 57}.dnlong.a.test."), ask("x.dnlong.a.test."),
    # delegations: the cut's own name for each type, names below it, glue (RFC 9471:
    # in-domain ns.deleg, sibling ns.sib; ns.b.test. is neither).
    *(ask(a_("deleg"), t, skip=OTHER_ZONE_ADDITIONAL) for t in ["NS", "A", "DS", "ANY", "SOA"]),
    *(ask(a_(n), t, skip=OTHER_ZONE_ADDITIONAL)
      for n, t in [("host.deleg", "A"), ("ns.deleg", "A"), ("ns.deleg", "AAAA"),
                   ("a.b.deleg", "MX")]),
    ask(a_("x.sib")), ask(a_("ns.sib")), ask(a_("sib"), "NS"), ask(a_("x.noaddr")),
    ask(a_("noaddr"), "NS"),
    # A cut whose child zone is served here too: the child answers, DS from the parent.
    *(ask(SUB, t) for t in ["NS", "SOA", "DS", "A"]), ask(SUB, "ANY", skip=MANY_RRSETS),
    ask(a_("www.sub")), ask(a_("nx.sub")), ask(a_("ns1.sub")), ask(a_("x.ns1.sub")),
    # negative answers (RFC 2308 §3: SOA TTL min(TTL, MINIMUM): 60 in a.test., 30 in b.test.)
    ask(a_("nx")), ask(a_("nx"), "SOA"), ask("nx.b.test."), ask("www.b.test.", "MX"),
    ask(B, "TXT"), ask(a_("ent2")), ask(a_("b.ent2")), ask(a_("x.b.ent2")),
    ask(a_("ent2"), "SOA"), ask(a_("www"), "MX"), ask(A, "AAAA"), ask("x.nx.b.test.", "SOA"),
    # the question's case (0x20) and odd octets in labels
    ask("WwW.A.TeSt.", skip=QCASE), ask("mixed.a.test.", skip=QCASE),
    ask("MIXED.A.TEST.", skip=QCASE), ask("FoO.WiLd.A.TeSt.", skip=QCASE),
    ask("NX.a.TEST.", skip=QCASE_RDATA), ask("TOB.A.TEST.", skip=f"{QCASE_RDATA} {CROSSES}"),
    ask("X.Dn.A.TeSt.", skip=f"{QCASE_RDATA} {CROSSES}"),
    ask("nX.B.tEsT.", "MX", skip=QCASE_RDATA),
    ask(r"a\.b.a.test.", "TXT"), ask(r"a\.B.A.test.", "TXT", skip=QCASE),
    ask(r"a\.b.a.test."), ask(r"a.b.a.test.", "TXT"),
    # The referral's NS RDATA in the question's case: test_rdata_keeps_the_zone_case below.
    ask("HoSt.DeLeG.a.test.", skip=f"{QCASE_RDATA} {OTHER_ZONE_ADDITIONAL}"),
    # additional data (RFC 1034 §4.3.2 step 6) for MX, SRV, NS targets
    ask(a_("mx"), "MX", skip=OTHER_ZONE_ADDITIONAL),
    ask(a_("srv"), "SRV", skip=OTHER_ZONE_ADDITIONAL),
    ask(A, "NS", skip=OTHER_ZONE_ADDITIONAL), ask(A, "MX"), ask(B, "NS"),
    ask("mx.b.test.", "MX", skip=OTHER_ZONE_ADDITIONAL),
    ask(A, "ANY", tcp=True, skip=MANY_RRSETS),
    # An MX or SRV target that is glue (below a cut): Knot adds its address, BIND does not.
    ask(a_("mxglue"), "MX", skip="additional owners"),
    ask(a_("srvglue"), "SRV", skip="additional owners"),
]  # fmt: skip


@pytest.mark.parametrize("a", CASES, ids=[a.title for a in CASES])
def test_answer_matches_bind_and_knot(trio: Trio, a: Ask) -> None:
    got = {label: reply(ep, a) for label, ep in trio.each()}
    problems = differences(got, a.skip, CASE_ASPECTS)
    assert not problems, "\n".join(problems)


# -- where BIND and Knot agree and leasedns does not ---------------------------------------
#
# The references' answer is checked with ``pytest.fail`` (a change in BIND or Knot shows as
# such), leasedns's with ``assert`` (a fix shows as an unexpected pass, and the mark goes).

Want = dict[str, object]


def shape(ep: Any, a: Ask, want: Want) -> Want:
    """The aspects ``want`` names, sections as sets of RRset texts."""
    got = reply(ep, a)
    return {k: texts(got[k]) for k in want}


def texts(value: object) -> object:
    if isinstance(value, frozenset):
        return {str(v) for v in value}
    return value


def check(trio: Trio, a: Ask, want: Want) -> None:
    for label, ep in trio.each()[:2]:
        got = shape(ep, a, want)
        if got != want:
            pytest.fail(f"the reference changed: {label} now answers {got}, not {want}")
    assert shape(trio.leasedns, a, want) == want


def cname(owner: str, target: str, ttl: int = 300) -> str:
    return f"{owner} {ttl} CNAME {target}"


SOA_A = "a.test. 60 SOA ns1.a.test. hostmaster.a.test. SERIAL 3600 600 86400 60"
DN = "dn.a.test. 300 DNAME b.test."

ZONE_EDGE: dict[str, tuple[Ask, Want]] = {
    title: (a, {"rcode": "NOERROR", "answer": answer, "authority": set()})
    for title, a, answer in [
        ("CNAME to a name", ask(a_("tob")), {cname("tob.a.test.", "www.b.test.")}),
        ("CNAME to a name, other type", ask(a_("tob"), "MX"),
         {cname("tob.a.test.", "www.b.test.")}),
        ("CNAME to no name", ask(a_("tobnx")), {cname("tobnx.a.test.", "nx.b.test.")}),
        ("CNAME back", ask(a_("toback")), {cname("toback.a.test.", "back.b.test.")}),
        ("CNAME loop across zones", ask(a_("xloop")), {cname("xloop.a.test.", "xloop.b.test.")}),
        ("wildcard CNAME", ask(a_("foo.cwb")), {cname("foo.cwb.a.test.", "www.b.test.")}),
        ("CNAME into the parent", ask("back.sub.a.test."),
         {cname("back.sub.a.test.", "www.a.test.")}),
        ("CNAME into the child", ask("tosub.b.test."),
         {cname("tosub.b.test.", "www.sub.a.test.", 30)}),
        ("DNAME", ask(a_("x.dn")), {DN, cname("x.dn.a.test.", "x.b.test.")}),
        ("DNAME to no name", ask(a_("nx.dn")), {DN, cname("nx.dn.a.test.", "nx.b.test.")}),
        ("DNAME, QTYPE DNAME", ask(a_("x.dn"), "DNAME"),
         {DN, cname("x.dn.a.test.", "x.b.test.")}),
        ("CNAME to a DNAME", ask(a_("todn")),
         {DN, cname("todn.a.test.", "x.dn.a.test."), cname("x.dn.a.test.", "x.b.test.")}),
        ("DNAME below a wildcard", ask(a_("y.x.wdn")),
         {"x.wdn.a.test. 300 DNAME b.test.", cname("y.x.wdn.a.test.", "y.b.test.")}),
    ]
}  # fmt: skip


@pytest.mark.parametrize("title", list(ZONE_EDGE))
def test_answer_stops_at_the_zone_edge(trio: Trio, title: str) -> None:
    """A CNAME (or the CNAME a DNAME synthesises) whose target is in another zone served
    here: BIND and Knot answer with the chain as far as the zone's edge, NOERROR, AA and
    nothing in the authority section; the resolver asks again for the target.  leasedns went
    on into the other zone (the target's data, or its NXDOMAIN and SOA, or its SOA for
    NODATA) until this test; now it stops at the edge too.

    Latitude: RFC 1034 §4.3.2 step 3.a says "change QNAME to the canonical name in the
    CNAME RR, and go back to step 1", and step 2 searches "the available zones", which reads
    as leasedns does.  Both references keep an answer to one zone (the AA bit then covers
    all of it, RFC 1035 §4.1.1, and the RCODE the zone's own name, RFC 6604 §3)."""
    a, want = ZONE_EDGE[title]
    check(trio, a, want)


NS_B = {"ns.b.test. 30 A 192.0.2.2", "ns.b.test. 30 AAAA 2001:db8::2"}
WWW_A = {"www.a.test. 300 A 192.0.2.80", "www.a.test. 300 AAAA 2001:db8::80"}
GLUE = {"ns.deleg.a.test. 300 A 192.0.2.54", "ns.deleg.a.test. 300 AAAA 2001:db8::54",
        "ns.sib.a.test. 300 A 192.0.2.55"}  # fmt: skip

OWN_ADDITIONAL: dict[str, tuple[Ask, Want]] = {
    "apex NS": (ask(A, "NS"), {"additional": {"ns1.a.test. 300 A 192.0.2.1",
                                               "ns1.a.test. 300 AAAA 2001:db8::1"}}),
    "MX": (ask(a_("mx"), "MX"), {"additional": WWW_A}),
    "SRV": (ask(a_("srv"), "SRV"), {"additional": WWW_A}),
    "MX in b.test.": (ask("mx.b.test.", "MX"),
                      {"additional": {"www.b.test. 30 A 192.0.2.20",
                                      "www.b.test. 30 AAAA 2001:db8::20"}}),
    "referral": (ask(a_("host.deleg")), {"additional": GLUE}),
    "referral for the cut's NS": (ask(a_("deleg"), "NS"), {"additional": GLUE}),
    "referral after a CNAME": (ask(a_("todeleg")), {"additional": GLUE}),
}  # fmt: skip


@pytest.mark.parametrize("title", list(OWN_ADDITIONAL))
def test_additional_data_stays_in_the_zone(trio: Trio, title: str) -> None:
    """The addresses of NS, MX and SRV targets: BIND and Knot add those the zone holds
    (authoritative data, and for a referral the glue: in-domain ``ns.deleg`` and sibling
    ``ns.sib``, RFC 9471 §2), never those of another zone they serve (``ns.b.test.``,
    ``www.b.test.``, ``www.sub.a.test.``); leasedns added those too, until this test.

    Latitude: RFC 1034 §4.3.2 step 6 only asks for RRs that "may be useful", and step 3.b
    for "whatever addresses are available"; RFC 9471 §3 makes only glue a requirement.
    A resolver gives such data the lowest trust (RFC 2181 §5.4.1) and asks again."""
    a, want = OWN_ADDITIONAL[title]
    check(trio, a, want)


@pytest.mark.parametrize("qname", ["foo.went.a.test.", "x.foo.went.a.test."])
def test_empty_non_terminal_wildcard_matches(trio: Trio, qname: str) -> None:
    """``*.went.a.test.`` owns nothing but has a descendant (``x.*.went``): an empty
    non-terminal, which exists (RFC 4592 §2.2.2).  It is the source of synthesis for any
    name below ``went`` (§3.3.1), so those names exist and the answer is NODATA: NOERROR,
    no answer, the SOA.  BIND and Knot say so, and leasedns now too (it said NXDOMAIN)."""
    check(trio, ask(qname), {"rcode": "NOERROR", "answer": set(), "authority": {SOA_A}})


BINARY_LABELS: dict[str, tuple[Ask, Want]] = {
    "octet 0, not in the zone": (ask(r"\000.a.test."),
                                 {"rcode": "NXDOMAIN", "flags": "QR AA", "authority": {SOA_A}}),
    "octet 255, in the zone": (ask(r"\255x.a.test.", "TXT"),
                               {"rcode": "NOERROR", "flags": "QR AA",
                                "answer": {r'\255x.a.test. 300 TXT "octet 255"'}}),
    "octet 255, other type": (ask(r"\255x.a.test."),
                              {"rcode": "NOERROR", "flags": "QR AA", "answer": set(),
                               "authority": {SOA_A}}),
}  # fmt: skip


@pytest.mark.parametrize("title", list(BINARY_LABELS))
def test_binary_octets_in_the_question(trio: Trio, title: str) -> None:
    """RFC 2181 §11: "any binary string whatever can be used as the label of any resource
    record"; RFC 1035 §3.1 allows any octet in a label.  BIND and Knot answer a question
    with octet 0 or 255 in a label as any other (and serve ``\\255x`` from the zone file,
    which leasedns loads too); leasedns answered FORMERR, without AA, to both until this
    test.  (leasedns still refuses to load a zone with octet 0 in an owner name: its store
    keys separate labels with that octet, so such a name is answered as one that does not
    exist.)"""
    a, want = BINARY_LABELS[title]
    check(trio, a, want)


def test_rdata_keeps_the_zone_case(trio: Trio) -> None:
    """``HoSt.DeLeG.a.test. A``: the referral's NS RDATA ``ns.deleg.a.test.`` comes back as
    ``ns.DeLeG.a.test.`` from leasedns until this test (compressed against the question's
    name, case and all); BIND and Knot keep the zone's case, and so does leasedns now.  RFC 4343 §4.1: "the original case SHOULD be
    preserved" for data; harmless to a resolver (names compare without case), but not as
    stored.  (Knot does the same to an SOA in the authority section: ``NX.a.TEST.``.)"""
    ns = "deleg.a.test. 300 NS ns.b.test. | ns.deleg.a.test. | ns.outside.example. | ns.sib.a.test."
    check(trio, ask("HoSt.DeLeG.a.test."), {"authority": {ns}})
