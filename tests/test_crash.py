"""Crash test: a rehearsal killed with SIGKILL at 32 points spread over the run, resumed each
time, ends in exactly the state of a clean run, with no action applied twice and no
invariant broken at any moment."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from orchestrator.engine._clock import ScaledClock
from orchestrator.plan import Plan
from orchestrator.sim import Lab

from .enginekit import ROOT, example_plan

KILLS = 32
SCALE = "0.0002"  # the 5-hour Exchange plan rehearses in about 4 s


def _cli(journal: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "orchestrator", *args, "--journal", str(journal)]


def _apply(journal: Path, lab: Path) -> list[str]:
    return _cli(
        journal, "apply", str(ROOT / "playbooks" / "exchange2003-sp2.yml"),
        "-i", str(ROOT / "inventory" / "exchange2003"), "--sim", "--yes",
        "--lab", str(lab), "--time-scale", SCALE, "--progress", "none",
    )  # fmt: skip


def _finished_actions(journal: Path) -> int:
    try:
        with sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=5) as db:
            row = db.execute(
                "SELECT COUNT(*) FROM actions WHERE state IN ('done', 'skipped')"
            ).fetchone()
            return int(row[0])
    except sqlite3.Error:
        return 0


def _lab_facts(lab_path: Path, plan: Plan) -> tuple[dict[str, Any], list[Any], list[str]]:
    lab = Lab.open(lab_path, plan, ScaledClock(0.0, 0.0))
    try:
        return lab.snapshot(), lab.log(), lab.violations()
    finally:
        lab.close()


def test_sigkill_at_32_points_then_resume_equals_a_clean_run(tmp_path: Path) -> None:
    plan = example_plan()
    clean_journal, clean_lab = tmp_path / "clean.sqlite", tmp_path / "clean-lab.sqlite"
    done = subprocess.run(_apply(clean_journal, clean_lab), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr

    journal, lab = tmp_path / "journal.sqlite", tmp_path / "lab.sqlite"
    total = len(plan.actions)
    kill_points: list[int] = []
    command = _apply(journal, lab)
    for k in range(1, KILLS + 1):
        target = k * total // (KILLS + 2)
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while _finished_actions(journal) < target and proc.poll() is None:
            assert time.monotonic() < deadline, "the run made no progress"
            time.sleep(0.005)
        if k % 2:  # land some kills mid-action rather than right after a commit
            time.sleep(0.003 * (k % 5))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        if k == 1:  # a killed controller: status says interrupted and how to go on
            shown = subprocess.run(_cli(journal, "status", "last"), capture_output=True, text=True)
            assert "interrupted" in shown.stdout and "orchestrator resume" in shown.stdout
        assert proc.returncode in (-signal.SIGKILL, 0), proc.stderr.read() if proc.stderr else ""
        kill_points.append(_finished_actions(journal))
        command = _cli(journal, "resume", "last", "--progress", "none")
    final = subprocess.run(command, capture_output=True, text=True)
    assert final.returncode == 0, final.stderr
    print("kill points (actions finished):", kill_points)
    assert len(set(kill_points)) >= KILLS // 2, f"kills bunched up: {kill_points}"
    assert max(kill_points) > total // 2

    snapshot, log, violations = _lab_facts(lab, plan)
    clean_snapshot, clean_log, clean_violations = _lab_facts(clean_lab, plan)
    assert violations == [] and clean_violations == []
    applied = [entry.action_id for entry in log if entry.action_id]
    assert len(applied) == len(set(applied)), "an action was applied twice"
    assert sorted(applied) == sorted(e.action_id for e in clean_log if e.action_id)
    assert snapshot == clean_snapshot
    status = subprocess.run(_cli(journal, "status", "last"), capture_output=True, text=True)
    assert status.returncode == 0 and " done " in status.stdout.splitlines()[0] + " "
