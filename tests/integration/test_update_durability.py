"""SIGKILL in the middle of a stream of signed updates: nothing acknowledged is lost, nothing is half-applied.

Every update adds TWO records at one fresh name (an A and a TXT), so an update that
was applied only in part shows up as a name holding one of them without the other.
Clients send over UDP and TCP at once, so the server is killed while batches of
several updates are being committed (RFC 2136 §3.5: commit before answering).
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.update
import pytest
from serverkit import Server, make_server, tcp_read

pytestmark = pytest.mark.interop

SECRET = "Q0ZHLXRlc3Qtc2VjcmV0LWZvci1kdXJhYmlsaXR5LTAxMjM="
KEYRING = {dns.name.from_text("dur-key."): dns.tsig.Key("dur-key.", SECRET, "hmac-sha256")}
ZONE = "dur.test."
ZONE_TEXT = """$ORIGIN dur.test.
$TTL 300
@    SOA ns hostmaster 1 3600 600 86400 60
     NS  ns
ns   A   192.0.2.1
"""
CLIENTS = (("udp", 0), ("udp", 1), ("tcp", 2), ("tcp", 3))
KILL_AFTER = (1, 20, 60, 150)  # acknowledgements before each SIGKILL


def address(n: int) -> str:
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


@dataclass
class Attempt:
    name: str
    a: str
    txt: str
    acked: bool = False


@dataclass
class Stream:
    """Client threads sending updates until told to stop; what was sent and what was acknowledged."""

    server: Server
    tag: str
    attempts: list[Attempt] = field(default_factory=list)
    acks: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    unexpected: list[str] = field(default_factory=list)

    def run_client(self, proto: str, client: int) -> None:
        i = 0
        while not self.stop.is_set():
            i += 1
            name = f"{self.tag}-c{client}-{i}.{ZONE}"
            att = Attempt(name, address(client << 14 | i), f'"{self.tag} {client} {i}"')
            u = dns.update.UpdateMessage(
                ZONE, keyring=KEYRING, keyname="dur-key.", keyalgorithm="hmac-sha256"
            )
            u.add(name, 300, "A", att.a)
            u.add(name, 300, "TXT", att.txt)
            with self.lock:
                self.attempts.append(att)
            try:
                r = self.exchange(proto, u)
            except (OSError, EOFError, dns.exception.DNSException):
                if not self.stop.is_set():
                    time.sleep(0.01)  # the server is going down; the test stops us soon
                continue
            if r.rcode() != dns.rcode.NOERROR:
                self.unexpected.append(f"{name}: {dns.rcode.to_text(r.rcode())}")
                continue
            with self.lock:
                att.acked = True
                self.acks += 1

    def exchange(self, proto: str, u: dns.update.UpdateMessage) -> dns.message.Message:
        """One request over a fresh socket; the reply's TSIG is checked."""
        wire = u.to_wire()
        family = socket.AF_INET6 if ":" in self.server.host else socket.AF_INET
        if proto == "udp":
            with socket.socket(family, socket.SOCK_DGRAM) as s:
                s.settimeout(0.05)
                s.connect((self.server.host, self.server.port))
                s.send(wire)
                reply = self.recv_until_stopped(s)
        else:
            with socket.create_connection((self.server.host, self.server.port), timeout=5) as s:
                s.sendall(len(wire).to_bytes(2, "big") + wire)
                reply = tcp_read(s)
        r = dns.message.from_wire(reply, keyring=KEYRING, request_mac=u.mac)
        assert r.id == u.id
        return r

    def recv_until_stopped(self, s: socket.socket) -> bytes:
        """Wait for the reply; once the server is dead (stop is set only after the SIGKILL)
        a reply not already in the socket buffer will never come."""
        deadline = time.monotonic() + 10
        while True:
            try:
                return s.recv(65535)
            except TimeoutError:
                if self.stop.is_set() or time.monotonic() > deadline:
                    raise


def served(server: Server, name: str) -> tuple[set[str], set[str]]:
    """(A, TXT) rdata texts served at ``name``."""
    out: list[set[str]] = []
    for rdtype in ("A", "TXT"):
        q = dns.message.make_query(name, rdtype)
        r = dns.query.udp(q, server.host, port=server.port, timeout=3)
        want = dns.rdatatype.from_text(rdtype)
        out.append({rd.to_text() for rrset in r.answer if rrset.rdtype == want for rd in rrset})
    return out[0], out[1]


def soa_serial(server: Server) -> int:
    r = dns.query.udp(dns.message.make_query(ZONE, "SOA"), server.host, port=server.port, timeout=3)
    return int(r.answer[0][0].serial)


def test_sigkill_during_an_update_stream_loses_nothing_acknowledged(tmp_path: Path) -> None:
    zone_file = tmp_path / "dur.test.zone"
    zone_file.write_text(ZONE_TEXT)
    server = make_server(
        tmp_path, extra=["--key", f"dur-key:hmac-sha256:{SECRET}"], zones=[zone_file]
    )
    server.start()
    history: list[Attempt] = []
    last_serial = soa_serial(server)
    try:
        for round_no, kill_after in enumerate(KILL_AFTER):
            stream = Stream(server, f"r{round_no}")
            threads = [
                threading.Thread(target=stream.run_client, args=c, daemon=True) for c in CLIENTS
            ]
            for t in threads:
                t.start()
            deadline = time.monotonic() + 30
            while stream.acks < kill_after and time.monotonic() < deadline:
                time.sleep(0.0005)
            assert stream.acks >= kill_after, f"only {stream.acks} acknowledgements in 30 s"
            server.kill()  # SIGKILL: no chance to flush or clean up
            stream.stop.set()
            for t in threads:
                t.join(10)
            assert stream.unexpected == []
            history += stream.attempts
            acked_now = sum(a.acked for a in stream.attempts)
            in_flight = len(stream.attempts) - acked_now

            server.start()
            for att in history:
                a, txt = served(server, att.name)
                if att.acked:
                    assert (a, txt) == ({att.a}, {att.txt}), f"acknowledged update lost: {att.name}"
                else:
                    assert (a, txt) in (({att.a}, {att.txt}), (set(), set())), (
                        f"half-applied update at {att.name}: A={a} TXT={txt}"
                    )
            serial_now = soa_serial(server)
            assert serial_now > last_serial, "acknowledged changes must come with a newer serial"
            last_serial = serial_now
            assert acked_now >= kill_after and in_flight >= 0
    finally:
        server.stop()
