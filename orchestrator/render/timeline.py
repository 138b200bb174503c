"""The per-phase, per-host action listing of the text report, and its critical path.

Actions are listed in schedule order with their earliest start (``T+hh:mm:ss``, from
:func:`orchestrator.estimate.schedule`) and estimate. When more than :data:`FLEET_THRESHOLD`
hosts of a phase run the same sequence of kinds, the sequence is printed once for all of them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..estimate import hms
from ..plan import Action, Plan
from .common import (
    clean,
    compress_hosts,
    format_params,
    kind_and_params,
    phases_of,
    text_label,
    tplus,
    wrap,
)

#: A phase with more hosts than this running the same kinds is printed once for all of them.
FLEET_THRESHOLD = 20
RUN_WIDE = "(run-wide)"


@dataclass(frozen=True)
class Timing:
    """Earliest start and finish of every action, plus list positions for tie-breaking."""

    start: Mapping[str, int]
    finish: Mapping[str, int]
    order: Mapping[str, int]

    def key(self, action: Action) -> tuple[int, int]:
        """Schedule order: earliest start, then position in the plan."""
        return (self.start.get(action.id, 0), self.order.get(action.id, 0))


def _line(time: str, estimate: str, label: str) -> list[str]:
    """One action line (wrapped when the label is long)."""
    return wrap(f"{time:<10}  {estimate:>8}  {label}", "    ", " " * 26)


def _host_block(host: str | None, actions: list[Action], timing: Timing) -> list[str]:
    lines = ["  " + (clean(host) if host is not None else RUN_WIDE)]
    for a in actions:
        lines += _line(tplus(timing.start.get(a.id, 0)), hms(a.estimate_s), text_label(a))
    return lines


def _host_template(action: Action) -> str:
    """The action's title with its own host name (as a whole word) replaced by ``<host>``."""
    if not action.host:
        return action.title
    pattern = rf"(?<![\w.-]){re.escape(action.host)}(?![\w-]|\.\w)"
    return re.sub(pattern, "<host>", action.title)


def _shared_label(column: list[Action]) -> str:
    """One label for the same step on many hosts: a common title with the host name
    replaced by ``<host>``, else common kind and params, else the kind alone."""
    titles = {_host_template(a) for a in column}
    if len(titles) == 1 and column[0].title:
        return clean(titles.pop())
    params = {format_params(a.params) for a in column}
    if len(params) == 1:
        return kind_and_params(column[0])
    return f"{clean(column[0].kind)} (parameters vary by host)"


def _span(values: Sequence[int]) -> tuple[int, int]:
    return min(values), max(values)


def _fleet_block(members: dict[str, list[Action]], timing: Timing) -> list[str]:
    lines = wrap(f"{compress_hosts(members)}, each:", "  ", "    ")
    rows = list(members.values())
    for i in range(len(rows[0])):
        column = [row[i] for row in rows]
        s_lo, s_hi = _span([timing.start.get(a.id, 0) for a in column])
        e_lo, e_hi = _span([a.estimate_s for a in column])
        when = tplus(s_lo) if s_lo == s_hi else f"{tplus(s_lo)}..{tplus(s_hi)}"
        est = hms(e_lo) if e_lo == e_hi else f"{hms(e_lo)}..{hms(e_hi)}"
        lines += _line(when, est, _shared_label(column))
    return lines


def _phase_blocks(actions: list[Action], timing: Timing) -> list[str]:
    """Host blocks of one phase, earliest first; big same-kind host sets merged."""
    by_host: dict[str | None, list[Action]] = {}
    for a in sorted(actions, key=timing.key):
        by_host.setdefault(a.host, []).append(a)
    by_kinds: dict[tuple[str, ...], dict[str, list[Action]]] = {}
    for host, acts in by_host.items():
        if host is not None:
            by_kinds.setdefault(tuple(a.kind for a in acts), {})[host] = acts
    blocks: list[tuple[tuple[int, int], list[str]]] = []
    merged: set[str] = set()
    for members in by_kinds.values():
        if len(members) > FLEET_THRESHOLD:
            merged.update(members)
            first = min(timing.key(acts[0]) for acts in members.values())
            blocks.append((first, _fleet_block(members, timing)))
    for host, acts in by_host.items():
        if host not in merged:
            blocks.append((timing.key(acts[0]), _host_block(host, acts, timing)))
    blocks.sort(key=lambda b: b[0])
    return [line for _, block in blocks for line in block]


def _phase_header(label: str, actions: list[Action], timing: Timing) -> str:
    if not actions:
        return f"{label}  (no actions)"
    lo = min(timing.start.get(a.id, 0) for a in actions)
    hi = max(timing.finish.get(a.id, 0) for a in actions)
    return f"{label}  {tplus(lo)} .. {tplus(hi)}"


def render_phases(plan: Plan, timing: Timing) -> list[str]:
    """Every phase (plan order, unknown phases last), every host, every action."""
    phases = phases_of(plan.extra)
    known = {name for name, _ in phases}
    grouped: dict[str, list[Action]] = {name: [] for name, _ in phases}
    other: list[Action] = []
    for a in plan.actions:
        (grouped[a.phase] if a.phase in known else other).append(a)
    lines: list[str] = []
    total = len(phases)
    for i, (name, title) in enumerate(phases, 1):
        label = f"PHASE {i}/{total}: {clean(title)} [{clean(name)}]"
        lines += ["", *wrap(_phase_header(label, grouped[name], timing), "", "  ")]
        lines += _phase_blocks(grouped[name], timing)
    if other:
        label = "OTHER ACTIONS (no known phase)" if phases else "ACTIONS"
        lines += ["", _phase_header(label, other, timing), *_phase_blocks(other, timing)]
    return lines


def render_critical_path(plan: Plan, path: Sequence[object], timing: Timing) -> list[str]:
    """The critical path, one action a line with its start, estimate and host."""
    by_id = {a.id: a for a in plan.actions}
    lines = ["", "CRITICAL PATH"]
    if not path:
        return [*lines, "  (none)"]
    for action_id in path:
        a = by_id.get(action_id) if isinstance(action_id, str) else None
        if a is None:
            lines.append(f"  (action not in plan: {clean(action_id)})")
            continue
        where = clean(a.host) if a.host is not None else RUN_WIDE
        label = f"{text_label(a)}  @ {where}"
        lines += _line(tplus(timing.start.get(a.id, 0)), hms(a.estimate_s), label)
    return lines
