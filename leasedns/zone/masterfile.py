"""RFC 1035 master files read into records that remember their file and line, with zone checks.

The text is read by dnspython's zone-file reader, so ``$ORIGIN``, ``$TTL``,
``$GENERATE`` (BIND syntax with ``${offset,width,base}`` modifiers), ``@``,
relative and omitted owners, parentheses, comments, quoted strings and RFC 3597
``TYPEnnn \\# len hex`` behave as dnspython and BIND define them.  This module
adds what a server loading zones needs: every record keeps the file and line it
came from, every error names ``file:line: reason``, and the zone as a whole is
checked (one SOA at the origin, NS at the origin, nothing out of zone, no CNAME
beside other data, class IN only, no NUL byte in a name).

The zone origin is the ``origin`` argument if given, else the first ``$ORIGIN``
that comes before any record, else the owner of the first record (the SOA).

``$INCLUDE`` resolves a relative path against the directory of the file that
holds the ``$INCLUDE`` line.  BIND resolves it against the server's working
directory instead; we do not, so a ``zones/`` directory can be moved or copied
with its includes.  An included file is read with the including file's current
origin (or the origin given on the ``$INCLUDE`` line); when it ends, origin,
last owner and TTL state return to what they were, as RFC 1035 §5.1 says.

Line numbers are those of the token where the problem shows, which for a record
over several lines in parentheses may be a later line than its owner.  Records
made by ``$GENERATE`` carry the ``$GENERATE`` line.  Line 0 means the file as a
whole (it cannot be read).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.tokenizer
import dns.transaction
import dns.ttl
import dns.zonefile

from leasedns.wire import names
from leasedns.wire.names import Name

_INCLUDE_DEPTH_LIMIT = 20

# RFC 2181 §8: a TTL with the top bit set is taken as zero (BIND does the same).
_MAX_TTL = 0x7FFFFFFF

# Reader state that $INCLUDE saves and restores (RFC 1035 §5.1).
_INCLUDE_STATE = (
    "tok",
    "current_origin",
    "last_name",
    "last_ttl",
    "last_ttl_known",
    "default_ttl",
    "default_ttl_known",
    "default_ttl_from_soa",
)

# RFC 2181 §10.1 and RFC 4035 §2.5: these may share an owner with a CNAME.
_CNAME_NEUTRAL_TYPES = frozenset({dns.rdatatype.NSEC, dns.rdatatype.NSEC3, dns.rdatatype.KEY})
_SIGNATURE_TYPES = frozenset({dns.rdatatype.RRSIG, dns.rdatatype.SIG})

# Rdata fields holding names that lookups follow (and so become store keys).
_FOLLOWED_NAME_FIELDS = ("target", "exchange", "mname")

_LAYOUT_CHARS = frozenset(" \t\n()")

_REASON_REWRITES = {
    "": "syntax error",
    "Text input is malformed.": "syntax error",
    "Text input ended unexpectedly.": "unexpected end of input",
    "RR class is not zone's class": "record class is not IN (only class IN is served)",
    "the last used name is undefined": "no owner name: the first record must name its owner",
    "Missing default TTL value": "no TTL: the record has none and there is no $TTL before it",
}

_LOCATION_PREFIX = re.compile(r"^\S*?:\d+:\s*")
_WRAPPED_EXCEPTION = re.compile(r"^caught exception <class '[\w.]+'>:\s*")


@dataclass(frozen=True, slots=True)
class ZoneRecord:
    name: Name
    rtype: int
    ttl: int
    rdata: bytes
    file: str
    line: int


@dataclass(frozen=True)
class ParsedZone:
    origin: Name
    records: list[ZoneRecord]
    files: dict[str, str]
    warnings: list[str]


class ZoneFileError(Exception):
    """A master file that cannot be loaded."""

    def __init__(self, file: str, line: int, reason: str) -> None:
        super().__init__(f"{file}:{line}: {reason}")
        self.file = file
        self.line = line
        self.reason = reason


def parse_zone_file(path: str, origin: Name | None = None) -> ParsedZone:
    """Read a master file and its $INCLUDEs, check it as one zone, and return its records."""
    main = os.path.abspath(path)
    files: dict[str, str] = {}
    text = _read_text(main, files, main, 0, "cannot read zone file")
    start_origin = None if origin is None else _to_dns_name(origin)
    reader = _MasterFileReader(main, text, start_origin, files)
    reader.read()
    zone = _check_zone(main, reader.apex, reader.rows)
    return ParsedZone(origin=zone.apex, records=zone.records, files=files, warnings=zone.warnings)


def fingerprint_files(paths: Iterable[str]) -> dict[str, str]:
    """Hash the files a zone was read from, to tell whether any changed; "" for a missing one."""
    result: dict[str, str] = {}
    for path in paths:
        try:
            with open(path, "rb") as f:
                result[path] = hashlib.sha256(f.read()).hexdigest()
        except OSError:
            result[path] = ""
    return result


def _read_text(path: str, files: dict[str, str], where: str, line: int, what: str) -> str:
    """Read ``path``, record its hash in ``files``; a failure is reported at ``where:line``."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise ZoneFileError(where, line, f"{what} {path!r}: {exc.strerror}") from None
    files[path] = hashlib.sha256(data).hexdigest()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad_line = data[: exc.start].count(b"\n") + 1
        raise ZoneFileError(path, bad_line, "text is not valid UTF-8") from None


def _to_dns_name(name: Name) -> dns.name.Name:
    return dns.name.Name((*name, b""))


def _from_dns_name(name: dns.name.Name) -> Name:
    return tuple(label.lower() for label in name.labels[:-1])


class _LineTokenizer(dns.tokenizer.Tokenizer):
    """dnspython's tokenizer, also knowing the line of the token it returned last.

    ``where()`` of the base class is one line late after a token that ends a
    line, because the newline it peeked at is already counted.
    """

    def __init__(self, text: str, filename: str) -> None:
        super().__init__(text, filename)
        self.token_line = 1
        self.char_line = 1
        self._start_line: int | None = None
        self._ungotten_line = 1
        self.quoted_as_identifier = False
        self.last_token: dns.tokenizer.Token | None = None
        self.paren_line = 1

    def _get_char(self) -> str:
        c = super()._get_char()
        self.char_line = self.line_number - 1 if c == "\n" else self.line_number
        if self._start_line is None and c and c not in _LAYOUT_CHARS:
            self._start_line = self.char_line
        if c == "(" and not self.multiline and not self.quoting:
            self.paren_line = self.char_line
        return c

    def get(self, want_leading: bool = False, want_comment: bool = False) -> dns.tokenizer.Token:
        pending, pending_line = self.ungotten_token, self._ungotten_line
        self._start_line = None
        try:
            token = super().get(want_leading, want_comment)
        except dns.exception.DNSException as exc:
            # An unclosed "(" shows only at the end of the file; name where it opened.
            unclosed = self.multiline and "parenthes" in str(exc)
            self.token_line = self.paren_line if unclosed else self.char_line
            self.last_token = None
            raise
        if pending is not None and token is pending:
            self.token_line = pending_line
        elif self._start_line is not None and not token.is_eol_or_eof():
            self.token_line = self._start_line
        else:
            self.token_line = self.char_line
        if self.quoted_as_identifier and token.is_quoted_string():
            # BIND takes a quoted $GENERATE operand as one word and parses the result.
            token = dns.tokenizer.Token(dns.tokenizer.IDENTIFIER, token.value, token.has_escape)
        self.last_token = token
        return token

    def unget(self, token: dns.tokenizer.Token) -> None:
        super().unget(token)
        self._ungotten_line = self.token_line


@dataclass(frozen=True, slots=True)
class _Row:
    name: dns.name.Name
    ttl: int
    rdata: dns.rdata.Rdata
    file: str
    line: int


class _RowCollector:
    """Takes the place of the transaction dnspython's reader adds to, keeping each RR's line.

    dnspython's transaction would merge RRs into RRsets at once, losing lines and
    per-RR TTLs, and it skips out-of-zone names; the checks here need all of it.
    """

    def __init__(self) -> None:
        self.rows: list[_Row] = []
        self.where = ("", 0)
        self.manager = self

    def origin_information(self) -> tuple[dns.name.Name, bool, dns.name.Name]:
        # The reader drops names outside its origin; the root keeps them for our check.
        return dns.name.root, False, dns.name.root

    def check_put_rdataset(self, check: Any) -> None:
        pass

    def add(self, name: dns.name.Name, ttl: int, rdata: dns.rdata.Rdata) -> None:
        self.rows.append(_Row(name, ttl, rdata, *self.where))


class _MasterFileReader(dns.zonefile.Reader):
    """dnspython's reader with our own directive loop, for $INCLUDE paths, origins and lines."""

    def __init__(
        self, path: str, text: str, origin: dns.name.Name | None, files: dict[str, str]
    ) -> None:
        self._collector = _RowCollector()
        txn = cast(dns.transaction.Transaction, self._collector)
        super().__init__(_LineTokenizer(text, path), dns.rdataclass.IN, txn)
        self.current_origin = origin
        self.last_name = None  # BIND: the first record must name its owner
        self.apex = origin
        self.files = files
        self._seen_record = False
        self._include_stack: list[dict[str, Any]] = []

    @property
    def rows(self) -> list[_Row]:
        return self._collector.rows

    @property
    def _source(self) -> _LineTokenizer:
        return cast(_LineTokenizer, self.tok)

    def read(self) -> None:
        try:
            self._read_entries()
        except ZoneFileError:
            raise
        except (dns.exception.DNSException, ValueError) as exc:
            source = self._source
            reason = _reason(exc, source.last_token)
            raise ZoneFileError(source.filename, source.token_line, reason) from None

    def _read_entries(self) -> None:
        while True:
            token = self._source.get(want_leading=True, want_comment=True)
            if token.is_eof():
                if not self._include_stack:
                    return
                for attr, value in self._include_stack.pop().items():
                    setattr(self, attr, value)
                continue
            if token.is_eol():
                continue
            if token.is_comment():
                self._source.get_eol()
                continue
            line = self._source.token_line
            if token.is_identifier() and token.value.startswith("$"):
                self._directive(token.value.upper(), line)
                continue
            if self.current_origin is None:
                self._origin_from_first_owner(token)
            self._source.unget(token)
            self._seen_record = True
            self._collector.where = (self._source.filename, line)
            self._rr_line()

    def _origin_from_first_owner(self, token: dns.tokenizer.Token) -> None:
        """With no origin given and no $ORIGIN, the first owner (the SOA's) is the origin."""
        if token.is_whitespace():
            raise dns.exception.SyntaxError("no owner name: the first record must name its owner")
        owner = None
        if token.is_identifier() and token.value != "@":
            owner = dns.name.from_text(token.value, None)
        if owner is None or not owner.is_absolute():
            raise dns.exception.SyntaxError(
                "relative owner name but no origin: add $ORIGIN or write it absolute"
            )
        self.current_origin = owner
        self.apex = owner

    def _directive(self, directive: str, line: int) -> None:
        if directive == "$TTL":
            token = self._source.get()
            if not token.is_identifier():
                raise dns.exception.SyntaxError("$TTL needs a value")
            self.default_ttl = dns.ttl.from_text(token.value)
            self.default_ttl_known = True
            self.default_ttl_from_soa = False
            self._source.get_eol()
        elif directive == "$ORIGIN":
            new_origin = self._source.get_name(self.current_origin)
            if not new_origin.is_absolute():
                raise dns.exception.SyntaxError("relative $ORIGIN with no origin before it")
            self._source.get_eol()
            self.current_origin = new_origin
            if self.apex is None and not self._seen_record:
                self.apex = new_origin
        elif directive == "$INCLUDE":
            self._include(line)
        elif directive == "$GENERATE":
            if self.current_origin is None:
                raise dns.exception.SyntaxError("$GENERATE before any origin is known")
            self._seen_record = True
            self._collector.where = (self._source.filename, line)
            self._source.quoted_as_identifier = True
            try:
                self._generate_line()
            finally:
                self._source.quoted_as_identifier = False
            self._source.get_eol()
        else:
            raise dns.exception.SyntaxError(f"unknown directive {directive}")

    def _include(self, line: int) -> None:
        """RFC 1035 §5.1 $INCLUDE <file> [<origin>], the path taken from this file's directory."""
        including = self._source.filename
        token = self._source.get()
        if not (token.is_identifier() or token.is_quoted_string()):
            raise dns.exception.SyntaxError("$INCLUDE needs a file name")
        target = os.path.normpath(os.path.join(os.path.dirname(including), token.value))
        token = self._source.get()
        new_origin = self.current_origin
        if token.is_identifier():
            new_origin = dns.name.from_text(token.value, self.current_origin)
            self._source.get_eol()
        elif not token.is_eol_or_eof():
            raise dns.exception.SyntaxError("bad origin in $INCLUDE")
        if new_origin is None or not new_origin.is_absolute():
            raise ZoneFileError(including, line, "$INCLUDE before any origin is known")
        open_files = [state["tok"].filename for state in self._include_stack] + [including]
        if target in open_files:
            raise ZoneFileError(including, line, f"$INCLUDE loop: {target!r} is already open")
        if len(self._include_stack) >= _INCLUDE_DEPTH_LIMIT:
            raise ZoneFileError(including, line, "$INCLUDE nested too deeply")
        text = _read_text(target, self.files, including, line, "cannot read $INCLUDE file")
        self._include_stack.append(
            {a: getattr(self, a) for a in _INCLUDE_STATE if hasattr(self, a)}
        )
        self.tok = _LineTokenizer(text, target)
        self.current_origin = new_origin


def _reason(exc: BaseException, near: dns.tokenizer.Token | None) -> str:
    """dnspython's message without its own "file:line:" or exception wrapping, BIND-like."""
    text = str(exc) or (exc.__class__.__doc__ or "").strip()
    text = _LOCATION_PREFIX.sub("", text, count=1)
    text = _WRAPPED_EXCEPTION.sub("bad rdata: ", text, count=1)
    text = _REASON_REWRITES.get(text, text)
    if text.startswith("unknown rdatatype"):
        return "unknown record type" + text[len("unknown rdatatype") :]
    if near is not None and not text.startswith("no TTL"):
        where = "the end of the line" if near.is_eol_or_eof() else repr(near.value)
        if near.is_eol_or_eof() or near.value not in text:
            text = f"near {where}: {text}"
    return text


@dataclass
class _CheckedZone:
    apex: Name
    records: list[ZoneRecord]
    warnings: list[str]


def _cname_kind(rtype: int, covers: int) -> str:
    """RFC 2181 §10.1, RFC 4035 §2.5: "cname", "neutral" (may sit beside one) or "other"."""
    if rtype in _SIGNATURE_TYPES:
        rtype = covers
    if rtype == dns.rdatatype.CNAME:
        return "cname"
    if rtype in _CNAME_NEUTRAL_TYPES:
        return "neutral"
    return "other"


def _at(record: ZoneRecord | _Row) -> str:
    return f"{record.file}:{record.line}"


def _type_text(rtype: int) -> str:
    return dns.rdatatype.to_text(dns.rdatatype.RdataType.make(rtype))


def _check_zone(main: str, apex_dns: dns.name.Name | None, rows: list[_Row]) -> _CheckedZone:
    """Check the records as one zone, in file order; the first problem is raised."""
    if apex_dns is None:
        raise ZoneFileError(main, 0, "no records and no origin: nothing to load")
    apex = _from_dns_name(apex_dns)
    apex_text = names.to_text(apex)
    records: list[ZoneRecord] = []
    warnings: list[str] = []
    seen: dict[tuple[Name, int, bytes], ZoneRecord] = {}
    rrset_first: dict[tuple[Name, int, int], ZoneRecord] = {}
    kinds_at: dict[Name, dict[str, ZoneRecord]] = {}
    soa: ZoneRecord | None = None
    for row in rows:
        record = _zone_record(row, apex, apex_text)
        if record.ttl != row.ttl:
            warnings.append(
                f"{_at(record)}: TTL {row.ttl} is above {_MAX_TTL}, served as 0 (RFC 2181 §8)"
            )
        rtype, covers = record.rtype, int(row.rdata.covers())
        key = (record.name, rtype, row.rdata.to_digestable())
        first = seen.get(key)
        if first is not None:
            warnings.append(f"{_at(record)}: duplicate record ignored (first at {_at(first)})")
            continue
        seen[key] = record
        rrset_key = (record.name, rtype, covers)
        rrset_head = rrset_first.setdefault(rrset_key, record)
        if rtype == dns.rdatatype.SOA:
            _check_soa(record, rrset_head, apex, apex_text)
            soa = rrset_head
        if rtype in (dns.rdatatype.CNAME, dns.rdatatype.DNAME) and rrset_head is not record:
            raise ZoneFileError(
                record.file,
                record.line,
                f"more than one {_type_text(rtype)} record at {names.to_text(record.name)} "
                f"(first at {_at(rrset_head)}; RFC 2181 §10.1, RFC 6672 §2.4)",
            )
        _check_cname_exclusive(record, _cname_kind(rtype, covers), kinds_at)
        if record.ttl != rrset_head.ttl:
            warnings.append(
                f"{_at(record)}: TTL {record.ttl} differs from TTL {rrset_head.ttl} of the "
                f"{names.to_text(record.name)} {_type_text(rtype)} RRset at {_at(rrset_head)}; "
                "the lowest is served (RFC 2181 §5.2)"
            )
        records.append(record)
    if soa is None:
        where = rows[0] if rows else None
        raise ZoneFileError(
            where.file if where else main,
            where.line if where else 0,
            f"no SOA record at the zone origin {apex_text} (RFC 1035 §5.2)",
        )
    if (apex, dns.rdatatype.NS, 0) not in rrset_first:
        raise ZoneFileError(
            soa.file, soa.line, f"no NS records at the zone origin {apex_text} (RFC 1034 §4.2.1)"
        )
    return _CheckedZone(apex, records, warnings)


def _zone_record(row: _Row, apex: Name, apex_text: str) -> ZoneRecord:
    """Convert one RR; names must be inside the zone and free of NUL bytes."""
    name = _from_dns_name(row.name)
    checked = [("owner name", row.name)]
    for attr in _FOLLOWED_NAME_FIELDS:
        value = getattr(row.rdata, attr, None)
        if isinstance(value, dns.name.Name):
            checked.append((f"{_type_text(row.rdata.rdtype)} {attr}", value))
    for what, dns_name in checked:
        try:
            names.check(_from_dns_name(dns_name))
        except names.NameError_ as exc:
            raise ZoneFileError(row.file, row.line, f"{what} {dns_name}: {exc}") from None
    if not names.is_subdomain(name, apex):
        raise ZoneFileError(
            row.file, row.line, f"{names.to_text(name)} is out of zone (zone is {apex_text})"
        )
    rdata = row.rdata.to_wire()
    assert rdata is not None
    ttl = 0 if row.ttl > _MAX_TTL else row.ttl
    return ZoneRecord(name, int(row.rdata.rdtype), ttl, rdata, row.file, row.line)


def _check_soa(record: ZoneRecord, first: ZoneRecord, apex: Name, apex_text: str) -> None:
    """RFC 1035 §5.2: exactly one SOA, at the top of the zone."""
    if record.name != apex:
        raise ZoneFileError(
            record.file,
            record.line,
            f"SOA record at {names.to_text(record.name)} is not at the zone origin {apex_text}",
        )
    if first is not record:
        raise ZoneFileError(
            record.file, record.line, f"more than one SOA record (first at {_at(first)})"
        )


def _check_cname_exclusive(
    record: ZoneRecord, kind: str, kinds_at: dict[Name, dict[str, ZoneRecord]]
) -> None:
    """RFC 1034 §3.6.2, RFC 2181 §10.1: a CNAME owner has no other data."""
    kinds = kinds_at.setdefault(record.name, {})
    kinds.setdefault(kind, record)
    clash = None
    if kind == "cname":
        clash = kinds.get("other")
    elif kind == "other":
        clash = kinds.get("cname")
    if clash is not None:
        raise ZoneFileError(
            record.file,
            record.line,
            f"CNAME and other data at {names.to_text(record.name)}: "
            f"{_type_text(record.rtype)} here, {_type_text(clash.rtype)} at {_at(clash)} "
            "(RFC 1034 §3.6.2, RFC 2181 §10.1)",
        )
