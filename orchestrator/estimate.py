"""Time estimates over a plan's DAG: earliest start/finish, makespan, critical path, window fit.

Pure functions over :class:`~orchestrator.plan.Action` lists. The makespan assumes unbounded
parallelism (every ready action starts at once); the engine's ``--forks`` limit can only make
a run longer, which the text report says.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .dag import topological_order
from .plan import Action


@dataclass(frozen=True)
class Schedule:
    """Earliest start and finish (seconds from the run's start) of every action."""

    start: dict[str, int]
    finish: dict[str, int]
    makespan_s: int
    critical_path: tuple[str, ...]


def topological(actions: Sequence[Action]) -> list[Action]:
    """``actions`` in an order where every action follows its ``after`` (list order kept when
    it already is one). Unknown ids in ``after`` are ignored; cycles raise ValueError."""
    index = {a.id: i for i, a in enumerate(actions)}
    preds = [[index[p] for p in a.after if p in index] for a in actions]
    order = topological_order(preds)
    if len(order) != len(actions):
        raise ValueError("the actions' `after` relation has a cycle")
    return [actions[i] for i in order]


def schedule(actions: Sequence[Action]) -> Schedule:
    """Earliest-start schedule with unbounded parallelism and the critical path."""
    start: dict[str, int] = {}
    finish: dict[str, int] = {}
    via: dict[str, str | None] = {}
    for a in topological(actions):
        best, best_pred = 0, None
        for p in a.after:
            f = finish.get(p)
            if f is not None and f > best:
                best, best_pred = f, p
        start[a.id] = best
        finish[a.id] = best + a.estimate_s
        via[a.id] = best_pred
    if not finish:
        return Schedule({}, {}, 0, ())
    last = max(finish, key=lambda k: (finish[k], -len(k)))
    path: list[str] = []
    node: str | None = last
    while node is not None:
        path.append(node)
        node = via[node]
    path.reverse()
    return Schedule(start, finish, finish[last], tuple(path))


def window_fit(makespan_s: int, start: datetime, end: datetime) -> dict[str, Any]:
    """The plan's ``window`` section: the window, its length, and whether the makespan fits."""
    length = int((end - start).total_seconds())
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "length_s": length,
        "makespan_s": makespan_s,
        "fits": makespan_s <= length,
        "slack_s": length - makespan_s,
    }


def hms(seconds: int) -> str:
    """``1h02m03s`` style duration."""
    sign = "-" if seconds < 0 else ""
    s = abs(int(seconds))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    if h:
        return f"{sign}{h}h{m:02d}m{sec:02d}s"
    if m:
        return f"{sign}{m}m{sec:02d}s"
    return f"{sign}{sec}s"
