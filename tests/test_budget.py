"""The failure budget: limits in actions, hosts and percent; journaled with the failure that
spends it, so that a controller SIGKILLed right after a failure resumes with the budget
spent and starts no install the uninterrupted run would not start."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchestrator.engine._budget import Budget, BudgetLimits
from orchestrator.errors import InputError

from .enginekit import ROOT

PLAYBOOK = ROOT / "playbooks" / "contactpro-hotfix-install.yml"
INVENTORY = ROOT / "inventory" / "contactpro"
FAILING = "workstations/ws005/install"
SCALE = "0.0002"


# -- the limits -------------------------------------------------------------------------


def test_limits_from_the_plan_and_the_command_line() -> None:
    assert BudgetLimits.resolve({}, {}) == BudgetLimits(0, None, None)
    plan = {"max_percent": 5}
    assert BudgetLimits.resolve(plan, {}) == BudgetLimits(None, None, 5.0)
    # a limit on the command line replaces the plan's limits entirely
    given = {"max_failures": None, "max_failed_hosts": 2, "max_percent": None}
    assert BudgetLimits.resolve(plan, given) == BudgetLimits(None, 2, None)
    assert (
        BudgetLimits(1, 2, 5.0).describe() == "max_failures 1, max_failed_hosts 2, max_percent 5 %"
    )
    with pytest.raises(InputError, match="max_failed_hosts"):
        BudgetLimits.resolve({"max_failed_hosts": -1}, {})
    with pytest.raises(InputError, match="max_failures"):
        BudgetLimits.resolve({"max_failures": True}, {})


def test_actions_hosts_and_percent_are_counted_apart() -> None:
    hosts = [f"h{i}" for i in range(20)]
    by_actions = Budget(BudgetLimits(max_failures=2), hosts)
    assert not by_actions.record("h1/a", "h1") and not by_actions.record("h1/b", "h1")
    assert by_actions.record("h2/a", "h2") and "3 failed action(s)" in by_actions.reason
    assert not by_actions.record("h3/a", "h3")  # spent once, and stays spent

    by_hosts = Budget(BudgetLimits(None, max_failed_hosts=1), hosts)
    assert not by_hosts.record("h1/a", "h1") and not by_hosts.record("h1/b", "h1")
    assert by_hosts.record("h2/a", "h2") and "2 failed host(s)" in by_hosts.reason

    by_percent = Budget(BudgetLimits(None, None, max_percent=10), hosts)  # 2 of 20 may fail
    assert not by_percent.record("h1/a", "h1") and not by_percent.record("h2/a", "h2")
    assert by_percent.record("h3/a", "h3") and "3 of 20 hosts failed (15.0 %)" in by_percent.reason

    run_wide = Budget(BudgetLimits(max_failures=0), hosts)
    assert run_wide.record("run/preflight", None)  # a run-wide action counts as an action


def test_state_round_trips_and_counts_failures_journaled_without_it() -> None:
    hosts = ["a", "b", "c"]
    first = Budget(BudgetLimits(None, max_failed_hosts=1), hosts)
    first.record("a/x", "a")
    again = Budget(BudgetLimits(None, max_failed_hosts=1), hosts)
    again.restore(first.to_json(), [("a/x", "a")])
    assert not again.spent and again.failed_hosts == {"a"}
    # a failure the journal holds but the budget state does not yet know still counts
    again.restore(first.to_json(), [("a/x", "a"), ("b/x", "b")])
    assert again.spent and again.failed_hosts == {"a", "b"}
    spent = Budget(BudgetLimits(max_failures=5), hosts)
    spent.restore({"spent": True, "reason": "r", "failed_actions": ["a/x"]}, [])
    assert spent.spent and spent.reason == "r"  # spent stays spent whatever the limits say


# -- budget and crash, over the command line ---------------------------------------------


def _cli(journal: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "orchestrator", *args, "--journal", str(journal)]


def _apply(journal: Path, tmp: Path) -> list[str]:
    faults = tmp / "faults.yml"
    faults.write_text(f"faults:\n  - {{host: ws005, action: {FAILING}, exit_codes: [1603]}}\n")
    return _cli(
        journal, "apply", str(PLAYBOOK), "-i", str(INVENTORY), "--sim", "--yes",
        "--lab", str(tmp / "lab.sqlite"), "--faults", str(faults), "--time-scale", SCALE,
        "--max-failures", "0", "--progress", "none",
    )  # fmt: skip


def _failed_at(journal: Path) -> float | None:
    try:
        with sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=5) as db:
            row = db.execute(
                "SELECT ended_at FROM actions WHERE action_id = ? AND state = 'failed'",
                (FAILING,),
            ).fetchone()
    except sqlite3.Error:
        return None
    return None if row is None else float(row[0])


def _installs_started_after(journal: Path, at: float) -> list[str]:
    with sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=5) as db:
        rows = db.execute(
            "SELECT action_id FROM actions WHERE action_id LIKE '%/install' "
            "AND started_at IS NOT NULL AND started_at > ? ORDER BY started_at",
            (at,),
        ).fetchall()
    return [str(r[0]) for r in rows]


def _budget_state(journal: Path) -> str:
    with sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=5) as db:
        return str(db.execute("SELECT state FROM budgets").fetchone()[0])


def test_no_install_starts_after_the_budget_is_spent(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite"
    r = subprocess.run(_apply(journal, tmp_path), capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 1, r.stderr
    assert "failure budget spent: 1 failed action(s), more than max_failures 0" in r.stderr
    failed_at = _failed_at(journal)
    assert failed_at is not None
    assert _installs_started_after(journal, failed_at) == []
    assert '"spent": true' in _budget_state(journal)


def test_a_controller_killed_right_after_the_failure_resumes_with_the_budget_spent(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "journal.sqlite"
    proc = subprocess.Popen(
        _apply(journal, tmp_path), cwd=ROOT, stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while _failed_at(journal) is None and proc.poll() is None:
            assert time.monotonic() < deadline, "the install never failed"
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    failed_at = _failed_at(journal)
    assert failed_at is not None
    assert '"spent": true' in _budget_state(journal)  # journaled with the failure itself
    with sqlite3.connect(f"file:{journal}?mode=ro", uri=True) as db:
        concluded = db.execute("SELECT status FROM runs").fetchone()[0] != "running"
    if concluded:  # the run ended before the kill landed: nothing to resume
        assert _installs_started_after(journal, failed_at) == []
        return
    r = subprocess.run(
        _cli(journal, "resume", "last", "--progress", "plain"),
        capture_output=True, text=True, cwd=ROOT, timeout=180,
    )  # fmt: skip
    assert "Traceback" not in r.stderr
    assert r.returncode == 1, r.stderr
    assert "failure budget spent" in r.stderr
    assert _installs_started_after(journal, failed_at) == []
    with sqlite3.connect(f"file:{journal}?mode=ro", uri=True) as db:
        status = db.execute("SELECT status FROM runs").fetchone()[0]
        running = db.execute("SELECT count(*) FROM actions WHERE state = 'running'").fetchone()
    assert status == "failed" and running[0] == 0
