"""Clocks: real time for real runs, scaled plan time for rehearsals on the simulated lab."""

from __future__ import annotations

import threading
import time


class RealClock:
    """Wall-clock time."""

    def now(self) -> float:
        """Seconds since the epoch."""
        return time.time()

    def sleep(self, seconds: float) -> None:
        """Sleep ``seconds``."""
        if seconds > 0:
            time.sleep(seconds)


class ScaledClock:
    """Plan time that runs ``1 / time_scale`` times faster than wall time, starting at
    ``start`` (plan time, epoch seconds). ``time_scale=0.001`` turns a 30-minute install
    into 1.8 wall seconds. :meth:`jump` moves plan time forward (e.g. to the next window).

    A clock made ``frozen`` stands still at ``start`` until :meth:`unfreeze`: a controller's
    own start-up (opening the journal and the lab) then costs no plan time."""

    def __init__(self, start: float, time_scale: float, *, frozen: bool = False) -> None:
        if time_scale < 0:
            raise ValueError("time_scale must be >= 0")
        self._scale = time_scale
        self._lock = threading.Lock()
        self._origin_wall = time.monotonic()
        self._origin_plan = start
        self._jumped = 0.0
        self._frozen = frozen

    def unfreeze(self) -> None:
        """Start plan time moving from where it stands."""
        with self._lock:
            if self._frozen:
                self._frozen = False
                self._origin_wall = time.monotonic()

    @property
    def time_scale(self) -> float:
        """Wall seconds per plan second."""
        return self._scale

    def now(self) -> float:
        """The current plan time."""
        with self._lock:
            if self._frozen:
                return self._origin_plan + self._jumped
            elapsed = time.monotonic() - self._origin_wall
            rate = 1.0 / self._scale if self._scale else 0.0
            return self._origin_plan + self._jumped + elapsed * rate

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of plan time (``seconds * time_scale`` wall seconds)."""
        if seconds > 0 and self._scale:
            time.sleep(seconds * self._scale)

    def jump(self, to: float) -> None:
        """Move plan time forward to ``to`` (never backwards)."""
        with self._lock:
            now = self._origin_plan + self._jumped
            if not self._frozen and self._scale:
                now += (time.monotonic() - self._origin_wall) / self._scale
            if to > now:
                self._jumped += to - now
