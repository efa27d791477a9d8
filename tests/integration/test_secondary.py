"""Real secondaries (Knot and NSD from Debian) follow leasedns through NOTIFY and IXFR/AXFR.

Each secondary runs as the current user with its own config, storage and a
free loopback port under tmp_path.  Its SOA refresh timer (1 h) is far longer
than the test, so a change can only arrive through our NOTIFY.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from serverkit import (
    ZONES,
    Server,
    env_without_proxies,
    free_port,
    make_server,
    need,
    stop_process,
)

pytestmark = pytest.mark.interop

SECRET = "bst4g+jKRwKwOcxigyhWUps4Fhwg+xZMJtMJmf09gb8="
ZONE = "lab.example."
FOLLOW_WITHIN = 6.0  # seconds a secondary may take to serve a change


@dataclass
class Secondary:
    kind: str
    root: Path
    port: int
    primary_port: int
    tsig: bool = False
    proc: subprocess.Popen | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.log = self.root / f"{self.kind}.out"

    def config(self) -> Path:
        r = self.root
        if self.kind == "knot":
            key = (
                f"key:\n  - id: xfr-key\n    algorithm: hmac-sha256\n    secret: {SECRET}\n"
                if self.tsig
                else ""
            )
            text = f"""server:
    rundir: "{r}/run"
    listen: 127.0.0.1@{self.port}
database:
    storage: "{r}/storage"
log:
  - target: stderr
    any: info
{key}remote:
  - id: primary
    address: 127.0.0.1@{self.primary_port}
{"    key: xfr-key" if self.tsig else ""}
acl:
  - id: notify_from_primary
    address: 127.0.0.1
    action: notify
template:
  - id: default
    storage: "{r}/storage"
zone:
  - domain: {ZONE}
    master: primary
    acl: notify_from_primary
"""
            (r / "run").mkdir(exist_ok=True)
            (r / "storage").mkdir(exist_ok=True)
            path = r / "knot.conf"
        else:
            key = (
                f'key:\n    name: xfr-key\n    algorithm: hmac-sha256\n    secret: "{SECRET}"\n'
                if self.tsig
                else ""
            )
            text = f"""server:
    ip-address: 127.0.0.1
    port: {self.port}
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "{r}"
    database: ""
    xfrdfile: "{r}/xfrd.state"
    zonelistfile: "{r}/zone.list"
    pidfile: "{r}/nsd.pid"
    xfrdir: "{r}"
    logfile: "{r}/nsd.log"
    verbosity: 2
remote-control:
    control-enable: no
{key}zone:
    name: {ZONE}
    zonefile: "lab.example.zone"
    request-xfr: 127.0.0.1@{self.primary_port} {"xfr-key" if self.tsig else "NOKEY"}
    allow-notify: 127.0.0.1 NOKEY
"""
            path = r / "nsd.conf"
        path.write_text(text)
        return path

    def start(self) -> None:
        conf = self.config()
        if self.kind == "knot":
            cmd = [need("knotd"), "-c", str(conf)]
        else:
            cmd = [need("nsd"), "-d", "-c", str(conf)]
        self.proc = subprocess.Popen(cmd, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None

    def logs(self) -> str:
        text = self.log.read_text(errors="replace")
        extra = self.root / "nsd.log"
        if extra.exists():
            text += extra.read_text(errors="replace")
        return text

    def dig(self, name: str, rtype: str = "A") -> str:
        p = subprocess.run(
            [need("dig"), "@127.0.0.1", "-p", str(self.port), "+short", "+norec", "+time=1",
             "+tries=1", name, rtype],
            capture_output=True, text=True, timeout=10, env=env_without_proxies(), check=False,
        )  # fmt: skip
        return p.stdout.strip()

    def wait_for(
        self, name: str, want: str, rtype: str = "A", timeout: float = FOLLOW_WITHIN
    ) -> float:
        """Poll with dig until ``name`` has ``want``; return how long it took."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.dig(name, rtype) == want:
                return time.monotonic() - t0
            if self.proc is not None and self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(
            f"{self.kind} did not serve {name} {rtype} {want!r} within {timeout} s "
            f"(got {self.dig(name, rtype)!r}):\n{self.logs()[-4000:]}"
        )


def copy_zone(tmp_path: Path) -> Path:
    d = tmp_path / "zones"
    d.mkdir(exist_ok=True)
    for f in ("lab.example.zone", "lab.example.printers.inc"):
        shutil.copy(ZONES / f, d / f)
    return d / "lab.example.zone"


def bump(path: Path, extra: str) -> int:
    """Add lines to the zone file and raise its serial by one; return the new serial."""
    text = path.read_text()
    m = re.search(r"(\d{10})(\s*; serial)", text)
    assert m
    serial = int(m.group(1)) + 1
    path.write_text(text[: m.start(1)] + str(serial) + text[m.end(1) :] + extra)
    return serial


def transfers(server: Server) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.http_port}/metrics", timeout=5) as r:
        body = r.read().decode()
    out = {}
    for m in re.finditer(r'^leasedns_transfers_total\{outcome="([^"]+)"\} (\S+)$', body, re.M):
        out[m.group(1)] = float(m.group(2))
    return out


def nsupdate(server: Server, line: str) -> None:
    script = f"server {server.host} {server.port}\nzone {ZONE}\nupdate {line}\nsend\n"
    p = subprocess.run(
        [need("nsupdate"), "-y", f"hmac-sha256:admin-key:{SECRET}"],
        input=script, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.fixture
def running() -> Iterator[list[Server | Secondary]]:
    """Everything a test starts, stopped at the end whatever happens."""
    made: list[Server | Secondary] = []
    yield made
    for p in reversed(made):
        p.stop()


def start_pair(
    tmp_path: Path, running: list, kind: str, args: list[str], zones: list[Path], tsig: bool = False
) -> tuple[Server, Secondary]:
    """The secondary is started first: its port is then held before leasedns opens its
    ephemeral NOTIFY socket, which could otherwise land on the port picked for it."""
    sport = free_port()
    for a in args:
        if a.endswith(".yaml"):
            Path(a).write_text(Path(a).read_text().replace("SPORT", str(sport)))
    (tmp_path / "primary").mkdir(exist_ok=True)
    extra = [a.replace("SPORT", str(sport)) for a in args]
    primary = make_server(tmp_path / "primary", zones=zones, extra=extra)
    sec = Secondary(kind, tmp_path / kind, sport, primary.port, tsig=tsig)
    running.append(sec)
    sec.start()
    running.append(primary)
    primary.start()
    return primary, sec


@pytest.mark.parametrize("kind", ["knot", "nsd"])
def test_secondary_follows_reload_update_and_restart(  # type: ignore[no-untyped-def]
    kind: str, tmp_path: Path, running: list
) -> None:
    need("dig")
    zone = copy_zone(tmp_path)
    args = ["--notify", "127.0.0.1:SPORT", "--key", f"admin-key:hmac-sha256:{SECRET}:admin"]
    primary, sec = start_pair(tmp_path, running, kind, args, [zone])
    # 1. The first transfer (the secondary asks on its own, or on our start-up NOTIFY).
    sec.wait_for("hv1.lab.example.", "10.0.0.11", timeout=15)

    # 2. A zone-file change and `leasedns reload`: NOTIFY, then IXFR.
    bump(zone, "viafile IN A 10.0.0.201\n")
    out = primary.cli("reload", "--data-dir", str(primary.data_dir))
    assert out.returncode == 0, out.stderr
    sec.wait_for("viafile.lab.example.", "10.0.0.201")
    assert transfers(primary).get("ixfr-incremental", 0) >= 1, transfers(primary)

    # 3. A dynamic update.
    nsupdate(primary, "add viaupdate.lab.example. 300 A 10.0.0.202")
    sec.wait_for("viaupdate.lab.example.", "10.0.0.202")
    nsupdate(primary, "delete viafile.lab.example. A")
    sec.wait_for("viafile.lab.example.", "")

    # 4. A change made while leasedns was down arrives after its restart.
    primary.stop()
    bump(zone, "afterrestart IN A 10.0.0.203\n")
    primary.start()
    sec.wait_for("afterrestart.lab.example.", "10.0.0.203")
    assert sec.dig("viaupdate.lab.example.") == "10.0.0.202"  # dynamic data survived
    assert sec.dig(ZONE, "SOA").split()[2] == primary_serial(primary)
    assert transfers(primary).get("ixfr-incremental", 0) >= 1
    if kind == "knot":
        logs = sec.logs()
        assert "IXFR, incoming" in logs and "finished" in logs, logs[-3000:]


def primary_serial(server: Server) -> str:
    p = subprocess.run(
        [need("dig"), f"@{server.host}", "-p", str(server.port), "+short", ZONE, "SOA"],
        capture_output=True, text=True, timeout=10, check=False,
    )  # fmt: skip
    return p.stdout.split()[2]


@pytest.mark.parametrize("kind", ["knot", "nsd"])
def test_secondary_transfers_with_tsig_only(  # type: ignore[no-untyped-def]
    kind: str, tmp_path: Path, running: list
) -> None:
    """Transfers allowed by key alone, over a zone big enough for many TSIG-signed messages."""
    need("dig")
    zone = copy_zone(tmp_path)
    bump(zone, "".join(f"bulk{i:04d} IN A 10.8.{i // 250}.{i % 250}\n" for i in range(3000)))
    cfg = tmp_path / "leasedns.yaml"
    cfg.write_text(
        f"""zones:
  - file: {zone}
    allow_transfer: ["none"]
    notify: ["127.0.0.1:SPORT"]
keys:
  - {{name: xfr-key, algorithm: hmac-sha256, secret: "{SECRET}", role: transfer}}
"""
    )
    primary, sec = start_pair(tmp_path, running, kind, ["--config", str(cfg)], [], tsig=True)
    sec.wait_for("bulk2999.lab.example.", "10.8.11.249", timeout=15)
    assert transfers(primary).get("axfr", 0) >= 1
    bump(zone, "signedchange IN A 10.0.0.210\n")
    out = primary.cli("reload", "--data-dir", str(primary.data_dir))
    assert out.returncode == 0, out.stderr
    sec.wait_for("signedchange.lab.example.", "10.0.0.210")
    assert transfers(primary).get("refused", 0) == 0
