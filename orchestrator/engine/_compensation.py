"""Putting a stopped branch back in a serving state.

When an action fails, its branch (the failed action's cluster, pool or host: its *scope*)
stops. Once nothing in the scope is running, the engine runs the scope's restoring actions
that are not done yet, in plan order, as compensating actions (``compensate/<id>``): start
the services and the cluster service again, resume the node (without failback), bring group
resources online where the group now is. A virtual server is never moved back: if it was
already moved onto an upgraded node, its ``upgrade_virtual_server`` is completed first (roll
forward). A host goes back into its pool only if a health check passes and, in an
all-at-once pool, only if that does not mix versions in the pool. Every restoring action is
probed first, so one whose effect already holds is skipped, not repeated.

Services: a compensating ``start_services`` starts exactly the services that this run's
``stop_services`` of the same host and purpose journaled as stopped (:func:`only_stopped`);
none stopped, nothing started. Only when a stop's outcome is not known (its apply failed,
timed out or was cut off by a crash, so it may have stopped some before) do the host's own
records decide, which start only what a stop found running.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..plan import Action
from ._graph import CLOSERS, RunGraph
from ._records import FINAL_OK, AttemptRecord, StoppedService

PREFIX = "compensate/"
_STARTED = frozenset({"running", "done", "skipped", "failed", "unknown"})


@dataclass(frozen=True)
class CompStep:
    """One compensating action. ``healthy_host`` gates it on that host's health check;
    ``blocked`` (a reason) means it must not run at all and is reported as left."""

    action: Action
    healthy_host: str | None = None
    reason: str = ""
    blocked: str = ""


def scope_of(action: Action, facts: Mapping[str, Any]) -> frozenset[str]:
    """The hosts whose service a failure of ``action`` can leave degraded."""
    if action.cluster:
        nodes = facts.get("clusters", {}).get(action.cluster, {}).get("nodes", [])
        return frozenset(nodes)
    if action.host is None:
        return frozenset()
    pool = facts.get("hosts", {}).get(action.host, {}).get("pool")
    if pool:
        return frozenset(facts.get("pools", {}).get(pool, {}).get("members", [action.host]))
    return frozenset({action.host})


def _comp(action: Action, **changes: Any) -> Action:
    params = dict(action.params)
    params.update(changes.pop("params", {}))
    return Action(
        id=PREFIX + action.id,
        kind=action.kind,
        host=changes.get("host", action.host),
        cluster=action.cluster,
        params=params,
        after=(),
        estimate_s=action.estimate_s,
        phase="compensation",
        title=f"put back in service: {action.title or action.id}",
    )


def compensation(
    graph: RunGraph, facts: Mapping[str, Any], states: Mapping[str, str], scope: frozenset[str]
) -> list[CompStep]:
    """The compensating steps for ``scope``, in plan order."""
    by_kind: dict[tuple[str, str], list[Action]] = {}
    for aid in graph.order:
        a = graph.actions[aid]
        group = str(a.params.get("group", ""))
        by_kind.setdefault((a.kind, group if group else str(a.host)), []).append(a)

    def state(a: Action | None) -> str:
        return states.get(a.id, "pending") if a else "absent"

    def first(kind: str, key: str) -> Action | None:
        found = by_kind.get((kind, key))
        return found[0] if found else None

    steps: list[tuple[int, CompStep]] = []
    upgraded = _upgraded_members(graph, facts, states, scope)
    for aid in graph.order:
        a = graph.actions[aid]
        if a.kind not in CLOSERS or state(a) in FINAL_OK:
            continue
        pos = graph.position[aid]
        if a.kind == "resources_online":
            group = str(a.params.get("group"))
            offline = first("resources_offline", group)
            if offline is None or offline.host not in scope or state(offline) not in _STARTED:
                continue
            move = first("move_group", group)
            if move is not None and state(move) in FINAL_OK:
                upgrade = first("upgrade_virtual_server", group)
                if upgrade is not None and state(upgrade) not in FINAL_OK:
                    steps.append((pos, CompStep(_comp(upgrade), reason="roll forward")))
                steps.append((pos, CompStep(_comp(a))))
            else:
                steps.append((pos, CompStep(_comp(a, host=offline.host))))
            continue
        if a.host not in scope:
            continue
        if a.kind == "resume_node":
            steps.append((pos, CompStep(_comp(a, params={"failback": False}))))
        elif a.kind == "lb_in":
            pool = str(a.params.get("pool", ""))
            if upgraded.get(pool) is not None and a.host not in upgraded[pool]:
                reason = "not upgraded: returning it would mix versions in all-at-once pool"
                steps.append((pos, CompStep(_comp(a), blocked=reason)))
            else:
                steps.append((pos, CompStep(_comp(a), healthy_host=a.host)))
        else:
            steps.append((pos, CompStep(_comp(a))))
    steps.sort(key=lambda item: item[0])
    return [step for _, step in steps]


def _upgraded_members(
    graph: RunGraph, facts: Mapping[str, Any], states: Mapping[str, str], scope: frozenset[str]
) -> dict[str, set[str]]:
    """For each all-at-once pool in scope where some member's install is done: the members
    whose install is done (only they may return, so the pool serves one version)."""
    result: dict[str, set[str]] = {}
    for name, pool in facts.get("pools", {}).items():
        members = set(pool.get("members", []))
        if pool.get("mode") != "all-at-once" or not members & scope:
            continue
        done = {
            a.host
            for a in graph.actions.values()
            if a.kind == "install" and a.host in members and states.get(a.id) in FINAL_OK
        }
        if done:
            result[name] = {str(h) for h in done}
    return result


def health_check(graph: RunGraph, host: str) -> Action:
    """A verify action that says whether ``host`` is fit to serve again: its product
    services run (from the plan's services-running checks for it)."""
    services: list[str] = []
    for a in graph.actions.values():
        if a.host == host and a.kind == "verify" and a.params.get("check") == "services-running":
            services.extend(s for s in a.params.get("services", []) if s not in services)
    return Action(
        id=f"{PREFIX}{host}/health",
        kind="verify",
        host=host,
        cluster=None,
        params={"check": "services-running", "services": services},
        after=(),
        estimate_s=30,
        phase="compensation",
        title=f"health check of {host} before it returns to its pool",
    )


def outcome_unknown(attempts: Sequence[AttemptRecord]) -> bool:
    """Whether some attempt's apply may have changed the host without journaling what it did:
    an apply that did not end ``ok``, or a probe that said "not in effect" with no apply
    journaled after it (the controller died in between)."""
    applied = {a.attempt for a in attempts if a.step == "apply" and a.outcome == "ok"}
    if any(a.step == "apply" and a.outcome != "ok" for a in attempts):
        return True
    return any(
        a.step == "probe" and a.outcome == "no" and a.attempt not in applied for a in attempts
    )


def only_stopped(
    action: Action,
    graph: RunGraph,
    stopped: Mapping[str, Sequence[StoppedService]],
    attempts: Mapping[str, Sequence[AttemptRecord]],
) -> tuple[Action | None, str]:
    """A compensating ``start_services`` narrowed to what this run stopped: the action
    (its ``services`` those journaled as stopped by the host's ``stop_services`` of the same
    purpose) and a note, or None and why nothing is to be started. Unchanged when a stop's
    outcome is not known (the host's records decide)."""
    purpose = action.params.get("purpose")
    stops = [
        a.id
        for a in graph.actions.values()
        if a.kind == "stop_services"
        and a.host == action.host
        and a.params.get("purpose") == purpose
    ]
    unknown = [aid for aid in stops if outcome_unknown(attempts.get(aid, ()))]
    if unknown:
        return (
            action,
            f"the outcome of {', '.join(unknown)} is not known: the host's records decide",
        )
    recorded = list(dict.fromkeys(s.service for aid in stops for s in stopped.get(aid, ())))
    listed = [str(n) for n in action.params.get("services", ())]
    # in the start's order; then any recorded under its real name (a Windows display name
    # in the playbook is journaled as the service's name)
    names = [n for n in listed if n in recorded] + [n for n in recorded if n not in listed]
    restore = bool(action.params.get("restore_start_mode"))
    if not names and not restore:
        return None, "this run stopped none of these services"
    params = {**action.params, "services": names}
    if restore:  # every service the stop held (disabled) gets its start mode back
        params["restore_services"] = listed
        if not names:
            return (
                dataclasses.replace(action, params=params),
                "starts nothing (this run stopped none); restores the start modes",
            )
    return dataclasses.replace(action, params=params), "starts what this run stopped: " + ", ".join(
        names
    )
