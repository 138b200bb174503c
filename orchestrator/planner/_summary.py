"""Turning the built DAG into a :class:`Plan`: estimates, window fit, downtime, guarantees.

The estimates are the run as the engine makes it on ``forks`` forks (the rule of
:mod:`orchestrator.listsched`); the critical path alone is recorded next to them."""

from __future__ import annotations

from typing import Any

from ..estimate import Schedule, hms, schedule, window_fit, window_pause
from ..plan import Plan
from ._cluster import ClusterPlan
from ._defaults import timeouts
from ._host import Context
from ._units import pool_policy

DEFAULT_RETRIES = {"attempts": 3, "backoff_s": 10, "max_backoff_s": 300}
DEFAULT_BUDGET = {"max_failures": 0}


def finish_plan(
    ctx: Context,
    inventory_sha256: str,
    phases: list[dict[str, str]],
    tiers: list[list[str]],
    cluster_plans: dict[str, ClusterPlan],
    batches: dict[str, list[list[str]]],
    notes: list[str],
    forks: int,
) -> Plan:
    """Assemble the plan document from the builder's DAG and the planning results."""
    pb, facts = ctx.pb, ctx.facts
    actions = ctx.b.actions()
    sched = schedule(actions, forks)
    touched = {a.host for a in actions if a.host} | set(ctx.targets)
    for name in {a.params.get("system") for a in actions} - {None}:
        touched.update(facts.systems[str(name)].nodes)
    pools = _pool_guarantees(ctx)
    guarantees: dict[str, Any] = {
        "tiers": tiers,
        "pools": pools,
        "clusters": {name: cp.guarantee() for name, cp in sorted(cluster_plans.items())},
    }
    if batches:
        guarantees["fleets"] = {name: {"batches": b} for name, b in sorted(batches.items())}
    warnings: list[str] = []
    window = None
    if pb.window is not None:
        length = int((pb.window.end - pb.window.start).total_seconds())
        pause = window_pause(actions, forks, length) if sched.makespan_s > length else None
        window = window_fit(sched.makespan_s, pb.window.start, pb.window.end, forks, pause)
        if pause is not None:
            warnings.append(
                f"the estimated makespan {hms(sched.makespan_s)} on {forks} forks exceeds the "
                f"maintenance window ({hms(length)}): the run will pause at a safe point "
                f"about {hms(pause[0])} into the window with {pause[1]} action(s) left, "
                "and resume in the next one"
            )
    if pb.reboot == "never":
        warnings.append("reboot: never — a host whose installer asks for a reboot is left pending")
    extra: dict[str, Any] = {
        "phases": phases,
        "window": window,
        "downtime": _downtime(ctx, sched, pools),
        "execution": {
            "failure_budget": pb.failure_budget or DEFAULT_BUDGET,
            "retries": {**DEFAULT_RETRIES, **pb.retries},
            "timeouts": timeouts(
                {a.kind for a in actions}, pb.timeouts, pb.package.kind if pb.package else None
            ),
            "reboot": pb.reboot,
        },
        "warnings": warnings,
        "notes": notes,
    }
    return Plan(
        playbook={"name": pb.name, "sha256": pb.sha256, "path": pb.path},
        inventory={"sha256": inventory_sha256},
        facts=facts.to_contract(touched),
        actions=actions,
        guarantees=guarantees,
        estimate={
            "makespan_s": sched.makespan_s,
            "critical_path": list(sched.critical_path),
            "critical_path_s": sched.critical_path_s,
            "forks": forks,
            "total_work_s": sum(a.estimate_s for a in actions),
        },
        extra=extra,
    )


def _pool_guarantees(ctx: Context) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in sorted({p for h in ctx.targets if (p := ctx.facts.hosts[h].pool)}):
        mode, max_out, _ = pool_policy(ctx.pb, ctx.facts.pools[name])
        out[name] = {"mode": mode} if mode == "all-at-once" else {"mode": mode, "max_out": max_out}
    return out


def _downtime(ctx: Context, sched: Schedule, pools: dict[str, Any]) -> list[dict[str, Any]]:
    entries = []
    for o in ctx.outages:
        start, end = sched.start[o.start_id], sched.finish[o.end_id]
        entries.append(
            {
                "scope": o.scope,
                "name": o.name,
                "cluster": o.cluster,
                "reason": o.reason,
                "estimate_s": end - start,
                "start_s": start,
            }
        )
    for name, mode in pools.items():
        if mode["mode"] == "all-at-once":
            start, end = sched.start[f"{name}/all-out"], sched.finish[f"{name}/all-upgraded"]
            entries.append(
                {
                    "scope": "pool",
                    "name": name,
                    "cluster": None,
                    "reason": "all-at-once: every member is out together, so clients "
                    "never see mixed versions",
                    "estimate_s": end - start,
                    "start_s": start,
                }
            )
    entries.sort(key=lambda e: (e["start_s"], e["scope"], e["name"]))
    return entries
