"""Run BIND's ``named`` as an ordinary process on a free loopback port, as a reference server."""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import dns.message
import dns.rcode
from serverkit import free_port, need, stop_process

# ``check-integrity no``: BIND refuses an UPDATE that leaves an in-zone MX or NS target
# without addresses; that is its local policy, not RFC 2136, and Knot does not do it.

# ``zero-no-soa-ttl no``: by default BIND gives the SOA in a negative answer to an SOA query
# TTL 0; RFC 2308 §3 says min(SOA TTL, MINIMUM), which is what leasedns (and Knot) send.
#
# ``minimal-responses no-auth``: no NS RRset in the authority section of positive answers
# (RFC 1034 §4.3.2 does not require it; leasedns and Knot leave it out), but glue and target
# addresses in the additional section, so that section can still be compared.
MINIMAL_RESPONSES = "no-auth"


def bind_config(root: Path, port: int, key: tuple[str, str, str], zones: dict[str, str]) -> str:
    """A primary zone per entry of ``zones`` (origin -> file name), updatable and transferable
    with ``key`` (name, algorithm, secret); BIND's defaults otherwise."""
    key_name, algorithm, secret = key
    key_name = key_name.rstrip(".")
    zone_blocks = "".join(
        f"""zone "{origin.rstrip(".")}" {{
    type primary;
    file "{file}";
    update-policy {{ grant {key_name} zonesub ANY; }};
    check-integrity no;
    allow-transfer {{ key {key_name}; }};
}};
"""
        for origin, file in zones.items()
    )
    return f"""options {{
    directory "{root}";
    pid-file "{root}/named.pid";
    session-keyfile "{root}/session.key";
    managed-keys-directory "{root}";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    notify no;
    dnssec-validation no;
    minimal-responses {MINIMAL_RESPONSES};
    zero-no-soa-ttl no;
}};
controls {{ }};
key "{key_name}" {{
    algorithm {algorithm};
    secret "{secret}";
}};
{zone_blocks}"""


@dataclass
class BindServer:
    """A running ``named -g`` serving the zones given to ``start_bind``."""

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
                    raise RuntimeError(f"named exited {self.proc.returncode}:\n{self.tail()}")
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
            raise RuntimeError(f"named did not load {pending}:\n{self.tail()}")

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None


def start_bind(root: Path, key: tuple[str, str, str], zones: dict[str, str]) -> BindServer:
    """``zones`` maps an origin to its master-file text; each is written under ``root``."""
    named = need("named")
    root.mkdir(parents=True, exist_ok=True)
    files = {}
    for origin, text in zones.items():
        name = f"{origin.rstrip('.')}.zone"
        (root / name).write_text(text)
        files[origin] = name
    port = free_port()
    conf = root / "named.conf"
    conf.write_text(bind_config(root, port, key, files))
    server = BindServer(root, port, list(zones))
    server.log = root / "named.log"
    # -g: foreground, log to stderr; -n 1: one worker thread is plenty on loopback.
    server.proc = subprocess.Popen(
        [named, "-g", "-n", "1", "-c", str(conf)],
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
