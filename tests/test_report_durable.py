"""The report survives the controller's death: written atomically before the run's final
status, rebuilt from the journal when it is missing or damaged, never a traceback."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from orchestrator.engine._artefacts import read_report
from orchestrator.engine._clock import ScaledClock
from orchestrator.engine._engine import Engine, EngineOptions
from orchestrator.engine._journal import Journal
from orchestrator.engine._observers import Recorder
from orchestrator.fsutil import write_atomic

from .enginekit import ROOT, ScriptedDriver, example_plan
from .test_cli_run import apply_args, cli, report_json, status_json


def _states(journal: Path) -> tuple[str, int]:
    """The run's status and how many plan actions are not final yet."""
    try:
        with sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=5) as db:
            status = db.execute("SELECT status FROM runs").fetchone()
            left = db.execute(
                "SELECT count(*) FROM actions WHERE action_id NOT LIKE 'compensate/%' "
                "AND state NOT IN ('done', 'skipped', 'failed', 'cancelled')"
            ).fetchone()
    except (sqlite3.Error, TypeError):
        return "", -1
    return (str(status[0]), int(left[0])) if status else ("", -1)


def test_the_report_is_written_before_the_final_status(tmp_path: Path) -> None:
    plan = example_plan()
    journal = Journal(tmp_path / "journal.sqlite")
    clock = ScaledClock(1_800_000_000.0, 0.0)
    run_id = journal.create_run(plan.to_json(), plan, {}, clock.now())
    seen: list[str] = []

    def finalize(status: str, summary: object, at: float) -> None:
        seen.append(journal.run(run_id).status)  # not yet final when the report is made
        seen.append(status)

    engine = Engine(
        plan, run_id, journal, ScriptedDriver(), clock, Recorder(), EngineOptions(),
        finalize=finalize,
    )  # fmt: skip
    assert engine.run().status == "done"
    assert seen == ["running", "done"]
    assert journal.run(run_id).status == "done"


def test_atomic_write_leaves_the_old_or_the_new_file(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    write_atomic(path, "old")
    write_atomic(path, "new")
    assert path.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temp file left
    path.write_text('{"format": "orchestrator.report/v1", "run"')  # truncated by hand
    assert read_report(path) is None


def test_a_missing_or_truncated_report_is_rebuilt_from_the_journal(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite"
    r = cli(*apply_args(), journal=journal)
    assert r.returncode == 0, r.stderr
    original = report_json(journal)
    path = journal.parent / "runs" / f"{original['run']}.report.json"
    for damage in ("truncate", "delete"):
        if damage == "truncate":
            path.write_text(path.read_text()[:200])
        else:
            path.unlink()
        shown = cli("report", "last", journal=journal)
        assert shown.returncode == 0, shown.stderr
        assert "Traceback" not in shown.stderr
        assert "rebuilt from the journal" in shown.stderr
        assert shown.stdout.startswith(f"Run {original['run']}: done")
        rebuilt = report_json(journal)
        assert rebuilt["rebuilt"] is True and rebuilt["availability"] is None
        for key in ("status", "counts", "hosts", "done", "undone", "left", "failures"):
            assert rebuilt[key] == original[key], key
        assert read_report(path) is not None  # and saved again


def test_killed_around_the_end_the_report_is_there_and_resume_concludes(tmp_path: Path) -> None:
    """SIGKILL as soon as every action is final: before the report, between the report and
    the status, or after. ``report last`` prints a report; ``resume`` ends the run done."""
    for i in range(3):
        journal = tmp_path / f"j{i}" / "journal.sqlite"
        journal.parent.mkdir()
        command = [sys.executable, "-m", "orchestrator", *apply_args(), "--journal", str(journal)]
        proc = subprocess.Popen(
            command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while _states(journal)[1] != 0 and proc.poll() is None:
                assert time.monotonic() < deadline
                time.sleep(0.001)
            time.sleep(0.003 * i)  # land at different points of the gap
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        shown = cli("report", "last", journal=journal)
        assert shown.returncode == 0, shown.stderr
        assert "Traceback" not in shown.stderr and shown.stdout.startswith("Run ")
        r = cli("resume", "last", "--progress", "none", journal=journal)
        assert r.returncode == 0, r.stderr
        assert status_json(journal)["status"] == "done"
        report = json.loads(
            (journal.parent / "runs" / f"{report_json(journal)['run']}.report.json").read_text()
        )
        assert report["status"] == "done" and report["left"] == []
