"""Who may transfer a zone: TSIG keys by role or name, client addresses by network.

A zone's ``allow_transfer`` list holds entries of these forms:

- an address or network: ``192.0.2.7``, ``10.0.0.0/8``, ``::1``, ``fd00::/8``;
- ``key:NAME``: any valid TSIG signature by that key, whatever its role;
- ``any``: every address; ``none``: no address (only keys).

A request signed (validly) by a key with the ``transfer`` or ``admin`` role is
always allowed.  With no ``allow_transfer`` given, only loopback (127.0.0.0/8
and ::1) may transfer: a zone leaks host names and addresses, so the default
is closed to the network, yet ``dig AXFR @127.0.0.1`` works on the box itself.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from leasedns.keys import KeySpecError, Role, TsigKey, parse_key_name
from leasedns.wire.names import Name

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

LOOPBACK: tuple[IPNetwork, ...] = (
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
)
TRANSFER_ROLES = frozenset({Role.TRANSFER, Role.ADMIN})


class AclSpecError(ValueError):
    """An ``allow_transfer`` entry that is neither an address, a network, a key nor any/none."""


@dataclass(frozen=True)
class TransferAcl:
    networks: tuple[IPNetwork, ...] = LOOPBACK
    keys: frozenset[Name] = frozenset()

    def allows(self, host: str | None, key: TsigKey | None) -> bool:
        """``key`` must be the key of a *verified* TSIG signature, or None."""
        if key is not None and (key.role in TRANSFER_ROLES or key.name in self.keys):
            return True
        addr = _address(host)
        return addr is not None and any(addr in net for net in self.networks)


DEFAULT_ACL = TransferAcl()


def _address(host: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not host:
        return None
    try:
        addr = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped  # a dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d
    return addr


def parse_acl(entries: Iterable[str]) -> TransferAcl:
    """Build an ACL from ``allow_transfer`` entries; an empty list means loopback only."""
    entries = [str(e).strip() for e in entries]
    if not entries:
        return DEFAULT_ACL
    nets: list[IPNetwork] = []
    keys: set[Name] = set()
    for e in entries:
        low = e.lower()
        if low == "any":
            nets += [ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")]
        elif low == "none":
            continue
        elif low.startswith("key:") or low.startswith("key "):
            try:
                keys.add(parse_key_name(e[4:].strip()))
            except KeySpecError as err:
                raise AclSpecError(f"allow_transfer entry {e!r}: {err}") from None
        else:
            try:
                nets.append(ipaddress.ip_network(e, strict=False))
            except ValueError:
                raise AclSpecError(
                    f"allow_transfer entry {e!r} is not an address, a network, key:NAME, any or none"
                ) from None
    return TransferAcl(tuple(nets), frozenset(keys))


def peer_host(addr: object) -> str | None:
    """The host part of a peer address as the listeners pass it: ``(host, port, ...)``."""
    if isinstance(addr, tuple) and addr and isinstance(addr[0], str):
        return addr[0]
    return None
