"""Reading an UPDATE message (RFC 2136 §2) RR by RR, in the order it was sent.

dnspython's update reader merges RRs into RRsets, which loses the order that
§3.4.2 applies them in and the per-RR TTL a deferred delete carries, so the
sections are walked here; rdata is decoded (and decompressed) by dnspython.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import dns.exception
import dns.rdata
import dns.rdataclass
import dns.rdatatype

from leasedns.wire import names
from leasedns.wire.names import Name

C_IN, C_NONE, C_ANY = 1, 254, 255
T_SOA, T_OPT, T_TSIG, T_ANY = 6, 41, 250, 255
OPT_UPDATE_LEASE = 2  # RFC 9664 §4


class UpdateFormatError(ValueError):
    """The message is not a well-formed UPDATE (answered FORMERR)."""


@dataclass(frozen=True, slots=True)
class UpdateRR:
    name: Name
    rtype: int
    rclass: int
    ttl: int
    rdata: bytes  # uncompressed wire form; b"" when RDLENGTH was 0


@dataclass(slots=True)
class UpdateMessage:
    id: int
    flags: int
    zone: Name
    zclass: int
    zrtype: int
    prereqs: list[UpdateRR] = field(default_factory=list)
    updates: list[UpdateRR] = field(default_factory=list)
    lease: tuple[int, int | None] | None = None  # RFC 9664 (LEASE, KEY-LEASE)
    edns: tuple[int, int, bool] | None = None
    signed: bool = False


def read_name(wire: bytes, off: int) -> tuple[Name, int]:
    """RFC 1035 §4.1.4 name with compression; pointers must point backwards (no loops)."""
    labels: list[bytes] = []
    end = -1
    jumps = 0
    pos = off
    while True:
        if pos >= len(wire):
            raise UpdateFormatError("name runs past the end")
        n = wire[pos]
        if n & 0xC0 == 0xC0:
            if pos + 1 >= len(wire):
                raise UpdateFormatError("truncated compression pointer")
            ptr = ((n & 0x3F) << 8) | wire[pos + 1]
            if end < 0:
                end = pos + 2
            if ptr >= pos or jumps > 64:
                raise UpdateFormatError("bad compression pointer")
            jumps += 1
            pos = ptr
            continue
        if n & 0xC0:
            raise UpdateFormatError("unknown label type")
        pos += 1
        if n == 0:
            break
        labels.append(wire[pos : pos + n].lower())
        pos += n
    name = tuple(labels)
    try:
        names.check(name)
    except names.NameError_ as e:
        raise UpdateFormatError(str(e)) from e
    return name, (end if end >= 0 else pos)


_RRHEAD = struct.Struct(">HHIH")


def parse_update(wire: bytes) -> UpdateMessage:
    if len(wire) < 12:
        raise UpdateFormatError("short header")
    qid, flags, zocount, prcount, upcount, adcount = struct.unpack_from(">HHHHHH", wire, 0)
    if zocount != 1:
        raise UpdateFormatError("ZOCOUNT must be 1 (RFC 2136 §3.1.1)")
    zone, off = read_name(wire, 12)
    if off + 4 > len(wire):
        raise UpdateFormatError("short zone section")
    zrtype, zclass = struct.unpack_from(">HH", wire, off)
    off += 4
    msg = UpdateMessage(qid, flags, zone, zclass, zrtype)
    for section, count in ((msg.prereqs, prcount), (msg.updates, upcount), (None, adcount)):
        for _ in range(count):
            name, off = read_name(wire, off)
            if off + 10 > len(wire):
                raise UpdateFormatError("short RR")
            rtype, rclass, ttl, rdlen = _RRHEAD.unpack_from(wire, off)
            off += 10
            if off + rdlen > len(wire):
                raise UpdateFormatError("RDLENGTH runs past the end")
            if section is None:
                _additional(msg, name, rtype, rclass, ttl, wire, off, rdlen)
            else:
                rdata = _rdata(wire, off, rdlen, rtype, rclass)
                section.append(UpdateRR(name, rtype, rclass, ttl, rdata))
            off += rdlen
    if off != len(wire):
        raise UpdateFormatError("trailing bytes after the last section")
    return msg


def _rdata(wire: bytes, off: int, rdlen: int, rtype: int, rclass: int) -> bytes:
    if rdlen == 0:
        return b""
    if rtype in (T_OPT, T_TSIG, T_ANY) or 128 <= rtype <= 255:
        raise UpdateFormatError("meta-type with data in an update section")
    try:
        rd = dns.rdata.from_wire(
            dns.rdataclass.RdataClass(C_IN), dns.rdatatype.RdataType.make(rtype), wire, off, rdlen
        )
        return rd.to_wire() or b""
    except (dns.exception.DNSException, ValueError, IndexError, struct.error) as e:
        raise UpdateFormatError(f"bad rdata for type {rtype}: {e}") from e


def _additional(
    msg: UpdateMessage,
    name: Name,
    rtype: int,
    rclass: int,
    ttl: int,
    wire: bytes,
    off: int,
    rdlen: int,
) -> None:
    if rtype == T_TSIG:
        msg.signed = True
        return
    if rtype != T_OPT:
        return  # RFC 2136 §3.8 leaves the additional section to the implementation; ignored
    if msg.edns is not None or name:
        raise UpdateFormatError("bad or repeated OPT")
    msg.edns = (rclass, (ttl >> 16) & 0xFF, bool(ttl & 0x8000))
    end = off + rdlen
    while off + 4 <= end:
        code, ln = struct.unpack_from(">HH", wire, off)
        off += 4
        if code == OPT_UPDATE_LEASE:
            if ln == 4:
                msg.lease = (int.from_bytes(wire[off : off + 4], "big"), None)
            elif ln == 8:
                msg.lease = (
                    int.from_bytes(wire[off : off + 4], "big"),
                    int.from_bytes(wire[off + 4 : off + 8], "big"),
                )
            else:
                raise UpdateFormatError("Update Lease option must be 4 or 8 bytes (RFC 9664 §4)")
        off += ln
    if off != end:
        raise UpdateFormatError("malformed EDNS options")
