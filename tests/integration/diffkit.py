"""Differential conformance against a reference server: zones, update generator, comparisons."""

from __future__ import annotations

import random
import struct
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TSIG
import dns.tsig
import dns.tsigkeyring
import dns.update
from serverkit import Server, serve_zones, tcp_exchange

KEY_NAME = "conf-key."
WRONG_SECRET = "d3Jvbmcgc2VjcmV0IGZvciBjb25mLWtleQ=="
SECRET = "Q29uZm9ybWFuY2Uta2V5LWZvci1sZWFzZWRucy12cy1iaW5kIQ=="
KEYRING = dns.tsigkeyring.from_text({KEY_NAME: ("hmac-sha256", SECRET)})
KEY = (KEY_NAME, "hmac-sha256", SECRET)

DYN = "dyn.test."
DYN_ZONE = """$ORIGIN dyn.test.
$TTL 300
@     IN SOA  ns1 hostmaster 1 3600 600 86400 60
      IN NS   ns1
      IN NS   ns2
ns1   IN A    192.0.2.53
ns2   IN A    192.0.2.54
mail  IN A    192.0.2.25
"""

EDGE = "edge.test."
EDGE_ZONE = DYN_ZONE.replace(DYN, EDGE)

RICH = "rich.test."
RICH_ZONE = """$ORIGIN rich.test.
$TTL 300
@             IN SOA   ns1 hostmaster 7 3600 600 86400 120
              IN NS    ns1
              IN NS    ns.outside.example.
              IN MX    10 mail
              IN MX    20 mx.outside.example.
              IN A     192.0.2.1
              IN TXT   "apex"
ns1           IN A     192.0.2.53
              IN AAAA  2001:db8::53
mail          IN A     192.0.2.25
              IN AAAA  2001:db8::25
www     600   IN A     192.0.2.80
        600   IN A     192.0.2.81
*.wild        IN A     192.0.2.99
*.wild        IN TXT   "wildcard"
*.wild        IN MX    10 mail
explicit.wild IN A     192.0.2.98
*.cwild       IN CNAME www
deleg         IN NS    ns.deleg
deleg         IN NS    ns.outside.example.
ns.deleg      IN A     192.0.2.54
a.b.ent       IN A     192.0.2.3
alias         IN CNAME www
chain1        IN CNAME chain2
chain2        IN CNAME alias
out           IN CNAME www.outside.example.
todeleg       IN CNAME host.deleg
towild        IN CNAME foo.wild
dangling      IN CNAME missing
tomx          IN CNAME mail
svc           IN SRV   0 5 5060 www
_sip._tcp     IN SRV   0 5 5060 mail
ptr           IN PTR   www
redir         IN DNAME target.outside.example.
inzone        IN DNAME www
loop1         IN CNAME loop2
loop2         IN CNAME loop1
self          IN CNAME self
mixed         IN CNAME WwW
mixedmx       IN MX    10 MaiL.RiCh.TeSt.
"""

ZONES = {DYN: DYN_ZONE, EDGE: EDGE_ZONE, RICH: RICH_ZONE}


@dataclass(frozen=True)
class RRsetView:
    """An RRset as compared: owner, type, TTL and the rdata texts (the order of RRs is free)."""

    name: str
    rdtype: str
    ttl: int
    rdatas: frozenset[str]

    def __str__(self) -> str:
        return f"{self.name} {self.ttl} {self.rdtype} {' | '.join(sorted(self.rdatas))}"


class Endpoint(Protocol):
    """A DNS server on a loopback port: leasedns or a reference server."""

    host: str
    port: int


@dataclass
class Pair:
    """The reference server (BIND or Knot, called ``label`` in reports) and leasedns, serving
    the same zones with the same key."""

    ref: Endpoint
    leasedns: Server
    label: str


def start_leasedns(tmp: Path, zones: dict[str, str] = ZONES) -> Server:
    """leasedns serving ``zones`` (origin -> master-file text; DYN, EDGE and RICH by default)
    from master files under ``tmp``, with ``KEY`` as an admin key (full update and transfer
    rights)."""
    return serve_zones(tmp, zones, (KEY_NAME, SECRET))


def started_pair(ref: Endpoint, label: str, tmp: Path) -> Iterator[Pair]:
    """For a module fixture: the pair, with leasedns stopped afterwards (and ``ref`` with it,
    when it has a ``stop``)."""
    try:
        lds = start_leasedns(tmp)
    except BaseException:
        getattr(ref, "stop", lambda: None)()
        raise
    try:
        yield Pair(ref, lds, label)
    finally:
        lds.stop()
        getattr(ref, "stop", lambda: None)()


# -- talking to either server -------------------------------------------------------------


def send_update(ep: Endpoint, update: dns.update.UpdateMessage) -> str:
    """The reply's RCODE, over TCP, signed; the reply's TSIG is verified by dnspython.
    "no reply" when the server closes the connection without one."""
    try:
        reply = dns.query.tcp(update, ep.host, port=ep.port, timeout=5)
    except (EOFError, ConnectionError):
        return "no reply"
    return dns.rcode.to_text(reply.rcode())


def query(ep: Endpoint, qname: str, rdtype: str) -> dns.message.Message:
    """An authoritative-style query: RD clear, EDNS with a 4096-byte payload, over TCP so no
    answer is truncated."""
    q = dns.message.make_query(qname, rdtype, flags=0, use_edns=0, payload=4096)
    return dns.query.tcp(q, ep.host, port=ep.port, timeout=5)


def rdata_text(rd: dns.rdata.Rdata) -> str:
    """Presentation form, the SOA serial blanked: each server bumps it its own way."""
    if rd.rdtype == dns.rdatatype.SOA:
        return rd.replace(serial=0).to_text().replace(" 0 ", " SERIAL ", 1)
    return rd.to_text()


def views(rrsets: list) -> frozenset[RRsetView]:  # type: ignore[type-arg]
    """Merged by (owner, class, type): a server may split one RRset over several entries.
    SOA serials are blanked (see ``rdata_text``)."""
    merged: dict[tuple[str, int, int], tuple[set[int], set[str]]] = {}
    for rrset in rrsets:
        k = (rrset.name.to_text().lower(), rrset.rdclass, rrset.rdtype)
        ttls, rdatas = merged.setdefault(k, (set(), set()))
        ttls.add(rrset.ttl)
        rdatas.update(rdata_text(rd) for rd in rrset)
    out = set()
    for (name, rdclass, rdtype), (ttls, rdatas) in merged.items():
        kind = dns.rdatatype.to_text(rdtype)
        if rdclass != dns.rdataclass.IN:
            kind = f"{dns.rdataclass.to_text(rdclass)}/{kind}"
        for ttl in ttls:  # two TTLs for one RRset show up as two views, and so differ
            out.add(RRsetView(name, kind, ttl, frozenset(rdatas)))
    return frozenset(out)


def axfr(ep: Endpoint, zone: str) -> frozenset[RRsetView]:
    """The zone's RRsets by AXFR with the key."""
    rrsets = []
    for msg in dns.query.xfr(
        ep.host, zone, port=ep.port, keyring=KEYRING, keyname=KEY_NAME, relativize=False, timeout=5
    ):
        assert msg.rcode() == dns.rcode.NOERROR, msg
        rrsets.extend(msg.answer)
    return views(rrsets)


def current(ep: Endpoint, name: str, rdtype: str) -> list[str]:
    """The rdata texts of exactly ``name``/``rdtype`` as served now (empty when absent)."""
    r = query(ep, name, rdtype)
    want = dns.rdatatype.from_text(rdtype)
    return sorted(
        rd.to_text()
        for rrset in r.answer
        if rrset.name == dns.name.from_text(name) and rrset.rdtype == want
        for rd in rrset
    )


def serial(ep: Endpoint, zone: str) -> int:
    (rrset,) = query(ep, zone, "SOA").answer
    return int(rrset[0].serial)


def zone_diff(a: frozenset[RRsetView], b: frozenset[RRsetView], label: str) -> str:
    """``a`` is the reference's (called ``label``), ``b`` leasedns's."""
    lines = [f"  {label + ' only:':15}{v}" for v in sorted(a - b, key=str)]
    lines += [f"  leasedns only: {v}" for v in sorted(b - a, key=str)]
    return "\n".join(lines)


# -- building updates ----------------------------------------------------------------------

# An update is a list of operations on relative names ("@" is the apex):
#   ("add", name, ttl, type, rdata)      §2.5.1 add to an RRset
#   ("del", name, type, rdata)           §2.5.4 delete an RR (class NONE)
#   ("delset", name, type)               §2.5.2 delete an RRset (class ANY)
#   ("delname", name)                    §2.5.3 delete all RRsets at a name (ANY ANY)
#   ("yxset", name, type)                §2.4.1 RRset exists (value independent)
#   ("yxval", name, type, rdata, ...)    §2.4.2 RRset exists (value dependent)
#   ("nxset", name, type)                §2.4.3 RRset does not exist
#   ("yx", name)                         §2.4.4 name is in use
#   ("nx", name)                         §2.4.5 name is not in use
Op = tuple  # type: ignore[type-arg]


def fqdn(rel: str, zone: str) -> str:
    """``rel`` in ``zone``; a name ending in a dot is taken as it is."""
    if rel.endswith("."):
        return rel
    return zone if rel == "@" else f"{rel}.{zone}"


def build_update(zone: str, ops: list[Op], sign: bool = True) -> dns.update.UpdateMessage:
    u = dns.update.UpdateMessage(zone)
    if sign:
        u.use_tsig(KEYRING, KEY_NAME)
    for kind, rel, *args in ops:
        name = fqdn(rel, zone)
        if kind == "add":
            u.add(name, *args)
        elif kind in ("del", "delset", "delname"):
            u.delete(name, *args)
        elif kind in ("yxset", "yxval", "yx"):
            u.present(name, *args)
        elif kind in ("nxset", "nx"):
            u.absent(name, *args)
        else:
            raise ValueError(kind)
    return u


def show(ops: list[Op]) -> str:
    return "; ".join(" ".join(str(x) for x in op) for op in ops)


# -- the update generator -----------------------------------------------------------------

# A small pool so updates collide: the same names, types and values again and again.
NAMES = ["h1", "h2", "h3", "x.h3", "a.ent", "*.wc", "mail", "@"]
VALUES = {
    "A": ["192.0.2.1", "192.0.2.2", "192.0.2.3"],
    "AAAA": ["2001:db8::1", "2001:db8::2"],
    "TXT": ['"t1"', '"t2"', '"t3"'],
    "MX": ["10 mail.dyn.test.", "20 h1.dyn.test."],
    "CNAME": ["h2.dyn.test.", "mail.dyn.test.", "www.outside.example."],
    "PTR": ["h1.dyn.test.", "www.outside.example."],
}
TYPES = list(VALUES)
TTLS = [300, 600, 3600]
PREREQS = ["yxset", "yxval", "nxset", "yx", "nx"]


class UpdateGenerator:
    """Seeded UPDATEs for ``DYN``.  ``reference`` (BIND or Knot) is asked for the RRsets that
    value-dependent prerequisites copy, so that they hold often enough, and both servers for
    their SOA serials, so that an SOA add is surely above or below both.  With
    ``ttl_per_rrset`` every add to one RRset has one TTL (the same random choices are made)."""

    def __init__(
        self, seed: int, reference: Endpoint, other: Endpoint, ttl_per_rrset: bool = False
    ) -> None:
        self.rng = random.Random(seed)
        self.reference = reference
        self.other = other
        self.ttl_per_rrset = ttl_per_rrset

    def ops(self) -> list[Op]:
        """Zero to two prerequisites, then one to three update RRs."""
        rng = self.rng
        ops = [self.prerequisite() for _ in range(rng.choice([0, 0, 1, 1, 2]))]
        ops += [self.change() for _ in range(rng.choice([1, 1, 1, 2, 3]))]
        return ops

    def prerequisite(self) -> Op:
        rng = self.rng
        rel, rdtype, kind = rng.choice(NAMES), rng.choice(TYPES), rng.choice(PREREQS)
        if kind == "yxval":
            have = current(self.reference, fqdn(rel, DYN), rdtype)
            if not (have and rng.random() < 0.7):
                have = rng.sample(VALUES[rdtype], rng.choice([1, 1, 2]))
            return ("yxval", rel, rdtype, *have)
        if kind in ("yx", "nx"):
            return (kind, rel)
        return (kind, rel, rdtype)

    def change(self) -> Op:
        rng = self.rng
        rel, rdtype, roll = rng.choice(NAMES), rng.choice(TYPES), rng.random()
        if rel == "@" and roll < 0.5:
            return self.apex_change()
        if roll < 0.55:
            ttl = rng.choice(TTLS)
            if self.ttl_per_rrset:
                ttl = TTLS[(NAMES.index(rel) + TYPES.index(rdtype)) % len(TTLS)]
            return ("add", rel, ttl, rdtype, rng.choice(VALUES[rdtype]))
        if roll < 0.75:
            return ("del", rel, rdtype, rng.choice(VALUES[rdtype]))
        if roll < 0.92:
            return ("delset", rel, rdtype)
        return ("delname", rel)

    def apex_change(self) -> Op:
        rng = self.rng
        kind = rng.choice(["delset-soa", "delset-ns", "del-ns", "delname", "soa-up", "soa-down"])
        if kind == "delset-soa":
            return ("delset", "@", "SOA")
        if kind == "delset-ns":
            return ("delset", "@", "NS")
        if kind == "del-ns":
            return ("del", "@", "NS", rng.choice(["ns1.dyn.test.", "ns2.dyn.test."]))
        if kind == "delname":
            return ("delname", "@")
        serials = [serial(self.reference, DYN), serial(self.other, DYN)]
        new = max(serials) + rng.randint(1, 100) if kind == "soa-up" else min(serials) - 1
        mname = rng.choice(["ns1.dyn.test.", "ns2.dyn.test."])
        fields = f"{new % 2**32} {rng.choice([3600, 7200])} 600 86400 {rng.choice([60, 120])}"
        return ("add", "@", rng.choice([300, 900]), "SOA", f"{mname} hostmaster.dyn.test. {fields}")


CHECK_EVERY = 25


@dataclass
class UpdateRun:
    """What a run of generated updates found: differences, and how often each operation and
    each (lone prerequisite kind, RCODE) came up."""

    problems: list[str]
    seen: Counter[str]


def run_updates(pair: Pair, seed: int, count: int, ttl_per_rrset: bool = False) -> UpdateRun:
    """``count`` generated UPDATEs to both servers; RCODEs, serial moves and (every
    ``CHECK_EVERY`` updates) the whole zone compared."""
    gen = UpdateGenerator(seed, pair.ref, pair.leasedns, ttl_per_rrset)
    run = UpdateRun([], Counter())
    label = pair.label
    for i in range(count):
        ops = gen.ops()
        before = serial(pair.ref, DYN), serial(pair.leasedns, DYN)
        want = send_update(pair.ref, build_update(DYN, ops))
        got = send_update(pair.leasedns, build_update(DYN, ops))
        # §3.6: the serial moves when, and only when, the zone changed.
        bumped = serial(pair.ref, DYN) != before[0], serial(pair.leasedns, DYN) != before[1]
        if bumped[0] != bumped[1]:
            run.problems.append(
                f"update #{i} [{show(ops)}]: serial changed: "
                f"{label} {bumped[0]}, leasedns {bumped[1]}"
            )
        run.seen.update(op[0] for op in ops)
        prereqs = [op[0] for op in ops if op[0] in PREREQS]
        if len(prereqs) == 1:
            run.seen[f"{prereqs[0]}:{want}"] += 1
        if want != got:
            run.problems.append(f"update #{i} [{show(ops)}]: {label} {want}, leasedns {got}")
        if (i + 1) % CHECK_EVERY == 0 or i + 1 == count:
            a, b = axfr(pair.ref, DYN), axfr(pair.leasedns, DYN)
            if a != b:
                run.problems.append(f"zone after update #{i} differs:\n{zone_diff(a, b, label)}")
    return run


# The pool is small enough that every prerequisite kind both held and failed.
PREREQ_OUTCOMES = [("yxset", "NXRRSET"), ("yxval", "NXRRSET"), ("nxset", "YXRRSET"),
                   ("yx", "NXDOMAIN"), ("nx", "YXDOMAIN")]  # fmt: skip


def unexercised(run: UpdateRun) -> list[str]:
    """The prerequisite kinds that did not both hold and fail in ``run``."""
    return [
        kind
        for kind, fails in PREREQ_OUTCOMES
        if not (run.seen[f"{kind}:NOERROR"] and run.seen[f"{kind}:{fails}"])
    ]


# -- scripted cases ------------------------------------------------------------------------

SOA_FIELDS = "hostmaster.edge.test. {serial} 3600 600 86400 60"

# Each case is a list of UPDATE messages (each a list of operations) sent in turn to both
# servers in EDGE; a relative name ``n`` becomes ``n.c<index>`` so cases do not meet, except
# at the apex ("@").  The RCODE of every message and the zone after every case must agree.
CASES: list[tuple[str, list[list[Op]]]] = [
    ("CNAME added beside data is ignored (§3.4.2.2)",
     [[("add", "n", 300, "A", "192.0.2.1")], [("add", "n", 300, "CNAME", "t.edge.test.")]]),
    ("data added beside a CNAME is ignored (§3.4.2.2)",
     [[("add", "n", 300, "CNAME", "t.edge.test.")], [("add", "n", 300, "A", "192.0.2.1")],
      [("add", "n", 300, "TXT", '"x"')]]),
    ("a CNAME replaces a CNAME (§3.4.2.2)",
     [[("add", "n", 300, "CNAME", "t1.edge.test.")],
      [("add", "n", 600, "CNAME", "t2.edge.test.")]]),
    ("A then CNAME in one message",
     [[("add", "n", 300, "A", "192.0.2.1"), ("add", "n", 300, "CNAME", "t.edge.test.")]]),
    ("CNAME then A in one message",
     [[("add", "n", 300, "CNAME", "t.edge.test."), ("add", "n", 300, "A", "192.0.2.1")]]),
    ("two CNAMEs in one message: the last wins",
     [[("add", "n", 300, "CNAME", "t1.edge.test."), ("add", "n", 300, "CNAME", "t2.edge.test.")]]),
    ("delete the name, then a CNAME, in one message",
     [[("add", "n", 300, "A", "192.0.2.1")],
      [("delname", "n"), ("add", "n", 300, "CNAME", "t.edge.test.")]]),
    ("delete the CNAME, then an A, in one message",
     [[("add", "n", 300, "CNAME", "t.edge.test.")],
      [("delset", "n", "CNAME"), ("add", "n", 300, "A", "192.0.2.1")]]),
    ("NS and CNAME at one name",
     [[("add", "n", 300, "NS", "ns.outside.example.")],
      [("add", "n", 300, "CNAME", "t.edge.test.")]]),
    ("a CNAME at the apex is ignored",
     [[("add", "@", 300, "CNAME", "t.edge.test.")]]),
    ("an add with another TTL gives the RRset the new TTL (RFC 2181 §5.2)",
     [[("add", "n", 300, "A", "192.0.2.1"), ("add", "n", 300, "A", "192.0.2.2")],
      [("add", "n", 600, "A", "192.0.2.3")]]),
    ("a duplicate add with another TTL",
     [[("add", "n", 300, "A", "192.0.2.1"), ("add", "n", 300, "A", "192.0.2.2")],
      [("add", "n", 900, "A", "192.0.2.1")]]),
    ("duplicate adds, in one message and in two",
     [[("add", "n", 300, "TXT", '"x"'), ("add", "n", 300, "TXT", '"x"')],
      [("add", "n", 300, "TXT", '"x"')]]),
    ("deleting the last RR removes the RRset; deleting an absent RR does nothing",
     [[("add", "n", 300, "A", "192.0.2.1"), ("add", "n", 300, "AAAA", "2001:db8::1")],
      [("del", "n", "A", "192.0.2.1")], [("del", "n", "A", "192.0.2.9")],
      [("del", "gone", "A", "192.0.2.9")]]),
    ("names in rdata compare without case",
     [[("add", "n", 300, "MX", "10 MAIL.edge.test.")],
      [("add", "n", 300, "MX", "10 mail.edge.test.")],
      [("yxval", "n", "MX", "10 Mail.Edge.Test."), ("del", "n", "MX", "10 mail.EDGE.test.")]]),
    ("owner names compare without case",
     [[("add", "N", 300, "A", "192.0.2.1")], [("add", "n", 300, "A", "192.0.2.2")],
      [("delset", "N", "A")]]),
    ("deleting at an empty non-terminal does nothing",
     [[("add", "x.n", 300, "A", "192.0.2.1")], [("delname", "n")], [("delset", "n", "A")],
      [("del", "n", "A", "192.0.2.1")]]),
    ("the apex keeps its SOA and NS (§3.4.2.3, §3.4.2.4)",
     [[("add", "@", 300, "A", "192.0.2.1"), ("add", "@", 300, "TXT", '"apex"')],
      [("delset", "@", "SOA")], [("delset", "@", "NS")], [("delname", "@")],
      [("del", "@", "NS", "ns1.edge.test."), ("del", "@", "NS", "ns2.edge.test.")]]),
    # With its address in the same message: BIND refuses (REFUSED, "post update name server
    # sanity check failed") an UPDATE leaving an apex NS whose in-zone target has no address,
    # whatever check-integrity says.  That is BIND's own policy; RFC 2136 has no such rule.
    ("an added apex NS can be deleted again",
     [[("add", "@", 300, "NS", "ns3.edge.test."),
       ("add", "ns3.edge.test.", 300, "A", "192.0.2.55")],
      [("del", "@", "NS", "ns3.edge.test.")]]),
    ("an SOA away from the apex",
     [[("add", "n", 300, "SOA", "ns1.edge.test. " + SOA_FIELDS.format(serial=9999))]]),
    ("a delegation made by update, and data below it",
     [[("add", "n", 300, "NS", "ns.n.edge.test."), ("add", "ns.n", 300, "A", "192.0.2.7")],
      [("add", "deep.n", 300, "A", "192.0.2.8")]]),
    ("a DNAME, and data below it",
     [[("add", "n", 300, "DNAME", "elsewhere.example.")], [("add", "x.n", 300, "A", "192.0.2.1")]]),
    ("prerequisites do not expand wildcards (§2.4)",
     [[("add", "*.n", 300, "A", "192.0.2.1")], [("yx", "foo.n")], [("yxset", "foo.n", "A")],
      [("nx", "foo.n")], [("nxset", "foo.n", "A")], [("yxset", "*.n", "A")]]),
    ("an empty non-terminal is not in use (§2.4.4)",
     [[("add", "a.n", 300, "A", "192.0.2.1")], [("yx", "n")], [("nx", "n")],
      [("nxset", "n", "A")]]),
    ("value-dependent prerequisites compare whole RRsets (§2.4.2)",
     [[("add", "n", 300, "A", "192.0.2.1"), ("add", "n", 300, "A", "192.0.2.2")],
      [("yxval", "n", "A", "192.0.2.1")],
      [("yxval", "n", "A", "192.0.2.1", "192.0.2.2", "192.0.2.3")],
      [("yxval", "n", "A", "192.0.2.2", "192.0.2.1")]]),
    # Not compared: a value-dependent prerequisite naming one RR twice ({1, 1, 2} against a
    # zone RRset {1, 2}).  BIND answers NXRRSET, leasedns NOERROR.  §3.2.3 asks for "set
    # equality (same members, no more, no less)" and RFC 2181 §5 makes a repeated RR
    # meaningless, so leasedns follows the text; BIND compares RR lists.
    ("RRset prerequisites do not follow a CNAME",
     [[("add", "n", 300, "CNAME", "t.edge.test."), ("add", "t", 300, "A", "192.0.2.1")],
      [("yxset", "n", "A")], [("yxset", "n", "CNAME")], [("nxset", "n", "A")]]),
    ("the first failing prerequisite decides, value-dependent ones last (§3.2.5)",
     [[("nx", "@"), ("yxset", "nothere", "A")], [("yxset", "nothere", "A"), ("nx", "@")],
      [("yxval", "@", "A", "192.0.2.99"), ("nx", "@")],
      [("yxval", "@", "A", "192.0.2.99"), ("nxset", "@", "NS")]]),
    ("a failed prerequisite applies nothing",
     [[("nx", "@"), ("add", "n", 300, "A", "192.0.2.1")]]),
    ("a TTL of zero", [[("add", "n", 0, "A", "192.0.2.1")]]),
]  # fmt: skip


def case_ops(ops: list[Op], index: int) -> list[Op]:
    return [
        (kind, rel if rel == "@" or rel.endswith(".") else f"{rel}.c{index}", *rest)
        for kind, rel, *rest in ops
    ]


def scripted_differences(pair: Pair, leeway: Leeway, skip: Collection[str] = ()) -> list[str]:
    """Every case of ``CASES`` but those titled in ``skip``: RCODEs, then the zone, then
    queries about the names the case touched (compared as ``query_differences`` does)."""
    problems: list[str] = []
    reported: set[str] = set()  # a zone difference is reported by the first case showing it
    label = pair.label
    for index, (title, messages) in enumerate(CASES):
        if title in skip:
            continue
        for ops in messages:
            ops = case_ops(ops, index)
            want = send_update(pair.ref, build_update(EDGE, ops))
            got = send_update(pair.leasedns, build_update(EDGE, ops))
            if want != got:
                problems.append(f"{title} [{show(ops)}]: {label} {want}, leasedns {got}")
        zones = axfr(pair.ref, EDGE), axfr(pair.leasedns, EDGE)
        diff = set(zone_diff(*zones, label).splitlines())
        if diff - reported:
            problems.append(f"{title}: zones differ\n" + "\n".join(sorted(diff - reported)))
        reported |= diff
        owners = {fqdn(op[1], EDGE) for ops in messages for op in case_ops(ops, index)}
        questions = [(o, t) for o in sorted(owners) for t in ("A", "CNAME", "NS", "TXT", "MX")]
        questions += [(f"below.{o}", "A") for o in sorted(owners)]
        problems += [f"{title}: {p}" for p in query_differences(pair, questions, leeway)]
    return problems


# -- malformed, misdirected and unsigned updates --------------------------------------------


def reply_shape(ep: Endpoint, wire: bytes) -> tuple[str, str, bool]:
    """RCODE, TSIG error and whether the reply is signed; the reply is not validated (a reply
    to a bad signature cannot be), and only its header is needed to be well formed."""
    raw = tcp_exchange(ep, wire)  # type: ignore[arg-type]
    rcode = dns.rcode.to_text(dns.rcode.Rcode(raw[3] & 0x0F))
    try:
        m = dns.message.from_wire(raw, keyring=False)
    except dns.exception.DNSException:
        return rcode, "unparsed", False
    if not m.had_tsig:
        return rcode, "-", False
    return rcode, dns.rcode.to_text(m.tsig_error), True


def signed(u: dns.message.Message, keyname: str = KEY_NAME, secret: str = SECRET) -> bytes:
    u.use_tsig(dns.tsigkeyring.from_text({keyname: ("hmac-sha256", secret)}), keyname)
    return u.to_wire()


def patched_count(wire: bytes, offset: int, count: int) -> bytes:
    """An unsigned message with one 16-bit header count changed (4: ZOCOUNT)."""
    return wire[:offset] + count.to_bytes(2, "big") + wire[offset + 2 :]


def edge_messages() -> list[tuple[str, bytes]]:
    """RFC 2136 §3.1-§3.4.1 error paths, and TSIG (RFC 8945 §5) failures."""

    def upd(ops: list[Op], zone: str = EDGE) -> dns.update.UpdateMessage:
        return build_update(zone, ops, sign=False)  # signed (or not) by the caller

    out = [
        ("update outside the zone: NOTZONE (§3.4.1.3)",
         signed(upd([("add", "x.other.test.", 300, "A", "192.0.2.1")]))),
        ("prerequisite outside the zone: NOTZONE (§3.2.1)",
         signed(upd([("yx", "x.other.test.")]))),
        ("zone not served: NOTAUTH (§3.1.2)",
         signed(upd([("add", "x.other.test.", 300, "A", "192.0.2.1")], "other.test."))),
        ("zone section names a name inside a zone: NOTAUTH (§3.1.2)",
         signed(upd([("add", "x.h1.edge.test.", 300, "A", "192.0.2.1")], "h1.edge.test."))),
        ("unsigned update: REFUSED (policy, §3.3)",
         upd([("add", "u", 300, "A", "192.0.2.1")]).to_wire()),
        ("unknown key: NOTAUTH/BADKEY (RFC 8945 §5.2.1)",
         signed(upd([("add", "u", 300, "A", "192.0.2.1")]), keyname="other-key.")),
        ("wrong secret: NOTAUTH/BADSIG (RFC 8945 §5.2.3)",
         signed(upd([("add", "u", 300, "A", "192.0.2.1")]), secret=WRONG_SECRET)),
    ]  # fmt: skip

    u = upd([("yxset", "n", "A")])
    u.prerequisite[0].ttl = 300
    out.append(("prerequisite with a TTL: FORMERR (§3.2.1)", signed(u)))
    u = upd([("yxval", "n", "A", "192.0.2.1")])
    u.prerequisite[0].deleting = dns.rdataclass.ANY
    out.append(("class ANY prerequisite with rdata: FORMERR (§3.2.1)", signed(u)))
    u = upd([("del", "n", "A", "192.0.2.1")])
    u.update[0].deleting = dns.rdataclass.ANY
    out.append(("class ANY delete with rdata: FORMERR (§3.4.1.3)", signed(u)))
    for rdtype in (dns.rdatatype.ANY, dns.rdatatype.AXFR, dns.rdatatype.MAILA):
        u = upd([])
        u.add(fqdn("n", EDGE), 300, dns.rdata.from_text(dns.rdataclass.IN, rdtype, r"\# 0"))
        name = dns.rdatatype.to_text(rdtype)
        out.append((f"add of meta type {name}: FORMERR (§3.4.1.2)", signed(u)))
    plain = upd([("add", "u", 300, "A", "192.0.2.1")]).to_wire()
    out.append(("no zone entry: FORMERR (§3.1.1)", patched_count(plain, 4, 0)))
    dname = raw_update(EDGE, [(fqdn("dn", EDGE), dns.rdatatype.DNAME, 1, 300, b"\xc0\x0c")])
    # RFC 6672 §2.5 says a DNAME target is not *sent* compressed; BIND and Knot read one that
    # is, as leasedns does (dnspython alone refuses it).
    out.append(("DNAME target compressed: read, NOERROR", sign_raw(dname)))
    ch = dns.update.UpdateMessage(EDGE, rdclass=dns.rdataclass.CH)
    out.append(("zone in class CH: NOTIMP in BIND and Knot (§3.1.1 says NOTAUTH)", signed(ch)))
    return out


def malformed_differences(
    pair: Pair, rcode_only: Collection[str] = (), skip: Collection[str] = ()
) -> list[str]:
    """``edge_messages`` to both servers: RCODE, TSIG error and signedness must agree, or
    only the RCODE for the titles starting with one of ``rcode_only``; titles starting with
    one of ``skip`` are not sent."""
    problems = []
    for title, wire in edge_messages():
        if title.startswith(tuple(skip)):
            continue
        want, got = reply_shape(pair.ref, wire), reply_shape(pair.leasedns, wire)
        if title.startswith(tuple(rcode_only)):
            want, got = want[:1], got[:1]
        if want != got:
            problems.append(f"{title}: {pair.label} {want}, leasedns {got}")
    return problems


# -- updates built byte by byte -------------------------------------------------------------


def raw_update(zone: str, rrs: list[tuple[str, int, int, int, bytes]], msg_id: int = 4242) -> bytes:
    """An UPDATE built byte by byte (dnspython always writes TTL 0 for an empty RRset):
    ``rrs`` are update-section (name, type, class, TTL, rdata)."""
    wire = struct.pack("!HHHHHH", msg_id, 0x2800, 1, 0, len(rrs), 0)  # opcode 5 (UPDATE)
    wire += dns.name.from_text(zone).to_wire() + struct.pack("!HH", dns.rdatatype.SOA, 1)
    for name, rdtype, rdclass, ttl, rdata in rrs:
        wire += dns.name.from_text(name).to_wire()
        wire += struct.pack("!HHIH", rdtype, rdclass, ttl, len(rdata)) + rdata
    return wire


def sign_raw(wire: bytes) -> bytes:
    """``wire`` with a TSIG RR (RFC 8945 §4.2) made with the test key appended."""
    key = dns.tsig.Key(KEY_NAME, SECRET, "hmac-sha256")
    now = int(time.time())
    (msg_id,) = struct.unpack("!H", wire[:2])
    tsig = dns.rdtypes.ANY.TSIG.TSIG(
        dns.rdataclass.ANY, dns.rdatatype.TSIG, key.algorithm, now, 300, b"", msg_id, 0, b""
    )
    tsig, _ = dns.tsig.sign(wire, key, tsig, now)
    rdata = tsig.to_wire()
    rr = dns.name.from_text(KEY_NAME).to_wire()
    rr += struct.pack("!HHIH", dns.rdatatype.TSIG, dns.rdataclass.ANY, 0, len(rdata)) + rdata
    (arcount,) = struct.unpack("!H", wire[10:12])
    return wire[:10] + struct.pack("!H", arcount + 1) + wire[12:] + rr


A_RDATA = bytes([192, 0, 2, 1])


# -- queries --------------------------------------------------------------------------------

RICH_QUERIES = [
    (RICH, "SOA"), (RICH, "NS"), (RICH, "MX"), (RICH, "A"), (RICH, "TXT"), (RICH, "AAAA"),
    (RICH, "ANY"), ("www.rich.test.", "A"), ("www.rich.test.", "AAAA"), ("WwW.RiCh.TeSt.", "A"),
    ("nx.rich.test.", "A"), ("deep.nx.rich.test.", "TXT"), ("ent.rich.test.", "A"),
    ("b.ent.rich.test.", "A"), ("a.b.ent.rich.test.", "A"), ("x.a.b.ent.rich.test.", "A"),
    ("foo.wild.rich.test.", "A"), ("foo.wild.rich.test.", "TXT"), ("foo.wild.rich.test.", "MX"),
    ("foo.wild.rich.test.", "AAAA"), ("foo.wild.rich.test.", "ANY"),
    ("bar.foo.wild.rich.test.", "A"), ("explicit.wild.rich.test.", "A"),
    ("explicit.wild.rich.test.", "TXT"), ("sub.explicit.wild.rich.test.", "A"),
    ("*.wild.rich.test.", "A"), ("wild.rich.test.", "A"), ("x.cwild.rich.test.", "A"),
    ("x.cwild.rich.test.", "CNAME"), ("deleg.rich.test.", "NS"), ("deleg.rich.test.", "A"),
    ("deleg.rich.test.", "DS"), ("host.deleg.rich.test.", "A"), ("ns.deleg.rich.test.", "A"),
    ("a.b.deleg.rich.test.", "MX"), ("alias.rich.test.", "A"), ("alias.rich.test.", "CNAME"),
    ("alias.rich.test.", "AAAA"), ("alias.rich.test.", "MX"), ("chain1.rich.test.", "A"),
    ("out.rich.test.", "A"), ("todeleg.rich.test.", "A"), ("towild.rich.test.", "A"),
    ("dangling.rich.test.", "A"), ("tomx.rich.test.", "MX"), ("svc.rich.test.", "SRV"),
    ("_sip._tcp.rich.test.", "SRV"), ("_tcp.rich.test.", "SRV"), ("ptr.rich.test.", "PTR"),
    ("redir.rich.test.", "DNAME"), ("redir.rich.test.", "A"), ("foo.redir.rich.test.", "A"),
    ("a.b.redir.rich.test.", "AAAA"), ("x.inzone.rich.test.", "A"), ("inzone.rich.test.", "A"),
    ("mail.rich.test.", "ANY"), ("ns1.rich.test.", "A"), ("www.other.test.", "A"),
    ("loop1.rich.test.", "A"), ("self.rich.test.", "TXT"), ("self.rich.test.", "CNAME"),
    ("mixed.rich.test.", "A"), ("mixed.rich.test.", "CNAME"), ("mixedmx.rich.test.", "MX"),
]  # fmt: skip


RCODE_BITS = 0x000F  # dnspython keeps the header's RCODE bits in ``flags``


def rcode_text(r: dns.message.Message) -> str:
    return dns.rcode.to_text(r.rcode())


def cname_loop(r: dns.message.Message) -> bool:
    """Whether the answer's CNAME chain from the QNAME comes back to a name it passed."""
    targets = {
        rrset.name: rrset[0].target for rrset in r.answer if rrset.rdtype == dns.rdatatype.CNAME
    }
    name, passed = r.question[0].name, set()
    while name in targets and name not in passed:
        passed.add(name)
        name = targets[name]
    return name in passed


# Given QTYPE, the reference's answer and leasedns's: the parts ("rcode", "flags", "answer",
# "authority", "additional") left out of the comparison, each for a reason its test states.
Leeway = Callable[[str, dns.message.Message, dns.message.Message], frozenset[str]]

SECTIONS = ("answer", "authority", "additional")


def compare_answers(
    label: str, qtype: str, a: dns.message.Message, b: dns.message.Message, leeway: Leeway
) -> list[str]:
    """What differs between the reference's answer ``a`` and leasedns's ``b`` (empty when
    alike), apart from what ``leeway`` leaves out."""
    skip = leeway(qtype, a, b)
    out = []
    if a.rcode() != b.rcode() and "rcode" not in skip:
        out.append(f"rcode: {label} {rcode_text(a)}, leasedns {rcode_text(b)}")
    if a.flags & ~RCODE_BITS != b.flags & ~RCODE_BITS and "flags" not in skip:
        out.append(
            f"flags: {label} {dns.flags.to_text(a.flags)}, leasedns {dns.flags.to_text(b.flags)}"
        )
    for section in SECTIONS:
        va, vb = views(getattr(a, section)), views(getattr(b, section))
        if va != vb and section not in skip:
            out.append(f"{section}:\n{zone_diff(va, vb, label)}")
    return out


def query_differences(pair: Pair, questions: list[tuple[str, str]], leeway: Leeway) -> list[str]:
    problems = []
    for qname, rdtype in questions:
        a, b = query(pair.ref, qname, rdtype), query(pair.leasedns, qname, rdtype)
        diff = compare_answers(pair.label, rdtype, a, b, leeway)
        if diff:
            problems.append(f"{qname} {rdtype}: " + "\n".join(diff))
    return problems


def dynamic_questions() -> list[tuple[str, str]]:
    """After the generated updates: every pool name (and a name below each, and a wildcard
    match) for every type."""
    names = {fqdn(rel, DYN) for rel in NAMES} | {
        "nx.dyn.test.",
        "ent.dyn.test.",
        "y.x.h3.dyn.test.",
    }
    names |= {f"below.{fqdn(rel, DYN)}" for rel in NAMES}
    names |= {"foo.wc.dyn.test.", "wc.dyn.test."}
    types = [*TYPES, "SOA", "NS", "ANY", "SRV"]
    return [(n, t) for n in sorted(names) for t in types]
