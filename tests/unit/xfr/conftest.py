"""Fixtures for the transfer tests; the helpers live in ``xfr_lab``."""

from __future__ import annotations

from pathlib import Path

import pytest
from xfr_lab import Lab


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    return Lab(tmp_path)
