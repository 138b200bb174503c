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


def test_active_first_cuts_users_off_during_the_install_and_the_reboot(tmp_path: Path) -> None:
    """Exchange 5.5 setup stops the virtual server's services on the active node while it
    installs (setup restarts them at its end), then the reboot takes them down again."""
    lab, at, _ = _run(tmp_path, "exchange55")
    group = lab.timeline()["groups"]["ex55/Exchange 5.5"]
    installed, rebooted = at["ex55/node-1/install"], at["ex55/node-1/reboot"]
    assert group["outages"] == [
        {"start": installed - 1800, "end": installed, "duration_s": 1800.0},
        {"start": rebooted - 300, "end": rebooted, "duration_s": 300.0},
    ]
    assert group["down_s"] == 2100.0


def test_open_outage_has_no_end(tmp_path: Path) -> None:
    clock = StepClock()
    plan = plan_of("exchange2003-sp2")
    lab = open_lab(tmp_path, plan, clock)
    run_in_order(lab, [plan.action(f"owa/fe{i}/lb_out") for i in (1, 2, 3)])
    clock.sleep(50)
    (outage,) = lab.timeline()["pools"]["owa"]["outages"]
    assert outage["end"] is None and outage["duration_s"] == 50.0


def _planned_vs_measured(name: str, tmp_path: Path) -> dict[str, tuple[float, float]]:
    """For every planned downtime entry of example ``name``: (planned, measured) seconds,
    rehearsed with one fork on a clock that moves by the estimates (exact durations)."""
    from .test_engine_faults import rehearse
    from .test_sim_support import T0, StepClock, plan_of

    plan = plan_of(name)
    out = rehearse(tmp_path, plan, clock=StepClock(T0), forks=1)
    assert out.result.status == "done"
    timeline = out.lab.timeline()
    found: dict[str, tuple[float, float]] = {}
    for e in plan.extra["downtime"]:
        scope = {"group": "groups", "pool": "pools", "host": "hosts"}[e["scope"]]
        key = f"{e['cluster']}/{e['name']}" if e["scope"] == "group" else e["name"]
        found[f"{e['scope']}:{key}"] = (e["estimate_s"], timeline[scope][key]["down_s"])
    return found


def test_exchange55_rehearsal_measures_the_planned_user_cut_off(tmp_path: Path) -> None:
    """Active-first: Exchange 5.5 setup stops the services of the virtual server on the
    active node; users are cut off for the whole install, as the plan says."""
    planned, measured = _planned_vs_measured("exchange55", tmp_path)["group:ex55/Exchange 5.5"]
    assert abs(measured - planned) <= 0.1 * planned, (planned, measured)


def test_standalone_back_ends_appear_in_the_downtime(tmp_path: Path) -> None:
    """A back-end that is neither clustered nor load-balanced is an outage of its mailboxes
    while its install runs."""
    found = _planned_vs_measured("exchange2003-sp2", tmp_path)
    for host in ("be1", "be2"):
        planned, measured = found[f"host:{host}"]
        assert abs(measured - planned) <= 0.1 * planned, (host, planned, measured)
