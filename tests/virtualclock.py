"""Discrete-event plan time for running the real engine against the simulated lab at full
speed with exact durations, however many forks run at once.

``sleep(s)`` blocks its thread until plan time reaches ``now + s``. Only when the whole run
is idle does the clock wake one sleeper: every action the engine submitted has been picked
up by a worker thread (unless all of them are busy), every running worker is asleep here (so
none can finish), and the engine's own thread is blocked waiting for one in
:func:`concurrent.futures.wait` (or asleep here too). It wakes the earliest sleeper and, of
those ending at the same instant, the one whose action comes first in plan order (the
driver given to the engine is wrapped by :meth:`VirtualClock.driver`, which notes the action
each worker thread applies), moving plan time to its wake-up. The engine thus learns of
simultaneous ends one at a time in plan order, deterministically, as the estimator
(:func:`orchestrator.listsched.simulate`) assumes. Nothing else moves time, so a run takes
exactly the plan time its actions' durations and the scheduling rule give.
"""

from __future__ import annotations

import heapq
import threading
from typing import Any

from orchestrator.engine._protocols import Driver, StepResult
from orchestrator.plan import Action


class _Noting:
    """A driver that notes, per worker thread, the action it applies; all else passes on."""

    def __init__(self, inner: Driver, current: dict[int, str]) -> None:
        self._inner, self._current = inner, current

    def apply(self, action: Action, timeout_s: float, step_id: str = "") -> StepResult:
        self._current[threading.get_ident()] = action.id
        return self._inner.apply(action, timeout_s, step_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class VirtualClock:
    """A :class:`~orchestrator.engine._protocols.Clock` whose time moves only when the
    engine given to :meth:`watch` is idle (see the module docstring)."""

    def __init__(self, start: float) -> None:
        self.t = start
        self._cond = threading.Condition()
        self._sleepers: list[tuple[float, int, int]] = []  # (wake, seq, thread ident)
        self._released: set[int] = set()  # seqs woken, not yet out of sleep()
        self._current: dict[int, str] = {}  # worker thread -> the action it applies
        self._seq = 0
        self._engine: Any = None
        self._main = threading.current_thread().ident
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, daemon=True, name="virtual-clock")

    def driver(self, inner: Driver) -> Any:
        """``inner`` for the engine, noting which action each worker applies."""
        return _Noting(inner, self._current)

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
                while entry[1] not in self._released and not self._stop.is_set():
                    self._cond.wait(1.0)
            finally:
                self._released.discard(entry[1])
                self._sleepers.remove(entry)
                heapq.heapify(self._sleepers)

    def _idle(self) -> bool:
        """Called with the lock held: can nothing happen until time moves?"""
        if not self._sleepers or self._released:
            return False  # nobody to wake, or one woken that has not left sleep() yet
        engine = self._engine
        futures = list(engine.running) if engine is not None else []
        if any(f.done() for f in futures):
            return False
        asleep = {ident for _, _, ident in self._sleepers}
        running = sum(1 for f in futures if f.running())
        if running != len(asleep - {self._main}):
            return False
        if running < len(futures) and running < engine.options.forks:
            return False  # a future submitted, not yet picked up by a free worker thread
        if self._main in asleep:
            return True
        # The engine's thread is blocked in concurrent.futures.wait() while the waiter it
        # installs is on every future (an implementation detail of CPython's futures).
        return bool(futures) and all(f._waiters for f in futures)

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
                wake, seq = self._next()
                self.t = max(self.t, wake)
                self._released.add(seq)
                self._cond.notify_all()

    def _next(self) -> tuple[float, int]:
        """The sleeper to wake: earliest, then first in plan order, then first asleep."""
        wake = self._sleepers[0][0]
        position = self._engine.graph.position if self._engine is not None else {}
        due = [(s, ident) for w, s, ident in self._sleepers if w == wake]
        far = len(position)

        def order(item: tuple[int, int]) -> tuple[int, int]:
            aid = self._current.get(item[1])
            return (position.get(aid, far) if aid else far, item[0])

        return wake, min(due, key=order)[0]
