"""End to end: the run commands (`apply`, `resume`, `status`, `runs`, `report`) in a
subprocess, on the simulated lab, with a journal in a temporary directory.

Every error case checks the exit status, one clear `error: ...` message on stderr that names
what is wrong, and no Python traceback. Rehearsals use tiny time scales (the 5-hour Exchange
2003 plan takes about a second); runs that must finish get a 48-hour window so that a slow
machine (controller overhead counts as plan time at these scales) cannot make them pause.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from orchestrator.engine._clock import ScaledClock
from orchestrator.sim import Lab
from orchestrator.workflow import plan_from_files

ROOT = Path(__file__).resolve().parent.parent
PLAYBOOK = ROOT / "playbooks" / "exchange2003-sp2.yml"
INVENTORY = ROOT / "inventory" / "exchange2003"
FAULTS_1618 = ROOT / "examples" / "faults" / "exchange2003-node-c-1618.yml"
SCALE = "0.00005"  # wall seconds per plan second: the plan rehearses in about 1 s
PLAN_START = datetime.fromisoformat("2026-11-28T22:00:00+00:00")  # the playbook's window
WIDE_WINDOW = f"{PLAN_START.isoformat()}/{(PLAN_START + timedelta(hours=48)).isoformat()}"
REPORT_FORMAT = "orchestrator.report/v1"


def cli(
    *args: str | Path, journal: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``python -m orchestrator ARGS [--journal JOURNAL]``, stdin not a terminal."""
    command = [sys.executable, "-m", "orchestrator", *map(str, args)]
    if journal is not None:
        command += ["--journal", str(journal)]
    return subprocess.run(
        command,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def apply_args(
    *extra: str | Path,
    inventory: Path = INVENTORY,
    scale: str = SCALE,
    window: str | None = WIDE_WINDOW,
) -> list[str]:
    """``apply`` of the Exchange 2003 example on the simulated lab, without a progress view."""
    args = ["apply", str(PLAYBOOK), "-i", str(inventory), "--sim", "--yes"]
    args += ["--time-scale", scale, "--progress", "none", *map(str, extra)]
    return args + (["--window", window] if window else [])


def assert_error(r: subprocess.CompletedProcess[str], status: int, *fragments: str) -> str:
    """The command failed with ``status`` and one ``error:`` line containing every fragment
    (multi-line messages, like a stale plan's list of changes, continue on indented lines)."""
    assert r.returncode == status, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr, r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, r.stderr
    assert r.stderr.startswith("error: "), r.stderr
    for fragment in fragments:
        assert fragment in r.stderr, (fragment, r.stderr)
    return errors[0]


def assert_one_line_error(
    r: subprocess.CompletedProcess[str], status: int, *fragments: str
) -> None:
    """As :func:`assert_error`, and the message is all of stderr, on one line."""
    line = assert_error(r, status, *fragments)
    assert r.stderr == line + "\n", r.stderr
    for fragment in fragments:
        assert fragment in line, (fragment, line)


def run_ids(journal: Path) -> list[str]:
    """The runs ``orchestrator runs`` lists, newest first."""
    r = cli("runs", journal=journal)
    assert r.returncode == 0, r.stderr
    if r.stdout.startswith("no runs yet"):
        return []
    header, *rows = r.stdout.splitlines()
    assert header.split() == ["RUN", "STATUS", "CREATED", "PLAYBOOK"]
    return [row.split()[0] for row in rows]


def run_id_of(r: subprocess.CompletedProcess[str]) -> str:
    """The run id that ``apply`` announces on stderr (``run ID: N actions``)."""
    match = re.search(r"^run (\S+): (\d+) actions$", r.stderr, re.MULTILINE)
    assert match, r.stderr
    return match.group(1)


def status_json(journal: Path, run: str = "last") -> dict[str, Any]:
    r = cli("status", run, "--json", journal=journal)
    assert r.returncode == 0, r.stderr
    doc: dict[str, Any] = json.loads(r.stdout)
    return doc


def report_json(journal: Path, run: str = "last") -> dict[str, Any]:
    r = cli("report", run, "--format", "json", journal=journal)
    assert r.returncode == 0, r.stderr
    doc: dict[str, Any] = json.loads(r.stdout)
    assert doc["format"] == REPORT_FORMAT
    return doc


def events(journal: Path, run_id: str) -> list[dict[str, Any]]:
    path = journal.parent / "runs" / f"{run_id}.events.jsonl"
    assert path.is_file(), path
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines, path
    return [json.loads(line) for line in lines]


def write_plan(path: Path, inventory: Path = INVENTORY) -> dict[str, Any]:
    r = cli("plan", PLAYBOOK, "-i", inventory, "--format", "json", "--out", path)
    assert r.returncode == 0, r.stderr
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


def copy_inventory(tmp_path: Path) -> Path:
    copy = tmp_path / "inventory"
    shutil.copytree(INVENTORY, copy)
    return copy


def edit(path: Path, old: str, new: str, *, after: str = "") -> None:
    """Replace the first ``old`` (after the first ``after``) in ``path``; it must be there."""
    text = path.read_text(encoding="utf-8")
    start = text.index(after) if after else 0
    at = text.index(old, start)
    path.write_text(text[:at] + new + text[at + len(old) :], encoding="utf-8")


# -- 1. a clean rehearsal ---------------------------------------------------------------


@dataclass(frozen=True)
class Done:
    journal: Path
    result: subprocess.CompletedProcess[str]
    run_id: str
    actions: int


@pytest.fixture(scope="module")
def done_run(tmp_path_factory: pytest.TempPathFactory) -> Done:
    journal = tmp_path_factory.mktemp("done") / "journal.sqlite"
    r = cli(*apply_args(), journal=journal)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    match = re.search(r"^run (\S+): (\d+) actions$", r.stderr, re.MULTILINE)
    assert match, r.stderr
    return Done(journal, r, match.group(1), int(match.group(2)))


def test_apply_prints_the_report_of_a_finished_run(done_run: Done) -> None:
    out = done_run.result.stdout
    assert out.startswith(f"Run {done_run.run_id}: done after ")
    assert f"\nDone: {done_run.actions}\n" in out
    assert "\nUndone (put back in service): 0\n" in out
    assert "\nLeft (not done): 0\n  nothing: every action is done\n" in out
    assert "failures: 0" in out
    # the stored report renders to exactly what apply printed
    r = cli("report", "last", journal=done_run.journal)
    assert r.returncode == 0, r.stderr
    assert r.stdout == out


def test_runs_and_status_show_the_run_done(done_run: Done) -> None:
    assert run_ids(done_run.journal) == [done_run.run_id]
    r = cli("runs", journal=done_run.journal)
    assert re.search(rf"^{done_run.run_id}\s+done\s+.*Exchange 2003 SP2$", r.stdout, re.M)
    counts = status_json(done_run.journal)["counts"]
    for ref in ("last", done_run.run_id[:15], done_run.run_id):
        r = cli("status", ref, journal=done_run.journal)
        assert r.returncode == 0, (ref, r.stderr)
        first = r.stdout.splitlines()[0]
        assert first == f"run {done_run.run_id}  done  (Exchange 2003 SP2)"
        assert f"done {counts['done']}" in r.stdout
        assert "every action done" in r.stdout
        assert "continue with" not in r.stdout


def test_status_json_has_the_counts(done_run: Done) -> None:
    doc = status_json(done_run.journal)
    assert doc["run"] == done_run.run_id
    assert doc["status"] == "done"
    assert doc["interrupted"] is False
    counts = doc["counts"]
    assert counts["done"] + counts["skipped"] == done_run.actions
    assert counts["failed"] == counts["cancelled"] == counts["pending"] == counts["running"] == 0
    assert doc["failed"] == [] and doc["running"] == []
    assert doc["plan"].startswith("sha256:")


def test_report_json_has_availability_of_groups_and_pool(done_run: Done) -> None:
    report = report_json(done_run.journal)
    assert report["run"] == done_run.run_id
    assert report["status"] == "done"
    assert report["left"] == [] and report["undone"] == []
    assert len(report["done"]) == done_run.actions
    assert report["failures"] == 0
    availability = report["availability"]
    assert {"exclu1/EVS1", "exclu1/EVS2"} <= set(availability["groups"])
    assert set(availability["pools"]) == {"owa"}
    for entry in [*availability["groups"].values(), *availability["pools"].values()]:
        assert entry["down_s"] > 0 and entry["outages"] >= 1 and entry["open"] is False
    assert {h["outcome"] for h in report["hosts"].values()} == {"upgraded"}


def test_event_log_is_jsonl_from_run_started_to_run_finished(done_run: Done) -> None:
    log = events(done_run.journal, done_run.run_id)
    assert log[0]["type"] == "run_started"
    assert log[-1]["type"] == "run_finished"
    assert log[-1]["status"] == "done"
    assert {e["run"] for e in log} == {done_run.run_id}
    assert sum(e["type"] == "action_finished" for e in log) >= done_run.actions
    assert (done_run.journal.parent / "runs" / f"{done_run.run_id}.report.json").is_file()


def test_unknown_run_in_a_journal_with_runs(done_run: Done) -> None:
    for command in ("resume", "status", "report"):
        r = cli(command, "19990101-nope", journal=done_run.journal)
        assert_one_line_error(r, 2, "no run '19990101-nope'", str(done_run.journal))


def test_resume_of_a_done_run_does_nothing(done_run: Done) -> None:
    r = cli("resume", done_run.run_id, "--progress", "none", journal=done_run.journal)
    assert r.returncode == 0, r.stderr
    assert "already done" in r.stderr and r.stdout == ""


# -- simple bad input: refused, nothing run --------------------------------------------


def _apply_base(*extra: str) -> list[str]:
    return ["apply", str(PLAYBOOK), "-i", str(INVENTORY), "--progress", "none", *extra]


SIMPLE_ERRORS: dict[str, tuple[list[str], int, tuple[str, ...]]] = {
    # 2. no --yes and stdin is not a terminal
    "apply-without-yes": (_apply_base("--sim"), 2, ("confirmation", "pass --yes")),
    # 9. the inventory's hosts use WinRM: only rehearsals for now
    "apply-without-sim": (_apply_base("--yes"), 2, ("no password for", "ORCHESTRATOR_PASSWORD")),
    # 8. windows
    "window-malformed": (
        _apply_base("--sim", "--yes", "--window", "tonight"),
        2,
        ("--window 'tonight'", "START/END or START/DURATION"),
    ),
    "window-without-end": (
        _apply_base("--sim", "--yes", "--window", "2026-11-28T22:00:00+00:00/"),
        2,
        ("--window", "START/END or START/DURATION"),
    ),
    "window-ends-before-it-starts": (
        _apply_base(
            "--sim", "--yes", "--window", "2026-11-29T06:00:00+00:00/2026-11-28T22:00:00+00:00"
        ),
        2,
        ("--window", "ends before it starts"),
    ),
    "forks-zero": (_apply_base("--sim", "--yes", "--forks", "0"), 2, ("--forks",)),
    # simulation-only flags never go silently to the real hosts
    "faults-without-sim": (
        _apply_base("--yes", "--faults", str(FAULTS_1618)),
        2,
        ("--faults only apply to a rehearsal", "add --sim"),
    ),
    "lab-and-time-scale-without-sim": (
        _apply_base("--yes", "--lab", "{tmp}/lab.sqlite", "--time-scale", "0.1"),
        2,
        ("--lab, --time-scale only apply to a rehearsal",),
    ),
    "max-percent-negative": (
        _apply_base("--sim", "--yes", "--max-percent", "-5"),
        2,
        ("--max-percent must be 0 or more",),
    ),
    "window-duration-malformed": (
        _apply_base("--sim", "--yes", "--window", "2026-11-28T22:00/3 hours"),
        2,
        ("neither an ISO 8601 time nor a duration",),
    ),
    "time-scale-negative": (
        _apply_base("--sim", "--yes", "--time-scale", "-1"),
        2,
        ("--time-scale",),
    ),
    "time-scale-nan": (_apply_base("--sim", "--yes", "--time-scale", "nan"), 2, ("--time-scale",)),
    "faults-file-missing": (
        _apply_base("--sim", "--yes", "--faults", "{tmp}/none.yml"),
        2,
        ("none.yml", "file not found"),
    ),
    "plan-file-missing": (
        _apply_base("--sim", "--yes", "--plan", "{tmp}/none.json"),
        2,
        ("none.json", "file not found"),
    ),
    # 11. an empty journal
    "resume-unknown-run": (["resume", "20261128-nope"], 2, ("no journal at",)),
    "resume-last-empty": (["resume", "last"], 2, ("no journal at",)),
    "status-empty": (["status"], 2, ("no journal at",)),
    "status-last-json-empty": (["status", "last", "--json"], 2, ("no journal at",)),
    "report-empty": (["report"], 2, ("no journal at",)),
}


@pytest.mark.parametrize("case", sorted(SIMPLE_ERRORS))
def test_bad_input_is_refused_and_nothing_runs(case: str, tmp_path: Path) -> None:
    args, status, fragments = SIMPLE_ERRORS[case]
    journal = tmp_path / "journal" / "journal.sqlite"
    r = cli(*(a.replace("{tmp}", str(tmp_path)) for a in args), journal=journal)
    assert_one_line_error(r, status, *fragments)
    assert not journal.parent.exists(), "bad input must not write anything"
    assert run_ids(journal) == []
    if case == "apply-without-yes":  # the plan is shown for review before the refusal
        assert "PLANNED DOWNTIME" in r.stdout


# -- 3, 4, 5. stale and edited plans ----------------------------------------------------


def test_plan_stale_because_the_inventory_changed(tmp_path: Path) -> None:
    inventory = copy_inventory(tmp_path)
    plan = tmp_path / "plan.json"
    doc = write_plan(plan, inventory)
    assert doc["facts"]["clusters"]["exclu1"]["groups"]["EVS1"]["owner"] == "node-a"
    # EVS1's owner is declared in the cluster's vars in hosts.yml
    edit(inventory / "hosts.yml", "owner: node-a", "owner: node-b", after="EVS1:")
    journal = tmp_path / "journal.sqlite"
    r = cli(*apply_args("--plan", plan, inventory=inventory), journal=journal)
    assert_error(
        r,
        4,
        "the plan is stale",
        "the inventory changed",
        "group EVS1 is owned by node-b (now declared), the plan expected node-a",
        "nothing was done",
    )
    assert run_ids(journal) == []


def test_plan_stale_because_the_live_owner_moved(tmp_path: Path) -> None:
    lab_path = tmp_path / "lab.sqlite"
    lab = Lab.open(lab_path, plan_from_files(PLAYBOOK, INVENTORY), ScaledClock(0, 0))
    try:
        lab.operator_move_group("exclu1", "EVS1", "node-b")
    finally:
        lab.close()
    journal = tmp_path / "journal.sqlite"
    r = cli(*apply_args("--lab", lab_path), journal=journal)
    assert_error(
        r, 4, "the plan is stale", "group EVS1 is owned by node-b (live), the plan expected node-a"
    )
    assert run_ids(journal) == []


def test_hand_edited_plan_is_refused(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    doc = write_plan(plan)
    doc["actions"][3]["estimate_s"] += 60  # the fingerprint is kept as it was
    plan.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    journal = tmp_path / "journal.sqlite"
    r = cli(*apply_args("--plan", plan), journal=journal)
    assert_one_line_error(r, 2, str(plan), "fingerprint does not match", "edited")
    assert run_ids(journal) == []


def test_reviewed_plan_file_runs(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    doc = write_plan(plan)
    journal = tmp_path / "journal.sqlite"
    r = cli(*apply_args("--plan", plan), journal=journal)
    assert r.returncode == 0, r.stderr
    assert status_json(journal)["plan"] == doc["fingerprint"]


# -- 6. the lease -----------------------------------------------------------------------


def _wait_for_run(journal: Path, proc: subprocess.Popen[str], limit_s: float = 30) -> str:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            with sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=5) as db:
                row = db.execute("SELECT run_id FROM runs").fetchone()
            if row:
                return str(row[0])
        except sqlite3.Error:
            pass  # not created yet
        time.sleep(0.02)
    raise AssertionError("the first controller never created its run")


def test_second_controller_is_refused_and_sigterm_stops_at_a_safe_point(tmp_path: Path) -> None:
    journal, lab = tmp_path / "journal.sqlite", tmp_path / "lab.sqlite"
    command = [sys.executable, "-m", "orchestrator", *apply_args("--lab", lab, scale="0.0005")]
    first = subprocess.Popen(
        [*command, "--journal", str(journal)],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        run_id = _wait_for_run(journal, first)
        # a rehearsal leases its simulated lab: a second controller on it is refused,
        # whatever journal it uses
        second = cli(*apply_args("--lab", lab), journal=tmp_path / "other.sqlite")
        assert_one_line_error(second, 5, f"pid {first.pid}", f"run {run_id}", "in use", "lab:")
        live = status_json(journal)  # status tells a live run from an interrupted one
        if live["status"] == "running":
            assert live["controller"].endswith(f":{first.pid}") and not live["interrupted"]
        first.send_signal(signal.SIGTERM)
        _, err = first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert first.returncode in (75, 0), err
    assert "Traceback" not in err
    assert run_ids(journal) == [run_id]
    if first.returncode == 75:
        assert f"orchestrator resume {run_id}" in err
        assert status_json(journal)["status"] == "paused"
        availability = report_json(journal)["availability"]  # a safe point: nothing left out
        for scope in ("groups", "pools"):
            assert not any(e["open"] for e in availability[scope].values()), availability
    r = cli("resume", "last", "--progress", "none", journal=journal)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert status_json(journal)["status"] == "done"


# -- 7. faults --------------------------------------------------------------------------


def test_transient_1618_is_retried_and_the_run_finishes(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite"
    r = cli(*apply_args("--faults", FAULTS_1618), journal=journal)
    assert r.returncode == 0, r.stderr
    report = report_json(journal)
    assert report["status"] == "done"
    installs = [a for a in report["actions"] if a["host"] == "node-c" and a["kind"] == "install"]
    assert [a["attempts"] for a in installs if a["attempts"] == 3], installs
    assert all(a["state"] == "done" for a in installs)
    retries = [e for e in events(journal, report["run"]) if e["type"] == "attempt_failed"]
    assert len(retries) == 2 and {e["host"] for e in retries} == {"node-c"}
    assert {e["exit_code"] for e in retries} == {1618}


def test_fault_file_with_an_unknown_host(tmp_path: Path) -> None:
    faults = tmp_path / "faults.yml"
    text = (
        "faults:\n"
        "  - host: node-c\n"
        "    action: install\n"
        "    exit_codes: [1618, 0]\n"
        "  - host: node-z\n"
        "    action: install\n"
        "    exit_codes: [1603]\n"
    )
    faults.write_text(text, encoding="utf-8")
    line = text.splitlines().index("  - host: node-z") + 1
    journal = tmp_path / "journal.sqlite"
    r = cli(*apply_args("--faults", faults), journal=journal)
    assert_one_line_error(r, 2, f"{faults}:{line}", "unknown host 'node-z'")
    assert run_ids(journal) == []


def test_fatal_1603_fails_compensates_and_needs_retry_failed(tmp_path: Path) -> None:
    faults = tmp_path / "faults.yml"
    faults.write_text(
        "faults:\n  - host: node-c\n    action: exclu1/node-c/install\n    exit_codes: [1603]\n",
        encoding="utf-8",
    )
    journal = tmp_path / "journal.sqlite"
    r = cli(*apply_args("--faults", faults), journal=journal)
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    run_id = run_id_of(r)
    assert f"orchestrator resume {run_id} --retry-failed" in r.stderr
    left_text = r.stdout[r.stdout.index("\nLeft (not done): ") :]
    assert re.search(r"^  exclu1/node-c/install +failed +.*1603", left_text, re.M), left_text
    undone_text = r.stdout[r.stdout.index("\nUndone (put back in service): ") :]
    assert "compensate/exclu1/node-c/start_cluster_service" in undone_text

    report = report_json(journal)
    assert report["status"] == "failed" and report["failures"] == 1
    left = {x["id"]: x for x in report["left"]}
    assert left["exclu1/node-c/install"]["state"] == "failed"
    assert "1603" in left["exclu1/node-c/install"]["reason"]
    assert {x["state"] for x in left.values()} <= {"failed", "cancelled", "pending"}
    undone = {u["id"]: u for u in report["undone"]}
    comp = undone["compensate/exclu1/node-c/start_cluster_service"]
    assert comp["state"] in ("done", "skipped") and comp["for"].startswith("exclu1/node-c/")
    assert all(u["id"].startswith("compensate/") for u in report["undone"])
    for scope in ("groups", "pools"):  # everything was put back in service
        assert not any(e["open"] for e in report["availability"][scope].values())
    status = status_json(journal)
    assert status["status"] == "failed"
    assert [f["id"] for f in status["failed"]] == ["exclu1/node-c/install"]

    r = cli("resume", "last", "--progress", "none", journal=journal)
    assert_one_line_error(r, 2, f"run {run_id} failed", "--retry-failed")
    assert status_json(journal)["status"] == "failed"

    # the fault was spent: once the cause is "fixed", the retry finishes the run
    r = cli("resume", "last", "--retry-failed", "--progress", "none", journal=journal)
    assert r.returncode == 0, r.stderr
    assert status_json(journal)["status"] == "done"


# -- 8. maintenance windows -------------------------------------------------------------


def test_window_closes_pauses_at_a_safe_point_and_resume_continues(tmp_path: Path) -> None:
    doc = write_plan(tmp_path / "plan.json")
    start = datetime.fromisoformat(doc["window"]["start"])
    assert doc["window"]["makespan_s"] > 3600  # the plan cannot fit into one hour
    journal = tmp_path / "journal.sqlite"
    one_hour = f"{start.isoformat()}/{(start + timedelta(hours=1)).isoformat()}"
    r = cli(*apply_args(scale="0.0001", window=one_hour), journal=journal)
    assert r.returncode == 75, r.stderr
    assert "Traceback" not in r.stderr
    run_id = run_id_of(r)
    assert (
        "paused at a safe point: the maintenance window ends at 2026-11-28 23:00:00 UTC: "
        "no room to open the next span (" in r.stderr
    )
    assert f"continue with: orchestrator resume {run_id} --window START/END" in r.stderr
    assert r.stdout.startswith(f"Run {run_id}: paused after ")
    assert "(the maintenance window ends at 2026-11-28 23:00:00 UTC" in r.stdout.splitlines()[0]
    assert report_json(journal)["stop"] == "window"
    again = cli("resume", "last", "--progress", "none", journal=journal)  # no new window
    assert_one_line_error(again, 2, "had no room left", f"resume {run_id} --window")

    st = cli("status", "last", journal=journal)
    assert st.returncode == 0, st.stderr
    assert st.stdout.splitlines()[0] == f"run {run_id}  paused  (Exchange 2003 SP2)"
    assert f"continue with: orchestrator resume {run_id}" in st.stdout
    doc_status = status_json(journal)
    assert doc_status["counts"]["pending"] > 0 and doc_status["counts"]["failed"] == 0
    availability = report_json(journal)["availability"]
    for scope in ("groups", "pools"):
        assert not any(e["open"] for e in availability[scope].values()), availability

    later = start + timedelta(days=1)
    next_window = f"{later.isoformat()}/{(later + timedelta(hours=8)).isoformat()}"
    r = cli("resume", "last", "--window", next_window, "--progress", "plain", journal=journal)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    doc_status = status_json(journal)
    assert doc_status["status"] == "done"
    assert doc_status["counts"]["pending"] == 0
    report = report_json(journal)
    assert report["status"] == "done" and report["left"] == []


def test_resume_with_a_bad_window_is_refused(tmp_path: Path) -> None:
    start = PLAN_START
    journal = tmp_path / "journal.sqlite"
    one_hour = f"{start.isoformat()}/{(start + timedelta(hours=1)).isoformat()}"
    r = cli(*apply_args(window=one_hour), journal=journal)
    assert r.returncode == 75, r.stderr
    r = cli("resume", "last", "--window", "2026-11-30T06:00/2026-11-29T22:00", journal=journal)
    assert_one_line_error(r, 2, "--window", "ends before it starts")
    assert status_json(journal)["status"] == "paused"


# -- 10. secrets ------------------------------------------------------------------------

PASSWORD = "S3cr3t-Pa55"
BECOME_PASSWORD = "B3c0me-Pa55w0rd"


def _all_bytes(paths: Sequence[Path]) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in paths if p.is_file()}


def test_secrets_in_the_inventory_never_reach_any_output(tmp_path: Path) -> None:
    inventory = copy_inventory(tmp_path)
    edit(
        inventory / "hosts.yml",
        "fe1: {ansible_host: 192.0.2.11}",
        "fe1: {ansible_host: 192.0.2.11, "
        f'ansible_password: "{PASSWORD}", ansible_become_password: "{BECOME_PASSWORD}"}}',
    )
    assert PASSWORD in (inventory / "hosts.yml").read_text(encoding="utf-8")
    journal = tmp_path / "state" / "journal.sqlite"
    args = apply_args(inventory=inventory)
    args[args.index("--progress") + 1] = "plain"  # the event lines on stderr too
    r = cli(*args, journal=journal)
    assert r.returncode == 0, r.stderr
    run_id = run_id_of(r)
    outputs = {
        "stdout": r.stdout,
        "stderr": r.stderr,
        "report": cli("report", "last", "--format", "json", journal=journal).stdout,
        "report text": cli("report", "last", journal=journal).stdout,
        "status": cli("status", "last", "--json", journal=journal).stdout,
        "runs": cli("runs", journal=journal).stdout,
        "plan": cli("plan", PLAYBOOK, "-i", inventory, "--format", "json").stdout,
    }
    assert all(outputs.values()), outputs
    files = _all_bytes(sorted(journal.parent.rglob("*")))
    wal = Path(f"{journal}-wal")
    files.update(_all_bytes([wal]))
    assert str(journal) in files
    assert str(journal.parent / "runs" / f"{run_id}.events.jsonl") in files
    assert str(journal.parent / "runs" / f"{run_id}.report.json") in files
    for secret in (PASSWORD, BECOME_PASSWORD):
        for name, text in outputs.items():
            assert secret not in text, name
        for name, data in files.items():
            assert secret.encode() not in data, name
            assert secret.encode("utf-16-le") not in data, name


# -- 9. Ctrl-C ---------------------------------------------------------------------------


def _plain_apply(journal: Path, scale: str) -> subprocess.Popen[str]:
    """The Exchange rehearsal as a controller process with plain progress on stderr."""
    args = [a for a in apply_args(scale=scale) if a not in ("--progress", "none")]
    return subprocess.Popen(
        [sys.executable, "-m", "orchestrator", *args, "--progress", "plain",
         "--journal", str(journal)],
        cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def test_first_ctrl_c_is_acknowledged_and_stops_at_a_safe_point(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite"
    proc = _plain_apply(journal, "0.001")
    try:
        _wait_for_run(journal, proc)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 75, err
    assert "stopping at the next safe point; Ctrl-C again to abort" in err
    assert "paused at a safe point: stopped on request at a safe point" in err
    assert "Traceback" not in err
    assert report_json(journal)["stop"] == "stop"


def _running_installs(journal: Path) -> int:
    try:
        with sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=5) as db:
            sql = "SELECT count(*) FROM actions WHERE state = 'running' AND action_id LIKE ?"
            return int(db.execute(sql, ("%install%",)).fetchone()[0])
    except sqlite3.Error:
        return 0


def test_second_ctrl_c_aborts_at_once_and_resume_carries_on(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite"
    # slow enough that the running installs would take minutes to finish
    proc = _plain_apply(journal, "0.05")
    try:
        _wait_for_run(journal, proc)
        deadline = time.monotonic() + 60
        while not _running_installs(journal):  # a long step in flight: the first Ctrl-C waits
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        started = time.monotonic()
        _, err = proc.communicate(timeout=60)
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert took < 10, took  # it did not wait for the running steps
    assert "interrupted: resume the run" in err and "Traceback" not in err
    r = cli("resume", "last", "--progress", "none", "--time-scale", SCALE, journal=journal)
    assert r.returncode == 0, r.stderr
    assert status_json(journal)["status"] == "done"
