"""An in-memory driver for engine tests (like httpx's MockTransport): effects are a set of
action ids, failures are scripted per action id, and every call is recorded."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.engine._protocols import StepResult
from orchestrator.errors import StepError
from orchestrator.plan import Action, Plan
from orchestrator.workflow import plan_from_files

if TYPE_CHECKING:
    from orchestrator.engine._journal import Journal
    from orchestrator.transports._protocol import Transport

ROOT = Path(__file__).resolve().parent.parent
CHECKS = frozenset({"preflight", "verify", "barrier"})


def example_plan(name: str = "exchange2003-sp2", inventory: str = "exchange2003") -> Plan:
    """A real plan from the examples."""
    return plan_from_files(ROOT / "playbooks" / f"{name}.yml", ROOT / "inventory" / inventory)


class ScriptedDriver:
    """Applies succeed unless ``script[action_id]`` lists outcomes for successive applies:
    a StepError instance is raised, an int is returned as the exit code."""

    def __init__(
        self, script: Mapping[str, list[StepError | int]] | None = None, delay: float = 0.0
    ) -> None:
        self.script = {k: list(v) for k, v in (script or {}).items()}
        self.delay = delay
        self.effects: set[str] = set()
        self.applied: list[str] = []
        self.finished: dict[str, float] = {}
        self.started: dict[str, float] = {}
        self.recorded: dict[str, StepResult] = {}  # the host's record: step id -> result
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0

    def live_facts(self, facts: Mapping[str, Any]) -> dict[str, Any]:
        return {"clusters": facts.get("clusters", {}), "pools": facts.get("pools", {})}

    def probe(self, action: Action) -> bool:
        with self.lock:
            return action.kind not in CHECKS and action.id in self.effects

    def recall(self, action: Action, step_id: str) -> StepResult | None:
        with self.lock:
            return self.recorded.get(step_id)

    def apply(self, action: Action, timeout_s: float, step_id: str = "") -> StepResult:
        with self.lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            self.started.setdefault(action.id, time.monotonic())
            todo = self.script.get(action.id)
            outcome = todo.pop(0) if todo else 0
        try:
            if self.delay:
                time.sleep(self.delay)
            if isinstance(outcome, StepError):
                raise outcome
            with self.lock:
                self.applied.append(action.id)
                if outcome in (0, 3010):  # an installer that failed changed nothing
                    self.effects.add(action.id)
                self.finished[action.id] = time.monotonic()
                result = StepResult(exit_code=outcome, output=f"ran {action.id}")
                if step_id:
                    self.recorded[step_id] = result
            return result
        finally:
            with self.lock:
                self.active -= 1

    def verify(self, action: Action) -> None:
        return None

    def close(self) -> None:
        return None


def run_over_transports(
    plan: Plan, journal: Journal, connect: Callable[[str], Transport], scope: str
) -> dict[str, tuple[str, str]]:
    """Run ``plan`` with the engine through a :class:`TransportDriver` on real transports
    made by ``connect`` (two forks, one quick retry): {action id: (state, message)}."""
    from orchestrator.engine._clock import RealClock
    from orchestrator.engine._engine import Engine, EngineOptions
    from orchestrator.engine._observers import Recorder
    from orchestrator.engine._retry import RetryPolicy
    from orchestrator.transports._driver import TransportDriver

    run_id = journal.create_run(plan.to_json(), plan, {}, RealClock().now())
    driver = TransportDriver(plan.facts, connect, scope=scope)
    try:
        options = EngineOptions(forks=2, policy=RetryPolicy(1, 0.1, 0.2))
        Engine(plan, run_id, journal, driver, RealClock(), Recorder(), options).run()
    finally:
        driver.close()
    return {a: (r.state, r.message) for a, r in journal.actions(run_id).items()}
