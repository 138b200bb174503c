"""A whole rehearsal over the real WinRM protocol: the engine drives the Exchange 2003 plan
through the transport driver, the real pywinrm client and the WS-Management test server,
whose interpreter runs each verb call against the simulated lab. The lab must end exactly
as when the engine drives it directly, with no invariant broken."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator.engine._clock import ScaledClock
from orchestrator.engine._engine import Engine, EngineOptions
from orchestrator.engine._journal import Journal
from orchestrator.engine._observers import Recorder
from orchestrator.engine._retry import RetryPolicy
from orchestrator.plan import Plan
from orchestrator.sim import Lab
from orchestrator.transports._driver import TransportDriver
from orchestrator.transports._winrm import WinRMTransport

from .enginekit import example_plan
from .wsman import InterpreterEmulator, WSManServer
from .wsman.sim_runner import SimVerbRunner, parse_call

T0 = 1_800_000_000.0


def _connector(port: int) -> Callable[[str], WinRMTransport]:
    """Transports to the test server (http and Basic, with the explicit consent)."""

    def connect(host: str) -> WinRMTransport:
        return WinRMTransport(
            host, "127.0.0.1", port=port, scheme="http", user="orch", password="pw",
            transport="basic", allow_unencrypted=True,
        )  # fmt: skip

    return connect


def _run(plan: Plan, tmp: Path, driver_of: str) -> tuple[Lab, str]:
    clock = ScaledClock(T0, 0.0)
    lab = Lab.open(tmp / f"{driver_of}-lab.sqlite", plan, clock)
    journal = Journal(tmp / f"{driver_of}-journal.sqlite")
    run_id = journal.create_run(plan.to_json(), plan, {}, T0)
    timeouts = {k: float(v) for k, v in plan.extra["execution"]["timeouts"].items()}
    options = EngineOptions(forks=4, policy=RetryPolicy(2, 0.1, 0.2), timeouts=timeouts)
    if driver_of == "sim":
        engine = Engine(plan, run_id, journal, lab.driver(), clock, Recorder(), options)
        assert engine.run().status == "done"
        return lab, ""
    runner = SimVerbRunner(plan, lab.driver())
    with WSManServer(InterpreterEmulator(runner), user="orch", password="pw") as server:
        connect = _connector(server.port)
        driver = TransportDriver(plan.facts, connect, clock=clock, reboot_poll_s=0)
        try:
            engine = Engine(plan, run_id, journal, driver, clock, Recorder(), options)
            result = engine.run()
        finally:
            driver.close()
        assert result.status == "done", journal.actions(run_id)
        per_step = server.total / runner.calls
        commands = server.counts.get("Command", 0)
    return lab, f"{per_step:.2f} requests per step, {commands} commands"


def test_exchange_rehearsal_over_winrm_equals_the_direct_rehearsal(tmp_path: Path) -> None:
    plan = example_plan()
    direct, _ = _run(plan, tmp_path, "sim")
    wire, figures = _run(plan, tmp_path, "winrm")
    assert wire.violations() == []
    assert wire.snapshot() == direct.snapshot()
    per_step = float(figures.split()[0])
    print(figures)
    assert per_step <= 3.0, figures
    hosts = {a.host for a in plan.actions if a.host}
    assert int(figures.split(", ")[1].split()[0]) == len(hosts), figures  # one per host


@pytest.mark.parametrize("name", ["EVS'1", "a\u2019b", "$(Remove-Item C:\\)", "x`n;y", "'" * 50])
def test_hostile_params_cross_the_wire_verbatim(name: str) -> None:
    from orchestrator.plan import Action
    from orchestrator.verbs.powershell._library import ps_script

    action = Action("c/n/move", "move_group", "n", "c", {"group": name, "to_node": "n2"}, (), 1)
    call = parse_call(ps_script(action, "apply"))
    assert call["Params"] == {"group": name, "to_node": "n2"}
    assert call["Kind"] == "move_group" and call["Step"] == "apply"


def test_live_facts_over_winrm_report_the_lab_owners(tmp_path: Path) -> None:
    plan = example_plan()
    lab = Lab.open(tmp_path / "lab.sqlite", plan, ScaledClock(T0, 0.0))
    lab.operator_move_group("exclu1", "EVS1", "node-b")
    runner = SimVerbRunner(plan, lab.driver())
    with WSManServer(InterpreterEmulator(runner), user="orch", password="pw") as server:
        driver = TransportDriver(plan.facts, _connector(server.port))
        try:
            live = driver.live_facts(plan.facts)
        finally:
            driver.close()
    assert live["unreachable"] == []
    assert live["clusters"]["exclu1"]["groups"]["EVS1"]["owner"] == "node-b"
    assert sorted(live["clusters"]["exclu1"]["nodes"]) == ["node-a", "node-b", "node-c"]


def _winrm_inventory(tmp: Path, port: int, allow: bool = True) -> Path:
    import re
    import shutil

    from .examples import ROOT

    inv = tmp / "inventory"
    shutil.copytree(ROOT / "inventory" / "exchange2003", inv)
    hosts = inv / "hosts.yml"
    hosts.write_text(re.sub(r"192\.0\.2\.\d+", "127.0.0.1", hosts.read_text()))
    (inv / "group_vars" / "all.yml").write_text(
        "ansible_connection: winrm\nansible_winrm_transport: basic\n"
        f"ansible_winrm_scheme: http\nansible_port: {port}\nansible_user: orch\n"
        + ("orchestrator_allow_unencrypted: true\n" if allow else "")
    )
    return inv


def test_apply_over_winrm_from_the_command_line(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys
    import time

    from orchestrator.workflow import plan_from_files

    from .examples import ROOT

    playbook = ROOT / "playbooks" / "exchange2003-sp2.yml"
    journal = tmp_path / "state" / "journal.sqlite"
    with WSManServer(InterpreterEmulator(), user="orch", password="S3cr3t-pw") as server:
        inventory = _winrm_inventory(tmp_path, server.port)
        plan = plan_from_files(playbook, inventory)
        lab = Lab.open(tmp_path / "lab.sqlite", plan, ScaledClock(T0, 0.0))
        server.handler = InterpreterEmulator(SimVerbRunner(plan, lab.driver()))
        now = time.time()
        window = f"{_iso(now - 3600)}/{_iso(now + 12 * 3600)}"
        env = {**os.environ, "ORCHESTRATOR_PASSWORD": "S3cr3t-pw"}
        args = [sys.executable, "-m", "orchestrator", "apply", str(playbook), "-i",
                str(inventory), "--yes", "--journal", str(journal), "--window", window,
                "--progress", "plain"]  # fmt: skip
        r = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
        assert r.returncode == 0, r.stderr[-3000:]
        assert lab.violations() == []
        assert lab.snapshot()["clusters"]["exclu1"]["groups"]["EVS1"]["version"] == "6.5.7638.2"
        unsafe = str(_winrm_inventory(tmp_path / "no", server.port, allow=False))
        refused = subprocess.run(
            [*args[:6], unsafe, *args[7:]], capture_output=True, text=True, env=env, timeout=300
        )
    assert refused.returncode == 2 and "allow_unencrypted" in refused.stderr
    assert "Traceback" not in refused.stderr
    for path in journal.parent.rglob("*"):
        if path.is_file():
            assert b"S3cr3t-pw" not in path.read_bytes(), path
    assert "S3cr3t-pw" not in r.stdout + r.stderr


def _iso(ts: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S")
