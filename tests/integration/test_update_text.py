"""RFC 2136 DNS UPDATE checked against its own text, one requirement per test.

A real ``leasedns serve`` answers UPDATEs signed with an admin TSIG key, over UDP and TCP.
Every test quotes the sentence of RFC 2136 (or RFC 1982 / RFC 8945 where the UPDATE text
points there) that it checks.  The corners already compared against BIND and Knot in
test_vs_bind.py / test_vs_knot.py (CNAME coexistence, apex SOA/NS survival, duplicate adds,
wildcard prerequisites, value-dependent set equality, ...) are not repeated here; what is
here is mostly what a differential run cannot show: the order of the checks of §3, that a
rejected message changes nothing, the exact serial after an SOA replacement, RFC 1982
comparisons near the wrap, the shape of the reply (§3.8) and the TSIG failures of an UPDATE.

A delete with a non-zero TTL is not sent: leasedns gives it the deferred-delete meaning
(see test_vs_bind.py), where RFC 2136 §3.4.1.2 says FORMERR.

Messages are built byte by byte (``build``) so that malformed ones can be sent; each RR is
``(owner, type, class, ttl, rdata)``.  Every test uses its own owner names, and the tests
that move an SOA have a zone of their own, so the tests do not depend on their order."""

from __future__ import annotations

import struct
import time
from collections.abc import Iterator

import dns.message
import dns.name
import dns.opcode
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TSIG
import dns.tsig
import dns.tsigkeyring
import dns.update
import dns.wire
import pytest
from serverkit import (
    Server,
    serve_zones,
    tcp_connect,
    tcp_exchange,
    tcp_read,
    udp_exchange,
)
from tsigkit import last_rr, reply_mac_is_valid, reply_tsig

KEY_NAME = "text-key."
SECRET = "VGV4dC1jb25mb3JtYW5jZS1rZXktZm9yLXJmYzIxMzYtdGVzdHM="
KEYRING = dns.tsigkeyring.from_text({KEY_NAME: ("hmac-sha256", SECRET)})
TSIG_KEY = dns.tsig.Key(KEY_NAME, SECRET, "hmac-sha256")

IN, CH, HS, NONE, ANY = 1, 3, 4, 254, 255
T_A, T_NS, T_SOA, T_TXT, T_ANY = 1, 2, 6, 16, 255
T_IXFR, T_AXFR, T_MAILB, T_MAILA = 251, 252, 253, 254
NOERROR, FORMERR, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 3, 4, 5
YXDOMAIN, YXRRSET, NXRRSET, NOTAUTH, NOTZONE = 6, 7, 8, 9, 10
BADSIG, BADTIME, BADTRUNC = 16, 18, 22
OPCODE_UPDATE = 5
QR = 0x8000

UPD = "upd.test."  # the general zone
SUB = "sub.upd.test."  # a child zone served by the same server
SOAZ = "soa.test."  # SOA replacement
RMW = "rmw.test."  # §5.7 read-modify-write on the SOA
WRAP = "wrap.test."  # serial 2**32 - 1: the next serial wraps
NEAR = "near.test."  # serial just below the wrap, replaced by one above it
APEXNS = "apexns.test."  # its apex NS RRset is replaced

SOA_SERIAL = 100
NEAR_SERIAL = 4294967290


def zone_text(origin: str, serial: int, extra: str = "") -> str:
    return f"""$ORIGIN {origin}
$TTL 300
@      IN SOA ns1 hostmaster {serial} 3600 600 86400 60
       IN NS  ns1
       IN NS  ns2
ns1    IN A   192.0.2.53
ns2    IN A   192.0.2.54
{extra}"""


ZONES = {
    UPD: zone_text(
        UPD,
        1,
        '*.w IN A 192.0.2.99\nhere IN A 192.0.2.1\nhere IN TXT "t"\n'
        "deleg IN NS ns.outside.example.\nhidden.deleg IN A 192.0.2.40\n"
        "cut IN NS ns.outside.example.\n",
    ),
    SUB: zone_text(SUB, 1, "kept IN A 192.0.2.7\n"),
    SOAZ: zone_text(SOAZ, SOA_SERIAL),
    RMW: zone_text(RMW, 7),
    WRAP: zone_text(WRAP, 2**32 - 1),
    NEAR: zone_text(NEAR, NEAR_SERIAL),
    APEXNS: zone_text(APEXNS, 1),
}


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = serve_zones(tmp_path_factory.mktemp("update-text"), ZONES, (KEY_NAME, SECRET))
    yield s
    s.stop()


# -- building, signing and sending ----------------------------------------------------------

RR = tuple[str, int, int, int, bytes]  # owner, type, class, TTL, rdata


def rdata(rdtype: int, text: str) -> bytes:
    return dns.rdata.from_text(IN, rdtype, text).to_wire()


def a(addr: str) -> bytes:
    return rdata(T_A, addr)


def add(owner: str, addr: str, ttl: int = 300) -> RR:
    """§2.5.1: an A RR to add."""
    return (owner, T_A, IN, ttl, a(addr))


def build(
    zone: str,
    prereqs: list[RR] = (),  # type: ignore[assignment]
    updates: list[RR] = (),  # type: ignore[assignment]
    additional: list[RR] = (),  # type: ignore[assignment]
    *,
    zones: list[tuple[str, int, int]] | None = None,
    msg_id: int = 0x2136,
    flags: int = OPCODE_UPDATE << 11,
) -> bytes:
    """An UPDATE, uncompressed; ``zones`` replaces the zone section's one (zone, SOA, IN)."""
    zsec = zones if zones is not None else [(zone, T_SOA, IN)]
    wire = struct.pack(
        "!HHHHHH", msg_id, flags, len(zsec), len(prereqs), len(updates), len(additional)
    )
    for name, ztype, zclass in zsec:
        wire += dns.name.from_text(name).to_wire() + struct.pack("!HH", ztype, zclass)
    for name, rdtype, rdclass, ttl, rd in [*prereqs, *updates, *additional]:
        wire += dns.name.from_text(name).to_wire()
        wire += struct.pack("!HHIH", rdtype, rdclass, ttl, len(rd)) + rd
    return wire


def sign(
    wire: bytes, *, time_signed: int | None = None, fudge: int = 300, mac_len: int | None = None
) -> tuple[bytes, bytes]:
    """``wire`` with a TSIG RR appended (RFC 8945 §4.3.1); the MAC cut to ``mac_len``
    octets.  Returns the signed message and the MAC sent."""
    now = int(time.time()) if time_signed is None else time_signed
    (msg_id,) = struct.unpack_from("!H", wire)
    blank = dns.rdtypes.ANY.TSIG.TSIG(
        ANY, dns.rdatatype.TSIG, TSIG_KEY.algorithm, now, fudge, b"", msg_id, 0, b""
    )
    tsig, _ = dns.tsig.sign(wire, TSIG_KEY, blank, now)
    if mac_len is not None:
        tsig = tsig.replace(mac=tsig.mac[:mac_len])
    rd = tsig.to_wire()
    rr = dns.name.from_text(KEY_NAME).to_wire() + struct.pack("!HHIH", 250, ANY, 0, len(rd)) + rd
    (arcount,) = struct.unpack_from("!H", wire, 10)
    return wire[:10] + struct.pack("!H", arcount + 1) + wire[12:] + rr, tsig.mac


def exchange(srv: Server, wire: bytes, tcp: bool = False) -> bytes:
    raw = tcp_exchange(srv, wire) if tcp else udp_exchange(srv, wire, timeout=5)
    assert raw is not None, "no reply"
    return raw


def send(srv: Server, wire: bytes, tcp: bool = False) -> int:
    """Sign ``wire``, send it, and return the reply's RCODE; the reply must carry the
    request's ID and be signed with the key over the request MAC (RFC 8945 §5.3).  A FORMERR
    may come unsigned: BIND and Knot reject some malformed UPDATEs before they look at the
    TSIG (see test_vs_bind.py), and that is RFC 8945's business, not RFC 2136's."""
    signed, mac = sign(wire)
    raw = exchange(srv, signed, tcp)
    assert raw[:2] == wire[:2], "the reply's ID is not the request's"
    rcode = raw[3] & 0xF
    if rcode != FORMERR or last_rr(raw)[2] is not None:
        assert reply_tsig(raw).error == 0 and reply_mac_is_valid(raw, mac, TSIG_KEY), "not signed"
    return rcode


def rcode_name(code: int) -> str:
    return dns.rcode.to_text(dns.rcode.Rcode(code))


def expect(srv: Server, wire: bytes, want: int, tcp: bool = False) -> None:
    got = send(srv, wire, tcp)
    assert got == want, f"{rcode_name(got)}, want {rcode_name(want)}"


Snapshot = frozenset[tuple[str, int, str, str]]


def snapshot(srv: Server, zone: str) -> Snapshot:
    """Every RR of ``zone`` (SOA included) by a signed AXFR: (owner, TTL, type, rdata)."""
    out = set()
    for msg in dns.query.xfr(
        srv.host, zone, port=srv.port, keyring=KEYRING, keyname=KEY_NAME, relativize=False,
        timeout=5,
    ):  # fmt: skip
        for rrset in msg.answer:
            for rd in rrset:
                t = dns.rdatatype.to_text(rrset.rdtype)
                out.add((rrset.name.to_text().lower(), rrset.ttl, t, rd.to_text().lower()))
    return frozenset(out)


def without_soa(snap: Snapshot) -> Snapshot:
    return frozenset(rr for rr in snap if rr[2] != "SOA")


def query(srv: Server, name: str, rdtype: int | str) -> dns.message.Message:
    q = dns.message.make_query(name, rdtype, flags=0)
    return dns.query.tcp(q, srv.host, port=srv.port, timeout=5)


def served(srv: Server, name: str, rdtype: int | str) -> set[tuple[int, str]]:
    """(TTL, rdata) of exactly ``name``/``rdtype`` as answered now."""
    r = query(srv, name, rdtype)
    want = dns.rdatatype.RdataType.make(rdtype)
    return {
        (rrset.ttl, rd.to_text())
        for rrset in r.answer
        if rrset.name == dns.name.from_text(name) and rrset.rdtype == want
        for rd in rrset
    }


def soa(srv: Server, zone: str) -> dns.rdata.Rdata:
    (rrset,) = query(srv, zone, "SOA").answer
    return rrset[0]


def serial(srv: Server, zone: str) -> int:
    return int(soa(srv, zone).serial)


def serial_gt(s1: int, s2: int) -> bool:
    """RFC 1982 §3.2: s1 is greater than s2."""
    return s1 != s2 and (s1 - s2) % 2**32 < 2**31


# == §3.1: the zone section ====================================================================


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_two_zone_entries_are_formerr(srv: Server, tcp: bool) -> None:
    """§3.1.1: "The Zone Section is checked to see that there is exactly one RR therein and
    that the RR's ZTYPE is SOA, else signal FORMERR" (ZOCOUNT 2; ZOCOUNT 0 is in diffkit)."""
    owner = f"zocount2-{tcp}.{UPD}"
    wire = build(UPD, [], [add(owner, "192.0.2.1")], zones=[(UPD, T_SOA, IN)] * 2)
    expect(srv, wire, FORMERR, tcp)
    assert not served(srv, owner, "A")


@pytest.mark.parametrize("ztype", [T_A, T_NS, T_ANY, T_AXFR], ids=["A", "NS", "ANY", "AXFR"])
def test_zone_type_other_than_soa_is_formerr(srv: Server, ztype: int) -> None:
    """§3.1.1: "... and that the RR's ZTYPE is SOA, else signal FORMERR"; §2.3: "the ZTYPE
    must be SOA"."""
    owner = f"ztype{ztype}.{UPD}"
    expect(srv, build(UPD, [], [add(owner, "192.0.2.1")], zones=[(UPD, ztype, IN)]), FORMERR)
    assert not served(srv, owner, "A")


def test_zone_type_is_checked_before_the_zone_is_looked_up(srv: Server) -> None:
    """§3.1.2: "if (zcount != 1 || ztype != SOA) return (FORMERR)" comes before the NOTAUTH
    of an unknown zone: ZTYPE A for a zone not served is FORMERR, not NOTAUTH."""
    wire = build("nowhere.test.", [], [add("x.nowhere.test.", "192.0.2.1")],
                 zones=[("nowhere.test.", T_A, IN)])  # fmt: skip
    expect(srv, wire, FORMERR)


@pytest.mark.parametrize("zone", ["test.", "."], ids=["parent", "root"])
def test_zone_above_a_served_zone_is_notauth(srv: Server, zone: str) -> None:
    """§3.1.1: "the ZNAME and ZCLASS are checked to see if the zone so named is one of this
    server's authority zones, else signal NOTAUTH".  The parent of a served zone (and the
    root) is not one, though names in it are served."""
    expect(srv, build(zone, [], [add(f"above.{UPD}", "192.0.2.1")]), NOTAUTH)
    assert not served(srv, f"above.{UPD}", "A")


def test_zone_name_is_compared_without_case(srv: Server) -> None:
    """§1.1.2: names compare by RFC 1035 §2.3.3 (case-insensitively); ZNAME "UpD.TeSt."
    names the zone upd.test., and so do owners in mixed case."""
    expect(srv, build("UpD.TeSt.", [], [add("MiXeD.uPd.TEST.", "192.0.2.5")]), NOERROR)
    assert served(srv, f"mixed.{UPD}", "A") == {(300, "192.0.2.5")}


# == §3.2: prerequisites ========================================================================

# Each is malformed in one way only and would hold if the flaw were overlooked: the
# value-dependent one names the zone's own RRset, the NONE ones names that do not exist.
MALFORMED_PREREQS = {
    "nxset-ttl": (f"absent.{UPD}", T_A, NONE, 300, b""),  # §2.4.3 "TTL must be ... zero"
    "nx-ttl": (f"absent.{UPD}", T_ANY, NONE, 300, b""),  # §2.4.5
    "yx-ttl": (f"here.{UPD}", T_ANY, ANY, 300, b""),  # §2.4.4
    "yxval-ttl": (f"here.{UPD}", T_A, IN, 300, bytes([192, 0, 2, 1])),  # §2.4.2, §3.2.3
    "yx-rdata": (f"here.{UPD}", T_ANY, ANY, 0, bytes([192, 0, 2, 1])),  # §3.2.1
    "nxset-rdata": (f"absent.{UPD}", T_A, NONE, 0, bytes([192, 0, 2, 1])),  # §3.2.2
    "nx-rdata": (f"absent.{UPD}", T_ANY, NONE, 0, bytes([192, 0, 2, 1])),  # §3.2.2
    "class-ch": (f"here.{UPD}", T_A, CH, 0, bytes([192, 0, 2, 1])),  # §3.2.3 last sentence
    "class-hs": (f"here.{UPD}", T_A, HS, 0, bytes([192, 0, 2, 1])),
    "class-none-ttl-and-rdata": (f"absent.{UPD}", T_TXT, NONE, 60, b"\x01x"),
}


@pytest.mark.parametrize("case", list(MALFORMED_PREREQS))
def test_malformed_prerequisite_is_formerr_and_changes_nothing(srv: Server, case: str) -> None:
    """§3.2.1/§3.2.2: for CLASS ANY and NONE "test to see that TTL and RDLENGTH are both zero
    (0), else signal FORMERR"; §3.2.3: for CLASS ZCLASS "test to see that the TTL is zero
    (0), else signal FORMERR", and "If any RR in this section has a CLASS other than ZCLASS
    or NONE or ANY, signal FORMERR".  The update that follows is not applied."""
    owner = f"pre-{case}.{UPD}"
    before = snapshot(srv, UPD)
    expect(srv, build(UPD, [MALFORMED_PREREQS[case]], [add(owner, "192.0.2.1")]), FORMERR)
    assert snapshot(srv, UPD) == before


@pytest.mark.parametrize(
    "zone, owner",
    [(UPD, "test."), (UPD, "."), (UPD, "xupd.test."), (UPD, "upd.test.example."),
     (SUB, f"x.{UPD}")],
    ids=["parent", "root", "label-suffix", "zone-as-prefix", "parent-zone"],
)  # fmt: skip
@pytest.mark.parametrize("form", ["yx", "nx", "yxval"])
def test_prerequisite_outside_the_zone_is_notzone(
    srv: Server, zone: str, owner: str, form: str
) -> None:
    """§3.2: "if any RR's NAME is not within the zone specified in the Zone Section, signal
    NOTZONE" (§1.2: a name is in a zone "if it is owned by that zone's domain name").  A
    name that merely ends in the zone's letters ("xupd.test.") is not below it, and a name
    of upd.test. is outside sub.upd.test. though this server serves both."""
    pr = {
        "yx": (owner, T_ANY, ANY, 0, b""),
        "nx": (owner, T_ANY, NONE, 0, b""),
        "yxval": (owner, T_A, IN, 0, a("192.0.2.1")),
    }[form]
    before = snapshot(srv, zone)
    expect(srv, build(zone, [pr], [add(f"notzone-{form}.{zone}", "192.0.2.1")]), NOTZONE)
    assert snapshot(srv, zone) == before


def test_prerequisite_forms_pass_and_fail(srv: Server) -> None:
    """§3.2.1, §3.2.2 and the table of §3.2.4 for the name "here" (an A and a TXT) and an
    absent name, each prerequisite alone: NXDOMAIN, NXRRSET, YXDOMAIN, YXRRSET as named."""
    here, gone = f"here.{UPD}", f"nobody.{UPD}"
    cases = [
        ((here, T_ANY, ANY, 0, b""), NOERROR),
        ((gone, T_ANY, ANY, 0, b""), NXDOMAIN),
        ((here, T_TXT, ANY, 0, b""), NOERROR),
        ((here, T_NS, ANY, 0, b""), NXRRSET),
        ((gone, T_ANY, NONE, 0, b""), NOERROR),
        ((here, T_ANY, NONE, 0, b""), YXDOMAIN),
        ((here, T_NS, NONE, 0, b""), NOERROR),
        ((here, T_TXT, NONE, 0, b""), YXRRSET),
    ]
    got = [(pr, rcode_name(send(srv, build(UPD, [pr], [])))) for pr, _ in cases]
    assert got == [(pr, rcode_name(want)) for pr, want in cases]


def test_value_dependent_prerequisite_is_checked_per_rrset(srv: Server) -> None:
    """§3.2.3: "build an RRset for each unique <NAME,TYPE> and compare each resulting RRset
    for set equality [...] If any Prerequisite RRset is not entirely and exactly matched by a
    zone RRset, signal NXRRSET".  Two RRsets at one name, interleaved: both must match."""
    here = f"here.{UPD}"
    txt_ok, txt_bad = (here, T_TXT, IN, 0, rdata(T_TXT, '"t"')), (here, T_TXT, IN, 0, b"\x01u")
    a_ok = (here, T_A, IN, 0, a("192.0.2.1"))
    expect(srv, build(UPD, [txt_ok, a_ok]), NOERROR)
    expect(srv, build(UPD, [txt_bad, a_ok]), NXRRSET)
    expect(srv, build(UPD, [a_ok, txt_bad]), NXRRSET)
    # the same RRset named twice over, in two pieces, is still one RRset
    more = (here, T_A, IN, 0, a("192.0.2.2"))
    expect(srv, build(UPD, [a_ok, txt_ok, more]), NXRRSET)


def test_value_dependent_prerequisite_ignores_ttl_and_owner_case(srv: Server) -> None:
    """§2.4.2: "TTL must be specified as zero (0) and is ignored when comparing RRsets"
    (the zone's RR has TTL 600); §1.1.1 leaves the TTL out of RR equality and §1.1.2
    compares owner names without case."""
    owner = f"ttlcase.{UPD}"
    expect(srv, build(UPD, [], [add(owner, "192.0.2.8", ttl=600)]), NOERROR)
    expect(srv, build(UPD, [("TtLcAsE.UpD.tEsT.", T_A, IN, 0, a("192.0.2.8"))]), NOERROR)
    expect(srv, build(UPD, [("TtLcAsE.UpD.tEsT.", T_A, ANY, 0, b"")]), NOERROR)


def test_prerequisites_are_taken_in_order(srv: Server) -> None:
    """§3.2.5: the prerequisites are taken one by one and the first that fails decides
    ("for rr in prerequisites ... return"), value-dependent RRsets last; a malformed RR
    after a failing one is not reached, a malformed RR before it is.  (The pseudocode
    settles the order, which the prose of §3.2.1-§3.2.3 leaves open; BIND 9.18 answers
    all of these as here.)"""
    missing = (f"nobody.{UPD}", T_A, ANY, 0, b"")  # NXRRSET
    with_ttl = (f"nobody.{UPD}", T_A, NONE, 300, b"")  # FORMERR
    in_use = (f"here.{UPD}", T_ANY, NONE, 0, b"")  # YXDOMAIN
    outside = ("x.other.test.", T_ANY, ANY, 0, b"")  # NOTZONE
    wrong_value = (f"here.{UPD}", T_A, IN, 0, a("192.0.2.99"))  # NXRRSET, at the end
    ttl_value = (f"here.{UPD}", T_A, IN, 300, a("192.0.2.1"))  # FORMERR, in the loop
    with_rdata = (f"nobody.{UPD}", T_A, NONE, 0, a("192.0.2.1"))  # FORMERR
    cases = [
        ([missing, with_ttl], NXRRSET),
        ([with_ttl, missing], FORMERR),
        ([in_use, outside], YXDOMAIN),
        ([outside, in_use], NOTZONE),
        ([wrong_value, in_use], YXDOMAIN),
        ([wrong_value, with_rdata], FORMERR),
        ([wrong_value, ttl_value], FORMERR),
    ]
    got = [rcode_name(send(srv, build(UPD, prs, []))) for prs, _ in cases]
    assert got == [rcode_name(want) for _, want in cases]


def test_prerequisite_with_rdata_after_a_failing_one_is_not_reached(srv: Server) -> None:
    """§3.2.5 as above, for a class NONE prerequisite carrying RDATA (§3.2.2: FORMERR) that
    follows one failing with NXRRSET: the loop returns NXRRSET before it gets there.  (BIND
    9.18 answers FORMERR: its message parser rejects class NONE/ANY RRs with RDATA in the
    prerequisite section before any prerequisite is evaluated.)"""
    missing = (f"nobody.{UPD}", T_A, ANY, 0, b"")
    with_rdata = (f"nobody.{UPD}", T_A, NONE, 0, a("192.0.2.1"))
    expect(srv, build(UPD, [missing, with_rdata], []), NXRRSET)
    expect(srv, build(UPD, [with_rdata, missing], []), FORMERR)


# == §3.2 before §3.4: prerequisites before the update section ==================================


@pytest.mark.parametrize(
    "bad_update",
    [(f"meta.{UPD}", T_MAILB, IN, 300, b""), ("x.other.test.", T_A, IN, 300, a("192.0.2.1")),
     (f"cls.{UPD}", T_A, CH, 300, a("192.0.2.1"))],
    ids=["formerr", "notzone", "bad-class"],
)  # fmt: skip
def test_a_failing_prerequisite_is_reported_before_the_update_prescan(
    srv: Server, bad_update: RR
) -> None:
    """§3 orders the work: §3.2 prerequisites ("Next, the Prerequisite Section is checked"),
    then §3.3 permissions, then §3.4.1 the prescan ("Next, the Update Section is processed").
    A failing prerequisite gives its own RCODE even when the update section would be FORMERR
    or NOTZONE.  (BIND 9.18 answers FORMERR / NOTZONE here: it prescans the update section,
    with its update-policy check, before it evaluates prerequisites.  Knot follows §3.)"""
    expect(srv, build(UPD, [(f"nobody.{UPD}", T_ANY, ANY, 0, b"")], [bad_update]), NXDOMAIN)


# == §3.4.1: the prescan ========================================================================

MALFORMED_UPDATES = {
    # §3.4.1.2: "For RRs whose CLASS is not ANY, check the TYPE and if it is ANY, AXFR,
    # MAILA, MAILB, or any other QUERY metatype [...] signal FORMERR"
    "add-IXFR": (T_IXFR, IN, 300, b""),
    "add-MAILB": (T_MAILB, IN, 300, b""),
    "delete-rr-ANY": (T_ANY, NONE, 0, b""),
    "delete-rr-AXFR": (T_AXFR, NONE, 0, b""),
    "delete-rr-MAILA": (T_MAILA, NONE, 0, b""),
    "delete-rr-MAILB": (T_MAILB, NONE, 0, b""),
    "delete-rr-IXFR": (T_IXFR, NONE, 0, b""),
    # "For any RR whose CLASS is ANY, check the RDLENGTH to make sure that it is zero (0)
    # [...] and that the TYPE is not AXFR, MAILA, MAILB, or any other QUERY metatype
    # besides ANY"
    "delete-name-with-rdata": (T_ANY, ANY, 0, bytes([192, 0, 2, 1])),
    "delete-rrset-AXFR": (T_AXFR, ANY, 0, b""),
    "delete-rrset-MAILA": (T_MAILA, ANY, 0, b""),
    "delete-rrset-MAILB": (T_MAILB, ANY, 0, b""),
    "delete-rrset-IXFR": (T_IXFR, ANY, 0, b""),
    # §3.4.1: "each RR's CLASS is checked to see if it is ANY, NONE, or the same as the Zone
    # Class, else signal a FORMERR"
    "class-CH": (T_A, CH, 300, bytes([192, 0, 2, 1])),
    "class-HS": (T_A, HS, 300, bytes([192, 0, 2, 1])),
}


@pytest.mark.parametrize("case", list(MALFORMED_UPDATES))
def test_malformed_update_rr_is_formerr_and_nothing_is_applied(srv: Server, case: str) -> None:
    """§3.4.1.2 (and §3.4.1 for the class); the prescan runs over the whole section before
    anything is changed (§3.4.1 before §3.4.2), so the good add before the bad RR is not
    applied either, and the zone (its serial too) stays as it was.  The zone section, the
    prerequisite and the TSIG are all good."""
    good, bad = f"good-{case}.{UPD}", f"bad-{case}.{UPD}"
    rdtype, rdclass, ttl, rd = MALFORMED_UPDATES[case]
    before = snapshot(srv, UPD)
    wire = build(UPD, [(f"here.{UPD}", T_ANY, ANY, 0, b"")],
                 [add(good, "192.0.2.1"), (bad, rdtype, rdclass, ttl, rd)])  # fmt: skip
    expect(srv, wire, FORMERR)
    assert snapshot(srv, UPD) == before


@pytest.mark.parametrize(
    "owner", ["test.", "xupd.test.", f"x.{UPD}"], ids=["parent", "label-suffix", "parent-zone"]
)
def test_update_rr_outside_the_zone_is_notzone_and_nothing_is_applied(
    srv: Server, owner: str
) -> None:
    """§3.4.1: "each RR's NAME must be in the zone specified by the Zone Section, else signal
    NOTZONE".  The zone is upd.test. (sub.upd.test. for a name of its parent); the add
    before the outside RR is not applied."""
    zone = SUB if owner == f"x.{UPD}" else UPD
    good = f"good-notzone.{zone}"
    before = snapshot(srv, zone)
    expect(srv, build(zone, [], [add(good, "192.0.2.1"), add(owner, "192.0.2.2")]), NOTZONE)
    assert snapshot(srv, zone) == before


def test_update_to_a_parent_never_touches_a_served_child_zone(srv: Server) -> None:
    """§2.3: the zone section denotes "the zone of the records being updated".  An UPDATE
    for upd.test. naming a name at or below the cut to sub.upd.test. (also served here)
    must not change the child zone.  Whether the parent answers NOERROR (the name is below
    ZNAME, §1.2, and §7.18 keeps occluded names in the parent) or NOTZONE (the pseudocode's
    "zone_of(rr.name) != ZNAME") the text leaves open; both are accepted."""
    before = snapshot(srv, SUB)
    got = send(srv, build(UPD, [], [add(f"kept.{SUB}", "192.0.2.70")]))
    assert got in (NOERROR, NOTZONE), rcode_name(got)
    assert snapshot(srv, SUB) == before
    assert served(srv, f"kept.{SUB}", "A") == {(300, "192.0.2.7")}


def test_additional_data_is_not_added_to_the_zone(srv: Server) -> None:
    """§2.6 / §7.3: the Additional Data Section carries e.g. out-of-zone glue that "the
    server can use or ignore"; it is not part of the update: an in-zone A there is not
    added, and the update itself is applied."""
    owner = f"withglue.{UPD}"
    glue = [("ns.outside.example.", T_A, IN, 300, a("198.51.100.1")),
            (f"additional-only.{UPD}", T_A, IN, 300, a("192.0.2.77"))]  # fmt: skip
    wire = build(UPD, [], [(owner, T_NS, IN, 300, rdata(T_NS, "ns.outside.example."))], glue)
    expect(srv, wire, NOERROR)
    assert served(srv, f"additional-only.{UPD}", "A") == set()
    assert query(srv, f"additional-only.{UPD}", "A").rcode() == NXDOMAIN
    assert ("withglue.upd.test.", 300, "NS", "ns.outside.example.") in snapshot(srv, UPD)


# == §3.4.2: applying the update ================================================================


def test_update_rrs_are_applied_in_order(srv: Server) -> None:
    """§3.4.2: "these RRs are processed in order": add then delete leaves nothing, delete
    then add leaves the add, and an RR deleted then added back within one message is there."""
    o1, o2, o3 = (f"order{i}.{UPD}" for i in (1, 2, 3))
    expect(srv, build(UPD, [], [add(o1, "192.0.2.1"), (o1, T_A, ANY, 0, b"")]), NOERROR)
    assert query(srv, o1, "A").rcode() == NXDOMAIN
    expect(srv, build(UPD, [], [add(o2, "192.0.2.1")]), NOERROR)
    expect(srv, build(UPD, [], [(o2, T_ANY, ANY, 0, b""), add(o2, "192.0.2.2")]), NOERROR)
    assert served(srv, o2, "A") == {(300, "192.0.2.2")}
    expect(srv, build(UPD, [], [add(o3, "192.0.2.3"), (o3, T_A, NONE, 0, a("192.0.2.3")),
                                add(o3, "192.0.2.3", ttl=900)]), NOERROR)  # fmt: skip
    assert served(srv, o3, "A") == {(900, "192.0.2.3")}


def test_ttl_only_change_replaces_the_rr_and_moves_the_serial(srv: Server) -> None:
    """§3.4.2.2: "In case of duplicate RDATAs [...] the Zone RR is replaced by Update RR"
    (§1.1.1: equality leaves the TTL out), so the RR takes the new TTL; the zone changed,
    so §3.6: "If the zone appears to change, the SOA must appear to change as well"."""
    owner = f"ttlonly.{UPD}"
    expect(srv, build(UPD, [], [add(owner, "192.0.2.1", ttl=300)]), NOERROR)
    before = serial(srv, UPD)
    expect(srv, build(UPD, [], [add(owner, "192.0.2.1", ttl=1200)]), NOERROR)
    assert served(srv, owner, "A") == {(1200, "192.0.2.1")}
    assert serial_gt(serial(srv, UPD), before)


def test_a_change_moves_the_serial_forward(srv: Server) -> None:
    """§3.6: "If the zone's SOA's SERIAL is not changed as a result of an update operation,
    then the server shall increment it automatically before the SOA or any changed name or
    RR or RRset is included in any response" - read right after the NOERROR."""
    before = serial(srv, UPD)
    expect(srv, build(UPD, [], [add(f"moves.{UPD}", "192.0.2.1")]), NOERROR, tcp=True)
    assert serial_gt(serial(srv, UPD), before)


def test_an_update_that_changes_nothing_leaves_the_zone_as_it_was(srv: Server) -> None:
    """§2.5.1 "Any duplicate RRs will be silently ignored", §2.5.2-§2.5.4 "silently ignored"
    deletes of what is not there.  The data stays the same; the serial may move (§3.6 lets
    the server "autoincrement the SOA SERIAL if [...] (1) Each update operation"), but never
    backwards."""
    owner = f"noop.{UPD}"
    expect(srv, build(UPD, [], [add(owner, "192.0.2.1")]), NOERROR)
    before = snapshot(srv, UPD)
    noop = [add(owner, "192.0.2.1"), (f"absent.{UPD}", T_A, ANY, 0, b""),
            (f"absent.{UPD}", T_ANY, ANY, 0, b""), (owner, T_A, NONE, 0, a("192.0.2.9")),
            (owner, T_TXT, ANY, 0, b"")]  # fmt: skip
    expect(srv, build(UPD, [], noop), NOERROR)
    after = snapshot(srv, UPD)
    assert without_soa(after) == without_soa(before)
    old, new = (next(int(r[3].split()[2]) for r in s if r[2] == "SOA") for s in (before, after))
    assert new == old or serial_gt(new, old)


def test_wildcard_owner_is_only_matched_literally(srv: Server) -> None:
    """§1.1.3: "a wildcard ("*") in an update only matches a wildcard ("*") in the zone, and
    vice versa": deleting x.w.upd.test. leaves *.w.upd.test.; deleting *.w removes it."""
    wild = f"*.w.{UPD}"
    expect(srv, build(UPD, [], [(f"x.w.{UPD}", T_ANY, ANY, 0, b""),
                                (f"x.w.{UPD}", T_A, NONE, 0, a("192.0.2.99"))]), NOERROR)  # fmt: skip
    assert ("*.w.upd.test.", 300, "A", "192.0.2.99") in snapshot(srv, UPD)
    expect(srv, build(UPD, [], [(wild, T_A, ANY, 0, b"")]), NOERROR)
    assert not [rr for rr in snapshot(srv, UPD) if rr[0] == "*.w.upd.test."]


def test_deleting_the_soa_rr_is_ignored(srv: Server) -> None:
    """§3.4.2.4: a class NONE delete is ignored when "the NAME is the same as ZNAME and [...]
    the TYPE is SOA" - even with the SOA's exact RDATA; §7.6: "deletion of SOA RRs is also
    unsupported".  (Deleting the SOA RRset, class ANY, is in diffkit.)"""
    current = soa(srv, UPD)
    before = snapshot(srv, UPD)
    expect(srv, build(UPD, [], [(UPD, T_SOA, NONE, 0, current.to_wire())]), NOERROR)
    assert snapshot(srv, UPD) == before
    assert query(srv, UPD, "SOA").answer


def test_occluded_names_stay_part_of_the_zone(srv: Server) -> None:
    """§1.2 sends to §7.18: "Previously existing names which are occluded by a new zone cut
    are still considered part of the parent zone".  A name below the delegation deleg.upd.test.
    is in the zone for prerequisites and updates (not NOTZONE), and the data stays in the
    zone (AXFR) though queries are referred."""
    hidden, new = f"hidden.deleg.{UPD}", f"new.deleg.{UPD}"
    expect(srv, build(UPD, [(hidden, T_ANY, ANY, 0, b"")], []), NOERROR)
    expect(srv, build(UPD, [(hidden, T_A, IN, 0, a("192.0.2.40"))], []), NOERROR)
    expect(srv, build(UPD, [(new, T_ANY, NONE, 0, b"")], [add(new, "192.0.2.41")]), NOERROR)
    assert ("new.deleg.upd.test.", 300, "A", "192.0.2.41") in snapshot(srv, UPD)


def test_deleting_a_delegation_is_allowed_below_the_apex(srv: Server) -> None:
    """§3.4.2.3: "For any Update RR whose CLASS is ANY and whose TYPE is not ANY all Zone RRs
    with the same NAME and TYPE are deleted, unless the NAME is the same as ZNAME" - the
    apex exception does not cover a delegation's NS RRset; §7.13 ("not the last NS RR at
    the root of a zone") neither covers a class NONE delete of the last NS of a cut."""
    cut = f"cut.{UPD}"
    expect(srv, build(UPD, [], [(cut, T_NS, NONE, 0, rdata(T_NS, "ns.outside.example."))]),
           NOERROR)  # fmt: skip
    assert not [rr for rr in snapshot(srv, UPD) if rr[0] == "cut.upd.test."]
    expect(srv, build(UPD, [], [(cut, T_NS, IN, 300, rdata(T_NS, "ns.outside.example."))]),
           NOERROR)  # fmt: skip
    expect(srv, build(UPD, [], [(cut, T_NS, ANY, 0, b"")]), NOERROR)
    assert not [rr for rr in snapshot(srv, UPD) if rr[0] == "cut.upd.test."]


def test_apex_ns_rrset_replaced_within_one_message(srv: Server) -> None:
    """§3.4.2.4: a class NONE delete of an apex NS is ignored only when "the matching Zone RR
    is the only NS remaining in the RRset"; RRs are "processed in order" (§3.4.2).  Add a
    third NS, then delete the two old ones: both go, the new one stays.  Deleting that last
    one is then ignored (§7.13)."""
    new_ns = rdata(T_NS, "ns.outside.example.")
    dels = [(APEXNS, T_NS, NONE, 0, rdata(T_NS, f"ns{i}.{APEXNS}")) for i in (1, 2)]
    expect(srv, build(APEXNS, [], [(APEXNS, T_NS, IN, 300, new_ns), *dels]), NOERROR)
    assert served(srv, APEXNS, "NS") == {(300, "ns.outside.example.")}
    expect(srv, build(APEXNS, [], [(APEXNS, T_NS, NONE, 0, new_ns)]), NOERROR)
    assert served(srv, APEXNS, "NS") == {(300, "ns.outside.example.")}


# == §3.4.2.2 / §3.6: the SOA and its serial ====================================================


def soa_rr(zone: str, serial_: int, refresh: int = 3600, ttl: int = 300) -> RR:
    text = f"ns1.{zone} hostmaster.{zone} {serial_} {refresh} 600 86400 60"
    return (zone, T_SOA, IN, ttl, rdata(T_SOA, text))


def test_soa_with_a_higher_serial_replaces_the_soa_exactly(srv: Server) -> None:
    """§3.4.2.2: an SOA update RR replaces the zone's ("In case of duplicate RDATAs (which
    for SOA RRs is always the case) [...] the Zone RR is replaced by Update RR") unless its
    serial is not higher.  The new fields are served as sent, and the serial is the one
    sent: §3.6 increments automatically only "If the zone's SOA's SERIAL is not changed"
    (§5.7 builds on knowing the new SOA)."""
    expect(srv, build(SOAZ, [], [soa_rr(SOAZ, SOA_SERIAL + 50, refresh=7200)]), NOERROR)
    now = soa(srv, SOAZ)
    assert (now.serial, now.refresh) == (SOA_SERIAL + 50, 7200)


@pytest.mark.parametrize("delta", [0, -1, 2**31 + 1], ids=["equal", "one-less", "less-by-rfc1982"])
def test_soa_with_a_serial_not_higher_is_ignored(srv: Server, delta: int) -> None:
    """§3.4.2.2: "If the TYPE is SOA and [...] the new SOA.SERIAL is lower (according to
    [RFC1982]) than or equal to the current Zone SOA RR's SOA.SERIAL, the Update RR is
    ignored"; §3.6: "Attempts to replace an SOA with one whose SERIAL is less than the
    current one will be silently ignored".  current + 2**31 + 1 is numerically larger
    but lower by RFC 1982 §3.2.  The other SOA fields stay too."""
    current = serial(srv, SOAZ)
    before = snapshot(srv, SOAZ)
    new = (current + delta) % 2**32
    expect(srv, build(SOAZ, [], [soa_rr(SOAZ, new, refresh=1234)]), NOERROR)
    assert snapshot(srv, SOAZ) == before


def test_soa_serial_higher_by_rfc1982_across_the_wrap_replaces(srv: Server) -> None:
    """§3.4.2.2 compares serials "according to [RFC1982]": 5 is higher than 4294967290
    (RFC 1982 §3.2: i1 > i2 and i1 - i2 > 2**31, the serial wrapped 11 steps on)."""
    expect(srv, build(NEAR, [], [soa_rr(NEAR, 5)]), NOERROR)
    assert serial(srv, NEAR) == 5


def test_ignored_soa_beside_a_change_still_moves_the_serial(srv: Server) -> None:
    """An SOA with a lower serial is ignored (§3.4.2.2) while the rest of the message is
    applied; the zone changed, so the server moves the serial itself (§3.6), forward."""
    before_soa = soa(srv, SOAZ)
    owner = f"beside.{SOAZ}"
    expect(srv, build(SOAZ, [], [soa_rr(SOAZ, 3, refresh=999), add(owner, "192.0.2.1")]),
           NOERROR)  # fmt: skip
    after = soa(srv, SOAZ)
    assert served(srv, owner, "A") == {(300, "192.0.2.1")}
    assert serial_gt(after.serial, before_soa.serial) and after.refresh == before_soa.refresh


def test_read_modify_write_on_the_soa(srv: Server) -> None:
    """§5.7: "build an UPDATE message one of whose prerequisites was the old SOA RR [...]
    delete this SOA RR and add a new one with an incremented SOA SERIAL"; §5.4: a duplicate
    of that request "will fail since only the first will find the original 'marker RR'
    present".  The SOA as a value-dependent prerequisite (TTL 0), then the same again."""
    old = soa(srv, RMW)
    new_text = f"ns1.{RMW} hostmaster.{RMW} {old.serial + 1} 3600 600 86400 60"
    wire = build(
        RMW,
        [(RMW, T_SOA, IN, 0, old.to_wire())],
        [(RMW, T_SOA, NONE, 0, old.to_wire()), (RMW, T_SOA, IN, 300, rdata(T_SOA, new_text)),
         add(f"marker.{RMW}", "192.0.2.1")],
    )  # fmt: skip
    expect(srv, wire, NOERROR)
    assert serial(srv, RMW) == old.serial + 1
    expect(srv, wire, NXRRSET)
    assert serial(srv, RMW) == old.serial + 1


def test_serial_increment_skips_zero(srv: Server) -> None:
    """§7.11: "When incrementing an SOA SERIAL, if the result of the increment is zero (0)
    (as will be true when wrapping around 2**32), it is necessary to increment it again or
    set it to one (1)"; the new serial is still higher by RFC 1982 (§3.6).  BIND 9.18 goes
    from 4294967295 to 1; Knot 3.2 to 0."""
    assert serial(srv, WRAP) == 2**32 - 1
    expect(srv, build(WRAP, [], [add(f"wraps.{WRAP}", "192.0.2.1")]), NOERROR)
    new = serial(srv, WRAP)
    assert new != 0
    assert serial_gt(new, 2**32 - 1)


# == §3.8: the reply ============================================================================

REPLY_CASES = {
    "noerror": ([], [add(f"reply-ok.{UPD}", "192.0.2.1")], NOERROR),
    "nxrrset": ([(f"nobody.{UPD}", T_A, ANY, 0, b"")], [add(f"reply-x.{UPD}", "192.0.2.1")],
                NXRRSET),
    "formerr": ([(f"here.{UPD}", T_A, ANY, 300, b"")], [], FORMERR),
    "notzone": ([], [add("x.other.test.", "192.0.2.1")], NOTZONE),
}  # fmt: skip


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
@pytest.mark.parametrize("case", list(REPLY_CASES))
def test_reply_copies_id_and_opcode_and_sets_qr(srv: Server, case: str, tcp: bool) -> None:
    """§3.8: "A response message is generated by copying the ID and Opcode fields from the
    request, and either copying the ZOCOUNT, PRCOUNT, UPCOUNT, and ADCOUNT fields and
    associated sections, or placing zeros (0) in the these "count" fields [...] The QR bit is
    set to one (1)", sent back on the transport used.  (BIND and Knot keep the zone section
    and drop the others, as RFC 1035 §7.3 matching wants; that is accepted: what must not
    happen is a part of the prerequisite or update sections, or another zone.)"""
    prs, ups, want = REPLY_CASES[case]
    msg_id = 0xBEEF if tcp else 0x1F2E
    wire = build(UPD, prs, ups, msg_id=msg_id)
    signed, mac = sign(wire)
    raw = exchange(srv, signed, tcp)
    msg_id_r, flags, zo, pr, up, _ad = struct.unpack_from("!HHHHHH", raw)
    assert msg_id_r == msg_id
    assert flags & QR and (flags >> 11) & 0xF == OPCODE_UPDATE
    assert flags & 0xF == want, rcode_name(flags & 0xF)
    reply = dns.message.from_wire(raw, keyring=KEYRING, request_mac=mac)
    request = dns.message.from_wire(wire)
    assert zo in (0, 1)
    if zo:
        assert reply.zone == request.zone
    if (pr, up) != (0, 0):
        assert (pr, up) == (len(prs), len(ups)) and zo == 1
        assert reply.prerequisite == request.prerequisite and reply.update == request.update


def test_header_bits_other_than_qr_and_opcode_are_ignored_in_a_request(srv: Server) -> None:
    """§2.2: "UPDATE uses only one flag bit (QR)"; Z "A non-zero Z field should be ignored";
    RCODE "is undefined in requests".  An UPDATE with AA, RD, RA, AD, CD, the Z bit and RCODE
    5 set is processed like any other."""
    owner = f"zbits.{UPD}"
    flags = OPCODE_UPDATE << 11 | 0x0400 | 0x0100 | 0x0080 | 0x0040 | 0x0020 | 0x0010 | 5
    expect(srv, build(UPD, [], [add(owner, "192.0.2.1")], flags=flags), NOERROR)
    assert served(srv, owner, "A") == {(300, "192.0.2.1")}


def test_reply_to_a_request_without_flags_has_none(srv: Server) -> None:
    """§2.2: Z (every bit between Opcode and RCODE for UPDATE, which "uses only one flag bit
    (QR)") "Should be zero (0) in all requests and responses"."""
    signed, _ = sign(build(UPD, [], [add(f"noflags.{UPD}", "192.0.2.1")]))
    (flags,) = struct.unpack_from("!H", exchange(srv, signed), 2)
    assert flags & 0x07F0 == 0, f"reply flags {flags:#06x}"


def test_updates_pipelined_on_one_tcp_connection(srv: Server) -> None:
    """§2.1: over TCP "the message is in the format described in [RFC1035 4.2.2]", which
    lets a connection carry several messages; each UPDATE gets its own reply, by ID, and
    the second sees what the first did (its prerequisite holds)."""
    owner = f"pipelined.{UPD}"
    first, mac1 = sign(build(UPD, [], [add(owner, "192.0.2.1")], msg_id=0x0A01))
    second, mac2 = sign(
        build(
            UPD, [(owner, T_A, IN, 0, a("192.0.2.1"))], [add(owner, "192.0.2.2")], msg_id=0x0A02
        )  # fmt: skip
    )
    with tcp_connect(srv) as conn:
        conn.sendall(b"".join(len(w).to_bytes(2, "big") + w for w in (first, second)))
        replies = {r[:2]: r for r in (tcp_read(conn), tcp_read(conn))}
    assert set(replies) == {b"\x0a\x01", b"\x0a\x02"}
    for key, mac in ((b"\x0a\x01", mac1), (b"\x0a\x02", mac2)):
        assert replies[key][3] & 0xF == NOERROR and reply_mac_is_valid(replies[key], mac, TSIG_KEY)
    assert served(srv, owner, "A") == {(300, "192.0.2.1"), (300, "192.0.2.2")}


# == RFC 8945 on UPDATE: a rejected signature changes nothing ===================================


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_signed_update_reply_is_signed_and_verifies(srv: Server, tcp: bool) -> None:
    """RFC 8945 §5.3: the reply to a verified request is signed with the same key, its MAC
    over the request MAC; dnspython's client verifies it (and raises if it does not)."""
    owner = f"signed-{tcp}.{UPD}"
    u = dns.update.UpdateMessage(UPD)
    u.add(owner, 300, "A", "192.0.2.1")
    u.use_tsig(KEYRING, KEY_NAME)
    if tcp:
        r = dns.query.tcp(u, srv.host, port=srv.port, timeout=5)
    else:
        r = dns.query.udp(u, srv.host, port=srv.port, timeout=5)
    assert r.had_tsig and r.rcode() == NOERROR
    assert served(srv, owner, "A") == {(300, "192.0.2.1")}


def test_badtime_update_is_not_applied_and_the_error_is_signed(srv: Server) -> None:
    """RFC 8945 §5.2.3: outside Time Signed +/- Fudge "the server MUST generate an error
    response with an RCODE of 9 (NOTAUTH) and TSIG ERROR 18 (BADTIME)" which "MUST be signed
    by the same key as the request"; and the UPDATE is not applied (RFC 2136 §3.3: the
    requestor is not authenticated)."""
    owner = f"badtime.{UPD}"
    before = snapshot(srv, UPD)
    signed, mac = sign(
        build(UPD, [], [add(owner, "192.0.2.1")]), time_signed=int(time.time()) - 3600
    )
    raw = exchange(srv, signed)
    m = dns.message.from_wire(raw, keyring=False)
    assert m.rcode() == NOTAUTH and m.tsig and m.tsig[0].error == BADTIME
    assert reply_mac_is_valid(raw, mac, TSIG_KEY), "the BADTIME reply is not signed with the key"
    assert snapshot(srv, UPD) == before


@pytest.mark.parametrize("mac_len", [8, 12])
def test_update_with_a_mac_below_the_minimum_is_formerr_and_not_applied(
    srv: Server, mac_len: int
) -> None:
    """RFC 8945 §5.2.2.1: a MAC Size "less than the larger of 10 (octets) and half the
    length of the hash function in use [...] MUST cause the DNS message to be dropped and
    RCODE 1 (FORMERR) to be returned" (16 octets for HMAC-SHA256).  The MAC sent is the
    true one, cut short; the update is not applied."""
    owner = f"shortmac{mac_len}.{UPD}"
    before = snapshot(srv, UPD)
    signed, _ = sign(build(UPD, [], [add(owner, "192.0.2.1")]), mac_len=mac_len)
    raw = exchange(srv, signed)
    assert raw[3] & 0xF == FORMERR
    assert snapshot(srv, UPD) == before


def test_update_with_an_allowed_truncated_mac_is_applied_only_if_accepted(srv: Server) -> None:
    """RFC 8945 §5.2.2.1 allows a MAC cut to 16 of 32 octets; §5.2.4 lets policy refuse it
    with NOTAUTH/BADTRUNC.  Either way the answer agrees with the zone: NOERROR and the RR
    added, or BADTRUNC (signed, §5.3.2) and nothing added."""
    owner = f"truncmac.{UPD}"
    before = snapshot(srv, UPD)
    signed, mac = sign(build(UPD, [], [add(owner, "192.0.2.1")]), mac_len=16)
    raw = exchange(srv, signed)
    m = dns.message.from_wire(raw, keyring=False)
    assert reply_mac_is_valid(raw, mac, TSIG_KEY)
    if m.rcode() == NOERROR:
        assert served(srv, owner, "A") == {(300, "192.0.2.1")}
    else:
        assert m.rcode() == NOTAUTH and m.tsig and m.tsig[0].error == BADTRUNC
        assert snapshot(srv, UPD) == before


def test_update_altered_after_signing_is_badsig_and_not_applied(srv: Server) -> None:
    """RFC 8945 §5.2.2: a MAC that does not verify is NOTAUTH/BADSIG; the MAC covers the
    whole message, so an UPDATE whose RDATA was changed after signing is rejected and the
    altered RR is not added."""
    owner = f"altered.{UPD}"
    signed, _ = sign(build(UPD, [], [add(owner, "192.0.2.1")]))
    i = signed.index(bytes([192, 0, 2, 1]))
    tampered = signed[:i] + bytes([192, 0, 2, 66]) + signed[i + 4 :]
    raw = exchange(srv, tampered)
    m = dns.message.from_wire(raw, keyring=False)
    assert m.rcode() == NOTAUTH and m.tsig and m.tsig[0].error == BADSIG
    assert query(srv, owner, "A").rcode() == NXDOMAIN


def test_unsigned_update_is_refused_and_not_applied(srv: Server) -> None:
    """§3.3.1: without permission the server "may either signal REFUSED to the requestor, or
    ignore the permission problem and proceed"; leasedns refuses unsigned UPDATEs from
    addresses not in allow_update - the check here is that a REFUSED update is not applied
    (§3.3.2: the permission check comes before any change)."""
    owner = f"unsigned.{UPD}"
    raw = exchange(srv, build(UPD, [], [add(owner, "192.0.2.1")]))
    assert raw[3] & 0xF == REFUSED
    assert query(srv, owner, "A").rcode() == NXDOMAIN
