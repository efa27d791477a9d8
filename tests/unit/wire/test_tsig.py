"""TSIG on wire bytes, checked against dnspython as the peer (client, server, AXFR reader)."""

from __future__ import annotations

import hmac
import io
import struct
import time

import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TSIG
import dns.rrset
import dns.tsig
import dns.update
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leasedns.keys import ALGORITHMS, Keyring, Role, TsigKey, keygen
from leasedns.wire import tsig
from leasedns.wire.tsig import (
    BADKEY,
    BADSIG,
    BADTIME,
    BADTRUNC,
    FORMERR,
    NOERROR,
    NOTAUTH,
    UNSIGNED,
    TsigSigningError,
    TsigStream,
    error_response,
    has_tsig,
    sign_request,
    sign_response,
    tsig_rr_size,
    verify_request,
    verify_response,
)

WIRE_ALG = {
    "hmac-md5": dns.tsig.HMAC_MD5,
    "hmac-sha1": dns.tsig.HMAC_SHA1,
    "hmac-sha224": dns.tsig.HMAC_SHA224,
    "hmac-sha256": dns.tsig.HMAC_SHA256,
    "hmac-sha384": dns.tsig.HMAC_SHA384,
    "hmac-sha512": dns.tsig.HMAC_SHA512,
}


def make_key(name: str, algorithm: str = "hmac-sha256", fill: int = 7) -> TsigKey:
    return keygen(name, algorithm, Role.DHCP, rng=lambda n: bytes([fill]) * n)


def dns_key(k: TsigKey) -> dns.tsig.Key:
    return dns.tsig.Key(k.name_text + ".", k.secret, WIRE_ALG[k.algorithm])


def signed_update(k: TsigKey, zone: str = "lab.example.") -> tuple[dns.message.Message, bytes]:
    """An UPDATE signed by dnspython, as nsupdate or Kea would send it."""
    upd = dns.update.UpdateMessage(zone)
    upd.add("host1", 300, "A", "192.0.2.10")
    upd.delete("host2", "AAAA")
    upd.use_tsig(dns_key(k))
    return upd, upd.to_wire()


def signed_query(k: TsigKey) -> tuple[dns.message.Message, bytes]:
    q = dns.message.make_query("www.lab.example.", "A", use_edns=0)
    q.use_tsig(dns_key(k))
    return q, q.to_wire()


def tsig_rr_bounds(wire: bytes) -> tuple[int, dns.name.Name, dns.rdtypes.ANY.TSIG.TSIG]:
    """Start of the last RR (the TSIG), for keys whose name dnspython cannot compress."""
    msg = dns.message.from_wire(wire, keyring=False)
    assert msg.tsig is not None
    rdata = msg.tsig[0]
    owner = msg.tsig.name
    rr_len = len(owner.to_wire()) + 10 + len(rdata.to_wire())
    return len(wire) - rr_len, owner, rdata


def replace_tsig(wire: bytes, **changes: object) -> bytes:
    """The same message with some TSIG RDATA fields replaced."""
    start, owner, rdata = tsig_rr_bounds(wire)
    new = rdata.replace(**changes).to_wire()
    rr = owner.to_wire() + struct.pack("!HHIH", 250, 255, 0, len(new)) + new
    return wire[:start] + rr


KEY = make_key("k-sha256")
KEYRING = Keyring([KEY, make_key("k-md5", "hmac-md5", 3)])


# --- verify_request -----------------------------------------------------------


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
def test_dnspython_signed_update_verifies_with_every_algorithm(algorithm: str) -> None:
    k = make_key(f"k-{algorithm}", algorithm)
    _, wire = signed_update(k)
    assert has_tsig(wire)
    result = verify_request(wire, Keyring([k]), time.time())
    assert result.error == NOERROR
    assert result.authenticated and result.signed
    assert result.key == k
    assert result.rcode == 0


def test_signed_query_with_edns_verifies() -> None:
    _, wire = signed_query(KEY)
    result = verify_request(wire, KEYRING, time.time())
    assert result.authenticated
    assert result.key == KEY


def test_compressed_key_name_owner_is_read() -> None:
    k = make_key("tsig.lab.example")
    _, wire = signed_update(k)
    assert (b"\x04tsig\x03lab\x07example\x00") not in wire  # dnspython compressed it
    assert verify_request(wire, Keyring([k]), time.time()).authenticated


def test_key_lookup_ignores_case() -> None:
    upd = dns.update.UpdateMessage("lab.example.")
    upd.add("h", 60, "A", "192.0.2.1")
    upd.use_tsig(dns.tsig.Key("K-SHA256.", KEY.secret, dns.tsig.HMAC_SHA256))
    result = verify_request(upd.to_wire(), KEYRING, time.time())
    assert result.authenticated and result.key == KEY


def test_hmac_md5_long_algorithm_name_matches_key() -> None:
    md5 = KEYRING[(b"k-md5",)]
    _, wire = signed_update(md5)
    assert b"\x08hmac-md5\x07sig-alg\x03reg\x03int\x00" in wire.lower()
    assert verify_request(wire, KEYRING, time.time()).authenticated


def test_unsigned_message_is_unsigned() -> None:
    wire = dns.message.make_query("www.lab.example.", "A", use_edns=0).to_wire()
    assert not has_tsig(wire)
    assert verify_request(wire, KEYRING, time.time()) == UNSIGNED
    assert not UNSIGNED.authenticated and not UNSIGNED.signed
    assert sign_response(wire, UNSIGNED, time.time()) == wire


def test_has_tsig_on_garbage_is_false() -> None:
    assert not has_tsig(b"")
    assert not has_tsig(b"\x00" * 11)
    assert not has_tsig(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x01\x03ab")


def test_flipped_mac_byte_is_badsig() -> None:
    _, wire = signed_update(KEY)
    start, _, rdata = tsig_rr_bounds(wire)
    bad = replace_tsig(wire, mac=bytes([rdata.mac[0] ^ 1]) + rdata.mac[1:])
    result = verify_request(bad, KEYRING, time.time())
    assert result.error == BADSIG
    assert result.key == KEY
    assert result.rcode == NOTAUTH


def test_flipped_body_byte_is_badsig() -> None:
    _, wire = signed_update(KEY)
    ttl_at = wire.index(struct.pack("!I", 300))
    bad = bytearray(wire)
    bad[ttl_at + 3] ^= 0x01
    assert verify_request(bytes(bad), KEYRING, time.time()).error == BADSIG


def test_changed_message_id_still_verifies_by_original_id() -> None:
    # RFC 8945 §4.3.1: the digest uses Original ID, so a forwarder may change the ID.
    _, wire = signed_update(KEY)
    moved = b"\xbe\xef" + wire[2:]
    assert verify_request(moved, KEYRING, time.time()).authenticated


def test_unknown_key_is_badkey() -> None:
    _, wire = signed_update(make_key("stranger"))
    result = verify_request(wire, KEYRING, time.time())
    assert result.error == BADKEY
    assert result.key is None
    assert result.ctx is not None
    assert result.rcode == NOTAUTH


def test_algorithm_mismatch_is_badkey() -> None:
    wrong_alg = make_key("k-sha256", "hmac-sha512")
    _, wire = signed_update(wrong_alg)
    assert verify_request(wire, KEYRING, time.time()).error == BADKEY


def test_time_outside_fudge_is_badtime() -> None:
    _, wire = signed_update(KEY)
    assert verify_request(wire, KEYRING, time.time() + 299).authenticated
    assert verify_request(wire, KEYRING, time.time() + 1000).error == BADTIME
    assert verify_request(wire, KEYRING, time.time() - 1000).error == BADTIME


def test_mac_is_checked_before_time() -> None:
    _, wire = signed_update(KEY)
    _, _, rdata = tsig_rr_bounds(wire)
    bad = replace_tsig(wire, mac=bytes(len(rdata.mac)))
    assert verify_request(bad, KEYRING, time.time() + 1000).error == BADSIG


def test_tsig_not_last_is_formerr() -> None:
    _, wire = signed_update(KEY)
    buf = io.BytesIO()
    dns.rrset.from_text("x.lab.example.", 60, "IN", "A", "192.0.2.9").to_wire(buf)
    extra = buf.getvalue()
    (ar,) = struct.unpack_from("!H", wire, 10)
    bad = wire[:10] + struct.pack("!H", ar + 1) + wire[12:] + extra
    assert has_tsig(bad)
    result = verify_request(bad, KEYRING, time.time())
    assert result.error == FORMERR
    assert result.rcode == FORMERR
    assert not result.signed


def test_two_tsig_rrs_is_formerr() -> None:
    _, wire = signed_update(KEY)
    start, _, _ = tsig_rr_bounds(wire)
    (ar,) = struct.unpack_from("!H", wire, 10)
    bad = wire[:10] + struct.pack("!H", ar + 1) + wire[12:] + wire[start:]
    assert verify_request(bad, KEYRING, time.time()).error == FORMERR


def test_trailing_bytes_after_tsig_is_formerr() -> None:
    _, wire = signed_update(KEY)
    assert verify_request(wire + b"\x00", KEYRING, time.time()).error == FORMERR


def test_tsig_with_wrong_class_is_formerr() -> None:
    _, wire = signed_update(KEY)
    start, owner, _ = tsig_rr_bounds(wire)
    at = start + len(owner.to_wire()) + 2
    bad = wire[:at] + struct.pack("!H", 1) + wire[at + 2 :]
    assert verify_request(bad, KEYRING, time.time()).error == FORMERR


def test_request_with_tsig_error_set_is_formerr() -> None:
    _, wire = signed_update(KEY)
    bad = replace_tsig(wire, error=BADTIME)
    assert verify_request(bad, KEYRING, time.time()).error == FORMERR


def test_mac_length_rules() -> None:
    # RFC 8945 §5.2.2.1: too long or shorter than max(10, half) is FORMERR; a valid
    # truncation is verified, then refused with BADTRUNC.
    _, wire = signed_update(KEY)
    _, _, rdata = tsig_rr_bounds(wire)
    assert verify_request(replace_tsig(wire, mac=rdata.mac + b"x"), KEYRING, time.time()).error == (
        FORMERR
    )
    assert verify_request(replace_tsig(wire, mac=rdata.mac[:15]), KEYRING, time.time()).error == (
        FORMERR
    )
    truncated = replace_tsig(wire, mac=rdata.mac[:16])
    assert verify_request(truncated, KEYRING, time.time()).error == BADTRUNC
    assert verify_request(truncated, KEYRING, time.time() + 1000).error == BADTIME
    flipped = replace_tsig(wire, mac=bytes([rdata.mac[0] ^ 1]) + rdata.mac[1:16])
    assert verify_request(flipped, KEYRING, time.time()).error == BADSIG


def test_mac_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((bytes(a), bytes(b)))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    _, wire = signed_update(KEY)
    _, _, rdata = tsig_rr_bounds(wire)
    assert verify_request(wire, KEYRING, time.time()).authenticated
    assert any(rdata.mac in pair for pair in calls)
    calls.clear()
    bad = replace_tsig(wire, mac=bytes(32))
    assert verify_request(bad, KEYRING, time.time()).error == BADSIG
    assert any(bytes(32) in pair for pair in calls)
    calls.clear()
    truncated = replace_tsig(wire, mac=rdata.mac[:16])
    assert verify_request(truncated, KEYRING, time.time()).error == BADTRUNC
    assert any(rdata.mac[:16] in pair for pair in calls)


@settings(max_examples=300, deadline=None)
@given(
    edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=4),
    cut=st.integers(0, 10_000),
)
def test_mangled_requests_never_raise(edits: list[tuple[int, int]], cut: int) -> None:
    _, wire = signed_update(KEY)
    b = bytearray(wire)
    for at, value in edits:
        b[at % len(b)] = value
    mangled = bytes(b[: max(1, cut % (len(b) + 1))])
    result = verify_request(mangled, KEYRING, time.time())
    assert result.error in (NOERROR, FORMERR, BADSIG, BADKEY, BADTIME, BADTRUNC)
    has_tsig(mangled)
    error_response(mangled, result, result.rcode, time.time())


# --- responses -----------------------------------------------------------------


def plain_response(request_wire: bytes) -> dns.message.Message:
    """The reply a server would build, without TSIG (our codec does not sign)."""
    query = dns.message.from_wire(request_wire, keyring=False)
    return dns.message.make_response(query)


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
def test_signed_response_verifies_as_the_client_would(algorithm: str) -> None:
    k = make_key(f"k-{algorithm}", algorithm)
    q, wire = signed_query(k)
    now = time.time()
    result = verify_request(wire, Keyring([k]), now)
    resp = plain_response(wire)
    resp.answer.append(dns.rrset.from_text("www.lab.example.", 60, "IN", "A", "192.0.2.1"))
    resp_wire = resp.to_wire()
    signed = sign_response(resp_wire, result, now)
    assert len(signed) - len(resp_wire) == tsig_rr_size(result)
    got = dns.message.from_wire(signed, keyring={q.keyname: dns_key(k)}, request_mac=q.mac)
    assert got.had_tsig
    assert got.tsig_error == 0
    assert got.answer[0][0].address == "192.0.2.1"


FUDGE_OURS = tsig.FUDGE
_LABEL = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-",
                 min_size=1, max_size=20)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(
    labels=st.lists(_LABEL, min_size=1, max_size=4),
    algorithm=st.sampled_from(sorted(ALGORITHMS)),
    fudge=st.integers(1, 65535),
    skew=st.integers(-1000, 1000),
    hosts=st.integers(0, 5),
)
def test_our_mac_agrees_with_dnspython_both_ways(
    labels: list[str], algorithm: str, fudge: int, skew: int, hosts: int
) -> None:
    """Any key name (any case), algorithm, fudge and clock skew: a dnspython-signed request
    is judged as dnspython judges it, and our signed reply passes dnspython's check."""
    key_text = ".".join(labels) + "."
    k = keygen(key_text.lower(), algorithm, Role.DHCP, rng=lambda n: bytes(range(n)))
    peer = dns.tsig.Key(key_text, k.secret, WIRE_ALG[algorithm])
    upd = dns.update.UpdateMessage("lab.example.")
    for i in range(hosts):
        upd.add(f"h{i}", 300, "A", f"192.0.2.{i}")
    upd.use_tsig(peer, fudge=fudge)
    wire = upd.to_wire()
    now = time.time() + skew
    result = verify_request(wire, Keyring([k]), now)
    if abs(skew) < fudge - 1:
        assert result.error == NOERROR
    elif abs(skew) > fudge + 1:
        assert result.error == BADTIME
    if result.error != NOERROR or abs(skew) >= FUDGE_OURS - 1:
        return  # our reply says fudge 300: the client checks it against its own clock
    signed = sign_response(plain_response(wire).to_wire(), result, now)
    got = dns.message.from_wire(signed, keyring={peer.name: peer}, request_mac=upd.mac)
    assert got.had_tsig and got.tsig_error == 0


def test_tampered_signed_response_fails_client_check() -> None:
    q, wire = signed_query(KEY)
    now = time.time()
    result = verify_request(wire, KEYRING, now)
    signed = bytearray(sign_response(plain_response(wire).to_wire(), result, now))
    signed[2] ^= 0x04  # flip AA
    with pytest.raises(dns.tsig.BadSignature):
        dns.message.from_wire(bytes(signed), keyring=dns_key(KEY), request_mac=q.mac)


def test_response_is_bound_to_the_request_mac() -> None:
    q1, wire1 = signed_query(KEY)
    q2, wire2 = signed_query(KEY)
    now = time.time()
    signed = sign_response(
        plain_response(wire1).to_wire(), verify_request(wire1, KEYRING, now), now
    )
    assert q1.mac != q2.mac
    with pytest.raises(dns.tsig.BadSignature):
        dns.message.from_wire(signed, keyring=dns_key(KEY), request_mac=q2.mac)


def test_badtime_error_response() -> None:
    upd, wire = signed_update(KEY)
    skew_now = time.time() + 3600
    result = verify_request(wire, KEYRING, skew_now)
    assert result.error == BADTIME
    reply = error_response(wire, result, result.rcode, skew_now)
    assert len(reply) - len(_unsigned_part(reply)) == tsig_rr_size(result)

    msg = dns.message.from_wire(reply, keyring=False)
    assert msg.id == upd.id
    assert msg.flags & dns.flags.QR
    assert msg.opcode() == dns.opcode.UPDATE
    assert msg.rcode() == dns.rcode.NOTAUTH
    assert msg.tsig_error == dns.rcode.BADTIME
    assert [str(rr.name) for rr in msg.question] == ["lab.example."]
    rdata = msg.tsig[0]
    # RFC 8945 §5.2.3: our clock in Other Data, the request's Time Signed echoed.
    (hi, lo) = struct.unpack("!HI", rdata.other)
    assert (hi << 32) | lo == int(skew_now)
    assert rdata.time_signed == upd.tsig[0].time_signed
    # It is signed over the request MAC; dnspython's reader stops at the error, so
    # recompute the MAC with dnspython's signer.
    start, _, _ = tsig_rr_bounds(reply)
    (ar,) = struct.unpack_from("!H", reply, 10)
    body = reply[:10] + struct.pack("!H", ar - 1) + reply[12:start]
    expected, _ = dns.tsig.sign(
        body, dns_key(KEY), rdata, time=rdata.time_signed, request_mac=upd.mac
    )
    assert expected.mac == rdata.mac
    with pytest.raises(dns.tsig.PeerBadTime):
        dns.message.from_wire(reply, keyring=dns_key(KEY), request_mac=upd.mac)


def _unsigned_part(reply: bytes) -> bytes:
    start, _, _ = tsig_rr_bounds(reply)
    return reply[:start]


@pytest.mark.parametrize(
    ("make_bad", "error", "peer_error"),
    [
        (lambda w: signed_update(make_key("stranger"))[1], BADKEY, dns.tsig.PeerBadKey),
        (lambda w: replace_tsig(w, mac=bytes(32)), BADSIG, dns.tsig.PeerBadSignature),
    ],
)
def test_badkey_and_badsig_responses_carry_unsigned_tsig(
    make_bad: object, error: int, peer_error: type[Exception]
) -> None:
    _, wire = signed_update(KEY)
    bad = make_bad(wire)  # type: ignore[operator]
    now = time.time()
    result = verify_request(bad, KEYRING, now)
    assert result.error == error
    reply = error_response(bad, result, result.rcode, now)
    msg = dns.message.from_wire(reply, keyring=False)
    assert msg.rcode() == dns.rcode.NOTAUTH
    assert msg.tsig_error == error
    assert msg.mac == b""
    assert msg.tsig[0].other == b""
    assert msg.id == struct.unpack_from("!H", bad)[0]
    assert len(reply) - len(_unsigned_part(reply)) == tsig_rr_size(result)
    with pytest.raises(peer_error):
        dns.message.from_wire(reply, keyring=dns_key(KEY), request_mac=b"x" * 32)


def test_formerr_response_has_no_tsig() -> None:
    _, wire = signed_update(KEY)
    bad = wire + b"\x00"
    result = verify_request(bad, KEYRING, time.time())
    reply = error_response(bad, result, result.rcode, time.time())
    msg = dns.message.from_wire(reply)
    assert msg.rcode() == dns.rcode.FORMERR
    assert not msg.had_tsig
    assert msg.flags & dns.flags.QR


def test_error_response_to_unreadable_question_keeps_header() -> None:
    req = b"\xab\xcd\x28\x00\x00\x01\x00\x00\x00\x00\x00\x00\x05ab"  # UPDATE, RD clear
    reply = error_response(req, tsig.TsigResult(None, FORMERR, None), FORMERR, time.time())
    assert reply == b"\xab\xcd\xa8\x01" + b"\x00" * 8
    assert error_response(b"\x01", tsig.TsigResult(None, FORMERR, None), 1, 0.0) == b""


# --- multi-message streams ------------------------------------------------------


def axfr_messages(request_wire: bytes, n: int) -> list[bytes]:
    out = []
    for i in range(n):
        m = plain_response(request_wire)
        m.answer.append(
            dns.rrset.from_text(f"h{i}.lab.example.", 60, "IN", "A", f"192.0.2.{i + 1}")
        )
        out.append(m.to_wire())
    return out


def test_stream_verifies_with_dnspython_multi_chaining() -> None:
    q = dns.message.make_query("lab.example.", "AXFR")
    q.use_tsig(dns_key(KEY))
    wire = q.to_wire()
    now = time.time()
    result = verify_request(wire, KEYRING, now)
    stream = TsigStream(result)
    signed = [stream.sign(m, now) for m in axfr_messages(wire, 4)]
    ctx = None
    for i, m in enumerate(signed):
        got = dns.message.from_wire(
            m,
            keyring=dns_key(KEY),
            request_mac=q.mac,
            xfr=True,
            tsig_ctx=ctx,
            multi=True,
        )
        assert got.had_tsig
        assert got.answer[0].name.to_text() == f"h{i}.lab.example."
        ctx = got.tsig_ctx


def test_stream_out_of_order_fails() -> None:
    q = dns.message.make_query("lab.example.", "AXFR")
    q.use_tsig(dns_key(KEY))
    wire = q.to_wire()
    now = time.time()
    stream = TsigStream(verify_request(wire, KEYRING, now))
    m1, m2, m3 = (stream.sign(m, now) for m in axfr_messages(wire, 3))
    first = dns.message.from_wire(m1, keyring=dns_key(KEY), request_mac=q.mac, xfr=True, multi=True)
    with pytest.raises(dns.tsig.BadSignature):
        dns.message.from_wire(
            m3,
            keyring=dns_key(KEY),
            request_mac=q.mac,
            xfr=True,
            tsig_ctx=first.tsig_ctx,
            multi=True,
        )


def test_stream_for_unsigned_request_passes_through_and_refuses_errors() -> None:
    stream = TsigStream(UNSIGNED)
    msg = axfr_messages(dns.message.make_query("lab.example.", "AXFR").to_wire(), 1)[0]
    assert stream.sign(msg, time.time()) == msg
    _, wire = signed_update(make_key("stranger"))
    with pytest.raises(TsigSigningError):
        TsigStream(verify_request(wire, KEYRING, time.time()))


# --- our own requests -------------------------------------------------------------


def test_sign_request_is_accepted_by_dnspython_and_verify_response_accepts_its_reply() -> None:
    notify = dns.message.make_query("lab.example.", "SOA")
    notify.set_opcode(dns.opcode.NOTIFY)
    notify.flags |= dns.flags.AA
    now = time.time()
    signed, ctx = sign_request(notify.to_wire(), KEY, now)
    # dnspython, as the server, validates our request and signs its reply.
    server_side = dns.message.from_wire(signed, keyring={dns_key(KEY).name: dns_key(KEY)})
    assert server_side.had_tsig and server_side.mac == ctx.mac
    reply = dns.message.make_response(server_side).to_wire()
    assert verify_response(reply, KEY, ctx, now)
    # And leasedns, as the server, accepts it as well.
    assert verify_request(signed, KEYRING, now).authenticated


def test_verify_response_rejects_bad_replies() -> None:
    now = time.time()
    q = dns.message.make_query("lab.example.", "SOA")
    signed, ctx = sign_request(q.to_wire(), KEY, now)
    server_side = dns.message.from_wire(signed, keyring=dns_key(KEY))
    reply = dns.message.make_response(server_side).to_wire()
    assert verify_response(reply, KEY, ctx, now)
    assert not verify_response(reply, KEY, ctx, now + 1000)  # stale
    tampered = bytearray(reply)
    tampered[3] ^= 0x01
    assert not verify_response(bytes(tampered), KEY, ctx, now)
    _, other_ctx = sign_request(q.to_wire(), KEY, now + 1)
    assert not verify_response(reply, KEY, other_ctx, now)  # other request's MAC
    assert not verify_response(reply, make_key("k-sha256", fill=9), ctx, now)  # other secret
    unsigned = dns.message.make_response(dns.message.from_wire(signed, keyring=False)).to_wire()
    assert not verify_response(unsigned, KEY, ctx, now)
    # A reply carrying a TSIG error is not a valid reply.
    bad_result = verify_request(replace_tsig(signed, mac=bytes(32)), KEYRING, now)
    assert not verify_response(error_response(signed, bad_result, NOTAUTH, now), KEY, ctx, now)


def test_sign_request_fudge_and_time() -> None:
    signed, ctx = sign_request(
        dns.message.make_query("a.", "A").to_wire(), KEY, 1_700_000_000.7, 60
    )
    msg = dns.message.from_wire(signed, keyring=False)
    assert msg.tsig[0].time_signed == 1_700_000_000 == ctx.time_signed
    assert msg.tsig[0].fudge == 60 == ctx.fudge
    assert verify_request(signed, KEYRING, 1_700_000_059).authenticated
    assert verify_request(signed, KEYRING, 1_700_000_061).error == BADTIME


@pytest.mark.parametrize("edns", [None, 0])
def test_error_response_carries_an_opt_when_the_request_had_one(edns: int | None) -> None:
    """RFC 6891 §6.1.1: an OPT in the request means one in every response, errors too;
    it goes before the TSIG, which stays last (RFC 8945 §5.1)."""
    q = dns.message.make_query(
        "www.lab.example.", "A", use_edns=False if edns is None else edns, want_dnssec=edns == 0
    )
    q.use_tsig(dns_key(KEY))
    bad = replace_tsig(q.to_wire(), mac=bytes(32))
    now = time.time()
    result = verify_request(bad, KEYRING, now)
    assert result.error == BADSIG
    msg = dns.message.from_wire(error_response(bad, result, result.rcode, now, 1400), keyring=False)
    assert msg.rcode() == dns.rcode.NOTAUTH and msg.tsig_error == BADSIG
    if edns is None:
        assert msg.edns == -1
    else:
        assert (msg.edns, msg.payload, bool(msg.ednsflags & dns.flags.DO)) == (0, 1400, True)
