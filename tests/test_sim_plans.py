"""Every example plan runs clean on the simulated lab: in plan order and in parallel along
its DAG, probes flip from False to True, installs are in effect and versions verified."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.engine._clock import ScaledClock
from orchestrator.plan import Plan
from orchestrator.sim import Lab
from tests.test_sim_support import (
    CHECKS,
    EXAMPLES,
    T0,
    drain_plan,
    open_lab,
    plan_of,
    run_in_order,
    run_parallel,
)

#: Kinds a plan-order run may find already in effect: services come back with the reboot,
#: and an "if-required" reboot after an install that did not ask for one.
MAY_SKIP = {"start_services", "reboot"}


def _run_checked(lab: Lab, plan: Plan) -> list[str]:
    driver, skipped = lab.driver(), []
    for a in plan.actions:
        if a.kind == "barrier":
            continue
        if driver.probe(a):
            skipped.append(a.id)
            continue
        result = driver.apply(a, 1e9)
        driver.verify(a)
        if a.kind not in CHECKS:
            assert driver.probe(a), f"{a.id}: probe still False after apply"
        if a.kind == "install":
            assert result.data["reboot_required"] in (True, False)
    return skipped


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_plan_runs_clean(name: str, tmp_path: Path) -> None:
    plan = plan_of(name)
    lab = open_lab(tmp_path, plan)
    skipped = _run_checked(lab, plan)
    assert {plan.action(i).kind for i in skipped} <= MAY_SKIP
    assert lab.violations() == []
    driver, snap = lab.driver(), lab.snapshot()
    for a in plan.actions:
        if a.kind == "install":
            assert driver.probe(a), a.id
        if a.kind == "verify" and a.params["check"] in ("version", "patch-level"):
            driver.apply(a, 1e9)  # passes again at the end
        if a.kind == "install" and a.params.get("version") and not a.params.get("component"):
            assert snap["hosts"][a.host]["version"] == a.params["version"]
    applied = [a.id for a in plan.actions if a.kind not in CHECKS | {"barrier"}]
    assert [e.action_id for e in lab.log()] == [i for i in applied if i not in skipped]
    lab.close()


def test_drain_strategy_runs_clean_and_fails_back(tmp_path: Path) -> None:
    plan = drain_plan()
    lab = open_lab(tmp_path, plan)
    skipped = _run_checked(lab, plan)
    assert {plan.action(i).kind for i in skipped} <= MAY_SKIP
    assert lab.violations() == []
    groups = lab.live_facts(plan.facts)["clusters"]["exclu1"]["groups"]
    assert groups == {"EVS1": {"owner": "node-a"}, "EVS2": {"owner": "node-b"},
                      "Cluster Group": {"owner": "node-a"}}  # fmt: skip
    nodes = lab.snapshot()["clusters"]["exclu1"]["nodes"]
    assert {n: v["state"] for n, v in nodes.items()} == dict.fromkeys(nodes, "Up")


def test_two_identical_runs_give_equal_snapshots(tmp_path: Path) -> None:
    plan = plan_of("exchange2003-sp2")
    snaps, logs = [], []
    for i, clock in enumerate([ScaledClock(T0, 0.0), ScaledClock(T0 + 5000, 0.0)]):
        lab = Lab.open(tmp_path / f"lab{i}.db", plan, clock)
        run_in_order(lab, plan.actions)
        snaps.append(lab.snapshot())
        logs.append([(e.action_id, e.kind, e.summary) for e in lab.log()])
        lab.close()
    assert snaps[0] == snaps[1]
    assert logs[0] == logs[1]
    host = snaps[0]["hosts"]["node-c"]
    assert host["boot_count"] == 2 and host["version"] == "6.5.7638.2"
    assert host["custom_files"] == {"C:\\Program Files\\Exchsrvr\\bin\\Local.map": "custom"}
    assert snaps[0]["clusters"]["exclu1"]["groups"]["EVS2"]["version"] == "6.5.7638.2"


@pytest.mark.parametrize("name", ["exchange2003-sp2", "contactpro-hotfix-install", "msde-msp"])
def test_parallel_run_along_the_dag_matches_plan_order(name: str, tmp_path: Path) -> None:
    plan = plan_of(name)
    seq = Lab.open(tmp_path / "seq.db", plan, ScaledClock(T0, 0.0))
    run_in_order(seq, plan.actions)
    par = Lab.open(tmp_path / "par.db", plan, ScaledClock(T0, 0.00002))
    run_parallel(par, plan, workers=16)
    assert par.violations() == []
    assert par.snapshot() == seq.snapshot()
    seqs = [e.seq for e in par.log()]
    assert seqs == list(range(1, len(seqs) + 1))


def test_seeded_state_comes_from_facts_and_actions(tmp_path: Path) -> None:
    snap = open_lab(tmp_path, plan_of("contactpro-hotfix-remove")).snapshot()
    system = snap["systems"]["contactpro"]
    assert system["mode"] == "monitoring"
    assert system["bases"] == {"SP07": ["HF12"]}
    assert system["packages"]["VU_CORE"] == {"CORE": ["HF12"]}
    assert system["packages"]["VU_CHAT"] == {"CHAT": ["HF12"], "CHAT_GW": []}
    assert all(system["active"].values())
    assert snap["hosts"]["ws001"]["packages"] == {"Contact Pro Desktop HF12": ""}
    ex = Lab.open(tmp_path / "ex.db", plan_of("exchange2003-sp2"), ScaledClock(T0, 0.0)).snapshot()
    fe1 = ex["hosts"]["fe1"]
    assert fe1["services"]["McShield"] == "running" and fe1["version"] == ""
    assert fe1["product_services"] == ["MSExchangeIS", "MSExchangeSA"]
    assert ex["pools"]["owa"]["in_rotation"] == ["fe1", "fe2", "fe3"]
    evs1 = ex["clusters"]["exclu1"]["groups"]["EVS1"]
    assert evs1["owner"] == "node-a" and evs1["version"] == ""
    assert evs1["resources"]["Disk F:"] == {"type": "Physical Disk", "online": True}
