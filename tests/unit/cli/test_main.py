"""The ``leasedns`` command's own argument handling: bad input is a one-line error, exit 1."""

from __future__ import annotations

import time

import pytest

from leasedns.cli.main import _parse_since, main
from leasedns.config import ConfigError


def test_keygen_prints_both_forms(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keygen", "lab-key", "--alg", "hmac-sha512"]) == 0
    out = capsys.readouterr().out
    assert 'key "lab-key" {' in out and "algorithm hmac-sha512;" in out and "--key " in out


def test_keygen_with_an_unknown_algorithm_is_an_error_not_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["keygen", "x", "--alg", "foo"]) == 1
    err = capsys.readouterr().err
    assert (
        err.startswith("leasedns: keygen: unsupported algorithm 'foo'") and "Traceback" not in err
    )


@pytest.mark.parametrize(("text", "ago"), [("90", 90), ("90m", 5400), ("2h", 7200), ("1d", 86400)])
def test_since_as_a_duration(text: str, ago: int) -> None:
    assert abs(_parse_since(text) - (time.time() - ago)) < 5


def test_since_as_an_iso_time_and_a_bad_one() -> None:
    assert _parse_since("2026-11-21T10:00:00+00:00") == 1795255200.0
    with pytest.raises(ConfigError, match="--since 'yesterday'"):
        _parse_since("yesterday")
