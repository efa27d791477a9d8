"""Who may change what: per-zone rules modelled on BIND's ``update-policy``."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import dns.rdatatype

from leasedns.wire import names
from leasedns.wire.names import Name

T_SOA, T_NS = 6, 2


class PolicyError(ValueError):
    """An update-policy rule that cannot be understood."""


@dataclass(frozen=True)
class Rule:
    """``grant`` a key name, ``role:ROLE`` or ``*``; ``match`` how the owner name is checked."""

    grant: str
    match: str  # name | subdomain | wildcard | self | zonesub
    name: Name
    types: frozenset[int] | None  # None = any type except SOA and NS... unless listed

    def allows(self, key_name: Name | None, role: str, zone: Name, owner: Name, rtype: int) -> bool:
        if self.grant != "*":
            if self.grant.startswith("role:"):
                if self.grant[5:] != role:
                    return False
            elif key_name is None or _key_name(self.grant) != key_name:
                return False
        if self.types is None:
            if rtype in (T_SOA, T_NS):
                return False
        elif self.types is not ALL_TYPES and rtype not in self.types:
            return False
        m = self.match
        if m == "zonesub":
            return names.is_subdomain(owner, zone)
        if m == "name":
            return owner == self.name
        if m == "subdomain":
            return names.is_subdomain(owner, self.name)
        if m == "wildcard":  # "*.dhcp.lab.example." matches one or more labels below
            base = self.name[1:] if self.name[:1] == (b"*",) else self.name
            return len(owner) > len(base) and names.is_subdomain(owner, base)
        if m == "self":
            return key_name is not None and owner == key_name
        return False


def _key_name(text: str) -> Name:
    """Key names are absolute whether or not the rule wrote the trailing dot."""
    return names.from_text(text if text.endswith(".") else text + ".")


ALL_TYPES: frozenset[int] = frozenset({-1})  # "types: ANY": every type, SOA and NS included (BIND)


def _types(v: Any) -> frozenset[int] | None:
    if v is None:
        return None  # omitted: every type but SOA and NS
    if v in ("ANY", ["ANY"]):
        return ALL_TYPES
    items = v if isinstance(v, list) else str(v).split()
    try:
        return frozenset(int(dns.rdatatype.from_text(str(t))) for t in items)
    except dns.rdatatype.UnknownRdatatype as e:
        raise PolicyError(f"unknown type in update policy: {e}") from e


def parse_rules(raw: Iterable[dict[str, Any]], zone: Name) -> list[Rule]:
    out = []
    for r in raw:
        match = str(r.get("match", "zonesub"))
        if match not in ("name", "subdomain", "wildcard", "self", "zonesub"):
            raise PolicyError(f"unknown match {match!r} (name, subdomain, wildcard, self, zonesub)")
        name_text = str(r.get("name", names.to_text(zone)))
        out.append(
            Rule(
                str(r.get("grant", "*")),
                match,
                names.from_text(name_text, zone),
                _types(r.get("types")),
            )
        )
    return out


# Without rules: admins change anything; DHCP servers the records DDNS writes (RFC 4702/4704);
# hosts their own name (RFC 9664 / SRP); transfer keys nothing.
DEFAULT_RULES = (
    Rule(
        "role:dhcp", "zonesub", (), frozenset({1, 28, 12, 49, 16, 255})
    ),  # 255: D2 deletes a whole name
    Rule("role:client", "self", (), None),
)


def allowed(
    rules: list[Rule] | None, key_name: Name | None, role: str, zone: Name, owner: Name, rtype: int
) -> bool:
    if not rules:
        if role == "admin":
            return names.is_subdomain(owner, zone)
        return any(r.allows(key_name, role, zone, owner, rtype) for r in DEFAULT_RULES)
    return any(r.allows(key_name, role, zone, owner, rtype) for r in rules)


def address_allowed(acl: Iterable[str], addr: str) -> bool:
    """``allow_update`` entries are addresses or networks ("127.0.0.1", "10.0.0.0/24")."""
    try:
        ip = ipaddress.ip_address(addr.split("%")[0])
    except ValueError:
        return False
    for entry in acl:
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False
