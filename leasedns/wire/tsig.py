"""TSIG (RFC 8945) on wire bytes: verify requests, sign responses and streams, sign our requests.

The HMAC framing is dnspython's (``dns.tsig.sign`` / ``dns.tsig.validate``); this
module finds the TSIG RR in raw bytes, applies the RFC 8945 §5.2 checks in order
(key, MAC, time, truncation) and appends TSIG RRs to messages built elsewhere.
Nothing here reads the clock: ``now`` (seconds since the epoch) is always passed in.
"""

from __future__ import annotations

import hmac
import struct
from dataclasses import dataclass

import dns.exception
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TSIG
import dns.tsig
import dns.wire

from leasedns.keys import ALGORITHMS, Keyring, TsigKey
from leasedns.wire.names import Name

# Values of the TSIG Error field (RFC 8945 §3) and the RCODEs that go with them.
NOERROR = 0
FORMERR = 1  # an RCODE, not a TSIG error: the TSIG RR could not be interpreted
NOTAUTH = 9
BADSIG = 16
BADKEY = 17
BADTIME = 18
BADTRUNC = 22

FUDGE = 300  # RFC 8945 §10 recommends 300 seconds

_TSIG = dns.rdatatype.TSIG
_ANY = dns.rdataclass.ANY

_WIRE_ALGORITHMS: dict[str, dns.name.Name] = {
    "hmac-md5": dns.name.from_text("hmac-md5.sig-alg.reg.int"),
    "hmac-sha1": dns.name.from_text("hmac-sha1"),
    "hmac-sha224": dns.name.from_text("hmac-sha224"),
    "hmac-sha256": dns.name.from_text("hmac-sha256"),
    "hmac-sha384": dns.name.from_text("hmac-sha384"),
    "hmac-sha512": dns.name.from_text("hmac-sha512"),
}
_CANONICAL_ALGORITHMS = {wire: canonical for canonical, wire in _WIRE_ALGORITHMS.items()}


class TsigFormatError(ValueError):
    """A TSIG RR that is misplaced, duplicated or malformed (RFC 8945 §5.2: FORMERR)."""


class TsigSigningError(ValueError):
    """A stream was asked to sign for a request that failed TSIG verification."""


@dataclass(frozen=True)
class TsigContext:
    """What a reply's MAC depends on: the key name and algorithm as sent, and the request's MAC.

    On the server it describes the request's TSIG; from ``sign_request`` it
    describes our own request, for ``verify_response``.
    """

    key_name: dns.name.Name
    algorithm: dns.name.Name
    mac: bytes
    time_signed: int
    fudge: int


@dataclass(frozen=True)
class TsigResult:
    """Outcome of ``verify_request``.

    ``key`` is set when the key is known (also for BADSIG/BADTIME/BADTRUNC);
    ``ctx`` is None for an unsigned request and for FORMERR. ``error`` is NOERROR,
    FORMERR, BADSIG, BADKEY, BADTIME or BADTRUNC.
    """

    key: TsigKey | None
    error: int
    ctx: TsigContext | None

    @property
    def signed(self) -> bool:
        return self.ctx is not None

    @property
    def authenticated(self) -> bool:
        """The request carried a valid TSIG from ``key``."""
        return self.error == NOERROR and self.key is not None

    @property
    def rcode(self) -> int:
        """RFC 8945 §5.2: TSIG errors are answered with NOTAUTH, a bad TSIG RR with FORMERR."""
        if self.error in (NOERROR, FORMERR):
            return self.error
        return NOTAUTH


UNSIGNED = TsigResult(key=None, error=NOERROR, ctx=None)


def _skip_name(wire: bytes, pos: int) -> int:
    while True:
        if pos >= len(wire):
            raise TsigFormatError("name runs past the end of the message")
        n = wire[pos]
        if n == 0:
            return pos + 1
        if n & 0xC0 == 0xC0:
            if pos + 2 > len(wire):
                raise TsigFormatError("compression pointer runs past the end")
            return pos + 2
        if n & 0xC0:
            raise TsigFormatError("unknown label type")
        pos += n + 1


def _tsig_positions(wire: bytes) -> tuple[list[tuple[int, int]], int, int]:
    """Walk the RRs: (RR index, offset) of every TSIG RR, the RR count, and ARCOUNT."""
    if len(wire) < 12:
        raise TsigFormatError("message shorter than a header")
    qd, an, ns, ar = struct.unpack_from("!HHHH", wire, 4)
    pos = 12
    for _ in range(qd):
        pos = _skip_name(wire, pos) + 4
    total = an + ns + ar
    found: list[tuple[int, int]] = []
    for i in range(total):
        start = pos
        pos = _skip_name(wire, pos)
        if pos + 10 > len(wire):
            raise TsigFormatError("RR header runs past the end of the message")
        rtype, _cls, _ttl, rdlen = struct.unpack_from("!HHIH", wire, pos)
        pos += 10 + rdlen
        if rtype == _TSIG:
            found.append((i, start))
    if pos != len(wire):
        raise TsigFormatError("message length does not match its RRs")
    return found, total, ar


def _find_tsig(wire: bytes) -> int | None:
    """Offset of the TSIG RR, or None when there is none.

    RFC 8945 §5.2: a TSIG RR anywhere but last in the additional section, or a
    second one, is FORMERR; so is data after the last RR.
    """
    found, total, ar = _tsig_positions(wire)
    if not found:
        return None
    if len(found) > 1:
        raise TsigFormatError("more than one TSIG RR")
    index, start = found[0]
    if index != total - 1 or ar == 0:
        raise TsigFormatError("TSIG is not the last additional RR")
    return start


def has_tsig(wire: bytes) -> bool:
    """Cheap test for a TSIG RR anywhere in the message; ``verify_request`` judges it.

    Malformed messages give False: the message parser reports those.
    """
    if len(wire) < 12 or wire[6:12] == b"\x00" * 6:
        return False
    try:
        found, _total, _ar = _tsig_positions(wire)
    except TsigFormatError:
        return False
    return bool(found)


def _read_tsig(wire: bytes, start: int) -> tuple[dns.name.Name, dns.rdtypes.ANY.TSIG.TSIG]:
    """RFC 8945 §4.2: owner is the key name, CLASS ANY, TTL 0."""
    parser = dns.wire.Parser(wire, start)
    try:
        owner = parser.get_name(decompress=True)
        _rtype, rdclass, ttl, rdlen = parser.get_struct("!HHIH")
        if rdclass != _ANY or ttl != 0:
            raise TsigFormatError("TSIG RR must have CLASS ANY and TTL 0")
        with parser.restrict_to(rdlen):
            rdata = dns.rdata.from_wire_parser(_ANY, _TSIG, parser)
    except dns.exception.DNSException as e:
        raise TsigFormatError(f"unreadable TSIG RR: {e}") from None
    assert isinstance(rdata, dns.rdtypes.ANY.TSIG.TSIG)
    return owner, rdata


def _strip_tsig(wire: bytes, start: int) -> bytes:
    """The message as it was before the TSIG RR was added (RFC 8945 §4.3.1)."""
    (ar,) = struct.unpack_from("!H", wire, 10)
    return wire[:10] + struct.pack("!H", ar - 1) + wire[12:start]


def _append_tsig(wire: bytes, owner: dns.name.Name, rdata: dns.rdtypes.ANY.TSIG.TSIG) -> bytes:
    rd = rdata.to_wire() or b""
    rr = (owner.to_wire() or b"") + struct.pack("!HHIH", _TSIG, _ANY, 0, len(rd)) + rd
    (ar,) = struct.unpack_from("!H", wire, 10)
    return wire[:10] + struct.pack("!H", ar + 1) + wire[12:] + rr


def _template(
    algorithm: dns.name.Name,
    original_id: int,
    *,
    time_signed: int = 0,
    fudge: int = FUDGE,
    mac: bytes = b"",
    error: int = NOERROR,
    other: bytes = b"",
) -> dns.rdtypes.ANY.TSIG.TSIG:
    return dns.rdtypes.ANY.TSIG.TSIG(
        _ANY, _TSIG, algorithm, time_signed, fudge, mac, original_id, error, other
    )


def _dns_key(owner: dns.name.Name, key: TsigKey, algorithm: dns.name.Name) -> dns.tsig.Key:
    return dns.tsig.Key(owner, key.secret, algorithm)


def _name_of(dname: dns.name.Name) -> Name:
    labels = dname.labels[:-1] if dname.is_absolute() else dname.labels
    return tuple(label.lower() for label in labels)


def _wire_algorithm(key: TsigKey) -> dns.name.Name:
    return _WIRE_ALGORITHMS[key.algorithm]


def _time_ok(rdata: dns.rdtypes.ANY.TSIG.TSIG, now: float) -> bool:
    """RFC 8945 §5.2.3: Time Signed must be within Fudge seconds of our clock."""
    return abs(rdata.time_signed - now) <= rdata.fudge


def verify_request(wire: bytes, keyring: Keyring, now: float) -> TsigResult:
    """RFC 8945 §5.2: check a request's TSIG: key (BADKEY), MAC (BADSIG), time (BADTIME),
    truncation (BADTRUNC), in that order. An unsigned request gives ``UNSIGNED``.

    MACs are compared with ``hmac.compare_digest``.
    """
    try:
        start = _find_tsig(wire)
        if start is None:
            return UNSIGNED
        owner, rdata = _read_tsig(wire, start)
    except TsigFormatError:
        return TsigResult(key=None, error=FORMERR, ctx=None)
    ctx = TsigContext(
        key_name=owner,
        algorithm=rdata.algorithm,
        mac=rdata.mac,
        time_signed=rdata.time_signed,
        fudge=rdata.fudge,
    )
    # §5.2.1: unknown key, or a known key used with another algorithm.
    key = keyring.get(_name_of(owner))
    if key is None or _CANONICAL_ALGORITHMS.get(rdata.algorithm) != key.algorithm:
        return TsigResult(key=None, error=BADKEY, ctx=ctx)
    if rdata.error != NOERROR:
        return TsigResult(key=None, error=FORMERR, ctx=None)
    # §5.2.2.1: MAC longer than the hash, or shorter than max(10, half of it), is FORMERR.
    size = ALGORITHMS[key.algorithm]
    mac_len = len(rdata.mac)
    if mac_len > size or mac_len < max(10, size // 2):
        return TsigResult(key=None, error=FORMERR, ctx=None)
    dkey = _dns_key(owner, key, rdata.algorithm)
    if mac_len == size:
        try:
            dns.tsig.validate(wire, dkey, owner, rdata, now, b"", start)
        except dns.tsig.BadSignature:
            return TsigResult(key=key, error=BADSIG, ctx=ctx)
        except dns.tsig.BadTime:
            return TsigResult(key=key, error=BADTIME, ctx=ctx)
        except dns.exception.DNSException:
            return TsigResult(key=None, error=FORMERR, ctx=None)
        return TsigResult(key=key, error=NOERROR, ctx=ctx)
    # A truncated MAC: verify the prefix, then the time, then refuse the truncation
    # (§5.2.4: our policy is full-length MACs only).
    full, _ = dns.tsig.sign(
        _strip_tsig(wire, start), dkey, rdata, time=rdata.time_signed, request_mac=b""
    )
    if not hmac.compare_digest(full.mac[:mac_len], rdata.mac):
        return TsigResult(key=key, error=BADSIG, ctx=ctx)
    if not _time_ok(rdata, now):
        return TsigResult(key=key, error=BADTIME, ctx=ctx)
    return TsigResult(key=key, error=BADTRUNC, ctx=ctx)


def tsig_rr_size(result: TsigResult) -> int:
    """Octets ``sign_response`` will add, so a renderer can leave room for them."""
    if result.ctx is None:
        return 0
    ctx = result.ctx
    if result.key is None or result.error in (BADKEY, BADSIG):
        mac_len, other_len = 0, 0
    else:
        mac_len = ALGORITHMS[result.key.algorithm]
        other_len = 6 if result.error == BADTIME else 0
    owner_len = len(ctx.key_name.to_wire() or b"")
    alg_len = len(ctx.algorithm.to_wire() or b"")
    return owner_len + 10 + alg_len + 16 + mac_len + other_len


def sign_response(response_wire: bytes, result: TsigResult, now: float) -> bytes:
    """Append the TSIG RR a reply to a request verified as ``result`` needs (RFC 8945 §5.3).

    - unsigned request or FORMERR: no TSIG, ``response_wire`` is returned as is;
    - NOERROR: signed over the request MAC, the response and the TSIG variables;
    - BADKEY, BADSIG: an unsigned TSIG RR (empty MAC) carrying the error (§5.3.2);
    - BADTIME: signed, Time Signed copied from the request and our time in Other Data
      (§5.2.3), so the client can check the MAC and learn our clock;
    - BADTRUNC: signed (§5.3.2).

    ``response_wire`` must not already hold a TSIG RR; the RCODE is the caller's.
    """
    ctx = result.ctx
    if ctx is None:
        return response_wire
    (original_id,) = struct.unpack_from("!H", response_wire, 0)
    t = int(now)
    if result.key is None or result.error in (BADKEY, BADSIG):
        rdata = _template(ctx.algorithm, original_id, time_signed=t, error=result.error)
        return _append_tsig(response_wire, ctx.key_name, rdata)
    time_signed, other = t, b""
    if result.error == BADTIME:
        time_signed = ctx.time_signed
        other = struct.pack("!HI", (t >> 32) & 0xFFFF, t & 0xFFFFFFFF)
    template = _template(ctx.algorithm, original_id, error=result.error, other=other)
    dkey = _dns_key(ctx.key_name, result.key, ctx.algorithm)
    rdata, _ = dns.tsig.sign(response_wire, dkey, template, time=time_signed, request_mac=ctx.mac)
    return _append_tsig(response_wire, ctx.key_name, rdata)


def _reply_header_only(request_wire: bytes, rcode: int) -> bytes:
    """Header of a reply when even the question cannot be read: ID, opcode and RD kept."""
    if len(request_wire) < 4:
        return b""
    qid, flags = struct.unpack_from("!HH", request_wire, 0)
    flags = 0x8000 | (flags & 0x7900) | (rcode & 0xF)
    return struct.pack("!HHHHHH", qid, flags, 0, 0, 0, 0)


def error_response(request_wire: bytes, result: TsigResult, rcode: int, now: float) -> bytes:
    """The complete reply to a request that failed TSIG (or is otherwise refused).

    Header ID, opcode and RD copied, QR set, the question (zone section for UPDATE)
    copied, RCODE ``rcode`` (normally ``result.rcode``: NOTAUTH or FORMERR), then the
    TSIG RR from ``sign_response``. Returns b"" for a request too short to answer.
    """
    try:
        query = dns.message.from_wire(request_wire, keyring=False, question_only=True)
        response = dns.message.make_response(query)
        response.set_rcode(dns.rcode.Rcode.make(rcode))
        wire = response.to_wire()
    except (dns.exception.DNSException, ValueError):
        wire = _reply_header_only(request_wire, rcode)
        if not wire:
            return b""
    return sign_response(wire, result, now)


class TsigStream:
    """Signs each message of a multi-message reply (AXFR/IXFR over TCP, RFC 8945 §5.3.1).

    The first message's MAC covers the request MAC; each later one covers the previous
    MAC, the message and the timers only. Every message is signed. For an unsigned
    request the messages pass through unchanged.
    """

    def __init__(self, result: TsigResult) -> None:
        if result.ctx is not None and not result.authenticated:
            raise TsigSigningError(f"cannot sign a stream after TSIG error {result.error}")
        self._result = result
        self._digest: object | None = None

    def sign(self, msg_wire: bytes, now: float) -> bytes:
        ctx = self._result.ctx
        key = self._result.key
        if ctx is None or key is None:
            return msg_wire
        (original_id,) = struct.unpack_from("!H", msg_wire, 0)
        template = _template(ctx.algorithm, original_id)
        dkey = _dns_key(ctx.key_name, key, ctx.algorithm)
        rdata, self._digest = dns.tsig.sign(
            msg_wire,
            dkey,
            template,
            time=int(now),
            request_mac=ctx.mac,
            ctx=self._digest,
            multi=True,
        )
        return _append_tsig(msg_wire, ctx.key_name, rdata)


def sign_request(
    wire: bytes, key: TsigKey, now: float, fudge: int = FUDGE
) -> tuple[bytes, TsigContext]:
    """Sign a request we send (NOTIFY, client UPDATE); the context verifies the reply."""
    owner = dns.name.Name(key.name + (b"",))
    algorithm = _wire_algorithm(key)
    (original_id,) = struct.unpack_from("!H", wire, 0)
    template = _template(algorithm, original_id, fudge=fudge)
    rdata, _ = dns.tsig.sign(
        wire, _dns_key(owner, key, algorithm), template, time=int(now), request_mac=b""
    )
    ctx = TsigContext(
        key_name=owner,
        algorithm=algorithm,
        mac=rdata.mac,
        time_signed=rdata.time_signed,
        fudge=fudge,
    )
    return _append_tsig(wire, owner, rdata), ctx


def verify_response(wire: bytes, key: TsigKey, request_ctx: TsigContext, now: float) -> bool:
    """RFC 8945 §5.4: a reply to our signed request must be signed by the same key over
    our request's MAC, in time. Replies carrying a TSIG error are not valid.
    """
    try:
        start = _find_tsig(wire)
        if start is None:
            return False
        owner, rdata = _read_tsig(wire, start)
    except TsigFormatError:
        return False
    if _name_of(owner) != key.name or rdata.algorithm != request_ctx.algorithm:
        return False
    if len(rdata.mac) != ALGORITHMS[key.algorithm]:
        return False
    dkey = _dns_key(owner, key, rdata.algorithm)
    try:
        dns.tsig.validate(wire, dkey, owner, rdata, now, request_ctx.mac, start)
    except dns.exception.DNSException:
        return False
    return True
