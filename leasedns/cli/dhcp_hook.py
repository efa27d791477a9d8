"""dnsmasq --dhcp-script hook: lease events to TSIG-signed updates carrying identity and lease."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    return 2
