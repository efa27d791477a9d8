"""NOTIFY (RFC 1996): pending state per (zone, secondary), retry timing, messages, inbound NOTIFY."""

from __future__ import annotations

import time

import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdatatype
import dns.tsig
import pytest
from xfr_lab import NOW, ORIGIN, ZONE, Lab, zone_text

from leasedns.keys import Keyring, Role, keygen
from leasedns.server.dispatch import parse_request
from leasedns.wire import names
from leasedns.xfr import notify
from leasedns.xfr.notify import (
    BACKOFF_MAX,
    BACKOFF_MIN,
    BURST_TRIES,
    RETRANSMIT_INTERVAL,
    NotifyState,
    build_notify,
    parse_notify_reply,
    retry_interval,
)
from leasedns.zone import serial as serials

T1 = ("192.0.2.1", 53)
T2 = ("192.0.2.2", 5353)


def soa(serial: int, retry: int = 600) -> bytes:
    mname = names.to_wire(names.from_text("ns1." + ORIGIN))
    rname = names.to_wire(names.from_text("hostmaster." + ORIGIN))
    return (
        mname
        + rname
        + serial.to_bytes(4, "big")
        + b"".join(v.to_bytes(4, "big") for v in (3600, retry, 1209600, 300))
    )


def test_first_send_is_immediate_then_every_3s_then_soa_retry() -> None:
    st = NotifyState()
    assert st.schedule(ZONE, T1, 3600, soa(5, retry=600), now=100.0)
    now = 100.0
    times = []
    for i in range(BURST_TRIES + 2):
        (p,) = st.due(now)
        times.append(now)
        st.sent(ZONE, T1, msg_id=i, now=now)
        assert st.due(now) == []
        now = st.next_deadline()  # type: ignore[assignment]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert times[0] == 100.0
    assert gaps[: BURST_TRIES - 1] == [RETRANSMIT_INTERVAL] * (BURST_TRIES - 1)
    assert gaps[BURST_TRIES - 1 :] == [600.0, 600.0]


@pytest.mark.parametrize(
    ("retry", "expect"), [(10, BACKOFF_MIN), (600, 600.0), (10**6, BACKOFF_MAX)]
)
def test_backoff_is_soa_retry_clamped(retry: int, expect: float) -> None:
    assert retry_interval(BURST_TRIES, retry) == expect
    assert retry_interval(BURST_TRIES - 1, retry) == RETRANSMIT_INTERVAL


def test_newest_serial_replaces_a_pending_one_and_starts_over() -> None:
    st = NotifyState()
    st.schedule(ZONE, T1, 3600, soa(5), now=0.0)
    for i in range(BURST_TRIES):
        st.sent(ZONE, T1, i, now=float(i))
    assert st.get(ZONE, T1).attempts == BURST_TRIES  # type: ignore[union-attr]
    assert st.schedule(ZONE, T1, 3600, soa(6), now=50.0)
    p = st.get(ZONE, T1)
    assert p is not None and p.serial == 6 and p.attempts == 0 and p.next_at == 50.0
    assert p.ids == set()
    assert len(st.pending()) == 1  # replaced, never queued behind


def test_older_or_equal_serial_changes_nothing() -> None:
    st = NotifyState()
    st.schedule(ZONE, T1, 3600, soa(6), now=0.0)
    st.sent(ZONE, T1, 1, now=0.0)
    assert not st.schedule(ZONE, T1, 3600, soa(6), now=1.0)
    assert not st.schedule(ZONE, T1, 3600, soa(5), now=1.0)
    p = st.get(ZONE, T1)
    assert p is not None and p.serial == 6 and p.attempts == 1


def test_serial_wraparound_counts_as_newer() -> None:
    st = NotifyState()
    st.schedule(ZONE, T1, 3600, soa(0xFFFFFFFF), now=0.0)
    assert st.schedule(ZONE, T1, 3600, soa(2), now=1.0)
    assert st.get(ZONE, T1).serial == 2  # type: ignore[union-attr]
    assert serials.gt(2, 0xFFFFFFFF)


@pytest.mark.parametrize("rcode", [notify.NOERROR, notify.NOTIMP])
def test_noerror_or_notimp_reply_ends_it(rcode: int) -> None:
    st = NotifyState()
    st.schedule(ZONE, T1, 3600, soa(5), now=0.0)
    st.schedule(ZONE, T2, 3600, soa(5), now=0.0)
    st.sent(ZONE, T1, 77, now=0.0)
    st.sent(ZONE, T2, 78, now=0.0)
    assert st.answered(ZONE, T1, 77, rcode)
    assert st.get(ZONE, T1) is None
    assert st.get(ZONE, T2) is not None  # each secondary on its own
    assert st.next_deadline() == RETRANSMIT_INTERVAL


def test_error_reply_or_unknown_id_does_not_end_it() -> None:
    st = NotifyState()
    st.schedule(ZONE, T1, 3600, soa(5), now=0.0)
    st.sent(ZONE, T1, 77, now=0.0)
    assert not st.answered(ZONE, T1, 77, 5)  # REFUSED: keep trying
    assert not st.answered(ZONE, T1, 99, 0)  # not one of our IDs
    assert not st.answered(ZONE, T2, 77, 0)  # not that secondary
    p = st.get(ZONE, T1)
    assert p is not None and p.next_at == RETRANSMIT_INTERVAL


def test_reply_for_a_superseded_serial_does_not_end_the_new_one() -> None:
    st = NotifyState()
    st.schedule(ZONE, T1, 3600, soa(5), now=0.0)
    st.sent(ZONE, T1, 77, now=0.0)
    st.schedule(ZONE, T1, 3600, soa(6), now=1.0)
    assert not st.answered(ZONE, T1, 77, 0)
    st.sent(ZONE, T1, 78, now=1.0)
    assert st.answered(ZONE, T1, 78, 0)
    assert st.pending() == []


def test_delay_postpones_the_first_send() -> None:
    st = NotifyState()
    st.schedule(ZONE, T1, 3600, soa(5), now=10.0, delay=2.0)
    assert st.due(11.0) == []
    assert len(st.due(12.0)) == 1


def test_build_notify_is_rfc1996() -> None:
    wire = build_notify(ZONE, 4242, 3600, soa(77))
    m = dns.message.from_wire(wire)
    assert m.id == 4242 and m.opcode() == dns.opcode.NOTIFY
    assert m.flags & dns.flags.AA and not m.flags & dns.flags.QR
    assert m.question[0].name.to_text() == ORIGIN and m.question[0].rdtype == dns.rdatatype.SOA
    assert m.answer[0].rdtype == dns.rdatatype.SOA and m.answer[0][0].serial == 77


def test_parse_notify_reply() -> None:
    q = dns.message.from_wire(build_notify(ZONE, 4242, 3600, soa(77)))
    r = dns.message.make_response(q)
    r.set_rcode(dns.rcode.NOTIMP)
    got = parse_notify_reply(r.to_wire())
    assert got == notify.NotifyReply(4242, ZONE, dns.rcode.NOTIMP)
    assert parse_notify_reply(q.to_wire()) is None  # a request, not a reply
    plain = dns.message.make_response(dns.message.make_query(ORIGIN, "SOA"))
    assert parse_notify_reply(plain.to_wire()) is None  # not a NOTIFY
    assert parse_notify_reply(b"\x00\x01") is None


# -- inbound NOTIFY --------------------------------------------------------------


def inbound(lab: Lab, msg: dns.message.Message, now: float = NOW) -> dns.message.Message:
    data = msg.to_wire()
    req, rec = parse_request(data)
    reply = lab.handler.notify(data, req, rec, ("192.0.2.9", 5000), now, lab.keyring)
    assert reply.wire is not None and not reply.stream
    return dns.message.from_wire(reply.wire, keyring=msg.keyring, request_mac=msg.mac)


def test_inbound_notify_for_our_zone_is_acknowledged(lab: Lab) -> None:
    lab.load(zone_text(5, {}))
    before = lab.stored_rrs()
    q = dns.message.from_wire(build_notify(ZONE, 99, 3600, soa(500)))
    r = inbound(lab, q)
    assert r.rcode() == dns.rcode.NOERROR and r.opcode() == dns.opcode.NOTIFY
    assert r.flags & dns.flags.AA and r.flags & dns.flags.QR and r.id == 99
    assert r.question == q.question and not r.answer
    assert lab.stored_rrs() == before and lab.serial() == 5  # no harm done


def test_inbound_notify_for_another_zone_is_notauth(lab: Lab) -> None:
    lab.load(zone_text(5, {}))
    q = dns.message.from_wire(build_notify(names.from_text("other.example."), 1, 60, soa(1)))
    assert inbound(lab, q).rcode() == dns.rcode.NOTAUTH


def test_inbound_notify_in_another_class_is_notimp(lab: Lab) -> None:
    # As BIND and Knot answer (tests/integration/test_vs_refs_edges.py).
    lab.load(zone_text(5, {}))
    q = dns.message.make_query(ORIGIN, "SOA", "CH")
    q.set_opcode(dns.opcode.NOTIFY)
    assert inbound(lab, q).rcode() == dns.rcode.NOTIMP


def test_inbound_notify_other_qtype_is_notimp(lab: Lab) -> None:
    lab.load(zone_text(5, {}))
    q = dns.message.make_query(ORIGIN, "A")
    q.set_opcode(dns.opcode.NOTIFY)
    assert inbound(lab, q).rcode() == dns.rcode.NOTIMP


def test_inbound_signed_notify_gets_a_signed_answer(lab: Lab) -> None:
    lab.load(zone_text(5, {}))
    key = keygen("peer", role=Role.TRANSFER)
    lab.keyring = Keyring([key])
    q = dns.message.from_wire(build_notify(ZONE, 7, 3600, soa(5)))
    q.use_tsig(dns.tsig.Key("peer.", key.secret, "hmac-sha256"))
    r = inbound(lab, q, now=time.time())  # dnspython validates the MAC and the time
    assert r.rcode() == dns.rcode.NOERROR and r.had_tsig
