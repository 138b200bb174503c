"""The availability timeline: who stopped serving, when and for how long (plan time)."""

from __future__ import annotations

from pathlib import Path

from orchestrator.sim import Lab
from tests.test_sim_support import T0, StepClock, open_lab, plan_of, run_in_order


def _run(tmp_path: Path, name: str) -> tuple[Lab, dict[str, float], StepClock]:
    clock = StepClock()
    plan = plan_of(name)
    lab = open_lab(tmp_path, plan, clock)
    run_in_order(lab, plan.actions)
    assert lab.violations() == []
    return lab, {e.action_id: e.at for e in lab.log()}, clock


def test_move_off_run(tmp_path: Path) -> None:
    lab, at, clock = _run(tmp_path, "exchange2003-sp2")
    tl = lab.timeline()
    assert tl["start"] == T0 and tl["end"] == clock.t
    assert set(tl["groups"]) == {"exclu1/EVS1", "exclu1/EVS2", "exclu1/Cluster Group"}
    evs2 = tl["groups"]["exclu1/EVS2"]
    assert evs2["kind"] == "exchange-virtual-server"
    start = at["exclu1/node-b/resources_offline/EVS2"]
    end = at["exclu1/node-c/resources_online/EVS2"]
    assert evs2["outages"] == [{"start": start, "end": end, "duration_s": end - start}]
    assert evs2["down_s"] == end - start > 720  # offline, move (120 s), Upgrade EVS (600 s)
    group = tl["groups"]["exclu1/Cluster Group"]
    assert group["down_s"] == 120.0  # only while it moved
    assert group["outages"][0]["end"] == at["exclu1/node-a/move/Cluster Group"]
    owa = tl["pools"]["owa"]
    assert owa["mode"] == "all-at-once"
    down, up = at["owa/fe3/lb_out"], at["owa/fe1/lb_in"]
    assert owa["outages"] == [{"start": down, "end": up, "duration_s": up - down}]


def test_rolling_pool_never_goes_down_and_a_plain_move_costs_its_duration(
    tmp_path: Path,
) -> None:
    lab, at, _ = _run(tmp_path, "exchange2000-active-passive")
    tl = lab.timeline()
    assert tl["pools"]["fe_pool"] == {"mode": "rolling", "down_s": 0.0, "outages": []}
    evs1 = tl["groups"]["exclu2k/EVS1"]
    assert evs1["down_s"] == 120.0
    assert evs1["outages"][0]["end"] == at["exclu2k/node-1/move/EVS1"]


def test_active_first_cuts_users_off_during_the_reboot(tmp_path: Path) -> None:
    lab, at, _ = _run(tmp_path, "exchange55")
    group = lab.timeline()["groups"]["ex55/Exchange 5.5"]
    assert group["outages"] == [
        {"start": at["ex55/node-1/reboot"] - 300, "end": at["ex55/node-1/reboot"],
         "duration_s": 300.0}
    ]  # fmt: skip


def test_open_outage_has_no_end(tmp_path: Path) -> None:
    clock = StepClock()
    plan = plan_of("exchange2003-sp2")
    lab = open_lab(tmp_path, plan, clock)
    run_in_order(lab, [plan.action(f"owa/fe{i}/lb_out") for i in (1, 2, 3)])
    clock.sleep(50)
    (outage,) = lab.timeline()["pools"]["owa"]["outages"]
    assert outage["end"] is None and outage["duration_s"] == 50.0
