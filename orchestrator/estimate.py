"""Time estimates over a plan's DAG: start/finish, makespan, critical path, window fit.

Pure functions over :class:`~orchestrator.plan.Action` lists. With ``forks`` the schedule is
the run as the engine makes it: the same list-scheduling rule with span admission
(:mod:`orchestrator.listsched`), at most ``forks`` actions at once. Without, it is the
earliest-start schedule of unbounded parallelism, whose length is the critical path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from .dag import topological_order
from .listsched import simulate
from .plan import Action
from .rungraph import RunGraph

#: The engine's default ``--forks``, assumed by ``plan`` unless told otherwise.
DEFAULT_FORKS = 10


@dataclass(frozen=True)
class Schedule:
    """Start and finish (seconds from the run's start) of every action, the makespan, the
    critical path and its length, and the ``forks`` assumed (None: unbounded)."""

    start: dict[str, int]
    finish: dict[str, int]
    makespan_s: int
    critical_path: tuple[str, ...]
    critical_path_s: int = 0
    forks: int | None = None


def topological(actions: Sequence[Action]) -> list[Action]:
    """``actions`` in an order where every action follows its ``after`` (list order kept when
    it already is one). Unknown ids in ``after`` are ignored; cycles raise ValueError."""
    index = {a.id: i for i, a in enumerate(actions)}
    preds = [[index[p] for p in a.after if p in index] for a in actions]
    order = topological_order(preds)
    if len(order) != len(actions):
        raise ValueError("the actions' `after` relation has a cycle")
    return [actions[i] for i in order]


def schedule(actions: Sequence[Action], forks: int | None = None) -> Schedule:
    """The schedule on ``forks`` forks as the engine runs it (unbounded when None), with the
    critical path. Raises ValueError if ``after`` has a cycle."""
    unbounded = _earliest(actions)
    if forks is None:
        return unbounded
    if forks < 1:
        raise ValueError(f"forks must be at least 1, not {forks}")
    sim = simulate(_graph(actions), forks)
    return Schedule(
        {k: round(v) for k, v in sim.start.items()},
        {k: round(v) for k, v in sim.finish.items()},
        round(sim.end),
        unbounded.critical_path,
        unbounded.makespan_s,
        forks,
    )


def window_pause(actions: Sequence[Action], forks: int, length_s: int) -> tuple[int, int]:
    """A run that does not fit its window: (plan seconds from the window start when the
    engine pauses, how many actions are left for the next window)."""
    topological(actions)  # raises ValueError on a cycle
    sim = simulate(_graph(actions), forks, 0.0, float(length_s))
    return round(sim.end), len(sim.left)


def _graph(actions: Sequence[Action]) -> RunGraph:
    """The run graph, ids in ``after`` that name no action ignored (as :func:`topological`).
    The caller has checked that ``after`` has no cycle."""
    known = {a.id for a in actions}
    return RunGraph(
        [
            a
            if all(p in known for p in a.after)
            else replace(a, after=tuple(p for p in a.after if p in known))
            for a in actions
        ]
    )


def _earliest(actions: Sequence[Action]) -> Schedule:
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
        return Schedule({}, {}, 0, (), 0)
    last = max(finish, key=lambda k: (finish[k], -len(k)))
    path: list[str] = []
    node: str | None = last
    while node is not None:
        path.append(node)
        node = via[node]
    path.reverse()
    return Schedule(start, finish, finish[last], tuple(path), finish[last])


def window_fit(
    makespan_s: int,
    start: datetime,
    end: datetime,
    forks: int | None = None,
    pause: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """The plan's ``window`` section: the window, its length, whether the makespan (on
    ``forks`` forks) fits, and for a run that does not, when it pauses and what is left
    (``pause``, from :func:`window_pause`)."""
    length = int((end - start).total_seconds())
    fit: dict[str, Any] = {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "length_s": length,
        "makespan_s": makespan_s,
        "fits": makespan_s <= length,
        "slack_s": length - makespan_s,
    }
    if forks is not None:
        fit["forks"] = forks
    if pause is not None:
        fit["pauses_at_s"], fit["left_at_end"] = pause
    return fit


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
