"""Fault matrix: the engine against the simulated lab with each injected fault, asserting
the documented outcome, and that the lab ends with nothing out of service and no invariant
ever broken. Plus the failure budget and "the window closes mid-cluster"."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from orchestrator.engine._clock import ScaledClock
from orchestrator.engine._engine import Engine, EngineOptions, RunResult
from orchestrator.engine._journal import Journal
from orchestrator.engine._observers import Recorder
from orchestrator.engine._protocols import Clock
from orchestrator.engine._records import ActionRecord
from orchestrator.engine._retry import RetryPolicy
from orchestrator.plan import Plan
from orchestrator.sim import Lab, load_faults

from .test_sim_support import StepClock, drain_plan, plan_of

T0 = 1_800_000_000.0
FAST = RetryPolicy(attempts=3, backoff_s=1, max_backoff_s=2)


@dataclass
class Outcome:
    result: RunResult
    actions: dict[str, ActionRecord]
    lab: Lab
    journal: Journal
    run_id: str
    events: Recorder


def rehearse(
    tmp_path: Path,
    plan: Plan,
    faults: str | None = None,
    clock: Clock | None = None,
    lab: Lab | None = None,
    journal: Journal | None = None,
    run_id: str | None = None,
    **options: Any,
) -> Outcome:
    clock = clock or ScaledClock(T0, 0.0)
    spec = None
    if faults is not None:
        path = tmp_path / "faults.yml"
        path.write_text(faults, encoding="utf-8")
        spec = load_faults(path, plan)
    lab = lab or Lab.open(tmp_path / "lab.sqlite", plan, clock, spec)
    journal = journal or Journal(tmp_path / "journal.sqlite")
    run_id = run_id or journal.create_run(plan.to_json(), plan, {}, clock.now())
    execution = plan.extra["execution"]
    opts = {
        "policy": FAST,
        "timeouts": {k: float(v) for k, v in execution["timeouts"].items()},
        **options,
    }
    recorder = Recorder()
    engine = Engine(plan, run_id, journal, lab.driver(), clock, recorder, EngineOptions(**opts))
    result = engine.run()
    return Outcome(result, journal.actions(run_id), lab, journal, run_id, recorder)


def assert_all_serving(lab: Lab) -> None:
    """No node out, every group and pool serving, no invariant ever broken."""
    assert lab.violations() == []
    timeline = lab.timeline()
    for kind in ("groups", "pools"):
        for name, info in timeline[kind].items():
            assert all(o["end"] is not None for o in info["outages"]), f"{name} still down"
    nodes = lab.snapshot()["clusters"]["exclu1"]["nodes"]
    assert all(n["state"] == "Up" for n in nodes.values()), nodes


@pytest.fixture(scope="module")
def exchange() -> Plan:
    return plan_of("exchange2003-sp2")


def test_1618_twice_then_success(exchange: Plan, tmp_path: Path) -> None:
    faults = "faults:\n  - {host: node-c, action: install, exit_codes: [1618, 1618, 0]}\n"
    out = rehearse(tmp_path, exchange, faults)
    assert out.result.status == "done"
    install = out.actions["exclu1/node-c/install/kb831464"]
    assert install.state == "done" and install.attempts == 3
    codes = [a.exit_code for a in out.journal.attempts(out.run_id, install.action_id)]
    assert codes.count(1618) == 2
    assert_all_serving(out.lab)


def test_1603_fails_the_node_and_puts_the_cluster_back_in_service(
    exchange: Plan, tmp_path: Path
) -> None:
    faults = "faults:\n  - {host: node-c, action: install, exit_codes: [1603]}\n"
    out = rehearse(tmp_path, exchange, faults)
    assert out.result.status == "failed" and out.result.failures == 1
    install = out.actions["exclu1/node-c/install/kb831464"]
    assert install.state == "failed" and install.attempts == 1  # fatal: not retried
    assert out.actions["exclu1/node-b/stop_cluster_service"].state == "cancelled"
    assert out.actions["exclu1/node-c/start_cluster_service"].state == "cancelled"
    comp = out.actions["compensate/exclu1/node-c/start_cluster_service"]
    assert comp.state == "done"
    assert out.actions["compensate/exclu1/node-c/start_services/interfering"].state == "done"
    assert out.actions["tier-1/done"].state == "done"  # the pool tier was finished before
    assert_all_serving(out.lab)


def test_1603_with_files_in_use_is_retried(exchange: Plan, tmp_path: Path) -> None:
    faults = (
        "faults:\n  - {host: be1, action: install, exit_codes: [1603, 0], files_in_use: true}\n"
    )
    out = rehearse(tmp_path, exchange, faults)
    assert out.result.status == "done"
    assert out.actions["be1/install"].attempts == 2


@pytest.mark.parametrize(
    ("fault", "action"),
    [
        ("{host: fe2, action: lb_out, unreachable: 2}", "owa/fe2/lb_out"),
        ("{host: be1, action: install, transient: 2}", "be1/install"),
    ],
)
def test_transient_faults_are_retried(
    exchange: Plan, tmp_path: Path, fault: str, action: str
) -> None:
    out = rehearse(tmp_path, exchange, f"faults:\n  - {fault}\n")
    assert out.result.status == "done"
    assert out.actions[action].attempts == 3
    retries = [e for e in out.events.of_type("attempt_failed") if e.action == action]
    assert len(retries) == 2 and all(e.data["retry_in_s"] > 0 for e in retries)
    assert_all_serving(out.lab)


def test_unreachable_host_fails_after_the_retries_and_the_pool_serves_again(
    exchange: Plan, tmp_path: Path
) -> None:
    faults = "faults:\n  - {host: fe2, action: lb_out, unreachable: true}\n"
    out = rehearse(tmp_path, exchange, faults)
    assert out.result.status == "failed"
    assert out.actions["owa/fe2/lb_out"].state == "failed"
    assert out.actions["owa/fe2/lb_out"].attempts == 3
    assert out.actions["owa/all-out"].state == "cancelled"
    assert out.actions["compensate/owa/fe1/lb_in"].state in ("done", "skipped")
    assert_all_serving(out.lab)


def test_slow_reboot_takes_longer_but_completes(exchange: Plan, tmp_path: Path) -> None:
    fault = "{host: node-b, action: exclu1/node-b/reboot/kb831464, reboot: slow, factor: 2}"
    faults = f"faults:\n  - {fault}\n"
    out = rehearse(tmp_path, exchange, faults, clock=StepClock(T0), forks=1)
    assert out.result.status == "done"
    rec = out.actions["exclu1/node-b/reboot/kb831464"]
    normal = out.actions["exclu1/node-c/reboot/kb831464"]
    assert rec.ended_at and rec.started_at and normal.ended_at and normal.started_at
    assert rec.ended_at - rec.started_at == pytest.approx(2 * (normal.ended_at - normal.started_at))


def test_failed_reboot_leaves_the_host_down_and_reports_what_is_left(
    exchange: Plan, tmp_path: Path
) -> None:
    faults = "faults:\n  - {host: node-a, action: exclu1/node-a/reboot/kb831464, reboot: fail}\n"
    out = rehearse(tmp_path, exchange, faults)
    assert out.result.status == "failed"
    reboot = out.actions["exclu1/node-a/reboot/kb831464"]
    assert reboot.state == "failed" and reboot.attempts == 3
    outcomes = {a.outcome for a in out.journal.attempts(out.run_id, reboot.action_id)}
    assert "timeout" in outcomes or "transient" in outcomes
    comp = out.actions["compensate/exclu1/node-a/start_cluster_service"]
    assert comp.state == "failed"  # the host never came back: left for the operator
    assert out.lab.violations() == []
    evs = out.lab.timeline()["groups"]
    assert all(o["end"] is not None for o in evs["exclu1/EVS1"]["outages"])  # moved off first


def test_drain_failure_resumes_the_node(tmp_path: Path) -> None:
    plan = drain_plan()
    faults = 'faults:\n  - {host: node-b, action: drain_node, fail: "group EVS2 failed to move"}\n'
    out = rehearse(tmp_path, plan, faults)
    assert out.result.status == "failed"
    drain = out.actions["exclu1/node-b/drain_node"]
    assert drain.state == "failed" and "EVS2 failed to move" in drain.message
    assert out.actions["compensate/exclu1/node-b/resume_node"].state in ("done", "skipped")
    assert_all_serving(out.lab)


def test_budget_of_one_lets_the_cluster_go_on_after_a_backend_fails(
    exchange: Plan, tmp_path: Path
) -> None:
    faults = "faults:\n  - {host: be2, action: install, exit_codes: [1603]}\n"
    out = rehearse(tmp_path, exchange, faults, max_failures=1)
    assert out.result.status == "failed" and out.result.failures == 1
    assert out.actions["exclu1/node-a/install"].state == "done"
    assert out.actions["be1/install"].state == "done"
    assert out.actions["compensate/be2/start_services/interfering"].state == "done"
    assert not out.events.of_type("budget_spent")
    assert_all_serving(out.lab)


def test_window_closes_mid_cluster_at_a_safe_point_then_resume_finishes(
    exchange: Plan, tmp_path: Path
) -> None:
    clock = StepClock(T0)  # with one fork, plan time is the sum of the estimates: exact
    first = rehearse(tmp_path, exchange, clock=clock, window=(T0, T0 + 14000), forks=1)
    assert first.result.status == "paused"
    actions = first.actions
    assert actions["exclu1/node-c/install"].state == "done"  # node-c fitted
    assert actions["exclu1/node-c/upgrade_virtual_server/EVS2"].state == "done"
    assert actions["exclu1/node-b/stop_cluster_service"].state == "pending"  # node-b did not
    assert first.events.of_type("window_closing")
    assert_all_serving(first.lab)  # nothing out: a safe point
    assert first.journal.run(first.run_id).status == "paused"

    later = T0 + 86400
    clock.t = later
    second = rehearse(
        tmp_path, exchange, clock=clock, lab=first.lab, journal=first.journal,
        run_id=first.run_id, window=(later, later + 8 * 3600), forks=1,
    )  # fmt: skip
    assert second.result.status == "done"
    assert_all_serving(second.lab)
    (tmp_path / "clean").mkdir()
    clean = rehearse(tmp_path / "clean", exchange)
    assert clean.result.status == "done"
    assert second.lab.snapshot() == clean.lab.snapshot()


def test_retry_after_compensation_redoes_what_compensation_undid(
    exchange: Plan, tmp_path: Path
) -> None:
    from orchestrator.engine._resume import requeue_failed

    faults = "faults:\n  - {host: node-c, action: exclu1/node-c/install, exit_codes: [1603]}\n"
    first = rehearse(tmp_path, exchange, faults)
    assert first.result.status == "failed"
    assert first.actions["compensate/exclu1/node-c/start_cluster_service"].state == "done"
    assert requeue_failed(first.journal, first.run_id, T0) > 0
    second = rehearse(tmp_path, exchange, lab=first.lab, journal=first.journal, run_id=first.run_id)
    assert second.result.status == "done"
    assert_all_serving(second.lab)
    # the node's cluster service was stopped again before the install was retried
    node_c = [e.action_id for e in second.lab.log() if e.host == "node-c"]
    undo = node_c.index("compensate/exclu1/node-c/start_cluster_service")
    redo = node_c.index("exclu1/node-c/stop_cluster_service", undo)
    assert redo < node_c.index("exclu1/node-c/install")
    requeued = second.journal.actions(second.run_id)["exclu1/node-c/stop_cluster_service"]
    assert requeued.state == "done" and requeued.attempts >= 2


@pytest.mark.parametrize("code", [1603, 1, 0x80070020])
def test_fileinuse_lines_of_the_update_log_make_any_failure_transient(code: int) -> None:
    """KB 328839: the update log writes ``FileInUse:: Added to Filelist: <file>`` when
    another program holds a file; that failure is worth a retry, whatever the exit code,
    and the error names the files."""
    from orchestrator.engine._protocols import StepResult
    from orchestrator.engine._retry import check_exit
    from orchestrator.errors import FatalError, TransientError

    install = next(a for a in plan_of("exchange2003-sp2").actions if a.kind == "install")
    log = (
        "Copying files\r\nFileInUse:: Added to Filelist: C:\\Exchsrvr\\bin\\store.exe\r\n"
        "FileInUse:: Added to Filelist: C:\\Exchsrvr\\bin\\mad.exe\r\nUpdate failed\r\n"
    )
    with pytest.raises(TransientError, match=r"files in use: C:\\Exchsrvr\\bin\\store.exe, C:"):
        check_exit(install, StepResult(code, log))
    with pytest.raises(FatalError):  # the same code without the lines is fatal
        check_exit(install, StepResult(code, "Update failed\r\n"))
