"""Mutation tests: the twin is a model of the world, so a plan broken in one place must make
it fail where the real cluster would. For each clustered example, each mutation of a class
(drop the edges that make a node's work wait for the other nodes, skip the offline step
before Upgrade EVS, move a group to another node) that the validator rejects
is rehearsed, and the twin must report the breach: a step the real system refuses, or a
recorded violation. It is rehearsed twice if need be: by the engine with real (scaled)
durations, so that what the mutant lets run at once does; then step by step in the order
that runs the mutated action and its host's work after it as early as the graph allows. A
twin that passes a broken plan fails this test. Verifies are not mutated here: a verify
moved too early passes on the real system too (the validator catches it)."""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from orchestrator.engine._clock import ScaledClock
from orchestrator.errors import StepError
from orchestrator.plan import Action, Plan
from orchestrator.validator import find_violations

from .test_engine_faults import rehearse
from .test_sim_support import T0, open_lab, plan_of, step

CLUSTERED = (
    "exchange2003-sp2",
    "exchange2000-active-passive",
    "exchange2000-active-active",
    "exchange55",
)


def _edit(plan: Plan, aid: str, **changes: object) -> Plan:
    return replace(
        plan, actions=tuple(replace(a, **changes) if a.id == aid else a for a in plan.actions)
    )


def _drop(plan: Plan, aid: str) -> Plan:
    """``plan`` without action ``aid``; what waited for it waits for what it waited for."""
    gone = next(a for a in plan.actions if a.id == aid)
    out = []
    for a in plan.actions:
        if a.id == aid:
            continue
        if aid in a.after:
            kept = [x for x in a.after if x != aid]
            a = replace(a, after=tuple(dict.fromkeys([*kept, *gone.after])))
        out.append(a)
    return replace(plan, actions=tuple(out))


def mutations(plan: Plan) -> Iterator[tuple[str, Plan, str]]:
    """(label, mutated plan, the action to run as early as possible)."""
    nodes = {c: list(v["nodes"]) for c, v in plan.facts.get("clusters", {}).items()}
    hosts = {a.id: a.host for a in plan.actions}
    for a in plan.actions:
        if a.cluster and a.host and a.kind != "verify":
            other = {x for x in a.after if hosts.get(x) not in (None, a.host)}
            if other and hosts.get(next(iter(other))) in nodes[a.cluster]:
                waits = tuple(x for x in a.after if x not in other)
                yield f"{a.id} does not wait for other nodes", _edit(plan, a.id, after=waits), a.id
        if a.kind == "resources_offline":
            later = [b.id for b in plan.actions if a.id in b.after]
            yield f"skip {a.id}", _drop(plan, a.id), later[0] if later else a.id
        elif a.kind == "move_group" and a.cluster:
            for n in nodes[a.cluster]:
                if n not in (a.host, a.params["to_node"]):
                    moved = _edit(plan, a.id, params={**a.params, "to_node": n})
                    yield f"{a.id} to {n}", moved, a.id


def exposing_order(plan: Plan, first: str) -> list[Action]:
    """A topological order of ``plan`` that runs ``first``, what it needs and what follows it
    on its host as early as possible, everything else in plan order."""
    index = {a.id: i for i, a in enumerate(plan.actions)}
    by_id = {a.id: a for a in plan.actions}
    children: dict[str, list[str]] = {a.id: [] for a in plan.actions}
    for a in plan.actions:
        for p in a.after:
            children[p].append(a.id)
    urgent = {first}
    stack = [first]
    while stack:  # what it needs
        for p in by_id[stack.pop()].after:
            if p not in urgent:
                urgent.add(p)
                stack.append(p)
    stack = [first]
    host = by_id[first].host
    while stack:  # its host's work after it
        for c in children[stack.pop()]:
            if c not in urgent and by_id[c].host == host:
                urgent.add(c)
                stack.append(c)
    waiting = {a.id: len(a.after) for a in plan.actions}
    ready = [(aid not in urgent, index[aid], aid) for aid, n in waiting.items() if not n]
    heapq.heapify(ready)
    order: list[Action] = []
    while ready:
        _, _, aid = heapq.heappop(ready)
        order.append(by_id[aid])
        for c in children[aid]:
            waiting[c] -= 1
            if not waiting[c]:
                heapq.heappush(ready, (c not in urgent, index[c], c))
    return order


def _stepwise(tmp_path: Path, mutant: Plan, first: str) -> str:
    """Run ``mutant`` step by step in the exposing order; what the twin said, if anything."""
    lab = open_lab(tmp_path, mutant)
    driver = lab.driver()
    for a in exposing_order(mutant, first):
        if a.kind == "barrier":
            continue
        try:
            step(driver, a)
        except StepError as exc:
            return f"{a.id}: {exc}"
    return "; ".join(lab.violations())


def _engine(tmp_path: Path, mutant: Plan) -> str:
    """Rehearse ``mutant`` with the engine, durations scaled to real time; what the twin
    said, if anything."""
    out = rehearse(tmp_path, mutant, clock=ScaledClock(T0, 0.00005))
    failed = [f"{a}: {r.message}" for a, r in out.actions.items() if r.state == "failed"]
    return "; ".join([*failed, *out.lab.violations()])


def _cases() -> Iterator[tuple[str, str]]:
    for name in CLUSTERED:
        for label, mutant, _ in mutations(plan_of(name)):
            if find_violations(mutant):
                yield name, label


CASES = list(_cases())


def test_every_class_has_a_rejected_mutant_on_the_move_off_example() -> None:
    labels = [label for name, label in CASES if name == "exchange2003-sp2"]
    assert any("does not wait" in x for x in labels)
    assert any(x.startswith("skip ") for x in labels)
    assert any("/move/" in x and " to " in x for x in labels)


@pytest.mark.parametrize(("name", "label"), CASES)
def test_the_twin_catches_every_mutant_the_validator_rejects(
    name: str, label: str, tmp_path: Path
) -> None:
    mutant, first = next((m, f) for lbl, m, f in mutations(plan_of(name)) if lbl == label)
    (tmp_path / "engine").mkdir()
    (tmp_path / "steps").mkdir()
    said = _engine(tmp_path / "engine", mutant) or _stepwise(tmp_path / "steps", mutant, first)
    assert said, f"the twin passed: {find_violations(mutant)}"


# -- interfering services across reboots ----------------------------------------------------


def test_interfering_services_stay_stopped_across_the_prerequisite_reboot(tmp_path: Path) -> None:
    """KB 328839: antivirus, backup agents and SNMP stopped before the install must stay
    stopped across the reboot of the KB 831464 prerequisite. The plan disables them while
    stopped and restores their start mode after; the twin's reboot starts only automatic
    services, and an install with one of them running fails with FileInUse:: lines."""
    plan = plan_of("exchange2003-sp2")
    stop = next(a for a in plan.actions if a.id == "exclu1/node-c/stop_services/interfering")
    start = next(a for a in plan.actions if a.id == "exclu1/node-c/start_services/interfering")
    assert stop.params["hold_across_reboots"] and start.params["restore_start_mode"]
    (tmp_path / "valid").mkdir()
    assert rehearse(tmp_path / "valid", plan).result.status == "done"
    for label, mutant in (
        ("stopped without being held", _edit(plan, stop.id, params={
            k: v for k, v in stop.params.items() if k != "hold_across_reboots"})),
        ("restarted before the install", _edit(plan, start.id, after=(stop.id,))),
    ):  # fmt: skip
        (tmp_path / label).mkdir()
        out = rehearse(tmp_path / label, mutant, clock=ScaledClock(T0, 0.0))
        failed = {a: r.message for a, r in out.actions.items() if r.state == "failed"}
        assert any("files in use" in m for m in failed.values()), (label, failed)
