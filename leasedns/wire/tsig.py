"""TSIG (RFC 8945) on wire bytes: verify requests, sign responses and streams, sign our requests.

A server answering updates verifies one request and signs one reply per update, so
that pair is computed here directly: the TSIG RR is read from the raw bytes and the
MAC input laid out as RFC 8945 §4.3 lists it, fed to ``hmac`` (constant-time compare
with ``hmac.compare_digest``).  Building dnspython's rdata objects for each message
cost several times the HMAC itself.  Multi-message streams (§5.3.1), our own
requests and their replies use dnspython's ``dns.tsig.sign`` / ``validate``, and the
tests check every path against dnspython as the peer.  Nothing here reads the clock:
``now`` (seconds since the epoch) is always passed in.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from typing import NamedTuple

import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TSIG
import dns.tsig

from leasedns.keys import ALGORITHMS, Keyring, TsigKey
from leasedns.wire import names
from leasedns.wire.names import Name
from leasedns.wire.opt import find_opt
from leasedns.wire.render import opt_rr

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
# Algorithm names as leasedns names (lower-case label tuples) -> canonical name.
_CANONICAL_ALGORITHMS: dict[Name, str] = {
    names.from_text(wire.to_text()): canonical for canonical, wire in _WIRE_ALGORITHMS.items()
}
_ALGORITHM_NAMES: dict[str, Name] = {c: n for n, c in _CANONICAL_ALGORITHMS.items()}
_DIGESTS = {"hmac-md5": hashlib.md5, "hmac-sha1": hashlib.sha1, "hmac-sha224": hashlib.sha224,
            "hmac-sha256": hashlib.sha256, "hmac-sha384": hashlib.sha384,
            "hmac-sha512": hashlib.sha512}  # fmt: skip
_CLASS_ANY_TTL_0 = struct.pack("!HI", _ANY, 0)
_TSIG_HEAD = struct.pack("!HHI", _TSIG, _ANY, 0)


class TsigFormatError(ValueError):
    """A TSIG RR that is misplaced, duplicated or malformed (RFC 8945 §5.2: FORMERR)."""


class TsigSigningError(ValueError):
    """A stream was asked to sign for a request that failed TSIG verification."""


class TsigContext(NamedTuple):
    """What a reply's MAC depends on: the key name and algorithm as sent, and the request's MAC.

    On the server it describes the request's TSIG; from ``sign_request`` it
    describes our own request, for ``verify_response``.
    """

    key_name: Name
    algorithm: Name
    mac: bytes
    time_signed: int
    fudge: int


class TsigResult(NamedTuple):
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


_COUNTS = struct.Struct("!HHHH")
_TYPE_AND_LENGTH = struct.Struct("!H6xH")  # TYPE, then RDLENGTH after CLASS and TTL


def _tsig_positions(wire: bytes) -> tuple[list[tuple[int, int]], int, int]:
    """Walk the RRs: (RR index, offset) of every TSIG RR, the RR count, and ARCOUNT."""
    size = len(wire)
    if size < 12:
        raise TsigFormatError("message shorter than a header")
    qd, an, ns, ar = _COUNTS.unpack_from(wire, 4)
    skip = names.skip_compressed
    head = _TYPE_AND_LENGTH.unpack_from
    found: list[tuple[int, int]] = []
    total = an + ns + ar
    try:
        pos = 12
        for _ in range(qd):
            pos = skip(wire, pos) + 4
        for i in range(total):
            start = pos
            pos = skip(wire, pos)
            if pos + 10 > size:
                raise TsigFormatError("RR header runs past the end of the message")
            rtype, rdlen = head(wire, pos)
            pos += 10 + rdlen
            if rtype == _TSIG:
                found.append((i, start))
    except names.NameError_ as e:
        raise TsigFormatError(str(e)) from None
    if pos != size:
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


class RawTsig(NamedTuple):
    """A TSIG RR as read from the wire (RFC 8945 §4.2), names as leasedns names."""

    key_name: Name
    algorithm: Name
    time_signed: int
    fudge: int
    mac: bytes
    original_id: int
    error: int
    other: bytes


def _name_at(wire: bytes, pos: int, limit: int) -> tuple[Name, int]:
    name, end = names.read_message_name(wire, pos)
    if end > limit:
        raise TsigFormatError("name runs past its RR")
    return name, end


def read_tsig(wire: bytes, start: int) -> RawTsig:
    """The TSIG RR at ``start``; RFC 8945 §4.2: CLASS ANY, TTL 0, RDATA exactly as long as said."""
    try:
        owner, pos = _name_at(wire, start, len(wire))
        _rtype, rdclass, ttl, rdlen = struct.unpack_from("!HHIH", wire, pos)
        pos += 10
        end = pos + rdlen
        if rdclass != _ANY or ttl != 0:
            raise TsigFormatError("TSIG RR must have CLASS ANY and TTL 0")
        if end > len(wire):
            raise TsigFormatError("TSIG RDATA runs past the end")
        algorithm, pos = _name_at(wire, pos, end)
        hi, lo, fudge, mac_len = struct.unpack_from("!HIHH", wire, pos)
        pos += 10
        mac = wire[pos : pos + mac_len]
        pos += mac_len
        original_id, error, other_len = struct.unpack_from("!HHH", wire, pos)
        pos += 6
        other = wire[pos : pos + other_len]
        pos += other_len
    except (names.NameError_, struct.error) as e:
        raise TsigFormatError(f"unreadable TSIG RR: {e}") from None
    if pos != end or len(mac) != mac_len or len(other) != other_len:
        raise TsigFormatError("TSIG RDATA length does not match its fields")
    return RawTsig(owner, algorithm, (hi << 32) | lo, fudge, mac, original_id, error, other)


def _strip_tsig(wire: bytes, start: int, original_id: int) -> bytes:
    """The message as it was before the TSIG RR was added (RFC 8945 §4.3.1): ID restored
    to the Original ID, ARCOUNT one less, the TSIG RR gone."""
    (ar,) = struct.unpack_from("!H", wire, 10)
    return struct.pack("!H", original_id) + wire[2:10] + struct.pack("!H", ar - 1) + wire[12:start]


def _variables(
    key_name: Name, algorithm: Name, time_signed: int, fudge: int, error: int, other: bytes
) -> bytes:
    """RFC 8945 §4.3.3: the TSIG variables a MAC covers, names in canonical (lower-case) form."""
    return (
        names.to_wire(key_name)
        + _CLASS_ANY_TTL_0
        + names.to_wire(algorithm)
        + struct.pack(
            "!HIHHH", time_signed >> 32 & 0xFFFF, time_signed & 0xFFFFFFFF, fudge, error, len(other)
        )  # fmt: skip
        + other
    )


_HMAC_BASES: dict[tuple[str, bytes], hmac.HMAC] = {}


def _mac(key: TsigKey, *parts: bytes) -> bytes:
    """HMAC of ``parts`` under ``key``; the keyed state is computed once per key and copied."""
    base = _HMAC_BASES.get((key.algorithm, key.secret))
    if base is None:
        if len(_HMAC_BASES) > 1024:
            _HMAC_BASES.clear()
        base = hmac.new(key.secret, digestmod=_DIGESTS[key.algorithm])
        _HMAC_BASES[(key.algorithm, key.secret)] = base
    h = base.copy()
    for part in parts:
        h.update(part)
    return h.digest()


def _tsig_rr(
    key_name: Name,
    algorithm: Name,
    time_signed: int,
    fudge: int,
    mac: bytes,
    original_id: int,
    error: int,
    other: bytes,
) -> bytes:
    rdata = (
        names.to_wire(algorithm)
        + struct.pack(
            "!HIHH", time_signed >> 32 & 0xFFFF, time_signed & 0xFFFFFFFF, fudge, len(mac)
        )  # fmt: skip
        + mac
        + struct.pack("!HHH", original_id, error, len(other))
        + other
    )
    return names.to_wire(key_name) + _TSIG_HEAD + struct.pack("!H", len(rdata)) + rdata


def _append(wire: bytes, rr: bytes) -> bytes:
    (ar,) = struct.unpack_from("!H", wire, 10)
    return wire[:10] + struct.pack("!H", ar + 1) + wire[12:] + rr


def _append_tsig(wire: bytes, owner: dns.name.Name, rdata: dns.rdtypes.ANY.TSIG.TSIG) -> bytes:
    rd = rdata.to_wire() or b""
    return _append(wire, (owner.to_wire() or b"") + _TSIG_HEAD + struct.pack("!H", len(rd)) + rd)


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


def _dns_name(name: Name) -> dns.name.Name:
    return dns.name.Name((*name, b""))


def _dns_key(owner: Name, key: TsigKey, algorithm: Name) -> dns.tsig.Key:
    return dns.tsig.Key(_dns_name(owner), key.secret, _dns_name(algorithm))


def verify_request(wire: bytes, keyring: Keyring, now: float) -> TsigResult:
    """RFC 8945 §5.2: check a request's TSIG: key (BADKEY), MAC (BADSIG), time (BADTIME),
    truncation (BADTRUNC), in that order. An unsigned request gives ``UNSIGNED``.

    MACs are compared with ``hmac.compare_digest``.
    """
    try:
        start = _find_tsig(wire)
        if start is None:
            return UNSIGNED
        rr = read_tsig(wire, start)
    except TsigFormatError:
        return TsigResult(key=None, error=FORMERR, ctx=None)
    ctx = TsigContext(rr.key_name, rr.algorithm, rr.mac, rr.time_signed, rr.fudge)
    # §5.2.1: unknown key, or a known key used with another algorithm.
    key = keyring.get(rr.key_name)
    if key is None or _CANONICAL_ALGORITHMS.get(rr.algorithm) != key.algorithm:
        return TsigResult(key=None, error=BADKEY, ctx=ctx)
    if rr.error != NOERROR:
        return TsigResult(key=None, error=FORMERR, ctx=None)
    # §5.2.2.1: MAC longer than the hash, or shorter than max(10, half of it), is FORMERR.
    size = ALGORITHMS[key.algorithm]
    mac_len = len(rr.mac)
    if mac_len > size or mac_len < max(10, size // 2):
        return TsigResult(key=None, error=FORMERR, ctx=None)
    # §4.3.1 + §4.3.3: the message before TSIG was added, then the TSIG variables.
    expected = _mac(
        key,
        _strip_tsig(wire, start, rr.original_id),
        _variables(rr.key_name, rr.algorithm, rr.time_signed, rr.fudge, rr.error, rr.other),
    )
    if not hmac.compare_digest(expected[:mac_len], rr.mac):
        return TsigResult(key=key, error=BADSIG, ctx=ctx)
    # §5.2.3: Time Signed must be within Fudge seconds of our clock.
    if abs(rr.time_signed - now) > rr.fudge:
        return TsigResult(key=key, error=BADTIME, ctx=ctx)
    # §5.2.4: a truncated MAC that verifies is still refused: our policy is full length.
    if mac_len < size:
        return TsigResult(key=key, error=BADTRUNC, ctx=ctx)
    return TsigResult(key=key, error=NOERROR, ctx=ctx)


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
    owner_len = len(names.to_wire(ctx.key_name))
    alg_len = len(names.to_wire(ctx.algorithm))
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
        rr = _tsig_rr(ctx.key_name, ctx.algorithm, t, FUDGE, b"", original_id, result.error, b"")
        return _append(response_wire, rr)
    time_signed, other = t, b""
    if result.error == BADTIME:
        time_signed = ctx.time_signed
        other = struct.pack("!HI", (t >> 32) & 0xFFFF, t & 0xFFFFFFFF)
    mac = _mac(
        result.key,
        struct.pack("!H", len(ctx.mac)),
        ctx.mac,
        response_wire,
        _variables(ctx.key_name, ctx.algorithm, time_signed, FUDGE, result.error, other),
    )
    rr = _tsig_rr(ctx.key_name, ctx.algorithm, time_signed, FUDGE, mac, original_id,
                  result.error, other)  # fmt: skip
    return _append(response_wire, rr)


def _reply_header_only(request_wire: bytes, rcode: int) -> bytes:
    """Header of a reply when even the question cannot be read: ID, opcode and RD kept."""
    if len(request_wire) < 4:
        return b""
    qid, flags = struct.unpack_from("!HH", request_wire, 0)
    flags = 0x8000 | (flags & 0x7900) | (rcode & 0xF)
    return struct.pack("!HHHHHH", qid, flags, 0, 0, 0, 0)


def error_response(
    request_wire: bytes, result: TsigResult, rcode: int, now: float, payload: int = 1232
) -> bytes:
    """The complete reply to a request that failed TSIG (or is otherwise refused).

    Header ID, opcode and RD copied, QR set, the question (zone section for UPDATE)
    copied, RCODE ``rcode`` (normally ``result.rcode``: NOTAUTH or FORMERR), an OPT
    advertising ``payload`` when the request had one (RFC 6891 §6.1.1 asks it of every
    response), then the TSIG RR from ``sign_response``. Returns b"" for a request too
    short to answer.
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
    edns = find_opt(request_wire)
    if edns is not None:  # no additional records yet: the OPT is the first, TSIG goes after
        wire = wire[:10] + b"\x00\x01" + wire[12:] + opt_rr(payload, do=edns[2])
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
        template = _template(_dns_name(ctx.algorithm), original_id)
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
        return _append_tsig(msg_wire, _dns_name(ctx.key_name), rdata)


def sign_request(
    wire: bytes, key: TsigKey, now: float, fudge: int = FUDGE
) -> tuple[bytes, TsigContext]:
    """Sign a request we send (NOTIFY, client UPDATE); the context verifies the reply."""
    algorithm = _ALGORITHM_NAMES[key.algorithm]
    owner = _dns_name(key.name)
    (original_id,) = struct.unpack_from("!H", wire, 0)
    template = _template(_WIRE_ALGORITHMS[key.algorithm], original_id, fudge=fudge)
    rdata, _ = dns.tsig.sign(
        wire, _dns_key(key.name, key, algorithm), template, time=int(now), request_mac=b""
    )
    ctx = TsigContext(key.name, algorithm, rdata.mac, rdata.time_signed, fudge)
    return _append_tsig(wire, owner, rdata), ctx


def verify_response(wire: bytes, key: TsigKey, request_ctx: TsigContext, now: float) -> bool:
    """RFC 8945 §5.4: a reply to our signed request must be signed by the same key over
    our request's MAC, in time. Replies carrying a TSIG error are not valid.
    """
    try:
        start = _find_tsig(wire)
        if start is None:
            return False
        rr = read_tsig(wire, start)
    except TsigFormatError:
        return False
    if rr.key_name != key.name or rr.algorithm != request_ctx.algorithm:
        return False
    if len(rr.mac) != ALGORITHMS[key.algorithm]:
        return False
    rdata = _template(_dns_name(rr.algorithm), rr.original_id, time_signed=rr.time_signed,
                      fudge=rr.fudge, mac=rr.mac, error=rr.error, other=rr.other)  # fmt: skip
    try:
        dns.tsig.validate(wire, _dns_key(rr.key_name, key, rr.algorithm),
                          _dns_name(rr.key_name), rdata, now, request_ctx.mac, start)  # fmt: skip
    except dns.exception.DNSException:
        return False
    return True
