"""Bytes in, reply out: validate a message and route it by opcode (pure; no sockets).

Cheapest rejections first, as NSD's ``query_process`` does: short packets and
responses are dropped, unknown opcodes get NOTIMP, anything dnslib cannot
parse gets FORMERR.  Only then does a query reach the lookup engine.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from dnslib import DNSError, DNSRecord

from leasedns.keys import Keyring
from leasedns.query import respond
from leasedns.query.lookup import Lookup, LookupResult
from leasedns.query.respond import Request
from leasedns.query.zoneindex import ZoneIndex
from leasedns.store.zonestore import Store
from leasedns.wire import names, tsig
from leasedns.wire.names import Name

OP_QUERY, OP_NOTIFY, OP_UPDATE = 0, 4, 5
T_OPT, T_TSIG, T_IXFR, T_AXFR, T_MAILB, T_MAILA = 41, 250, 251, 252, 253, 254
C_IN, C_CH, T_TXT = 1, 3, 16


@dataclass(slots=True)
class Reply:
    """What to send back; ``result`` is set for answers the cache may keep."""

    wire: bytes | None
    result: LookupResult | None = None
    stream: list[bytes] = field(default_factory=list)


@dataclass(slots=True)
class Counters:
    """Plain integers bumped on the query path, read by the metrics collector at scrape time."""

    queries: dict[tuple[int, int], int] = field(default_factory=dict)
    malformed: int = 0
    truncated: int = 0
    cache_misses: int = 0
    dropped: int = 0

    def count(self, qtype: int, rcode: int) -> None:
        k = (qtype, rcode)
        self.queries[k] = self.queries.get(k, 0) + 1


class FormErr(Exception):
    """A message that does not follow RFC 1035 §4.1."""


def parse_request(data: bytes) -> tuple[Request, DNSRecord]:
    """Validate with dnslib, then take the question exactly as it was sent.

    dnslib refuses labels that are not UTF-8, but any octet may be in a label (RFC 2181
    §11): it is shown the question with such octets masked (lengths and offsets kept), and
    the question itself is read here from the original bytes."""
    try:
        rec = DNSRecord.parse(data)
    except (DNSError, ValueError, IndexError, KeyError, UnicodeError, TypeError) as e:
        rec = _parse_masked(data, e)
    h = rec.header
    if h.q != 1 or len(rec.questions) != 1:
        raise FormErr("QDCOUNT must be 1")
    i = 12
    labels = []
    while True:
        if i >= len(data):
            raise FormErr("question runs past the end")
        n = data[i]
        if n == 0:
            break
        if n > 63:
            raise FormErr("compressed question name")
        labels.append(data[i + 1 : i + 1 + n].lower())
        i += n + 1
    qend = i + 5
    if qend > len(data):
        raise FormErr("short question")
    qname = tuple(labels)
    try:
        names.check(qname, allow_nul=True)
    except names.NameError_ as e:
        raise FormErr(str(e)) from e
    qtype = int.from_bytes(data[i + 1 : i + 3], "big")
    qclass = int.from_bytes(data[i + 3 : i + 5], "big")
    edns = None
    opts = [rr for rr in rec.ar if rr.rtype == T_OPT]
    for idx, rr in enumerate(rec.ar):
        if rr.rtype == T_TSIG and idx != len(rec.ar) - 1:
            raise FormErr("TSIG must be the last record")
    if len(opts) > 1:
        raise FormErr("more than one OPT")
    if opts:
        o = opts[0]
        if str(o.rname) not in (".", ""):
            raise FormErr("OPT owner must be the root")
        edns = (int(o.rclass), (int(o.ttl) >> 16) & 0xFF, bool(int(o.ttl) & 0x8000))
    flags = int.from_bytes(data[2:4], "big")
    req = Request(h.id, flags, h.opcode, qname, qtype, qclass, bytes(data[12:qend]), edns)
    return req, rec


def _parse_masked(data: bytes, error: Exception) -> DNSRecord:
    """dnslib again, on the question with its octets above 127 masked (lengths and offsets
    kept): it refuses labels that are not UTF-8, which any label may be (RFC 2181 §11)."""
    end = names.question_end(data)
    if end is None or max(data[12 : end - 4], default=0) < 0x80:
        raise FormErr(str(error)) from error
    q = bytes(b if b < 0x80 else 0x78 for b in data[12 : end - 4])  # length octets are < 64
    try:
        return DNSRecord.parse(data[:12] + q + data[end - 4 :])
    except (DNSError, ValueError, IndexError, KeyError, UnicodeError, TypeError) as e:
        raise FormErr(str(e)) from e


class Dispatcher:
    """Routes validated messages; the update, transfer and notify engines plug in."""

    def __init__(
        self, zones: ZoneIndex, max_udp: int = 1232, clock: Callable[[], float] = time.time
    ) -> None:
        self.zones = zones
        self.max_udp = max_udp
        self.clock = clock
        self.counters = Counters()
        self.keyring: Callable[[], Keyring] = Keyring  # TSIG keys (set by the wiring): none yet
        self.identity: dict[Name, str] = {}  # CH TXT name -> text (RFC 4892), set by the core
        self.update_handler: Callable[[bytes, object, Callable[[bytes], None]], None] | None = None
        self.notify_handler: Callable[[bytes, Request, DNSRecord, object], Reply] | None = None
        self.xfr_handler: Callable[[bytes, Request, DNSRecord, object, bool], Reply] | None = None

    def handle(
        self,
        data: bytes,
        store: Store,
        addr: object,
        tcp: bool,
        send: Callable[[bytes], None] | None = None,
    ) -> Reply:
        """Answer ``data``; an UPDATE is queued and answered later through ``send``."""
        c = self.counters
        if len(data) < 12 or data[2] & 0x80:
            c.dropped += 1
            return Reply(None)  # too short to answer, or a response: never reply (RFC 1035 §7.3)
        opcode = (data[2] >> 3) & 0xF
        if opcode == OP_UPDATE and self.update_handler is not None and send is not None:
            self.update_handler(data, addr, send)  # its own parser: dnslib can't read prereqs
            return Reply(None)
        if opcode not in (OP_QUERY, OP_NOTIFY):
            return self._unparsed(data, respond.NOTIMP)
        try:
            req, rec = parse_request(data)
        except FormErr:
            c.malformed += 1
            return self._unparsed(data, respond.FORMERR)
        if req.edns is not None and req.edns[1] > 0:
            c.count(req.qtype, respond.BADVERS)
            return Reply(respond.render_error(req, respond.BADVERS, self.max_udp))
        if opcode == OP_NOTIFY:
            if self.notify_handler is None:
                return Reply(respond.render_error(req, respond.NOTIMP, self.max_udp))
            return self.notify_handler(data, req, rec, addr)
        return self.query(data, req, rec, store, addr, tcp)

    def query(
        self,
        data: bytes,
        req: Request,
        rec: DNSRecord,
        store: Store,
        addr: object,
        tcp: bool,
    ) -> Reply:
        qtype = req.qtype
        if qtype in (T_AXFR, T_IXFR):
            if self.xfr_handler is None:
                return Reply(respond.render_error(req, respond.NOTIMP, self.max_udp))
            return self.xfr_handler(data, req, rec, addr, tcp)
        tres, now = tsig.UNSIGNED, 0.0
        if rec.ar and rec.ar[-1].rtype == T_TSIG:
            # RFC 8945 §5.2: checked before anything else (BADKEY, BADSIG, BADTIME: NOTAUTH)
            now = self.clock()
            tres = tsig.verify_request(data, self.keyring(), now)
            if tres.error != tsig.NOERROR:
                self.counters.count(qtype, tres.rcode)
                return Reply(tsig.error_response(data, tres, tres.rcode, now, self.max_udp) or None)
        rcode = self._refusal(req)
        if rcode:
            wire = self._chaos(req) or respond.render_error(req, rcode, self.max_udp)
            res = None
        else:
            with store.reader() as reader:
                res = Lookup(reader, self.zones).run(req.qname, qtype, tcp)
            tail = tsig.tsig_rr_size(tres)  # room for the TSIG RR (0 when unsigned)
            wire = respond.render_result(req, res, tcp, self.max_udp, tail)
            if wire[2] & 0x02:
                self.counters.truncated += 1
        self.counters.count(qtype, wire[3] & 0xF)
        if tres.signed:  # §5.3: signed, and never cached (each carries its own time and MAC)
            return Reply(tsig.sign_response(wire, tres, now))
        return Reply(wire, res)

    def _unparsed(self, data: bytes, rcode: int) -> Reply:
        """NOTIMP or FORMERR without a parsed request (or BADVERS: ``render_unparsed``)."""
        rcode, wire = respond.render_unparsed(data, rcode, self.max_udp)
        self.counters.count(0, rcode)
        return Reply(wire)

    def _chaos(self, req: Request) -> bytes | None:
        """The server's identity in class CH (version.bind, hostname.bind, ...), as BIND,
        Knot and NSD answer by default; None for everything else in a class not IN."""
        if req.qclass != C_CH or req.qtype != T_TXT:
            return None
        text = self.identity.get(req.qname)
        return respond.render_chaos_txt(req, text, self.max_udp) if text else None

    def _refusal(self, req: Request) -> int:
        """The RCODE for a question we do not look up, or 0.

        Records in a query's answer or authority section are ignored, as BIND and Knot do:
        RFC 1035 §4.1 puts no condition on them and keeps FORMERR (§4.1.1) for requests
        the server cannot interpret."""
        qtype = req.qtype
        if qtype in (T_OPT, T_TSIG):
            return respond.FORMERR
        if qtype in (T_MAILA, T_MAILB) or 128 <= qtype <= 249:
            return respond.NOTIMP
        if req.qclass != C_IN:
            return respond.REFUSED
        return 0
