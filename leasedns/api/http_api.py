"""The JSON API under /api/v1 and the /ui page: twisted.web resources over ``Api``.

``Api.handle`` takes a method, path segments, query and credentials and
returns a status and a JSON-able body, so routing and authorization are
testable without a socket; the resources only translate a twisted.web
request.  Mutations run in the reactor thread, in one write transaction.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from typing import Any

import dns.rdatatype
from twisted.web.resource import Resource

from leasedns.api import ui, views
from leasedns.config import Config
from leasedns.lease.admin import AdminError, AdminTxn
from leasedns.lease.book import LeaseBook
from leasedns.lease.protect import Actor
from leasedns.server.core import ServerCore
from leasedns.wire import names
from leasedns.wire.names import Name

TOKEN_HELP = (
    "set api_token in the YAML configuration or start the server with --api-token TOKEN, "
    "then send 'Authorization: Bearer TOKEN' (the CLI reads --api-token, LEASEDNS_API_TOKEN "
    "or api_token from --config)"
)


class HttpError(Exception):
    """A request answered with an error status; the message tells the caller what to do."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def parse_since(text: str, now: float) -> float:
    """Unix seconds, '2h'/'90m'/'1d'/'30s' ago, or an ISO 8601 time."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        if text[-1:] in units and text[:-1].isdigit():
            return now - int(text[:-1]) * units[text[-1]]
        return float(text)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise HttpError(400, f"since: {text!r} is not unix seconds, 2h/1d, or ISO 8601") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


class Api:
    """Routes, authorization and the admin operations behind /api/v1."""

    def __init__(
        self,
        core: ServerCore,
        cfg: Config,
        clock: Callable[[], float] = time.time,
        tz: tzinfo = UTC,
    ) -> None:
        self.core = core
        self.cfg = cfg
        self.clock = clock
        self.tz = tz

    # -- entry point -------------------------------------------------------------

    def handle(
        self,
        method: str,
        segments: list[str],
        query: dict[str, str],
        authorization: str | None,
        client: str,
        actor: str = "",
    ) -> tuple[int, Any]:
        try:
            self.authorize(method, authorization, client)
            return 200, self.route(method, segments, query, actor or f"api from {client}", client)
        except HttpError as e:
            return e.status, {"error": e.message, "status": e.status}
        except AdminError as e:
            status = 404 if e.not_found else 409
            return status, {"error": str(e), "status": status}

    def authorize(self, method: str, authorization: str | None, client: str) -> None:
        """Mutations always need the token; reads need it only from outside loopback."""
        if method == "GET" and is_loopback(client):
            return
        token = self.cfg.api_token
        if not token:
            if method == "GET":
                raise HttpError(403, f"reads from {client} need an API token: {TOKEN_HELP}")
            raise HttpError(403, f"changes through the API are disabled: {TOKEN_HELP}")
        given = ""
        if authorization and authorization.lower().startswith("bearer "):
            given = authorization[7:].strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise HttpError(401, "missing or wrong bearer token (Authorization: Bearer TOKEN)")

    def route(
        self, method: str, seg: list[str], query: dict[str, str], actor: str, client: str = ""
    ) -> Any:
        seg = [s for s in seg if s != ""]
        if not seg or seg == ["v1"]:
            self._method(method, "GET")
            return {"api": "leasedns", "version": 1, "endpoints": ENDPOINTS}
        if seg[0] != "v1":
            raise HttpError(404, f"no such API path /api/{'/'.join(seg)} (try /api/v1)")
        seg = seg[1:]
        if seg == ["zones"]:
            self._method(method, "GET")
            return self.zones()
        if seg == ["audit"]:
            self._method(method, "GET")
            return self.audit(query)
        if len(seg) >= 3 and seg[0] == "zones":
            zone = self.zone(seg[1])
            rest = seg[2:]
            if rest == ["records"]:
                self._method(method, "GET")
                return self.records(zone, query)
            if rest == ["tombstones"]:
                self._method(method, "GET")
                with self.core.store.reader() as r:
                    return views.tombstone_rows(r, zone)
            if rest == ["resume"]:
                self._method(method, "POST")
                return self.mutate(zone, None, "resume", actor, client, lambda t: [t.resume(zone)])
            if len(rest) == 4 and rest[0] == "records" and rest[3] in ("pin", "unpin", "approve"):
                self._method(method, "POST")
                owner, rtype = self.owner(rest[1], zone), self.rtype(rest[2])
                op = getattr(AdminTxn, rest[3])
                return self.mutate(
                    zone, owner, rest[3], actor, client, lambda t: op(t, zone, owner, rtype)
                )
            if len(rest) == 4 and rest[0] == "tombstones" and rest[3] == "restore":
                self._method(method, "POST")
                owner, rtype = self.owner(rest[1], zone), self.rtype(rest[2])
                at = self._int(query, "removed_at")
                return self.mutate(
                    zone,
                    owner,
                    "restore",
                    actor,
                    client,
                    lambda t: t.restore(zone, owner, rtype, at),
                )
        raise HttpError(404, f"no such API path /api/v1/{'/'.join(seg)}")

    # -- reads -------------------------------------------------------------------

    def zones(self) -> list[dict[str, Any]]:
        lc = self._lifecycle()
        with self.core.store.reader() as r:
            return views.served_zone_rows(r, self.core.zones.origins, lc.settings_for, lc.roles_for)

    def records(self, zone: Name, query: dict[str, str]) -> list[dict[str, Any]]:
        lc = self._lifecycle()
        name = self.owner(query["name"], zone) if query.get("name") else None
        states = [s for s in query.get("state", "").split(",") if s] or None
        roles = lc.roles_for(zone)
        with self.core.store.reader() as r:
            return views.record_rows(
                r, zone, lc.settings_for(zone), roles, self.clock(), name, states, self.tz
            )

    def audit(self, query: dict[str, str]) -> list[dict[str, Any]]:
        now = self.clock()
        since = parse_since(query["since"], now) if query.get("since") else 0.0
        zone = names.to_text(self.zone(query["zone"], served=False)) if query.get("zone") else None
        limit = self._int(query, "limit")
        with self.core.store.reader() as r:
            return views.audit_rows(r, zone, since, 1000 if limit is None else limit)

    # -- writes ------------------------------------------------------------------

    def mutate(
        self,
        zone: Name,
        owner: Name | None,
        action: str,
        actor: str,
        client: str,
        op: Callable[[AdminTxn], list[Any]],
    ) -> dict[str, Any]:
        """One write transaction; then cache/NOTIFY for serial changes and the wheel for timers."""
        core = self.core
        lc = self._lifecycle()
        now = int(self.clock())
        with core.store.writer() as w:
            book = LeaseBook(w)
            guard = lc.guard(w, book, now)
            guard.actor = Actor(actor, "admin")
            txn = AdminTxn(w, book, guard, actor, now, client)
            changes = op(txn)
            zone_changes = txn.finish(
                self.cfg.serial_policy, self.cfg.journal_depth, self.cfg.journal_max_bytes
            )
            wheel_ops = list(book.wheel_ops)
        for ch in zone_changes:
            core.zone_changed(ch.zone, ch.serial, set(ch.touched), ch.structural)
        if wheel_ops and core.wheel_clock is not None:
            core.wheel_clock.changed(wheel_ops)  # type: ignore[attr-defined]
        out: dict[str, Any] = {
            "zone": names.to_text(zone),
            "action": action,
            "changed": any(c.changed for c in changes),
            "changes": [c.to_json() for c in changes],
            "serial": zone_changes[0].serial if zone_changes else None,
        }
        if owner is not None:
            out["records"] = self.records(zone, {"name": names.to_text(owner)})
        else:
            out["zone_state"] = next(
                (z for z in self.zones() if z["zone"] == names.to_text(zone)), None
            )
        return out

    # -- parsing ---------------------------------------------------------------

    def zone(self, text: str, served: bool = True) -> Name:
        try:
            zone = names.from_text(text if text.endswith(".") else text + ".")
        except names.NameError_ as e:
            raise HttpError(400, f"bad zone name {text!r}: {e}") from None
        if served and zone not in self.core.zones:
            raise HttpError(404, f"zone {names.to_text(zone)} is not served here")
        return zone

    def owner(self, text: str, zone: Name) -> Name:
        """'www', 'www.lab.example', 'www.lab.example.' or '@' for the apex."""
        try:
            if text == "@":
                return zone
            if text.endswith("."):
                owner = names.from_text(text)
            else:
                owner = names.from_text(text + ".")
                if not names.is_subdomain(owner, zone):
                    owner = names.from_text(text, zone)
        except names.NameError_ as e:
            raise HttpError(400, f"bad name {text!r}: {e}") from None
        if not names.is_subdomain(owner, zone):
            raise HttpError(400, f"{names.to_text(owner)} is not in zone {names.to_text(zone)}")
        return owner

    @staticmethod
    def rtype(text: str) -> int | None:
        """A type mnemonic or TYPEnnn; ANY means every RRset at the name."""
        if text.upper() == "ANY":
            return None
        try:
            return int(dns.rdatatype.from_text(text.upper()))
        except (dns.rdatatype.UnknownRdatatype, ValueError):
            raise HttpError(400, f"unknown record type {text!r}") from None

    @staticmethod
    def _int(query: dict[str, str], key: str) -> int | None:
        if not query.get(key):
            return None
        try:
            return int(query[key])
        except ValueError:
            raise HttpError(400, f"{key} must be an integer") from None

    @staticmethod
    def _method(method: str, allowed: str) -> None:
        if method != allowed:
            raise HttpError(405, f"use {allowed} here")

    def _lifecycle(self) -> Any:
        lc = self.core.lifecycle
        if lc is None:
            raise HttpError(503, "the lifecycle is not running (server still starting)")
        return lc

    # -- the /ui page ------------------------------------------------------------

    def ui_page(self, query: dict[str, str]) -> str:
        zones = self.zones()
        wanted = query.get("zone")
        sections = []
        for z in zones:
            if wanted and z["zone"].rstrip(".") != wanted.rstrip("."):
                continue
            zone = names.from_text(z["zone"])
            sections.append(
                (z, self.records(zone, {k: v for k, v in query.items() if k != "zone"}))
            )
        return ui.render_page(sections, self.clock(), self.tz)


ENDPOINTS = [
    "GET  /api/v1/zones",
    "GET  /api/v1/zones/{zone}/records[?name=N][&state=grace,proposed]",
    "POST /api/v1/zones/{zone}/records/{name}/{type}/pin",
    "POST /api/v1/zones/{zone}/records/{name}/{type}/unpin",
    "POST /api/v1/zones/{zone}/records/{name}/{type}/approve",
    "GET  /api/v1/zones/{zone}/tombstones",
    "POST /api/v1/zones/{zone}/tombstones/{name}/{type}/restore[?removed_at=UNIX]",
    "POST /api/v1/zones/{zone}/resume",
    "GET  /api/v1/audit[?zone=Z][&since=2h|UNIX|ISO][&limit=N]",
]


# -- twisted.web -------------------------------------------------------------------


def _request_parts(request: Any) -> tuple[str, dict[str, str], str | None, str, str]:
    method = request.method.decode("ascii", "replace")
    query = {
        k.decode("utf-8", "replace"): v[-1].decode("utf-8", "replace")
        for k, v in (request.args or {}).items()
        if v
    }
    auth = request.getHeader(b"authorization")
    addr = request.getClientAddress()
    client = str(getattr(addr, "host", "") or "")
    actor = (request.getHeader(b"x-leasedns-actor") or b"").decode("utf-8", "replace")[:80]
    return method, query, auth.decode("latin-1") if auth else None, client, actor


class ApiResource(Resource):
    """/api/...: every path below is routed by ``Api.route``."""

    isLeaf = True

    def __init__(self, api: Api) -> None:
        super().__init__()
        self.api = api

    def render(self, request: Any) -> bytes:
        method, query, auth, client, actor = _request_parts(request)
        segments = [s.decode("utf-8", "replace") for s in request.postpath]
        status, body = self.api.handle(method, segments, query, auth, client, actor)
        request.setResponseCode(status)
        request.setHeader(b"content-type", b"application/json; charset=utf-8")
        request.setHeader(b"cache-control", b"no-store")
        if status == 401:
            request.setHeader(b"www-authenticate", b'Bearer realm="leasedns"')
        return json.dumps(body, indent=2, ensure_ascii=False).encode() + b"\n"


class UiResource(Resource):
    """/ui: one plain HTML page of records, states, countdowns and explanations."""

    isLeaf = True

    def __init__(self, api: Api) -> None:
        super().__init__()
        self.api = api

    def render_GET(self, request: Any) -> bytes:
        method, query, auth, client, _ = _request_parts(request)
        request.setHeader(b"cache-control", b"no-store")
        try:
            self.api.authorize(method, auth, client)
            page = self.api.ui_page(query)
            request.setHeader(b"content-type", b"text/html; charset=utf-8")
            return page.encode()
        except HttpError as e:
            request.setResponseCode(e.status)
            request.setHeader(b"content-type", b"text/plain; charset=utf-8")
            return e.message.encode() + b"\n"
