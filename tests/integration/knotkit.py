"""Run Knot DNS's ``knotd`` as an ordinary process on a free loopback port, as a reference server."""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import dns.message
import dns.rcode
from serverkit import free_port, need, stop_process


def knot_config(root: Path, port: int, key: tuple[str, str, str], zones: dict[str, str]) -> str:
    """A primary zone per entry of ``zones`` (origin -> file name), updatable and transferable
    with ``key`` (name, algorithm, secret); Knot's defaults otherwise.

    Updates stay in the journal (``zonefile-sync: -1``: the zone file is never rewritten), and
    every database lives under ``root``.  One worker of each kind is plenty on loopback."""
    key_name, algorithm, secret = key
    zone_items = "".join(
        f"  - domain: {origin}\n    file: {file}\n    acl: key-rights\n"
        for origin, file in zones.items()
    )
    return f"""server:
    rundir: "{root}/run"
    listen: 127.0.0.1@{port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "{root}/db"
log:
  - target: stderr
    any: info
key:
  - id: {key_name}
    algorithm: {algorithm}
    secret: {secret}
acl:
  - id: key-rights
    key: {key_name}
    action: [update, transfer]
template:
  - id: default
    storage: "{root}"
    zonefile-sync: -1
    journal-content: changes
zone:
{zone_items}"""


@dataclass
class KnotServer:
    """A running ``knotd`` serving the zones given to ``start_knot``."""

    root: Path
    port: int
    zones: list[str]
    host: str = "127.0.0.1"
    proc: subprocess.Popen | None = None
    log: Path = field(default_factory=lambda: Path("/dev/null"))

    def wait_ready(self, timeout: float = 15.0) -> None:
        """Until every zone's SOA is answered with NOERROR (loaded, not just listening)."""
        deadline = time.monotonic() + timeout
        pending = list(self.zones)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.1)
            while pending and time.monotonic() < deadline:
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(f"knotd exited {self.proc.returncode}:\n{self.tail()}")
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
            raise RuntimeError(f"knotd did not load {pending}:\n{self.tail()}")

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None


def start_knot(root: Path, key: tuple[str, str, str], zones: dict[str, str]) -> KnotServer:
    """``zones`` maps an origin to its master-file text; each is written under ``root``."""
    knotd = need("knotd")
    root.mkdir(parents=True, exist_ok=True)
    (root / "run").mkdir(exist_ok=True)
    (root / "db").mkdir(exist_ok=True)
    files = {}
    for origin, text in zones.items():
        name = f"{origin.rstrip('.')}.zone"
        (root / name).write_text(text)
        files[origin] = name
    port = free_port()
    conf = root / "knot.conf"
    conf.write_text(knot_config(root, port, key, files))
    server = KnotServer(root, port, list(zones))
    server.log = root / "knotd.log"
    server.proc = subprocess.Popen(
        [knotd, "-c", str(conf)],
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
