"""The YAML configuration: defaults, every key, and errors that name file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from leasedns.config import Config, ConfigError, Endpoint, load_yaml, parse_endpoint

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> str:
    p = tmp_path / "leasedns.yaml"
    p.write_text(text)
    return str(p)


def test_shipped_example_loads_with_its_zones() -> None:
    cfg = load_yaml(str(ROOT / "leasedns.yaml"))
    assert cfg.listen == [Endpoint("127.0.0.1", 5300)]
    assert cfg.http == Endpoint("127.0.0.1", 9153)
    assert [Path(z.file).name for z in cfg.zones] == [
        "lab.example.zone",
        "0.0.10.in-addr.arpa.zone",
    ]
    assert cfg.data_dir == str(ROOT / "var"), "relative to the YAML file"


def test_defaults_without_a_file() -> None:
    cfg = Config()
    assert (
        cfg.profile == "balanced"
        and cfg.max_udp_payload == 1232
        and cfg.serial_policy == "increment"
    )


@pytest.mark.parametrize(
    ("text", "port", "host"),
    [
        ("127.0.0.1:53", 53, "127.0.0.1"),
        ("[::1]:5300", 5300, "::1"),
        ("::1", 53, "::1"),
        ("localhost", 53, "localhost"),
    ],
)
def test_endpoints(text: str, port: int, host: str) -> None:
    assert parse_endpoint(text) == Endpoint(host, port)


def test_every_lifecycle_key(tmp_path: Path) -> None:
    cfg = load_yaml(
        write(
            tmp_path,
            "profile: conservative\ngrace: 120\ntombstone_retention: 60\n"
            "blast_radius: {share: 0.5, window: 30, min: 2}\n"
            "infrastructure: {networks: [10.0.0.0/28]}\n"
            "zones:\n  - file: z.zone\n    profile: aggressive\n    keep_on_expiry: true\n"
            "    allow_update: [127.0.0.1]\n    allow_update_role: dhcp\n"
            "    profile_overrides: [{names: '*.iot.lab.example.', profile: balanced}]\n",
        )
    )
    z = cfg.zones[0]
    assert (cfg.profile, cfg.grace, cfg.tombstone_retention) == ("conservative", 120, 60)
    assert cfg.blast_radius == {"share": 0.5, "window": 30, "min": 2}
    assert (z.profile, z.keep_on_expiry, z.allow_update_role) == ("aggressive", True, "dhcp")
    assert z.profile_overrides == [{"names": "*.iot.lab.example.", "profile": "balanced"}]


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        ("listen: [127.0.0.1:5300\n", ":2:", "expected"),
        ("bogus: 1\n", ":1:", "unknown setting"),
        ("zones:\n  - file: a.zone\n    profile: wrong\n", ":2:", "profile must be one of"),
        ("zones:\n  - origin: x.\n", ":2:", "needs 'file'"),
        ("serial_policy: weekly\n", ":1:", "serial_policy"),
        ("listen: [127.0.0.1:99999]\n", ":1:", "bad address"),
        ("lease_update_interval: -1\n", ":1:", "lease_update_interval"),
        ("keys:\n  - {name: k, secret: 'not base64!!'}\n", ":2:", "key: "),
        ("keys:\n  - {name: k, secret: c2VjcmV0, role: wizard}\n", ":2:", "role"),
        ("keys:\n  - {file: missing.key}\n", ":2:", "missing.key"),
        ("zones:\n  - file: a.zone\n    allow_transfer: [bogus-acl]\n", ":2:", "bogus-acl"),
        ("zones:\n  - file: a.zone\n    allow_update: [10.0.0.0/33]\n", ":2:", "allow_update"),
        (
            "zones:\n  - file: a.zone\n    update_policy:\n      - grant: '*'\n"
            "        match: nonsense\n",
            ":4:",
            "update_policy: unknown match",
        ),
        (
            "zones:\n  - file: a.zone\n    update_policy:\n      - {types: [NOTATYPE]}\n",
            ":4:",
            "unknown type",
        ),
    ],
)
def test_errors_name_file_and_line(tmp_path: Path, text: str, where: str, what: str) -> None:
    with pytest.raises(ConfigError) as e:
        load_yaml(write(tmp_path, text))
    msg = str(e.value)
    assert msg.startswith(str(tmp_path)) and where in msg and what in msg, msg


def test_server_identity_strings(tmp_path: Path) -> None:
    from leasedns.server.core import identity

    assert identity(Config())[(b"version", b"bind")].startswith("leasedns ")
    f = tmp_path / "c.yaml"
    f.write_text("version: none\nhostname: ns1.lab.example\n")
    cfg = load_yaml(str(f))
    assert (cfg.version, cfg.hostname) == ("", "ns1.lab.example")
    ids = identity(cfg)
    assert (b"version", b"bind") not in ids  # hidden: REFUSED, as BIND's "version none;"
    assert ids[(b"hostname", b"bind")] == ids[(b"id", b"server")] == "ns1.lab.example"


def test_lease_update_interval(tmp_path: Path) -> None:
    assert Config().lease_update_interval == 1.0  # RFC 9664 §8: on by default
    assert load_yaml(write(tmp_path, "lease_update_interval: 0.5\n")).lease_update_interval == 0.5


def test_a_key_file_is_found_beside_the_configuration(tmp_path: Path) -> None:
    """Like zone files: a relative ``file`` is read from the YAML file's directory."""
    (tmp_path / "d2.key").write_text(
        'key "d2-key" { algorithm hmac-sha256; secret "c2VjcmV0IGZvciBkMg=="; };\n'
    )
    cfg = load_yaml(write(tmp_path, "keys:\n  - {file: d2.key, role: dhcp}\n"))
    assert cfg.keys[0]["file"] == str(tmp_path / "d2.key")


def test_a_bad_key_on_the_command_line_is_a_config_error() -> None:
    import argparse

    from leasedns.cli.main import build_config

    with pytest.raises(ConfigError, match="--key: "):
        build_config(argparse.Namespace(key=["k:hmac-sha256:not base64!!"]))
