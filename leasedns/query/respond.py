"""Turning a lookup result into a response message (flags, RCODE, sections, EDNS, TC)."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from leasedns.query.lookup import Kind, LookupResult
from leasedns.wire import names, opt
from leasedns.wire.names import Name
from leasedns.wire.render import Renderer, opt_rr

NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED, YXDOMAIN = 0, 1, 2, 3, 4, 5, 6
NOTAUTH = 9
BADVERS = 16
QR, AA, TC, RD, CD = 0x8000, 0x0400, 0x0200, 0x0100, 0x0010

_RCODE = {
    Kind.ANSWER: NOERROR,
    Kind.NODATA: NOERROR,
    Kind.REFERRAL: NOERROR,
    Kind.NXDOMAIN: NXDOMAIN,
    Kind.REFUSED: REFUSED,
    Kind.YXDOMAIN: YXDOMAIN,
}


@dataclass(slots=True)
class Request:
    """What the response depends on, taken from a validated query."""

    id: int
    flags: int
    opcode: int
    qname: Name
    qtype: int
    qclass: int
    question: bytes  # the question section exactly as received (letter case kept)
    edns: tuple[int, int, bool] | None  # (payload, version, DO) or None


def udp_limit(req: Request, max_udp: int) -> int:
    """RFC 6891 §6.2.5: the smaller of the client's and our size, never below 512."""
    if req.edns is None:
        return 512
    return max(512, min(req.edns[0], max_udp))


def _base_flags(req: Request) -> int:
    return QR | (req.opcode << 11) | (req.flags & (RD | CD))


def _opt(req: Request, max_udp: int, rcode: int = 0) -> bytes:
    assert req.edns is not None
    return opt_rr(max_udp, ext_rcode=rcode >> 4, do=req.edns[2])


def render_result(req: Request, res: LookupResult, tcp: bool, max_udp: int, tail: int = 0) -> bytes:
    """``tail`` octets are kept free at the end for a record appended afterwards (TSIG)."""
    limit = 65535 if tcp else udp_limit(req, max_udp)
    rcode = _RCODE[res.kind]
    flags = _base_flags(req) | rcode
    if res.authoritative and res.kind != Kind.REFUSED:
        flags |= AA
    reserve = (11 if req.edns is not None else 0) + tail
    r = Renderer(req.id, flags, req.question, req.qname, limit)
    fits = all(r.add(1, rr, reserve) for rr in res.answer) and all(
        r.add(2, rr, reserve) for rr in res.authority
    )
    if not fits:
        r = Renderer(req.id, flags | TC, req.question, req.qname, limit)
    else:
        for rr in res.additional:
            if not r.add(3, rr, reserve) and res.glue_required:
                r.set_flags(flags | TC)  # RFC 9471: in-domain glue that doesn't fit sets TC
                break
    if req.edns is not None:
        r.add_raw(3, _opt(req, max_udp))
    return r.finish()


def render_chaos_txt(req: Request, text: str, max_udp: int) -> bytes:
    """CH TXT version.bind and friends (RFC 4892): one TXT string, TTL 0, AA as BIND sets it."""
    data = text.encode()[:255]
    rdata = bytes((len(data),)) + data
    rr = b"\xc0\x0c" + struct.pack(">HHIH", 16, 3, 0, len(rdata)) + rdata  # owner: the qname
    r = Renderer(req.id, _base_flags(req) | AA, req.question, req.qname, 65535)
    r.add_raw(1, rr)
    if req.edns is not None:
        r.add_raw(3, _opt(req, max_udp))
    return r.finish()


def render_error(req: Request, rcode: int, max_udp: int) -> bytes:
    """An answerless reply (FORMERR, NOTIMP, REFUSED, BADVERS, ...) echoing the question."""
    r = Renderer(req.id, _base_flags(req) | (rcode & 0xF), req.question, req.qname, 65535)
    if req.edns is not None:
        r.add_raw(3, _opt(req, max_udp, rcode))
    return r.finish()


def render_unparsed(data: bytes, rcode: int, max_udp: int) -> tuple[int, bytes | None]:
    """The RCODE and reply for a message we did not parse (FORMERR) or will not (NOTIMP).

    An OPT of a version we don't speak makes it BADVERS, which RFC 6891 §6.1.3 puts before
    every other check; a well-formed OPT gets ours back (§6.1.1).  FORMERR and BADVERS
    echo the question when it can be read, as BIND and Knot do, so the client can match
    the reply (RFC 1035 §7.3)."""
    edns = opt.find_opt(data)
    if edns is not None and edns[1] > 0:
        rcode = BADVERS
    head = render_header_error(data, rcode & 0xF)
    if head is None:
        return rcode, None
    end = names.question_end(data) if rcode in (FORMERR, BADVERS) else None
    question = data[12:end] if end is not None else b""
    tail = opt_rr(max_udp, ext_rcode=rcode >> 4, do=edns[2]) if edns is not None else b""
    counts = bytes((0, 1 if question else 0, 0, 0, 0, 0, 0, 1 if tail else 0))
    return rcode, head[:4] + counts + question + tail


def render_header_error(data: bytes, rcode: int) -> bytes | None:
    """FORMERR for a packet we could not parse: header only, ID and opcode echoed."""
    if len(data) < 12:
        return None
    flags = QR | (data[2] & 0x78) << 8 | (data[2] & 0x01) << 8 | rcode
    return data[:2] + flags.to_bytes(2, "big") + b"\x00" * 8
