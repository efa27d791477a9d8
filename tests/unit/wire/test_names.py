"""Names as label tuples: presentation format (RFC 1035 §5.1), wire form and store keys."""

from __future__ import annotations

import pytest

from leasedns.wire import names
from leasedns.wire.names import NameError_, from_text, to_text

EXAMPLE = (b"example",)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("www.lab.example.", (b"www", b"lab", b"example")),
        ("WWW.Lab.EXAMPLE.", (b"www", b"lab", b"example")),  # RFC 4343: case-insensitive
        (".", ()),
        ("a\\.b.example.", (b"a.b", b"example")),  # escaped dot stays inside the label
        ("a\\\\b.example.", (b"a\\b", b"example")),
        ("\\065bc.", (b"abc",)),  # \DDD is a decimal octet, then lower-cased
        ("a\\032b.", (b"a b",)),
        ("\\000x.", None),  # NUL is refused (store keys use it as separator)
        ("\\255.", (b"\xff",)),
        ('\\"q\\;.', (b'"q;',)),
    ],
)
def test_from_text_escapes(text: str, expected: tuple[bytes, ...] | None) -> None:
    if expected is None:
        with pytest.raises(NameError_):
            from_text(text)
    else:
        assert from_text(text) == expected


def test_from_text_relative_and_at() -> None:
    assert from_text("www", EXAMPLE) == (b"www", b"example")
    assert from_text("a.b", EXAMPLE) == (b"a", b"b", b"example")
    assert from_text("@", EXAMPLE) == EXAMPLE
    assert from_text("www.other.", EXAMPLE) == (b"www", b"other")  # absolute ignores origin
    with pytest.raises(NameError_):
        from_text("www")
    with pytest.raises(NameError_):
        from_text("@")


@pytest.mark.parametrize(
    "text",
    [
        "a..b.",
        ".a.",
        "..",
        "a\\",  # trailing backslash
        "\\256.",  # above 255
        "a" * 64 + ".",  # label over 63 octets
        ".".join(["a" * 63] * 4) + ".",  # 4 * 64 + 1 = 257 octets on the wire
    ],
)
def test_from_text_rejects(text: str) -> None:
    with pytest.raises(NameError_):
        from_text(text)


def test_longest_name_accepted() -> None:
    # 3 * 64 + 62 + 1 = 255 octets exactly (RFC 1035 §2.3.4).
    text = ".".join(["a" * 63] * 3 + ["b" * 61]) + "."
    name = from_text(text)
    assert len(names.to_wire(name)) == 255
    with pytest.raises(NameError_):
        from_text("c" + text)


@pytest.mark.parametrize("text", ["\\1a.", "\\12.", "x\\9.example."])
def test_from_text_rejects_short_decimal_escape(text: str) -> None:
    # RFC 1035 §5.1: "\X" is for X other than a digit; a digit starts "\DDD".
    with pytest.raises(NameError_):
        from_text(text)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ((), "."),
        ((b"www", b"example"), "www.example."),
        ((b"a.b", b"example"), "a\\.b.example."),
        ((b"a b",), "a\\032b."),
        ((b"\xff\x01",), "\\255\\001."),
        ((b'@$()";\\',), '\\@\\$\\(\\)\\"\\;\\\\.'),
        ((b"*", b"example"), "*.example."),
    ],
)
def test_to_text(name: tuple[bytes, ...], text: str) -> None:
    assert to_text(name) == text
    assert from_text(text) == name


def test_to_text_round_trips_every_byte() -> None:
    label = bytes(range(1, 64))
    name = (label, bytes(range(64, 127)), bytes(range(127, 190)), bytes(range(190, 250)))
    lowered = tuple(x.lower() for x in name)
    assert from_text(to_text(name)) == lowered


def test_wire_round_trip() -> None:
    name = (b"www", b"lab", b"example")
    wire = names.to_wire(name)
    assert wire == b"\x03www\x03lab\x07example\x00"
    assert names.from_wire(b"xx" + wire + b"yy", 2) == (name, 2 + len(wire))
    assert names.to_wire(()) == b"\x00"
    assert names.from_wire(b"\x00") == ((), 1)


def test_from_wire_lowercases() -> None:
    assert names.from_wire(b"\x03WwW\x07ExAmPlE\x00")[0] == (b"www", b"example")


@pytest.mark.parametrize(
    "data",
    [
        b"",  # nothing at all
        b"\x03www",  # no terminating root label
        b"\x05ab",  # label runs past the end
        b"\xc0\x0c",  # compression pointer in uncompressed data
        b"\x40" + b"a" * 64 + b"\x00",  # 64: extended label type
        b"\x01\x00\x00",  # NUL byte inside a label
        b"\x3f"
        + b"a" * 63
        + b"\x3f"
        + b"a" * 63
        + b"\x3f"
        + b"a" * 63
        + b"\x3f"
        + b"a" * 63
        + b"\x00",
    ],
)
def test_from_wire_errors(data: bytes) -> None:
    with pytest.raises(NameError_):
        names.from_wire(data)


def test_is_subdomain_and_relative_to() -> None:
    lab = (b"lab", b"example")
    assert names.is_subdomain((b"www", b"lab", b"example"), lab)
    assert names.is_subdomain(lab, lab)
    assert names.is_subdomain(lab, ())
    assert not names.is_subdomain((b"example",), lab)
    assert not names.is_subdomain((b"xlab", b"example"), lab)  # label-wise, not string-wise
    assert names.relative_to((b"www", b"lab", b"example"), lab) == (b"www",)
    assert names.relative_to(lab, lab) == ()


def test_key_layout_and_inverse() -> None:
    name = (b"www", b"lab", b"example")
    assert names.key(name) == b"example\x00lab\x00www\x00"
    assert names.key(()) == b""
    assert names.from_key(names.key(name)) == name
    assert names.from_key(b"") == ()


def test_key_prefix_is_subtree() -> None:
    lab = names.key((b"lab", b"example"))
    assert names.key((b"www", b"lab", b"example")).startswith(lab)
    assert not names.key((b"labx", b"example")).startswith(lab)


def test_key_order_is_canonical_rfc4034_example() -> None:
    # RFC 4034 §6.1 lists these names in canonical order (with upper case folded and
    # the "\001" and "\200" escapes decoded).
    ordered = [
        "example.",
        "a.example.",
        "yljkjljk.a.example.",
        "Z.a.example.",
        "zABC.a.EXAMPLE.",
        "z.example.",
        "\\001.z.example.",
        "*.z.example.",
        "\\200.z.example.",
    ]
    parsed = [from_text(t) for t in ordered]
    assert sorted(parsed, key=names.key) == parsed


@pytest.mark.parametrize(
    "wire, end",
    [
        (b"\x00" * 4 + b"\x00\x01" + b"\x00" * 6 + b"\x01a\x00\x00\x01\x00\x01", 19),
        (b"\x00" * 4 + b"\x00\x01" + b"\x00" * 6 + b"\x01a\x00\x00\x01\x00\x01junk", 19),
        (b"\x00" * 4 + b"\x00\x02" + b"\x00" * 6 + b"\x01a\x00\x00\x01\x00\x01", None),
        (b"\x00" * 4 + b"\x00\x01" + b"\x00" * 6 + b"\x01a\x00\x00\x01\x00", None),
        (b"\x00" * 4 + b"\x00\x01" + b"\x00" * 6 + b"\x01a\xc0\x0c\x00\x01\x00\x01", None),
        (b"\x00" * 4 + b"\x00\x01" + b"\x00" * 6 + b"\x41a\x00\x00\x01\x00\x01", None),
    ],
    ids=["plain", "more-after", "qdcount-2", "short-class", "pointer", "bad-label"],
)
def test_question_end(wire: bytes, end: int | None) -> None:
    assert names.question_end(wire) == end
