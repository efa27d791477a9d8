"""The one reactor call that sits at the timer wheel's next deadline."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from twisted.internet import reactor

from leasedns.config import Config
from leasedns.lease.book import WheelOp
from leasedns.server.core import ServerCore
from leasedns.zone.timer_engine import TimerEngine
from leasedns.zone.update_engine import Lifecycle

log = logging.getLogger("leasedns")


class WheelClock:
    """Never more than one pending ``callLater``: re-armed after every tick and every change."""

    PURGE_EVERY = 3600  # tombstones past their retention go at most an hour late

    def __init__(
        self,
        engine: TimerEngine,
        core: ServerCore,
        clock: Any = reactor,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.core = core
        self.clock = clock
        self.now = now
        self.call: Any = None
        self.purge_call = clock.callLater(self.PURGE_EVERY, self._purge)

    def _purge(self) -> None:
        """Retention is enforced on a long-running server even when no deadline fires."""
        self.engine.purge_tombstones(int(self.now()))
        self.purge_call = self.clock.callLater(self.PURGE_EVERY, self._purge)

    def arm(self) -> None:
        nd = self.engine.next_deadline()
        if self.call is not None and self.call.active():
            if nd is not None and abs(self.call.getTime() - nd) < 0.001:
                return
            self.call.cancel()
        self.call = None
        if nd is not None:
            self.call = self.clock.callLater(max(0.0, nd - self.now()), self.fire)

    def fire(self) -> None:
        self.call = None
        try:
            res = self.engine.tick(int(self.now()))
            for ch in res.changes:
                self.core.zone_changed(ch.zone, ch.serial, set(ch.touched), ch.structural)
        except Exception:  # noqa: BLE001 - keep the wheel turning; the error is logged
            log.exception("timer tick failed")
        self.arm()

    def changed(self, ops: list[WheelOp]) -> None:
        self.engine.apply(ops)
        self.arm()


def install_timers(core: ServerCore, cfg: Config, lc: Lifecycle) -> WheelClock:
    engine = TimerEngine(
        core.store,
        int(time.time()),
        lc.settings_for,
        lc.roles_for,
        lambda: core.zones.origins,
        lc.blast,
        cfg.serial_policy,
        cfg.journal_depth,
        cfg.journal_max_bytes,
    )
    wc = WheelClock(engine, core)
    core.timer_engine = engine

    def start() -> None:
        n = engine.load(int(time.time()))
        engine.purge_tombstones(int(time.time()))
        log.info("timers: %d pending deadline(s) loaded", n)
        wc.arm()

    core.start_hooks.append(start)
    return wc
