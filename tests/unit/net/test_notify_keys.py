"""Secondaries whose NOTIFYs are TSIG-signed: the YAML shape and its resolution to keys."""

from __future__ import annotations

import base64

import pytest

from leasedns import keys
from leasedns.config import ConfigError, Endpoint, load_yaml
from leasedns.net.xfr_wiring import notify_keys
from leasedns.wire import names

SECRET = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


def test_notify_entries_with_a_key_are_signed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "c.yaml"
    f.write_text(
        "notify:\n  - 127.0.0.1:5301\n  - {address: '[::1]:5302', key: xfr-key}\n"
        "zones:\n  - file: z.zone\n    notify: [{address: 127.0.0.2:53, key: xfr-key.}]\n"
    )
    cfg = load_yaml(str(f))
    assert cfg.notify == [Endpoint("127.0.0.1", 5301), Endpoint("::1", 5302)]
    assert cfg.zones[0].notify == [Endpoint("127.0.0.2", 53)]
    ring = keys.Keyring(
        [
            keys.TsigKey(
                names.from_text("xfr-key."),
                "hmac-sha256",
                base64.b64decode(SECRET),
                keys.Role.TRANSFER,
            )
        ]
    )
    got = notify_keys(cfg, ring)
    assert set(got) == {("::1", 5302), ("127.0.0.2", 53)}
    assert all(k.name == names.from_text("xfr-key.") for k in got.values())


def test_unknown_notify_key_is_a_config_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "c.yaml"
    f.write_text("notify:\n  - {address: 127.0.0.1:5301, key: nope}\n")
    with pytest.raises(ConfigError, match="notify key 'nope'"):
        notify_keys(load_yaml(str(f)), keys.Keyring())
