"""A whole rehearsal over the real WinRM protocol: the engine drives the Exchange 2003 plan
through the transport driver, the real pywinrm client and the WS-Management test server,
whose interpreter runs each verb call against the simulated lab. The lab must end exactly
as when the engine drives it directly, with no invariant broken."""

from __future__ import annotations

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

        def connect(host: str) -> WinRMTransport:
            return WinRMTransport(
                host, "127.0.0.1", port=server.port, scheme="http", user="orch",
                password="pw", transport="basic", allow_unencrypted=True,
            )  # fmt: skip

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
    from orchestrator.transports._verbs_ps import ps_script

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

        def connect(host: str) -> WinRMTransport:
            return WinRMTransport(
                host, "127.0.0.1", port=server.port, scheme="http", user="orch",
                password="pw", transport="basic", allow_unencrypted=True,
            )  # fmt: skip

        driver = TransportDriver(plan.facts, connect)
        try:
            live = driver.live_facts(plan.facts)
        finally:
            driver.close()
    assert live["unreachable"] == []
    assert live["clusters"]["exclu1"]["groups"]["EVS1"]["owner"] == "node-b"
    assert sorted(live["clusters"]["exclu1"]["nodes"]) == ["node-a", "node-b", "node-c"]
