"""Start modes across reboots (KB 328839): interfering services are disabled while held and
get their start mode back afterwards, also when compensation puts a failed host back, and
also for a service that was stopped before the run (it stays stopped, as it was)."""

from __future__ import annotations

from pathlib import Path

from orchestrator.plan import Action
from orchestrator.sim import load_faults

from .test_engine_faults import rehearse
from .test_sim_support import open_lab, plan_of, step

NODE_C_STOP = "exclu1/node-c/stop_services/interfering"


def _host(lab: object, name: str) -> dict[str, object]:
    return dict(lab.snapshot()["hosts"][name])  # type: ignore[attr-defined]


def test_a_completed_run_restores_every_start_mode(tmp_path: Path) -> None:
    out = rehearse(tmp_path, plan_of("exchange2003-sp2"))
    assert out.result.status == "done"
    for host in ("node-a", "node-b", "node-c", "be1", "fe1"):
        h = _host(out.lab, host)
        assert h["start_modes"] == {} and h["held_modes"] == {}, (host, h)


def test_compensation_restores_the_start_modes_it_held(tmp_path: Path) -> None:
    plan = plan_of("exchange2003-sp2")
    faults = tmp_path / "faults.yml"
    faults.write_text(
        "faults:\n  - {host: node-c, action: exclu1/node-c/install, exit_codes: [1603]}\n"
    )
    lab = open_lab(tmp_path, plan, faults=load_faults(faults, plan))
    # SNMP was stopped by someone before the run (start mode still automatic)
    stop = next(a for a in plan.actions if a.id == NODE_C_STOP)
    params = {"services": ["SNMP"], "purpose": "interfering"}
    snmp_only = Action(
        "operator/stop-snmp", "stop_services", "node-c", None, params, (), 1, "x", "x"
    )
    step(lab.driver(), snmp_only)
    out = rehearse(tmp_path, plan, lab=lab)
    assert out.result.status == "failed"
    comp = out.actions["compensate/exclu1/node-c/start_services/interfering"]
    assert comp.state == "done", comp
    h = _host(out.lab, "node-c")
    assert h["start_modes"] == {} and h["held_modes"] == {}, h  # every mode back
    services = h["services"]
    assert isinstance(services, dict)
    assert services["SNMP"] == "stopped"  # stopped before the run: left so
    assert all(services[s] == "running" for s in stop.params["services"] if s != "SNMP")
