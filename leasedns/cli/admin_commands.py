"""Admin commands (explain, pin, unpin, cleanup, restore, tombstones): clients of the HTTP API.

They talk to the running server, never to the store, so every change goes
through the same write path (serial bump, journal, NOTIFY, timers) as the
server's own.  Human tables by default; ``--json`` prints the API's JSON.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import datetime
from typing import Any

from leasedns.config import ConfigError, load_yaml, parse_endpoint
from leasedns.lease.explain import duration, identity_text
from leasedns.wire import names

DEFAULT_HTTP = "127.0.0.1:9153"
TOKEN_ENV = "LEASEDNS_API_TOKEN"


class ApiCallError(RuntimeError):
    """The server's HTTP API could not be reached or answered with an error."""


# -- talking to the API ---------------------------------------------------------------


class Client:
    def __init__(self, base: str, token: str | None, timeout: float = 15.0) -> None:
        self.base = base.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def call(self, method: str, path: str, query: dict[str, str] | None = None) -> Any:
        url = self.base + "/api/v1/" + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v})
        req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        req.add_header("X-Leasedns-Actor", _actor())
        try:
            with self.opener.open(req, timeout=self.timeout) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            try:
                message = json.loads(e.read()).get("error") or e.reason
            except (ValueError, AttributeError):
                message = e.reason
            if e.code in (401, 403) and not self.token:
                message = f"{message}\n(no token given: use --api-token, {TOKEN_ENV} or --config)"
            raise ApiCallError(f"{message} (HTTP {e.code})") from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise ApiCallError(
                f"cannot reach the leasedns HTTP API at {self.base} ({reason}); "
                "is `leasedns serve` running, and do --http/--config point at it?"
            ) from None

    def get(self, path: str, **query: str) -> Any:
        return self.call("GET", path, query)

    def post(self, path: str, **query: str) -> Any:
        return self.call("POST", path, query)


def _actor() -> str:
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = "unknown"
    return f"{user}@{socket.gethostname()} (leasedns CLI)"


def client_for(args: argparse.Namespace) -> Client:
    """--http / --api-token first, then LEASEDNS_API_TOKEN, then the YAML given with --config."""
    http = args.http
    token = args.api_token or os.environ.get(TOKEN_ENV)
    if args.config:
        cfg = load_yaml(args.config)
        if http is None:
            if cfg.http is None:
                raise ConfigError(f"{args.config}: http is off; the admin commands need it")
            http = str(cfg.http)
        token = token or cfg.api_token
    ep = parse_endpoint(http or DEFAULT_HTTP, 9153)
    return Client(f"http://{ep}", token)


def _q(text: str) -> str:
    return urllib.parse.quote(text, safe="")


# -- finding the zone of a name -------------------------------------------------------------


def fqdn(text: str) -> str:
    return text if text.endswith(".") else text + "."


def zone_of(c: Client, name: str, zone: str | None) -> str:
    """The served zone holding ``name`` (the longest match), or the one given with --zone."""
    if zone:
        return fqdn(zone)
    try:
        owner = names.from_text(fqdn(name))
    except names.NameError_ as e:
        raise ApiCallError(f"bad name {name!r}: {e}") from None
    best: tuple[int, str] | None = None
    served = [z["zone"] for z in c.get("zones")]
    for z in served:
        zn = names.from_text(z)
        if names.is_subdomain(owner, zn) and (best is None or len(zn) > best[0]):
            best = (len(zn), z)
    if best is None:
        raise ApiCallError(
            f"{fqdn(name)} is not in a zone served here ({', '.join(served) or 'none'}); "
            "use --zone for a name relative to a zone"
        )
    return best[1]


def _name_for(name: str, zone: str | None) -> str:
    return name if zone else fqdn(name)


# -- output --------------------------------------------------------------------------------


def _when(iso_text: str | None) -> str:
    if not iso_text:
        return ""
    ts = datetime.fromisoformat(iso_text.replace("Z", "+00:00")).timestamp()
    left = int(ts - time.time())
    local = datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")
    if left > 0:
        return f"{local} (in {duration(left)})"
    return f"{local} ({duration(-left)} ago)" if left < 0 else f"{local} (now)"


def print_rows(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        for rd in row["rdata"]:
            print(f"{row['name']} {row['ttl']} IN {row['type']} {rd}")
        facts = f"state {row['state']}, provenance {row['provenance']}, role {row['role']}"
        if row.get("identity"):
            facts += f", identity {identity_text(row['identity'])}"
        print(f"    {facts}")
        if row.get("state_deadline"):
            print(f"    {row['state']} ends {_when(row['state_deadline'])}")
        if row.get("lease_expires"):
            print(f"    lease ends {_when(row['lease_expires'])}")
        for reason in row["explanation"]:
            print(f"    - {reason['text']}")
        print()


def print_changes(result: dict[str, Any]) -> None:
    for ch in result.get("changes", []):
        print(ch["message"])
    if result.get("serial") is not None:
        print(f"zone {result['zone']} serial {result['serial']}")


def emit(args: argparse.Namespace, data: Any, human: Callable[[Any], None]) -> int:
    if args.json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        human(data)
    return 0


# -- commands ------------------------------------------------------------------------------


def cmd_explain(args: argparse.Namespace, c: Client) -> int:
    zone = zone_of(c, args.name, args.zone)
    rows = c.get(f"zones/{_q(zone)}/records", name=_name_for(args.name, args.zone))
    if args.type:
        rows = [r for r in rows if r["type"] == args.type.upper()]
    if rows or args.json:
        return emit(args, rows, print_rows)
    gone = [
        t
        for t in c.get(f"zones/{_q(zone)}/tombstones")
        if t["name"] == fqdn(args.name) and (not args.type or t["type"] == args.type.upper())
    ]
    what = f"{fqdn(args.name)}{' ' + args.type.upper() if args.type else ''}"
    if not gone:
        print(f"leasedns: no records at {what} in {zone}", file=sys.stderr)
        return 1
    print(f"{what}: not in the zone now. Removed earlier, restorable:")
    for t in gone:
        print(f"  {t['name']} {t['type']} {' '.join(t['rdata'])}")
        print(f"    removed {_when(t['removed_at'])} by {t['removed_by']}: {t['reason']}")
        print(f"    restore: leasedns restore {t['name']} {t['type']}")
    return 0


def _record_action(action: str) -> Callable[[argparse.Namespace, Client], int]:
    def run(args: argparse.Namespace, c: Client) -> int:
        zone = zone_of(c, args.name, args.zone)
        rtype = (args.type or "ANY").upper()
        path = (
            f"zones/{_q(zone)}/records/{_q(_name_for(args.name, args.zone))}/{_q(rtype)}/{action}"
        )
        return emit(args, c.post(path), print_changes)

    return run


def cmd_cleanup_list(args: argparse.Namespace, c: Client) -> int:
    zones = c.get("zones")
    if args.zone:
        zones = [z for z in zones if z["zone"] == fqdn(args.zone)]
        if not zones:
            raise ApiCallError(f"zone {fqdn(args.zone)} is not served here")
    rows: list[dict[str, Any]] = []
    for z in zones:
        rows += c.get(f"zones/{_q(z['zone'])}/records", state="grace,proposed")
    data = {"zones": zones, "records": rows}

    def human(_: Any) -> None:
        for z in zones:
            if z.get("paused"):
                print(f"PAUSED {z['zone']}: {z['paused']} (since {_when(z['paused_at'])})")
                print(f"    resume: leasedns cleanup resume {z['zone']}")
        if not rows:
            print("nothing in grace or proposed for cleanup")
            return
        print(f"{'NAME':36} {'TYPE':6} {'STATE':9} {'DEADLINE':36} DATA")
        for r in rows:
            dl = _when(r["state_deadline"]) if r["state_deadline"] else "-"
            print(f"{r['name']:36} {r['type']:6} {r['state']:9} {dl:36} {' '.join(r['rdata'])}")
        if any(r["state"] == "proposed" for r in rows):
            print("\napprove with: leasedns cleanup approve NAME [TYPE]")

    return emit(args, data, human)


def cmd_cleanup_approve(args: argparse.Namespace, c: Client) -> int:
    return _record_action("approve")(args, c)


def cmd_cleanup_resume(args: argparse.Namespace, c: Client) -> int:
    return emit(args, c.post(f"zones/{_q(fqdn(args.zone_name))}/resume"), print_changes)


def cmd_restore(args: argparse.Namespace, c: Client) -> int:
    zone = zone_of(c, args.name, args.zone)
    rtype = (args.type or "ANY").upper()
    path = f"zones/{_q(zone)}/tombstones/{_q(_name_for(args.name, args.zone))}/{_q(rtype)}/restore"
    query = {"removed_at": str(args.at)} if args.at is not None else {}
    return emit(args, c.post(path, **query), print_changes)


def cmd_tombstones(args: argparse.Namespace, c: Client) -> int:
    rows = c.get(f"zones/{_q(fqdn(args.zone_name))}/tombstones")

    def human(_: Any) -> None:
        if not rows:
            print(f"no tombstones in {fqdn(args.zone_name)}")
            return
        print(f"{'REMOVED':20} {'NAME':36} {'TYPE':6} {'DATA':24} REASON")
        for t in rows:
            when = datetime.fromtimestamp(t["removed_at_unix"]).strftime("%Y-%m-%d %H:%M:%S")
            data = " ".join(t["rdata"])
            print(
                f"{when:20} {t['name']:36} {t['type']:6} {data:24} {t['reason']} ({t['removed_by']})"
            )

    return emit(args, rows, human)


# -- argparse --------------------------------------------------------------------------------


def _client_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", "-c", help="YAML configuration: its http and api_token are used")
    p.add_argument(
        "--http", metavar="ADDR:PORT", help=f"the server's HTTP listener (default {DEFAULT_HTTP})"
    )
    p.add_argument("--api-token", help=f"bearer token for changes (or ${TOKEN_ENV})")
    p.add_argument("--json", action="store_true", help="print the API's JSON")


def _runner(fn: Callable[[argparse.Namespace, Client], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            return fn(args, client_for(args))
        except ApiCallError as e:
            print(f"leasedns: {e}", file=sys.stderr)
            return 1

    return run


def _name_args(
    p: argparse.ArgumentParser,
    zone_help: str = "zone of NAME (default: found from the server's zones)",
) -> None:
    p.add_argument("name", help="owner name, e.g. host1.lab.example")
    p.add_argument("type", nargs="?", help="record type (default: every type at the name)")
    p.add_argument("--zone", help=zone_help)


def add_admin_commands(sub: Any, server_flags: Callable[[argparse.ArgumentParser], None]) -> None:
    """Register the admin commands.

    ``server_flags`` is not applied: these commands talk to a running server,
    so only --config, --http and --api-token matter, and --zone names a zone.
    """
    del server_flags
    e = sub.add_parser("explain", help="why a record is here and what will happen to it")
    _name_args(e)
    _client_flags(e)
    e.set_defaults(func=_runner(cmd_explain))
    for action, text in (("pin", "never remove a record automatically"),
                         ("unpin", "let the lifecycle handle a pinned record again")):  # fmt: skip
        p = sub.add_parser(action, help=text)
        _name_args(p)
        _client_flags(p)
        p.set_defaults(func=_runner(_record_action(action)))
    c = sub.add_parser("cleanup", help="records in grace or proposed for cleanup; paused zones")
    cs = c.add_subparsers(dest="cleanup_action", required=True)
    cl = cs.add_parser("list", help="what waits in grace or for an admin's approval")
    cl.add_argument("--zone", help="only this zone")
    _client_flags(cl)
    cl.set_defaults(func=_runner(cmd_cleanup_list))
    ca = cs.add_parser("approve", help="remove a record proposed for cleanup (tombstone kept)")
    _name_args(ca)
    _client_flags(ca)
    ca.set_defaults(func=_runner(cmd_cleanup_approve))
    cr = cs.add_parser("resume", help="resume automatic removal after a blast-radius pause")
    cr.add_argument("zone_name", metavar="ZONE")
    _client_flags(cr)
    cr.set_defaults(func=_runner(cmd_cleanup_resume))
    r = sub.add_parser("restore", help="put a removed record back from its tombstone")
    _name_args(r)
    r.add_argument("--at", type=int, metavar="UNIX", help="which removal (default: the latest)")
    _client_flags(r)
    r.set_defaults(func=_runner(cmd_restore))
    t = sub.add_parser("tombstones", help="removed records kept for restore")
    t.add_argument("zone_name", metavar="ZONE")
    _client_flags(t)
    t.set_defaults(func=_runner(cmd_tombstones))


def main(argv: list[str] | None = None) -> int:
    """``python -m leasedns.cli.admin_commands``: the admin commands alone."""
    p = argparse.ArgumentParser(prog="leasedns")
    add_admin_commands(p.add_subparsers(dest="command", required=True), lambda _: None)
    args = p.parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as e:
        print(f"leasedns: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
