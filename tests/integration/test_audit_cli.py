"""``leasedns audit``: every accepted or refused update is an event, shown as text or JSON."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.tsig
import dns.update
import pytest
from serverkit import Server, make_server

pytestmark = pytest.mark.interop

ADMIN_SECRET = "YXVkaXQtYWRtaW4tc2VjcmV0LTAxMjM0NTY3ODlhYmNkZWY="
DHCP_SECRET = "YXVkaXQtZGhjcC1zZWNyZXQtMDEyMzQ1Njc4OWFiY2RlZmc="
KEYRING = {
    dns.name.from_text("admin-key."): dns.tsig.Key("admin-key.", ADMIN_SECRET, "hmac-sha256"),
    dns.name.from_text("dhcp-key."): dns.tsig.Key("dhcp-key.", DHCP_SECRET, "hmac-sha256"),
}
FORGED = {
    dns.name.from_text("admin-key."): dns.tsig.Key("admin-key.", "A" * 43 + "=", "hmac-sha256")
}


def send(server: Server, zone: str, build: Any, key: str | None, keyring: Any = None) -> int:
    """RCODE of one UDP update; -1 when the answer carries a TSIG error (a forged request)."""
    u = dns.update.UpdateMessage(zone)
    if key is not None:
        u.use_tsig(keyring or KEYRING, keyname=key, algorithm="hmac-sha256")
    build(u)
    try:
        return dns.query.udp(u, server.host, port=server.port, timeout=5).rcode()
    except dns.tsig.PeerError:
        return -1


def audit(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    p = server.cli("audit", "--data-dir", str(server.data_dir), *args)
    assert p.returncode == 0, f"leasedns audit {' '.join(args)} failed:\n{p.stderr}"
    return p


def audit_json(server: Server, *args: str) -> list[dict[str, Any]]:
    out = json.loads(audit(server, "--json", *args).stdout)
    assert isinstance(out, list)
    return out


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server that has seen: one applied update, one policy refusal, one forged update,
    one unsigned update and one to each zone."""
    s = make_server(
        tmp_path_factory.mktemp("audit"),
        extra=[
            "--key",
            f"admin-key:hmac-sha256:{ADMIN_SECRET}",
            "--key",
            f"dhcp-key:hmac-sha256:{DHCP_SECRET}:dhcp",
        ],
    )
    s.start()
    lab = "lab.example."
    assert send(s, lab, lambda u: u.add("audited", 300, "A", "10.1.2.3"), "admin-key.") == 0
    assert send(s, lab, lambda u: u.add("audited", 300, "MX", "10 mail"), "dhcp-key.") == 5
    assert send(s, lab, lambda u: u.add("forged", 300, "A", "10.6.6.6"), "admin-key.", FORGED) == -1
    assert send(s, lab, lambda u: u.add("unsigned", 300, "A", "10.6.6.7"), None) == 5
    assert (
        send(
            s,
            "0.0.10.in-addr.arpa.",
            lambda u: u.add("9", 300, "PTR", "audited.lab.example."),
            "dhcp-key.",
        )
        == 0
    )
    yield s
    s.stop()


def updates(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["kind"] == "update"]


def test_json_lists_every_update_with_who_where_and_what(srv: Server) -> None:
    events = updates(audit_json(srv))
    applied = [e for e in events if e["outcome"] == "applied"]
    refused = [e for e in events if e["outcome"] == "refused"]
    assert len(applied) == 2 and len(refused) == 3
    first = applied[0]
    assert (
        first["zone"] == "lab.example."
        and first["actor"] == "admin-key."
        and first["role"] == "admin"
    )
    assert first["client"] == "127.0.0.1"
    assert first["time"] == pytest.approx(time.time(), abs=120)
    assert any("audited.lab.example." in u and "10.1.2.3" in u for u in first["detail"]["updates"])


def test_policy_refusal_names_key_client_and_attempt(srv: Server) -> None:
    events = updates(audit_json(srv))
    (ev,) = [e for e in events if e["actor"] == "dhcp-key." and e["outcome"] == "refused"]
    assert ev["zone"] == "lab.example." and ev["role"] == "dhcp" and ev["client"] == "127.0.0.1"
    assert "REFUSED" in ev["reason"]
    assert any("MX" in u for u in ev["detail"]["updates"])


def test_unsigned_refusal_is_audited(srv: Server) -> None:
    events = updates(audit_json(srv))
    (ev,) = [e for e in events if "unsigned" in e["actor"]]
    assert ev["outcome"] == "refused" and ev["client"] == "127.0.0.1" and "REFUSED" in ev["reason"]


def test_forged_update_is_audited(srv: Server) -> None:
    """A bad signature never reaches the zone but leaves a trace with the client address."""
    events = updates(audit_json(srv))
    tsig = [e for e in events if "TSIG" in e["reason"] or "BADSIG" in e["reason"]]
    assert len(tsig) == 1 and tsig[0]["outcome"] == "refused" and tsig[0]["client"] == "127.0.0.1"


def test_zone_filter(srv: Server) -> None:
    lab = audit_json(srv, "--zone", "lab.example")
    rev = audit_json(srv, "--zone", "0.0.10.in-addr.arpa.")
    assert lab and all(e["zone"] == "lab.example." for e in lab)
    assert rev and all(e["zone"] == "0.0.10.in-addr.arpa." for e in rev)
    assert [e["outcome"] for e in updates(rev)] == ["applied"]
    assert {e["kind"] for e in lab} >= {"update", "zone-import"}


def test_since_filter(srv: Server) -> None:
    assert updates(audit_json(srv, "--since", "1h"))
    future = datetime.fromtimestamp(time.time() + 3600, UTC).isoformat()
    assert audit_json(srv, "--since", future) == []


def test_text_output_has_one_line_per_event(srv: Server) -> None:
    text = audit(srv).stdout.splitlines()
    assert len(text) == len(audit_json(srv))
    line = next(x for x in text if "admin-key." in x and "applied" in x)
    assert "update" in line and "lab.example." in line and "(admin)" in line
    assert any("dhcp-key." in x and "refused" in x and "REFUSED" in x for x in text)


def test_audit_reads_while_the_server_runs(srv: Server) -> None:
    """The CLI opens the store read-only beside the running server; new events show at once."""
    before = len(audit_json(srv))
    u = dns.update.UpdateMessage("lab.example.", keyring=KEYRING, keyname="admin-key.")
    u.add("later", 300, "TXT", '"later"')
    assert dns.query.tcp(u, srv.host, port=srv.port, timeout=5).rcode() == dns.rcode.NOERROR
    assert len(audit_json(srv)) == before + 1
    assert dns.query.udp(
        dns.message.make_query("later.lab.example.", "TXT"), srv.host, port=srv.port, timeout=5
    ).answer
