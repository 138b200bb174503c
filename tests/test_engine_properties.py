"""Property test: random topologies, planned, run by the engine against the simulated lab
with random parallelism, a random failure budget and one random injected fatal fault. The
lab must never see an invariant broken, and when the run ends every cluster node is up and
every virtual server and pool serves again (the failed branch was put back in service)."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.engine._clock import ScaledClock
from orchestrator.engine._engine import Engine, EngineOptions
from orchestrator.engine._journal import Journal
from orchestrator.engine._observers import Recorder
from orchestrator.engine._records import FINAL
from orchestrator.engine._retry import RetryPolicy
from orchestrator.errors import StrategyError
from orchestrator.facts import Facts
from orchestrator.planner import build_plan
from orchestrator.playbook import parse_playbook
from orchestrator.sim import Lab, load_faults

from .test_properties import estates

T0 = 1_800_000_000.0
#: Actions a fatal fault may hit: each fails before it changes anything, like the real
#: failures (an installer exiting 1603, a refused move, a service that will not stop).
FAULTABLE = ("install", "stop_services", "stop_cluster_service", "lb_out", "drain_node",
             "move_group", "resources_offline")  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(estates(), st.randoms(use_true_random=False), st.integers(1, 6), st.integers(0, 2))
def test_random_runs_never_break_an_invariant_and_end_serving(
    estate: tuple[Facts, dict[str, Any]], rnd: random.Random, forks: int, budget: int
) -> None:
    facts, doc = estate
    if doc.get("model_hotfix", 1) is None:
        return
    try:
        plan = build_plan(facts, parse_playbook(yaml.safe_dump(doc), "random.yml"), "0" * 64)
    except StrategyError:
        return
    candidates = [a for a in plan.actions if a.kind in FAULTABLE and a.host]
    target = rnd.choice(candidates) if candidates and rnd.random() < 0.8 else None
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        spec = None
        if target is not None:
            fault: dict[str, Any] = {"host": target.host, "action": target.id}
            if target.kind == "install":
                fault["exit_codes"] = [1603]
            else:
                fault["fail"] = "injected failure"
            (directory / "faults.yml").write_text(yaml.safe_dump({"faults": [fault]}))
            spec = load_faults(directory / "faults.yml", plan)
        clock = ScaledClock(T0, 0.0)
        lab = Lab.open(directory / "lab.sqlite", plan, clock, spec)
        journal = Journal(directory / "journal.sqlite")
        try:
            run_id = journal.create_run(plan.to_json(), plan, {}, T0)
            options = EngineOptions(
                forks=forks, max_failures=budget, policy=RetryPolicy(2, 0.1, 0.2)
            )
            engine = Engine(plan, run_id, journal, lab.driver(), clock, Recorder(), options)
            result = engine.run()
            states = journal.actions(run_id)
            assert lab.violations() == []
            failed = {k: r.message for k, r in states.items() if r.state == "failed"}
            if target is None or states[target.id].state == "skipped":  # probe: in effect
                assert result.status == "done", failed
            else:
                assert states[target.id].state == "failed", (result, failed)
                assert result.status == "failed"
            left = {k for k, r in states.items() if r.state not in FINAL}
            assert not left or result.failures > budget, left  # budget spent: not started
            assert all(states[k].state == "pending" for k in left)
            _assert_serving(lab, states)
        finally:
            journal.close()
            lab.close()


def _assert_serving(lab: Lab, states: dict[str, Any]) -> None:
    timeline = lab.timeline()
    for kind in ("groups", "pools"):
        for name, info in timeline[kind].items():
            open_ = [o for o in info["outages"] if o["end"] is None]
            assert not open_, f"{kind} {name} is still down; compensation: " + str(
                {k: (v.state, v.message) for k, v in states.items() if k.startswith("compensate/")}
            )
    for cluster in lab.snapshot()["clusters"].values():
        for node, info in cluster["nodes"].items():
            assert info["state"] == "Up", f"node {node} is {info['state']}"
