"""Exactly once, fast: the engine against the simulated lab with a ``lost_answer`` fault (the
step runs, its answer and its host-side record are lost) and against a scripted driver
whose host remembers step ids. A kind without a trusted probe ends ``unknown`` (reported,
its branch stopped, counted against the budget, never re-sent); a kind with one is probed
again; an apply in doubt is recalled from the host before anything is sent again."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from orchestrator.engine._clock import ScaledClock
from orchestrator.engine._engine import Engine, EngineOptions
from orchestrator.engine._exactly_once import in_doubt, probe_trusted, step_id
from orchestrator.engine._journal import Journal
from orchestrator.engine._observers import Recorder
from orchestrator.engine._report import build_report, render_report
from orchestrator.engine._resume import requeue_failed
from orchestrator.engine._status import render_status, status_document
from orchestrator.errors import StepTimeout, TransientError
from orchestrator.plan import Action, Plan

from .enginekit import ScriptedDriver
from .test_engine_faults import FAST, T0, exchange, rehearse  # noqa: F401

INSTALL = "be1/install"  # a service pack: an exe installer, no trusted probe
HOOK = "be1/hook/post/full-backup-reminder"


def applied(lab_log: list[object]) -> list[str]:
    return [e.action_id for e in lab_log if getattr(e, "action_id", None)]  # type: ignore[attr-defined]


def test_trust_per_kind() -> None:
    def a(kind: str, **params: object) -> Action:
        return Action("x", kind, "h", None, dict(params), (), 1, "p", "x")

    assert not probe_trusted(a("hook", run="echo"))
    assert not probe_trusted(a("install", package_kind="exe"))
    assert not probe_trusted(a("install", package_kind="service-pack"))
    assert not probe_trusted(a("install", package_kind="deb", command="make install"))
    assert probe_trusted(a("install", package_kind="msi"))
    assert probe_trusted(a("install", package_kind="patch-level", install_dir="/opt/app"))
    assert probe_trusted(a("stop_services", services=["x"]))
    assert len({step_id("r", "a", n, "apply") for n in (1, 2, 3)}) == 3
    assert step_id("r1", "a", 1, "apply") != step_id("r2", "a", 1, "apply")


def test_a_lost_answer_without_a_trusted_probe_is_unknown_and_never_repeated(
    exchange: Plan,  # noqa: F811
    tmp_path: Path,
) -> None:
    faults = f"faults:\n  - {{host: be1, action: {INSTALL}, lost_answer: 1}}\n"
    out = rehearse(tmp_path, exchange, faults, max_failures=5)
    rec = out.actions[INSTALL]
    assert rec.state == "unknown" and rec.attempts == 1, rec
    assert "how it ended" in rec.message
    assert applied(out.lab.log()).count(INSTALL) == 1  # ran once, not re-sent
    assert out.actions[HOOK].state == "cancelled"  # its branch stopped like a failure
    assert out.result.status == "failed" and out.result.failures == 1  # counted
    assert "unknown outcome" in out.result.reason
    finished = [e for e in out.events.events if e.type == "action_finished" and e.action == INSTALL]
    assert finished[0].data["outcome"] == "unknown"
    assert out.events.of_type("run_finished")[0].data["unknown"] == 1

    doc = status_document(out.journal, out.run_id)
    assert [u["id"] for u in doc["unknown"]] == [INSTALL]
    assert "outcome unknown" in render_status(doc) and INSTALL in render_status(doc)
    run = out.journal.run(out.run_id)
    report = build_report(exchange, run, out.actions, out.journal.attempts(out.run_id), None)
    assert report["counts"]["unknown"] == 1 and report["hosts"]["be1"]["outcome"] == "unknown"
    assert re.search(rf"{INSTALL}\s+unknown\s", render_report(report))

    # the operator checked the host: --retry-failed re-queues it; its probe finds it done
    assert requeue_failed(out.journal, out.run_id, T0) >= 2
    again = rehearse(tmp_path, exchange, lab=out.lab, journal=out.journal, run_id=out.run_id)
    assert again.result.status == "done", again.result
    assert again.actions[INSTALL].state == "skipped"
    assert applied(out.lab.log()).count(INSTALL) == 1


def test_a_lost_answer_with_a_trusted_probe_is_probed_again(
    exchange: Plan,  # noqa: F811
    tmp_path: Path,
) -> None:
    target = "owa/fe1/lb_out"
    faults = f"faults:\n  - {{host: fe1, action: {target}, lost_answer: 1}}\n"
    out = rehearse(tmp_path, exchange, faults)
    assert out.result.status == "done"
    rec = out.actions[target]
    assert rec.state == "done" and rec.attempts == 1 and "probe found it in effect" in rec.message
    assert applied(out.lab.log()).count(target) == 1
    steps = [(a.step, a.outcome) for a in out.journal.attempts(out.run_id, target)]
    assert steps == [("probe", "no"), ("apply", "unknown"), ("probe", "already"), ("verify", "ok")]


def _tiny() -> Plan:
    stop = {"services": ["s"]}
    acts = (
        Action("h1/hook", "hook", "h1", None, {"run": "x", "name": "n"}, (), 5, "p", "hook"),
        Action("h1/after", "stop_services", "h1", None, stop, ("h1/hook",), 5, "p", "a"),
    )
    return Plan({"name": "tiny"}, {}, {"hosts": {"h1": {}}}, acts, {}, {})


def _engine(plan: Plan, journal: Journal, run_id: str, driver: ScriptedDriver) -> Engine:
    options = EngineOptions(policy=FAST, forks=1)
    return Engine(plan, run_id, journal, driver, ScaledClock(T0, 0.0), Recorder(), options)


def test_a_resumed_apply_in_doubt_is_recalled_not_sent_again(tmp_path: Path) -> None:
    plan = _tiny()
    journal = Journal(tmp_path / "j.sqlite")
    run_id = journal.create_run(plan.to_json(), plan, {}, T0)
    # the killed controller had probed ("no") and sent attempt 1; the host finished it
    journal.start_action(run_id, "h1/hook", T0)
    journal.record_attempt(run_id, "h1/hook", 1, "probe", T0, T0, "no")
    driver = ScriptedDriver()
    sid = step_id(run_id, "h1/hook", 1, "apply")
    assert in_doubt(journal.attempts(run_id), run_id, "h1/hook", "apply") == sid
    driver.recorded[sid] = driver.apply(plan.actions[0], 10, sid)
    driver.applied.clear()
    driver.effects.clear()  # a hook whose probe would say "not run": only the record knows
    result = _engine(plan, journal, run_id, driver).run(resumed=True)
    assert result.status == "done"
    assert "h1/hook" not in driver.applied  # recalled, not re-run
    rec = journal.actions(run_id)["h1/hook"]
    assert rec.state == "done" and "answer recalled" in rec.message and rec.attempts == 2
    steps = [(a.attempt, a.step, a.outcome) for a in journal.attempts(run_id, "h1/hook")]
    assert steps[:3] == [(1, "probe", "no"), (2, "recall", "ok"), (2, "apply", "ok")]


def test_a_transient_apply_is_recalled_first_then_applied_once(tmp_path: Path) -> None:
    plan = _tiny()
    journal = Journal(tmp_path / "j.sqlite")
    run_id = journal.create_run(plan.to_json(), plan, {}, T0)
    driver = ScriptedDriver({"h1/hook": [TransientError("connection reset")]})
    assert _engine(plan, journal, run_id, driver).run().status == "done"
    assert driver.applied.count("h1/hook") == 1
    steps = [(a.attempt, a.step, a.outcome) for a in journal.attempts(run_id, "h1/hook")]
    assert steps[:4] == [(1, "probe", "no"), (1, "apply", "transient"), (2, "recall", "no"),
                         (2, "probe", "no")]  # fmt: skip


@pytest.mark.parametrize("kind", ["hook", "stop_services"])
def test_a_step_stopped_at_its_timeout(kind: str, tmp_path: Path) -> None:
    plan = _tiny()
    if kind == "stop_services":
        plan = Plan({"name": "t"}, {}, {"hosts": {"h1": {}}}, plan.actions[1:2], {}, {})
        plan = Plan(plan.playbook, {}, plan.facts,
                    (Action("h1/after", kind, "h1", None, {"services": ["s"]}, (), 5, "p", "a"),),
                    {}, {})  # fmt: skip
    journal = Journal(tmp_path / "j.sqlite")
    run_id = journal.create_run(plan.to_json(), plan, {}, T0)
    aid = plan.actions[0].id
    driver = ScriptedDriver({aid: [StepTimeout("stopped", exit_code=124)]})
    result = _engine(plan, journal, run_id, driver).run()
    rec = journal.actions(run_id)[aid]
    if kind == "hook":  # it may have partly run: not sent again
        assert rec.state == "unknown" and result.status == "failed"
        assert driver.applied.count(aid) == 0 and rec.attempts == 1
    else:  # a trusted probe: retried as before
        assert rec.state == "done" and rec.attempts == 2


def test_the_command_line_reports_an_unknown_outcome_and_exits_1(tmp_path: Path) -> None:
    from .test_cli_run import apply_args, cli

    faults = tmp_path / "faults.yml"
    faults.write_text(f"faults:\n  - {{host: be1, action: {INSTALL}, lost_answer: 1}}\n")
    journal = tmp_path / "journal.sqlite"
    done = cli(*apply_args("--faults", faults, "--max-failures", "3"), journal=journal)
    assert done.returncode == 1, done.stderr
    assert re.search(rf"{INSTALL}\s+unknown\s", done.stdout), done.stdout  # the final report
    status = cli("status", "last", journal=journal)
    assert "outcome unknown" in status.stdout and INSTALL in status.stdout
    report = cli("report", "last", journal=journal)
    assert re.search(rf"{INSTALL}\s+unknown\s", report.stdout), report.stdout
    assert re.search(r"be1\s.*\sunknown", report.stdout), report.stdout


def test_an_unknown_outcome_spends_the_failure_budget(
    exchange: Plan,  # noqa: F811
    tmp_path: Path,
) -> None:
    faults = f"faults:\n  - {{host: be1, action: {INSTALL}, lost_answer: 1}}\n"
    out = rehearse(tmp_path, exchange, faults, max_failures=0)
    assert out.actions[INSTALL].state == "unknown"
    spent = out.events.of_type("budget_spent")
    assert spent and spent[0].data["failures"] == 1
    assert out.result.status == "failed"


def test_a_recalled_step_the_host_stopped_at_its_timeout_is_unknown(tmp_path: Path) -> None:
    class StoppedThere(ScriptedDriver):
        def recall(self, action: Action, step_id: str) -> None:
            raise StepTimeout("apply did not finish within 5 s", exit_code=124)

    plan = _tiny()
    journal = Journal(tmp_path / "j.sqlite")
    run_id = journal.create_run(plan.to_json(), plan, {}, T0)
    journal.start_action(run_id, "h1/hook", T0)
    journal.record_attempt(run_id, "h1/hook", 1, "probe", T0, T0, "no")
    driver = StoppedThere()
    result = _engine(plan, journal, run_id, driver).run(resumed=True)
    rec = journal.actions(run_id)["h1/hook"]
    assert rec.state == "unknown" and "partly run" in rec.message
    assert driver.applied == [] and result.status == "failed"
