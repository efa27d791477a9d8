"""Test helpers: a zone in the in-memory store behind an ``XfrHandler``; dnspython as the client.

A plain module (not conftest) so tests can import it by a name unique in the tree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import dns.message
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.xfr
import dns.zone

from leasedns.keys import Keyring
from leasedns.query.zoneindex import ZoneIndex
from leasedns.server.dispatch import Reply, parse_request
from leasedns.store.memory_kv import MemoryKV
from leasedns.store.zonestore import Store
from leasedns.wire import names
from leasedns.xfr.access import DEFAULT_ACL, TransferAcl
from leasedns.xfr.handler import XfrHandler
from leasedns.zone import loader
from leasedns.zone.masterfile import parse_zone_file

ORIGIN = "lab.example."
ZONE = names.from_text(ORIGIN)
NOW = 1_700_000_000.0

RRKey = tuple[str, int, int, bytes]


def zone_text(serial: int, hosts: dict[str, str], extra: str = "", retry: int = 600) -> str:
    lines = [
        f"$ORIGIN {ORIGIN}",
        "$TTL 3600",
        f"@ IN SOA ns1 hostmaster {serial} 3600 {retry} 1209600 300",
        "@ IN NS ns1",
        "ns1 IN A 10.0.0.2",
    ]
    lines += [f"{h} IN A {a}" for h, a in hosts.items()]
    return "\n".join(lines) + "\n" + extra


def wire_rrs(messages: Iterable[bytes]) -> list[RRKey]:
    """Every answer RR of the messages, in order, as (owner, type, ttl, rdata wire)."""
    out: list[RRKey] = []
    for m in messages:
        msg = dns.message.from_wire(m, one_rr_per_rrset=True)
        for rrset in msg.answer:
            for rd in rrset:
                out.append(
                    (rrset.name.to_text().lower(), rrset.rdtype, rrset.ttl, rd.to_digestable())
                )
    return out


def dns_zone_rrs(z: dns.zone.Zone) -> set[RRKey]:
    out: set[RRKey] = set()
    for name, rdataset in z.iterate_rdatasets():
        owner = name.derelativize(z.origin).to_text().lower()
        for rd in rdataset:
            out.add((owner, rdataset.rdtype, rdataset.ttl, rd.to_digestable(z.origin)))
    return out


@dataclass
class Lab:
    """One zone; ``load`` imports a new version of its file exactly as the server does."""

    tmp: Path
    store: Store = field(default_factory=lambda: Store(MemoryKV()))
    acl: TransferAcl = DEFAULT_ACL
    keyring: Keyring | None = None
    max_udp: int = 1232
    version: int = 0

    def __post_init__(self) -> None:
        self.zones = ZoneIndex([ZONE])
        self.handler = XfrHandler(self.store, self.zones, lambda z: self.acl, self.max_udp)

    def load(self, text: str) -> loader.ImportResult:
        self.version += 1
        p = self.tmp / f"v{self.version}.zone"
        p.write_text(text)
        parsed = parse_zone_file(str(p), ZONE)
        with self.store.writer() as w:
            return loader.import_zone(w, parsed, "lab.zone", NOW + self.version)

    def stored_rrs(self) -> set[RRKey]:
        out: set[RRKey] = set()
        with self.store.reader() as r:
            for owner, rtype, ttl, rdatas in r.iter_zone(ZONE):
                for rd in rdatas:
                    out.add((names.to_text(owner), rtype, ttl, _digestable(rtype, rd)))
        return out

    def serial(self) -> int:
        with self.store.reader() as r:
            st = r.zone_state(ZONE)
        assert st is not None
        return st.serial

    def ask(
        self,
        query: dns.message.Message,
        tcp: bool = True,
        host: str = "127.0.0.1",
        now: float = NOW,
    ) -> Reply:
        data = query.to_wire()
        req, rec = parse_request(data)
        return self.handler.transfer(data, req, rec, (host, 53000), tcp, now, self.keyring)

    def messages(self, reply: Reply) -> list[bytes]:
        assert reply.wire is not None
        return [reply.wire, *reply.stream]

    def axfr_zone(self) -> dns.zone.Zone:
        """What a dnspython secondary holds after an AXFR from us."""
        z = dns.zone.Zone(ORIGIN)
        q = axfr_query()
        feed(z, q, self.messages(self.ask(q)), dns.rdatatype.AXFR, None)
        return z


def _digestable(rtype: int, rd: bytes) -> bytes:
    return dns.rdata.from_wire(dns.rdataclass.IN, rtype, rd, 0, len(rd)).to_digestable()


def axfr_query() -> dns.message.QueryMessage:
    return dns.message.make_query(ORIGIN, dns.rdatatype.AXFR, want_dnssec=False, use_edns=False)


def ixfr_query(serial: int, use_edns: bool = False) -> dns.message.QueryMessage:
    q = dns.message.make_query(ORIGIN, dns.rdatatype.IXFR, use_edns=use_edns)
    soa = dns.rrset.from_text(
        ORIGIN, 0, "IN", "SOA", f"ns1.{ORIGIN} hostmaster.{ORIGIN} {serial} 0 0 0 0"
    )
    q.authority.append(soa)
    return q


def feed(
    z: dns.zone.Zone,
    q: dns.message.Message,
    messages: list[bytes],
    rdtype: dns.rdatatype.RdataType,
    serial: int | None,
    is_udp: bool = False,
) -> None:
    """Run dnspython's transfer client (``dns.xfr.Inbound``) over our messages."""
    with dns.xfr.Inbound(z, rdtype, serial, is_udp) as inbound:
        done = False
        tsig_ctx = None
        for i, m in enumerate(messages):
            r = dns.message.from_wire(
                m,
                keyring=q.keyring,
                request_mac=q.mac,
                xfr=True,
                origin=z.origin,
                tsig_ctx=tsig_ctx,
                multi=not is_udp,
                one_rr_per_rrset=rdtype == dns.rdatatype.IXFR,
            )
            assert q.is_response(r, xfr_continuation=i > 0)
            done = inbound.process_message(r)
            tsig_ctx = r.tsig_ctx
        assert done, "transfer did not end with the closing SOA"
