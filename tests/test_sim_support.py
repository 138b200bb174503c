"""Helpers for the simulated-lab tests: the example plans, test clocks, and runners that
drive a plan's actions through a lab (in plan order, or in parallel along the DAG)."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from functools import cache
from pathlib import Path

from orchestrator.engine._clock import ScaledClock
from orchestrator.engine._protocols import Clock, Driver
from orchestrator.plan import Action, Plan
from orchestrator.sim import FaultSpec, Lab
from orchestrator.workflow import plan_from_files

from .examples import EXAMPLES, ROOT

T0 = 1_800_000_000.0
CHECKS = frozenset({"preflight", "verify"})


@cache
def plan_of(name: str) -> Plan:
    """The plan of example ``name`` (playbooks/ + inventory/)."""
    return plan_from_files(ROOT / "playbooks" / f"{name}.yml", ROOT / "inventory" / EXAMPLES[name])


@cache
def drain_plan() -> Plan:
    """Exchange 2003 SP2 with the ``drain`` strategy (pause, drain, resume with failback)."""
    text = (ROOT / "playbooks" / "exchange2003-sp2.yml").read_text(encoding="utf-8")
    text = text.replace("strategy: move-off", "strategy: drain\n    failback: true")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "exchange2003-drain.yml"
        path.write_text(text, encoding="utf-8")
        return plan_from_files(path, ROOT / "inventory" / "exchange2003")


class StepClock:
    """Plan time that moves only when someone sleeps: deterministic durations."""

    def __init__(self, start: float = T0) -> None:
        self.t = start
        self._lock = threading.Lock()

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.t += max(seconds, 0.0)


class GateClock:
    """Zero-time clock whose long sleeps (>= ``threshold`` s) block until :attr:`go` is set;
    :attr:`entered` tells that one started."""

    def __init__(self, threshold: float = 1000.0) -> None:
        self.threshold = threshold
        self.entered = threading.Event()
        self.go = threading.Event()

    def now(self) -> float:
        return T0

    def sleep(self, seconds: float) -> None:
        if seconds >= self.threshold:
            self.entered.set()
            assert self.go.wait(10), "gate never opened"


def open_lab(
    tmp: Path, plan: Plan, clock: Clock | None = None, faults: FaultSpec | None = None
) -> Lab:
    """A fresh lab in ``tmp`` (zero-time clock unless given)."""
    return Lab.open(tmp / "lab.db", plan, clock or ScaledClock(T0, 0.0), faults)


def quiet(lab: Lab, plan: Plan, *hosts: str) -> Lab:
    """Stop the interfering services of ``hosts`` as the plan does before their installs (an
    install with antivirus or backup agents running fails with FileInUse:: lines)."""
    stops = [
        a
        for a in plan.actions
        if a.host in hosts
        and a.kind == "stop_services"
        and a.params.get("purpose") == "interfering"
    ]
    run_in_order(lab, stops)
    return lab


def act(plan: Plan, action_id: str) -> Action:
    """The plan's action ``action_id``."""
    return plan.action(action_id)


def step(driver: Driver, a: Action, timeout: float = 1e9) -> bool:
    """Probe, then apply and verify unless in effect; True if it was applied."""
    if driver.probe(a):
        return False
    driver.apply(a, timeout)
    driver.verify(a)
    return True


def run_in_order(lab: Lab, actions: Iterable[Action]) -> list[str]:
    """Run ``actions`` in order (barriers skipped); the ids skipped as already in effect."""
    driver, skipped = lab.driver(), []
    for a in actions:
        if a.kind != "barrier" and not step(driver, a):
            skipped.append(a.id)
    return skipped


def until(plan: Plan, last: str) -> list[Action]:
    """The plan's actions up to and including ``last``."""
    ids = [a.id for a in plan.actions]
    return list(plan.actions[: ids.index(last) + 1])


def run_parallel(lab: Lab, plan: Plan, workers: int = 8) -> None:
    """Run the plan along its DAG with ``workers`` threads, as an engine would."""
    driver = lab.driver()
    waiting = {a.id: set(a.after) for a in plan.actions}
    children: dict[str, list[str]] = {a.id: [] for a in plan.actions}
    for a in plan.actions:
        for p in a.after:
            children[p].append(a.id)
    running: dict[Future[None], str] = {}

    def work(a: Action) -> None:
        if a.kind != "barrier":
            step(driver, a)

    with ThreadPoolExecutor(workers) as pool:
        ready = [i for i, w in waiting.items() if not w]
        while ready or running:
            for i in ready:
                running[pool.submit(work, plan.action(i))] = i
            ready = []
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for f in done:
                f.result()
                finished = running.pop(f)
                for c in children[finished]:
                    waiting[c].discard(finished)
                    if not waiting[c]:
                        ready.append(c)
