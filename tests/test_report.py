"""The run report: built from journal records and the lab's availability timeline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orchestrator.engine._records import ActionRecord, AttemptRecord, RunRecord
from orchestrator.engine._report import build_report, render_report
from orchestrator.plan import Action, Plan
from orchestrator.workflow import plan_from_files

T0 = 1795903200.0  # 2026-11-28T22:00:00Z
CANCELLED_KINDS = ("reboot", "restore_files", "start_services", "verify", "hook")


@pytest.fixture(scope="module")
def plan() -> Plan:
    return plan_from_files(Path("playbooks/exchange2003-sp2.yml"), Path("inventory/exchange2003"))


def journal(plan: Plan) -> tuple[dict[str, ActionRecord], list[AttemptRecord]]:
    """Preflight and tier 1 done (fe1's reboot skipped); in tier 2 be1's install fails after
    retries, the rest of be1 is cancelled and its services are put back; be2 and node-c
    finish; node-b moved EVS2 away; node-a and the failover check never start."""
    records: dict[str, ActionRecord] = {}
    t = T0
    for a in plan.actions:
        if a.id == "be1/install":
            records[a.id] = ActionRecord(a.id, "failed", 3, t, t + 600)
            t += 600
        elif a.phase == "tier-2" and a.host == "be1" and a.kind in CANCELLED_KINDS:
            records[a.id] = ActionRecord(a.id, "cancelled", message="its branch stopped")
        elif a.id == "owa/fe1/reboot":
            records[a.id] = ActionRecord(a.id, "skipped", 1, t, t, "no reboot required")
        elif a.phase != "tier-2" or a.host in ("be1", "be2", "node-c") or "EVS2" in a.id:
            records[a.id] = ActionRecord(a.id, "done", 1, t, t + a.estimate_s)
            t += a.estimate_s
    comp = "compensate/be1/stop_services/interfering"
    records[comp] = ActionRecord(comp, "done", 1, t, t + 60, "services started again")
    attempts = [
        AttemptRecord("be1/install", 1, "apply", T0, T0 + 1, "timeout", None, "", "StepTimeout"),
        AttemptRecord("be1/install", 2, "apply", T0 + 2, T0 + 3, "transient", 1618, "", "E"),
        AttemptRecord(
            "be1/install",
            3,
            "apply",
            T0 + 4,
            T0 + 5,
            "fatal",
            1603,
            "sha256:0",
            "FatalError",
            "msiexec returned 1603",
        ),
    ]
    return records, attempts


TIMELINE: dict[str, Any] = {
    "groups": {
        "exclu1/EVS2": {"down_s": 960.0, "outages": [[T0 + 7000, T0 + 7960]]},
        "exclu1/EVS1": {"down_s": 0.0, "outages": []},
        "exclu1/Cluster Group": {"outages": [[T0 + 9000, T0 + 9030], [T0 + 9500, None]]},
    },
    "pools": {"owa": {"outages": [{"start": T0 + 90, "end": T0 + 2430}]}},
}


def run_record(status: str = "paused") -> RunRecord:
    options = {"forks": 8, "winrm_password": "hunter2"}  # never reported
    return RunRecord(
        "r-20261128",
        T0 - 5,
        T0 + 5 * 3600,
        status,
        "sha256:abc",
        "exchange2003-sp2.yml",
        options,
        {"failures": 1},
    )


@pytest.fixture(scope="module")
def report(plan: Plan) -> dict[str, Any]:
    records, attempts = journal(plan)
    return build_report(plan, run_record(), records, attempts, TIMELINE)


def test_report_counts_and_header(report: dict[str, Any]) -> None:
    assert report["format"] == "orchestrator.report/v1"
    assert report["run"] == "r-20261128" and report["status"] == "paused"
    assert report["plan"] == {"fingerprint": "sha256:abc", "playbook": "exchange2003-sp2.yml"}
    assert report["started"] == "2026-11-28T21:59:55+00:00"
    assert report["duration_s"] == 5 * 3600 + 5
    assert report["counts"] == {
        "pending": 33,
        "running": 0,
        "done": 89,
        "skipped": 1,
        "failed": 1,
        "unknown": 0,
        "cancelled": 6,
    }
    assert sum(report["counts"].values()) == 130
    assert report["failures"] == 1
    assert len(report["actions"]) == 131  # every plan action and the compensation


def test_report_hosts(report: dict[str, Any]) -> None:
    hosts = report["hosts"]
    assert list(hosts)[:4] == ["(run)", "fe1", "fe2", "fe3"]
    outcomes = {h: v["outcome"] for h, v in hosts.items()}
    assert outcomes == {
        "(run)": "untouched",  # only checks and barriers ran at run level
        "fe1": "upgraded",
        "fe2": "upgraded",
        "fe3": "upgraded",
        "be1": "failed",
        "be2": "upgraded",
        "node-a": "untouched",  # its preflight checks ran, nothing else
        "node-b": "partial",
        "node-c": "upgraded",
    }
    be1 = hosts["be1"]
    assert be1 == {
        "actions": 12,
        "done": 5,
        "skipped": 0,
        "failed": 1,
        "unknown": 0,
        "cancelled": 6,
        "pending": 0,
        "attempts": 8,
        "duration_s": 780.0,
        "outcome": "failed",
    }
    assert hosts["fe1"]["skipped"] == 1 and hosts["fe1"]["duration_s"] == 2250.0


def test_report_sections(report: dict[str, Any]) -> None:
    assert "owa/fe1/install" in report["done"] and "owa/fe1/reboot" in report["done"]
    assert report["undone"] == [
        {
            "id": "compensate/be1/stop_services/interfering",
            "host": "be1",
            "state": "done",
            "message": "services started again",
            "for": "be1/stop_services/interfering",
        }
    ]
    left = {x["id"]: x for x in report["left"]}
    assert len(left) == 40
    assert left["be1/install"] == {
        "id": "be1/install",
        "host": "be1",
        "state": "failed",
        "reason": "FatalError: msiexec returned 1603",  # from the last attempt
    }
    assert left["be1/reboot"]["reason"] == "its branch stopped"
    assert left["exclu1/verify/failover"] == {
        "id": "exclu1/verify/failover",
        "host": "(run)",
        "state": "pending",
        "reason": "not started",
    }
    comp = next(r for r in report["actions"] if r["kind"] == "compensate")
    assert comp["host"] == "be1" and comp["duration_s"] == 60.0


def test_report_availability(report: dict[str, Any]) -> None:
    groups, pools = report["availability"]["groups"], report["availability"]["pools"]
    assert groups["exclu1/EVS2"] == {
        "down_s": 960.0,
        "outages": 1,
        "longest_s": 960.0,
        "open": False,
    }
    assert groups["exclu1/EVS1"]["outages"] == 0
    assert groups["exclu1/Cluster Group"] == {
        "down_s": 30.0,
        "outages": 2,
        "longest_s": 30.0,
        "open": True,
    }
    assert pools["owa"]["down_s"] == 2340.0


def test_report_is_json_and_has_no_secrets(report: dict[str, Any]) -> None:
    text = json.dumps(report)
    assert json.loads(text) == report
    for secret in ("hunter2", "winrm_password", "Write-Output", "/passive"):
        assert secret not in text
        assert secret not in render_report(report)


def test_render_report(report: dict[str, Any]) -> None:
    text = render_report(report)
    lines = text.splitlines()
    assert lines[0] == "Run r-20261128: paused after 5h00m"
    assert "Actions: 33 pending, 89 done, 1 skipped, 1 failed, 6 cancelled; failures: 1" in text
    assert "  host    actions  done  attempts  duration  outcome" in lines
    assert "  be1          12     5         8    13m00s  failed" in lines
    assert "  fe1          14    14        14    37m30s  upgraded" in lines
    assert "  node-c       18    18        18     1h30m  upgraded" in lines
    assert "  outcomes: 5 upgraded, 2 untouched, 1 failed, 1 partial" in lines
    assert "  pool   owa                     39m00s        1" in lines
    assert "  group  exclu1/EVS2             16m00s        1" in lines
    assert "  group  exclu1/Cluster Group       30s        2  STILL DOWN" in lines
    done, undone, left = (
        lines.index("Done: 90"),
        lines.index("Undone (put back in service): 1"),
        lines.index("Left (not done): 40"),
    )
    assert done < undone < left
    assert "  fe1: 14 (13 done, 1 skipped)" in lines[done:undone]  # > 30 ids: by host
    assert any(
        line.startswith("  compensate/be1/stop_services/interfering  done")
        and line.endswith("services started again")
        for line in lines[undone:left]
    )
    section = lines[left:]
    assert "  be1/install  failed  FatalError: msiexec returned 1603" in section
    assert "  be1: 7 (6 cancelled, 1 failed)" in section
    assert "  node-a: 16 (16 pending)" in section
    assert "  (run): 1 (1 pending)" in section


def test_interrupted_action_and_no_timeline(plan: Plan) -> None:
    first = next(a for a in plan.actions if a.kind == "lb_out")
    records = {first.id: ActionRecord(first.id, "running", 1, T0, None)}
    report = build_report(plan, run_record("running"), records, [], None)
    assert report["availability"] is None
    assert report["counts"]["running"] == 1
    assert report["hosts"]["fe1"]["outcome"] == "partial"
    assert report["hosts"]["fe2"]["outcome"] == "untouched"
    left = {x["id"]: x for x in report["left"]}
    assert left[first.id]["reason"] == "interrupted while running"
    text = render_report(report)
    assert "Downtime: no availability timeline recorded" in text
    assert f"  {first.id}  running  interrupted while running" in text
    assert "Done: 0" in text and "Left (not done): 130" in text


def test_big_fleet_report_is_capped_but_shows_what_is_left() -> None:
    actions = tuple(
        Action(f"{p}/web{i:04d}", "install", f"web{i:04d}", None, {}, (), 60, p)
        for i in range(2000)
        for p in ("a", "b")
    )
    plan = Plan({}, {}, {}, actions, {}, {})
    records = {a.id: ActionRecord(a.id, "done", 1, T0, T0 + 60) for a in actions[:3000]}
    records["a/web1999"] = ActionRecord("a/web1999", "failed", 2, T0, T0 + 30, "exit 1603")
    report = build_report(plan, run_record("failed"), records, [], {"groups": {}, "pools": {}})
    text = render_report(report)
    lines = text.splitlines()
    assert len(lines) < 200
    more = "  … 1960 more hosts: 1500 upgraded, 460 untouched"
    assert lines.index("Hosts: 2000") + 42 == lines.index(more)
    assert "  web1999        2     0         2       30s  failed" in lines  # attention first
    assert "Left (not done): 1000" in lines
    assert "  a/web1999  failed  exit 1603" in lines
    assert lines.index("  a/web1999  failed  exit 1603") + 1 == lines.index(
        "  web1999: 2 (1 failed, 1 pending)"
    )  # hosts with failures lead the by-host lines
    assert "  … 470 more hosts: 940 (940 pending)" in lines
    assert "Downtime: 0 groups, pools and standalone servers" in lines
