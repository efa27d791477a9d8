"""The HTTP API against the real server: every endpoint, its JSON, errors and the bearer token."""

from __future__ import annotations

import base64
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import dns.message
import dns.query
import dns.rcode
import dns.tsigkeyring
import dns.update
import pytest
from serverkit import Server, make_server

from leasedns.api.http_api import Api, HttpError
from leasedns.config import Config

SECRET = base64.b64encode(b"api-test-secret-0123456789abcdef").decode()
TOKEN = "s3cret-api-token"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
ROW_FIELDS = {
    "name": str, "type": str, "ttl": int, "rdata": list, "provenance": str, "state": str,
    "role": str, "explanation": list,
}  # fmt: skip
NULLABLE = ("identity", "lease_expires", "state_deadline")


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = make_server(
        tmp_path_factory.mktemp("api"),
        extra=[
            "--api-token",
            TOKEN,
            "--grace",
            "2",
            "--key",
            f"dhcp-key:hmac-sha256:{SECRET}:dhcp",
        ],
    )
    s.start()
    yield s
    s.stop()


def call(s: Server, method: str, path: str, token: str | None = TOKEN) -> tuple[int, Any, Any]:
    req = urllib.request.Request(f"http://127.0.0.1:{s.http_port}{path}", method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=5) as resp:
            assert resp.headers["content-type"].startswith("application/json")
            return resp.status, json.loads(resp.read()), resp.headers
    except urllib.error.HTTPError as e:
        assert e.headers["content-type"].startswith("application/json")
        body = json.loads(e.read())
        assert body["status"] == e.code and body["error"]
        return e.code, body, e.headers


def get(s: Server, path: str) -> Any:
    status, body, _ = call(s, "GET", "/api/v1/" + path, token=None)
    assert status == 200, body
    return body


def post(s: Server, path: str) -> tuple[int, Any]:
    status, body, _ = call(s, "POST", "/api/v1/" + path)
    return status, body


def dhcp(s: Server, build: Any) -> str:
    kr = dns.tsigkeyring.from_text({"dhcp-key.": SECRET})
    u = dns.update.UpdateMessage("lab.example.", keyring=kr, keyalgorithm="hmac-sha256")
    build(u)
    return dns.rcode.to_text(dns.query.udp(u, s.host, port=s.port, timeout=3).rcode())


def check_row(row: dict[str, Any]) -> None:
    """The documented shape of one RRset."""
    for key, kind in ROW_FIELDS.items():
        assert isinstance(row[key], kind), (key, row)
    assert row["provenance"] in ("zonefile", "admin", "dhcp", "client")
    assert row["state"] in ("active", "grace", "proposed", "pinned")
    assert row["role"] in ("infrastructure", "host")
    for key in NULLABLE:
        assert key in row
    for key in ("lease_expires", "state_deadline"):
        assert row[key] is None or ISO.match(row[key]), row[key]
    assert row["explanation"], "every RRset has at least its provenance explained"
    for reason in row["explanation"]:
        assert set(reason) == {"code", "text"} and reason["code"] and reason["text"]
    assert all(isinstance(x, str) for x in row["rdata"])


# -- reads ------------------------------------------------------------------------------


def test_index_lists_the_endpoints(srv: Server) -> None:
    body = get(srv, "")
    assert body["version"] == 1 and any("/tombstones" in e for e in body["endpoints"])


def test_zones(srv: Server) -> None:
    zones = get(srv, "zones")
    assert [z["zone"] for z in zones] == ["0.0.10.in-addr.arpa.", "lab.example."]
    lab = zones[1]
    assert lab["serial"] >= 2026112101 and lab["profile"] == "balanced" and lab["grace"] == 2
    assert lab["paused"] is None and lab["paused_at"] is None
    assert set(lab["states"]) == {"active", "grace", "proposed", "pinned"}
    assert sum(lab["states"].values()) == lab["rrsets"] and lab["infrastructure"] >= 1


def test_records_of_a_zone_have_the_documented_fields(srv: Server) -> None:
    rows = get(srv, "zones/lab.example./records")
    assert len(rows) >= 30
    for row in rows:
        check_row(row)
    www = next(r for r in rows if r["name"] == "www.lab.example.")
    assert (www["type"], www["rdata"], www["provenance"]) == (
        "CNAME",
        ["web.lab.example."],
        "zonefile",
    )
    web = next(r for r in rows if r["name"] == "web.lab.example." and r["type"] == "A")
    assert web["role"] == "infrastructure"
    (infra,) = [x["text"] for x in web["explanation"] if x["code"] == "infrastructure"]
    assert infra.startswith("infrastructure: ") and "target of CNAME www.lab.example." in infra


@pytest.mark.parametrize("name", ["nas", "nas.lab.example", "nas.lab.example."])
def test_records_filtered_by_name_relative_or_absolute(srv: Server, name: str) -> None:
    rows = get(srv, f"zones/lab.example/records?name={name}")
    assert sorted(r["type"] for r in rows) == ["A", "AAAA", "SSHFP"]
    assert all(r["name"] == "nas.lab.example." for r in rows)


def test_records_filtered_by_state(srv: Server) -> None:
    assert get(srv, "zones/lab.example/records?state=proposed") == []


def test_read_errors(srv: Server) -> None:
    assert call(srv, "GET", "/api/v1/zones/nope.example/records", None)[0] == 404
    assert call(srv, "GET", "/api/v1/zones/lab.example/records?name=x..y", None)[0] == 400
    assert call(srv, "GET", "/api/v1/zones/lab.example/records?name=www.other.org.", None)[0] == 400
    assert call(srv, "GET", "/api/v1/zones/lab.example/bogus", None)[0] == 404
    assert call(srv, "GET", "/api/v2/zones", None)[0] == 404
    assert call(srv, "GET", "/api/v1/audit?since=yesterday-ish", None)[0] == 400
    assert call(srv, "POST", "/api/v1/zones")[0] == 405
    status, body, _ = call(srv, "GET", "/api/v1/zones/lab.example/records/www/A/pin", None)
    assert status == 405 and "POST" in body["error"]


# -- writes and the token ------------------------------------------------------------------


def test_mutations_need_the_bearer_token(srv: Server) -> None:
    for token in (None, "wrong"):
        status, body, headers = call(
            srv, "POST", "/api/v1/zones/lab.example/records/hv2/A/pin", token
        )
        assert status == 401 and "Bearer" in body["error"]
        assert headers["www-authenticate"].startswith("Bearer")
    assert get(srv, "zones/lab.example/records?name=hv2")[0]["state"] == "active"


def test_pin_and_unpin(srv: Server) -> None:
    status, body = post(srv, "zones/lab.example/records/hv2.lab.example/A/pin")
    assert status == 200 and body["action"] == "pin" and body["changed"] is True
    assert body["changes"] == [{"name": "hv2.lab.example.", "type": "A", "before": "active",
                                "after": "pinned", "changed": True,
                                "message": "hv2.lab.example. A: pinned (was active); never removed automatically"}]  # fmt: skip
    assert body["serial"] is None, "a pin changes no zone data"
    (row,) = body["records"]
    check_row(row)
    assert (
        row["state"] == "pinned"
        and {"code": "pinned", "text": "pinned: never removed automatically"} in row["explanation"]
    )
    status, body = post(srv, "zones/lab.example/records/hv2/A/pin")
    assert status == 200 and body["changed"] is False
    status, body = post(srv, "zones/lab.example/records/hv2/ANY/unpin")
    assert status == 200 and body["changes"][0]["after"] == "active"
    assert get(srv, "zones/lab.example/records?name=hv2")[0]["state"] == "active"


def test_write_errors(srv: Server) -> None:
    status, body = post(srv, "zones/lab.example/records/hv3/A/approve")
    assert status == 409 and "not proposed for cleanup" in body["error"]
    assert post(srv, "zones/lab.example/records/nothere/A/pin")[0] == 404
    assert post(srv, "zones/lab.example/records/hv3/NOTATYPE/pin")[0] == 400
    assert post(srv, "zones/lab.example/tombstones/nothere/A/restore")[0] == 404
    assert post(srv, "zones/lab.example/records/hv3/A/frobnicate")[0] == 404
    assert post(srv, "zones/nope.example/resume")[0] == 404


def test_approve_tombstones_restore(srv: Server) -> None:
    name = "tablet.lab.example."
    assert dhcp(srv, lambda u: u.add(name, 300, "A", "10.0.0.70")) == "NOERROR"
    assert dhcp(srv, lambda u: u.delete(name, "A")) == "NOERROR"
    (row,) = get(srv, f"zones/lab.example/records?name={name}")
    check_row(row)
    assert row["state"] == "grace" and ISO.match(row["state_deadline"])
    assert get(srv, "zones/lab.example/records?state=grace,proposed")[0]["name"] == name
    status, body = post(srv, f"zones/lab.example/records/{name}/A/approve")
    assert status == 200 and body["changes"][0]["after"] == "removed"
    assert body["records"] == [] and isinstance(body["serial"], int)
    stones = get(srv, "zones/lab.example/tombstones")
    (stone,) = [t for t in stones if t["name"] == name]
    assert (
        stone["type"] == "A" and stone["rdata"] == ["10.0.0.70"] and stone["ttl"] == 300
    )  # the TTL from before grace
    assert stone["reason"] == "cleanup approved by an admin" and ISO.match(stone["removed_at"])
    assert stone["provenance"] == "dhcp" and stone["state_before"] == "grace"
    assert stone["meta"]["writer"] == "dhcp-key."
    status, body = post(srv, f"zones/lab.example/tombstones/{name}/A/restore")
    assert status == 200 and body["changes"][0]["after"] == "active"
    (row,) = body["records"]
    assert (
        row["rdata"] == ["10.0.0.70"] and row["state"] == "active" and row["provenance"] == "dhcp"
    )
    r = dns.query.udp(dns.message.make_query(name, "A"), srv.host, port=srv.port, timeout=2)
    assert r.answer and r.answer[0][0].to_text() == "10.0.0.70", "the restore is served at once"
    assert post(srv, f"zones/lab.example/tombstones/{name}/A/restore")[0] == 404
    assert not [t for t in get(srv, "zones/lab.example/tombstones") if t["name"] == name]


def test_restore_refuses_a_name_in_use_again(srv: Server) -> None:
    name = "phone.lab.example."
    assert dhcp(srv, lambda u: u.add(name, 300, "A", "10.0.0.71")) == "NOERROR"
    assert dhcp(srv, lambda u: u.delete(name, "A")) == "NOERROR"
    assert post(srv, f"zones/lab.example/records/{name}/A/approve")[0] == 200
    assert dhcp(srv, lambda u: u.add(name, 300, "A", "10.0.0.72")) == "NOERROR"
    status, body = post(srv, f"zones/lab.example/tombstones/{name}/A/restore")
    assert status == 409 and "exists again" in body["error"]


def test_resume_when_not_paused(srv: Server) -> None:
    status, body = post(srv, "zones/lab.example./resume")
    assert status == 200 and body["changed"] is False
    assert body["zone_state"]["zone"] == "lab.example." and body["zone_state"]["paused"] is None


def test_audit(srv: Server) -> None:
    post(srv, "zones/lab.example/records/hv3/A/pin")
    events = get(srv, "audit?zone=lab.example&since=1h")
    pins = [e for e in events if e["kind"] == "pin"]
    assert (
        pins and pins[-1]["detail"]["owner"] == "hv3.lab.example." and pins[-1]["role"] == "admin"
    )
    assert pins[-1]["client"] == "127.0.0.1" and pins[-1]["actor"] == "api from 127.0.0.1"
    assert all(e["zone"] == "lab.example." for e in events)
    assert all(ISO.match(e["time_iso"]) for e in events)
    assert get(srv, f"audit?since={time.time() + 3600:.0f}") == []
    iso_since = get(srv, "audit?since=2000-01-01T00:00:00Z&limit=2")
    assert len(iso_since) == 2
    assert get(srv, "audit?zone=0.0.10.in-addr.arpa.&since=1h") is not None


def test_ui_page(srv: Server) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"http://127.0.0.1:{srv.http_port}/ui?zone=lab.example", timeout=5) as resp:
        assert resp.headers["content-type"].startswith("text/html")
        page = resp.read().decode()
    assert "<table>" in page and "nas.lab.example." in page
    assert "created by the zone file; DHCP lease expiry will not remove it" in page
    assert 'id="lab.example."' in page
    assert 'id="0.0.10.in-addr.arpa."' not in page, "?zone= shows one zone"
    assert "&quot;lab \\&quot;rack 3\\&quot;&quot;" in page, "data is HTML-escaped"


def test_without_a_configured_token_changes_are_refused(server_factory) -> None:  # type: ignore[no-untyped-def]
    s = server_factory()
    status, body, _ = call(s, "POST", "/api/v1/zones/lab.example/records/hv1/A/pin", None)
    assert status == 403 and "api_token" in body["error"] and "--api-token" in body["error"]
    assert call(s, "GET", "/api/v1/zones", None)[0] == 200, "reads from loopback need no token"


def test_reads_from_outside_loopback_need_the_token() -> None:
    api = Api(core=None, cfg=Config(api_token=TOKEN))  # type: ignore[arg-type]
    api.authorize("GET", None, "127.0.0.1")
    api.authorize("GET", None, "::1")
    with pytest.raises(HttpError) as e:
        api.authorize("GET", None, "192.0.2.7")
    assert e.value.status == 401
    api.authorize("GET", f"Bearer {TOKEN}", "192.0.2.7")
    with pytest.raises(HttpError) as e:
        Api(core=None, cfg=Config()).authorize("GET", None, "192.0.2.7")  # type: ignore[arg-type]
    assert e.value.status == 403
