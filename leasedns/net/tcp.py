"""TCP listener (RFC 7766): length framing, pipelining, idle timeout, connection cap."""

from __future__ import annotations

from typing import Any

from twisted.internet import reactor
from twisted.internet.interfaces import IDelayedCall
from twisted.internet.protocol import Factory, Protocol

from leasedns.server.core import ServerCore


class DnsStreamProtocol(Protocol):
    def __init__(self, factory: DnsStreamFactory) -> None:
        self.factory = factory
        self.buf = bytearray()
        self.idle: IDelayedCall | None = None
        self.served = 0

    def connectionMade(self) -> None:
        self.factory.open += 1
        self._arm()

    def _arm(self) -> None:
        if self.idle is not None and self.idle.active():
            self.idle.reset(self.factory.idle_timeout)
        else:
            self.idle = self.factory.clock.callLater(self.factory.idle_timeout, self._timeout)

    def _timeout(self) -> None:
        self.transport.loseConnection()  # type: ignore[union-attr]

    def dataReceived(self, data: bytes) -> None:
        """The idle timer restarts on each whole message, not on any segment (RFC 7766 §6.2.3):
        a client trickling a message byte by byte cannot hold the connection open."""
        self.buf += data
        core = self.factory.core
        peer = self.transport.getPeer()  # type: ignore[union-attr]
        addr = (peer.host, peer.port)
        while len(self.buf) >= 2:
            n = int.from_bytes(self.buf[:2], "big")
            if len(self.buf) < 2 + n:
                return
            msg = bytes(self.buf[2 : 2 + n])
            del self.buf[: 2 + n]
            self._arm()
            try:
                reply = core.handle(msg, addr, True, self._send)
            except Exception:  # noqa: BLE001 - one bad message must not kill the connection's peers
                core.dispatcher.counters.malformed += 1
                continue
            out = [reply.wire] if reply.wire is not None else []
            out += reply.stream
            for wire in out:
                self._send(wire)
            self.served += 1
            cap = self.factory.max_queries
            if cap and self.served >= cap:
                self.transport.loseConnection()  # type: ignore[union-attr]
                return

    def _send(self, wire: bytes) -> None:
        if self.transport is not None and self.connected:
            self.transport.write(len(wire).to_bytes(2, "big") + wire)

    def connectionLost(self, reason: Any = None) -> None:
        self.factory.open -= 1
        if self.idle is not None and self.idle.active():
            self.idle.cancel()


class DnsStreamFactory(Factory):
    def __init__(
        self,
        core: ServerCore,
        idle_timeout: float,
        max_connections: int,
        max_queries: int = 0,
        clock: Any = reactor,
    ) -> None:
        self.core = core
        self.idle_timeout = idle_timeout
        self.max_connections = max_connections
        self.max_queries = max_queries
        self.clock = clock
        self.open = 0
        self.refused = 0

    def buildProtocol(self, addr: Any) -> DnsStreamProtocol | None:  # type: ignore[override]
        if self.open >= self.max_connections:
            self.refused += 1
            return None  # Twisted closes the connection at once
        return DnsStreamProtocol(self)
