"""The scheduler: DAG order, forks, retries, failure budget, cancellation, compensation,
windows and resume, on real example plans with an in-memory driver."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from orchestrator.engine._clock import ScaledClock
from orchestrator.engine._engine import Engine, EngineOptions, RunResult
from orchestrator.engine._journal import Journal
from orchestrator.engine._observers import Recorder
from orchestrator.engine._retry import RetryPolicy
from orchestrator.errors import FatalError, HostUnreachable, TransientError
from orchestrator.plan import Plan

from .enginekit import ScriptedDriver, example_plan

T0 = 1_800_000_000.0
FAST = RetryPolicy(attempts=3, backoff_s=1, max_backoff_s=2)


@pytest.fixture(scope="module")
def exchange() -> Plan:
    return example_plan()


def run(
    plan: Plan,
    tmp_path: Path,
    driver: ScriptedDriver,
    journal: Journal | None = None,
    run_id: str | None = None,
    clock: ScaledClock | None = None,
    **options: object,
) -> tuple[RunResult, Journal, str, Recorder]:
    journal = journal or Journal(tmp_path / "journal.sqlite")
    clock = clock or ScaledClock(T0, 0.0)
    run_id = run_id or journal.create_run(plan.to_json(), plan, {}, clock.now())
    recorder = Recorder()
    opts = EngineOptions(**{"policy": FAST, **options})  # type: ignore[arg-type]
    engine = Engine(plan, run_id, journal, driver, clock, recorder, opts)
    return engine.run(), journal, run_id, recorder


def test_clean_run_respects_every_edge_and_the_forks_limit(exchange: Plan, tmp_path: Path) -> None:
    driver = ScriptedDriver(delay=0.002)
    result, journal, run_id, rec = run(exchange, tmp_path, driver, forks=3)
    assert result.status == "done", result
    states = journal.actions(run_id)
    assert all(r.state in ("done", "skipped") for r in states.values())
    assert 1 < driver.max_active <= 3
    for action in exchange.actions:
        if action.id in driver.started:
            for parent in action.after:
                if parent in driver.finished:
                    assert driver.finished[parent] <= driver.started[action.id], (parent, action.id)
    assert len(driver.applied) == len(set(driver.applied))
    assert rec.of_type("run_finished")[0].data["status"] == "done"
    assert journal.run(run_id).status == "done"


def test_transient_errors_are_retried_and_every_attempt_journaled(
    exchange: Plan, tmp_path: Path
) -> None:
    target = "exclu1/node-c/install"
    script = {target: [TransientError("connection reset by peer"), HostUnreachable("refused"), 0]}
    driver = ScriptedDriver(script)
    result, journal, run_id, rec = run(exchange, tmp_path, driver)
    assert result.status == "done"
    steps = [(a.attempt, a.step, a.outcome) for a in journal.attempts(run_id, target)]
    assert [s for s in steps if s[1] == "apply"] == [
        (1, "apply", "transient"),
        (2, "apply", "transient"),
        (3, "apply", "ok"),
    ]
    assert journal.actions(run_id)[target].attempts == 3
    retries = [e for e in rec.of_type("attempt_failed") if e.action == target]
    assert [e.data["attempt"] for e in retries] == [1, 2]


def test_1618_is_transient_and_1603_is_fatal(exchange: Plan, tmp_path: Path) -> None:
    script: dict[str, list[FatalError | int]] = {
        "be1/install": [1618, 1618, 0],
        "be2/install": [1603],
    }
    result, journal, run_id, _ = run(exchange, tmp_path, ScriptedDriver(script), max_failures=5)
    actions = journal.actions(run_id)
    assert actions["be1/install"].state == "done" and actions["be1/install"].attempts == 3
    assert actions["be2/install"].state == "failed" and actions["be2/install"].attempts == 1
    assert "1603" in actions["be2/install"].message
    assert result.status == "failed"


def test_failure_cancels_descendants_and_budget_zero_stops_everything(
    exchange: Plan, tmp_path: Path
) -> None:
    script = {"owa/fe2/install": [FatalError("Fatal error during installation", exit_code=1603)]}
    driver = ScriptedDriver(script)
    result, journal, run_id, rec = run(exchange, tmp_path, driver, forks=1)
    actions = journal.actions(run_id)
    assert result.status == "failed" and result.failures == 1
    assert actions["owa/all-upgraded"].state == "cancelled"
    assert actions["tier-1/done"].state == "cancelled"
    assert all(actions[a.id].state == "cancelled" for a in exchange.actions if a.phase == "tier-2")
    assert rec.of_type("budget_spent")
    # the pool is put back: lb_in of the upgraded members only (all-at-once: one version)
    comp = {aid: r for aid, r in actions.items() if aid.startswith("compensate/")}
    assert comp, "a compensation must run"
    assert comp["compensate/owa/fe2/lb_in"].state == "cancelled"
    assert "mix versions" in comp["compensate/owa/fe2/lb_in"].message


def test_budget_lets_independent_branches_go_on(exchange: Plan, tmp_path: Path) -> None:
    script = {"be2/install": [FatalError("exit 1603", exit_code=1603)]}
    result, journal, run_id, _ = run(exchange, tmp_path, ScriptedDriver(script), max_failures=1)
    actions = journal.actions(run_id)
    assert result.status == "failed"
    assert actions["be2/install"].state == "failed"
    assert actions["exclu1/node-a/install"].state == "done"  # another branch went on
    assert actions["be1/install"].state == "done"
    assert actions["be2/start_services/interfering"].state == "cancelled"
    comp = actions["compensate/be2/start_services/interfering"]
    assert comp.state in ("done", "skipped")


def test_window_stops_at_a_safe_point_and_resume_continues(exchange: Plan, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    clock = ScaledClock(T0, 0.0)  # plan time stands still: only estimates decide
    window = (T0, T0 + 3600)  # one hour: the pool tier fits, a cluster node does not
    result, journal, run_id, rec = run(
        exchange, tmp_path, ScriptedDriver(), journal=journal, clock=clock, window=window
    )
    assert result.status == "paused"
    actions = journal.actions(run_id)
    assert actions["tier-1/done"].state == "done"
    assert actions["exclu1/node-c/stop_cluster_service"].state == "pending"
    assert rec.of_type("window_closing")
    again, journal, _, _ = run(
        exchange, tmp_path, ScriptedDriver(), journal=journal, run_id=run_id,
        clock=ScaledClock(T0 + 86400, 0.0), window=(T0 + 86400, T0 + 86400 + 8 * 3600),
    )  # fmt: skip
    assert again.status == "done"


def test_resume_reprobes_running_actions_and_never_repeats_done_ones(
    exchange: Plan, tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    run_id = journal.create_run(exchange.to_json(), exchange, {}, T0)
    done = ["preflight/fe1/backup", "preflight/fe2/backup"]
    for aid in done:
        journal.start_action(run_id, aid, T0)
        journal.finish_action(run_id, aid, "done", T0)
    journal.start_action(run_id, "preflight/fe3/backup", T0)  # killed while running
    driver = ScriptedDriver()
    result, journal, _, _ = run(exchange, tmp_path, driver, journal=journal, run_id=run_id)
    assert result.status == "done"
    assert not set(done) & set(driver.applied)
    assert "preflight/fe3/backup" in driver.applied


def test_an_action_already_in_effect_is_skipped(exchange: Plan, tmp_path: Path) -> None:
    driver = ScriptedDriver()
    driver.effects.add("owa/fe1/lb_out")
    _, journal, run_id, _ = run(exchange, tmp_path, driver)
    assert journal.actions(run_id)["owa/fe1/lb_out"].state == "skipped"
    assert "owa/fe1/lb_out" not in driver.applied


def test_graceful_stop_finishes_open_spans_only(exchange: Plan, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    run_id = journal.create_run(exchange.to_json(), exchange, {}, T0)
    stop = threading.Event()
    driver = ScriptedDriver()
    original = driver.apply

    def apply_then_stop(action, timeout_s, step_id=""):  # type: ignore[no-untyped-def]
        result = original(action, timeout_s, step_id)
        if action.id == "exclu1/node-c/stop_cluster_service":
            stop.set()
        return result

    driver.apply = apply_then_stop  # type: ignore[method-assign]
    engine = Engine(
        exchange, run_id, journal, driver, ScaledClock(T0, 0.0), Recorder(),
        EngineOptions(policy=FAST, forks=1), stop=stop,
    )  # fmt: skip
    result = engine.run()
    actions = journal.actions(run_id)
    assert result.status == "paused"
    assert actions["exclu1/node-c/start_cluster_service"].state == "done"  # span closed
    assert actions["exclu1/node-b/stop_cluster_service"].state == "pending"  # nothing new
