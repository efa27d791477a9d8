"""The intent-aware lifecycle end to end: real server, 2 s grace, DHCP-keyed updates with DHCID,
and what an admin sees in `leasedns explain`, the API and the metrics at each step."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import dns.message
import dns.query
import dns.rcode
import dns.tsigkeyring
import dns.update
import pytest
from serverkit import ZONES, Server, make_server, metric, scrape

SECRET = base64.b64encode(b"lifecycle-e2e-secret-0123456789a").decode()
TOKEN = "e2e-admin-token"
GRACE = 2

CONS_ZONE = """$ORIGIN cons.example.
$TTL 3600
@    SOA  ns1 hostmaster 1 3600 600 86400 300
     NS   ns1
ns1  A    10.1.0.2
"""
BLAST_ZONE = """$ORIGIN blast.example.
$TTL 3600
@    SOA  ns1 hostmaster 1 3600 600 86400 300
     NS   ns1
ns1  A    10.2.0.2
"""
CONFIG = f"""
grace: {GRACE}
blast_radius: {{share: 0.25, window: 60, min: 3}}
zones:
  - file: {ZONES / "lab.example.zone"}
  - file: {ZONES / "0.0.10.in-addr.arpa.zone"}
  - file: cons.example.zone
    profile: conservative
  - file: blast.example.zone
"""


def dhcid(client: str) -> str:
    """An RFC 4701 DHCID rdata (identifier type 2, digest type 1) for a made-up client."""
    return base64.b64encode(b"\x00\x02\x01" + hashlib.sha256(client.encode()).digest()).decode()


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("lifecycle")
    (tmp / "cons.example.zone").write_text(CONS_ZONE)
    (tmp / "blast.example.zone").write_text(BLAST_ZONE)
    (tmp / "leasedns.yaml").write_text(CONFIG)
    s = make_server(
        tmp,
        zones=[],
        extra=["--config", str(tmp / "leasedns.yaml"), "--api-token", TOKEN,
               "--key", f"kea-d2:hmac-sha256:{SECRET}:dhcp"],
    )  # fmt: skip
    s.start()
    yield s
    s.stop()


# -- talking to the server ---------------------------------------------------------------


def update(s: Server, zone: str, build: Callable[[dns.update.UpdateMessage], Any]) -> str:
    kr = dns.tsigkeyring.from_text({"kea-d2.": SECRET})
    u = dns.update.UpdateMessage(zone, keyring=kr, keyalgorithm="hmac-sha256")
    build(u)
    return dns.rcode.to_text(dns.query.udp(u, s.host, port=s.port, timeout=3).rcode())


def kea_add(s: Server, name: str, addr: str, client: str, zone: str = "lab.example.") -> str:
    """Kea D2's first add attempt (RFC 4703 §5.3.1): the name must not be in use."""

    def build(u: dns.update.UpdateMessage) -> None:
        u.absent(name)
        u.add(name, 300, "A", addr)
        u.add(name, 300, "DHCID", dhcid(client))

    return update(s, zone, build)


def kea_remove(
    s: Server,
    name: str,
    addr: str,
    client: str,
    zone: str = "lab.example.",
    expect: str = "NOERROR",
) -> None:
    """Kea D2's removal (RFC 4703 §5.5): the address when the DHCID matches, then the DHCID."""

    def first(u: dns.update.UpdateMessage) -> None:
        u.present(name, "DHCID", dhcid(client))
        u.delete(name, "A", addr)

    def second(u: dns.update.UpdateMessage) -> None:
        u.present(name, "DHCID", dhcid(client))
        u.absent(name, "A")
        u.absent(name, "AAAA")
        u.delete(name, "DHCID", dhcid(client))

    assert update(s, zone, first) == "NOERROR"
    assert update(s, zone, second) == expect


def served(s: Server, name: str, rtype: str = "A") -> tuple[int, list[str]] | None:
    r = dns.query.udp(dns.message.make_query(name, rtype), s.host, port=s.port, timeout=2)
    for rrset in r.answer:
        if rrset.name.to_text() == name:
            return rrset.ttl, sorted(rd.to_text() for rd in rrset)
    return None


def api(s: Server, method: str, path: str, token: str | None = TOKEN) -> tuple[int, Any]:
    req = urllib.request.Request(f"http://127.0.0.1:{s.http_port}/api/v1/{path}", method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def record(s: Server, zone: str, name: str, rtype: str = "A") -> dict[str, Any] | None:
    status, rows = api(s, "GET", f"zones/{zone}/records?name={name}")
    assert status == 200
    return next((r for r in rows if r["type"] == rtype), None)


def codes(row: dict[str, Any]) -> list[str]:
    return [x["code"] for x in row["explanation"]]


def why(row: dict[str, Any]) -> str:
    return "\n".join(x["text"] for x in row["explanation"])


def leasedns(s: Server, *args: str, token: bool = False) -> subprocess.CompletedProcess:
    extra = ["--http", f"127.0.0.1:{s.http_port}"] + (["--api-token", TOKEN] if token else [])
    return s.cli(*args, *extra)


def wait(pred: Callable[[], Any], timeout: float = 10.0) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def audit(s: Server, kind: str, zone: str = "lab.example.") -> list[dict[str, Any]]:
    status, events = api(s, "GET", f"audit?zone={zone}&since=1h")
    assert status == 200
    return [e for e in events if e["kind"] == kind]


# -- the walk-through ----------------------------------------------------------------------


def test_grace_then_soft_removal_then_restore(srv: Server) -> None:
    name = "laptop1.lab.example."
    assert kea_add(srv, name, "10.0.0.5", "laptop1") == "NOERROR"
    assert served(srv, name) == (300, ["10.0.0.5"])
    row = record(srv, "lab.example", name)
    assert row is not None and (row["state"], row["provenance"]) == ("active", "dhcp")
    assert row["identity"].startswith("dhcid:") and row["role"] == "host"
    assert "added by DHCP key kea-d2 (DHCID" in why(row)

    kea_remove(srv, name, "10.0.0.5", "laptop1")
    assert served(srv, name) == (60, ["10.0.0.5"]), "in grace: still published, TTL at the floor"
    row = record(srv, "lab.example", name)
    assert row is not None and row["state"] == "grace" and row["state_deadline"].endswith("Z")
    assert "in grace since" in why(row) and "awaiting the same client (DHCID" in why(row)
    out = leasedns(srv, "explain", "laptop1.lab.example", "A")
    assert out.returncode == 0 and "state grace" in out.stdout and "in grace since" in out.stdout

    wait(lambda: served(srv, name) is None)
    status, stones = api(srv, "GET", "zones/lab.example/tombstones")
    assert status == 200
    stone = next(t for t in stones if t["name"] == name and t["type"] == "A")
    assert stone["reason"] == "grace ended" and stone["rdata"] == ["10.0.0.5"]
    assert stone["provenance"] == "dhcp" and stone["removed_at"].endswith("Z")
    gone = leasedns(srv, "explain", "laptop1.lab.example")
    assert gone.returncode == 0 and "leasedns restore laptop1.lab.example. A" in gone.stdout

    refused = leasedns(srv, "restore", "laptop1.lab.example", "A")
    assert refused.returncode == 1 and "token" in refused.stderr
    out = leasedns(srv, "restore", "laptop1.lab.example", "A", token=True)
    assert out.returncode == 0, out.stderr
    assert "restored" in out.stdout
    assert served(srv, name) is not None and served(srv, name)[1] == ["10.0.0.5"]
    row = record(srv, "lab.example", name)
    assert row is not None and (row["state"], row["provenance"]) == ("active", "dhcp")
    assert audit(srv, "restore")[-1]["detail"]["owner"] == name


def test_same_client_returning_during_grace_is_reconciled(srv: Server) -> None:
    name = "laptop2.lab.example."
    assert kea_add(srv, name, "10.0.0.5", "laptop2") == "NOERROR"
    kea_remove(srv, name, "10.0.0.5", "laptop2")
    assert record(srv, "lab.example", name)["state"] == "grace"
    before = metric(srv, "leasedns_reconciliations_total")
    assert kea_add(srv, name, "10.0.0.9", "laptop2") == "NOERROR", "its own grace is no conflict"
    assert served(srv, name) == (300, ["10.0.0.9"])
    assert record(srv, "lab.example", name)["state"] == "active"
    notes = [n for e in audit(srv, "update") for n in e["detail"].get("ignored", [])]
    assert f"reconciled {name} 10.0.0.5 → 10.0.0.9" in notes
    assert "reconciled 10.0.0.5 → 10.0.0.9" in why(record(srv, "lab.example", name))
    assert metric(srv, "leasedns_reconciliations_total") >= before + 1
    time.sleep(GRACE + 0.8)
    assert served(srv, name) == (300, ["10.0.0.9"]), "revived: the grace timer no longer applies"


def test_another_client_claiming_a_name_in_grace_is_refused(srv: Server) -> None:
    name = "laptop3.lab.example."
    assert kea_add(srv, name, "10.0.0.5", "laptop3") == "NOERROR"
    kea_remove(srv, name, "10.0.0.5", "laptop3")
    before = metric(srv, "leasedns_protected_refusals_total")
    hijack = update(srv, "lab.example.", lambda u: (u.add(name, 300, "A", "10.0.0.77"),
                                                    u.add(name, 300, "DHCID", dhcid("intruder"))))  # fmt: skip
    assert hijack == "REFUSED"
    assert served(srv, name) == (60, ["10.0.0.5"])
    row = record(srv, "lab.example", name)
    assert "claim-refused" in codes(row) and "RFC 4703" in why(row)
    assert metric(srv, "leasedns_protected_refusals_total") >= before + 1


def test_dhcp_key_cannot_delete_a_zone_file_record(srv: Server) -> None:
    name = "hv1.lab.example."
    assert update(srv, "lab.example.", lambda u: u.delete(name, "A")) == "NOERROR"
    assert served(srv, name) == (3600, ["10.0.0.11"])
    row = record(srv, "lab.example", name)
    assert row["provenance"] == "zonefile" and row["state"] == "active"
    assert codes(row)[0] == "zonefile" and "automation-refused" in codes(row)
    out = leasedns(srv, "explain", "hv1.lab.example", "A")
    assert "created by the zone file; DHCP lease expiry will not remove it" in out.stdout
    assert "kea-d2 tried to delete it at" in out.stdout and "not applied" in out.stdout


def test_infrastructure_is_explained(srv: Server) -> None:
    row = record(srv, "lab.example", "nas.lab.example.")
    assert row["role"] == "infrastructure"
    assert "target of CNAME nfs.lab.example." in why(row)


def test_pinned_record_is_never_removed(srv: Server) -> None:
    name = "printer9.lab.example."
    assert kea_add(srv, name, "10.0.0.61", "printer9") == "NOERROR"
    out = leasedns(srv, "pin", "printer9.lab.example", token=True)
    assert out.returncode == 0 and "pinned (was active)" in out.stdout
    # the pinned A really stays, so Kea's second step finds it (RFC 2136 §2.4.3: YXRRSET)
    kea_remove(srv, name, "10.0.0.61", "printer9", expect="YXRRSET")
    time.sleep(GRACE + 0.8)
    assert served(srv, name) == (300, ["10.0.0.61"])
    row = record(srv, "lab.example", name)
    assert row["state"] == "pinned" and "pinned: never removed automatically" in why(row)
    out = leasedns(srv, "unpin", "printer9.lab.example", "A", token=True)
    assert out.returncode == 0 and record(srv, "lab.example", name)["state"] == "active"


def test_conservative_profile_proposes_and_an_admin_approves(srv: Server) -> None:
    name = "cam1.cons.example."
    assert kea_add(srv, name, "10.1.0.7", "cam1", zone="cons.example.") == "NOERROR"
    kea_remove(srv, name, "10.1.0.7", "cam1", zone="cons.example.")
    row = wait(lambda: (r := record(srv, "cons.example", name)) and r["state"] == "proposed" and r)
    assert served(srv, name) == (60, ["10.1.0.7"]), "a proposal stays published"
    assert "leasedns cleanup approve cam1.cons.example. A" in why(row)
    listing = leasedns(srv, "cleanup", "list")
    assert listing.returncode == 0 and "cam1.cons.example." in listing.stdout
    assert "proposed" in listing.stdout
    soa = dns.query.udp(dns.message.make_query("cons.example.", "SOA"), srv.host, port=srv.port)
    out = leasedns(srv, "cleanup", "approve", "cam1.cons.example", token=True)
    assert out.returncode == 0, out.stderr
    assert served(srv, name) is None and served(srv, name, "DHCID") is None
    soa2 = dns.query.udp(dns.message.make_query("cons.example.", "SOA"), srv.host, port=srv.port)
    assert soa2.answer[0][0].serial > soa.answer[0][0].serial
    _, stones = api(srv, "GET", "zones/cons.example/tombstones")
    assert {t["reason"] for t in stones if t["name"] == name} == {"cleanup approved by an admin"}
    again = leasedns(srv, "cleanup", "approve", "cam1.cons.example", token=True)
    assert again.returncode == 1 and "no data" in again.stderr


def test_blast_radius_pauses_the_zone_until_an_admin_resumes(srv: Server) -> None:
    hosts = [f"b{i}.blast.example." for i in range(5)]
    for i, h in enumerate(hosts):
        assert update(srv, "blast.example.", lambda u, h=h, i=i: u.add(h, 300, "A", f"10.2.0.{10 + i}")) == "NOERROR"  # fmt: skip
    pauses = metric(srv, "leasedns_blast_radius_pauses_total")
    assert update(srv, "blast.example.", lambda u: [u.delete(h, "A") for h in hosts]) == "NOERROR"
    zone = wait(lambda: next((z for z in api(srv, "GET", "zones")[1]
                              if z["zone"] == "blast.example." and z["paused"]), None))  # fmt: skip
    assert "automatic removals" in zone["paused"]
    left = [h for h in hosts if served(srv, h) is not None]
    assert len(left) == 2, "three removals (the limit) ran, the rest wait for an admin"
    assert metric(srv, "leasedns_zone_cleanup_paused", zone="blast.example.") == 1
    assert metric(srv, "leasedns_blast_radius_pauses_total") == pauses + 1
    assert audit(srv, "cleanup-paused", "blast.example.")
    row = record(srv, "blast.example", left[0])
    assert "paused" in codes(row) and "leasedns cleanup resume blast.example." in why(row)
    listing = leasedns(srv, "cleanup", "list")
    assert "PAUSED blast.example." in listing.stdout
    out = leasedns(srv, "cleanup", "resume", "blast.example", token=True)
    assert out.returncode == 0 and "resumed" in out.stdout
    assert (
        next(z for z in api(srv, "GET", "zones")[1] if z["zone"] == "blast.example.")["paused"]
        is None
    )
    assert metric(srv, "leasedns_zone_cleanup_paused", zone="blast.example.") == 0
    assert audit(srv, "cleanup-resumed", "blast.example.")[-1]["actor"].endswith("(leasedns CLI)")


def test_lifecycle_metrics_by_state_provenance_and_role(srv: Server) -> None:
    assert kea_add(srv, "metrics-host.lab.example.", "10.0.9.9", "metrics-client") == "NOERROR"
    cam = "cam9.cons.example."  # a removal approved here leaves a tombstone of its own
    assert kea_add(srv, cam, "10.1.0.9", "cam9", zone="cons.example.") == "NOERROR"
    kea_remove(srv, cam, "10.1.0.9", "cam9", zone="cons.example.")
    wait(lambda: (r := record(srv, "cons.example", cam)) and r["state"] == "proposed")
    assert leasedns(srv, "cleanup", "approve", "cam9.cons.example", token=True).returncode == 0
    assert metric(srv, "leasedns_rrsets", zone="lab.example.", provenance="zonefile",
                  role="infrastructure", state="active") >= 1  # fmt: skip
    assert metric(srv, "leasedns_rrsets", zone="lab.example.", provenance="dhcp") >= 1
    assert metric(srv, "leasedns_tombstones", zone="cons.example.") >= 1
    for name in (
        "leasedns_grace_rrsets",
        "leasedns_cleanup_proposals",
        "leasedns_zones_cleanup_paused",
    ):
        assert name in scrape(srv)
