"""Plugging the update, transfer and NOTIFY engines into a server core at start."""

from __future__ import annotations

from leasedns.config import Config
from leasedns.server.core import ServerCore


def install_all(core: ServerCore, cfg: Config) -> None:
    from leasedns.net.lifecycle_wiring import build_lifecycle
    from leasedns.net.timer_wiring import install_timers
    from leasedns.net.update_wiring import install_update
    from leasedns.net.xfr_wiring import install_xfr

    lc = build_lifecycle(core, cfg)
    wheel = install_timers(core, cfg, lc)
    engine = install_update(core, cfg)
    engine.on_wheel_ops = wheel.changed
    engine.lifecycle = lc
    core.wheel_clock = wheel
    install_xfr(core, cfg)

    from leasedns.net.api_wiring import install_api

    install_api(core, cfg)
