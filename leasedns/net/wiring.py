"""Plugging the update, transfer and NOTIFY engines into a server core at start."""

from __future__ import annotations

from leasedns.config import Config
from leasedns.server.core import ServerCore


def install_all(core: ServerCore, cfg: Config) -> None:
    from leasedns.net.update_wiring import install_update
    from leasedns.net.xfr_wiring import install_xfr

    install_update(core, cfg)
    install_xfr(core, cfg)
