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
    zone_end: int = 12  # offset after the zone section: a reply echoes the bytes before it


def read_name(wire: bytes, off: int) -> tuple[Name, int]:
    """RFC 1035 §4.1.4 name with compression; pointers must point backwards (no loops)."""
    try:
        return names.read_message_name(wire, off)
    except names.NameError_ as e:
        raise UpdateFormatError(str(e)) from e


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
    msg = UpdateMessage(qid, flags, zone, zclass, zrtype, zone_end=off)
    for section, count in ((msg.prereqs, prcount), (msg.updates, upcount)):
        for _ in range(count):
            try:  # owner names are mostly new: read directly, not looked up first
                name, off = names.read_compressed(wire, off)
            except names.NameError_ as e:
                raise UpdateFormatError(str(e)) from e
            rtype, rclass, ttl, rdlen, off = _rr_head(wire, off)
            section.append(
                UpdateRR(name, rtype, rclass, ttl, _rdata(wire, off, rdlen, rtype, rclass))
            )
            off += rdlen
    for _ in range(adcount):  # only OPT and TSIG matter here: owner names are skipped, not read
        root = off < len(wire) and wire[off] == 0
        try:
            off = names.skip_compressed(wire, off)
        except names.NameError_ as e:
            raise UpdateFormatError(str(e)) from e
        rtype, rclass, ttl, rdlen, off = _rr_head(wire, off)
        _additional(msg, root, rtype, rclass, ttl, wire, off, rdlen)
        off += rdlen
    if off != len(wire):
        raise UpdateFormatError("trailing bytes after the last section")
    return msg


def _rr_head(wire: bytes, off: int) -> tuple[int, int, int, int, int]:
    """TYPE, CLASS, TTL, RDLENGTH and the offset of the RDATA, which must fit the message."""
    if off + 10 > len(wire):
        raise UpdateFormatError("short RR")
    rtype, rclass, ttl, rdlen = _RRHEAD.unpack_from(wire, off)
    if off + 10 + rdlen > len(wire):
        raise UpdateFormatError("RDLENGTH runs past the end")
    return rtype, rclass, ttl, rdlen, off + 10


_FIXED_SIZE = {1: 4, 28: 16}  # A, AAAA
_ONE_NAME = frozenset((2, 5, 12, 39))  # NS, CNAME, PTR, DNAME: RDATA is one (compressible) name
T_TXT = 16


def _rdata(wire: bytes, off: int, rdlen: int, rtype: int, rclass: int) -> bytes:
    """Checked, uncompressed RDATA.  The types DHCP servers and hosts send are checked
    here; every other type is decoded and re-encoded by dnspython."""
    if rdlen == 0:
        return b""
    if rtype in (T_OPT, T_TSIG, T_ANY) or 128 <= rtype <= 255:
        raise UpdateFormatError("meta-type with data in an update section")
    end = off + rdlen
    size = _FIXED_SIZE.get(rtype)
    if size is not None:
        if rdlen != size:
            raise UpdateFormatError(f"bad rdata for type {rtype}: {rdlen} octets, not {size}")
        return wire[off:end]
    if rtype in _ONE_NAME:
        try:
            target, after = names.read_compressed(wire, off, in_rdata=True)
        except names.NameError_ as e:
            raise UpdateFormatError(f"bad rdata for type {rtype}: {e}") from e
        if after != end:
            raise UpdateFormatError(f"bad rdata for type {rtype}: data after the name")
        return names.to_wire(target)
    if rtype == T_TXT:  # RFC 1035 §3.3.14: one or more <character-string>s, exactly
        pos = off
        while pos < end:
            pos += wire[pos] + 1
        if pos != end:
            raise UpdateFormatError("bad rdata for type 16: strings overrun RDLENGTH")
        return wire[off:end]
    try:
        rd = dns.rdata.from_wire(
            dns.rdataclass.RdataClass(C_IN), dns.rdatatype.RdataType.make(rtype), wire, off, rdlen
        )
        return rd.to_wire() or b""
    except (dns.exception.DNSException, ValueError, IndexError, struct.error) as e:
        raise UpdateFormatError(f"bad rdata for type {rtype}: {e}") from e


def _additional(
    msg: UpdateMessage,
    root: bool,
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
    if msg.edns is not None or not root:
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
