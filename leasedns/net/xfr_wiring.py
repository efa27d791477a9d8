"""Zone transfer (AXFR/IXFR) and NOTIFY wiring."""

from __future__ import annotations

from leasedns.config import Config
from leasedns.server.core import ServerCore


def install_xfr(core: ServerCore, cfg: Config) -> None:
    return None
