"""Start the real ``leasedns serve`` process on free loopback ports and talk to it over sockets."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dns.message
import dns.rcode
import pytest

ROOT = Path(__file__).resolve().parents[2]
ZONES = ROOT / "zones"


def free_port(family: int = socket.AF_INET, host: str = "127.0.0.1") -> int:
    """A port free for both UDP and TCP on ``host``."""
    for _ in range(50):
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as u:
                u.bind((host, port))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port")


def have_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def poll(cond: Callable[[], bool], what: str, show: Callable[[], str] = lambda: "",
         timeout: float = 15.0) -> None:  # fmt: skip
    """Until ``cond()`` holds; on timeout the assertion shows the tail of ``show()``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}\n{show()[-4000:]}")


def rrsets(server: Server, zone: str) -> dict[tuple[str, str], dict[str, Any]]:
    """``leasedns zone show --json`` by (name, type): what the lifecycle knows of each RRset."""
    p = server.cli("zone", "show", zone, "--data-dir", str(server.data_dir), "--json")
    assert p.returncode == 0, p.stderr
    return {(r["name"], r["type"]): r for r in json.loads(p.stdout)}


def stop_process(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM) -> None:
    """Signal a peer or server process, and kill it if it has not gone within 10 s."""
    if proc is not None and proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Server:
    """A running ``leasedns serve``; ``restart()`` keeps the data directory."""

    data_dir: Path
    args: list[str]
    port: int
    http_port: int
    host: str = "127.0.0.1"
    proc: subprocess.Popen | None = None
    log: Path = field(default_factory=lambda: Path("/dev/null"))

    def start(self, wait: bool = True) -> None:
        self.log = self.data_dir / "server.log"
        cmd = [
            sys.executable,
            "-m",
            "leasedns",
            "serve",
            "--data-dir",
            str(self.data_dir),
            *self.args,
        ]
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT
        )
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"server exited {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"server not ready:\n{self.log.read_text()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        stop_process(self.proc, sig)
        self.proc = None

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def restart(self) -> None:
        self.stop()
        self.start()

    def cli(
        self, *args: str, check: bool = False, input: str | None = None
    ) -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-m", "leasedns", *args]
        return subprocess.run(
            cmd, cwd=ROOT, capture_output=True, text=True, check=check, input=input, timeout=60
        )


def make_server(tmp_path: Path, extra: list[str] | None = None, zones: list[Path] | None = None,
                host: str = "127.0.0.1") -> Server:  # fmt: skip
    port = free_port(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
    http_port = free_port()
    listen = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    args = ["--listen", listen, "--http", f"127.0.0.1:{http_port}"]
    for z in (
        zones
        if zones is not None
        else [ZONES / "lab.example.zone", ZONES / "0.0.10.in-addr.arpa.zone"]
    ):
        args += ["--zone", str(z)]
    args += extra or []
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    return Server(data, args, port, http_port, host)


def serve_zones(tmp: Path, zones: dict[str, str], admin_key: tuple[str, str]) -> Server:
    """A started leasedns serving ``zones`` (origin -> master-file text) from files under
    ``tmp``, with ``admin_key`` (name, base64 secret; hmac-sha256) as an admin key."""
    zdir = tmp / "zones"
    zdir.mkdir(parents=True)
    for origin, text in zones.items():
        (zdir / f"{origin}zone").write_text(text)
    name, secret = admin_key
    server = make_server(
        tmp,
        zones=[zdir / f"{origin}zone" for origin in zones],
        extra=["--key", f"{name.rstrip('.')}:hmac-sha256:{secret}:admin"],
    )
    server.start()
    return server


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator:
    made: list[Server] = []

    def factory(**kw) -> Server:  # type: ignore[no-untyped-def]
        d = tmp_path / f"s{len(made)}"
        d.mkdir(exist_ok=True)
        s = make_server(d, **kw)
        made.append(s)
        s.start()
        return s

    yield factory
    for s in made:
        s.stop()


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for read-only query tests (the shipped example zones)."""
    tmp = tmp_path_factory.mktemp("lab")
    s = make_server(tmp)
    s.start()
    yield s
    s.stop()


def need(binary: str) -> str:
    """Interop tests must run in CI: a missing client is a failure, not a skip."""
    path = shutil.which(binary)
    assert path, f"{binary} is not installed; `make test` installs it (Debian package)"
    return path


def env_without_proxies() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}


# --- talking to a server over raw sockets (query-path tests) -------------------------------


def sock_family(host: str) -> int:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def udp_exchange(server: Server, wire: bytes, timeout: float = 2.0) -> bytes | None:
    """Send one datagram and return the reply, or None when nothing comes back in time."""
    with socket.socket(sock_family(server.host), socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(wire, (server.host, server.port))
        try:
            return s.recv(65535)
        except TimeoutError:
            return None


def tcp_connect(server: Server, timeout: float = 5.0) -> socket.socket:
    s = socket.create_connection((server.host, server.port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_exact(s: socket.socket, n: int) -> bytes:
    """Exactly ``n`` bytes; EOFError when the peer closes first."""
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return bytes(buf)


def tcp_read(s: socket.socket) -> bytes:
    """One length-prefixed DNS message (RFC 1035 §4.2.2)."""
    n = int.from_bytes(recv_exact(s, 2), "big")
    return recv_exact(s, n)


def skip_name(wire: bytes, pos: int) -> int:
    """The offset after the (possibly compressed) name at ``pos``; no checks: test input."""
    while True:
        n = wire[pos]
        if n == 0:
            return pos + 1
        if n & 0xC0 == 0xC0:
            return pos + 2
        pos += n + 1


def closed_by_peer(s: socket.socket, within: float) -> bool:
    """True when the server closes (EOF or reset) within ``within`` seconds."""
    s.settimeout(within)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def tcp_exchange(server: Server, wire: bytes, timeout: float = 5.0) -> bytes:
    with tcp_connect(server, timeout) as s:
        s.sendall(len(wire).to_bytes(2, "big") + wire)
        return tcp_read(s)


def ask(  # type: ignore[no-untyped-def]
    server: Server, qname: str, rdtype: str | int, tcp: bool = False, **kw
) -> dns.message.Message:
    """One query built by dnspython (keyword arguments go to ``make_query``), answer parsed."""
    q = dns.message.make_query(qname, rdtype, **kw)
    wire = q.to_wire()
    raw = tcp_exchange(server, wire) if tcp else udp_exchange(server, wire)
    assert raw is not None, f"no answer to {qname} {rdtype}"
    r = dns.message.from_wire(raw)
    assert r.id == q.id and q.is_response(r), f"reply does not match the query:\n{r}"
    return r


def scrape(server: Server) -> str:
    """The /metrics page, fetched without any proxy from the environment."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"http://127.0.0.1:{server.http_port}/metrics", timeout=5) as resp:
        return resp.read().decode()


def metric(server: Server, name: str, **labels: str) -> float:
    """Sum of the samples called ``name`` whose labels include ``labels`` (0 when absent)."""
    from prometheus_client.parser import text_string_to_metric_families

    total = 0.0
    for family in text_string_to_metric_families(scrape(server)):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


# A zone with the shapes the shipped zones lack: CNAME loops, a wildcard CNAME, a dangling
# CNAME, and TXT RRsets too big for 512 bytes (~700 bytes) and for 1232 bytes (~2000 bytes).
BIG_TXT_STRINGS = 8  # 8 strings of 250 characters: 2008 bytes of RDATA
MEDIUM_TXT_STRINGS = 3  # 3 strings of 230 characters: 693 bytes of RDATA


def _txt(count: int, size: int, letter: str) -> str:
    return " ".join(f'"{letter * size}"' for _ in range(count))


# A delegation whose in-domain glue (12 names, A and AAAA each) overflows 512 bytes.
DELEG_SERVERS = 12
DELEG_RECORDS = "".join(
    f"deleg IN NS ns{i}.deleg\nns{i}.deleg IN A 192.0.2.{100 + i}\nns{i}.deleg IN AAAA 2001:db8::{i}\n"
    for i in range(1, DELEG_SERVERS + 1)
)

SPECIAL_ZONE = f"""$ORIGIN special.test.
$TTL 600
@         IN SOA   ns hostmaster 1 3600 600 86400 60
          IN NS    ns
ns        IN A     192.0.2.1
loop1     IN CNAME loop2
loop2     IN CNAME loop1
self      IN CNAME self
*.w       IN CNAME target
target    IN A     192.0.2.10
dangling  IN CNAME missing
tolab     IN CNAME www.lab.example.
todeleg   IN CNAME host.deleg
big       IN TXT   {_txt(BIG_TXT_STRINGS, 250, "b")}
medium    IN TXT   {_txt(MEDIUM_TXT_STRINGS, 230, "m")}
{DELEG_RECORDS}"""

# SOA TTL below MINIMUM: the negative TTL is the SOA TTL (RFC 2308 §3).
MIN_ZONE = """$ORIGIN min.test.
$TTL 30
@   IN SOA ns.min.test. hostmaster.min.test. 7 3600 600 86400 300
    IN NS  ns
ns  IN A   192.0.2.2
"""


@pytest.fixture(scope="session")
def special_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """special.test. and min.test. (above) plus the shipped lab.example., read-only."""
    tmp = tmp_path_factory.mktemp("special")
    (tmp / "special.test.zone").write_text(SPECIAL_ZONE)
    (tmp / "min.test.zone").write_text(MIN_ZONE)
    zones = [tmp / "special.test.zone", tmp / "min.test.zone", ZONES / "lab.example.zone"]
    s = make_server(tmp, zones=zones)
    s.start()
    yield s
    s.stop()


# -- reference servers (BIND, Knot) run beside leasedns ------------------------------------


@dataclass
class PeerServer:
    """A reference server started by a test: its process, port, zones and log."""

    name: str
    root: Path
    port: int
    zones: list[str]
    log: Path
    host: str = "127.0.0.1"
    proc: subprocess.Popen[bytes] | None = None

    def wait_ready(self, timeout: float = 15.0) -> None:
        """Until every zone's SOA is answered with NOERROR (loaded, not just listening)."""
        deadline = time.monotonic() + timeout
        pending = list(self.zones)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.1)
            while pending and time.monotonic() < deadline:
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited {self.proc.returncode}:\n{self.tail()}")
                probe = dns.message.make_query(pending[0], "SOA")
                try:
                    s.sendto(probe.to_wire(), (self.host, self.port))
                    reply = dns.message.from_wire(s.recv(4096))
                except (ConnectionRefusedError, TimeoutError):
                    time.sleep(0.02)
                    continue
                if reply.id == probe.id and reply.rcode() == dns.rcode.NOERROR and reply.answer:
                    pending.pop(0)
                else:
                    time.sleep(0.02)
        if pending:
            raise RuntimeError(f"{self.name} did not load {pending}:\n{self.tail()}")

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None


def write_zone_files(root: Path, zones: dict[str, str]) -> dict[str, str]:
    """Each origin's master-file text as ``<origin>.zone`` under ``root``; origin -> file name."""
    root.mkdir(parents=True, exist_ok=True)
    files = {}
    for origin, text in zones.items():
        name = f"{origin.rstrip('.')}.zone"
        (root / name).write_text(text)
        files[origin] = name
    return files


def start_peer(name: str, argv: list[str], root: Path, port: int, zones: list[str]) -> PeerServer:
    """Run ``argv`` in ``root`` (output to ``<name>.log``) until it serves every zone."""
    server = PeerServer(name, root, port, zones, root / f"{name}.log")
    server.proc = subprocess.Popen(
        argv,
        cwd=root,
        stdout=open(server.log, "wb"),  # noqa: SIM115 - the process owns it until it exits
        stderr=subprocess.STDOUT,
    )
    try:
        server.wait_ready()
    except BaseException:
        server.stop()
        raise
    return server
