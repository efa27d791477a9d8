"""Rendering responses to wire form: name compression, whole-RRset truncation, OPT.

Written by hand rather than through dnslib's packer so that owner names
compress against the question *case-insensitively*: every answer then points
at the question's bytes, which is what lets the answer cache replay a response
with another query's ID and letter case (0x20) and stay byte-identical.  Names
inside RDATA keep the case they were stored with (as BIND and Knot send them,
and as RFC 5936 §3.4 asks of transfers): they never point into the question, and
only at earlier bytes of exactly the same case.
"""

from __future__ import annotations

import struct

from leasedns.wire import names
from leasedns.wire.names import Name

_RR = struct.Struct(">HHIH")
_HDR = struct.Struct(">HHHHHH")

# Where names sit in the rdata of types RFC 1035 lets us compress (RFC 3597 §4).
_COMPRESSIBLE = {2: (0,), 5: (0,), 12: (0,), 15: (2,), 6: (0, None)}

RRset = tuple[Name, int, int, tuple[bytes, ...]]


class Renderer:
    """Builds one message; ``add`` refuses (returns False) an RRset that would not fit."""

    __slots__ = ("buf", "limit", "table", "clean", "counts")

    def __init__(self, header_id: int, flags: int, question: bytes, qname: Name, limit: int):
        self.buf = bytearray(_HDR.pack(header_id, flags, 1 if question else 0, 0, 0, 0))
        self.limit = limit
        self.table: dict[Name, int] = {}  # every name written, lower-cased: owners point anywhere
        self.clean: dict[Name, int] = {}  # as written, owing nothing to the question: for RDATA
        self.counts = [1 if question else 0, 0, 0, 0]
        if question:
            self._remember(qname, 12)
            self.buf += question

    def _remember(self, name: Name, offset: int) -> None:
        table = self.table
        for i in range(len(name)):
            suffix = name[i:]
            if suffix in table or offset > 0x3FFF:
                break
            table[suffix] = offset
            offset += len(name[i]) + 1

    def _name(self, out: bytearray, name: Name, in_rdata: bool = False) -> None:
        """Write ``name``, ending in a pointer to its longest suffix already written; in
        RDATA (``name`` as stored, its case kept) only to a suffix written in exactly that
        case and not taken from the question."""
        lookup = self.clean if in_rdata else self.table
        hit, ptr = len(name), None
        for i in range(len(name)):
            ptr = lookup.get(name[i:])
            if ptr is not None:
                hit = i
                break
        clean = ptr is None or self.clean.get(name[hit:]) == ptr
        lower = tuple(label.lower() for label in name) if in_rdata else name
        for i in range(hit):
            offset = len(self.buf) + len(out)
            if offset <= 0x3FFF:
                self.table.setdefault(lower[i:], offset)
                if clean:
                    self.clean.setdefault(name[i:], offset)
            label = name[i]
            out.append(len(label))
            out += label
        if ptr is None:
            out.append(0)
        else:
            out += struct.pack(">H", 0xC000 | ptr)

    def _rdata(self, out: bytearray, rtype: int, rdata: bytes) -> None:
        if rtype not in _COMPRESSIBLE:
            out += rdata
            return
        try:
            if rtype == 6:
                mname, i = names.from_wire(rdata, 0, True)
                rname, j = names.from_wire(rdata, i, True)
                self._name(out, mname, True)
                self._name(out, rname, True)
                out += rdata[j:]
                return
            off = _COMPRESSIBLE[rtype][0] or 0
            target, end = names.from_wire(rdata, off, True)
            out += rdata[:off]
            self._name(out, target, True)
            out += rdata[end:]
        except names.NameError_:
            out += rdata

    def add(self, section: int, rrset: RRset, reserve: int = 0) -> bool:
        """Append a whole RRset to section 1..3; on overflow leave the message unchanged."""
        owner, rtype, ttl, rdatas = rrset
        buf = self.buf
        saved_len = len(buf)
        saved_table, saved_clean = dict(self.table), dict(self.clean)
        for rd in rdatas:
            out = bytearray()
            self._name(out, owner)
            buf += out
            buf += b"\x00" * 10
            rd_out = bytearray()
            self._rdata(rd_out, rtype, rd)  # may point back into buf, so buf is current
            buf[-10:] = _RR.pack(rtype, 1, ttl, len(rd_out))
            buf += rd_out
        if len(buf) + reserve > self.limit:
            del buf[saved_len:]
            self.table, self.clean = saved_table, saved_clean
            return False
        self.counts[section] += len(rdatas)
        return True

    def add_raw(self, section: int, rr: bytes) -> None:
        """Append a pre-rendered RR (OPT, TSIG) without a size check."""
        self.buf += rr
        self.counts[section] += 1

    def set_flags(self, flags: int) -> None:
        struct.pack_into(">H", self.buf, 2, flags)

    def finish(self) -> bytes:
        struct.pack_into(">HHHH", self.buf, 4, *self.counts)
        return bytes(self.buf)


def opt_rr(payload: int, ext_rcode: int = 0, version: int = 0, do: bool = False) -> bytes:
    """RFC 6891 §6.1.2 OPT pseudo-RR with no options."""
    ttl = (ext_rcode << 24) | (version << 16) | (0x8000 if do else 0)
    return b"\x00" + _RR.pack(41, payload, ttl, 0)
