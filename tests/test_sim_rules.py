"""The real rules the lab enforces (and the way it fails when they are broken), the
invariants it records when an unsafe order is forced, and manual changes by an operator."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any

import pytest

from orchestrator.errors import FatalError, StepError, TransientError
from orchestrator.plan import Action
from orchestrator.sim import Lab
from tests.test_sim_support import (
    GateClock,
    act,
    open_lab,
    plan_of,
    quiet,
    run_in_order,
    step,
    until,
)

EX = "exchange2003-sp2"


def action(kind: str, host: str | None, cluster: str | None = None, **params: Any) -> Action:
    """An ad-hoc action (what a hand-edited or stale plan could contain)."""
    return Action(f"test/{kind}/{host}", kind, host, cluster, params, (), 60)


def move(group: str, frm: str, to: str) -> Action:
    return action("move_group", frm, "exclu1", group=group, to_node=to)


def upgraded_lab(tmp_path: Path) -> Lab:
    """Exchange 2003 lab where node-c is upgraded and EVS2 was upgraded and is online on it."""
    plan = plan_of(EX)
    lab = open_lab(tmp_path, plan)
    run_in_order(lab, until(plan, "exclu1/node-c/resources_online/EVS2"))
    return lab


def raises(lab: Lab, a: Action, exc: type[StepError] = FatalError) -> StepError:
    with pytest.raises(exc) as info:
        lab.driver().apply(a, 1e9)
    return info.value


def test_upgraded_virtual_server_cannot_move_back_to_an_older_node(tmp_path: Path) -> None:
    lab = upgraded_lab(tmp_path)
    err = raises(lab, move("EVS2", "node-c", "node-a"))
    assert "c1037b44" in str(err) and "node-a" in str(err)
    assert lab.live_facts(plan_of(EX).facts)["clusters"]["exclu1"]["groups"]["EVS2"] == {
        "owner": "node-c"
    }
    assert lab.violations() == []


def test_resources_cannot_come_online_on_an_older_node(tmp_path: Path) -> None:
    lab = upgraded_lab(tmp_path)
    lab.driver().apply(action("resources_offline", "node-c", "exclu1", group="EVS2", keep=[]), 60)
    resources = lab.snapshot()["clusters"]["exclu1"]["groups"]["EVS2"]["resources"]
    assert not any(r["online"] for r in resources.values())
    lab.operator_move_group("exclu1", "EVS2", "node-a")
    err = raises(lab, action("resources_online", "node-a", "exclu1", group="EVS2"))
    assert "c1037b44" in str(err)


def test_operator_move_of_an_upgraded_group_to_an_older_node_is_a_violation(
    tmp_path: Path,
) -> None:
    lab = upgraded_lab(tmp_path)
    lab.operator_move_group("exclu1", "EVS2", "node-a")
    assert any("EVS2" in v and "older version" in v for v in lab.violations())
    assert lab.log()[-1].kind == "operator_move_group"


@pytest.mark.parametrize(
    ("setup", "code", "words"),
    [
        (action("drain_node", "node-c", "exclu1", groups=[], to_node=None), 5070, "paused"),
        (action("stop_cluster_service", "node-c", "exclu1"), 5050, "down"),
    ],
)
def test_moves_to_paused_or_down_nodes_are_refused(
    tmp_path: Path, setup: Action, code: int, words: str
) -> None:
    lab = open_lab(tmp_path, plan_of(EX))
    lab.driver().apply(setup, 60)
    err = raises(lab, move("EVS2", "node-b", "node-c"))
    assert err.exit_code == code and words in str(err)
    err = raises(lab, action("drain_node", "node-b", "exclu1", groups=["EVS2"], to_node="node-c"))
    assert err.exit_code == code


def test_move_takes_the_group_out_of_service_while_it_runs(tmp_path: Path) -> None:
    clock = GateClock(threshold=50)
    lab = open_lab(tmp_path, plan_of(EX), clock)
    worker = threading.Thread(
        target=lab.driver().apply, args=(move("EVS1", "node-a", "node-b"), 1e9)
    )
    worker.start()
    assert clock.entered.wait(5)
    outages = lab.timeline()["groups"]["exclu1/EVS1"]["outages"]
    assert len(outages) == 1 and outages[0]["end"] is None
    clock.go.set()
    worker.join()
    assert lab.timeline()["groups"]["exclu1/EVS1"]["outages"][0]["end"] is not None


def test_two_installs_on_one_host_collide_with_1618(tmp_path: Path) -> None:
    plan, clock = plan_of(EX), GateClock()
    lab = quiet(open_lab(tmp_path, plan, clock), plan, "node-c")
    driver = lab.driver()
    first = threading.Thread(
        target=driver.apply, args=(act(plan, "exclu1/node-c/install/kb831464"), 1e9)
    )
    first.start()
    assert clock.entered.wait(5)
    with pytest.raises(TransientError) as info:
        driver.apply(act(plan, "exclu1/node-c/install"), 1e9)
    assert info.value.exit_code == 1618
    with pytest.raises(FatalError, match="an installer is running on node-c"):
        driver.apply(act(plan, "exclu1/node-c/preflight/no-installer-running"), 1e9)
    clock.go.set()
    first.join()
    assert driver.probe(act(plan, "exclu1/node-c/install/kb831464"))
    assert step(driver, act(plan, "exclu1/node-c/install"))
    assert lab.violations() == []


def test_upgrade_virtual_server_needs_system_attendant_offline_and_an_upgraded_owner(
    tmp_path: Path,
) -> None:
    lab = quiet(open_lab(tmp_path, plan_of(EX)), plan_of(EX), "node-b")
    upgrade = action("upgrade_virtual_server", "node-b", "exclu1", group="EVS2")
    assert "not upgraded" in str(raises(lab, upgrade))
    lab.driver().apply(act(plan_of(EX), "exclu1/node-b/install"), 1e9)
    assert "Exchange System Attendant" in str(raises(lab, upgrade))


def test_stopping_two_cluster_services_breaks_max_out_and_fails_groups_over(
    tmp_path: Path,
) -> None:
    plan = plan_of(EX)
    lab = open_lab(tmp_path, plan)
    driver = lab.driver()
    driver.apply(act(plan, "exclu1/node-c/stop_cluster_service"), 60)
    assert lab.violations() == []
    driver.apply(act(plan, "exclu1/node-b/stop_cluster_service"), 60)
    assert lab.violations() == [
        "exclu1/node-b/stop_cluster_service: cluster exclu1: 2 nodes out at once (max_out 1): "
        "node-b, node-c",
        "exclu1/node-b/stop_cluster_service: cluster exclu1: the Cluster service of node-b "
        "stopped while EVS2 still ran there: the cluster failed them over unplanned (EVS2 "
        "failed over to node-a)",
    ]
    assert "EVS2 failed over to node-a" in lab.log()[-1].summary
    owners = lab.live_facts(plan.facts)["clusters"]["exclu1"]["groups"]
    assert owners["EVS2"] == {"owner": "node-a"}


def test_rolling_pool_with_two_members_out_is_a_violation(tmp_path: Path) -> None:
    plan = plan_of("mpweb-patch-level")
    lab = open_lab(tmp_path, plan)
    lab.driver().apply(act(plan, "mpweb/web1/lb_out"), 60)
    lab.driver().apply(act(plan, "mpweb/web2/lb_out"), 60)
    assert lab.violations() == [
        "mpweb/web2/lb_out: pool mpweb: 2 members out of rotation at once (max_out 1): web1, web2"
    ]


def test_patch_level_upgrade_needs_the_product_services_stopped(tmp_path: Path) -> None:
    plan = plan_of("mpweb-patch-level")
    lab = open_lab(tmp_path, plan)
    err = raises(lab, act(plan, "mpweb/web1/install"))
    assert "W3SVC" in str(err)


def test_msp_from_a_build_that_has_not_run_is_not_found(tmp_path: Path) -> None:
    plan = plan_of("msde-msp")
    lab = open_lab(tmp_path, plan)
    err = raises(lab, act(plan, "sql01/install"))
    assert "source not found" in str(err) and err.exit_code == 1635
    err = raises(lab, act(plan, "build/build01/pcp"))
    assert "cannot find the path" in str(err)
    run_in_order(lab, until(plan, "build/build01/patch"))
    assert step(lab.driver(), act(plan, "sql01/install"))


@pytest.mark.parametrize(
    ("plan_name", "before", "kind", "params", "words"),
    [
        ("contactpro-hotfix-install", "contactpro/inactivate/VU_CHAT", "add_hotfix_to_base",
         {"base": "SP07", "hotfix": "HF12"}, "deployment mode"),
        ("contactpro-hotfix-install", "contactpro/extract_hotfix", "set_mode",
         {"mode": "party"}, "unknown mode"),
        ("contactpro-hotfix-install", "contactpro/add_to_base", "add_hotfix_to_package",
         {"unit": "VU_CORE", "package": "CORE", "hotfix": "HF12"}, "refresh the nodes"),
        ("contactpro-hotfix-install", "contactpro/refresh_nodes", "add_hotfix_to_package",
         {"unit": "VU_REPORT", "package": "REPORT", "hotfix": "HF12"}, "is active"),
        ("contactpro-hotfix-install", "contactpro/add/VU_CORE/CORE", "activate_unit",
         {"unit": "VU_CORE"}, "not synchronized"),
        ("contactpro-hotfix-install", "contactpro/add/VU_CORE/CORE", "apply_changes",
         {"scope": "all-hosts"}, "synchronize the instances of VU_CORE"),
        ("contactpro-hotfix-remove", "contactpro/set_mode/deployment", "remove_hotfix_from_base",
         {"base": "SP07", "hotfix": "HF12"}, "still used by VU_CHAT/CHAT, VU_CORE/CORE"),
        ("contactpro-hotfix-remove", "contactpro/set_mode/deployment",
         "remove_hotfix_from_package",
         {"unit": "VU_CORE", "package": "CORE", "hotfix": "HF12"}, "is active"),
    ],
)  # fmt: skip
def test_model_based_hotfix_rules(
    tmp_path: Path, plan_name: str, before: str, kind: str, params: dict[str, Any], words: str
) -> None:
    plan = plan_of(plan_name)
    lab = open_lab(tmp_path, plan)
    run_in_order(lab, until(plan, before))
    bad = action(kind, "hac1", system="contactpro", **params)
    assert words in str(raises(lab, bad))


def test_probes_of_model_marks_follow_changes(tmp_path: Path) -> None:
    plan = plan_of("contactpro-hotfix-install")
    lab = open_lab(tmp_path, plan)
    driver = lab.driver()
    run_in_order(lab, until(plan, "contactpro/refresh_nodes"))
    sync = act(plan, "contactpro/synchronize/VU_CORE")
    assert driver.probe(sync)  # nothing changed in VU_CORE yet
    step(driver, act(plan, "contactpro/add/VU_CORE/CORE"))
    assert not driver.probe(sync)
    assert step(driver, sync) and driver.probe(sync)


def test_operator_changes_show_in_live_facts(tmp_path: Path) -> None:
    plan = plan_of(EX)
    lab = open_lab(tmp_path, plan)
    assert lab.live_facts(plan.facts) == {
        "clusters": {
            "exclu1": {
                "nodes": ["node-a", "node-b", "node-c"],
                "groups": {
                    "EVS1": {"owner": "node-a"},
                    "EVS2": {"owner": "node-b"},
                    "Cluster Group": {"owner": "node-a"},
                },
            }
        },
        "pools": {"owa": {"members": ["fe1", "fe2", "fe3"]}},
        "unreachable": [],
    }
    lab.operator_move_group("exclu1", "EVS1", "node-c")
    lab.operator_set_pool_members("owa", ["fe1", "fe2"])
    live = lab.live_facts(plan.facts)
    assert live["clusters"]["exclu1"]["groups"]["EVS1"] == {"owner": "node-c"}
    assert live["pools"]["owa"] == {"members": ["fe1", "fe2"]}
    assert [e.kind for e in lab.log()] == ["operator_move_group", "operator_set_pool_members"]
    with pytest.raises(KeyError):
        lab.operator_move_group("exclu1", "EVS9", "node-c")


def test_barriers_and_unknown_kinds_never_reach_the_lab(tmp_path: Path) -> None:
    lab = open_lab(tmp_path, plan_of(EX))
    with pytest.raises(FatalError, match="barrier"):
        lab.driver().probe(action("barrier", None, name="x"))
    with pytest.raises(FatalError, match="does not know"):
        lab.driver().apply(dataclasses.replace(action("hook", "fe1"), kind="format_disk"), 1)
