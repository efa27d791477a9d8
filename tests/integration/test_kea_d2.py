"""The real Kea DHCP-DDNS daemon (D2) feeding leasedns: NameChangeRequests in, RFC 4703 out.

D2 listens for NCRs on loopback (2-byte length + JSON, as kea-dhcp4 sends them) and
updates leasedns through a recording UDP relay, so every message D2 sent and every
answer it got can be shown when an assertion fails.  Under the balanced profile a
lease-expiry remove puts the records in grace, the same client (DHCID) coming back
reconciles them, and a different client cannot take the name meanwhile.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
import select
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dns.message
import dns.name
import dns.rdatatype
import pytest
from serverkit import ZONES, Server, ask, free_port, need, poll, rrsets, stop_process

pytestmark = pytest.mark.interop

KEY_NAME = "ddns-key"
SECRET = "a2VhLWQyLXRvLWxlYXNlZG5zLXRlc3Qtc2VjcmV0LTAxMjM0NTY3"
GRACE = 300
REV4 = "5.0.10.in-addr.arpa."
REV6 = "0.0.0.0.0.0.0.0.0.1.0.0.0.0.d.f.ip6.arpa."
D2_BIN = "/usr/sbin/kea-dhcp-ddns"
DONE = re.compile(r"DHCP_DDNS_(ADD|REMOVE)_(SUCCEEDED|FAILED)")


def zone_text(origin: str) -> str:
    return (
        f"$ORIGIN {origin}\n$TTL 3600\n"
        "@ IN SOA ns1.lab.example. hostmaster.lab.example. 1 3600 600 1209600 300\n"
        "  IN NS ns1.lab.example.\n"
    )


def dhcid(identifier_type: int, identifier: bytes, fqdn: str) -> str:
    """RFC 4701 §3.5, computed here independently of leasedns: hex as D2's NCRs carry it."""
    wire = dns.name.from_text(fqdn).canonicalize().to_wire()
    assert wire is not None
    digest = hashlib.sha256(identifier + wire).digest()
    return (struct.pack("!HB", identifier_type, 1) + digest).hex().upper()


def client_id_dhcid(mac: str, fqdn: str) -> str:
    """What kea-dhcp4 sends for a client identifier ``01:MAC`` (identifier type 1)."""
    return dhcid(1, bytes.fromhex("01" + mac.replace(":", "")), fqdn)


def duid_dhcid(duid: str, fqdn: str) -> str:
    """Identifier type 2 (DUID): DHCPv6, and DHCPv4 with an RFC 4361 client identifier."""
    return dhcid(2, bytes.fromhex(duid.replace(":", "")), fqdn)


# --- a UDP relay that records what D2 sends and what leasedns answers ------------------------


@dataclass
class Exchange:
    request: bytes
    reply: bytes | None = None

    def text(self) -> str:
        out = []
        for label, wire in (("request", self.request), ("reply", self.reply)):
            if wire is None:
                out.append(f"--- {label}: none")
                continue
            try:
                out.append(f"--- {label}:\n{dns.message.from_wire(wire, keyring=False).to_text()}")
            except Exception as e:  # noqa: BLE001 - show what we can
                out.append(f"--- {label}: undecodable ({e}): {wire.hex()}")
        return "\n".join(out)


@dataclass
class Relay:
    """127.0.0.1:port -> the server; one upstream socket per D2 source port."""

    upstream: tuple[str, int]
    exchanges: list[Exchange] = field(default_factory=list)
    port: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.front.bind(("127.0.0.1", 0))
        self.port = self.front.getsockname()[1]
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        backs: dict[socket.socket, tuple[tuple[str, int], Exchange]] = {}
        by_client: dict[tuple[str, int], socket.socket] = {}
        while not self._stop.is_set():
            ready, _, _ = select.select([self.front, *backs], [], [], 0.1)
            for s in ready:
                if s is self.front:
                    data, client = self.front.recvfrom(65535)
                    back = by_client.get(client)
                    if back is None:
                        back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                        back.connect(self.upstream)
                        by_client[client] = back
                    ex = Exchange(data)
                    self.exchanges.append(ex)
                    backs[back] = (client, ex)
                    back.send(data)
                else:
                    data = s.recv(65535)
                    client, ex = backs[s]
                    ex.reply = data
                    self.front.sendto(data, client)
        for s in [self.front, *backs]:
            s.close()

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(5)

    def since(self, n: int) -> str:
        return "\n".join(ex.text() for ex in self.exchanges[n:])


# --- the daemon -----------------------------------------------------------------------------


@dataclass
class D2:
    workdir: Path
    dns_port: int
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    sent: int = 0

    @property
    def log(self) -> Path:
        return self.workdir / "d2.log"

    def config(self) -> dict[str, Any]:
        servers = [{"ip-address": "127.0.0.1", "port": self.dns_port}]

        def domain(name: str) -> dict[str, Any]:
            return {"name": name, "key-name": KEY_NAME, "dns-servers": servers}

        return {
            "DhcpDdns": {
                "ip-address": "127.0.0.1",
                "port": self.port,
                "dns-server-timeout": 2000,
                "ncr-protocol": "UDP",
                "ncr-format": "JSON",
                "tsig-keys": [{"name": KEY_NAME, "algorithm": "HMAC-SHA256", "secret": SECRET}],
                "forward-ddns": {"ddns-domains": [domain("lab.example.")]},
                "reverse-ddns": {"ddns-domains": [domain(REV4), domain(REV6)]},
                "loggers": [
                    {
                        "name": "kea-dhcp-ddns",
                        "output_options": [{"output": str(self.log), "flush": True}],
                        "severity": "DEBUG",
                        "debuglevel": 40,
                    }
                ],
            }
        }

    def start(self) -> None:
        self.port = free_port()
        conf = self.workdir / "kea-dhcp-ddns.conf"
        conf.write_text(json.dumps(self.config(), indent=2))
        env = {**os.environ, "KEA_PIDFILE_DIR": str(self.workdir),
               "KEA_LOCKFILE_DIR": str(self.workdir)}  # fmt: skip
        check = subprocess.run([D2_BIN, "-t", str(conf)], capture_output=True, text=True, env=env)
        assert check.returncode == 0, (
            f"kea-dhcp-ddns rejects the config:\n{check.stdout}{check.stderr}"
        )
        self.proc = subprocess.Popen(
            [D2_BIN, "-c", str(conf)], env=env, cwd=self.workdir,
            stdout=open(self.workdir / "d2.out", "wb"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        poll(lambda: "DHCP_DDNS_STARTED" in self.text(), "D2 to start", self.text)

    def stop(self) -> None:
        stop_process(self.proc)

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def done(self) -> int:
        return len(DONE.findall(self.text()))

    def ncr(self, change: int, fqdn: str, ip: str, dhcid_hex: str, lease: int = 600,
            forward: bool = True, reverse: bool = True) -> str:  # fmt: skip
        """Send one NameChangeRequest (change 0 = add, 1 = remove) and wait until D2 is done
        with it; returns the part of D2's log it wrote meanwhile."""
        before = self.text()
        expires = time.strftime("%Y%m%d%H%M%S", time.gmtime(time.time() + lease))
        body = json.dumps({
            "change-type": change, "forward-change": forward, "reverse-change": reverse,
            "fqdn": fqdn, "ip-address": ip, "dhcid": dhcid_hex, "lease-expires-on": expires,
            "lease-length": lease, "use-conflict-resolution": True,
        }).encode()  # fmt: skip
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(struct.pack("!H", len(body)) + body, ("127.0.0.1", self.port))
        self.sent += 1
        poll(lambda: self.done() >= self.sent, f"D2 to finish NCR #{self.sent}", self.text)
        return self.text()[len(before) :]


# --- looking at leasedns ----------------------------------------------------------------------


def answer(server: Server, name: str, rdtype: str) -> tuple[set[str], int | None]:
    """(rdata texts, TTL) of name/type as served; (set(), None) when there is none."""
    r = ask(server, name, rdtype)
    want = dns.rdatatype.from_text(rdtype)
    for rrset in r.answer:
        if rrset.name == dns.name.from_text(name) and rrset.rdtype == want:
            return {rd.to_text() for rd in rrset}, rrset.ttl
    return set(), None


def served(server: Server, name: str, rdtype: str) -> set[str]:
    return answer(server, name, rdtype)[0]


def dhcid_served(server: Server, name: str) -> set[str]:
    r = ask(server, name, "DHCID")
    return {rd.to_wire().hex().upper() for rrset in r.answer for rd in rrset}


def audit(server: Server, since: float = 0.0) -> list[dict[str, Any]]:
    """Update events in leasedns's audit log from ``since`` (a wall-clock time) on."""
    p = server.cli("audit", "--data-dir", str(server.data_dir), "--json")
    assert p.returncode == 0, p.stderr
    return [e for e in json.loads(p.stdout) if e["kind"] == "update" and e["time"] >= since]


def notes(events: list[dict[str, Any]]) -> list[str]:
    """What leasedns said about each update: grace, reconciliation, refusals, leases."""
    return [n for e in events for n in e["detail"].get("ignored", [])]


@dataclass(frozen=True)
class Mark:
    exchanges: int
    time: float


@dataclass
class Lab:
    server: Server
    relay: Relay
    d2: D2

    def mark(self) -> Mark:
        return Mark(len(self.relay.exchanges), time.time() - 0.001)

    def story(self, mark: Mark) -> str:
        """What D2 sent since ``mark`` and how leasedns answered and audited it."""
        events = audit(self.server, mark.time)
        lines = [f"{e['zone']} {e['outcome']} {e['reason']} {e['detail']}" for e in events]
        return f"{self.relay.since(mark.exchanges)}\n--- audit:\n" + "\n".join(lines)


@pytest.fixture
def lab(server_factory: Callable[..., Server], tmp_path: Path) -> Iterator[Lab]:
    need(D2_BIN)
    for origin in (REV4, REV6):
        (tmp_path / f"{origin}zone").write_text(zone_text(origin))
    zones = [ZONES / "lab.example.zone", tmp_path / f"{REV4}zone", tmp_path / f"{REV6}zone"]
    server = server_factory(
        extra=["--key", f"{KEY_NAME}:hmac-sha256:{SECRET}:dhcp", "--profile", "balanced",
               "--grace", str(GRACE)],
        zones=zones,
    )  # fmt: skip
    relay = Relay((server.host, server.port))
    relay.start()
    d2 = D2(tmp_path, relay.port)
    try:
        d2.start()
        yield Lab(server, relay, d2)
    finally:
        d2.stop()
        relay.stop()


LAPTOP = "laptop.lab.example."
MAC_A = "02:00:5e:10:00:01"
MAC_B = "02:00:5e:10:00:02"


def test_d2_add_renew_expire_return_and_conflict(lab: Lab) -> None:
    s, d2 = lab.server, lab.d2
    a = client_id_dhcid(MAC_A, LAPTOP)
    b = client_id_dhcid(MAC_B, LAPTOP)

    # 1. add: A, DHCID and PTR (with D2's own DHCID at the PTR name)
    m = lab.mark()
    log = d2.ncr(0, LAPTOP, "10.0.5.10", a)
    assert "DHCP_DDNS_ADD_SUCCEEDED" in log, lab.story(m)
    assert served(s, LAPTOP, "A") == {"10.0.5.10"}
    assert dhcid_served(s, LAPTOP) == {a}
    assert served(s, "10.5.0.10.in-addr.arpa.", "PTR") == {LAPTOP}
    assert rrsets(s, "lab.example.")[(LAPTOP, "A")]["identity"] == "dhcid:" + a.lower()

    # 2. renew at a new address: kea-dhcp4 sends remove (old) + add (new)
    m = lab.mark()
    log = d2.ncr(1, LAPTOP, "10.0.5.10", a)
    assert "REMOVE_FAILED" not in log and "DHCP_DDNS_REMOVE_SUCCEEDED" in log, lab.story(m)
    log = d2.ncr(0, LAPTOP, "10.0.5.11", a)
    assert "DHCP_DDNS_ADD_SUCCEEDED" in log, lab.story(m)
    assert served(s, LAPTOP, "A") == {"10.0.5.11"}, lab.story(m)
    assert served(s, "11.5.0.10.in-addr.arpa.", "PTR") == {LAPTOP}
    events = audit(s, m.time)
    assert "reconciled laptop.lab.example. 10.0.5.10 → 10.0.5.11" in notes(events), lab.story(m)
    # no alarm: nothing refused, only D2's own "name in use?" probe fails
    assert all(e["outcome"] == "applied" or e["reason"].startswith("YXDOMAIN")
               for e in events), lab.story(m)  # fmt: skip
    state = rrsets(s, "lab.example.")
    assert state[(LAPTOP, "A")]["state"] == "active", state[(LAPTOP, "A")]
    assert state[(LAPTOP, "DHCID")]["state"] == "active", state[(LAPTOP, "DHCID")]
    renewed = m

    # 3. lease expiry: remove -> grace (still served, TTL at the floor), D2 sees success
    m = lab.mark()
    log = d2.ncr(1, LAPTOP, "10.0.5.11", a)
    assert "REMOVE_FAILED" not in log and "DHCP_DDNS_REMOVE_SUCCEEDED" in log, lab.story(m)
    rdatas, ttl = answer(s, LAPTOP, "A")
    assert rdatas == {"10.0.5.11"} and ttl == 60, (rdatas, ttl)
    state = rrsets(s, "lab.example.")
    assert state[(LAPTOP, "A")]["state"] == "grace", state[(LAPTOP, "A")]
    assert served(s, "11.5.0.10.in-addr.arpa.", "PTR") == {LAPTOP}
    assert rrsets(s, REV4)[("11.5.0.10.in-addr.arpa.", "PTR")]["state"] == "grace"
    said = notes(audit(s, m.time))
    assert any(n.startswith("laptop.lab.example. type 1: moved to grace") for n in said), said

    # 4. another client (other DHCID) claims the name during grace: refused
    m = lab.mark()
    log = d2.ncr(0, LAPTOP, "10.0.5.12", b)
    rejected = "DHCP_DDNS_FORWARD_REPLACE_REJECTED" in log or "DHCP_DDNS_ADD_FAILED" in log
    assert rejected and "DHCP_DDNS_ADD_SUCCEEDED" not in log, lab.story(m)
    assert all(e["outcome"] != "applied" for e in audit(s, m.time)), lab.story(m)
    assert served(s, LAPTOP, "A") == {"10.0.5.11"}
    assert dhcid_served(s, LAPTOP) == {a}
    assert served(s, "12.5.0.10.in-addr.arpa.", "PTR") == set()

    # 5. the same client returns: reconciled, active again
    m = lab.mark()
    log = d2.ncr(0, LAPTOP, "10.0.5.11", a)
    assert "DHCP_DDNS_ADD_SUCCEEDED" in log, lab.story(m)
    rdatas, ttl = answer(s, LAPTOP, "A")
    assert rdatas == {"10.0.5.11"} and ttl == 600, (rdatas, ttl, lab.story(m))
    state = rrsets(s, "lab.example.")
    assert state[(LAPTOP, "A")]["state"] == "active", lab.story(m)
    assert state[(LAPTOP, "DHCID")]["state"] == "active", lab.story(m)
    assert rrsets(s, REV4)[("11.5.0.10.in-addr.arpa.", "PTR")]["state"] == "active"
    said = notes(audit(s, m.time))
    assert any(n.startswith("reconciled laptop.lab.example. 10.0.5.11") for n in said), said

    # reconciliation moved the matching PTR too (issue point 4): the address the client
    # left in step 2 no longer points at it
    assert served(s, "10.5.0.10.in-addr.arpa.", "PTR") == set(), lab.story(renewed)


def test_d2_dual_stack_same_dhcid(lab: Lab) -> None:
    """RFC 4361 node-specific client identifier: DHCIDv4 == DHCIDv6 (type 2, the DUID)."""
    s, d2 = lab.server, lab.d2
    fqdn = "dual.lab.example."
    duid = "00:01:00:01:2c:4f:5a:10:02:00:5e:10:00:03"
    both = duid_dhcid(duid, fqdn)
    m = lab.mark()
    assert "DHCP_DDNS_ADD_SUCCEEDED" in d2.ncr(0, fqdn, "10.0.5.20", both), lab.story(m)
    assert "DHCP_DDNS_ADD_SUCCEEDED" in d2.ncr(0, fqdn, "fd00:10::77", both), lab.story(m)
    assert served(s, fqdn, "A") == {"10.0.5.20"}, lab.story(m)
    assert served(s, fqdn, "AAAA") == {"fd00:10::77"}, lab.story(m)
    assert dhcid_served(s, fqdn) == {both}
    state = rrsets(s, "lab.example.")
    assert (
        state[(fqdn, "A")]["identity"]
        == state[(fqdn, "AAAA")]["identity"]
        == "dhcid:" + both.lower()
    )
    assert served(s, "20.5.0.10.in-addr.arpa.", "PTR") == {fqdn}
    rev6 = ipaddress.ip_address("fd00:10::77").reverse_pointer + "."
    assert served(s, rev6, "PTR") == {fqdn}, lab.story(m)
    # a renew of the v4 lease leaves the AAAA alone
    assert "DHCP_DDNS_ADD_SUCCEEDED" in d2.ncr(0, fqdn, "10.0.5.21", both), lab.story(m)
    assert served(s, fqdn, "A") == {"10.0.5.21"}
    assert served(s, fqdn, "AAAA") == {"fd00:10::77"}


def test_shipped_d2_config_example_is_valid(tmp_path: Path) -> None:
    """zones/kea-dhcp-ddns.conf, as the README tells admins to use it, passes ``-t``."""
    need(D2_BIN)
    env = {**os.environ, "KEA_PIDFILE_DIR": str(tmp_path), "KEA_LOCKFILE_DIR": str(tmp_path)}
    p = subprocess.run([D2_BIN, "-t", str(ZONES / "kea-dhcp-ddns.conf")], capture_output=True,
                       text=True, env=env, timeout=30)  # fmt: skip
    assert p.returncode == 0, p.stdout + p.stderr
