"""The UPDATE reader (RFC 2136 §2): RR order, per-RR TTLs, compression and malformed input."""

from __future__ import annotations

import struct

import dns.edns
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.tsigkeyring
import dns.update
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from leasedns.update.message import (
    C_ANY,
    C_IN,
    C_NONE,
    UpdateFormatError,
    UpdateRR,
    parse_update,
    read_name,
)
from leasedns.wire import names

ZONE = names.from_text("lab.example.")
OP_UPDATE_FLAGS = 5 << 11


def n(text: str) -> names.Name:
    return names.from_text(text, ZONE)


def rdata(rtype: str, text: str) -> bytes:
    rd = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(rtype), text)
    return rd.to_wire()


def rr_wire(owner: str, rtype: int, rclass: int, ttl: int, data: bytes = b"") -> bytes:
    return names.to_wire(n(owner)) + struct.pack(">HHIH", rtype, rclass, ttl, len(data)) + data


def update_wire(
    prereqs: list[bytes] = (),  # type: ignore[assignment]
    updates: list[bytes] = (),  # type: ignore[assignment]
    additional: list[bytes] = (),  # type: ignore[assignment]
    zone: bytes | None = None,
    zocount: int = 1,
    qid: int = 0x1234,
) -> bytes:
    """A hand-made UPDATE, so the order and TTL of every RR is exactly what the test says."""
    head = struct.pack(
        ">HHHHHH", qid, OP_UPDATE_FLAGS, zocount, len(prereqs), len(updates), len(additional)
    )
    zsec = (zone if zone is not None else names.to_wire(ZONE)) + struct.pack(">HH", 6, 1)
    return head + zsec + b"".join(prereqs) + b"".join(updates) + b"".join(additional)


# -- what dnspython (a real client library) sends ------------------------------------------


def test_dnspython_update_reads_back_every_section() -> None:
    u = dns.update.UpdateMessage("lab.example.")
    u.present("www")  # name is in use
    u.present("web", "A")  # RRset exists (value independent)
    u.present("web", dns.rdata.from_text("IN", "A", "10.0.0.40"))  # value dependent
    u.absent("new")  # name is not in use
    u.absent("new", "TXT")  # RRset does not exist
    u.add("new", 300, "A", "10.9.9.9")
    u.delete("old", "A", "10.1.1.1")  # one RR
    u.delete("old", "TXT")  # an RRset
    u.delete("gone")  # every RRset at a name
    msg = parse_update(u.to_wire())

    assert msg.id == u.id
    assert msg.zone == ZONE and msg.zclass == C_IN and msg.zrtype == 6
    assert not msg.signed and msg.edns is None and msg.lease is None
    assert [(r.name, r.rtype, r.rclass, r.ttl, r.rdata) for r in msg.prereqs] == [
        (n("www"), 255, C_ANY, 0, b""),
        (n("web"), 1, C_ANY, 0, b""),
        (n("web"), 1, C_IN, 0, bytes([10, 0, 0, 40])),
        (n("new"), 255, C_NONE, 0, b""),
        (n("new"), 16, C_NONE, 0, b""),
    ]
    assert [(r.name, r.rtype, r.rclass, r.ttl, r.rdata) for r in msg.updates] == [
        (n("new"), 1, C_IN, 300, bytes([10, 9, 9, 9])),
        (n("old"), 1, C_NONE, 0, bytes([10, 1, 1, 1])),
        (n("old"), 16, C_ANY, 0, b""),
        (n("gone"), 255, C_ANY, 0, b""),
    ]


def test_tsig_marks_the_message_signed_and_is_not_an_update_rr() -> None:
    keyring = dns.tsigkeyring.from_text({"k1.": ("hmac-sha256", "c2VjcmV0c2VjcmV0c2VjcmV0")})
    u = dns.update.UpdateMessage("lab.example.", keyring=keyring, keyalgorithm="hmac-sha256")
    u.add("h1", 60, "A", "10.0.0.1")
    msg = parse_update(u.to_wire())
    assert msg.signed
    assert len(msg.updates) == 1 and msg.prereqs == []


def test_edns_and_update_lease_option_are_read() -> None:
    lease = dns.edns.GenericOption(2, struct.pack(">II", 3600, 86400))
    u = dns.update.UpdateMessage("lab.example.")
    u.use_edns(0, payload=1400, options=[lease])
    u.add("h1", 60, "A", "10.0.0.1")
    msg = parse_update(u.to_wire())
    assert msg.edns is not None and msg.edns[0] == 1400 and msg.edns[1] == 0
    assert msg.lease == (3600, 86400)


def test_short_update_lease_option_has_no_key_lease() -> None:
    lease = dns.edns.GenericOption(2, struct.pack(">I", 600))
    u = dns.update.UpdateMessage("lab.example.")
    u.use_edns(0, options=[lease])
    assert parse_update(u.to_wire()).lease == (600, None)


def test_update_lease_option_of_odd_length_is_formerr() -> None:
    lease = dns.edns.GenericOption(2, b"\x00\x00\x02")
    u = dns.update.UpdateMessage("lab.example.")
    u.use_edns(0, options=[lease])
    with pytest.raises(UpdateFormatError):
        parse_update(u.to_wire())


# -- order and TTL kept RR by RR (§3.4.2 applies them in order) ----------------------------


def test_rrs_keep_their_order_and_own_ttl() -> None:
    a1 = rdata("A", "10.0.0.1")
    a2 = rdata("A", "10.0.0.2")
    wire = update_wire(
        updates=[
            rr_wire("h", 1, C_IN, 100, a1),
            rr_wire("h", 255, C_ANY, 0),
            rr_wire("h", 1, C_IN, 200, a2),
            rr_wire("h", 1, C_NONE, 0, a1),
        ]
    )
    msg = parse_update(wire)
    assert msg.updates == [
        UpdateRR(n("h"), 1, C_IN, 100, a1),
        UpdateRR(n("h"), 255, C_ANY, 0, b""),
        UpdateRR(n("h"), 1, C_IN, 200, a2),
        UpdateRR(n("h"), 1, C_NONE, 0, a1),
    ]


def test_a_delete_may_carry_a_ttl_the_reader_keeps() -> None:
    """The reader does not judge TTLs; prescan does (deferred deletes need them)."""
    msg = parse_update(update_wire(updates=[rr_wire("h", 1, C_ANY, 3600)]))
    assert msg.updates[0].ttl == 3600


def test_owner_names_are_lower_cased() -> None:
    wire = update_wire(updates=[rr_wire("h", 1, C_IN, 60, rdata("A", "10.0.0.1"))])
    wire = wire.replace(b"\x01h\x03lab", b"\x01H\x03LaB")
    assert parse_update(wire).updates[0].name == n("h")


def test_compressed_names_in_rdata_come_back_uncompressed() -> None:
    """A CNAME target compressed against the zone name is stored as its full wire form."""
    u = dns.update.UpdateMessage("lab.example.")
    u.add("alias", 60, "CNAME", "web.lab.example.")
    u.add("lab.example.", 60, "MX", "10 mail.lab.example.")
    wire = u.to_wire()
    assert len(wire) < 120  # dnspython did compress
    msg = parse_update(wire)
    cname, mx = msg.updates
    assert cname.rdata == names.to_wire(n("web"))
    assert mx.rdata == b"\x00\x0a" + names.to_wire(n("mail"))


def test_compressed_owner_names_are_followed() -> None:
    u = dns.update.UpdateMessage("lab.example.")
    u.add("a.b", 60, "TXT", '"x"')
    u.add("c.a.b", 60, "TXT", '"y"')
    msg = parse_update(u.to_wire())
    assert [r.name for r in msg.updates] == [n("a.b"), n("c.a.b")]


def test_rdlength_zero_gives_empty_rdata() -> None:
    msg = parse_update(update_wire(prereqs=[rr_wire("h", 1, C_ANY, 0)]))
    assert msg.prereqs[0].rdata == b""


def test_unknown_types_are_kept_as_opaque_rdata() -> None:
    msg = parse_update(update_wire(updates=[rr_wire("h", 65280, C_IN, 60, b"\x01\x02\x03")]))
    assert msg.updates[0].rdata == b"\x01\x02\x03"


def test_other_additional_records_are_ignored() -> None:
    extra = rr_wire("h", 1, C_IN, 60, rdata("A", "10.0.0.1"))
    msg = parse_update(update_wire(additional=[extra]))
    assert msg.updates == [] and msg.prereqs == [] and not msg.signed


# -- malformed messages are FORMERR ---------------------------------------------------------


@pytest.mark.parametrize("zocount", [0, 2])
def test_zocount_other_than_one_is_formerr(zocount: int) -> None:
    """RFC 2136 §3.1.1: exactly one RR in the zone section."""
    with pytest.raises(UpdateFormatError):
        parse_update(update_wire(zocount=zocount))


@pytest.mark.parametrize(
    "wire",
    [
        b"\x12\x34\x28\x00\x00\x01",  # shorter than a header
        struct.pack(">HHHHHH", 1, OP_UPDATE_FLAGS, 1, 0, 0, 0) + names.to_wire(ZONE),  # no type
        struct.pack(">HHHHHH", 1, OP_UPDATE_FLAGS, 1, 0, 0, 0) + b"\x03lab\x07exa",  # cut name
    ],
    ids=["short-header", "short-zone-section", "truncated-zone-name"],
)
def test_truncated_messages_are_formerr(wire: bytes) -> None:
    with pytest.raises(UpdateFormatError):
        parse_update(wire)


def test_counts_larger_than_the_content_are_formerr() -> None:
    wire = update_wire(updates=[rr_wire("h", 1, C_IN, 60, rdata("A", "10.0.0.1"))])
    bad = wire[:8] + struct.pack(">H", 2) + wire[10:]
    with pytest.raises(UpdateFormatError):
        parse_update(bad)


def test_rdlength_past_the_end_is_formerr() -> None:
    rr = names.to_wire(n("h")) + struct.pack(">HHIH", 1, C_IN, 60, 8) + b"\x0a\x00\x00\x01"
    with pytest.raises(UpdateFormatError):
        parse_update(update_wire(updates=[rr]))


def test_trailing_bytes_are_formerr() -> None:
    with pytest.raises(UpdateFormatError):
        parse_update(update_wire() + b"\x00")


def test_bad_rdata_is_formerr() -> None:
    """An A record must be four octets."""
    with pytest.raises(UpdateFormatError):
        parse_update(update_wire(updates=[rr_wire("h", 1, C_IN, 60, b"\x0a\x00\x00")]))


@pytest.mark.parametrize("rtype", [41, 250, 255])
def test_meta_type_with_rdata_is_formerr(rtype: int) -> None:
    with pytest.raises(UpdateFormatError):
        parse_update(update_wire(updates=[rr_wire("h", rtype, C_IN, 60, b"\x00\x01")]))


def test_forward_compression_pointer_is_formerr() -> None:
    """A pointer must point backwards, or a loop could be built."""
    head = struct.pack(">HHHHHH", 1, OP_UPDATE_FLAGS, 1, 0, 0, 0)
    wire = head + b"\xc0\x0e" + b"\x00" + struct.pack(">HH", 6, 1)
    with pytest.raises(UpdateFormatError):
        parse_update(wire)


def test_self_pointer_is_formerr() -> None:
    head = struct.pack(">HHHHHH", 1, OP_UPDATE_FLAGS, 1, 0, 0, 0)
    wire = head + b"\xc0\x0c" + struct.pack(">HH", 6, 1)
    with pytest.raises(UpdateFormatError):
        parse_update(wire)


def test_extended_label_type_is_formerr() -> None:
    head = struct.pack(">HHHHHH", 1, OP_UPDATE_FLAGS, 1, 0, 0, 0)
    wire = head + b"\x41\x00" + struct.pack(">HH", 6, 1)
    with pytest.raises(UpdateFormatError):
        parse_update(wire)


def test_label_with_nul_byte_is_refused() -> None:
    head = struct.pack(">HHHHHH", 1, OP_UPDATE_FLAGS, 1, 0, 0, 0)
    wire = head + b"\x02a\x00\x00" + struct.pack(">HH", 6, 1)
    with pytest.raises(UpdateFormatError):
        parse_update(wire)


def test_repeated_opt_is_formerr() -> None:
    opt = b"\x00" + struct.pack(">HHIH", 41, 1232, 0, 0)
    with pytest.raises(UpdateFormatError):
        parse_update(update_wire(additional=[opt, opt]))


def test_read_name_returns_the_offset_after_a_pointer() -> None:
    wire = b"\x03www\x03lab\x07example\x00" + b"\x01h\xc0\x04"
    name, end = read_name(wire, 17)
    assert name == n("h") and end == len(wire)


def test_wire_of_dnspython_names_matches_ours() -> None:
    """Guard for the helpers above: our uncompressed names equal dnspython's."""
    assert names.to_wire(n("a.b")) == dns.name.from_text("a.b.lab.example.").to_wire()


# -- the RDATA checks done without dnspython agree with dnspython ---------------------------


def dnspython_rdata(wire: bytes, rdlen: int) -> bytes | None:
    """What dnspython's decoder makes of the one update RR's RDATA (None when it refuses).

    Decoded inside the whole message, as ours is: a compression pointer in the RDATA
    may point back at any earlier octet of the message (RFC 1035 §4.1.4)."""
    try:
        rrset = dns.message.from_wire(wire).sections[2][0]
        return rrset[0].to_wire()  # type: ignore[no-any-return]
    except dns.name.DecompressionForbidden:
        # dnspython alone refuses a compressed DNAME target; BIND and Knot read it (the
        # differential tests send one), so the oracle reads the name as they do.
        try:
            name, used = dns.name.from_wire(wire, len(wire) - rdlen)
        except Exception:  # noqa: BLE001 - any refusal counts as one
            return None
        return name.to_wire() if used == rdlen else None
    except Exception:  # noqa: BLE001 - any refusal counts as one
        return None


@settings(max_examples=400, deadline=None)
@given(
    rtype=st.sampled_from([1, 28, 2, 5, 12, 39, 16]),
    data=st.one_of(
        st.binary(min_size=1, max_size=40),
        st.lists(st.binary(max_size=12), min_size=1, max_size=4).map(
            lambda parts: b"".join(bytes((len(p),)) + p for p in parts)
        ),
        st.lists(st.text("abcXYZ-0", min_size=1, max_size=8), min_size=0, max_size=3).map(
            lambda labels: b"".join(bytes((len(x),)) + x.encode() for x in labels) + b"\x00"
        ),
    ),
)
@example(rtype=2, data=b"\xc0\x02")  # a pointer back into the header: legal, if odd
@example(rtype=39, data=b"\xc0\x02")  # and in a DNAME target, as BIND and Knot read it
def test_rdata_checked_here_matches_dnspython(rtype: int, data: bytes) -> None:
    wire = update_wire(updates=[rr_wire("h", rtype, C_IN, 60, data)])
    expected = dnspython_rdata(wire, len(data))
    if expected is None:
        with pytest.raises(UpdateFormatError):
            parse_update(wire)
    else:
        assert parse_update(wire).updates[0].rdata == expected


def test_ptr_target_keeps_its_case_and_is_decompressed() -> None:
    u = dns.update.UpdateMessage("2.0.192.in-addr.arpa.")
    u.add("10", 60, "PTR", "Host-A.In-Addr.Arpa.")  # dnspython points the suffix at the zone
    rr = parse_update(u.to_wire()).updates[0]
    assert rr.rdata == b"\x06Host-A\x07in-addr\x04arpa\x00"
