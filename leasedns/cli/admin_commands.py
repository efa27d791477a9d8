"""Admin commands (explain, pin, unpin, cleanup, restore, tombstones): clients of the HTTP API."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any


def add_admin_commands(sub: Any, server_flags: Callable[[argparse.ArgumentParser], None]) -> None:
    return None
