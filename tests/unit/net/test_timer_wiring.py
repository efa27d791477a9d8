"""The one reactor call at the wheel's next deadline, driven by Twisted's fake clock."""

from __future__ import annotations

import sys
from pathlib import Path

from twisted.internet.task import Clock

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lease"))
from harness import Harness, deferred_delete  # noqa: E402

from leasedns.net.timer_wiring import WheelClock  # noqa: E402


class Core:
    def __init__(self) -> None:
        self.changed: list[tuple[object, int]] = []

    def zone_changed(self, zone, serial, names, structural):  # type: ignore[no-untyped-def]
        self.changed.append((zone, serial))


def test_deadline_fires_through_one_call_later_and_purge_is_hourly(tmp_path) -> None:  # type: ignore[no-untyped-def]
    h = Harness(tmp_path)
    reactor = Clock()
    reactor.advance(h.clock.t)  # both clocks on the same time line
    core = Core()
    wc = WheelClock(h.timers, core, reactor, now=lambda: reactor.seconds())  # type: ignore[arg-type]
    h.engine.on_wheel_ops = wc.changed
    u = h.update()
    u.add("h1", 3600, "A", "10.0.9.1")
    deferred_delete(u, "h1", 30, "A", "10.0.9.1")
    h.send(u)
    pending = [c for c in reactor.getDelayedCalls() if c.func == wc.fire]
    assert len(pending) == 1, "exactly one reactor call for the wheel"
    h.clock.t = reactor.seconds() + 29
    reactor.advance(29)
    assert h.rrset("h1", 1) is not None
    h.clock.t += 1
    reactor.advance(1)
    assert h.rrset("h1", 1) is None and core.changed, "carried out at its deadline, zone changed"
    purges = [c for c in reactor.getDelayedCalls() if c.func == wc._purge]
    assert len(purges) == 1 and purges[0].getTime() - reactor.seconds() <= WheelClock.PURGE_EVERY
