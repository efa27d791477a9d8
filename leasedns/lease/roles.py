"""Role awareness: which RRsets are infrastructure, and why (recomputed when zones change).

An RRset is infrastructure when its name is the target of a CNAME, MX, SRV or
NS record of human provenance, when one of its addresses appears in a human
A/AAAA record, when it lies in a configured infrastructure network or name
pattern, or when it is pinned.
"""

from __future__ import annotations

import fnmatch
import functools
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from leasedns.query.lookup import rdata_target
from leasedns.store.records import RRsetMeta, State
from leasedns.store.zonestore import Reader
from leasedns.wire import names
from leasedns.wire.names import Name

T_A, T_NS, T_CNAME, T_MX, T_AAAA, T_SRV = 1, 2, 5, 15, 28, 33
_PINNED = State.PINNED  # bound once: asked for every RRset a removal looks at
_POINTERS = {T_CNAME: "CNAME", T_MX: "MX", T_SRV: "SRV", T_NS: "NS"}


def address_text(rtype: int, rdata: bytes) -> str | None:
    try:
        if rtype == T_A and len(rdata) == 4:
            return f"{rdata[0]}.{rdata[1]}.{rdata[2]}.{rdata[3]}"  # str(IPv4Address), cheaper
        if rtype == T_AAAA and len(rdata) == 16:
            return str(ipaddress.IPv6Address(rdata))
    except ValueError:
        return None
    return None


@dataclass
class InfraSettings:
    networks: list[str] = field(default_factory=list)
    name_patterns: list[str] = field(default_factory=list)


@dataclass
class RoleIndex:
    """Why each name is infrastructure: name -> reason sentences."""

    targets: dict[Name, list[str]] = field(default_factory=dict)
    human_addresses: dict[str, str] = field(default_factory=dict)
    settings: InfraSettings = field(default_factory=InfraSettings)

    @classmethod
    def build(cls, r: Reader, zones: Iterable[Name], settings: InfraSettings) -> RoleIndex:
        idx = cls(settings=settings)
        for zone in zones:
            metas = {(o, t): m for o, t, m in r.iter_meta(zone)}
            for owner, rtype, _ttl, rdatas in r.iter_zone(zone):
                meta = metas.get((owner, rtype))
                if meta is not None and not (meta.provenance.is_human or meta.human_touched):
                    continue
                if rtype in _POINTERS:
                    for rd in rdatas:
                        t = rdata_target(rtype, rd)
                        if t is not None:
                            why = f"target of {_POINTERS[rtype]} {names.to_text(owner)}"
                            idx.targets.setdefault(t, []).append(why)
                elif rtype in (T_A, T_AAAA):
                    for rd in rdatas:
                        a = address_text(rtype, rd)
                        if a is not None:
                            idx.human_addresses.setdefault(a, names.to_text(owner))
        return idx

    def is_infrastructure(
        self, owner: Name, rtype: int, rdatas: tuple[bytes, ...], meta: RRsetMeta | None
    ) -> bool:
        """``bool(reasons(...))`` without writing the sentences: asked before every removal.

        The usual answers (not a target, not pinned, no address in a human record) need
        no text; configured networks and name patterns take the sentence-writing path.
        """
        if self.targets.get(owner) or (meta is not None and meta.state == _PINNED):
            return True
        if self.settings.networks or self.settings.name_patterns:
            return bool(self.reasons(owner, rtype, rdatas, meta))
        human = self.human_addresses
        if human and (rtype == T_A or rtype == T_AAAA):
            for rd in rdatas:
                a = address_text(rtype, rd)
                other = human.get(a) if a is not None else None
                if other is not None and other != names.to_text(owner):
                    return True
        return False

    def reasons(
        self, owner: Name, rtype: int, rdatas: tuple[bytes, ...], meta: RRsetMeta | None
    ) -> list[str]:
        """Plain sentences saying why this RRset is infrastructure (empty: it is not)."""
        out = list(self.targets.get(owner, []))
        networks = self.settings.networks
        for rd in rdatas:
            a = address_text(rtype, rd)
            if a is None:
                continue
            other = self.human_addresses.get(a)
            if other is not None and other != names.to_text(owner):
                out.append(f"address {a} is also in the human record {other}")
            if networks:
                ip = ipaddress.ip_address(a)
                for net in networks:
                    parsed = _network(net)
                    if parsed is not None and ip in parsed:
                        out.append(f"address {a} is in infrastructure network {net}")
        if self.settings.name_patterns:
            text = names.to_text(owner)
            for pat in self.settings.name_patterns:
                if fnmatch.fnmatch(text, pat) or fnmatch.fnmatch(text.rstrip("."), pat.rstrip(".")):
                    out.append(f"name matches infrastructure pattern {pat}")
        if meta is not None and meta.state == _PINNED:
            out.append("pinned by an admin")
        return out


@functools.lru_cache(maxsize=256)
def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """A configured network, parsed once rather than per address checked (None: not a network)."""
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None
