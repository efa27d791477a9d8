"""Tests for leasedns.zone.masterfile over the fixtures in tests/data/zones and the shipped zones/."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.zone
import pytest

from leasedns.wire.names import from_text
from leasedns.zone.masterfile import (
    ParsedZone,
    ZoneFileError,
    ZoneRecord,
    fingerprint_files,
    parse_zone_file,
)

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "tests" / "data" / "zones"
ZONES = ROOT / "zones"
NAMED_CHECKZONE = shutil.which("named-checkzone")

A, AAAA, NS, SOA, CNAME, TXT = 1, 28, 2, 6, 5, 16


def _rdata(record: ZoneRecord) -> Any:  # typed Any: tests read type-specific fields
    return dns.rdata.from_wire(
        dns.rdataclass.IN,
        dns.rdatatype.RdataType.make(record.rtype),
        record.rdata,
        0,
        len(record.rdata),
    )


def _find(zone: ParsedZone, name: str, rtype: int) -> list[ZoneRecord]:
    wanted = from_text(name)
    return [r for r in zone.records if r.name == wanted and r.rtype == rtype]


def _texts(zone: ParsedZone, name: str, rtype: int) -> list[str]:
    return [_rdata(r).to_text() for r in _find(zone, name, rtype)]


@pytest.fixture(scope="module")
def features() -> ParsedZone:
    return parse_zone_file(str(DATA / "features.zone"))


@pytest.fixture(scope="module")
def lab() -> ParsedZone:
    return parse_zone_file(str(ZONES / "lab.example.zone"))


# --- reading: directives, names, TTLs, classes -------------------------------------------


def test_origin_comes_from_first_origin_directive(features: ParsedZone) -> None:
    # A later "$ORIGIN sub.features.test." only changes how relative names are completed.
    assert features.origin == from_text("features.test.")
    assert _find(features, "deep.sub.features.test.", A)


def test_soa_over_several_lines_keeps_its_owner_line(features: ParsedZone) -> None:
    (soa,) = _find(features, "features.test.", SOA)
    assert (soa.line, soa.ttl) == (5, 3600)
    assert (
        _rdata(soa).to_text() == "ns1.features.test. hostmaster.features.test. 7 3600 600 86400 60"
    )


def test_omitted_owner_ttl_and_class(features: ParsedZone) -> None:
    apex_ns = _find(features, "features.test.", NS)
    assert [(r.line, r.ttl) for r in apex_ns] == [(10, 3600), (11, 3600)]
    assert _texts(features, "features.test.", NS) == ["ns1.features.test.", "ns2.features.test."]


def test_ttl_and_class_in_either_order(features: ParsedZone) -> None:
    assert [r.ttl for r in _find(features, "ns2.features.test.", A)] == [300]
    assert [r.ttl for r in _find(features, "ns2.features.test.", AAAA)] == [300]


def test_owner_names_are_lower_cased(features: ParsedZone) -> None:
    (record,) = _find(features, "mixed.case.features.test.", A)
    assert record.name == (b"mixed", b"case", b"features", b"test")
    assert record.rdata == bytes([192, 0, 2, 3])


def test_txt_quotes_escapes_and_several_strings(features: ParsedZone) -> None:
    first, second = (_rdata(r) for r in _find(features, "txt.features.test.", TXT))
    assert first.strings == (b'with "quotes" and a ; semicolon', b"second string", b"plain")
    assert second.strings == (b"ABC",)


def test_common_types_decode_back(features: ParsedZone) -> None:
    def one(name: str, rtype: str) -> str:
        (text,) = _texts(features, name + ".features.test.", dns.rdatatype.from_text(rtype))
        return text

    assert one("_sip._tcp", "SRV") == "10 60 5060 ns1.features.test."
    assert one("ptr", "PTR") == "ns1.features.test."
    assert one("caa", "CAA") == '128 issue "ca.example.net; account=1"'
    assert one("naptr", "NAPTR") == '100 10 "U" "E2U+sip" "!^.*$!sip:info@features.test!" .'
    assert one("sshfp", "SSHFP").startswith("4 2 9b1c3e2a")
    assert one("_25._tcp.mx", "TLSA").startswith("3 1 1 0c72ac70")
    assert one("child", "DS").startswith("12345 13 2 2bb183af")
    assert one("old", "DNAME") == "features.test."
    assert one("hinfo", "HINFO") == '"PC" "Linux"'
    assert (
        one("dhcid", "DHCID").replace(" ", "") == "AAIBY2/AuCccgoJbsaxcQc9TUapptP69lOjxfNuVAA2kjEA="
    )
    assert one("cname", "CNAME") == "ns1.features.test."
    assert _texts(features, "mx.features.test.", 15) == [
        "10 ns1.features.test.",
        "20 mx.elsewhere.example.",
    ]


def test_rdata_names_are_absolute_and_uncompressed(features: ParsedZone) -> None:
    (record,) = _find(features, "cname.features.test.", CNAME)
    assert record.rdata == b"\x03ns1\x08features\x04test\x00"


def test_rfc3597_generic_types(features: ParsedZone) -> None:
    (unknown,) = _find(features, "generic.features.test.", 65280)
    assert unknown.rdata == bytes.fromhex("0a000001")
    (known,) = _find(features, "generic-a.features.test.", A)
    assert known.rdata == bytes([192, 0, 2, 99])
    (empty,) = _find(features, "empty-rdata.features.test.", 65281)
    assert empty.rdata == b""


def test_wildcard_owner(features: ParsedZone) -> None:
    (record,) = _find(features, "*.wild.features.test.", A)
    assert record.name[0] == b"*"


def test_generate_with_modifiers(features: ParsedZone) -> None:
    hosts = [r for r in features.records if r.name[0].startswith(b"host-")]
    assert [(r.name[0], _rdata(r).to_text(), r.line) for r in hosts] == [
        (b"host-1", "192.0.2.101", 41),
        (b"host-2", "192.0.2.102", 41),
        (b"host-3", "192.0.2.103", 41),
    ]
    # A quoted operand is one word to substitute into, as in BIND; "$$" is a literal "$".
    assert _texts(features, "hex-000a.features.test.", TXT) == ['"n=10" "$"']
    assert _texts(features, "pad-002.sub.features.test.", CNAME) == ["host-2.features.test."]


def test_include_relative_to_including_file(features: ParsedZone) -> None:
    inc = str(DATA / "inc" / "hosts.inc")
    (record,) = _find(features, "included.features.test.", A)
    assert (record.file, record.line) == (inc, 2)
    (txt,) = _find(features, "included.features.test.", TXT)
    assert (txt.file, txt.line) == (inc, 3)  # owner omitted inside the include
    (after,) = _find(features, "after-include.features.test.", A)
    assert (after.file, after.line) == (str(DATA / "features.zone"), 44)


def test_include_with_its_own_origin(features: ParsedZone) -> None:
    assert _find(features, "included.other.features.test.", A)


def test_owner_is_restored_after_include(features: ParsedZone) -> None:
    # Line 49 omits its owner: it is the owner in force before the $INCLUDE (RFC 1035 §5.1).
    (record,) = [r for r in features.records if r.line == 49]
    assert record.name == from_text("deep.sub.features.test.")


def test_files_hold_every_file_read_with_its_hash(features: ParsedZone) -> None:
    main, inc = DATA / "features.zone", DATA / "inc" / "hosts.inc"
    assert features.files == {
        str(main): hashlib.sha256(main.read_bytes()).hexdigest(),
        str(inc): hashlib.sha256(inc.read_bytes()).hexdigest(),
    }


def test_nested_includes_resolve_against_their_own_directory() -> None:
    zone = parse_zone_file(str(DATA / "nested.zone"))
    (level2,) = _find(zone, "level2.nested.test.", A)
    assert (level2.file, level2.line) == (str(DATA / "inc" / "level2.inc"), 2)
    assert list(zone.files) == [
        str(DATA / "nested.zone"),
        str(DATA / "inc" / "level1.inc"),
        str(DATA / "inc" / "level2.inc"),
    ]


def test_include_of_an_absolute_path(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "hosts.inc").write_text("abs A 192.0.2.7\n")
    zone_file = tmp_path / "z.zone"
    zone_file.write_text(
        "$ORIGIN z.test.\n$TTL 60\n@ SOA ns1 h 1 2 3 4 5\n NS ns1\nns1 A 192.0.2.1\n"
        f'$INCLUDE "{elsewhere / "hosts.inc"}"\n'
    )
    zone = parse_zone_file(str(zone_file))
    assert _find(zone, "abs.z.test.", A)[0].file == str(elsewhere / "hosts.inc")


def test_duplicates_are_removed_with_a_warning(features: ParsedZone) -> None:
    assert len(_find(features, "dup.features.test.", A)) == 1
    main = DATA / "features.zone"
    assert f"{main}:38: duplicate record ignored (first at {main}:37)" in features.warnings


def test_differing_ttls_in_an_rrset_are_kept_with_a_warning(features: ParsedZone) -> None:
    assert [r.ttl for r in _find(features, "ttl.features.test.", A)] == [100, 200]
    (warning,) = [w for w in features.warnings if "TTL 200" in w]
    assert warning.startswith(f"{DATA / 'features.zone'}:40: TTL 200 differs from TTL 100")
    assert "RFC 2181 §5.2" in warning
    assert len(features.warnings) == 2


def test_ttl_with_the_top_bit_set_is_served_as_zero(tmp_path: Path) -> None:
    path = tmp_path / "t.zone"
    path.write_text(
        "$ORIGIN t.\n$TTL 60\n@ SOA ns1 h 1 2 3 4 5\n NS ns1\nns1 2147483648 A 1.2.3.4\n"
    )
    zone = parse_zone_file(str(path))
    assert _find(zone, "ns1.t.", A)[0].ttl == 0
    assert zone.warnings == [
        f"{path}:5: TTL 2147483648 is above 2147483647, served as 0 (RFC 2181 §8)"
    ]


def test_origin_from_the_soa_owner_without_origin_directive() -> None:
    zone = parse_zone_file(str(DATA / "implicit-origin.zone"))
    assert zone.origin == from_text("implicit.test.")
    assert _find(zone, "ns1.implicit.test.", A)


def test_origin_argument_completes_relative_names() -> None:
    zone = parse_zone_file(str(DATA / "relative.zone"), origin=from_text("rel.test."))
    assert zone.origin == from_text("rel.test.")
    assert _texts(zone, "rel.test.", NS) == ["ns1.rel.test."]


def test_origin_argument_wins_over_origin_directive() -> None:
    with pytest.raises(ZoneFileError) as info:
        parse_zone_file(str(DATA / "features.zone"), origin=from_text("other.test."))
    assert str(info.value) == (
        f"{DATA / 'features.zone'}:5: features.test. is out of zone (zone is other.test.)"
    )


def test_crlf_line_endings_keep_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "crlf.zone"
    path.write_bytes(
        b"$ORIGIN c.test.\r\n$TTL 60\r\n@ SOA ns1 h 1 2 3 4 5\r\n NS ns1\r\n"
        b"ns1 A 192.0.2.1\r\nbad A 1.2.3\r\n"
    )
    with pytest.raises(ZoneFileError) as info:
        parse_zone_file(str(path))
    assert (info.value.file, info.value.line) == (str(path), 6)


# --- errors ---------------------------------------------------------------------------------

ERRORS = [
    # fixture, file the error names (relative to DATA), line, text the reason contains
    ("err-syntax.zone", "err-syntax.zone", 7, "syntax error"),
    ("err-unbalanced.zone", "err-unbalanced.zone", 7, "unbalanced parentheses"),
    ("err-newline-in-quote.zone", "err-newline-in-quote.zone", 7, "newline in quoted string"),
    ("err-quote-in-parens.zone", "err-quote-in-parens.zone", 7, "newline in quoted string"),
    ("err-unknown-type.zone", "err-unknown-type.zone", 7, "unknown record type 'FROB'"),
    ("err-bad-rdata.zone", "err-bad-rdata.zone", 7, "near '192.0.2.256'"),
    ("err-bad-rdata-multiline.zone", "err-bad-rdata-multiline.zone", 8, "near 'x5060'"),
    ("err-missing-rdata.zone", "err-missing-rdata.zone", 7, "near the end of the line"),
    ("err-no-ttl.zone", "err-no-ttl.zone", 2, "no TTL"),
    ("err-no-owner.zone", "err-no-owner.zone", 3, "no owner name"),
    ("relative.zone", "relative.zone", 3, "relative owner name but no origin"),
    ("err-class.zone", "err-class.zone", 7, "record class is not IN"),
    ("err-unknown-directive.zone", "err-unknown-directive.zone", 7, "unknown directive $FROB"),
    ("err-generate.zone", "err-generate.zone", 7, "invalid $GENERATE modifier"),
    ("err-generate-trailing.zone", "err-generate-trailing.zone", 7, "expecting an identifier"),
    ("err-no-soa.zone", "err-no-soa.zone", 4, "no SOA record at the zone origin err.test."),
    ("err-two-soa.zone", "err-two-soa.zone", 7, "more than one SOA record (first at "),
    ("err-soa-below-apex.zone", "err-soa-below-apex.zone", 7, "is not at the zone origin"),
    ("err-no-ns.zone", "err-no-ns.zone", 3, "no NS records at the zone origin err.test."),
    ("err-out-of-zone.zone", "err-out-of-zone.zone", 7, "www.other.test. is out of zone"),
    ("err-cname-after-data.zone", "err-cname-after-data.zone", 7, "CNAME here, A at "),
    ("err-data-after-cname.zone", "err-data-after-cname.zone", 8, "TXT here, CNAME at "),
    ("err-apex-cname.zone", "err-apex-cname.zone", 6, "CNAME here, SOA at "),
    ("err-two-cnames.zone", "err-two-cnames.zone", 7, "more than one CNAME record"),
    ("err-nul.zone", "err-nul.zone", 7, "owner name a\\000b.err.test.: NUL byte"),
    ("err-nul-target.zone", "err-nul-target.zone", 7, "CNAME target a\\000b.err.test.: NUL"),
    ("err-include-missing.zone", "err-include-missing.zone", 7, "cannot read $INCLUDE file"),
    ("err-include-bad.zone", "inc/bad.inc", 3, "near '192.0.2.256'"),
    ("err-include-loop.zone", "err-include-loop.zone", 7, "$INCLUDE loop"),
    ("err-empty.zone", "err-empty.zone", 0, "no records and no origin"),
]


@pytest.mark.parametrize(("fixture", "file", "line", "reason"), ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_name_file_line_and_reason(fixture: str, file: str, line: int, reason: str) -> None:
    with pytest.raises(ZoneFileError) as info:
        parse_zone_file(str(DATA / fixture))
    error = info.value
    assert (error.file, error.line) == (str(DATA / file), line)
    assert reason in error.reason
    assert str(error) == f"{DATA / file}:{line}: {error.reason}"
    assert not re.match(r"\S+:\d+: ", error.reason)  # dnspython's own "file:line" is not doubled


def test_cname_conflict_names_both_places() -> None:
    with pytest.raises(ZoneFileError) as info:
        parse_zone_file(str(DATA / "err-cname-after-data.zone"))
    path = DATA / "err-cname-after-data.zone"
    assert str(info.value) == (
        f"{path}:7: CNAME and other data at www.err.test.: CNAME here, A at {path}:6 "
        "(RFC 1034 §3.6.2, RFC 2181 §10.1)"
    )


def test_missing_include_names_the_file() -> None:
    with pytest.raises(ZoneFileError) as info:
        parse_zone_file(str(DATA / "err-include-missing.zone"))
    assert "does-not-exist.inc" in info.value.reason
    assert "No such file or directory" in info.value.reason


def test_include_of_a_directory_is_an_error_at_the_include_line(tmp_path: Path) -> None:
    (tmp_path / "adir").mkdir()
    path = tmp_path / "d.zone"
    path.write_text("$ORIGIN d.test.\n$TTL 60\n@ SOA ns1 h 1 2 3 4 5\n NS ns1\n$INCLUDE adir\n")
    with pytest.raises(ZoneFileError) as info:
        parse_zone_file(str(path))
    assert (info.value.file, info.value.line) == (str(path), 5)


def test_unreadable_zone_file_is_line_zero(tmp_path: Path) -> None:
    missing = tmp_path / "missing.zone"
    with pytest.raises(ZoneFileError) as info:
        parse_zone_file(str(missing))
    assert (info.value.file, info.value.line) == (str(missing), 0)
    assert "cannot read zone file" in info.value.reason


def test_text_that_is_not_utf8_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.zone"
    path.write_bytes(b'$ORIGIN l.test.\n$TTL 60\nx TXT "caf\xe9"\n')
    with pytest.raises(ZoneFileError) as info:
        parse_zone_file(str(path))
    assert (info.value.line, info.value.reason) == (3, "text is not valid UTF-8")


def test_relative_path_is_made_absolute(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(DATA)
    with pytest.raises(ZoneFileError) as info:
        parse_zone_file("err-two-soa.zone")
    assert info.value.file == str(DATA / "err-two-soa.zone")


# --- fingerprints ---------------------------------------------------------------------------


def test_fingerprint_files_matches_parse_and_marks_missing(tmp_path: Path) -> None:
    zone = parse_zone_file(str(DATA / "features.zone"))
    missing = str(tmp_path / "gone.zone")
    assert fingerprint_files([*zone.files, missing]) == {**zone.files, missing: ""}


def test_fingerprint_changes_with_content(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"one")
    before = fingerprint_files([str(path)])
    path.write_bytes(b"two")
    assert fingerprint_files([str(path)]) != before


# --- the shipped example zones --------------------------------------------------------------


def test_shipped_lab_zone(lab: ParsedZone) -> None:
    assert lab.origin == from_text("lab.example.")
    assert lab.warnings == []
    (soa,) = _find(lab, "lab.example.", SOA)
    soa_rdata = _rdata(soa)
    assert (soa_rdata.serial, soa_rdata.minimum, soa.ttl) == (2026112101, 300, 3600)
    assert _texts(lab, "lab.example.", NS) == ["ns1.lab.example.", "ns2.lab.example."]
    assert _texts(lab, "ns1.lab.example.", AAAA) == ["fd00:10::2"]
    assert _texts(lab, "www.lab.example.", CNAME) == ["web.lab.example."]
    assert _texts(lab, "alias1.lab.example.", CNAME) == ["alias2.lab.example."]
    assert _texts(lab, "docs.lab.example.", CNAME) == ["docs.example.org."]
    assert _texts(lab, "lab.example.", 15) == ["10 mail.lab.example."]
    assert _texts(lab, "_ldap._tcp.lab.example.", 33) == ["0 100 389 nas.lab.example."]
    (info,) = _find(lab, "info.lab.example.", TXT)
    assert _rdata(info).strings == (b'lab "rack 3"', b"second; string")
    assert _texts(lab, "*.dev.lab.example.", A) == ["10.0.0.99"]
    assert _texts(lab, "build.dev.lab.example.", A) == ["10.0.0.98"]
    assert _find(lab, "a.b.lab.example.", TXT) and not [
        r for r in lab.records if r.name == from_text("b.lab.example.")
    ]
    assert _texts(lab, "sub.lab.example.", NS) == ["ns.sub.lab.example."]
    assert _find(lab, "sub.lab.example.", dns.rdatatype.DS)
    assert _texts(lab, "ns.sub.lab.example.", A) == ["10.0.1.53"]


def test_shipped_lab_zone_includes_the_printers(lab: ParsedZone) -> None:
    inc = str(ZONES / "lab.example.printers.inc")
    assert list(lab.files) == [str(ZONES / "lab.example.zone"), inc]
    (printer,) = _find(lab, "printer1.lab.example.", A)
    assert (printer.file, _rdata(printer).to_text()) == (inc, "10.0.0.30")
    assert _find(lab, "printer1.lab.example.", dns.rdatatype.HINFO)


def test_shipped_reverse_zone() -> None:
    zone = parse_zone_file(str(ZONES / "0.0.10.in-addr.arpa.zone"))
    assert zone.origin == from_text("0.0.10.in-addr.arpa.")
    assert zone.warnings == []
    assert _texts(zone, "20.0.0.10.in-addr.arpa.", 12) == ["nas.lab.example."]
    assert _texts(zone, "120.0.0.10.in-addr.arpa.", 12) == ["dhcp-120.lab.example."]
    pool = [r for r in zone.records if r.rtype == 12 and 100 <= int(r.name[0]) <= 150]
    assert len(pool) == 51


def test_reverse_zone_has_a_ptr_for_every_fixed_lab_address(lab: ParsedZone) -> None:
    reverse = parse_zone_file(str(ZONES / "0.0.10.in-addr.arpa.zone"))
    ptr_targets = {_rdata(r).to_text() for r in reverse.records if r.rtype == 12}
    fixed = {
        r.name for r in lab.records if r.rtype == A and _rdata(r).to_text().startswith("10.0.0.")
    }
    fixed.discard(from_text("*.dev.lab.example."))
    missing = {n for n in fixed if b".".join(n).decode() + "." not in ptr_targets}
    assert missing == set()


# --- agreement with BIND --------------------------------------------------------------------


def _bind_dump(zone_name: str, path: Path, tmp_path: Path) -> set[tuple[str, int, bytes]]:
    """Load with named-checkzone (in the file's directory, where BIND looks for includes)."""
    out = tmp_path / "dump.zone"
    result = subprocess.run(
        [str(NAMED_CHECKZONE), "-o", str(out), zone_name, path.name],
        cwd=path.parent,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.rstrip().endswith("OK")
    zone = dns.zone.from_text(out.read_text(), origin=zone_name, relativize=False)
    return {
        (name.to_text().lower(), rdata.rdtype, rdata.to_digestable())
        for name, _, rdata in zone.iterate_rdatas()
    }


def _ours(zone: ParsedZone) -> set[tuple[str, int, bytes]]:
    return {
        (b".".join(r.name).decode() + ".", r.rtype, _rdata(r).to_digestable()) for r in zone.records
    }


@pytest.mark.skipif(NAMED_CHECKZONE is None, reason="named-checkzone (bind9) is not installed")
@pytest.mark.parametrize(
    ("zone_name", "path"),
    [
        ("lab.example", ZONES / "lab.example.zone"),
        ("0.0.10.in-addr.arpa", ZONES / "0.0.10.in-addr.arpa.zone"),
        ("features.test", DATA / "features.zone"),
    ],
    ids=["lab.example", "reverse", "features"],
)
def test_named_checkzone_accepts_and_reads_the_same_records(
    zone_name: str, path: Path, tmp_path: Path
) -> None:
    assert _ours(parse_zone_file(str(path))) == _bind_dump(zone_name, path, tmp_path)


@pytest.mark.skipif(NAMED_CHECKZONE is None, reason="named-checkzone (bind9) is not installed")
@pytest.mark.parametrize(
    "fixture",
    ["err-two-soa.zone", "err-cname-after-data.zone", "err-out-of-zone.zone", "err-no-ns.zone"],
)
def test_named_checkzone_also_rejects(fixture: str) -> None:
    # err-out-of-zone: BIND ignores out-of-zone data with a warning; we refuse it, so only check
    # that BIND says something about it.
    result = subprocess.run(
        [str(NAMED_CHECKZONE), "err.test", fixture],
        cwd=DATA,
        capture_output=True,
        text=True,
        timeout=30,
    )
    if fixture == "err-out-of-zone.zone":
        assert "out-of-zone" in result.stdout + result.stderr
    else:
        assert result.returncode != 0
