"""The wire-answer cache is invisible: cached answers equal fresh ones, and reloads invalidate.

Also the zone (re)load rules around it: a broken edit keeps the last good data, a broken
zone at first start refuses to start, ``leasedns check`` names file:line, and an
unchanged restart does not import the zone again.
"""

from __future__ import annotations

import json
import random
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import dns.flags
import dns.message
import dns.rcode
import pytest
from serverkit import (
    ROOT,
    ZONES,
    Server,
    ask,
    make_server,
    metric,
    udp_exchange,
)


def mixed_case(name: str, rng: random.Random) -> str:
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in name)


def question_len(wire: bytes) -> int:
    """Length of the single question section starting at offset 12."""
    i = 12
    while wire[i]:
        i += wire[i] + 1
    return i + 5 - 12


CASES = [
    ("hv1.lab.example.", "A", {}),  # positive
    ("nas.lab.example.", "AAAA", {"use_edns": 0, "payload": 1232}),
    ("nope.lab.example.", "A", {}),  # NXDOMAIN
    ("nope.lab.example.", "TXT", {"use_edns": 0, "want_dnssec": True}),
    ("hv2.lab.example.", "MX", {}),  # NODATA
    ("b.lab.example.", "A", {"use_edns": 0, "payload": 4096}),  # empty non-terminal
    ("x.sub.lab.example.", "A", {}),  # referral
    ("sub.lab.example.", "NS", {"use_edns": 0}),
    ("sub.lab.example.", "DS", {}),
    ("build7.dev.lab.example.", "A", {}),  # wildcard
    ("build7.dev.lab.example.", "TXT", {"use_edns": 0}),  # wildcard NODATA
    ("alias1.lab.example.", "A", {}),  # CNAME chain
    ("alias1.lab.example.", "A", {"use_edns": 0, "payload": 512}),
    ("docs.lab.example.", "A", {"use_edns": 0}),
    ("lab.example.", "MX", {"use_edns": 0, "payload": 1400}),  # additional section
    ("_ldap._tcp.lab.example.", "SRV", {}),
    ("lab.example.", "ANY", {}),
    ("example.com.", "A", {}),  # REFUSED
    ("125.0.0.10.in-addr.arpa.", "PTR", {"use_edns": 0}),
]


@pytest.mark.parametrize(("qname", "qtype", "kw"), CASES)
def test_cached_answer_is_byte_identical(
    lab_server: Server,
    qname: str,
    qtype: str,
    kw: dict,  # type: ignore[type-arg]
) -> None:
    rng = random.Random(f"{qname}{qtype}{sorted(kw.items())}")
    hits = metric(lab_server, "leasedns_cache_hits_total")
    misses = metric(lab_server, "leasedns_cache_misses_total")

    q1 = dns.message.make_query(mixed_case(qname, rng), qtype, **kw)
    w1 = q1.to_wire()
    r1 = udp_exchange(lab_server, w1)
    assert r1 is not None
    assert metric(lab_server, "leasedns_cache_misses_total") == misses + 1
    assert metric(lab_server, "leasedns_cache_hits_total") == hits

    q2 = dns.message.make_query(mixed_case(qname, rng), qtype, **kw)
    q2.id = (q1.id + 1) & 0xFFFF
    w2 = q2.to_wire()
    r2 = udp_exchange(lab_server, w2)
    assert r2 is not None
    assert metric(lab_server, "leasedns_cache_hits_total") == hits + 1
    assert metric(lab_server, "leasedns_cache_misses_total") == misses + 1

    n = question_len(w1)
    assert r1[12 : 12 + n] == w1[12 : 12 + n] and r2[12 : 12 + n] == w2[12 : 12 + n]
    assert r2[:2] == w2[:2]
    assert r2[2:12] == r1[2:12]
    assert r2[12 + n :] == r1[12 + n :]
    # and the fresh answer is a sound one
    m = dns.message.from_wire(r1)
    assert q1.is_response(m)


# -- reload and invalidation ----------------------------------------------------------------


def copy_lab_zone(tmp_path: Path) -> Path:
    d = tmp_path / "zones"
    d.mkdir()
    shutil.copy(ZONES / "lab.example.zone", d)
    shutil.copy(ZONES / "lab.example.printers.inc", d)
    return d / "lab.example.zone"


def edit(zone: Path, old: str, new: str) -> None:
    text = zone.read_text()
    assert text.count(old) == 1, old
    zone.write_text(text.replace(old, new))


def reload(server: Server) -> None:
    p = server.cli("reload", "--data-dir", str(server.data_dir))
    assert p.returncode == 0, p.stderr


def soa_serial(server: Server) -> int:
    r = ask(server, "lab.example.", "SOA", tcp=True)
    return r.answer[0][0].serial


def wait_for(cond, what: str, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def udp_answer(server: Server, q: dns.message.Message) -> dns.message.Message:
    q.id = (q.id + 1) & 0xFFFF
    raw = udp_exchange(server, q.to_wire())
    assert raw is not None
    return dns.message.from_wire(raw)


def rdatas(r: dns.message.Message) -> list[str]:
    return [rd.to_text() for rrset in r.answer for rd in rrset]


def test_reload_invalidates_cached_answers(server_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    zone = copy_lab_zone(tmp_path)
    s = server_factory(zones=[zone])
    queries = {
        "web": dns.message.make_query("web.lab.example.", "A"),
        "chain": dns.message.make_query("WWW.lab.example.", "A", use_edns=0),
        "nx": dns.message.make_query("newhost.lab.example.", "A"),
        "nodata": dns.message.make_query("hv1.lab.example.", "AAAA"),
        "wild": dns.message.make_query("q.dev.lab.example.", "A"),
        "gone": dns.message.make_query("hv3.lab.example.", "A"),
    }
    for _ in range(2):  # the second round is served from the cache
        got = {k: udp_answer(s, q) for k, q in queries.items()}
    assert metric(s, "leasedns_cache_hits_total") == len(queries)
    assert rdatas(got["web"]) == ["10.0.0.40"]
    assert rdatas(got["chain"]) == ["web.lab.example.", "10.0.0.40"]
    assert got["nx"].rcode() == dns.rcode.NXDOMAIN
    assert got["nodata"].rcode() == dns.rcode.NOERROR and got["nodata"].answer == []
    assert rdatas(got["wild"]) == ["10.0.0.99"]
    assert rdatas(got["gone"]) == ["10.0.0.13"]

    edit(zone, "2026112101  ; serial", "2026112102  ; serial")
    edit(zone, "web     IN  A     10.0.0.40", "web     IN  A     10.0.0.41")
    edit(
        zone,
        "hv1     IN  A     10.0.0.11",
        "hv1     IN  A     10.0.0.11\n        IN  AAAA  fd00:10::11",
    )
    edit(zone, "hv3     IN  A     10.0.0.13\n", "newhost IN  A     10.0.0.77\n")
    edit(zone, "*.dev       IN  A  10.0.0.99", "*.dev       IN  A  10.0.0.97")
    reload(s)
    wait_for(lambda: soa_serial(s) == 2026112102, "the new serial")

    got = {k: udp_answer(s, q) for k, q in queries.items()}
    assert rdatas(got["web"]) == ["10.0.0.41"]
    assert rdatas(got["chain"]) == ["web.lab.example.", "10.0.0.41"]
    assert got["nx"].rcode() == dns.rcode.NOERROR and rdatas(got["nx"]) == ["10.0.0.77"]
    assert got["nx"].flags & dns.flags.AA
    assert rdatas(got["nodata"]) == ["fd00:10::11"]
    assert rdatas(got["wild"]) == ["10.0.0.97"]
    assert got["gone"].rcode() == dns.rcode.NXDOMAIN


def test_broken_edit_keeps_last_good_data(server_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    zone = copy_lab_zone(tmp_path)
    s = server_factory(zones=[zone])
    q = dns.message.make_query("web.lab.example.", "A")
    assert rdatas(udp_answer(s, q)) == ["10.0.0.40"]
    assert metric(s, "leasedns_zone_load_errors_total") == 0

    good = zone.read_text()
    zone.write_text(
        good.replace("2026112101  ; serial", "2026112102  ; serial").replace(
            "web     IN  A     10.0.0.40", "web     IN  A     10.0.0.400"
        )
    )
    reload(s)
    wait_for(lambda: metric(s, "leasedns_zone_load_errors_total") == 1, "the load error")
    assert rdatas(udp_answer(s, q)) == ["10.0.0.40"]
    assert rdatas(ask(s, "web.lab.example.", "A", tcp=True)) == ["10.0.0.40"]
    assert soa_serial(s) == 2026112101
    assert metric(s, "leasedns_zone_serial", zone="lab.example.") == 2026112101

    # Once fixed, the next reload applies the file.
    zone.write_text(
        good.replace("2026112101  ; serial", "2026112103  ; serial").replace(
            "web     IN  A     10.0.0.40", "web     IN  A     10.0.0.42"
        )
    )
    reload(s)
    wait_for(lambda: soa_serial(s) == 2026112103, "the fixed zone")
    assert rdatas(udp_answer(s, q)) == ["10.0.0.42"]
    assert metric(s, "leasedns_zone_load_errors_total") == 1


def _broken_zone(tmp_path: Path) -> tuple[Path, int]:
    zone = copy_lab_zone(tmp_path)
    lines = zone.read_text().splitlines()
    lines.append("broken  IN  A  10.0.0.300")
    zone.write_text("\n".join(lines) + "\n")
    return zone, len(lines)


def test_broken_zone_at_first_start_refuses_to_start(tmp_path: Path) -> None:
    zone, line = _broken_zone(tmp_path)
    s = make_server(tmp_path, zones=[zone])
    cmd = [sys.executable, "-m", "leasedns", "serve", "--data-dir", str(s.data_dir), *s.args]
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert f"{zone}:{line}:" in p.stderr, p.stderr
    with pytest.raises(OSError):  # nothing is listening
        socket.create_connection(("127.0.0.1", s.port), timeout=0.5).close()


def test_check_names_file_and_line(tmp_path: Path) -> None:
    zone, line = _broken_zone(tmp_path)
    cmd = [sys.executable, "-m", "leasedns", "check", "--zone", str(zone)]
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert f"{zone}:{line}:" in p.stdout + p.stderr, p.stdout + p.stderr
    ok = subprocess.run(
        [sys.executable, "-m", "leasedns", "check", "--zone", str(ZONES / "lab.example.zone")],
        cwd=ROOT, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr


def _imports(s: Server) -> list[dict]:  # type: ignore[type-arg]
    p = s.cli("audit", "--data-dir", str(s.data_dir), "--json")
    assert p.returncode == 0, p.stderr
    return [e for e in json.loads(p.stdout) if e["kind"] in ("zone-import", "zone-reimport")]


def test_unchanged_restart_does_not_reparse(server_factory) -> None:  # type: ignore[no-untyped-def]
    s = server_factory()
    first = _imports(s)
    assert sorted(e["zone"] for e in first) == ["0.0.10.in-addr.arpa.", "lab.example."]
    s.restart()
    assert _imports(s) == first
    r = ask(s, "web.lab.example.", "A")
    assert rdatas(r) == ["10.0.0.40"] and r.flags & dns.flags.AA
    assert soa_serial(s) == 2026112101
