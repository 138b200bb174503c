"""Engine benchmark.

(a) The engine's own cost per action, journal included: a plan of about 10,000 actions
    (a generated estate, see plan_scale.py) run through a driver whose actions take no time.
    Target: <= 2 ms per action.
(b) Makespan against the DAG's lower bound with scaled durations: each action sleeps its
    estimate times the time scale; the lower bound is max(critical path, total work / forks)
    in plan seconds. Target: makespan / lower bound <= 1.05.

Usage: python bench/engine_overhead.py [--actions N] [--forks F] [--scale S]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from plan_scale import write_estate  # noqa: E402

from orchestrator.engine._clock import ScaledClock  # noqa: E402
from orchestrator.engine._engine import Engine, EngineOptions  # noqa: E402
from orchestrator.engine._graph import RunGraph  # noqa: E402
from orchestrator.engine._journal import Journal  # noqa: E402
from orchestrator.engine._observers import Recorder  # noqa: E402
from orchestrator.engine._protocols import Clock, StepResult  # noqa: E402
from orchestrator.plan import Action, Plan  # noqa: E402
from orchestrator.workflow import plan_from_files  # noqa: E402


class SleepingDriver:
    """Every action succeeds after sleeping its estimate in plan time (0 with scale 0)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def live_facts(self, facts: Mapping[str, Any]) -> dict[str, Any]:
        return dict(facts)

    def probe(self, action: Action) -> bool:
        return False

    def apply(self, action: Action, timeout_s: float, step_id: str = "") -> StepResult:
        self.clock.sleep(action.estimate_s)
        return StepResult()

    def recall(self, action: Action, step_id: str) -> StepResult | None:
        return None  # nothing is ever lost here

    def verify(self, action: Action) -> None:
        return None

    def close(self) -> None:
        return None


def estate_plan(actions: int, directory: Path) -> Plan:
    """A generated estate's plan with about ``actions`` actions."""
    hosts = max(14, actions * 14 // 126)  # a 14-host cell plans about 126 actions
    inventory, playbook = write_estate(hosts, directory)
    return plan_from_files(playbook, inventory)


def run(plan: Plan, directory: Path, forks: int, scale: float) -> float:
    """Run ``plan`` once; return the wall seconds the engine took."""
    journal = Journal(directory / f"journal-{time.monotonic_ns()}.sqlite")
    clock = ScaledClock(1_800_000_000.0, scale)
    run_id = journal.create_run(plan.to_json(), plan, {}, clock.now())
    engine = Engine(
        plan, run_id, journal, SleepingDriver(clock), clock, Recorder(),
        EngineOptions(forks=forks),
    )  # fmt: skip
    t0 = time.perf_counter()
    result = engine.run()
    elapsed = time.perf_counter() - t0
    journal.close()
    assert result.status == "done", result
    return elapsed


def lower_bound(plan: Plan, forks: int) -> tuple[float, float, float]:
    """(bound, critical path, total work / forks), in plan seconds."""
    graph = RunGraph(plan)
    critical = max(graph.priority.values())
    work = sum(a.estimate_s for a in plan.actions) / forks
    return max(critical, work), critical, work


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--actions", type=int, default=10_000)
    ap.add_argument("--forks", type=int, default=10)
    ap.add_argument("--scale", type=float, default=0.001)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        big = estate_plan(args.actions, directory)
        n = len(big.actions)
        elapsed = run(big, directory, args.forks, 0.0)
        print(
            f"(a) engine overhead: {n} zero-length actions in {elapsed:.2f} s "
            f"= {1000 * elapsed / n:.3f} ms per action (target <= 2 ms), forks {args.forks}"
        )
        exchange = plan_from_files(
            ROOT / "playbooks" / "exchange2003-sp2.yml", ROOT / "inventory" / "exchange2003"
        )
        mid = estate_plan(1300, directory)
        for name, plan in (("exchange2003-sp2", exchange), (f"estate of {len(mid.actions)}", mid)):
            bound, critical, work = lower_bound(plan, args.forks)
            wall = run(plan, directory, args.forks, args.scale)
            makespan = wall / args.scale
            print(
                f"(b) {name}: makespan {makespan:,.0f} plan-s, lower bound {bound:,.0f} "
                f"plan-s (critical path {critical:,.0f}, work/forks {work:,.0f}), "
                f"ratio {makespan / bound:.3f} (target <= 1.05; scale {args.scale}, "
                f"forks {args.forks}, {len(plan.actions)} actions)"
            )


if __name__ == "__main__":
    main()
