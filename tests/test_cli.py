"""The command line: golden plans, formats, exit codes, no traceback, nothing half-written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.cli import main
from tests.test_planner import EXAMPLES

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orchestrator", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_golden_plans(
    name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`plan --format json` of every example is byte-identical to its golden file.
    Regenerate after an intended change with UPDATE_GOLDEN=1 and review the diff."""
    monkeypatch.chdir(ROOT)
    args = [
        "plan",
        f"playbooks/{name}.yml",
        "-i",
        f"inventory/{EXAMPLES[name]}",
        "--format",
        "json",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    golden = GOLDEN / f"{name}.json"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(out, encoding="utf-8")
    assert out == golden.read_text(encoding="utf-8")
    doc = json.loads(out)
    assert doc["format"] == "orchestrator.plan/v1"
    assert doc["fingerprint"].startswith("sha256:")


def test_plan_contract_shape() -> None:
    doc = json.loads((GOLDEN / "exchange2003-sp2.json").read_text())
    assert list(doc)[:2] == ["format", "fingerprint"]
    for key in ("playbook", "inventory", "facts", "actions", "guarantees", "estimate"):
        assert key in doc
    assert doc["facts"]["clusters"]["exclu1"]["groups"]["EVS1"]["owner"] == "node-a"
    assert doc["facts"]["pools"]["owa"]["members"] == ["fe1", "fe2", "fe3"]
    ids = {a["id"] for a in doc["actions"]}
    for a in doc["actions"]:
        assert set(a) >= {"id", "kind", "host", "cluster", "params", "after", "estimate_s"}
        assert set(a["after"]) <= ids
    assert doc["guarantees"]["clusters"]["exclu1"]["strategy"] == "move-off"
    assert doc["estimate"]["makespan_s"] > 0 and doc["estimate"]["critical_path"]


def test_no_secrets_in_any_plan() -> None:
    for path in GOLDEN.glob("*.json"):
        text = path.read_text().lower()
        for word in ("password", "passwd", "secret", "token", "private_key"):
            assert word not in text, (path.name, word)


@pytest.mark.parametrize(
    "fmt,marker", [("text", "PLANNED DOWNTIME"), ("dot", "digraph"), ("mermaid", "flowchart")]
)
def test_formats(fmt: str, marker: str) -> None:
    r = run_cli(
        "plan", "playbooks/exchange2003-sp2.yml", "-i", "inventory/exchange2003", "--format", fmt
    )
    assert r.returncode == 0, r.stderr
    assert marker in r.stdout


def test_out_writes_file_and_validate_reads_it(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    r = run_cli(
        "plan",
        "playbooks/exchange55.yml",
        "-i",
        "inventory/exchange55",
        "--format",
        "json",
        "--out",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    r = run_cli("validate", "--plan", str(out))
    assert r.returncode == 0, r.stderr
    assert "valid plan" in r.stdout


def test_edited_plan_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    run_cli(
        "plan",
        "playbooks/exchange55.yml",
        "-i",
        "inventory/exchange55",
        "--format",
        "json",
        "--out",
        str(out),
    )
    doc = json.loads(out.read_text())
    doc["actions"][0]["estimate_s"] = 1
    out.write_text(json.dumps(doc))
    r = run_cli("validate", "--plan", str(out))
    assert r.returncode == 2
    assert "fingerprint does not match" in r.stderr


def test_unsafe_plan_file_is_a_clear_error_exit_3(tmp_path: Path) -> None:
    """A plan edited to break a safety rule (and re-fingerprinted) is caught by validate."""
    from orchestrator.plan import fingerprint

    doc = json.loads((GOLDEN / "exchange55.json").read_text())
    for a in doc["actions"]:  # let node-2 start without waiting for node-1
        if a["id"] == "ex55/node-2/preflight/no-installer-running":
            a["after"] = ["preflight/done"]
    doc["fingerprint"] = fingerprint(doc)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    r = run_cli("validate", "--plan", str(path))
    assert r.returncode == 3, r.stderr
    assert "Traceback" not in r.stderr
    assert "safety rule" in r.stderr


BAD_INPUTS = {
    "yaml-syntax": ("name: t\npackage: [\n", "pb.yml:3"),
    "unknown-key": (
        "name: t\npackage: {name: p, kind: msi, source: x}\ntargets: [all]\nretires: {}\n",
        "did you mean 'retries'",
    ),
    "unknown-host": (
        "name: t\npackage: {name: p, kind: msi, source: x}\ntargets: [node-9]\n",
        "unknown host or group 'node-9'",
    ),
    "wrong-type": (
        "name: t\npackage: {name: p, kind: msi, source: x}\ntargets: [all]\nreboot: 3\n",
        "must be one of",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_exit_2_no_traceback_nothing_written(case: str, tmp_path: Path) -> None:
    text, fragment = BAD_INPUTS[case]
    (tmp_path / "pb.yml").write_text(text)
    out = tmp_path / "out.json"
    r = run_cli(
        "plan",
        "pb.yml",
        "-i",
        str(ROOT / "inventory" / "exchange55"),
        "--format",
        "json",
        "--out",
        str(out),
        cwd=tmp_path,
    )
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert fragment in r.stderr
    assert r.stderr.startswith("error: ")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [tmp_path / "pb.yml"]


def test_missing_files_are_clear_errors(tmp_path: Path) -> None:
    r = run_cli("plan", "nope.yml", "-i", "inventory/exchange55")
    assert r.returncode == 2 and "nope.yml" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("plan", "playbooks/exchange55.yml", "-i", str(tmp_path / "none"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    r = run_cli("validate", "--plan", str(tmp_path / "none.json"))
    assert r.returncode == 2 and "file not found" in r.stderr


def test_python_dash_m_and_version() -> None:
    r = run_cli("--version")
    assert r.returncode == 0 and "orchestrator" in r.stdout
