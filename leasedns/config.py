"""Configuration: one YAML file, with quick-start command-line flags layered on top."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from typing import Any

import yaml

from leasedns import keys as tsig_keys
from leasedns.lease.lifecycle import PROFILES
from leasedns.update.policy import PolicyError, parse_rules
from leasedns.wire import names
from leasedns.xfr.access import AclSpecError, parse_acl


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names file:line where known."""


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass
class ZoneConfig:
    file: str
    origin: str | None = None
    profile: str | None = None
    allow_update: list[str] = field(default_factory=list)
    allow_update_role: str = "admin"
    allow_transfer: list[str] = field(default_factory=list)
    notify: list[Endpoint] = field(default_factory=list)
    update_policy: list[dict[str, Any]] = field(default_factory=list)
    grace: int | None = None
    keep_on_expiry: bool = False
    profile_overrides: list[dict[str, Any]] = field(default_factory=list)
    infrastructure: dict[str, Any] = field(default_factory=dict)


@dataclass
class Config:
    listen: list[Endpoint] = field(default_factory=lambda: [Endpoint("127.0.0.1", 5300)])
    zones: list[ZoneConfig] = field(default_factory=list)
    data_dir: str = "./var"
    http: Endpoint | None = field(default_factory=lambda: Endpoint("127.0.0.1", 9153))
    max_udp_payload: int = 1232
    tcp_idle_timeout: float = 10.0
    tcp_max_connections: int = 256
    tcp_max_queries_per_connection: int = 0
    serial_policy: str = "increment"
    journal_depth: int = 1000
    journal_max_bytes: int = 64 << 20
    cache_entries: int = 200_000
    profile: str = "balanced"
    lease_min: int = 30
    lease_max: int = 86400
    key_lease_min: int = 30
    key_lease_max: int = 7 * 86400
    lease_update_interval: float = 1.0  # RFC 9664 §8: a registration repeated sooner is ignored
    grace: int | None = None
    infrastructure: dict[str, Any] = field(default_factory=dict)
    blast_radius: dict[str, Any] = field(default_factory=dict)
    tombstone_retention: int = 30 * 86400
    api_token: str | None = None
    keys: list[dict[str, Any]] = field(default_factory=list)
    notify: list[Endpoint] = field(default_factory=list)
    notify_keys: dict[Endpoint, str] = field(default_factory=dict)  # secondary -> TSIG key name
    version: str | None = None  # CH TXT version.bind; None: "leasedns X.Y", "" hides it
    hostname: str | None = None  # CH TXT hostname.bind / id.server; None: the host's name
    source: str = "<command line>"


def parse_notify(item: Any, keys: dict[Endpoint, str]) -> Endpoint:
    """A secondary: ``ADDR:PORT``, or ``{address: ADDR:PORT, key: NAME}`` to sign its NOTIFYs."""
    if isinstance(item, dict):
        ep = parse_endpoint(item.get("address", ""), 53)
        if item.get("key"):
            keys[ep] = str(item["key"])
        return ep
    return parse_endpoint(item, 53)


def parse_endpoint(text: str, default_port: int = 53) -> Endpoint:
    """``host:port``, ``[v6]:port``, bare ``host`` or bare ``v6``."""
    text = str(text).strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, ""
    try:
        p = int(port) if port else default_port
    except ValueError as e:
        raise ConfigError(f"bad port in {text!r}") from e
    if not 0 <= p <= 65535 or not host:
        raise ConfigError(f"bad address {text!r}")
    return Endpoint(host, p)


class _LineLoader(yaml.SafeLoader):
    """Keeps the line of every mapping so errors can name file:line."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    d = loader.construct_mapping(node, deep=True)
    d["__line__"] = node.start_mark.line + 1
    return d


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)

_TOP_KEYS = {
    "listen", "zones", "data_dir", "http", "max_udp_payload", "tcp_idle_timeout",
    "tcp_max_connections", "tcp_max_queries_per_connection", "serial_policy", "journal_depth",
    "journal_max_bytes", "cache_entries", "profile", "api_token", "keys", "notify",
    "lease_min", "lease_max", "key_lease_min", "key_lease_max", "lease_update_interval",
    "grace", "infrastructure", "blast_radius", "tombstone_retention", "version", "hostname",
}  # fmt: skip
_ZONE_KEYS = {
    "file", "origin", "profile", "allow_update", "allow_update_role", "allow_transfer", "notify", "update_policy",
    "grace", "keep_on_expiry", "profile_overrides", "infrastructure",
}  # fmt: skip


def _plain(d: Any) -> Any:
    """The value without the line numbers the loader adds to mappings."""
    if isinstance(d, dict):
        return {k: _plain(v) for k, v in d.items() if k != "__line__"}
    if isinstance(d, list):
        return [_plain(x) for x in d]
    return d


def load_yaml(path: str) -> Config:
    try:
        with open(path, encoding="utf-8") as f:
            raw = yaml.load(f, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from e
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else path
        raise ConfigError(f"{where}: {getattr(e, 'problem', None) or e}") from e
    if raw is None:
        raw = {"__line__": 1}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}:1: the top level must be a mapping")
    base = os.path.dirname(os.path.abspath(path))
    cfg = Config(source=path)

    def err(d: dict[str, Any], msg: str) -> ConfigError:
        return ConfigError(f"{path}:{d.get('__line__', 1)}: {msg}")

    unknown = set(raw) - _TOP_KEYS - {"__line__"}
    if unknown:
        raise err(raw, f"unknown setting(s): {', '.join(sorted(unknown))}")
    try:
        if "listen" in raw:
            items = raw["listen"] if isinstance(raw["listen"], list) else [raw["listen"]]
            cfg.listen = [parse_endpoint(x, 53) for x in items]
        if "http" in raw:
            cfg.http = (
                None if raw["http"] in (None, False, "off") else parse_endpoint(raw["http"], 9153)
            )
        if "notify" in raw:
            cfg.notify = [parse_notify(x, cfg.notify_keys) for x in raw["notify"]]
        for k in ("data_dir", "serial_policy", "profile", "api_token"):
            if k in raw and raw[k] is not None:
                setattr(cfg, k, str(raw[k]))
        for k in ("max_udp_payload", "tcp_max_connections", "tcp_max_queries_per_connection",
                  "journal_depth", "journal_max_bytes", "cache_entries",
                  "lease_min", "lease_max", "key_lease_min", "key_lease_max"):  # fmt: skip
            if k in raw:
                setattr(cfg, k, int(raw[k]))
        if raw.get("grace") is not None:
            cfg.grace = int(raw["grace"])
        for k in ("version", "hostname"):  # as BIND's options: a string, or none to hide it
            if k in raw:
                v = raw[k]
                setattr(cfg, k, "" if v in (None, False, "none") else str(v))
        if "tombstone_retention" in raw:
            cfg.tombstone_retention = int(raw["tombstone_retention"])
        cfg.infrastructure = _plain(raw.get("infrastructure") or {})
        cfg.blast_radius = _plain(raw.get("blast_radius") or {})
        if "tcp_idle_timeout" in raw:
            cfg.tcp_idle_timeout = float(raw["tcp_idle_timeout"])
        if "lease_update_interval" in raw:
            cfg.lease_update_interval = float(raw["lease_update_interval"])
            if cfg.lease_update_interval < 0:
                raise err(raw, "lease_update_interval must be 0 or more seconds")
        if not os.path.isabs(cfg.data_dir):
            cfg.data_dir = os.path.normpath(os.path.join(base, cfg.data_dir))
        cfg.keys = [dict(k) for k in raw.get("keys") or []]
        for k in cfg.keys:
            if "file" in k and not os.path.isabs(str(k["file"])):  # like zone files
                k["file"] = os.path.normpath(os.path.join(base, str(k["file"])))
            why = key_problem(k)
            if why:
                raise err(k, f"key: {why}")
        for z in raw.get("zones") or []:
            if isinstance(z, str):
                z = {"file": z}
            bad = set(z) - _ZONE_KEYS - {"__line__"}
            if bad:
                raise err(z, f"unknown zone setting(s): {', '.join(sorted(bad))}")
            if "file" not in z:
                raise err(z, "a zone needs 'file'")
            f = str(z["file"])
            zc = ZoneConfig(
                file=f if os.path.isabs(f) else os.path.normpath(os.path.join(base, f)),
                origin=z.get("origin"),
                profile=z.get("profile"),
                allow_update=[str(a) for a in z.get("allow_update") or []],
                allow_update_role=str(z.get("allow_update_role", "admin")),
                allow_transfer=[str(a) for a in z.get("allow_transfer") or []],
                notify=[parse_notify(x, cfg.notify_keys) for x in z.get("notify") or []],
                update_policy=list(z.get("update_policy") or []),
                grace=int(z["grace"]) if z.get("grace") is not None else None,
                keep_on_expiry=bool(z.get("keep_on_expiry", False)),
                profile_overrides=[_plain(o) for o in z.get("profile_overrides") or []],
                infrastructure=_plain(z.get("infrastructure") or {}),
            )
            if zc.profile is not None and zc.profile not in PROFILES:
                raise err(z, f"profile must be one of {', '.join(PROFILES)}, not {zc.profile!r}")
            _check_access(zc, z, err)
            cfg.zones.append(zc)
    except ConfigError as e:
        if str(e).startswith(path):
            raise
        raise err(raw, str(e)) from e
    except (TypeError, ValueError) as e:
        raise err(raw, str(e)) from e
    if cfg.profile not in PROFILES:
        raise err(raw, f"profile must be one of {', '.join(PROFILES)}, not {cfg.profile!r}")
    if cfg.serial_policy not in ("increment", "unixtime", "date"):
        raise err(
            raw, f"serial_policy must be increment, unixtime or date, not {cfg.serial_policy!r}"
        )
    return cfg


def key_problem(k: dict[str, Any]) -> str:
    """Why a ``keys`` entry (YAML, a ``--key`` spec or a BIND key file) is unusable, or ""."""
    try:
        tsig_keys.keys_of_entry(k)
    except tsig_keys.KeySpecError as e:
        return str(e)
    except OSError as e:
        return f"{k.get('file')}: {e.strerror}"
    return ""


def _check_access(zc: ZoneConfig, z: dict[str, Any], err: Any) -> None:
    """allow_update, allow_transfer and update_policy are checked when the file is read, so
    that ``leasedns check`` and ``serve`` name their line, not the first update to fail."""
    for a in zc.allow_update:
        try:
            ipaddress.ip_network(a.split("%")[0], strict=False)
        except ValueError:
            raise err(z, f"allow_update entry {a!r} is not an address or a network") from None
    try:
        parse_acl(zc.allow_transfer)
    except AclSpecError as e:
        raise err(z, str(e)) from None
    origin = names.from_text(zc.origin if zc.origin else "origin.invalid.")
    for rule in zc.update_policy:
        try:
            parse_rules([rule], origin)
        except (PolicyError, names.NameError_, AttributeError, TypeError) as e:
            raise err(rule if isinstance(rule, dict) else z, f"update_policy: {e}") from None
