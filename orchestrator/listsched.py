"""List scheduling with span admission: the one rule by which the engine starts actions and
by which the estimator predicts a run (so the estimate honours ``--forks``).

Each time a fork is free, the ready action with the longest remaining path starts
(critical path first, then plan order), up to ``forks`` at once. Work *committed* to closing
the spans already open (every pending action the end of an open span still waits for, see
:meth:`Admission.closure`) always may. Any other action (*new work*) is held when

- the run is closing (failure budget spent, stop requested): all new work is held;
- it would open a span while ``SPAN_SLOTS * forks`` spans are open (one per fork): no new
  span opens this round, other new work may start. A batch's spans are never all opened
  at once (spans that an open span's closing needs, like an all-at-once pool's, are
  committed work and open regardless);
- there is a maintenance window and a forward simulation of this same rule, with the action
  started and the spans it opens committed, does not close every open span by the window
  end on the forks: all new work of lower priority is held for this round too.

Barriers complete at once, when a fork is free. Pure: no clock, no I/O; times are floats.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from .rungraph import OPENERS, RunGraph, Span, SpanKey, span_keys

#: Spans open at once per fork, at most (an open span's end counts until it has finished).
SPAN_SLOTS = 1
_EPSILON = 1e-6
_OPEN = frozenset({"pending", "running"})  # states of a span's end while the span is open


class Admission:
    """Which ready actions start now. ``state`` (action id → ``pending``, ``running``,
    ``done``...) is read, never written: the caller owns it and marks what it starts."""

    def __init__(
        self, graph: RunGraph, forks: int, state: Mapping[str, str], window_end: float | None
    ) -> None:
        self.graph, self.forks, self.state, self.window_end = graph, forks, state, window_end
        self.opened: set[SpanKey] = set()
        self.committed: set[str] = set()  # pending actions that open spans still wait for
        self.refused: str | None = None  # the first action the window refused
        self.live: set[SpanKey] = set()  # opened spans whose end has not finished
        # ready queues: committed work, new work that opens a span, other new work
        self._ready_c: list[tuple[int, int, str]] = []
        self._ready_o: list[tuple[int, int, str]] = []
        self._ready_n: list[tuple[int, int, str]] = []
        self._in_c: set[str] = set()
        self._in_o: set[str] = set()
        self._in_n: set[str] = set()
        # per action: its heap key, and the spans it may open
        self._key = {aid: (-graph.priority[aid], graph.position[aid], aid) for aid in graph.order}
        self._opens: dict[str, tuple[SpanKey, ...]] = {}
        for aid, action in graph.actions.items():
            if action.kind in OPENERS:
                keys = tuple(k for k in span_keys(action) if k in graph.spans)
                if keys:
                    self._opens[aid] = keys

    # -- state -------------------------------------------------------------------------
    def restore(self) -> None:
        """Rebuild the open spans and the committed work from ``state`` (on resume)."""
        for aid in self.graph.order:
            if self.state[aid] != "pending" and self.graph.actions[aid].kind in OPENERS:
                self.opened.update(k for k in span_keys(self.graph.actions[aid]))
        spans = self.open_spans()
        self.live = {
            k
            for k in self.opened
            if k in self.graph.spans and self.state[self.graph.spans[k].end] in _OPEN
        }
        self.committed = self.closure(s.end for s in spans)
        for aid in self.committed & (self._in_n | self._in_o):
            self.push(aid)  # queued before the restore: committed after all

    def open_spans(self) -> list[Span]:
        """The spans opened whose end has not started."""
        spans = (self.graph.spans[k] for k in sorted(self.opened) if k in self.graph.spans)
        return [s for s in spans if self.state[s.end] == "pending"]

    def new_spans(self, aid: str) -> list[Span]:
        """The spans that starting ``aid`` would open."""
        keys = self._opens.get(aid)
        if not keys:
            return []
        return [self.graph.spans[k] for k in keys if k not in self.opened]

    def closure(self, ends: Iterable[str]) -> set[str]:
        """Every pending action that must run before ``ends`` can finish (pending ends
        included), and, when that opens further spans, what those spans' ends need too."""
        seen: set[str] = set()
        spans: set[SpanKey] = set()
        stack = list(ends)
        while stack:
            aid = stack.pop()
            if aid in seen or self.state[aid] != "pending":
                continue
            seen.add(aid)
            action = self.graph.actions[aid]
            stack.extend(action.after)
            if action.kind in OPENERS:
                for key in span_keys(action):
                    if key in self.graph.spans and key not in self.opened and key not in spans:
                        spans.add(key)
                        stack.append(self.graph.spans[key].end)
        return seen

    # -- the ready queues --------------------------------------------------------------
    def push(self, aid: str) -> None:
        """``aid`` is ready (everything it waits for is done)."""
        if aid in self.committed:
            heap, members = self._ready_c, self._in_c
        elif self.new_spans(aid):
            heap, members = self._ready_o, self._in_o
        else:
            heap, members = self._ready_n, self._in_n
        if aid not in members:
            members.add(aid)
            heapq.heappush(heap, self._key[aid])

    def queued(self) -> Iterator[str]:
        """The ready actions not started yet."""
        for _, _, aid in (*self._ready_c, *self._ready_o, *self._ready_n):
            if self.state[aid] == "pending":
                yield aid

    def _members(self, heap: list[tuple[int, int, str]]) -> set[str]:
        if heap is self._ready_c:
            return self._in_c
        return self._in_o if heap is self._ready_o else self._in_n

    def _top(self, heap: list[tuple[int, int, str]]) -> tuple[int, int, str] | None:
        """The first pending item of ``heap`` (stale ones dropped), not removed."""
        if not heap:
            return None
        if self.state[heap[0][2]] == "pending":
            return heap[0]
        members = self._members(heap)
        while heap and self.state[heap[0][2]] != "pending":
            members.discard(heapq.heappop(heap)[2])
        return heap[0] if heap else None

    def _take(self, heap: list[tuple[int, int, str]]) -> str:
        aid = heapq.heappop(heap)[2]
        self._members(heap).discard(aid)
        return aid

    def _open(self, aid: str) -> None:
        spans = self.new_spans(aid) if aid in self._opens else None
        if spans:
            added = self.closure(s.end for s in spans)
            self.opened.update(s.key for s in spans)
            self.live.update(s.key for s in spans)
            self.committed |= added
            for other in added:
                if other in self._in_n or other in self._in_o:
                    self.push(other)  # now committed: queued there too, the stale copy skipped
        self.committed.discard(aid)

    # -- the decision ------------------------------------------------------------------
    def select(
        self,
        now: float,
        free: Callable[[], int],
        busy: Callable[[], Mapping[str, float]],
        closing: bool = False,
        veto: Callable[[str], bool] | None = None,
    ) -> Iterator[str]:
        """Yield the actions to start now, in order, while ``free()`` forks remain. The
        caller starts each one (a barrier: completes it) before asking for the next.
        ``busy()`` maps what runs to when it is expected to end; ``veto`` holds back an
        action the caller may not start (it stays queued)."""
        held: list[str] = []
        blocked = False  # all new work is held for the rest of this round
        no_slot = False  # no new span opens in this round
        try:
            while free() > 0:
                best, heap = self._top(self._ready_c), self._ready_c
                if not blocked:
                    for other in (self._ready_n,) if no_slot else (self._ready_o, self._ready_n):
                        top = self._top(other)
                        if top is not None and (best is None or top < best):
                            best, heap = top, other
                if best is None:
                    break
                aid = self._take(heap)
                if heap is not self._ready_c and aid not in self.committed:
                    hold = self._hold(aid, now, busy, closing)
                    if hold:
                        held.append(aid)
                        no_slot = True
                        blocked = blocked or hold == "all"
                        continue
                if veto is not None and veto(aid):
                    held.append(aid)
                    continue
                if self.graph.actions[aid].kind != "barrier":
                    self._open(aid)
                yield aid
        finally:
            for aid in held:
                self.push(aid)

    def _hold(
        self, aid: str, now: float, busy: Callable[[], Mapping[str, float]], closing: bool
    ) -> str:
        """Must new work ``aid`` wait? ``"all"``: so must all new work this round (closing,
        no room in the window); ``"spans"``: no span slot; ``""``: it may start."""
        if self.graph.actions[aid].kind == "barrier":
            return ""
        if closing:
            return "all"
        if aid in self._opens and len(self.live) >= SPAN_SLOTS * self.forks and self.new_spans(aid):
            self.live = {k for k in self.live if self.state[self.graph.spans[k].end] in _OPEN}
            if len(self.live) >= SPAN_SLOTS * self.forks:
                return "spans"
        if self.window_end is not None and not self.fits(aid, now, busy()):
            if self.refused is None:
                self.refused = aid
            return "all"
        return ""

    def fits(self, aid: str, now: float, busy: Mapping[str, float]) -> bool:
        """With ``aid`` started now, does the committed work end by the window end?"""
        if self.window_end is None:
            return True
        estimate = self.graph.actions[aid].estimate_s
        if now + estimate > self.window_end + _EPSILON:
            return False
        work = {c for c in self.committed if self.state[c] == "pending"}
        work |= self.closure(s.end for s in self.new_spans(aid))
        work.discard(aid)
        running = dict(busy)
        running[aid] = now + estimate
        serial = sum(max(0.0, t - now) for t in running.values())
        serial += sum(self.graph.actions[w].estimate_s for w in work)
        if now + serial <= self.window_end + _EPSILON:  # even one fork at a time ends in time
            return True
        return self.drain_end(now, work, running) <= self.window_end + _EPSILON

    def drain_end(self, now: float, work: set[str], busy: Mapping[str, float]) -> float:
        """When ``work`` (pending actions) and what is ``busy`` end under this rule."""
        graph = self.graph
        waiting = {
            aid: sum(1 for p in graph.actions[aid].after if p in work or p in busy) for aid in work
        }
        events = [(max(end, now), graph.position.get(aid, -1), aid) for aid, end in busy.items()]
        heapq.heapify(events)
        ready = [(-graph.priority[a], graph.position[a], a) for a in work if not waiting[a]]
        heapq.heapify(ready)
        free, t, end = self.forks - len(busy), now, now

        def complete(aid: str) -> None:
            for child in graph.children.get(aid, ()):
                if child in waiting:
                    waiting[child] -= 1
                    if waiting[child] == 0:
                        heapq.heappush(
                            ready, (-graph.priority[child], graph.position[child], child)
                        )

        while True:
            while ready and free > 0:
                aid = heapq.heappop(ready)[2]
                if graph.actions[aid].kind == "barrier":
                    complete(aid)
                    continue
                free -= 1
                heapq.heappush(
                    events, (t + graph.actions[aid].estimate_s, graph.position[aid], aid)
                )
            if not events:
                return end
            t, _, aid = heapq.heappop(events)  # one completion at a time, as the engine sees
            free += 1
            end = max(end, t)
            complete(aid)


@dataclass(frozen=True)
class Simulation:
    """A predicted run: when each action starts and ends, when the run ends, what is left."""

    start: dict[str, float]
    finish: dict[str, float]
    end: float
    left: tuple[str, ...]


def simulate(
    graph: RunGraph, forks: int, start: float = 0.0, window_end: float | None = None
) -> Simulation:
    """Run ``graph`` under the rule with every action taking its estimate: the engine's
    run as the estimator predicts it (``left``: what a window end leaves for the next)."""
    state = dict.fromkeys(graph.order, "pending")
    admission = Admission(graph, forks, state, window_end)
    waiting = {aid: len(graph.actions[aid].after) for aid in graph.order}
    began: dict[str, float] = {}
    ended: dict[str, float] = {}
    busy: dict[str, float] = {}
    events: list[tuple[float, int, str]] = []  # (end, plan order, action)
    t = start

    def complete(aid: str) -> None:
        state[aid] = "done"
        ended[aid] = t
        for child in graph.children[aid]:
            waiting[child] -= 1
            if waiting[child] == 0:
                admission.push(child)

    for aid in graph.order:
        if not waiting[aid]:
            admission.push(aid)
    while True:
        for aid in admission.select(t, lambda: forks - len(busy), lambda: busy):
            began[aid] = t
            if graph.actions[aid].kind == "barrier":
                complete(aid)
                continue
            state[aid] = "running"
            busy[aid] = t + graph.actions[aid].estimate_s
            heapq.heappush(events, (busy[aid], graph.position[aid], aid))
        if not events:
            break
        # One completion at a time, then a new round: the engine learns of actions that end
        # at the same instant one after the other (here: in plan order).
        t, _, aid = heapq.heappop(events)
        del busy[aid]
        complete(aid)
    left = tuple(aid for aid in graph.order if state[aid] == "pending")
    return Simulation(began, ended, max(ended.values(), default=start), left)
