"""The lab persists across processes: state, log and fault counters survive a reopen, and a
controller killed in the middle of an operation leaves nothing of it behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from orchestrator.engine._clock import ScaledClock
from orchestrator.errors import TransientError
from orchestrator.sim import Lab, load_faults
from tests.test_sim_support import (
    EXAMPLES,
    ROOT,
    T0,
    GateClock,
    act,
    open_lab,
    plan_of,
    quiet,
    run_in_order,
    until,
)

EX = "exchange2003-sp2"
MIDWAY = "exclu1/node-c/upgrade_virtual_server/EVS2"


def test_reopen_keeps_state_and_log_and_continues(tmp_path: Path) -> None:
    plan = plan_of(EX)
    first = until(plan, MIDWAY)
    lab = open_lab(tmp_path, plan)
    run_in_order(lab, first)
    snap, log = lab.snapshot(), lab.log()
    lab.close()
    again = Lab.open(tmp_path / "lab.db", plan, ScaledClock(T0 + 3600, 0.0))
    assert again.snapshot() == snap and again.log() == log
    run_in_order(again, plan.actions[len(first) :])
    assert again.violations() == []
    assert [e.seq for e in again.log()] == list(range(1, len(again.log()) + 1))
    full = Lab.open(tmp_path / "full.db", plan, ScaledClock(T0, 0.0))
    run_in_order(full, plan.actions)
    assert again.snapshot() == full.snapshot()


def test_fault_counters_survive_a_reopen(tmp_path: Path) -> None:
    plan = plan_of(EX)
    faults = tmp_path / "faults.yml"
    faults.write_text("faults:\n  - {host: be1, action: install, exit_codes: [1618, 1618]}\n")
    install = act(plan, "be1/install")
    lab = quiet(open_lab(tmp_path, plan, faults=load_faults(faults, plan)), plan, "be1")
    with pytest.raises(TransientError):
        lab.driver().apply(install, 1e9)
    lab.close()
    lab = open_lab(tmp_path, plan, faults=load_faults(faults, plan))
    with pytest.raises(TransientError):
        lab.driver().apply(install, 1e9)  # the second code, not the first again
    assert lab.driver().apply(install, 1e9).exit_code == 3010  # then normal
    lab.close()


def test_another_connection_sees_nothing_of_an_operation_in_flight(tmp_path: Path) -> None:
    plan, clock = plan_of(EX), GateClock()
    lab = quiet(open_lab(tmp_path, plan, clock), plan, "be1")
    seeded, logged = lab.snapshot(), lab.log()
    worker = threading.Thread(target=lab.driver().apply, args=(act(plan, "be1/install"), 1e9))
    worker.start()
    assert clock.entered.wait(5)
    other = Lab.open(tmp_path / "lab.db", plan, ScaledClock(T0, 0.0))
    assert other.snapshot() == seeded and other.log() == logged
    assert not other.driver().probe(act(plan, "be1/preflight/no-installer-running"))
    other.close()
    clock.go.set()
    worker.join()
    assert lab.log()[-1].action_id == "be1/install"


CHILD = """
import sys
from pathlib import Path
from orchestrator.engine._clock import ScaledClock
from orchestrator.sim import Lab
from orchestrator.workflow import plan_from_files

plan = plan_from_files(Path(sys.argv[2]), Path(sys.argv[3]))
lab = Lab.open(Path(sys.argv[1]), plan, ScaledClock({t0}, 0.05))
move = plan.action("exclu1/node-b/move/EVS2")
print("moving", flush=True)
lab.driver().apply(move, 1e9)
print("moved", flush=True)
"""


def test_a_controller_killed_mid_operation_leaves_nothing_behind(tmp_path: Path) -> None:
    plan, db = plan_of(EX), tmp_path / "lab.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [str(db), str(ROOT / "playbooks" / f"{EX}.yml"), str(ROOT / "inventory" / EXAMPLES[EX])]
    code = textwrap.dedent(CHILD).format(t0=T0)
    child = subprocess.Popen(
        [sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True, env=env
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "moving"
    time.sleep(0.3)  # the move (120 s at 0.05) is now sleeping
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    lab = Lab.open(db, plan, ScaledClock(T0 + 1000, 0.0))
    assert lab.log() == []
    live = lab.live_facts(plan.facts)["clusters"]["exclu1"]["groups"]
    assert live["EVS2"] == {"owner": "node-b"}
    outage = lab.timeline()["groups"]["exclu1/EVS2"]["outages"]
    assert len(outage) == 1 and outage[0]["end"] == T0 + 1000  # serving again at reopen
    assert outage[0]["start"] < T0 + 120  # it began with the move, before the kill
    run_in_order(lab, plan.actions)
    assert lab.violations() == []


def test_reopening_with_a_new_plan_seeds_only_what_is_missing(tmp_path: Path) -> None:
    lab = open_lab(tmp_path, plan_of(EX))
    lab.operator_move_group("exclu1", "EVS1", "node-b")
    lab.close()
    lab = open_lab(tmp_path, plan_of("mpweb-patch-level"))
    snap = lab.snapshot()
    assert snap["clusters"]["exclu1"]["groups"]["EVS1"]["owner"] == "node-b"
    assert set(snap["pools"]) == {"owa", "mpweb"}
    assert "web1" in snap["hosts"] and "fe1" in snap["hosts"]
