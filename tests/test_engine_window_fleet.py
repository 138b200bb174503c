"""A 320-workstation fleet in batches (10, 25 %, the rest) on the simulated lab, run by the
real engine with exact plan-time durations (a discrete-event clock): a maintenance window
that ends mid-fleet is never overrun, and a spent failure budget stops the installs inside
a batch at once, putting every open span back in service."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.engine._engine import Engine, EngineOptions, RunResult
from orchestrator.engine._journal import Journal
from orchestrator.engine._observers import Recorder
from orchestrator.engine._records import ActionRecord
from orchestrator.engine._retry import RetryPolicy
from orchestrator.engine._session import exit_status
from orchestrator.listsched import SPAN_SLOTS, simulate
from orchestrator.plan import Plan
from orchestrator.rungraph import RunGraph
from orchestrator.sim import Lab, load_faults
from orchestrator.workflow import plan_from_files

from .virtualclock import VirtualClock

T0 = 1_800_000_000.0
HOSTS = 320
INVENTORY = f"""
all:
  children:
    workstations:
      hosts:
        ws[001:{HOSTS}]:
      vars:
        ansible_connection: winrm
        orchestrator_platform: windows
        orchestrator_roles: [workstation]
        orchestrator_fleet:
          serial: [10, "25%", "100%"]
"""
PLAYBOOK = r"""
name: Client 2.0 on the workstation fleet
package:
  name: Client
  kind: msi
  source: '\\files\client\Client.msi'
  version: "2.0.0"
targets: [workstations]
interfering_services: [AVService]
fleets:
  workstations: {serial: [10, "25%", "100%"]}
preflight:
  - {check: no-installer-running, gate: host}
reboot: never
"""


@dataclass
class Run:
    result: RunResult
    actions: dict[str, ActionRecord]
    lab: Lab
    journal: Journal
    run_id: str
    events: Recorder


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    return fleet_plan(tmp_path_factory.mktemp("fleet"), "never")


def fleet_plan(d: Path, reboot: str) -> Plan:
    (d / "hosts.yml").write_text(INVENTORY, encoding="utf-8")
    text = PLAYBOOK.replace("reboot: never", f"reboot: {reboot}")
    (d / "fleet.yml").write_text(text, encoding="utf-8")
    return plan_from_files(d / "fleet.yml", d / "hosts.yml")


def run(
    plan: Plan,
    tmp: Path,
    faults: list[dict[str, Any]] | None = None,
    start: float = T0,
    run_id: str | None = None,
    **opts: Any,
) -> Run:
    """Run (or, with ``run_id``, resume) ``plan`` on the lab and journal in ``tmp``."""
    clock = VirtualClock(start)
    spec = None
    if faults:
        (tmp / "faults.yml").write_text(yaml.safe_dump({"faults": faults}), encoding="utf-8")
        spec = load_faults(tmp / "faults.yml", plan)
    lab = Lab.open(tmp / "lab.sqlite", plan, clock, spec)
    journal = Journal(tmp / "journal.sqlite")
    run_id = run_id or journal.create_run(plan.to_json(), plan, {}, start)
    recorder = Recorder()
    options = EngineOptions(policy=RetryPolicy(2, 1, 2), **opts)
    engine = Engine(plan, run_id, journal, clock.driver(lab.driver()), clock, recorder, options)
    clock.watch(engine)
    try:
        result = engine.run(resumed=start != T0)
    finally:
        clock.close()
    return Run(result, journal.actions(run_id), lab, journal, run_id, recorder)


def hosts() -> list[str]:
    return [f"ws{i:03d}" for i in range(1, HOSTS + 1)]


def span_ids(host: str) -> tuple[str, str, str]:
    base = f"workstations/{host}"
    return (
        f"{base}/stop_services/interfering",
        f"{base}/install",
        (f"{base}/start_services/interfering"),
    )


def longest_span(plan: Plan) -> int:
    graph = RunGraph(plan)
    spans = graph.spans.values()
    return max(sum(graph.actions[a].estimate_s for a in graph.inside(s)) for s in spans)


def max_open(actions: dict[str, ActionRecord]) -> int:
    """The most host spans open at one moment (opened: stop starts; closed: start ends)."""
    edges: list[tuple[float, int]] = []
    for host in hosts():
        stop, _, start = span_ids(host)
        if actions[stop].started_at is not None:
            end = actions[start].ended_at
            edges += [(actions[stop].started_at or 0.0, 1), (end if end else float("inf"), -1)]
    level = peak = 0
    for _, step in sorted(edges, key=lambda e: (e[0], e[1])):
        level += step
        peak = max(peak, level)
    return peak


@pytest.mark.parametrize("forks", [10, 25])
def test_window_ending_mid_fleet_is_never_overrun(fleet: Plan, tmp_path: Path, forks: int) -> None:
    length = simulate(RunGraph(fleet), forks).end / 2  # ends in the third batch
    end = T0 + length
    out = run(fleet, tmp_path, forks=forks, window=(T0, end))
    acts = out.actions
    # Paused at a safe point, and says the window ended: never "done" with work left.
    assert out.result.status == "paused" and exit_status(out.result) == 75
    record = out.journal.run(out.run_id)
    assert record.status == "paused"
    assert "maintenance window ends at" in record.summary["reason"]
    left = [a for a, r in acts.items() if r.state == "pending"]
    assert left and out.events.of_type("window_closing")
    # Every span that opened closed before the window end: none opened that could not.
    opened = 0
    for host in hosts():
        stop, install, start = span_ids(host)
        if acts[stop].started_at is None:
            assert acts[install].started_at is None
            continue
        opened += 1
        assert acts[start].state == "done", host
        assert (acts[start].ended_at or 0.0) <= end + 1e-6, (host, acts[start].ended_at - end)
    finished = max(r.ended_at or T0 for r in acts.values())
    assert finished <= end + longest_span(fleet)  # the bound; exact durations: <= end
    assert finished <= end + 1e-6
    # ... and the window was used: the forks stopped less than two spans before its end.
    assert finished >= end - 2 * longest_span(fleet), (end - finished, opened)
    assert opened > 10 + 80  # into the third batch
    # Never every span of a batch at once: at most SPAN_SLOTS (one) per fork is open.
    assert max_open(acts) <= SPAN_SLOTS * forks, max_open(acts)
    # Nothing out of service: every workstation's services run.
    snapshot = out.lab.snapshot()["hosts"]
    assert all(h["services"]["AVService"] == "running" for h in snapshot.values())
    assert out.lab.violations() == []
    if forks != 10:
        return
    # The next window finishes the fleet from where it paused.
    out.lab.close()
    out.journal.close()
    later = T0 + 86400
    rest = run(fleet, tmp_path, start=later, run_id=out.run_id, forks=forks,
               window=(later, later + 12 * 3600))  # fmt: skip
    assert rest.result.status == "done", rest.result
    snapshot = rest.lab.snapshot()["hosts"]
    assert all(h["packages"] for h in snapshot.values())
    assert all(h["services"]["AVService"] == "running" for h in snapshot.values())
    assert rest.lab.violations() == []


@pytest.mark.parametrize("reboot", ["never", "always"])
def test_spent_budget_stops_the_installs_of_the_batch_and_puts_spans_back(
    tmp_path: Path, reboot: str
) -> None:
    (tmp_path / "plan").mkdir()
    fleet = fleet_plan(tmp_path / "plan", reboot)
    victim = "ws040"  # in the second batch (80 hosts)
    fault = {"host": victim, "action": f"workstations/{victim}/install", "exit_codes": [1603]}
    out = run(fleet, tmp_path, faults=[fault], forks=10, max_failures=0)
    acts = out.actions
    assert out.result.status == "failed"
    failed = acts[f"workstations/{victim}/install"]
    assert failed.state == "failed"
    failed_at = failed.ended_at or 0.0
    assert out.events.of_type("budget_spent")
    started_installs = 0
    for host in hosts():
        stop, install, start = span_ids(host)
        rec = acts[install]
        if rec.started_at is not None:
            started_installs += 1
            assert rec.started_at <= failed_at, f"{install} started after the failure"
            if host != victim:
                assert rec.state == "done", (install, rec.state)  # in flight: finished
                if reboot == "always":  # a reboot completes an install that ran
                    assert acts[f"workstations/{host}/reboot"].state == "done", host
        if acts[stop].state == "done" and rec.state != "done":
            comp = acts.get(f"compensate/{start}")
            assert comp is not None and comp.state in ("done", "skipped"), (host, comp)
    assert started_installs < 10 + 80  # not the whole batch
    assert max_open(acts) <= SPAN_SLOTS * 10
    # Every open span put back in service: no workstation left with its services stopped.
    snapshot = out.lab.snapshot()["hosts"]
    stopped = [h for h, s in snapshot.items() if s["services"]["AVService"] != "running"]
    assert stopped == []
    assert not [h for h, s in snapshot.items() if s["pending_reboot"]]
    assert out.lab.violations() == []


def test_cli_rehearsal_pauses_at_the_window_end_with_exit_75(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`apply --sim --window` of the 200-workstation Contact Pro plan at time scale: the
    window ends mid-fleet, the command exits 75 and the run says the window ended."""
    import json

    from orchestrator.cli import main

    root = Path(__file__).resolve().parent.parent
    monkeypatch.setenv("ORCHESTRATOR_JOURNAL", str(tmp_path / "journal.sqlite"))
    args = ["apply", str(root / "playbooks/contactpro-hotfix-install.yml"), "-i",
            str(root / "inventory/contactpro"), "--sim", "--yes", "--time-scale", "0.0002",
            "--window", "2026-11-28T22:00:00+00:00/2026-11-28T23:30:00+00:00",
            "--progress", "none"]  # fmt: skip
    assert main(args) == 75
    capsys.readouterr()
    assert main(["status", "last", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    text = json.dumps(doc)
    assert "paused" in text and "maintenance window ends at" in text
