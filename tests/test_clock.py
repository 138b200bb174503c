"""Plan-time clocks for rehearsals."""

from __future__ import annotations

import time

from orchestrator.engine._clock import ScaledClock


def test_a_frozen_clock_stands_still_until_unfrozen() -> None:
    clock = ScaledClock(1000.0, 0.001, frozen=True)
    time.sleep(0.02)
    assert clock.now() == 1000.0  # start-up costs no plan time
    clock.unfreeze()
    time.sleep(0.02)
    assert 1010.0 < clock.now() < 1000.0 + 1000  # about 20 plan seconds later


def test_scaled_sleep_and_jump() -> None:
    clock = ScaledClock(0.0, 0.001)
    t0 = time.monotonic()
    clock.sleep(20)  # 20 plan seconds = 20 ms
    assert time.monotonic() - t0 >= 0.019
    clock.jump(86400.0)
    assert clock.now() >= 86400.0
    clock.jump(10.0)  # never backwards
    assert clock.now() >= 86400.0


def test_zero_scale_is_a_still_clock() -> None:
    clock = ScaledClock(5.0, 0.0)
    clock.sleep(3600)
    assert clock.now() == 5.0
