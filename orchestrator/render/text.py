"""The plain-text plan report a change-advisory board reviews before approving a window.

Plain text, no colour codes, byte-stable (same plan, same text), lines kept within 100
columns. Sections: header, summary, planned downtime, guarantees, phases with their actions,
critical path, execution settings, warnings. Extra keys the planner adds (``phases``,
``window``, ``downtime``, ``execution``, ``warnings``) are used when present; plans from other
tools without them still render.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..estimate import hms, schedule
from ..plan import Plan, fingerprint
from .common import as_int, clean, short_hash, wrap
from .guarantees import render_guarantees
from .timeline import Timing, render_critical_path, render_phases


def _forks(plan: Plan) -> int | None:
    """The forks the plan's estimate assumes (None: a plan that does not say)."""
    forks = plan.estimate.get("forks")
    return forks if isinstance(forks, int) and not isinstance(forks, bool) and forks > 0 else None


def _timing(plan: Plan) -> tuple[Timing, int, tuple[str, ...], str | None]:
    """Schedule of the plan's actions: timing, makespan, critical path, or why it failed."""
    order = {a.id: i for i, a in enumerate(plan.actions)}
    try:
        sched = schedule(plan.actions, _forks(plan))
    except ValueError as exc:
        return Timing({}, {}, order), 0, (), str(exc)
    return Timing(sched.start, sched.finish, order), sched.makespan_s, sched.critical_path, None


def _header(plan: Plan) -> list[str]:
    name = plan.playbook.get("name")
    title = f"UPGRADE PLAN: {clean(name) if name else '(unnamed playbook)'}"
    return [
        *wrap(title, "", "  "),
        "=" * min(len(title), 100),
        f"Playbook:         {clean(name) if name else 'unknown'}"
        f" (sha256 {short_hash(plan.playbook.get('sha256'))})",
        f"Plan fingerprint: sha256:{short_hash(fingerprint(plan.body()))}",
        f"Inventory hash:   sha256:{short_hash(plan.inventory.get('sha256'))}",
    ]


def _window_lines(window: object) -> list[str]:
    """The window and whether the plan fits in it (two or three summary lines)."""
    if not isinstance(window, Mapping):
        return ["  Window:              no maintenance window set"]
    length = as_int(window.get("length_s"))
    span = f"{clean(window.get('start'))} -> {clean(window.get('end'))} ({hms(length)})"
    makespan = as_int(window.get("makespan_s"))
    slack = as_int(window.get("slack_s"), length - makespan)
    fits = window.get("fits")
    if fits is True or (not isinstance(fits, bool) and slack >= 0):
        verdict = f"fits, slack {hms(slack)}"
    else:
        verdict = f"DOES NOT FIT, the makespan exceeds it by {hms(max(0, -slack))}"
    forks = window.get("forks")
    if isinstance(forks, int):
        verdict += f" (on {forks} forks)"
    lines = [
        *wrap(f"Window:              {span}", "  ", " " * 23),
        f"  Window fit:          {verdict}",
    ]
    left = window.get("left_at_end")
    if isinstance(left, int) and not isinstance(left, bool):
        at = hms(as_int(window.get("pauses_at_s")))
        lines += wrap(
            f"pauses at a safe point about {at} into the window, {left} action(s) left "
            "for the next window",
            " " * 23,
            " " * 23,
        )
    return lines


def _summary(plan: Plan, makespan: int, problem: str | None) -> list[str]:
    hosts = {a.host for a in plan.actions if a.host is not None}
    stated = plan.estimate.get("makespan_s")
    span = hms(as_int(stated, makespan)) if stated is not None else hms(makespan)
    if stated is not None and as_int(stated) != makespan and problem is None:
        span += f" (recomputed from the actions: {hms(makespan)})"
    work = plan.estimate.get("total_work_s")
    total = as_int(work) if work is not None else sum(a.estimate_s for a in plan.actions)
    forks = _forks(plan)
    if forks is not None:
        path = hms(as_int(plan.estimate.get("critical_path_s")))
        how = [
            f"                       (on --forks {forks}, critical path first, as apply runs it;",
            f"                       the critical path alone is {path})",
        ]
    else:
        execution = plan.extra.get("execution")
        hint = execution.get("forks_hint") if isinstance(execution, Mapping) else None
        limit = f"--forks {as_int(hint)}" if isinstance(hint, int) else "a --forks limit"
        how = [
            f"                       (all ready actions in parallel; {limit} can only lengthen it)"
        ]
    lines = [
        "",
        "SUMMARY",
        f"  Hosts touched:       {len(hosts)}",
        f"  Actions:             {len(plan.actions)}",
        f"  Forks assumed:       {forks if forks is not None else 'not stated (unbounded)'}",
        f"  Estimated makespan:  {span}",
        *how,
        f"  Total work:          {hms(total)}",
        *_window_lines(plan.extra.get("window")),
    ]
    if problem is not None:
        lines.append(f"  Schedule:            cannot be computed: {clean(problem)}")
    return lines


def _downtime(extra: Mapping[str, Any]) -> list[str]:
    raw = extra.get("downtime")
    if raw is None:
        return ["", "PLANNED DOWNTIME: not stated by this plan (no downtime section)"]
    items = [d for d in raw if isinstance(d, Mapping)] if isinstance(raw, list) else []
    if not items:
        return ["", "PLANNED DOWNTIME: none planned: every pool and cluster keeps serving"]
    count = f"{len(items)} planned outage{'' if len(items) == 1 else 's'}"
    banner = f"*** PLANNED DOWNTIME: {count}; users are cut off while these run ***"
    lines = ["", "*" * 72, banner]
    for d in items:
        where = f"{clean(d.get('scope', 'scope?')).upper()} {clean(d.get('name', '?'))}"
        if d.get("cluster"):
            where += f" (cluster {clean(d['cluster'])})"
        lines += wrap(f"- {where}: about {hms(as_int(d.get('estimate_s')))}", "  ", "    ")
        if d.get("reason"):
            lines += wrap(clean(d["reason"]), "    ", "    ")
    return [*lines, "*" * 72]


def _setting(value: object) -> str:
    if isinstance(value, Mapping):
        if not value:
            return "none"
        return ", ".join(f"{clean(k)}={_setting(value[k])}" for k in sorted(value, key=str))
    if isinstance(value, str):
        return clean(value)
    return clean(json.dumps(value, sort_keys=True, ensure_ascii=False, default=str))


def _execution(extra: Mapping[str, Any]) -> list[str]:
    raw = extra.get("execution")
    lines = ["", "EXECUTION"]
    if not isinstance(raw, Mapping):
        return [*lines, "  not stated by this plan (engine defaults apply)"]
    labels = {
        "failure_budget": "Failure budget",
        "retries": "Retries",
        "timeouts": "Timeouts",
        "reboot": "Reboot policy",
        "forks_hint": "Parallelism hint",
    }
    for key, label in labels.items():
        value = raw.get(key)
        text = "not stated" if value is None else _setting(value)
        lines += wrap(f"{label + ':':<18}{text}", "  ", " " * 20)
    for key in sorted((k for k in raw if k not in labels), key=str):
        lines += wrap(f"{clean(key) + ':':<18}{_setting(raw[key])}", "  ", " " * 20)
    return lines


def _warnings(extra: Mapping[str, Any]) -> list[str]:
    raw = extra.get("warnings")
    items = [w for w in raw if w is not None] if isinstance(raw, list) else []
    lines = ["", "WARNINGS"]
    if not items:
        return [*lines, "  none"]
    for w in items:
        lines += wrap(f"- {clean(w)}", "  ", "    ")
    return lines


def render_text(plan: Plan) -> str:
    """The whole review report as text (ends with a newline)."""
    timing, makespan, computed_path, problem = _timing(plan)
    stated_path = plan.estimate.get("critical_path")
    path = stated_path if isinstance(stated_path, list) else list(computed_path)
    lines = [
        *_header(plan),
        *_summary(plan, makespan, problem),
        *_downtime(plan.extra),
        *render_guarantees(plan.guarantees, plan.facts),
        *render_phases(plan, timing),
        *render_critical_path(plan, path, timing),
        *_execution(plan.extra),
        *_warnings(plan.extra),
    ]
    return "\n".join(line.rstrip() for line in lines) + "\n"
