"""Deferred deletes, TTL half-life and RFC 9664 leases end to end: `leasedns update` against the real server."""

from __future__ import annotations

import base64
import time

import dns.message
import dns.query
import pytest
from serverkit import Server, make_server

SECRET = base64.b64encode(b"lease-test-secret-0123456789abcd").decode()
DHCP_KEY = f"dhcp-key:hmac-sha256:{SECRET}:dhcp"
ADMIN_KEY = f"admin-key:hmac-sha256:{SECRET}:admin"


def query(s: Server, name: str, rtype: str = "A") -> dns.message.Message:
    return dns.query.udp(dns.message.make_query(name, rtype), s.host, port=s.port, timeout=2)


def answer(s: Server, name: str, rtype: str = "A") -> tuple[int, list[str]] | None:
    r = query(s, name, rtype)
    if not r.answer:
        return None
    return r.answer[0].ttl, sorted(rd.to_text() for rd in r.answer[0])


def serial(s: Server) -> int:
    return query(s, "lab.example.", "SOA").answer[0][0].serial


def run_update(s: Server, script: str, key: str = "dhcp-key") -> None:
    r = s.cli(
        "update",
        "-y",
        f"hmac-sha256:{key}:{SECRET}",
        input=f"server 127.0.0.1 {s.port}\nzone lab.example.\n{script}\nsend\n",
    )
    assert r.returncode == 0, r.stderr + r.stdout


def poll(fn, timeout: float = 15.0, interval: float = 0.1):  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError("condition not met in time")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One server for the module (each test uses its own names); restarts keep its data."""
    s = make_server(
        tmp_path_factory.mktemp("leases"),
        extra=["--key", DHCP_KEY, "--key", ADMIN_KEY, "--profile", "aggressive"],
    )
    s.start()
    yield s
    s.stop()


def test_deferred_delete_carried_out_and_ttl_capped(server: Server) -> None:
    t0 = time.monotonic()
    run_update(
        server,
        "update add lease1.lab.example. 3600 A 10.0.9.1\nupdate delete lease1.lab.example. 4 A 10.0.9.1",
    )
    assert answer(server, "lease1.lab.example.") == (2, ["10.0.9.1"])  # min(3600, 4/2)
    poll(lambda: answer(server, "lease1.lab.example.") is None)
    assert time.monotonic() - t0 >= 3.0, "never deleted early"


def test_ttl_halves_as_the_lease_runs_down_with_serial_bumps(server: Server) -> None:
    run_update(server, "update add decay.lab.example. 3600 A 10.0.9.2")
    s0 = serial(server)
    run_update(server, "update delete decay.lab.example. 8 A 10.0.9.2")
    seen = [answer(server, "decay.lab.example.")[0]]
    assert seen[0] == 3600, "an existing RR keeps its TTL until the first halving"
    poll(
        lambda: (
            answer(server, "decay.lab.example.") is not None
            and answer(server, "decay.lab.example.")[0] == 1800
        )
    )
    poll(
        lambda: (
            answer(server, "decay.lab.example.") is not None
            and answer(server, "decay.lab.example.")[0] == 900
        )
    )
    assert serial(server) >= s0 + 2, "each reduction bumps the serial"
    poll(lambda: answer(server, "decay.lab.example.") is None)


def test_cancel_keeps_the_record(server: Server) -> None:
    run_update(
        server,
        "update add keep.lab.example. 60 A 10.0.9.3\nupdate delete keep.lab.example. 3 A 10.0.9.3",
    )
    run_update(server, "update delete keep.lab.example. cancel A 10.0.9.3")
    time.sleep(4)
    assert answer(server, "keep.lab.example.") is not None


def test_restart_mid_lease_keeps_the_deadline(server: Server) -> None:
    run_update(
        server,
        "update add mid.lab.example. 60 A 10.0.9.4\nupdate delete mid.lab.example. 5 A 10.0.9.4",
    )
    t0 = time.monotonic()
    server.restart()
    assert answer(server, "mid.lab.example.") is not None
    poll(lambda: answer(server, "mid.lab.example.") is None)
    assert time.monotonic() - t0 >= 3.0


def test_restart_after_deadline_passed_carries_it_out_at_start(server: Server) -> None:
    run_update(
        server,
        "update add late.lab.example. 60 A 10.0.9.5\nupdate delete late.lab.example. 2 A 10.0.9.5",
    )
    server.stop()
    time.sleep(3)
    server.start()
    poll(lambda: answer(server, "late.lab.example.") is None, timeout=5)
    audit = server.cli("audit", "--data-dir", str(server.data_dir), "--json")
    assert "deferred-delete" in audit.stdout


def test_rfc9664_lease_expires_and_zone_show_lists_it(server: Server) -> None:
    run_update(server, "lease 30\nupdate add srp.lab.example. 600 A 10.0.9.6")
    assert answer(server, "srp.lab.example.") == (15, ["10.0.9.6"])
    show = server.cli("zone", "show", "lab.example.", "--data-dir", str(server.data_dir))
    assert "srp.lab.example." in show.stdout and "update-lease" in show.stdout, (
        show.stdout + show.stderr
    )


def test_zone_show_and_metrics_for_pending_deferred_delete(server: Server) -> None:
    run_update(
        server,
        "update add vis.lab.example. 600 A 10.0.9.7\nupdate delete vis.lab.example. 600 A 10.0.9.7",
    )
    show = server.cli("zone", "show", "lab.example.", "--data-dir", str(server.data_dir), "--json")
    assert '"deferred-delete"' in show.stdout and '"next_ttl_step"' in show.stdout
    import urllib.request

    text = (
        urllib.request.urlopen(f"http://127.0.0.1:{server.http_port}/metrics", timeout=5)
        .read()
        .decode()
    )
    assert "leasedns_deferred_deletes_pending 1.0" in text
    assert "leasedns_timers_pending" in text


def test_admin_deferred_delete_always_runs_even_when_balanced(server_factory) -> None:  # type: ignore[no-untyped-def]
    s = server_factory(extra=["--key", DHCP_KEY, "--key", ADMIN_KEY, "--profile", "balanced"])
    run_update(s, "update delete printer1.lab.example. 2 A 10.0.0.30", key="admin-key")
    poll(lambda: answer(s, "printer1.lab.example.") is None)
