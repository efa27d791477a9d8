"""Tests for the nsupdate command language and the UPDATE messages it builds."""

from __future__ import annotations

import base64
import struct
from dataclasses import dataclass

import dns.edns
import dns.message
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.tsig
import dns.update
import dns.wire
import pytest

from leasedns.cli import nsupdate_lang as lang
from leasedns.keys import TsigKey

IN = dns.rdataclass.IN
NONE = dns.rdataclass.NONE
ANY = dns.rdataclass.ANY
SECRET = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


@dataclass(frozen=True)
class RawRecord:
    """One RR exactly as on the wire (dnspython's message parser folds TTLs above 2**31-1 to 0)."""

    name: str
    rdtype: int
    rdclass: int
    ttl: int
    rdata: bytes


def raw_sections(wire: bytes) -> list[list[RawRecord]]:
    """Zone, prerequisite, update and additional sections, read RR by RR with dnspython's
    wire parser."""
    parser = dns.wire.Parser(wire)
    _, _, *counts = parser.get_struct("!HHHHHH")
    sections: list[list[RawRecord]] = []
    zone = []
    for _ in range(counts[0]):
        name = parser.get_name(decompress=True)
        rdtype, rdclass = parser.get_struct("!HH")
        zone.append(RawRecord(name.to_text(), rdtype, rdclass, 0, b""))
    sections.append(zone)
    for count in counts[1:]:
        records = []
        for _ in range(count):
            name = parser.get_name(decompress=True)
            rdtype, rdclass, ttl, rdlen = parser.get_struct("!HHIH")
            records.append(RawRecord(name.to_text(), rdtype, rdclass, ttl, parser.get_bytes(rdlen)))
        sections.append(records)
    assert parser.remaining() == 0
    return sections


def run_script(script: str) -> tuple[lang.CommandParser, lang.PendingUpdate, lang.Name | None]:
    """Feed lines to a parser and gather the pending update and zone, as the client does."""
    parser = lang.CommandParser()
    pending = lang.PendingUpdate()
    zone = None
    for line in script.splitlines():
        command = parser.parse(line)
        if isinstance(command, lang.AddPrerequisite):
            pending.prerequisites.append(command.record)
        elif isinstance(command, lang.AddUpdate):
            pending.updates.append(command.record)
        elif isinstance(command, lang.SetLease):
            pending.lease = command.lease
        elif isinstance(command, lang.SetZone):
            zone = command.zone
    return parser, pending, zone


def build_wire(script: str, key: lang.TsigKey | None = None) -> bytes:
    parser, pending, zone = run_script(script)
    if zone is None:
        zone = (b"example", b"com")
    return lang.build_update_message(pending, zone, parser.zone_class(), key).to_wire()


def update_section(script: str) -> list[RawRecord]:
    return raw_sections(build_wire(script))[2]


def parse_error(line: str) -> str:
    with pytest.raises(lang.CommandSyntaxError) as info:
        lang.CommandParser().parse(line)
    return str(info.value)


# --- deferred deletes -------------------------------------------------------------------


def test_delete_rr_with_ttl_is_a_deferred_delete_of_class_none() -> None:
    [record] = update_section("update delete host.example.com 300 A 192.0.2.1")
    assert record == RawRecord(
        "host.example.com.", dns.rdatatype.A, NONE, 300, bytes([192, 0, 2, 1])
    )


def test_delete_rrset_with_ttl_keeps_the_ttl_on_an_empty_rr() -> None:
    [record] = update_section("update delete host.example.com 3600 IN A")
    assert record == RawRecord("host.example.com.", dns.rdatatype.A, ANY, 3600, b"")


def test_delete_name_with_ttl_is_class_any_type_any() -> None:
    [record] = update_section("update delete host.example.com 86400")
    assert record == RawRecord("host.example.com.", dns.rdatatype.ANY, ANY, 86400, b"")


@pytest.mark.parametrize(
    "line, rdtype, rdclass, rdata",
    [
        (
            "update delete h.example.com cancel A 192.0.2.1",
            dns.rdatatype.A,
            NONE,
            b"\xc0\x00\x02\x01",
        ),
        ("update delete h.example.com cancel A", dns.rdatatype.A, ANY, b""),
        ("update delete h.example.com CANCEL", dns.rdatatype.ANY, ANY, b""),
        ("update delete h.example.com 4294967295 IN TXT", dns.rdatatype.TXT, ANY, b""),
    ],
)
def test_cancel_is_ttl_0xffffffff_in_every_delete_form(
    line: str, rdtype: int, rdclass: int, rdata: bytes
) -> None:
    [record] = update_section(line)
    assert (record.rdtype, record.rdclass, record.ttl, record.rdata) == (
        rdtype,
        rdclass,
        lang.CANCEL_TTL,
        rdata,
    )
    assert lang.CANCEL_TTL == 0xFFFFFFFF


@pytest.mark.parametrize(
    "line, rdtype, rdclass",
    [
        ("update delete h.example.com A 192.0.2.1", dns.rdatatype.A, NONE),
        ("update delete h.example.com IN A", dns.rdatatype.A, ANY),
        ("update delete h.example.com", dns.rdatatype.ANY, ANY),
        ("update delete h.example.com IN", dns.rdatatype.ANY, ANY),
        ("update delete h.example.com ANY", dns.rdatatype.ANY, ANY),
        ("delete h.example.com A", dns.rdatatype.A, ANY),
        ("del h.example.com A", dns.rdatatype.A, ANY),
        ("update del h.example.com A", dns.rdatatype.A, ANY),
    ],
)
def test_delete_without_ttl_sends_ttl_zero_as_nsupdate(
    line: str, rdtype: int, rdclass: int
) -> None:
    [record] = update_section(line)
    assert (record.rdtype, record.rdclass, record.ttl) == (rdtype, rdclass, 0)


def test_each_record_keeps_its_own_ttl_within_one_rrset() -> None:
    records = update_section(
        "update delete h.example.com 600 A 192.0.2.1\n"
        "update delete h.example.com cancel A 192.0.2.2\n"
        "update add h.example.com 300 A 192.0.2.3\n"
        "update add h.example.com 60 A 192.0.2.4\n"
    )
    assert [(r.rdclass, r.ttl) for r in records] == [
        (NONE, 600),
        (NONE, lang.CANCEL_TTL),
        (IN, 300),
        (IN, 60),
    ]


def test_deferred_delete_parses_back_with_dnspython_as_an_update() -> None:
    message = dns.message.from_wire(
        build_wire("update delete h.example.com 300 A 192.0.2.1\nupdate delete g.example.com 60 MX")
    )
    assert isinstance(message, dns.update.UpdateMessage)
    first, second = message.update
    assert (first.deleting, first.rdtype, first.ttl) == (NONE, dns.rdatatype.A, 300)
    assert [rd.to_text() for rd in first] == ["192.0.2.1"]
    assert (second.deleting, second.rdtype, len(second)) == (ANY, dns.rdatatype.MX, 0)


def test_delete_ttl_above_32_bits_is_refused() -> None:
    assert (
        parse_error("update delete h.example.com 4294967296 A") == "ttl '4294967296': out of range"
    )


def test_cancel_is_only_a_delete_ttl() -> None:
    assert parse_error("update add h.example.com cancel A 192.0.2.1") == (
        "ttl 'cancel': not a valid number"
    )


# --- adds -------------------------------------------------------------------------------


def test_add_uses_given_ttl_and_class() -> None:
    [record] = update_section('update add h.example.com 60 IN TXT "hello world" "x"')
    assert (record.rdclass, record.ttl, record.rdtype) == (IN, 60, dns.rdatatype.TXT)
    assert record.rdata == b"\x0bhello world\x01x"


def test_add_without_ttl_uses_the_default_ttl() -> None:
    [record] = update_section("ttl 120\nadd h.example.com A 192.0.2.1")
    assert record.ttl == 120


def test_add_without_ttl_and_no_default_is_an_error() -> None:
    assert parse_error("update add h.example.com A 192.0.2.1") == "ttl 'A': not a valid number"


def test_ttl_none_clears_the_default() -> None:
    parser = lang.CommandParser()
    parser.parse("ttl 120")
    parser.parse("ttl none")
    with pytest.raises(lang.CommandSyntaxError, match="not a valid number"):
        parser.parse("add h.example.com A 192.0.2.1")


def test_add_ttl_is_limited_to_31_bits() -> None:
    assert parse_error("update add h.example.com 2147483648 A 192.0.2.1") == (
        "ttl '2147483648' is out of range (0 to 2147483647)"
    )


def test_names_are_absolute_from_the_root_as_in_nsupdate() -> None:
    message = dns.message.from_wire(build_wire("zone example.com\nupdate add www 60 CNAME target"))
    [rrset] = message.update
    assert rrset.name == dns.name.from_text("www.")
    assert rrset[0].target == dns.name.from_text("target.")


def test_generic_rdata_is_accepted() -> None:
    [record] = update_section("update add h.example.com 60 IN TYPE65280 \\# 2 abcd")
    assert (record.rdtype, record.rdata) == (65280, b"\xab\xcd")


@pytest.mark.parametrize(
    "line, message",
    [
        ("foo bar", "incorrect section name: foo"),
        ("update foo h.example.com", "incorrect operation code: foo"),
        ("update", "could not read operation code"),
        ("update add", "could not read owner name"),
        ("update add h.example.com", "could not read owner ttl"),
        ("update add h.example.com 60", "could not read class or type"),
        ("update add h.example.com 60 A", "could not read rdata"),
        ("update add h.example.com 60 IN", "could not read type"),
        (
            "update add h.example.com 60 FOO 1",
            "'FOO' is not a valid class or type: unknown class/type",
        ),
        ("update add h.example.com 60 IN FOO 1", "'FOO' is not a valid type: unknown class/type"),
        ("prereq foo h.example.com", "incorrect operation code: foo"),
        ("prereq nxrrset h.example.com", "could not read class or type"),
        ("prereq yxrrset h.example.com BOGUS", "invalid type: BOGUS"),
        ("zone", "could not read zone name"),
        ("zone a..b", "could not parse zone name: empty label in 'a..b'"),
        ("server", "could not read server name"),
        ("server 127.0.0.1 x", "port 'x' is not numeric"),
        ("server 127.0.0.1 70000", "port '70000' is out of range (1 to 65535)"),
        ("local 127.0.0.1 0", "port '0' is out of range (1 to 65535)"),
        ("local localhost", "invalid address localhost"),
        ("class ANY", "bad default class: ANY"),
        ("class XYZ", "could not parse class name: XYZ"),
        ("ttl 1h", "ttl '1h': not a valid number"),
        ("lease", "could not read lease"),
        ("lease 1h", "lease '1h': not a valid number"),
        ("lease 60 x", "key lease 'x': not a valid number"),
        ("key", "could not read key name"),
        ("key k.example.", "could not read key secret"),
        ("key hmac-foo:k.example. c2VjcmV0", "unknown key type 'hmac-foo'"),
        (
            "key hmac-sha256:. c2VjcmV0",
            "could not create key from .: a key name must not be the root",
        ),
    ],
)
def test_syntax_errors_carry_nsupdate_messages(line: str, message: str) -> None:
    assert parse_error(line) == message


def test_bad_rdata_is_reported() -> None:
    assert parse_error("update add h.example.com 60 A 192.0.2").startswith("invalid rdata format:")
    assert parse_error("update add h.example.com 60 A 192.0.2.1 junk").startswith(
        "invalid rdata format:"
    )


def test_records_of_one_update_must_share_a_class() -> None:
    parser = lang.CommandParser()
    parser.parse("update add h.example.com 60 A 192.0.2.1")
    with pytest.raises(lang.CommandSyntaxError, match="^class mismatch: CH$"):
        parser.parse("update add h.example.com 60 CH TXT x")
    parser.message_sent()
    command = parser.parse("update add h.example.com 60 CH TXT x")
    assert isinstance(command, lang.AddUpdate)
    assert command.record.rdclass == dns.rdataclass.CH


def test_default_class_sets_the_zone_class() -> None:
    parser, pending, _ = run_script("class CH\nupdate add h.example.com 60 TXT x")
    wire = lang.build_update_message(pending, (b"example",), parser.zone_class()).to_wire()
    zone, _, [record], _ = raw_sections(wire)
    assert zone == [RawRecord("example.", dns.rdatatype.SOA, dns.rdataclass.CH, 0, b"")]
    assert record.rdclass == dns.rdataclass.CH


# --- prerequisites and zone section ------------------------------------------------------


def test_prerequisites_follow_rfc_2136_section_2_4() -> None:
    wire = build_wire(
        "prereq nxdomain a.example.com\n"
        "prereq yxdomain b.example.com\n"
        "prereq nxrrset c.example.com A\n"
        "prereq yxrrset d.example.com IN A\n"
        "prereq yxrrset e.example.com A 192.0.2.5\n"
        "nxdomain f.example.com\n"
    )
    _, prereqs, updates, _ = raw_sections(wire)
    assert updates == []
    assert [(r.name, r.rdclass, r.rdtype, r.ttl, r.rdata) for r in prereqs] == [
        ("a.example.com.", NONE, dns.rdatatype.ANY, 0, b""),
        ("b.example.com.", ANY, dns.rdatatype.ANY, 0, b""),
        ("c.example.com.", NONE, dns.rdatatype.A, 0, b""),
        ("d.example.com.", ANY, dns.rdatatype.A, 0, b""),
        ("e.example.com.", IN, dns.rdatatype.A, 0, b"\xc0\x00\x02\x05"),
        ("f.example.com.", NONE, dns.rdatatype.ANY, 0, b""),
    ]


def test_value_dependent_prerequisite_parses_back_with_dnspython() -> None:
    message = dns.message.from_wire(build_wire("prereq yxrrset e.example.com A 192.0.2.5"))
    [rrset] = message.prerequisite
    assert rrset.deleting is None
    assert (rrset.rdclass, rrset.rdtype, rrset.ttl) == (IN, dns.rdatatype.A, 0)
    assert [rd.to_text() for rd in rrset] == ["192.0.2.5"]


def test_zone_section_holds_the_zone_soa_question() -> None:
    wire = build_wire("zone lab.example.org\nupdate add h.lab.example.org 60 A 192.0.2.1")
    zone, _, _, additional = raw_sections(wire)
    assert zone == [RawRecord("lab.example.org.", dns.rdatatype.SOA, IN, 0, b"")]
    assert additional == []
    message = dns.message.from_wire(wire)
    assert message.opcode() == dns.opcode.UPDATE
    assert message.zone[0].name == dns.name.from_text("lab.example.org.")


def test_message_without_a_zone_has_an_empty_zone_section() -> None:
    _, pending, _ = run_script("update add h.example.com 60 A 192.0.2.1")
    message = lang.build_update_message(pending, None, IN)
    assert message.zone == []
    assert "h.example.com. 60 IN A 192.0.2.1" in message.to_text()


# --- RFC 9664 lease option ---------------------------------------------------------------


def test_lease_adds_a_four_byte_update_lease_option() -> None:
    wire = build_wire("lease 3600\nupdate add h.example.com 60 A 192.0.2.1")
    message = dns.message.from_wire(wire)
    assert message.edns == 0
    assert message.payload == lang.LEASE_EDNS_PAYLOAD
    [option] = message.options
    assert option.otype == 2
    assert option.to_wire() == struct.pack("!I", 3600) == b"\x00\x00\x0e\x10"
    [opt] = raw_sections(wire)[3]
    assert opt.rdtype == dns.rdatatype.OPT
    assert opt.rdata == b"\x00\x02\x00\x04\x00\x00\x0e\x10"


def test_lease_with_key_lease_adds_the_eight_byte_form() -> None:
    message = dns.message.from_wire(
        build_wire("lease 1800 604800\nupdate add h.example.com 60 A 192.0.2.1")
    )
    [option] = message.options
    assert option.otype == lang.UPDATE_LEASE_OPTION
    assert option.to_wire() == struct.pack("!II", 1800, 604800)
    assert lang.update_lease_of(message) == lang.UpdateLease(1800, 604800)


def test_lease_none_drops_the_option() -> None:
    _, pending, _ = run_script("lease 3600\nlease none\nupdate add h.example.com 60 A 192.0.2.1")
    assert pending.lease is None
    message = dns.message.from_wire(build_wire("update add h.example.com 60 A 192.0.2.1"))
    assert message.edns == -1
    assert lang.update_lease_of(message) is None


def test_lease_accepts_the_full_32_bit_range() -> None:
    command = lang.CommandParser().parse("lease 4294967295 0")
    assert command == lang.SetLease(lang.UpdateLease(0xFFFFFFFF, 0))
    assert parse_error("lease 4294967296") == "lease '4294967296': out of range"


# --- TSIG --------------------------------------------------------------------------------


def test_key_command_builds_a_tsig_key() -> None:
    command = lang.CommandParser().parse(f"key hmac-sha256:ddns-key.example.com {SECRET}")
    assert command == lang.SetKey(
        TsigKey(
            (b"ddns-key", b"example", b"com"),
            "hmac-sha256",
            b"0123456789abcdef0123456789abcdef",
        )
    )


def test_key_without_algorithm_defaults_to_hmac_md5_as_nsupdate() -> None:
    command = lang.CommandParser().parse(f"key k.example. {SECRET}")
    assert isinstance(command, lang.SetKey)
    assert command.key.algorithm == "hmac-md5"
    assert lang.dnspython_key(command.key).algorithm == dns.tsig.HMAC_MD5


def test_key_with_bad_base64_is_refused_without_echoing_it() -> None:
    message = parse_error("key k.example. not*base64")
    assert message.startswith("could not create key from k.example.:")
    assert "not*base64" not in message


def test_signed_update_carries_a_verifiable_tsig() -> None:
    key = lang.make_tsig_key("hmac-sha256", "ddns-key.example.com", SECRET)
    wire = build_wire("update delete h.example.com 300 A 192.0.2.1", key)
    additional = raw_sections(wire)[3]
    assert [r.rdtype for r in additional] == [dns.rdatatype.TSIG]
    assert additional[0].name == "ddns-key.example.com."
    message = dns.message.from_wire(wire, keyring=lang.dnspython_key(key))
    assert message.had_tsig
    assert message.keyalgorithm == dns.tsig.HMAC_SHA256
    wrong = dns.tsig.Key("ddns-key.example.com.", base64.b64encode(b"x" * 32), dns.tsig.HMAC_SHA256)
    with pytest.raises(dns.tsig.BadSignature):
        dns.message.from_wire(wire, keyring=wrong)


def test_signed_message_keeps_lease_and_deferred_ttls() -> None:
    key = lang.make_tsig_key(None, "k.example.", SECRET)
    wire = build_wire("lease 600\nupdate delete h.example.com cancel A", key)
    _, _, [record], additional = raw_sections(wire)
    assert record.ttl == lang.CANCEL_TTL
    assert [r.rdtype for r in additional] == [dns.rdatatype.OPT, dns.rdatatype.TSIG]
    message = dns.message.from_wire(wire, keyring=lang.dnspython_key(key))
    assert lang.update_lease_of(message) == lang.UpdateLease(600)


# --- other commands ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "line, command",
    [
        ("", lang.Send()),
        ("   \t", lang.Send()),
        ("send", lang.Send()),
        ("SEND", lang.Send()),
        ("show", lang.Show()),
        ("answer", lang.ShowAnswer()),
        ("debug", lang.EnableDebug()),
        ("quit", lang.Quit()),
        ("help", lang.Help()),
        ("version", lang.Version()),
        ("; a comment", lang.Ignored()),
        ("check-names off", lang.Ignored()),
        ("gsstsig", lang.Ignored("gsstsig not supported")),
        ("server 192.0.2.53", lang.SetServer("192.0.2.53", None)),
        ("server ns.example.com 5300", lang.SetServer("ns.example.com", 5300)),
        ("local 192.0.2.1 1053", lang.SetLocal("192.0.2.1", 1053)),
        ("zone Example.COM.", lang.SetZone((b"example", b"com"))),
        ("class CH", lang.SetDefaultClass(dns.rdataclass.CH)),
        ("ttl 3600", lang.SetDefaultTtl(3600)),
        ("lease 3600", lang.SetLease(lang.UpdateLease(3600))),
        ("lease none", lang.SetLease(None)),
    ],
)
def test_commands(line: str, command: lang.Command) -> None:
    assert lang.CommandParser().parse(line) == command


def test_discovery_starts_at_the_first_update_name() -> None:
    _, pending, _ = run_script("prereq nxdomain p.example.com\nadd h.example.com 60 A 192.0.2.1")
    assert pending.discovery_name() == (b"h", b"example", b"com")


def test_discovery_of_a_ds_record_starts_at_the_parent() -> None:
    _, pending, _ = run_script("add child.example.com 60 DS 1 8 2 " + "ab" * 32)
    assert pending.discovery_name() == (b"example", b"com")


def test_discovery_falls_back_to_the_first_prerequisite() -> None:
    _, pending, _ = run_script("prereq yxdomain p.example.com")
    assert pending.discovery_name() == (b"p", b"example", b"com")
    assert lang.PendingUpdate().discovery_name() is None


def test_show_text_displays_deferred_ttls_of_empty_records() -> None:
    _, pending, _ = run_script(
        "update delete h.example.com cancel A\nprereq nxdomain n.example.com"
    )
    text = lang.build_update_message(pending, (b"example", b"com"), IN).to_text()
    assert "h.example.com. 4294967295 ANY A" in text
    assert "n.example.com. 0 NONE ANY" in text


def test_update_lease_text() -> None:
    assert lang.UpdateLease(60).to_text() == "; UPDATE-LEASE: 60"
    assert lang.UpdateLease(60, 120).to_text() == "; UPDATE-LEASE: 60 KEY-LEASE: 120"


def test_update_lease_of_ignores_malformed_option() -> None:
    message = dns.message.make_query("example.com.", "SOA")
    message.use_edns(0, options=[dns.edns.GenericOption(2, b"\x00\x01")])
    assert lang.update_lease_of(message) is None
