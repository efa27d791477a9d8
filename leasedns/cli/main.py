"""The ``leasedns`` command: serve, check, reload, zone, audit, keygen, update."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from leasedns import __version__
from leasedns.config import (
    Config,
    ConfigError,
    ZoneConfig,
    key_problem,
    load_yaml,
    parse_endpoint,
)


def _add_server_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", "-c", help="YAML configuration file")
    p.add_argument("--listen", action="append", metavar="ADDR:PORT",
                   help="address to serve DNS on (repeatable; [::1]:5300 for IPv6; default 127.0.0.1:5300)")  # fmt: skip
    p.add_argument(
        "--zone", action="append", metavar="FILE", help="master file to serve (repeatable)"
    )
    p.add_argument("--data-dir", metavar="DIR", help="where the LMDB store lives (default ./var)")
    p.add_argument(
        "--http", metavar="ADDR:PORT", help="metrics/API listener (default 127.0.0.1:9153; 'off')"
    )
    p.add_argument(
        "--key", action="append", metavar="NAME:ALG:SECRET[:ROLE]", help="TSIG key (repeatable)"
    )
    p.add_argument(
        "--notify", action="append", metavar="ADDR:PORT", help="secondary to NOTIFY (repeatable)"
    )
    p.add_argument("--profile", choices=["aggressive", "balanced", "conservative"],
                   help="default lifecycle profile for all zones (default balanced)")  # fmt: skip
    p.add_argument("--grace", type=int, metavar="SECONDS",
                   help="grace interval (default: the lease length, at least 1 h)")  # fmt: skip
    p.add_argument("--api-token", help="bearer token for mutating API calls")


def build_config(args: argparse.Namespace) -> Config:
    """YAML first, then command-line flags on top (flags win)."""
    cfg = load_yaml(args.config) if getattr(args, "config", None) else Config()
    if getattr(args, "listen", None):
        cfg.listen = [parse_endpoint(x, 5300) for x in args.listen]
    if getattr(args, "zone", None) and isinstance(args.zone, list):
        cfg.zones += [ZoneConfig(file=os.path.abspath(z)) for z in args.zone]
    if getattr(args, "data_dir", None):
        cfg.data_dir = args.data_dir
    if getattr(args, "http", None):
        cfg.http = None if args.http == "off" else parse_endpoint(args.http, 9153)
    if getattr(args, "key", None):
        for k in args.key:
            why = key_problem({"spec": k})
            if why:
                raise ConfigError(f"--key: {why}")
            cfg.keys.append({"spec": k})
    if getattr(args, "notify", None):
        cfg.notify += [parse_endpoint(x, 53) for x in args.notify]
    if getattr(args, "profile", None):
        cfg.profile = args.profile
    if getattr(args, "grace", None) is not None:
        cfg.grace = args.grace
    if getattr(args, "api_token", None):
        cfg.api_token = args.api_token
    cfg.data_dir = os.path.abspath(cfg.data_dir)
    return cfg


def cmd_serve(args: argparse.Namespace) -> int:
    from leasedns.net.service import serve

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    return serve(build_config(args))


def cmd_check(args: argparse.Namespace) -> int:
    """Parse the configuration and every zone file; print problems as file:line: reason."""
    from leasedns.wire import names
    from leasedns.zone.masterfile import ZoneFileError, parse_zone_file

    try:
        cfg = build_config(args)
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 1
    bad = 0
    for zc in cfg.zones:
        try:
            parsed = parse_zone_file(zc.file, names.from_text(zc.origin) if zc.origin else None)
        except (ZoneFileError, names.NameError_) as e:
            print(e, file=sys.stderr)
            bad += 1
            continue
        for w in parsed.warnings:
            print(f"warning: {w}", file=sys.stderr)
        print(f"{zc.file}: zone {names.to_text(parsed.origin)} OK, {len(parsed.records)} records")
    if not cfg.zones:
        print("no zones configured", file=sys.stderr)
    return 1 if bad else 0


def cmd_reload(args: argparse.Namespace) -> int:
    from leasedns.net.service import pid_path

    cfg = build_config(args)
    try:
        with open(pid_path(cfg.data_dir)) as f:
            pid = int(f.read().strip())
        os.kill(pid, signal.SIGHUP)
    except (OSError, ValueError) as e:
        print(f"leasedns: no running server for {cfg.data_dir}: {e}", file=sys.stderr)
        return 1
    print(f"reload requested (pid {pid})")
    return 0


def _open_store_readonly(cfg: Config):  # type: ignore[no-untyped-def]
    from leasedns.store.lmdb_kv import LmdbKV
    from leasedns.store.zonestore import Store

    path = os.path.join(cfg.data_dir, "store")
    if not os.path.exists(os.path.join(path, "data.mdb")):
        raise SystemExit(f"leasedns: no store at {path}")
    return Store(LmdbKV(path, readonly=True))


def cmd_zone(args: argparse.Namespace) -> int:
    from leasedns.wire import names
    from leasedns.zone.inventory import zone_rows
    from leasedns.zone.present import rr_text

    cfg = build_config(args)
    store = _open_store_readonly(cfg)
    with store.reader() as r:
        if args.action == "list":
            rows = []
            for origin, st in r.zones():
                n = sum(1 for _ in r.iter_zone(origin))
                rows.append(
                    {
                        "zone": names.to_text(origin),
                        "serial": st.serial,
                        "rrsets": n,
                        "source": st.source,
                    }
                )
            if args.json:
                print(json.dumps(rows, indent=2))
            else:
                for row in rows:
                    print(
                        f"{row['zone']:32} serial {row['serial']:<12} {row['rrsets']:>7} rrsets  {row['source']}"
                    )
            return 0
        if not args.name:
            print("leasedns zone show|export: which zone?", file=sys.stderr)
            return 2
        origin = names.from_text(args.name if args.name.endswith(".") else args.name + ".")
        if r.zone_state(origin) is None:
            print(f"leasedns: zone {args.name} is not in the store", file=sys.stderr)
            return 1
        if args.action == "export":
            lines = [rr_text(o, t, ttl, rd) for o, t, ttl, rds in r.iter_zone(origin) for rd in rds]
            print(json.dumps(lines, indent=2) if args.json else "\n".join(lines))
            return 0
        rows = zone_rows(r, origin)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    now = time.time()
    for row in rows:
        for rd in row["rdata"]:
            print(
                f"{row['name']} {row['ttl']} IN {row['type']} {rd}    ; {row['provenance']}, {row['state']}"
            )
        for lease in row["leases"]:
            left = lease["deadline_unix"] - now
            what = lease["kind"] + (
                f" of {lease['rdata']}" if lease["rdata"] else f" ({lease['scope']})"
            )
            step = f", next TTL step {lease['next_ttl_step']}" if lease["next_ttl_step"] else ""
            print(
                f"    {what}: ends {lease['deadline']} (in {max(0, int(left))} s){step}, by {lease['issuer']}"
            )
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    cfg = build_config(args)
    store = _open_store_readonly(cfg)
    since = 0.0
    if args.since:
        since = _parse_since(args.since)
    zone = args.zone.rstrip(".").lower() + "." if args.zone else None
    with store.reader() as r:
        events = [e for e in r.audit_events(since) if zone is None or e.zone == zone]
    if args.json:
        from dataclasses import asdict

        print(json.dumps([asdict(e) for e in events], indent=2, default=str))
        return 0
    for e in events:
        ts = datetime.fromtimestamp(e.time, UTC).strftime("%Y-%m-%d %H:%M:%S")
        who = e.actor + (f" ({e.role})" if e.role else "")
        print(f"{ts}  {e.kind:16} {e.zone or '-':24} {e.outcome:9} {who}  {e.reason}")
    return 0


def _parse_since(text: str) -> float:
    """``3600``/``90m``/``2h``/``1d`` ago, or an ISO 8601 time."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if text[-1:] in units and text[:-1].isdigit():
        return time.time() - int(text[:-1]) * units[text[-1]]
    if text.isdigit():
        return time.time() - int(text)
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise ConfigError(
            f"--since {text!r}: give seconds, 90m, 2h, 1d or an ISO 8601 time"
        ) from None


def cmd_keygen(args: argparse.Namespace) -> int:
    from leasedns import keys

    try:
        k = keys.keygen(args.name, args.alg, keys.Role(args.role))
    except keys.KeySpecError as e:
        raise ConfigError(f"keygen: {e}") from None
    print(keys.format_bind_key(k))
    print(f"# command line / YAML spec:\n# --key {keys.format_cli_spec(k)}")
    return 0


def cmd_update(argv: Sequence[str]) -> int:
    from leasedns.cli.update_client import main as update_main

    return update_main(list(argv))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="leasedns", description="Authoritative DNS with leases and intent."
    )
    p.add_argument("--version", action="version", version=f"leasedns {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="run the server")
    _add_server_flags(s)
    s.add_argument("--verbose", "-v", action="store_true")
    s.set_defaults(func=cmd_serve)
    c = sub.add_parser("check", help="validate the configuration and zone files")
    _add_server_flags(c)
    c.set_defaults(func=cmd_check)
    r = sub.add_parser("reload", help="make the running server re-read changed zone files (SIGHUP)")
    _add_server_flags(r)
    r.set_defaults(func=cmd_reload)
    z = sub.add_parser("zone", help="list, show or export zones from the store")
    _add_server_flags(z)
    z.add_argument("action", choices=["list", "show", "export"])
    z.add_argument("name", nargs="?")
    z.add_argument("--json", action="store_true")
    z.set_defaults(func=cmd_zone)
    a = sub.add_parser("audit", help="show audit events")
    a.add_argument("--config", "-c", help="YAML configuration file")
    a.add_argument("--data-dir", metavar="DIR", help="where the LMDB store lives (default ./var)")
    a.add_argument("--zone", metavar="ZONE", help="only events of this zone")
    a.add_argument("--since", help="e.g. 2h, 1d, or an ISO 8601 time")
    a.add_argument("--json", action="store_true")
    a.set_defaults(func=cmd_audit)
    k = sub.add_parser("keygen", help="print a fresh TSIG key")
    k.add_argument("name")
    k.add_argument("--alg", default="hmac-sha256")
    k.add_argument("--role", default="admin", choices=["admin", "dhcp", "client", "transfer"])
    k.set_defaults(func=cmd_keygen)
    sub.add_parser(
        "update", help="nsupdate-compatible client with deferred deletes and leases", add_help=False
    )
    sub.add_parser(
        "dhcp-hook",
        help="dnsmasq --dhcp-script hook: lease events to signed updates",
        add_help=False,
    )
    from leasedns.cli.admin_commands import add_admin_commands

    add_admin_commands(sub, _add_server_flags)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "update":
        return cmd_update(argv[1:])
    if argv and argv[0] == "dhcp-hook":
        from leasedns.cli.dhcp_hook import main as hook_main

        return hook_main(argv[1:])
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as e:
        print(f"leasedns: {e}", file=sys.stderr)
        return 1
