"""AXFR and IXFR from the running server, fetched with kdig and dig over TCP and UDP."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import pytest
from serverkit import ZONES, Server, env_without_proxies, need

from leasedns.wire import names
from leasedns.zone.masterfile import parse_zone_file

pytestmark = pytest.mark.interop

SECRET = "bst4g+jKRwKwOcxigyhWUps4Fhwg+xZMJtMJmf09gb8="
RR_LINE = re.compile(r"^(\S+)\s+(\d+)\s+IN\s+(\S+)\s+(.*)$")


def run(*cmd: str) -> str:
    p = subprocess.run(
        cmd, capture_output=True, text=True, timeout=60, env=env_without_proxies(), check=False
    )
    return p.stdout + p.stderr


def rr_lines(out: str) -> list[tuple[str, str, int, bytes]]:
    """(owner, type, ttl, rdata wire) of every RR line of dig/kdig output, in order."""
    rows = []
    for line in out.splitlines():
        m = RR_LINE.match(line.strip())
        if not m or line.startswith(";"):
            continue
        owner, ttl, rtype, rdata = m.groups()
        rd = dns.rdata.from_text(dns.rdataclass.IN, rtype, rdata, relativize=False)
        rows.append((owner.lower(), rtype, int(ttl), rd.to_digestable()))
    return rows


def file_rrs(path: Path) -> set[tuple[str, str, bytes]]:
    parsed = parse_zone_file(str(path), names.from_text("lab.example."))
    out = set()
    for r in parsed.records:
        rd = dns.rdata.from_wire(dns.rdataclass.IN, r.rtype, r.rdata, 0, len(r.rdata))
        out.add((names.to_text(r.name), dns.rdatatype.to_text(r.rtype), rd.to_digestable()))
    return out


def soa_serials(rows: list[tuple[str, str, int, bytes]]) -> list[int]:
    return [int.from_bytes(rd[-20:-16], "big") for _, t, _, rd in rows if t == "SOA"]


def zone_copy(tmp_path: Path) -> Path:
    d = tmp_path / "zones"
    d.mkdir(exist_ok=True)
    for f in ("lab.example.zone", "lab.example.printers.inc"):
        shutil.copy(ZONES / f, d / f)
    return d / "lab.example.zone"


def edit_zone(path: Path, serial: int, extra: str) -> None:
    text = re.sub(r"\d{10}(\s*; serial)", rf"{serial}\1", path.read_text(), count=1)
    path.write_text(text + extra)


def serial_of(server: Server) -> int:
    q = dns.message.make_query("lab.example.", "SOA")
    r = dns.query.udp(q, server.host, port=server.port, timeout=2)
    return int(r.answer[0][0].serial)


def wait_serial(server: Server, serial: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if serial_of(server) == serial:
            return
        time.sleep(0.05)
    raise AssertionError(f"server never reached serial {serial}")


def reload(server: Server) -> None:
    out = server.cli("reload", "--data-dir", str(server.data_dir))
    assert out.returncode == 0, out.stderr


def test_kdig_axfr_is_the_zone_file(server_factory) -> None:  # type: ignore[no-untyped-def]
    kdig = need("kdig")
    s = server_factory()
    out = run(kdig, f"@{s.host}", "-p", str(s.port), "AXFR", "lab.example.")
    rows = rr_lines(out)
    assert rows[0][1] == "SOA" and rows[-1][1] == "SOA" and rows[0] == rows[-1], out
    got = {(o, t, rd) for o, t, _, rd in rows}
    assert got == file_rrs(ZONES / "lab.example.zone")
    assert len(rows) == len(got) + 1  # each RR once, the SOA twice


def test_dig_axfr_many_messages(server_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    dig = need("dig")
    z = zone_copy(tmp_path)
    hosts = "".join(f"bulk{i:04d} IN A 10.7.{i // 250}.{i % 250}\n" for i in range(3000))
    edit_zone(z, 2026112105, hosts)
    s = server_factory(zones=[z])
    out = run(dig, f"@{s.host}", "-p", str(s.port), "AXFR", "lab.example.", "+nocomments")
    m = re.search(r"XFR size: (\d+) records \(messages (\d+)", out)
    assert m, out
    records, messages = int(m.group(1)), int(m.group(2))
    assert records == len(file_rrs(z)) + 1
    assert messages > 3


def test_axfr_over_udp_is_refused(server_factory) -> None:  # type: ignore[no-untyped-def]
    s = server_factory()
    q = dns.message.make_query("lab.example.", dns.rdatatype.AXFR)
    r = dns.query.udp(q, s.host, port=s.port, timeout=2)
    assert r.rcode() == dns.rcode.REFUSED and not r.answer


def test_ixfr_tcp_and_udp_after_a_reload(server_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    kdig, dig = need("kdig"), need("dig")
    z = zone_copy(tmp_path)
    s = server_factory(zones=[z])
    old = serial_of(s)
    text = z.read_text().replace("hv2     IN  A     10.0.0.12", "hv2     IN  A     10.0.0.112")
    z.write_text(text)
    edit_zone(z, old + 1, "newhost IN A 10.0.0.99\n")
    reload(s)
    wait_serial(s, old + 1)
    for cmd in (
        [kdig, f"@{s.host}", "-p", str(s.port), f"IXFR={old}", "lab.example."],
        [kdig, f"@{s.host}", "-p", str(s.port), "+notcp", f"IXFR={old}", "lab.example."],
        [dig, f"@{s.host}", "-p", str(s.port), f"IXFR={old}", "lab.example."],
        [dig, f"@{s.host}", "-p", str(s.port), "+notcp", f"IXFR={old}", "lab.example."],
    ):
        out = run(*cmd)
        rows = rr_lines(out)
        assert soa_serials(rows) == [old + 1, old, old + 1, old + 1], (cmd, out)
        body = [(o, t, rd) for o, t, _, rd in rows if t != "SOA"]
        assert body == [
            ("hv2.lab.example.", "A", bytes([10, 0, 0, 12])),
            ("hv2.lab.example.", "A", bytes([10, 0, 0, 112])),
            ("newhost.lab.example.", "A", bytes([10, 0, 0, 99])),
        ], (cmd, out)
        if "+notcp" in cmd:
            assert "UDP" in out, out
    # Up to date: the SOA alone; unknown serial: the whole zone.
    rows = rr_lines(run(kdig, f"@{s.host}", "-p", str(s.port), f"IXFR={old + 1}", "lab.example."))
    assert soa_serials(rows) == [old + 1] and len(rows) == 1
    rows = rr_lines(run(kdig, f"@{s.host}", "-p", str(s.port), "IXFR=12345", "lab.example."))
    assert rows[0][1] == "SOA" and rows[1][1] != "SOA" and len(rows) == len(file_rrs(z)) + 1


def test_transfer_acl_and_tsig(server_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    kdig, dig = need("kdig"), need("dig")
    cfg = tmp_path / "leasedns.yaml"
    cfg.write_text(
        f"""
zones:
  - file: {ZONES / "lab.example.zone"}
    allow_transfer: ["192.0.2.0/24"]
keys:
  - {{name: xfr-key, algorithm: hmac-sha256, secret: "{SECRET}", role: transfer}}
  - {{name: dhcp-key, algorithm: hmac-sha256, secret: "{SECRET}", role: dhcp}}
"""
    )
    s = server_factory(zones=[], extra=["--config", str(cfg)])
    base = [f"@{s.host}", "-p", str(s.port)]
    out = run(kdig, *base, "AXFR", "lab.example.")
    assert "REFUSED" in out and not rr_lines(out), out
    out = run(kdig, *base, "IXFR=1", "lab.example.")
    assert "REFUSED" in out and not rr_lines(out), out
    out = run(kdig, *base, "-y", f"hmac-sha256:dhcp-key:{SECRET}", "AXFR", "lab.example.")
    assert "REFUSED" in out and not rr_lines(out), out
    for tool in (kdig, dig):
        out = run(tool, *base, "-y", f"hmac-sha256:xfr-key:{SECRET}", "AXFR", "lab.example.")
        rows = rr_lines(out)
        assert {(o, t, rd) for o, t, _, rd in rows} == file_rrs(ZONES / "lab.example.zone"), out
    out = run(kdig, *base, "-y", f"hmac-sha256:xfr-key:{'A' * 43}=", "AXFR", "lab.example.")
    assert not rr_lines(out) and ("NOTAUTH" in out or "BADSIG" in out), out
