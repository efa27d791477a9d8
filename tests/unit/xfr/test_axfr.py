"""AXFR (RFC 5936) from the in-memory store, read back by dnspython's transfer client."""

from __future__ import annotations

import struct
import time

import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.zone
import pytest
from xfr_lab import (
    ORIGIN,
    ZONE,
    Lab,
    axfr_query,
    dns_zone_rrs,
    feed,
    wire_rrs,
    zone_text,
)

from leasedns.keys import Keyring, Role, keygen
from leasedns.query.respond import Request
from leasedns.xfr import axfr
from leasedns.xfr.access import parse_acl
from leasedns.xfr.axfr import MESSAGE_TARGET, RecordTooLargeError, pack_messages

SOA = dns.rdatatype.SOA


def many_hosts(n: int) -> dict[str, str]:
    return {f"host{i:05d}": f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}" for i in range(n)}


def header(m: bytes) -> tuple[int, int, int, int, int, int]:
    return struct.unpack_from(">HHHHHH", m, 0)


def test_axfr_equals_the_stored_zone(lab: Lab) -> None:
    lab.load(zone_text(7, {"www": "10.0.0.3"}, 'txt IN TXT "a" "b"\nmx IN MX 10 www\n'))
    z = lab.axfr_zone()
    assert dns_zone_rrs(z) == lab.stored_rrs()
    assert z.get_rdataset("@", "SOA")[0].serial == 7


def test_axfr_soa_first_and_last_and_nowhere_else(lab: Lab) -> None:
    lab.load(zone_text(9, many_hosts(3000)))
    msgs = lab.messages(lab.ask(axfr_query()))
    assert len(msgs) > 2
    rrs = wire_rrs(msgs)
    assert rrs[0][1] == SOA and rrs[-1][1] == SOA and rrs[0] == rrs[-1]
    assert [r for r in rrs[1:-1] if r[1] == SOA] == []
    assert len(rrs) - 1 == len(lab.stored_rrs())  # each RR once, the SOA twice


def test_axfr_message_headers(lab: Lab) -> None:
    lab.load(zone_text(9, many_hosts(3000)))
    q = axfr_query()
    msgs = lab.messages(lab.ask(q))
    for i, m in enumerate(msgs):
        mid, flags, qd, an, ns, ar = header(m)
        assert mid == q.id
        assert flags & 0x8000 and flags & 0x0400  # QR, AA
        assert not flags & 0x0200 and not flags & 0x0080  # no TC, no RA
        assert (flags >> 11) & 0xF == 0 and flags & 0xF == 0
        assert qd == (1 if i == 0 else 0)  # question in the first message only
        assert an > 0 and ns == 0 and ar == 0
        assert len(m) <= MESSAGE_TARGET


def test_axfr_is_one_read_transaction(lab: Lab) -> None:
    """A write landing while the transfer is being built is not mixed in."""
    lab.load(zone_text(1, many_hosts(50)))
    q = axfr_query()
    data = q.to_wire()
    from leasedns.server.dispatch import parse_request

    req, rec = parse_request(data)
    with lab.store.reader() as r:
        gen = axfr.axfr_rrsets(r, ZONE)
        first = next(gen)
        lab.load(zone_text(2, {"other": "10.9.9.9"}))
        rest = list(gen)
    assert first == rest[-1]
    owners = {o for o, *_ in rest}
    assert (b"other", b"lab", b"example") not in owners
    assert len(list(pack_messages(req, [first, *rest]))) >= 1


def test_axfr_over_udp_is_refused(lab: Lab) -> None:
    lab.load(zone_text(1, {}))
    reply = lab.ask(axfr_query(), tcp=False)
    msg = dns.message.from_wire(reply.wire)
    assert msg.rcode() == dns.rcode.REFUSED
    assert not msg.answer and not reply.stream


def test_not_our_zone_is_notauth(lab: Lab) -> None:
    lab.load(zone_text(1, {}))
    q = dns.message.make_query("other.example.", dns.rdatatype.AXFR)
    msg = dns.message.from_wire(lab.ask(q).wire)
    assert msg.rcode() == dns.rcode.NOTAUTH and not msg.answer
    q = dns.message.make_query("www." + ORIGIN, dns.rdatatype.AXFR)
    assert dns.message.from_wire(lab.ask(q).wire).rcode() == dns.rcode.NOTAUTH


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"])
def test_default_acl_allows_loopback(lab: Lab, host: str) -> None:
    lab.load(zone_text(1, {}))
    msg = dns.message.from_wire(lab.ask(axfr_query(), host=host).wire)
    assert msg.rcode() == dns.rcode.NOERROR and msg.answer


@pytest.mark.parametrize("host", ["10.0.0.5", "192.0.2.1", "fd00::1", "::ffff:10.0.0.1"])
def test_default_acl_refuses_the_network_before_any_data(lab: Lab, host: str) -> None:
    lab.load(zone_text(1, {"www": "10.0.0.3"}))
    reply = lab.ask(axfr_query(), host=host)
    msg = dns.message.from_wire(reply.wire)
    assert msg.rcode() == dns.rcode.REFUSED
    assert not msg.answer and not msg.authority and not reply.stream
    assert lab.handler.outcomes["refused"] == 1


def test_configured_acl(lab: Lab) -> None:
    lab.load(zone_text(1, {}))
    lab.acl = parse_acl(["10.0.0.0/8", "2001:db8::/32"])
    ok = {"10.1.2.3", "2001:db8::5"}
    for host in ["10.1.2.3", "2001:db8::5", "127.0.0.1", "192.0.2.1"]:
        rcode = dns.message.from_wire(lab.ask(axfr_query(), host=host).wire).rcode()
        assert (rcode == dns.rcode.NOERROR) == (host in ok), host


def _signed_axfr(key_name: str, secret: bytes) -> dns.message.QueryMessage:
    q = axfr_query()
    q.use_tsig(dns.tsig.Key(key_name, secret, "hmac-sha256"))
    return q


def test_tsig_transfer_key_from_anywhere_every_message_signed(lab: Lab) -> None:
    lab.load(zone_text(3, many_hosts(2000)))
    key = keygen("xfr-key", role=Role.TRANSFER)
    lab.keyring = Keyring([key])
    q = _signed_axfr("xfr-key.", key.secret)
    # dnspython signs with its own clock and checks ours against it: use the real time.
    msgs = lab.messages(lab.ask(q, host="192.0.2.44", now=time.time()))
    assert len(msgs) > 1
    # dnspython checks each message's MAC, chaining them as RFC 8945 §5.3.1 says.
    z = dns.zone.Zone(ORIGIN)
    feed(z, q, msgs, dns.rdatatype.AXFR, None)
    assert dns_zone_rrs(z) == lab.stored_rrs()
    for m in msgs:
        assert header(m)[5] == 1  # the TSIG RR


def test_tsig_key_without_transfer_role_follows_the_acl(lab: Lab) -> None:
    lab.load(zone_text(3, {}))
    key = keygen("dhcp-key", role=Role.DHCP)
    lab.keyring = Keyring([key])
    q = _signed_axfr("dhcp-key.", key.secret)
    reply = lab.ask(q, host="192.0.2.44", now=time.time())
    assert header(reply.wire)[1] & 0xF == dns.rcode.REFUSED
    assert header(reply.wire)[5] == 1  # the refusal is signed too
    lab.acl = parse_acl(["none", "key:dhcp-key"])
    assert header(lab.ask(q, host="192.0.2.44", now=time.time()).wire)[1] & 0xF == dns.rcode.NOERROR


def test_tsig_unknown_key_is_notauth(lab: Lab) -> None:
    lab.load(zone_text(3, {}))
    q = _signed_axfr("nobody.", b"0123456789abcdef")
    reply = lab.ask(q, now=time.time())
    assert header(reply.wire)[1] & 0xF == dns.rcode.NOTAUTH
    assert not reply.stream


def test_edns_opt_in_first_message_only(lab: Lab) -> None:
    lab.load(zone_text(9, many_hosts(2000)))
    q = dns.message.make_query(ORIGIN, dns.rdatatype.AXFR, use_edns=0)
    msgs = lab.messages(lab.ask(q))
    assert len(msgs) > 1
    assert dns.message.from_wire(msgs[0]).edns == 0
    assert all(dns.message.from_wire(m).edns == -1 for m in msgs[1:])


def _req() -> Request:
    q = axfr_query()
    from leasedns.server.dispatch import parse_request

    return parse_request(q.to_wire())[0]


def test_large_rrset_is_split_between_messages() -> None:
    owner = ZONE
    big = (owner, 16, 300, tuple(bytes([250]) + bytes([i % 256]) * 250 for i in range(200)))
    msgs = list(pack_messages(_req(), [big]))
    assert len(msgs) >= 3
    assert sum(header(m)[3] for m in msgs) == 200
    assert all(len(m) <= MESSAGE_TARGET for m in msgs)


def test_one_rr_larger_than_the_target_gets_its_own_message() -> None:
    txt = b"".join(bytes([255]) + b"x" * 255 for _ in range(100))  # 25.6 KB of TXT
    small = (ZONE, 1, 300, (b"\x0a\x00\x00\x01",))
    msgs = list(pack_messages(_req(), [small, (ZONE, 16, 300, (txt,)), small]))
    assert [header(m)[3] for m in msgs] == [1, 1, 1]
    assert len(msgs[1]) > MESSAGE_TARGET
    with pytest.raises(RecordTooLargeError):
        list(pack_messages(_req(), [(ZONE, 16, 300, (txt,))], 512, 512))


def test_names_are_compressed_within_a_message(lab: Lab) -> None:
    lab.load(zone_text(9, many_hosts(500)))
    msgs = lab.messages(lab.ask(axfr_query()))
    rrs = wire_rrs(msgs)
    uncompressed = sum(len(dns.name.from_text(o).to_wire()) + 10 + len(rd) for o, _, _, rd in rrs)
    assert sum(len(m) for m in msgs) < uncompressed * 0.75
