"""Discrete-event plan time for running the real engine against the simulated lab at full
speed with exact durations, however many forks run at once.

``sleep(s)`` blocks its thread until plan time reaches ``now + s``. Plan time jumps to the
earliest wake-up only when the whole run is idle: every running worker of the engine is
asleep here (so none can finish) and the engine's own thread is blocked waiting for one
(in :func:`concurrent.futures.wait`) or asleep here too. Nothing else moves time, so a run
takes exactly the plan time its actions' durations and the scheduling rule give.
"""

from __future__ import annotations

import heapq
import sys
import threading
from types import FrameType
from typing import Any

_WAIT_FILE = "concurrent/futures/_base.py"


def _in_futures_wait(frame: FrameType | None) -> bool:
    while frame is not None:
        code = frame.f_code
        if code.co_name == "wait" and code.co_filename.replace("\\", "/").endswith(_WAIT_FILE):
            return True
        frame = frame.f_back
    return False


class VirtualClock:
    """A :class:`~orchestrator.engine._protocols.Clock` whose time moves only when the
    engine given to :meth:`watch` is idle (see the module docstring)."""

    def __init__(self, start: float) -> None:
        self.t = start
        self._cond = threading.Condition()
        self._sleepers: list[tuple[float, int, int]] = []  # (wake, seq, thread ident)
        self._seq = 0
        self._engine: Any = None
        self._main = threading.current_thread().ident
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, daemon=True, name="virtual-clock")

    def watch(self, engine: Any) -> None:
        """Start moving time for ``engine`` (run it from the thread that calls this)."""
        self._engine = engine
        self._main = threading.current_thread().ident
        self._ticker.start()

    def close(self) -> None:
        """Stop the ticker thread."""
        self._stop.set()
        if self._ticker.is_alive():
            self._ticker.join(5)

    def now(self) -> float:
        with self._cond:
            return self.t

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        with self._cond:
            wake = self.t + seconds
            self._seq += 1
            entry = (wake, self._seq, threading.get_ident())
            heapq.heappush(self._sleepers, entry)
            try:
                while self.t < wake and not self._stop.is_set():
                    self._cond.wait(1.0)
            finally:
                self._sleepers.remove(entry)
                heapq.heapify(self._sleepers)

    def _idle(self) -> bool:
        """Called with the lock held: can nothing happen until time moves?"""
        if not self._sleepers or self._sleepers[0][0] <= self.t:
            return False  # someone is due and has not woken yet
        engine = self._engine
        futures = list(engine.running) if engine is not None else []
        if any(f.done() for f in futures):
            return False
        asleep = {ident for _, _, ident in self._sleepers}
        if sum(1 for f in futures if f.running()) != len(asleep - {self._main}):
            return False
        if self._main in asleep:
            return True
        return _in_futures_wait(sys._current_frames().get(self._main or 0))

    def _tick(self) -> None:
        idle_seen = 0
        while not self._stop.wait(0.0005):
            with self._cond:
                if not self._idle():
                    idle_seen = 0
                    continue
                idle_seen += 1
                if idle_seen < 2:  # idle twice in a row: the state is settled
                    continue
                idle_seen = 0
                self.t = self._sleepers[0][0]
                self._cond.notify_all()
