"""Run Knot DNS's ``knotd`` as an ordinary process on a free loopback port, as a reference server."""

from __future__ import annotations

from pathlib import Path

from serverkit import PeerServer, free_port, need, start_peer, write_zone_files


def knot_config(root: Path, port: int, key: tuple[str, str, str], zones: dict[str, str]) -> str:
    """A primary zone per entry of ``zones`` (origin -> file name), updatable and transferable
    with ``key`` (name, algorithm, secret); Knot's defaults otherwise.

    Updates stay in the journal (``zonefile-sync: -1``: the zone file is never rewritten), and
    every database lives under ``root``.  One worker of each kind is plenty on loopback."""
    key_name, algorithm, secret = key
    zone_items = "".join(
        f"  - domain: {origin}\n    file: {file}\n    acl: key-rights\n"
        for origin, file in zones.items()
    )
    return f"""server:
    rundir: "{root}/run"
    listen: 127.0.0.1@{port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "{root}/db"
log:
  - target: stderr
    any: info
key:
  - id: {key_name}
    algorithm: {algorithm}
    secret: {secret}
acl:
  - id: key-rights
    key: {key_name}
    action: [update, transfer]
template:
  - id: default
    storage: "{root}"
    zonefile-sync: -1
    journal-content: changes
zone:
{zone_items}"""


def start_knot(root: Path, key: tuple[str, str, str], zones: dict[str, str]) -> PeerServer:
    """``zones`` maps an origin to its master-file text; each is written under ``root``."""
    knotd = need("knotd")
    files = write_zone_files(root, zones)
    (root / "run").mkdir(exist_ok=True)
    (root / "db").mkdir(exist_ok=True)
    port = free_port()
    conf = root / "knot.conf"
    conf.write_text(knot_config(root, port, key, files))
    return start_peer("knotd", [knotd, "-c", str(conf)], root, port, list(zones))
