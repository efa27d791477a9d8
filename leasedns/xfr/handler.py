"""Answers to AXFR, IXFR and inbound NOTIFY requests (pure: store and clock come in as arguments).

Order of checks for a transfer, cheapest and least revealing first: TSIG
(a bad signature gets the RFC 8945 error), then class and zone (NOTAUTH when
we do not serve it, RFC 5936 §2.2.1 note e), then the ACL (REFUSED, nothing
else), then transport: AXFR over UDP is not defined (RFC 5936 §4.2), so it
is REFUSED rather than FORMERR: the request is well formed, we just will not
serve it that way.  Only then is the store read, in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from dnslib import DNSRecord

from leasedns.keys import Keyring
from leasedns.query import respond
from leasedns.query.respond import Request
from leasedns.query.zoneindex import ZoneIndex
from leasedns.server.dispatch import Reply
from leasedns.store.zonestore import Store
from leasedns.wire import tsig
from leasedns.wire.names import Name
from leasedns.wire.render import Renderer, opt_rr
from leasedns.xfr import ixfr
from leasedns.xfr.access import TransferAcl, peer_host
from leasedns.xfr.axfr import (
    T_SOA,
    RecordTooLargeError,
    RRset,
    ZoneMissingError,
    axfr_rrsets,
    pack_messages,
)

T_IXFR, T_AXFR = 251, 252
C_IN = 1

_NO_KEYS = Keyring()
_RCODE_OUTCOME = {
    respond.REFUSED: "refused",
    respond.NOTAUTH: "notauth",
    respond.FORMERR: "formerr",
    respond.SERVFAIL: "servfail",
    respond.NOTIMP: "notimp",
}


class XfrHandler:
    """Builds the replies; the wiring passes ``now`` and the current keyring on each call."""

    def __init__(
        self,
        store: Store,
        zones: ZoneIndex,
        acl_for: Callable[[Name], TransferAcl],
        max_udp: int = 1232,
    ) -> None:
        self.store = store
        self.zones = zones
        self.acl_for = acl_for
        self.max_udp = max_udp
        self.outcomes: dict[str, int] = {}  # plain counts, read by the metrics collector

    def _count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def _refuse(self, req: Request, tres: tsig.TsigResult, rcode: int, now: float) -> Reply:
        self._count(_RCODE_OUTCOME.get(rcode, "error"))
        return self._error(req, tres, rcode, now)

    def _error(self, req: Request, tres: tsig.TsigResult, rcode: int, now: float) -> Reply:
        wire = respond.render_error(req, rcode, self.max_udp)
        return Reply(tsig.sign_response(wire, tres, now))

    def transfer(
        self,
        data: bytes,
        req: Request,
        rec: DNSRecord,
        addr: object,
        tcp: bool,
        now: float,
        keyring: Keyring | None = None,
    ) -> Reply:
        """AXFR (RFC 5936) or IXFR (RFC 1995) for ``req.qname``."""
        tres = tsig.verify_request(data, keyring if keyring is not None else _NO_KEYS, now)
        if tres.error != tsig.NOERROR:
            self._count("tsig-error")
            return Reply(tsig.error_response(data, tres, tres.rcode, now, self.max_udp) or None)
        zone = req.qname
        if req.qclass != C_IN or zone not in self.zones:
            return self._refuse(req, tres, respond.NOTAUTH, now)
        if not self.acl_for(zone).allows(peer_host(addr), tres.key):
            return self._refuse(req, tres, respond.REFUSED, now)
        if req.qtype == T_AXFR and not tcp:
            return self._refuse(req, tres, respond.REFUSED, now)
        client_serial = None
        if req.qtype == T_IXFR:
            client_serial = ixfr_client_serial(rec, zone)
            if client_serial is None:
                return self._refuse(req, tres, respond.FORMERR, now)
        reserve = tsig.tsig_rr_size(tres)
        try:
            with self.store.reader() as reader:
                if client_serial is None:
                    outcome = "axfr"
                    msgs = self._pack(req, axfr_rrsets(reader, zone), reserve, tcp)
                else:
                    kind, diff = ixfr.plan(reader, zone, client_serial)
                    outcome = f"ixfr-{kind.value}"
                    if kind is ixfr.Plan.UP_TO_DATE:
                        rrsets: Iterable[RRset] = ixfr.up_to_date_rrsets(reader, zone)
                    elif kind is ixfr.Plan.INCREMENTAL:
                        assert diff is not None
                        rrsets = ixfr.ixfr_rrsets(diff)
                    else:
                        rrsets = axfr_rrsets(reader, zone)
                    msgs = self._pack(req, rrsets, reserve, tcp)
                    if msgs is None:  # RFC 1995 §2: too big for UDP, the SOA tells it to use TCP
                        outcome = "ixfr-udp-overflow"
                        msgs = self._pack(req, ixfr.up_to_date_rrsets(reader, zone), reserve, tcp)
        except ZoneMissingError:
            return self._refuse(req, tres, respond.SERVFAIL, now)
        if msgs is None:
            return self._refuse(req, tres, respond.SERVFAIL, now)
        self._count(outcome)
        stream = tsig.TsigStream(tres)
        signed = [stream.sign(m, now) for m in msgs]
        return Reply(signed[0], stream=signed[1:])

    def _pack(
        self, req: Request, rrsets: Iterable[RRset], reserve: int, tcp: bool
    ) -> list[bytes] | None:
        """All messages over TCP; over UDP exactly one message that fits, or None."""
        if tcp:
            try:
                return list(pack_messages(req, rrsets, reserve=reserve, edns_payload=self.max_udp))
            except RecordTooLargeError:
                return None
        limit = respond.udp_limit(req, self.max_udp)
        out: list[bytes] = []
        try:
            for m in pack_messages(  # without AA over UDP (see response_flags)
                req, rrsets, limit, limit, reserve=reserve, edns_payload=self.max_udp, aa=False
            ):
                out.append(m)
                if len(out) > 1:
                    return None
        except RecordTooLargeError:
            return None
        return out

    def notify(
        self,
        data: bytes,
        req: Request,
        rec: DNSRecord,
        addr: object,
        now: float,
        keyring: Keyring | None = None,
    ) -> Reply:
        """RFC 1996 §3.7: acknowledge a NOTIFY for a zone we serve; we are its primary,
        so there is nothing to refresh.  Other zones get NOTAUTH, odd QTYPEs NOTIMP, and a
        class other than IN NOTIMP, as from BIND and Knot (and as for UPDATE)."""
        tres = tsig.verify_request(data, keyring if keyring is not None else _NO_KEYS, now)
        if tres.error != tsig.NOERROR:
            return Reply(tsig.error_response(data, tres, tres.rcode, now, self.max_udp) or None)
        if req.qclass != C_IN:
            return self._error(req, tres, respond.NOTIMP, now)
        if req.qname not in self.zones:
            return self._error(req, tres, respond.NOTAUTH, now)
        if req.qtype != T_SOA:
            return self._error(req, tres, respond.NOTIMP, now)
        flags = respond.QR | (req.opcode << 11) | respond.AA | (req.flags & respond.RD)
        r = Renderer(req.id, flags, req.question, req.qname, 65535)
        if req.edns is not None:
            r.add_raw(3, opt_rr(self.max_udp, do=req.edns[2]))
        return Reply(tsig.sign_response(r.finish(), tres, now))


def ixfr_client_serial(rec: DNSRecord, zone: Name) -> int | None:
    """RFC 1995 §3: the client's version is the SOA in the request's authority section."""
    for rr in rec.auth:
        if rr.rtype != T_SOA:
            continue
        owner = tuple(label.lower() for label in rr.rname.label)
        if owner != zone:
            continue
        times = getattr(rr.rdata, "times", None)
        if times:
            return int(times[0])
    return None
