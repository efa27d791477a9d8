"""Presentation form of stored RRs, for the CLI, the API and zone export."""

from __future__ import annotations

import functools

import dns.rdata
import dns.rdataclass
import dns.rdatatype

from leasedns.wire import names
from leasedns.wire.names import Name


def rdata_text(rtype: int, rdata: bytes) -> str:
    if rtype == 1 and len(rdata) == 4:  # the common case in every audit line, without dnspython
        return f"{rdata[0]}.{rdata[1]}.{rdata[2]}.{rdata[3]}"
    try:
        rd = dns.rdata.from_wire(
            dns.rdataclass.IN, dns.rdatatype.RdataType.make(rtype), rdata, 0, len(rdata)
        )
        return rd.to_text()
    except Exception:  # noqa: BLE001 - unknown or odd data still shows, in RFC 3597 form
        return f"\\# {len(rdata)} {rdata.hex()}" if rdata else "\\# 0"


@functools.lru_cache(maxsize=512)
def type_text(rtype: int) -> str:
    return dns.rdatatype.to_text(dns.rdatatype.RdataType.make(rtype))


def rr_text(owner: Name, rtype: int, ttl: int, rdata: bytes) -> str:
    return f"{names.to_text(owner)} {ttl} IN {type_text(rtype)} {rdata_text(rtype, rdata)}"
