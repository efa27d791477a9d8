"""Run BIND's ``named`` as an ordinary process on a free loopback port, as a reference server."""

from __future__ import annotations

from pathlib import Path

from serverkit import PeerServer, free_port, need, start_peer, write_zone_files

# ``check-integrity no``: BIND refuses an UPDATE that leaves an in-zone MX or NS target
# without addresses; that is its local policy, not RFC 2136, and Knot does not do it.

# ``zero-no-soa-ttl no``: by default BIND gives the SOA in a negative answer to an SOA query
# TTL 0; RFC 2308 §3 says min(SOA TTL, MINIMUM), which is what leasedns (and Knot) send.
#
# ``minimal-responses no-auth``: no NS RRset in the authority section of positive answers
# (RFC 1034 §4.3.2 does not require it; leasedns and Knot leave it out), but glue and target
# addresses in the additional section, so that section can still be compared.
MINIMAL_RESPONSES = "no-auth"


def bind_config(root: Path, port: int, key: tuple[str, str, str], zones: dict[str, str]) -> str:
    """A primary zone per entry of ``zones`` (origin -> file name), updatable and transferable
    with ``key`` (name, algorithm, secret); BIND's defaults otherwise."""
    key_name, algorithm, secret = key
    key_name = key_name.rstrip(".")
    zone_blocks = "".join(
        f"""zone "{origin.rstrip(".")}" {{
    type primary;
    file "{file}";
    update-policy {{ grant {key_name} zonesub ANY; }};
    check-integrity no;
    allow-transfer {{ key {key_name}; }};
}};
"""
        for origin, file in zones.items()
    )
    return f"""options {{
    directory "{root}";
    pid-file "{root}/named.pid";
    session-keyfile "{root}/session.key";
    managed-keys-directory "{root}";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    notify no;
    dnssec-validation no;
    minimal-responses {MINIMAL_RESPONSES};
    zero-no-soa-ttl no;
}};
controls {{ }};
key "{key_name}" {{
    algorithm {algorithm};
    secret "{secret}";
}};
{zone_blocks}"""


def start_bind(root: Path, key: tuple[str, str, str], zones: dict[str, str]) -> PeerServer:
    """``zones`` maps an origin to its master-file text; each is written under ``root``."""
    named = need("named")
    files = write_zone_files(root, zones)
    port = free_port()
    conf = root / "named.conf"
    conf.write_text(bind_config(root, port, key, files))
    # -g: foreground, log to stderr; -n 1: one worker thread is plenty on loopback.
    return start_peer("named", [named, "-g", "-n", "1", "-c", str(conf)], root, port, list(zones))
