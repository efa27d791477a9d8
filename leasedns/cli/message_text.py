"""A DNS message as BIND's nsupdate and dig print it, so `show`, `answer` and `-d` read the same.

BIND renders messages with its "debug" master-file style: owner, TTL, class, type and
RDATA in columns 0, 24, 32, 40 and 48, reached with tabs (8 wide) and at least one
space when a field runs past the next column. Scripts that parse nsupdate's output
depend on this layout, so it is reproduced here rather than using dnspython's text.
"""

from __future__ import annotations

import base64

import dns.edns
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.tsig

from leasedns.cli.nsupdate_lang import UPDATE_LEASE_OPTION, update_lease_of

_COLUMNS = (24, 32, 40, 48)  # TTL, class, type, RDATA
_TAB = 8
_FLAGS = (("qr", 0x8000), ("aa", 0x0400), ("tc", 0x0200), ("rd", 0x0100), ("ra", 0x0080),
          ("ad", 0x0020), ("cd", 0x0010))  # fmt: skip
_UPDATE_LABELS = ("ZONE", "PREREQ", "UPDATE", "ADDITIONAL")
_QUERY_LABELS = ("QUERY", "ANSWER", "AUTHORITY", "ADDITIONAL")
_UPDATE_SECTIONS = ("ZONE", "PREREQUISITE", "UPDATE", "ADDITIONAL")
_QUERY_SECTIONS = ("QUESTION", "ANSWER", "AUTHORITY", "ADDITIONAL")


def _indent(column: int, to: int) -> tuple[str, int]:
    """Whitespace from ``column`` to ``to`` as BIND writes it: tabs where they land on a
    tab stop, then spaces; always at least one character."""
    to = max(to, column + 1)
    tabs = to // _TAB - column // _TAB
    if tabs > 0:
        return "\t" * tabs + " " * (to - (to // _TAB) * _TAB), to
    return " " * (to - column), to


def _line(fields: list[str]) -> str:
    """Owner, then TTL, class, type and RDATA at their columns (empty fields still indent)."""
    out = [fields[0]]
    column = len(fields[0])
    for text, to in zip(fields[1:], _COLUMNS, strict=False):
        pad, column = _indent(column, to)
        out += [pad, text]
        column += len(text)
    return "".join(out)


def _rdata_text(rd: dns.rdata.Rdata) -> str:
    text = rd.to_text()
    if isinstance(rd, dns.rdata.GenericRdata):  # RFC 3597 form; BIND writes the hex upper case
        text = text.upper()
    return text


def _rrset_lines(rrset: dns.rrset.RRset, *, question: bool = False) -> list[str]:
    owner = rrset.name.to_text()
    cls = dns.rdataclass.to_text(rrset.deleting or rrset.rdclass)
    rtype = dns.rdatatype.to_text(rrset.rdtype)
    if question:
        return [_line([";" + owner, "", cls, rtype])]
    ttl = str(rrset.ttl)
    if len(rrset) == 0:  # a prerequisite or delete with no RDATA
        return [_line([owner, ttl, cls, rtype, ""])]
    return [_line([owner, ttl, cls, rtype, _rdata_text(rd)]) for rd in rrset]


def _tsig_line(message: dns.message.Message) -> str:
    rd = message.tsig[0]  # type: ignore[index]
    error = dns.rcode.to_text(rd.error, tsig=True)  # type: ignore[arg-type]
    other = base64.b64encode(rd.other).decode()
    text = (f"{rd.algorithm} {rd.time_signed} {rd.fudge} {len(rd.mac)} "
            f"{base64.b64encode(rd.mac).decode()} {rd.original_id} {error} {len(rd.other)} {other}")  # fmt: skip
    return _line([message.keyname.to_text(), "0", "ANY", "TSIG", text])  # type: ignore[union-attr]


def _edns_lines(message: dns.message.Message) -> list[str]:
    flags = " do" if message.ednsflags & dns.flags.DO else ""
    lines = [f"; EDNS: version: {message.edns}, flags:{flags}; udp: {message.payload}"]
    for option in message.options:
        lease = update_lease_of(message) if option.otype == UPDATE_LEASE_OPTION else None
        if lease is not None:
            lines.append(lease.to_text())
        else:
            lines.append(f"; OPT={int(option.otype)}: {(option.to_wire() or b'').hex(' ').upper()}")
    return lines


def message_text(message: dns.message.Message, *, rendered: bool = True) -> str:
    """``message`` as BIND prints it. ``rendered=False`` is nsupdate's ``show``: the update
    has not been rendered yet, so BIND shows ID 0, zero counts and no TSIG."""
    is_update = message.opcode() == dns.opcode.UPDATE
    sections = [message.sections[i] for i in range(4)]
    counts = [len(s) for s in sections]
    if rendered:
        counts[3] += (message.edns >= 0) + (message.tsig is not None)
    else:
        counts = [0, 0, 0, 0]
    flags = "".join(f" {name}" for name, bit in _FLAGS if message.flags & bit)
    labels = _UPDATE_LABELS if is_update else _QUERY_LABELS
    opcode = dns.opcode.to_text(message.opcode())
    status = dns.rcode.to_text(message.rcode())
    qid = message.id if rendered else 0
    out = [
        f";; ->>HEADER<<- opcode: {opcode}, status: {status}, id: {qid:6d}",
        f";; flags:{flags}; " + ", ".join(f"{k}: {n}" for k, n in zip(labels, counts, strict=True)),
    ]
    if message.edns >= 0:
        out += [";; OPT PSEUDOSECTION:", *_edns_lines(message), ""]
    titles = _UPDATE_SECTIONS if is_update else _QUERY_SECTIONS
    for index, (title, section) in enumerate(zip(titles, sections, strict=True)):
        if section:
            out.append(f";; {title} SECTION:")
            for rrset in section:
                out += _rrset_lines(rrset, question=index == 0)
            out.append("")
    if rendered and message.tsig is not None:
        out += [";; TSIG PSEUDOSECTION:", _tsig_line(message), ""]
    return "\n".join(out) + "\n"
