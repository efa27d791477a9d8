"""Sending NOTIFY over UDP with retries: the reactor side of ``xfr.notify.NotifyState``.

One UDP socket per address family on an ephemeral port (bound to the wildcard
address, so the kernel picks the source address a secondary's ACL expects), one
``callLater`` armed at the state's next deadline.  Timing is the state's: first
send at once, 5 sends 3 s apart, then every SOA RETRY clamped to 60..3600 s.
A secondary with a TSIG key gets signed NOTIFYs, and then only a reply signed
by that key counts.
"""

from __future__ import annotations

import logging
import secrets
import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from twisted.internet.protocol import DatagramProtocol

from leasedns.keys import TsigKey
from leasedns.wire import names, tsig
from leasedns.wire.names import Name
from leasedns.xfr import notify
from leasedns.xfr.notify import NotifyState, Pending, Target

log = logging.getLogger("leasedns.notify")


@dataclass
class NotifyCounters:
    sent: int = 0
    answered: int = 0
    errors: int = 0  # replies with an RCODE other than NOERROR/NOTIMP, or a bad signature
    unanswered_bursts: int = 0


class _NotifySocket(DatagramProtocol):
    def __init__(self, sender: NotifySender) -> None:
        self.sender = sender

    def datagramReceived(self, data: bytes, addr: Any) -> None:
        self.sender.reply_received(data, (addr[0], addr[1]))


def family_of(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


class NotifySender:
    """NOTIFYs every secondary of a zone after a serial change; retried until answered."""

    def __init__(
        self,
        clock: Any,
        keys: Mapping[Target, TsigKey] | None = None,
        new_id: Callable[[], int] = lambda: secrets.randbelow(0x10000),
        delay: float = 0.0,
    ) -> None:
        self.clock = clock  # IReactorTime: seconds() and callLater()
        self.keys = dict(keys or {})
        self.new_id = new_id
        self.delay = delay
        self.state = NotifyState()
        self.counters = NotifyCounters()
        self.sockets = {socket.AF_INET: _NotifySocket(self), socket.AF_INET6: _NotifySocket(self)}
        self._timer: Any = None  # IDelayedCall
        self._signed: dict[int, tuple[TsigKey, tsig.TsigContext]] = {}
        self._ports: list[Any] = []

    def listen(self, reactor: Any) -> None:
        """Bind the sockets; an address family the host lacks is left out, with a warning."""
        for fam, host in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
            try:
                self._ports.append(reactor.listenUDP(0, self.sockets[fam], interface=host))
            except Exception as e:  # noqa: BLE001 - CannotListenError: no such family here
                log.warning("NOTIFY: cannot open a UDP socket on %s: %s", host, e)

    def stop(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        for p in self._ports:
            p.stopListening()
        self._ports = []

    def notify(self, zone: Name, targets: Iterable[Target], soa_ttl: int, soa_rdata: bytes) -> None:
        """``zone`` now has the SOA ``soa_rdata``: tell every target (newest serial wins)."""
        now = self.clock.seconds()
        for t in targets:
            old = self.state.get(zone, t)
            if self.state.schedule(zone, t, soa_ttl, soa_rdata, now, self.delay) and old:
                for i in old.ids:
                    self._signed.pop(i, None)
        self._pump()

    def _pump(self) -> None:
        now = self.clock.seconds()
        for p in self.state.due(now):
            self._send(p, now)
        self._rearm(now)

    def _rearm(self, now: float) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        nxt = self.state.next_deadline()
        if nxt is not None:
            self._timer = self.clock.callLater(max(0.0, nxt - now), self._pump)

    def _send(self, p: Pending, now: float) -> None:
        busy = self.state.in_flight_ids()
        msg_id = self.new_id()
        for _ in range(16):
            if msg_id not in busy:
                break
            msg_id = self.new_id()
        wire = notify.build_notify(p.zone, msg_id, p.soa_ttl, p.soa_rdata)
        key = self.keys.get(p.target)
        if key is not None:
            wire, ctx = tsig.sign_request(wire, key, now)
            self._signed[msg_id] = (key, ctx)
        transport: Any = self.sockets[family_of(p.target[0])].transport
        if p.attempts == notify.BURST_TRIES:
            self.counters.unanswered_bursts += 1
            log.warning(
                "NOTIFY %s serial %d to %s:%d: no answer after %d tries; retrying every %.0f s",
                names.to_text(p.zone), p.serial, p.target[0], p.target[1], notify.BURST_TRIES,
                notify.retry_interval(notify.BURST_TRIES, p.soa_retry),
            )  # fmt: skip
        self.state.sent(p.zone, p.target, msg_id, now)
        if transport is None:
            return  # family not available: counted as an unanswered try
        try:
            transport.write(wire, p.target)
            self.counters.sent += 1
        except Exception as e:  # noqa: BLE001 - unreachable network, bad address: retried later
            log.debug("NOTIFY to %s:%d not sent: %s", p.target[0], p.target[1], e)

    def reply_received(self, data: bytes, addr: Target) -> None:
        reply = notify.parse_notify_reply(data)
        if reply is None:
            return
        target = self._target_for(reply.zone, addr)
        if target is None:
            return
        signed = self._signed.get(reply.msg_id)
        if signed is not None and not tsig.verify_response(
            data, signed[0], signed[1], self.clock.seconds()
        ):
            self.counters.errors += 1
            log.warning("NOTIFY reply from %s:%d has no valid TSIG; ignored", *addr)
            return
        pending = self.state.get(reply.zone, target)
        ended = self.state.answered(reply.zone, target, reply.msg_id, reply.rcode)
        if ended:
            self.counters.answered += 1
            if pending is not None:
                for i in pending.ids:
                    self._signed.pop(i, None)
            log.debug(
                "NOTIFY %s serial %d acknowledged by %s:%d",
                names.to_text(reply.zone), pending.serial if pending else 0, *target,
            )  # fmt: skip
            self._rearm(self.clock.seconds())
        elif pending is not None and reply.msg_id in pending.ids:
            self.counters.errors += 1
            log.warning(
                "NOTIFY %s to %s:%d answered with RCODE %d; will retry",
                names.to_text(reply.zone), target[0], target[1], reply.rcode,
            )  # fmt: skip

    def _target_for(self, zone: Name, addr: Target) -> Target | None:
        """The pending target a reply comes from (same host and port, IPv4-mapped or not)."""
        host = addr[0].removeprefix("::ffff:")
        for p in self.state.pending():
            if p.zone == zone and p.target[1] == addr[1] and p.target[0] in (addr[0], host):
                return p.target
        return None
