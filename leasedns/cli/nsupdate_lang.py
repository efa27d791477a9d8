"""The nsupdate command language: lines in, commands out, and the UPDATE message they build.

Two extensions over BIND's nsupdate: ``update delete NAME TTL ...`` sends that TTL
(a deferred delete, ``cancel`` meaning 0xFFFFFFFF), and ``lease SECONDS [KEYLEASE]``
adds the RFC 9664 Update Lease option to the next update sent.
"""

from __future__ import annotations

import ipaddress
import re
import struct
from dataclasses import dataclass, field
from typing import Any, cast

import dns.edns
import dns.exception
import dns.message
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.update

from leasedns import keys
from leasedns.keys import TsigKey
from leasedns.wire import names
from leasedns.wire.names import Name

CANCEL_TTL = 0xFFFFFFFF
"""Delete TTL that cancels a pending deferred delete (deferred-delete draft §3.4)."""

MAX_UINT32 = 0xFFFFFFFF
MAX_ADD_TTL = 0x7FFFFFFF
"""nsupdate's limit for added records (RFC 2181 §8)."""

UPDATE_LEASE_OPTION = 2
"""EDNS option code of the Update Lease option (RFC 9664 §4)."""

LEASE_EDNS_PAYLOAD = 1232
"""UDP payload size advertised with the lease option, as BIND 9.20 nsupdate."""

_DIGITS = re.compile(r"[0-9]+")


class CommandSyntaxError(ValueError):
    """A line that is not a valid command; the text is nsupdate's message for it."""


@dataclass(frozen=True)
class UpdateRecord:
    """One RR of the prerequisite or update section as it goes on the wire.

    ``rdclass`` is the class on the wire: the zone's class for data, NONE or ANY
    for deletes and prerequisites (RFC 2136 §2.4, §2.5).
    """

    name: Name
    rdtype: int
    rdclass: int
    ttl: int = 0
    rdata: dns.rdata.Rdata | None = None


@dataclass(frozen=True)
class UpdateLease:
    """The Update Lease option: LEASE, and KEY-LEASE in the 8-byte form."""

    lease: int
    key_lease: int | None = None

    def payload(self) -> bytes:
        """RFC 9664 §4: LEASE, then KEY-LEASE when given, as unsigned 32-bit big-endian."""
        if self.key_lease is None:
            return struct.pack("!I", self.lease)
        return struct.pack("!II", self.lease, self.key_lease)

    def to_text(self) -> str:
        if self.key_lease is None:
            return f"; UPDATE-LEASE: {self.lease}"
        return f"; UPDATE-LEASE: {self.lease} KEY-LEASE: {self.key_lease}"


@dataclass(frozen=True)
class AddPrerequisite:
    record: UpdateRecord


@dataclass(frozen=True)
class AddUpdate:
    record: UpdateRecord


@dataclass(frozen=True)
class SetServer:
    host: str
    port: int | None


@dataclass(frozen=True)
class SetLocal:
    address: str
    port: int | None


@dataclass(frozen=True)
class SetZone:
    zone: Name


@dataclass(frozen=True)
class SetDefaultClass:
    rdclass: int


@dataclass(frozen=True)
class SetDefaultTtl:
    ttl: int | None


@dataclass(frozen=True)
class SetKey:
    key: TsigKey


@dataclass(frozen=True)
class SetLease:
    lease: UpdateLease | None


@dataclass(frozen=True)
class Send:
    pass


@dataclass(frozen=True)
class Show:
    pass


@dataclass(frozen=True)
class ShowAnswer:
    pass


@dataclass(frozen=True)
class EnableDebug:
    pass


@dataclass(frozen=True)
class Quit:
    pass


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class Version:
    pass


@dataclass(frozen=True)
class Ignored:
    """A comment, or a command accepted for compatibility that changes nothing here."""

    warning: str | None = None


Command = (
    AddPrerequisite
    | AddUpdate
    | SetServer
    | SetLocal
    | SetZone
    | SetDefaultClass
    | SetDefaultTtl
    | SetKey
    | SetLease
    | Send
    | Show
    | ShowAnswer
    | EnableDebug
    | Quit
    | Help
    | Version
    | Ignored
)

HELP_TEXT = """\
local address [port]      (set the local address and port to send from)
server address [port]     (set the server the update is sent to)
send                      (send the update request; a blank line does the same)
show                      (show the update request)
answer                    (show the answer to the last request)
quit                      (quit; a pending update is not sent)
help                      (display this message)
version                   (display the version)
debug                     (turn on debugging output)
key [hmac:]keyname secret (use TSIG to sign the request)
zone name                 (set the zone to be updated)
class CLASS               (set the zone's DNS class, e.g. IN (default), CH)
ttl seconds|none          (set the default TTL of added records)
lease seconds [keylease]  (add an RFC 9664 Update Lease option to the next update)
lease none                (drop the pending Update Lease option)
[prereq] nxdomain name    (require that this name does not exist)
[prereq] yxdomain name    (require that this name exists)
[prereq] nxrrset ....     (require that this RRset does not exist)
[prereq] yxrrset ....     (require that this RRset exists, with this data if given)
[update] add ....         (add the given record to the zone)
[update] del[ete] name [ttl|cancel] [class] [type [data]]
                          (remove the given record(s); a non-zero ttl defers the
                           delete by that many seconds, cancel withdraws a deferred one)
"""


def to_dns_name(name: Name) -> dns.name.Name:
    return dns.name.Name([*name, b""])


def from_dns_name(name: dns.name.Name) -> Name:
    return tuple(label.lower() for label in name.labels if label)


class _Words:
    """Whitespace-separated words of one line, with the rest of the line on demand."""

    def __init__(self, line: str) -> None:
        self._rest = line

    def next(self) -> str | None:
        self._rest = self._rest.lstrip(" \t\r\n")
        if not self._rest:
            return None
        match = re.match(r"[^ \t\r\n]+", self._rest)
        assert match is not None
        self._rest = self._rest[match.end() :]
        return match.group(0)

    def rest(self) -> str:
        return self._rest.strip(" \t\r\n")


def _parse_uint32(word: str, what: str) -> int:
    if not _DIGITS.fullmatch(word):
        raise CommandSyntaxError(f"{what} '{word}': not a valid number")
    value = int(word)
    if value > MAX_UINT32:
        raise CommandSyntaxError(f"{what} '{word}': out of range")
    return value


def _parse_port(word: str) -> int:
    if not re.fullmatch(r"-?[0-9]+", word):
        raise CommandSyntaxError(f"port '{word}' is not numeric")
    port = int(word)
    if not 1 <= port <= 65535:
        raise CommandSyntaxError(f"port '{word}' is out of range (1 to 65535)")
    return port


def _parse_name(word: str, what: str) -> Name:
    try:
        return names.from_text(word, names.ROOT)
    except names.NameError_ as e:
        raise CommandSyntaxError(f"could not parse {what}: {e}") from None


def _data_class(word: str) -> int | None:
    """A class word that names data (IN, CH, HS, CLASSn), or None; ANY is read as a type."""
    try:
        rdclass = dns.rdataclass.from_text(word)
    except dns.exception.DNSException:
        return None
    if dns.rdataclass.is_metaclass(dns.rdataclass.RdataClass.make(rdclass)) or rdclass == 0:
        return None
    return int(rdclass)


def _rdtype(word: str) -> int | None:
    try:
        return int(dns.rdatatype.from_text(word))
    except dns.exception.DNSException:
        return None


def _parse_rdata(rdclass: int, rdtype: int, text: str) -> dns.rdata.Rdata:
    """Rdata in presentation form; names are absolute from the root, as in nsupdate."""
    try:
        return dns.rdata.from_text(
            dns.rdataclass.RdataClass.make(rdclass),
            dns.rdatatype.RdataType.make(rdtype),
            text,
            origin=dns.name.root,
            relativize=False,
        )
    except (dns.exception.DNSException, ValueError) as e:
        raise CommandSyntaxError(f"invalid rdata format: {e}") from None


def make_tsig_key(algorithm: str | None, name: str, secret: str) -> TsigKey:
    """A key from the ``key [hmac:]name secret`` command; hmac-md5 when no algorithm is given,
    as nsupdate."""
    try:
        algorithm_name = keys.canonical_algorithm(algorithm or keys.NSUPDATE_DEFAULT_ALGORITHM)
    except keys.KeySpecError:
        raise CommandSyntaxError(f"unknown key type '{algorithm}'") from None
    try:
        return TsigKey(keys.parse_key_name(name), algorithm_name, keys.decode_secret(secret))
    except keys.KeySpecError as e:
        raise CommandSyntaxError(f"could not create key from {name}: {e}") from None


def dnspython_key(key: TsigKey) -> dns.tsig.Key:
    """The key as dnspython signs with it; hmac-md5 goes by its registered long name."""
    algorithm = (
        dns.tsig.HMAC_MD5 if key.algorithm == "hmac-md5" else dns.name.from_text(key.algorithm)
    )
    return dns.tsig.Key(to_dns_name(key.name), key.secret, algorithm)


class CommandParser:
    """Turns lines of the nsupdate language into commands.

    Holds what nsupdate's parser depends on: the default TTL and class, and the
    zone class fixed by the first record of the pending update (reset on send).
    """

    def __init__(self) -> None:
        self.default_ttl: int | None = None
        self.default_class: int = int(dns.rdataclass.IN)
        self._zone_class: int | None = None

    def zone_class(self) -> int:
        """The class of the pending update; fixed to the default once asked for."""
        if self._zone_class is None:
            self._zone_class = self.default_class
        return self._zone_class

    def message_sent(self) -> None:
        self._zone_class = None

    def _claim_zone_class(self, rdclass: int, word: str) -> None:
        if self._zone_class is None:
            self._zone_class = rdclass
        if self._zone_class != rdclass:
            raise CommandSyntaxError(f"class mismatch: {word}")

    def parse(self, line: str) -> Command:
        words = _Words(line)
        word = words.next()
        if word is None:
            return Send()
        if word.startswith(";"):
            return Ignored()
        verb = word.lower()
        if verb == "quit":
            return Quit()
        if verb == "prereq":
            kind = words.next()
            if kind is None:
                raise CommandSyntaxError("could not read operation code")
            return self._prerequisite(kind, words)
        if verb in ("nxdomain", "yxdomain", "nxrrset", "yxrrset"):
            return self._prerequisite(verb, words)
        if verb == "update":
            operation = words.next()
            if operation is None:
                raise CommandSyntaxError("could not read operation code")
            if operation.lower() in ("delete", "del"):
                return AddUpdate(self._add_or_delete(words, is_delete=True))
            if operation.lower() == "add":
                return AddUpdate(self._add_or_delete(words, is_delete=False))
            raise CommandSyntaxError(f"incorrect operation code: {operation}")
        if verb in ("delete", "del"):
            return AddUpdate(self._add_or_delete(words, is_delete=True))
        if verb == "add":
            return AddUpdate(self._add_or_delete(words, is_delete=False))
        if verb == "lease":
            return self._lease(words)
        if verb == "server":
            host, port = self._host_and_port(words)
            return SetServer(host, port)
        if verb == "local":
            address, port = self._host_and_port(words)
            try:
                ipaddress.ip_address(address)
            except ValueError:
                raise CommandSyntaxError(f"invalid address {address}") from None
            return SetLocal(address, port)
        if verb == "zone":
            zone = words.next()
            if zone is None:
                raise CommandSyntaxError("could not read zone name")
            return SetZone(_parse_name(zone, "zone name"))
        if verb == "class":
            return self._default_class(words)
        if verb == "ttl":
            return self._default_ttl(words)
        if verb == "key":
            return self._key(words)
        if verb == "send":
            return Send()
        if verb == "show":
            return Show()
        if verb == "answer":
            return ShowAnswer()
        if verb == "debug":
            return EnableDebug()
        if verb == "help":
            return Help()
        if verb == "version":
            return Version()
        if verb in ("check-names", "checknames", "check-svcb", "checksvcb"):
            return Ignored()
        if verb in ("gsstsig", "oldgsstsig"):
            return Ignored("gsstsig not supported")
        raise CommandSyntaxError(f"incorrect section name: {word}")

    def _host_and_port(self, words: _Words) -> tuple[str, int | None]:
        host = words.next()
        if host is None:
            raise CommandSyntaxError("could not read server name")
        port = words.next()
        return host, None if port is None else _parse_port(port)

    def _default_class(self, words: _Words) -> SetDefaultClass:
        word = words.next()
        if word is None:
            raise CommandSyntaxError("could not read class name")
        try:
            rdclass = int(dns.rdataclass.from_text(word))
        except dns.exception.DNSException:
            raise CommandSyntaxError(f"could not parse class name: {word}") from None
        if dns.rdataclass.is_metaclass(dns.rdataclass.RdataClass.make(rdclass)) or rdclass == 0:
            raise CommandSyntaxError(f"bad default class: {word}")
        self.default_class = rdclass
        return SetDefaultClass(rdclass)

    def _default_ttl(self, words: _Words) -> SetDefaultTtl:
        word = words.next()
        if word is None:
            raise CommandSyntaxError("could not read ttl")
        if word.lower() == "none":
            self.default_ttl = None
            return SetDefaultTtl(None)
        ttl = _parse_uint32(word, "ttl")
        if ttl > MAX_ADD_TTL:
            raise CommandSyntaxError(f"ttl '{word}' is out of range (0 to {MAX_ADD_TTL})")
        self.default_ttl = ttl
        return SetDefaultTtl(ttl)

    def _key(self, words: _Words) -> SetKey:
        name = words.next()
        if name is None:
            raise CommandSyntaxError("could not read key name")
        secret = words.rest()
        if not secret:
            raise CommandSyntaxError("could not read key secret")
        algorithm, colon, key_name = name.partition(":")
        if not colon:
            return SetKey(make_tsig_key(None, name, secret))
        return SetKey(make_tsig_key(algorithm, key_name, secret))

    def _lease(self, words: _Words) -> SetLease:
        """``lease SECONDS [KEYLEASE]`` or ``lease none`` (BIND 9.20 nsupdate)."""
        word = words.next()
        if word is None:
            raise CommandSyntaxError("could not read lease")
        if word.lower() == "none":
            return SetLease(None)
        lease = _parse_uint32(word, "lease")
        key_word = words.next()
        key_lease = None if key_word is None else _parse_uint32(key_word, "key lease")
        return SetLease(UpdateLease(lease, key_lease))

    def _owner(self, words: _Words) -> Name:
        word = words.next()
        if word is None:
            raise CommandSyntaxError("could not read owner name")
        return _parse_name(word, "owner name")

    def _prerequisite(self, kind: str, words: _Words) -> AddPrerequisite:
        """RFC 2136 §2.4: the four prerequisite forms, built as nsupdate builds them."""
        kind = kind.lower()
        if kind not in ("nxdomain", "yxdomain", "nxrrset", "yxrrset"):
            raise CommandSyntaxError(f"incorrect operation code: {kind}")
        name = self._owner(words)
        if kind == "nxdomain":
            return AddPrerequisite(UpdateRecord(name, dns.rdatatype.ANY, dns.rdataclass.NONE))
        if kind == "yxdomain":
            return AddPrerequisite(UpdateRecord(name, dns.rdatatype.ANY, dns.rdataclass.ANY))
        word = words.next()
        if word is None:
            raise CommandSyntaxError("could not read class or type")
        rdclass = _data_class(word)
        if rdclass is not None:
            self._claim_zone_class(rdclass, word)
            word = words.next()
            if word is None:
                raise CommandSyntaxError("could not read type")
        else:
            rdclass = self.zone_class()
        rdtype = _rdtype(word)
        if rdtype is None:
            raise CommandSyntaxError(f"invalid type: {word}")
        if kind == "nxrrset":
            return AddPrerequisite(UpdateRecord(name, rdtype, dns.rdataclass.NONE))
        text = words.rest()
        if not text:
            return AddPrerequisite(UpdateRecord(name, rdtype, dns.rdataclass.ANY))
        rdata = _parse_rdata(rdclass, rdtype, text)
        return AddPrerequisite(UpdateRecord(name, rdtype, rdclass, 0, rdata))

    def _add_or_delete(self, words: _Words, is_delete: bool) -> UpdateRecord:
        """RFC 2136 §2.5 update RRs; a delete keeps its TTL (deferred-delete draft §3)."""
        name = self._owner(words)
        word = words.next()
        delete_name = UpdateRecord(name, dns.rdatatype.ANY, dns.rdataclass.ANY)
        if word is None:
            if is_delete:
                return delete_name
            raise CommandSyntaxError("could not read owner ttl")
        if is_delete:
            ttl = 0
            if word.lower() == "cancel":
                ttl = CANCEL_TTL
                word = words.next()
            elif _DIGITS.fullmatch(word):
                ttl = _parse_uint32(word, "ttl")
                word = words.next()
        elif _DIGITS.fullmatch(word):
            ttl = _parse_uint32(word, "ttl")
            if ttl > MAX_ADD_TTL:
                raise CommandSyntaxError(f"ttl '{word}' is out of range (0 to {MAX_ADD_TTL})")
            word = words.next()
        elif self.default_ttl is not None:
            ttl = self.default_ttl
        else:
            raise CommandSyntaxError(f"ttl '{word}': not a valid number")
        delete_name = UpdateRecord(name, dns.rdatatype.ANY, dns.rdataclass.ANY, ttl)
        if word is None:
            if is_delete:
                return delete_name
            raise CommandSyntaxError("could not read class or type")
        rdclass = _data_class(word)
        if rdclass is not None:
            self._claim_zone_class(rdclass, word)
            word = words.next()
            if word is None:
                if is_delete:
                    return delete_name
                raise CommandSyntaxError("could not read type")
            rdtype = _rdtype(word)
            if rdtype is None:
                raise CommandSyntaxError(f"'{word}' is not a valid type: unknown class/type")
        else:
            rdclass = self.zone_class()
            rdtype = _rdtype(word)
            if rdtype is None:
                raise CommandSyntaxError(
                    f"'{word}' is not a valid class or type: unknown class/type"
                )
        text = words.rest()
        rdata = _parse_rdata(rdclass, rdtype, text) if text else None
        if not is_delete:
            if rdata is None:
                raise CommandSyntaxError("could not read rdata")
            return UpdateRecord(name, rdtype, rdclass, ttl, rdata)
        if rdata is None:
            return UpdateRecord(name, rdtype, dns.rdataclass.ANY, ttl)
        return UpdateRecord(name, rdtype, dns.rdataclass.NONE, ttl, rdata)


@dataclass
class PendingUpdate:
    """Prerequisites, updates and lease gathered since the last send."""

    prerequisites: list[UpdateRecord] = field(default_factory=list)
    updates: list[UpdateRecord] = field(default_factory=list)
    lease: UpdateLease | None = None

    def is_empty(self) -> bool:
        return not self.prerequisites and not self.updates

    def discovery_name(self) -> Name | None:
        """Where nsupdate starts looking for the zone: the first update name (its parent
        for a DS record, which lives in the parent zone), else the first prerequisite."""
        if self.updates:
            first = self.updates[0]
            if first.rdtype == dns.rdatatype.DS and first.name:
                return first.name[1:]
            return first.name
        if self.prerequisites:
            return self.prerequisites[0].name
        return None


class _UpdateRRset(dns.rrset.RRset):
    """An RRset that keeps its TTL on the wire even without rdata.

    dnspython writes TTL 0 for an empty RRset; a deferred RRset or name delete
    (class ANY) carries its deferral in that TTL.
    """

    def to_wire(  # type: ignore[override]
        self,
        file: Any,
        compress: dns.name.CompressType | None = None,
        origin: dns.name.Name | None = None,
        **kw: Any,
    ) -> int:
        if len(self) == 0:
            self.name.to_wire(file, compress, origin)
            rdclass = self.deleting if self.deleting is not None else self.rdclass
            file.write(struct.pack("!HHIH", self.rdtype, rdclass, self.ttl, 0))
            return 1
        return super().to_wire(file, compress, origin, **kw)

    def to_styled_text(self, style: dns.rdataset.RdatasetStyle) -> str:  # type: ignore[override]
        if len(self) == 0:
            rdclass = self.deleting if self.deleting is not None else self.rdclass
            return (
                f"{self.name.to_text()} {self.ttl} {dns.rdataclass.to_text(rdclass)} "
                f"{dns.rdatatype.to_text(self.rdtype)}"
            )
        return super().to_styled_text(style)


def _rrset(record: UpdateRecord, zone_class: int) -> _UpdateRRset:
    """One RRset per record, so each keeps its own TTL (dnspython would merge and minimise)."""
    deleting = None
    data_class = record.rdclass
    if dns.rdataclass.is_metaclass(dns.rdataclass.RdataClass.make(record.rdclass)):
        deleting = dns.rdataclass.RdataClass.make(record.rdclass)
        data_class = zone_class
    if record.rdata is not None:
        data_class = int(record.rdata.rdclass)
    rrset = _UpdateRRset(
        to_dns_name(record.name),
        dns.rdataclass.RdataClass.make(data_class),
        dns.rdatatype.RdataType.make(record.rdtype),
        deleting=deleting,
    )
    if record.rdata is None:
        rrset.update_ttl(record.ttl)
    else:
        rrset.add(record.rdata, record.ttl)
    return rrset


def update_lease_option(lease: UpdateLease) -> dns.edns.GenericOption:
    return dns.edns.GenericOption(cast(dns.edns.OptionType, UPDATE_LEASE_OPTION), lease.payload())


def update_lease_of(message: dns.message.Message) -> UpdateLease | None:
    """The Update Lease option of a message (RFC 9664 §4), if it has a well-formed one."""
    for option in message.options:
        if option.otype != UPDATE_LEASE_OPTION:
            continue
        data = option.to_wire()
        if data is None:
            return None
        if len(data) == 4:
            return UpdateLease(struct.unpack("!I", data)[0])
        if len(data) == 8:
            lease, key_lease = struct.unpack("!II", data)
            return UpdateLease(lease, key_lease)
    return None


def build_update_message(
    pending: PendingUpdate,
    zone: Name | None,
    zone_class: int,
    key: TsigKey | None = None,
) -> dns.update.UpdateMessage:
    """The UPDATE message for ``pending``; without a zone (``show`` before discovery) the
    zone section is left empty."""
    message = dns.update.UpdateMessage(
        None if zone is None else to_dns_name(zone),
        rdclass=dns.rdataclass.RdataClass.make(zone_class),
    )
    for record in pending.prerequisites:
        message.prerequisite.append(_rrset(record, zone_class))
    for record in pending.updates:
        message.update.append(_rrset(record, zone_class))
    if pending.lease is not None:
        message.use_edns(
            0, payload=LEASE_EDNS_PAYLOAD, options=[update_lease_option(pending.lease)]
        )
    if key is not None:
        message.use_tsig(dnspython_key(key))
    return message
