"""The NOTIFY sender on a fake clock and a recording UDP transport: timing, replies, TSIG."""

from __future__ import annotations

import socket
import time

import dns.message
import dns.rcode
import dns.tsig
from twisted.internet.task import Clock

from leasedns.keys import Role, keygen
from leasedns.net.notify_send import NotifySender
from leasedns.wire import names
from leasedns.xfr.notify import BURST_TRIES

ZONE = names.from_text("lab.example.")
T1 = ("192.0.2.1", 53)
T6 = ("2001:db8::1", 53)


def soa(serial: int, retry: int = 600) -> bytes:
    n = names.to_wire(names.from_text("ns1.lab.example."))
    return (
        n
        + n
        + serial.to_bytes(4, "big")
        + b"".join(v.to_bytes(4, "big") for v in (3600, retry, 1209600, 300))
    )


class RecordingUDP:
    def __init__(self) -> None:
        self.sent: list[tuple[bytes, tuple[str, int]]] = []

    def write(self, data: bytes, addr: tuple[str, int]) -> None:
        self.sent.append((data, addr))


def make(**kw) -> tuple[NotifySender, Clock, RecordingUDP, RecordingUDP]:  # type: ignore[no-untyped-def]
    clock = Clock()
    clock.advance(1000)
    ids = iter(range(1, 10000))
    s = NotifySender(clock, new_id=lambda: next(ids), **kw)
    v4, v6 = RecordingUDP(), RecordingUDP()
    s.sockets[socket.AF_INET].makeConnection(v4)
    s.sockets[socket.AF_INET6].makeConnection(v6)
    return s, clock, v4, v6


def reply_to(wire: bytes, rcode: int = dns.rcode.NOERROR) -> bytes:
    r = dns.message.make_response(dns.message.from_wire(wire))
    r.set_rcode(rcode)
    return r.to_wire()


def test_sends_at_once_retransmits_every_3s_and_a_reply_stops_it() -> None:
    s, clock, v4, v6 = make()
    s.notify(ZONE, [T1, T6], 3600, soa(9))
    assert [a for _, a in v4.sent] == [T1] and [a for _, a in v6.sent] == [T6]
    m = dns.message.from_wire(v4.sent[0][0])
    assert m.answer[0][0].serial == 9
    clock.advance(3)
    assert len(v4.sent) == 2 and len(v6.sent) == 2
    s.reply_received(reply_to(v4.sent[1][0]), T1)
    clock.advance(3)
    assert len(v4.sent) == 2 and len(v6.sent) == 3
    assert s.counters.answered == 1
    s.reply_received(reply_to(v6.sent[0][0], dns.rcode.NOTIMP), T6)  # an earlier send's ID counts
    clock.advance(3600)
    assert len(v6.sent) == 3 and clock.getDelayedCalls() == []


def test_unanswered_backs_off_to_soa_retry() -> None:
    s, clock, v4, _ = make()
    s.notify(ZONE, [T1], 3600, soa(9, retry=120))
    for _ in range(BURST_TRIES - 1):
        clock.advance(3)
    assert len(v4.sent) == BURST_TRIES
    clock.advance(119)
    assert len(v4.sent) == BURST_TRIES
    clock.advance(1)
    assert len(v4.sent) == BURST_TRIES + 1
    assert s.counters.unanswered_bursts == 1


def test_error_reply_keeps_retrying_and_newer_serial_takes_over() -> None:
    s, clock, v4, _ = make()
    s.notify(ZONE, [T1], 3600, soa(9))
    s.reply_received(reply_to(v4.sent[0][0], dns.rcode.REFUSED), T1)
    assert s.counters.errors == 1
    clock.advance(3)
    assert len(v4.sent) == 2
    s.notify(ZONE, [T1], 3600, soa(10))
    assert len(v4.sent) == 3
    assert dns.message.from_wire(v4.sent[2][0]).answer[0][0].serial == 10
    s.reply_received(reply_to(v4.sent[1][0]), T1)  # acknowledges serial 9 only
    assert s.state.get(ZONE, T1) is not None
    s.reply_received(reply_to(v4.sent[2][0]), T1)
    assert s.state.pending() == []


def test_reply_from_another_address_is_ignored() -> None:
    s, _, v4, _ = make()
    s.notify(ZONE, [T1], 3600, soa(9))
    s.reply_received(reply_to(v4.sent[0][0]), ("192.0.2.99", 53))
    s.reply_received(reply_to(v4.sent[0][0]), (T1[0], 5353))
    assert s.state.get(ZONE, T1) is not None


def test_tsig_signed_notify_and_only_a_signed_reply_counts() -> None:
    key = keygen("notify-key", role=Role.TRANSFER)
    s, clock, v4, _ = make(keys={T1: key})
    clock.advance(time.time() - clock.seconds())  # TSIG carries the time; dnspython checks it
    s.notify(ZONE, [T1], 3600, soa(9))
    wire = v4.sent[0][0]
    # The secondary's side: dnspython verifies our request and signs its reply.
    q = dns.message.from_wire(wire, keyring=dns.tsig.Key("notify-key.", key.secret, "hmac-sha256"))
    assert q.had_tsig
    unsigned = dns.message.make_response(dns.message.from_wire(wire, keyring=False))
    unsigned.tsig = None
    s.reply_received(unsigned.to_wire(), T1)
    assert s.state.get(ZONE, T1) is not None and s.counters.errors == 1
    s.reply_received(dns.message.make_response(q).to_wire(), T1)
    assert s.state.pending() == [] and s.counters.answered == 1
