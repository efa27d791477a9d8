"""dnsmasq --dhcp-script hook: lease events to TSIG-signed updates carrying identity and lease."""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import ipaddress
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.update
import yaml

from leasedns import keys
from leasedns.cli import nsupdate_lang as lang
from leasedns.cli import update_client
from leasedns.config import ConfigError, parse_endpoint
from leasedns.keys import TsigKey
from leasedns.wire import names
from leasedns.wire.names import Name

DEFAULT_CONFIG = "/etc/leasedns/hook.yaml"
ACTIONS = ("add", "old", "del")
T_A, T_PTR, T_AAAA, T_DHCID, T_ANY = 1, 12, 28, 49, 255
C_IN, C_NONE, C_ANY = 1, 254, 255
NOERROR, YXDOMAIN, NXRRSET = 0, 6, 8

# RFC 4701 §3.3 identifier type codes; §3.4 digest type 1 is SHA-256.
ID_HTYPE_CHADDR, ID_CLIENT_ID, ID_DUID = 0, 1, 2
DIGEST_SHA256 = 1

MIN_AUTO_TTL, MAX_AUTO_TTL = 60, 3600


class HookConfigError(ValueError):
    """A hook setting (flag, environment variable or config file entry) that cannot be used."""


class HookEventError(ValueError):
    """Arguments or environment from dnsmasq that do not describe a lease."""


# --- configuration ------------------------------------------------------------------------


@dataclass
class HookConfig:
    """Where updates go and how they are built; file < environment < flags."""

    server: str = "127.0.0.1"
    port: int = 53
    key: TsigKey | None = None
    zone: Name | None = None  # None: DNSMASQ_DOMAIN is the zone
    reverse_zones: list[Name] = field(default_factory=list)
    ttl: int | None = None  # None: a third of the lease, 60 s .. 1 h
    lease: bool = True  # RFC 9664 Update Lease = the remaining DHCP lease
    identity: str = "client-id"  # client-id (RFC 4701 §3.5) | mac (type 0 in both families)
    timeout: float = 2.0
    tries: int = 2
    verbose: bool = False


# name in the file / flag dest -> environment variable
ENVIRONMENT = {
    "server": "LEASEDNS_SERVER",
    "port": "LEASEDNS_PORT",
    "key": "LEASEDNS_KEY",
    "key_file": "LEASEDNS_KEY_FILE",
    "zone": "LEASEDNS_ZONE",
    "reverse_zones": "LEASEDNS_REVERSE_ZONES",
    "ttl": "LEASEDNS_TTL",
    "lease": "LEASEDNS_LEASE",
    "identity": "LEASEDNS_IDENTITY",
    "timeout": "LEASEDNS_TIMEOUT",
    "tries": "LEASEDNS_TRIES",
    "verbose": "LEASEDNS_VERBOSE",
}


def _truth(value: Any, what: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "yes", "true", "on"):
        return True
    if text in ("0", "no", "false", "off"):
        return False
    raise HookConfigError(f"{what}: expected yes or no, not {value!r}")


def _zone_name(text: Any, what: str) -> Name:
    try:
        return names.from_text(str(text).strip(), origin=names.ROOT)
    except names.NameError_ as e:
        raise HookConfigError(f"{what}: {e}") from None


def _number(value: Any, what: str, low: float, high: float) -> float:
    try:
        n = float(value)
    except (TypeError, ValueError):
        raise HookConfigError(f"{what}: not a number: {value!r}") from None
    if not low <= n <= high:
        raise HookConfigError(f"{what}: {value!r} is outside {low:g}..{high:g}")
    return n


def apply_settings(cfg: HookConfig, settings: Mapping[str, Any], source: str) -> HookConfig:
    """Settings from one source (file, environment or flags) on top of ``cfg``."""
    out = dataclasses.replace(cfg, reverse_zones=list(cfg.reverse_zones))
    for name, value in settings.items():
        if value is None:
            continue
        what = f"{source}: {name}"
        if name == "server":
            try:
                ep = parse_endpoint(str(value), out.port)
            except ConfigError as e:
                raise HookConfigError(f"{what}: {e}") from None
            out.server, out.port = ep.host, ep.port
        elif name == "port":
            out.port = int(_number(value, what, 1, 65535))
        elif name == "key":
            try:
                out.key = keys.parse_key_spec(str(value).strip())
            except keys.KeySpecError as e:
                raise HookConfigError(f"{what}: {e}") from None
        elif name == "key_file":
            out.key = read_key_file(str(value))
        elif name == "zone":
            out.zone = _zone_name(value, what)
        elif name == "reverse_zones":
            items = value if isinstance(value, list) else str(value).replace(",", " ").split()
            out.reverse_zones = [_zone_name(z, what) for z in items]
        elif name == "ttl":
            auto = str(value).strip().lower() == "auto"
            out.ttl = None if auto else int(_number(value, what, 0, 0x7FFFFFFF))
        elif name == "lease":
            out.lease = _truth(value, what)
        elif name == "identity":
            if str(value) not in ("client-id", "mac"):
                raise HookConfigError(f"{what}: expected client-id or mac, not {value!r}")
            out.identity = str(value)
        elif name == "timeout":
            out.timeout = _number(value, what, 0.1, 60)
        elif name == "tries":
            out.tries = int(_number(value, what, 1, 10))
        elif name == "verbose":
            out.verbose = _truth(value, what)
        else:
            raise HookConfigError(f"{source}: unknown setting {name!r}")
    return out


def read_key_file(path: str) -> TsigKey:
    """The first key of a BIND key file (``tsig-keygen``, ``leasedns keygen``)."""
    try:
        found = keys.read_bind_keyfile(path)
    except OSError as e:
        raise HookConfigError(f"cannot read key file {path}: {e.strerror or e}") from None
    except keys.KeySpecError as e:
        raise HookConfigError(str(e)) from None
    if not found:
        raise HookConfigError(f"{path}: no key statement")
    return found[0]


def read_config_file(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f) or {}
    except OSError as e:
        raise HookConfigError(f"cannot read {path}: {e.strerror or e}") from None
    except yaml.YAMLError as e:
        raise HookConfigError(f"{path}: {e}") from None
    if not isinstance(data, dict):
        raise HookConfigError(f"{path}: expected a mapping of settings")
    return {str(k).replace("-", "_"): v for k, v in data.items()}


def load_config(flags: Mapping[str, Any], env: Mapping[str, str]) -> HookConfig:
    """The config file (``--config``, ``LEASEDNS_HOOK_CONFIG`` or /etc/leasedns/hook.yaml if
    present), then ``LEASEDNS_*`` environment variables, then flags."""
    path = flags.get("config") or env.get("LEASEDNS_HOOK_CONFIG")
    if path is None and os.path.exists(DEFAULT_CONFIG):
        path = DEFAULT_CONFIG
    cfg = HookConfig()
    if path:
        cfg = apply_settings(cfg, read_config_file(path), path)
    from_env = {name: env[var] for name, var in ENVIRONMENT.items() if env.get(var)}
    cfg = apply_settings(cfg, from_env, "environment")
    return apply_settings(cfg, {k: v for k, v in flags.items() if k != "config"}, "flags")


# --- the lease event ----------------------------------------------------------------------


Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class LeaseEvent:
    """One call of the script: ``add|old|del MAC-or-DUID IP [HOSTNAME]`` and its environment."""

    action: str
    address: Address
    hostname: str  # unqualified, "" when the lease has none
    domain: str  # DNSMASQ_DOMAIN, "" when unknown
    htype: int  # ARP hardware type of ``hwaddr`` (1 = Ethernet)
    hwaddr: bytes  # the client's link-layer address, b"" when unknown
    client_id: bytes | None  # DHCPv4 client identifier option (61) data
    duid: bytes | None  # DHCPv6 client DUID
    remaining: int | None  # seconds until the DHCP lease ends; None: infinite or unknown
    old_hostname: str = ""  # DNSMASQ_OLD_HOSTNAME: the name this lease used to have


def _hex_bytes(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", "").replace("-", ""))


def parse_hwaddr(text: str) -> tuple[int, bytes]:
    """dnsmasq's MAC argument: ``aa:bb:..`` for Ethernet, ``06-aa:bb:..`` for other types."""
    htype = 1
    if "-" in text:
        prefix, _, text = text.partition("-")
        htype = int(prefix, 16)
    return htype, _hex_bytes(text)


def parse_event(argv: Sequence[str], env: Mapping[str, str], now: float) -> LeaseEvent:
    """What dnsmasq tells the script (dnsmasq(8), --dhcp-script)."""
    if len(argv) < 3:
        raise HookEventError("expected: add|old|del MAC IP [HOSTNAME]")
    action, who, ip = argv[0], argv[1], argv[2]
    hostname = argv[3] if len(argv) > 3 else ""
    if action not in ACTIONS:
        raise HookEventError(f"unknown action {action!r}")
    try:
        address: Address = ipaddress.ip_address(ip)
    except ValueError:
        raise HookEventError(f"not an IP address: {ip!r}") from None
    htype, hwaddr, client_id, duid = 1, b"", None, None
    try:
        if address.version == 6:
            duid = _hex_bytes(who)
            if env.get("DNSMASQ_MAC"):
                htype, hwaddr = parse_hwaddr(env["DNSMASQ_MAC"])
        else:
            htype, hwaddr = parse_hwaddr(who)
            if env.get("DNSMASQ_CLIENT_ID"):
                client_id = _hex_bytes(env["DNSMASQ_CLIENT_ID"])
    except ValueError:
        raise HookEventError(f"not a hardware address or DUID: {who!r}") from None
    return LeaseEvent(
        action, address, hostname, env.get("DNSMASQ_DOMAIN", ""), htype, hwaddr, client_id, duid,
        remaining_lease(env, now), env.get("DNSMASQ_OLD_HOSTNAME", ""),
    )  # fmt: skip


def remaining_lease(env: Mapping[str, str], now: float) -> int | None:
    """Seconds left: DNSMASQ_TIME_REMAINING, else DNSMASQ_LEASE_EXPIRES - now (0 = infinite)."""
    for var in ("DNSMASQ_TIME_REMAINING", "DNSMASQ_LEASE_EXPIRES", "DNSMASQ_LEASE_LENGTH"):
        text = env.get(var, "").strip()
        if not text.isdigit():
            continue
        value = int(text)
        if var == "DNSMASQ_LEASE_EXPIRES":
            if value == 0:
                return None
            value = int(value - now)
        return max(value, 0)
    return None


# --- identity: RFC 4701 ---------------------------------------------------------------------


def dhcid_rdata(identifier_type: int, identifier: bytes, fqdn: Name) -> bytes:
    """RFC 4701 §3.5: type code, digest type 1, SHA-256(identifier + canonical wire FQDN)."""
    digest = hashlib.sha256(identifier + names.to_wire(fqdn)).digest()
    return identifier_type.to_bytes(2, "big") + bytes([DIGEST_SHA256]) + digest


def client_identifier(event: LeaseEvent, mode: str = "client-id") -> tuple[int, bytes]:
    """RFC 4701 §3.5: the identifier type and data a DHCP updater uses for this client.

    DHCPv4: the DUID (type 2) when the client identifier is RFC 4361's (type 255, IAID,
    DUID), else the client identifier (type 1), else htype + chaddr (type 0).  DHCPv6:
    the DUID.  ``mode="mac"`` uses htype + MAC in both families, so a dual-stack host
    without RFC 4361 identifiers gets the same DHCID for its A and its AAAA.
    """
    if mode == "mac" and event.hwaddr:
        return ID_HTYPE_CHADDR, bytes([event.htype]) + event.hwaddr
    if event.address.version == 6:
        if event.duid:
            return ID_DUID, event.duid
        if event.hwaddr:
            return ID_HTYPE_CHADDR, bytes([event.htype]) + event.hwaddr
        raise HookEventError("no DUID and no MAC: cannot identify the client")
    cid = event.client_id
    if cid and cid[0] == 0xFF and len(cid) > 5:  # RFC 4361 §6.1: type, IAID, DUID
        return ID_DUID, cid[5:]
    if cid:
        return ID_CLIENT_ID, cid
    if not event.hwaddr:
        raise HookEventError("no client identifier and no MAC: cannot identify the client")
    return ID_HTYPE_CHADDR, bytes([event.htype]) + event.hwaddr


# --- the updates ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Registration:
    """Everything an update for one lease needs: names, data, identity and lease."""

    fqdn: Name
    zone: Name
    address: Address
    dhcid: bytes
    ttl: int
    lease: int | None  # RFC 9664 Update Lease to ask for; None: none
    reverse_name: Name
    reverse_zone: Name | None  # None: leasedns does not serve it (no PTR)

    @property
    def address_type(self) -> int:
        return T_AAAA if self.address.version == 6 else T_A


class NotRegisteredError(ValueError):
    """A lease whose name cannot be registered (no hostname, no domain, outside the zone)."""


def auto_ttl(lease: int | None) -> int:
    """A third of the lease, within 60 s .. 1 h: clients renew at half, so answers stay fresh."""
    if lease is None:
        return MAX_AUTO_TTL
    return max(MIN_AUTO_TTL, min(MAX_AUTO_TTL, lease // 3))


def registration(event: LeaseEvent, cfg: HookConfig, hostname: str | None = None) -> Registration:
    """The names and data for ``event`` (``hostname`` overrides the event's, for old names)."""
    host = event.hostname if hostname is None else hostname
    if not host:
        raise NotRegisteredError("the lease has no hostname")
    if "." in host.rstrip("."):
        raise NotRegisteredError(f"hostname {host!r} is not a single label")
    domain = event.domain or (names.to_text(cfg.zone) if cfg.zone is not None else "")
    if not domain:
        raise NotRegisteredError("no domain: set DNSMASQ's domain= or the hook's zone")
    try:
        fqdn = names.from_text(f"{host.rstrip('.')}.{domain.rstrip('.')}.")
    except names.NameError_ as e:
        raise NotRegisteredError(str(e)) from None
    zone = cfg.zone if cfg.zone is not None else names.from_text(domain.rstrip(".") + ".")
    if not names.is_subdomain(fqdn, zone) or fqdn == zone:
        raise NotRegisteredError(
            f"{names.to_text(fqdn)} is not inside the zone {names.to_text(zone)}"
        )
    identifier_type, identifier = client_identifier(event, cfg.identity)
    reverse_name = names.from_text(event.address.reverse_pointer + ".")
    covering = [z for z in cfg.reverse_zones if names.is_subdomain(reverse_name, z)]
    lease = event.remaining if cfg.lease else None
    return Registration(
        fqdn=fqdn,
        zone=zone,
        address=event.address,
        dhcid=dhcid_rdata(identifier_type, identifier, fqdn),
        ttl=cfg.ttl if cfg.ttl is not None else auto_ttl(event.remaining),
        lease=lease,
        reverse_name=reverse_name,
        reverse_zone=max(covering, key=len) if covering else None,
    )


def _rdata(rtype: int, value: bytes | str) -> dns.rdata.Rdata:
    rdclass = dns.rdataclass.RdataClass.IN
    kind = dns.rdatatype.RdataType.make(rtype)
    if isinstance(value, bytes):
        return dns.rdata.from_wire(rdclass, kind, value, 0, len(value))
    return dns.rdata.from_text(rdclass, kind, value)


def _record(name: Name, rtype: int, rdclass: int, ttl: int = 0, value: bytes | str | None = None
            ) -> lang.UpdateRecord:  # fmt: skip
    return lang.UpdateRecord(
        name, rtype, rdclass, ttl, None if value is None else _rdata(rtype, value)
    )


@dataclass(frozen=True)
class Step:
    """One UPDATE message of a sequence, named after what it does."""

    purpose: str
    zone: Name
    pending: lang.PendingUpdate

    def message(self, key: TsigKey | None) -> dns.update.UpdateMessage:
        return lang.build_update_message(self.pending, self.zone, C_IN, key)


def _step(purpose: str, zone: Name, prereqs: list[lang.UpdateRecord],
          updates: list[lang.UpdateRecord], lease: int | None = None) -> Step:  # fmt: skip
    lease_option = lang.UpdateLease(lease) if lease is not None else None
    return Step(purpose, zone, lang.PendingUpdate(prereqs, updates, lease_option))


def _our_dhcid(reg: Registration, owner: Name) -> lang.UpdateRecord:
    """RFC 2136 §2.4.2 prerequisite: the DHCID at ``owner`` is exactly this client's."""
    return _record(owner, T_DHCID, C_IN, 0, reg.dhcid)


def _adds(reg: Registration) -> list[lang.UpdateRecord]:
    return [
        _record(reg.fqdn, reg.address_type, C_IN, reg.ttl, str(reg.address)),
        _record(reg.fqdn, T_DHCID, C_IN, reg.ttl, reg.dhcid),
    ]


def claim(reg: Registration) -> Step:
    """RFC 4703 §5.3, name not in use: add the address and the DHCID."""
    return _step("claim", reg.zone, [_record(reg.fqdn, T_ANY, C_NONE)], _adds(reg), reg.lease)


def refresh(reg: Registration) -> Step:
    """The name holds exactly this client and address: re-add both, which renews the lease."""
    prereqs = [
        _our_dhcid(reg, reg.fqdn),
        _record(reg.fqdn, reg.address_type, C_IN, 0, str(reg.address)),
    ]
    return _step("refresh", reg.zone, prereqs, _adds(reg), reg.lease)


def replace_address(reg: Registration) -> Step:
    """RFC 4703 §5.3, name in use by this client (same DHCID): replace that family."""
    updates = [_record(reg.fqdn, reg.address_type, C_ANY), *_adds(reg)]
    return _step("replace", reg.zone, [_our_dhcid(reg, reg.fqdn)], updates, reg.lease)


def reverse_refresh(reg: Registration) -> Step:
    """The PTR already names this client: re-add PTR and DHCID, which renews the lease."""
    assert reg.reverse_zone is not None
    owner = reg.reverse_name
    prereqs = [_record(owner, T_PTR, C_IN, 0, names.to_text(reg.fqdn)), _our_dhcid(reg, owner)]
    updates = [
        _record(owner, T_PTR, C_IN, reg.ttl, names.to_text(reg.fqdn)),
        _record(owner, T_DHCID, C_IN, reg.ttl, reg.dhcid),
    ]
    return _step("reverse-refresh", reg.reverse_zone, prereqs, updates, reg.lease)


def reverse_replace(reg: Registration) -> Step:
    """RFC 4703 §5.4: the DHCP server owns the address, so its PTR and DHCID are replaced."""
    assert reg.reverse_zone is not None
    owner = reg.reverse_name
    updates = [
        _record(owner, T_PTR, C_ANY),
        _record(owner, T_DHCID, C_ANY),
        _record(owner, T_PTR, C_IN, reg.ttl, names.to_text(reg.fqdn)),
        _record(owner, T_DHCID, C_IN, reg.ttl, reg.dhcid),
    ]
    return _step("reverse", reg.reverse_zone, [], updates, reg.lease)


def release_address(reg: Registration) -> Step:
    """RFC 4703 §5.5: if the name is this client's, delete this one address."""
    updates = [_record(reg.fqdn, reg.address_type, C_NONE, 0, str(reg.address))]
    return _step("release", reg.zone, [_our_dhcid(reg, reg.fqdn)], updates)


def release_name(reg: Registration) -> Step:
    """RFC 4703 §5.5: once no address of either family is left, the DHCID goes too."""
    prereqs = [
        _our_dhcid(reg, reg.fqdn),
        _record(reg.fqdn, T_A, C_NONE),
        _record(reg.fqdn, T_AAAA, C_NONE),
    ]
    return _step("release-name", reg.zone, prereqs, [_record(reg.fqdn, T_DHCID, C_ANY)])


def reverse_release(reg: Registration) -> Step:
    """The PTR still names this client (and carries its DHCID): delete both."""
    assert reg.reverse_zone is not None
    owner = reg.reverse_name
    prereqs = [_record(owner, T_PTR, C_IN, 0, names.to_text(reg.fqdn)), _our_dhcid(reg, owner)]
    updates = [_record(owner, T_PTR, C_ANY), _record(owner, T_DHCID, C_ANY)]
    return _step("reverse-release", reg.reverse_zone, prereqs, updates)


# --- the sequences --------------------------------------------------------------------------

Send = Callable[[Step], int]
"""Sends one step and returns the RCODE of the reply (raises OSError when there is none)."""


@dataclass
class Outcome:
    """What a sequence did, for the log: one line per step, failures marked."""

    lines: list[tuple[str, bool]] = field(default_factory=list)

    def note(self, text: str, failed: bool = False) -> None:
        self.lines.append((text, failed))

    @property
    def failed(self) -> bool:
        return any(failed for _, failed in self.lines)


def _rc(rcode: int) -> str:
    return dns.rcode.to_text(dns.rcode.Rcode.make(rcode))


def register(reg: Registration, send: Send, out: Outcome, renewal: bool = False) -> None:
    """Claim the name, else refresh or replace our own data; never take another's.

    A renewal (``old``) tries the refresh first, so the usual case is one update and
    no failed prerequisite in the audit log.
    """
    where = f"{names.to_text(reg.fqdn)} {reg.address}"
    if renewal:
        rc = send(refresh(reg))
        if rc == NXRRSET:
            rc = send(claim(reg))
    else:
        rc = send(claim(reg))
        if rc == YXDOMAIN:
            rc = send(refresh(reg))
    if rc in (YXDOMAIN, NXRRSET):  # the name is in use, not with exactly our address
        rc = send(replace_address(reg))
        if rc == NXRRSET:
            out.note(f"{where}: the name belongs to another client or to a human-made "
                     "record; left alone (RFC 4703 conflict rule)", failed=True)  # fmt: skip
            return
    if rc != NOERROR:
        out.note(f"{where}: forward update failed: {_rc(rc)}", failed=True)
        return
    out.note(f"{where}: registered (forward)")
    if reg.reverse_zone is not None:
        rc = send(reverse_refresh(reg))
        if rc == NXRRSET:
            rc = send(reverse_replace(reg))
        if rc != NOERROR:
            out.note(f"{where}: reverse update failed: {_rc(rc)}", failed=True)
        else:
            out.note(f"{names.to_text(reg.reverse_name)}: PTR registered")


def unregister(reg: Registration, send: Send, out: Outcome) -> None:
    """Del: remove this client's address, then its DHCID once no address is left, then PTR."""
    where = f"{names.to_text(reg.fqdn)} {reg.address}"
    rc = send(release_address(reg))
    if rc == NOERROR:
        out.note(f"{where}: released (forward)")
        rc = send(release_name(reg))
        if rc not in (NOERROR, 7):  # YXRRSET: the other family is still there
            out.note(f"{where}: DHCID not released: {_rc(rc)}", failed=rc != NXRRSET)
    elif rc == NXRRSET:
        out.note(f"{where}: not registered to this client (already released?)")
    else:
        out.note(f"{where}: forward delete failed: {_rc(rc)}", failed=True)
    if reg.reverse_zone is not None:
        rc = send(reverse_release(reg))
        if rc == NOERROR:
            out.note(f"{names.to_text(reg.reverse_name)}: PTR released")
        elif rc == NXRRSET:
            out.note(f"{names.to_text(reg.reverse_name)}: PTR not this client's; left alone")
        else:
            out.note(f"{names.to_text(reg.reverse_name)}: reverse delete failed: {_rc(rc)}",
                     failed=True)  # fmt: skip


def handle(event: LeaseEvent, cfg: HookConfig, send: Send) -> Outcome:
    """One dnsmasq event: ``add`` and ``old`` register, ``del`` unregisters.

    ``old`` with DNSMASQ_OLD_HOSTNAME first unregisters the old name (the lease lost or
    changed its hostname).
    """
    out = Outcome()
    jobs: list[tuple[str, str | None]] = []  # (register | unregister, hostname override)
    if event.action == "del":
        jobs.append(("unregister", None))
    else:
        if event.action == "old" and event.old_hostname and event.old_hostname != event.hostname:
            jobs.append(("unregister", event.old_hostname))
        if event.hostname:
            jobs.append(("register", None))
    if not jobs:
        out.note(f"{event.action} {event.address}: no hostname, nothing to register")
    for job, hostname in jobs:
        try:
            reg = registration(event, cfg, hostname)
        except (NotRegisteredError, HookEventError) as e:
            out.note(f"{event.action} {event.address}: {e}")
            continue
        if job == "register":
            register(reg, send, out, renewal=event.action == "old")
        else:
            unregister(reg, send, out)
    return out


# --- sending --------------------------------------------------------------------------------


def sender(cfg: HookConfig, log: Callable[[str], None]) -> Send:
    """Steps go to the server over UDP (TCP when truncated), TSIG-signed with the hook's key."""
    server = update_client.Endpoint(cfg.server, cfg.port)

    def send(step: Step) -> int:
        message = step.message(cfg.key)
        wire = message.to_wire()
        raw = update_client.exchange_udp(wire, server, None, cfg.timeout, cfg.tries)
        if update_client.is_truncated(raw):
            raw = update_client.exchange_tcp(wire, server, None, cfg.timeout)
        try:
            reply = update_client.decode_reply(raw, message)
        except update_client.BadReplyError as e:
            raise OSError(f"bad reply: {e}") from None
        if reply.tsig_problem is not None:
            raise OSError(f"reply from {server}: {reply.tsig_problem}")
        rcode = int(reply.message.rcode())
        if cfg.verbose:
            log(f"{step.purpose} {names.to_text(step.zone)}: {_rc(rcode)}")
        return rcode

    return send


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="leasedns dhcp-hook",
        description="dnsmasq --dhcp-script: register leases in leasedns by dynamic update",
    )
    p.add_argument(
        "--config", help=f"YAML settings (default $LEASEDNS_HOOK_CONFIG, {DEFAULT_CONFIG})"
    )
    p.add_argument("--server", help="ADDR[:PORT] of leasedns (default 127.0.0.1:53)")
    p.add_argument("--port", type=int)
    p.add_argument("--key", help="TSIG key NAME:ALG:SECRET")
    p.add_argument("--key-file", dest="key_file", help="BIND key file with the TSIG key")
    p.add_argument("--zone", help="forward zone (default: dnsmasq's domain)")
    p.add_argument("--reverse-zone", dest="reverse_zones", action="append",
                   help="reverse zone leasedns serves (repeatable)")  # fmt: skip
    p.add_argument("--ttl", help="TTL of the records: SECONDS or auto")
    p.add_argument("--lease", choices=["yes", "no"], help="send the RFC 9664 Update Lease")
    p.add_argument("--identity", choices=["client-id", "mac"])
    p.add_argument("--timeout", type=float)
    p.add_argument("--tries", type=int)
    p.add_argument("--verbose", "-v", action="store_const", const=True)
    p.add_argument("action", help="add, old or del (others are ignored)")
    p.add_argument("args", nargs="*", help="MAC IP [HOSTNAME]")
    return p


def main(
    argv: list[str] | None = None,
    env: Mapping[str, str] | None = None,
    stderr: TextIO | None = None,
    send: Send | None = None,
    now: float | None = None,
) -> int:
    """Always 0, so dnsmasq never stops over DNS trouble; problems go to stderr (dnsmasq's log)."""
    err = stderr if stderr is not None else sys.stderr
    environ = env if env is not None else os.environ

    def log(text: str) -> None:
        err.write(f"leasedns dhcp-hook: {text}\n")
        err.flush()

    try:
        args = parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit:
        return 0  # usage errors are printed by argparse; dnsmasq must not see a failure
    if args.action not in ACTIONS:
        return 0  # init, tftp, arp-add, arp-del, relay-snoop: not ours
    flags = {k: v for k, v in vars(args).items() if k not in ("action", "args")}
    try:
        cfg = load_config(flags, environ)
        event = parse_event([args.action, *args.args], environ, time.time() if now is None else now)
    except (HookConfigError, HookEventError) as e:
        log(f"error: {e}")
        return 0
    try:
        outcome = handle(event, cfg, send if send is not None else sender(cfg, log))
    except OSError as e:
        reason = "timed out" if isinstance(e, TimeoutError) else (e.strerror or str(e))
        log(f"error: {event.action} {event.address}: no answer from {cfg.server}#{cfg.port}: "
            f"{reason}")  # fmt: skip
        return 0
    for text, failed in outcome.lines:
        if failed:
            log(f"error: {text}")
        elif cfg.verbose:
            log(text)
    return 0
