"""Two rules of the real cluster in the planner, the validator and the twin, with mutation
tests: a valid plan broken in one place must make the twin (and the validator) report it.

* Upgrade EVS needs the Distributed Transaction Coordinator resource online (KB 328839, the
  conditions under error c1037b44): the plan never moves the group holding the DTC while an
  EVS is upgraded.
* A group moves only to its possible owners (MS-CMRP ApiMoveGroupToNode; the cluster refuses
  the move with 5015): the planner picks only possible owners and refuses at plan time when
  a group has nowhere to go.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from orchestrator.engine._clock import ScaledClock
from orchestrator.errors import FatalError, StrategyError
from orchestrator.plan import Action, Plan
from orchestrator.sim import Lab
from orchestrator.validator import find_violations
from orchestrator.workflow import plan_from_files

from .test_engine_faults import assert_all_serving, rehearse
from .test_sim_support import T0, act, open_lab, plan_of, run_in_order, step

ROOT = Path(__file__).resolve().parent.parent
CG_MOVE = "exclu1/node-a/move/Cluster Group"


def _before(plan: Plan, action_id: str) -> list[Action]:
    """Every action listed before ``action_id`` (the plan lists them in a topological order)."""
    ids = [a.id for a in plan.actions]
    return list(plan.actions[: ids.index(action_id)])


def _edit(plan: Plan, action_id: str, **changes: object) -> Plan:
    """``plan`` with one action changed (the mutation)."""
    actions = tuple(replace(a, **changes) if a.id == action_id else a for a in plan.actions)
    return replace(plan, actions=actions)


# -- the DTC --------------------------------------------------------------------------------


def test_the_plan_orders_the_dtc_group_with_every_upgrade_evs() -> None:
    plan = plan_of("exchange2003-sp2")
    after = act(plan, CG_MOVE).after
    upgrades = [a.id for a in plan.actions if a.kind == "upgrade_virtual_server"]
    assert set(upgrades) <= set(after)  # the Cluster Group (it holds MSDTC) waits for them
    assert find_violations(plan) == []


def test_mutation_dtc_moved_during_upgrade_evs_is_caught(tmp_path: Path) -> None:
    plan = plan_of("exchange2003-sp2")
    upgrades = {a.id for a in plan.actions if a.kind == "upgrade_virtual_server"}
    evs1 = act(plan, "exclu1/node-b/upgrade_virtual_server/EVS1")
    # the mutation: the Cluster Group (MSDTC) moves as soon as EVS1 has moved, like the
    # planner did before the rule, not after the upgrades
    kept = tuple(x for x in act(plan, CG_MOVE).after if x not in upgrades)
    broken = _edit(plan, CG_MOVE, after=(*kept, *evs1.after))
    violations = find_violations(broken)
    assert any("Distributed Transaction Coordinator" in v for v in violations), violations
    clock = ScaledClock(T0, 0.0002)  # real durations, so that the two overlap
    out = rehearse(tmp_path, broken, clock=clock)
    failed = {a: r.message for a, r in out.actions.items() if r.state == "failed"}
    dtc = [m for m in failed.values() if "Distributed Transaction Coordinator" in m]
    seen = [v for v in out.lab.violations() if "Distributed Transaction Coordinator" in v]
    assert dtc or seen, (failed, out.lab.violations())
    assert out.result.status == "failed"


def test_upgrade_evs_refused_while_the_dtc_is_offline(tmp_path: Path) -> None:
    plan = plan_of("exchange2003-sp2")
    lab = open_lab(tmp_path, plan)
    upgrade = next(a for a in plan.actions if a.kind == "upgrade_virtual_server")
    run_in_order(lab, _before(plan, upgrade.id))
    lab.operator_take_offline("exclu1", "Cluster Group", "MSDTC")
    with pytest.raises(FatalError, match=r"needs the Distributed Transaction Coordinator .*"
                       r"MSDTC is offline in group Cluster Group"):  # fmt: skip
        step(lab.driver(), upgrade)


# -- possible owners -----------------------------------------------------------------------


def _inventory(tmp_path: Path, evs1_possible: str) -> Path:
    inv = tmp_path / "inventory"
    shutil.copytree(ROOT / "inventory" / "exchange2003", inv)
    hosts = inv / "hosts.yml"
    text = hosts.read_text(encoding="utf-8")
    anchor = "                  preferred_owners: [node-a, node-b]\n"
    assert text.count(anchor) == 1, "EVS1's preferred owners line moved"
    hosts.write_text(
        text.replace(anchor, anchor + f"                  possible_owners: {evs1_possible}\n"),
        encoding="utf-8",
    )
    return inv


def _plan(tmp_path: Path, evs1_possible: str) -> Plan:
    return plan_from_files(
        ROOT / "playbooks" / "exchange2003-sp2.yml", _inventory(tmp_path, evs1_possible)
    )


def test_groups_move_only_to_their_possible_owners(tmp_path: Path) -> None:
    plan = _plan(tmp_path, "[node-a, node-b]")
    assert plan.facts["clusters"]["exclu1"]["groups"]["EVS1"]["possible_owners"] == [
        "node-a", "node-b",
    ]  # fmt: skip
    moves = [a for a in plan.actions if a.kind == "move_group" and a.params["group"] == "EVS1"]
    assert moves and all(a.params["to_node"] in ("node-a", "node-b") for a in moves)
    assert find_violations(plan) == []
    (tmp_path / "run").mkdir()
    out = rehearse(tmp_path / "run", plan)
    assert out.result.status == "done"
    assert_all_serving(out.lab)


def test_mutation_move_to_a_node_that_is_no_possible_owner_is_caught(tmp_path: Path) -> None:
    plan = _plan(tmp_path, "[node-a, node-b]")
    move = next(a for a in plan.actions if a.kind == "move_group" and a.params["group"] == "EVS1")
    broken = _edit(plan, move.id, params={**move.params, "to_node": "node-c"})
    assert any("not one of its possible owners" in v for v in find_violations(broken))
    lab = Lab.open(tmp_path / "lab.sqlite", broken, ScaledClock(T0, 0.0))
    run_in_order(lab, _before(broken, move.id))
    with pytest.raises(FatalError, match="node-c is not a possible owner of group EVS1") as err:
        step(lab.driver(), act(broken, move.id))
    assert err.value.exit_code == 5015


def test_no_possible_owner_to_go_to_is_refused_at_plan_time(tmp_path: Path) -> None:
    with pytest.raises(
        StrategyError, match=r"no node can take group EVS1 \(possible owners: node-a\)"
    ):
        _plan(tmp_path, "[node-a]")


def test_a_possible_owner_list_without_the_owner_is_an_inventory_error(tmp_path: Path) -> None:
    from orchestrator.errors import TopologyError

    with pytest.raises(TopologyError, match="its owner 'node-a' is not one of its possible"):
        _plan(tmp_path, "[node-b, node-c]")


# -- the offline step for a hotfix ------------------------------------------------------------


def test_a_hotfix_takes_the_evs_offline_before_the_move_but_does_not_upgrade_it(
    tmp_path: Path,
) -> None:
    """KB 328839 step 4 (resources offline except IP Address, Physical Disk, Network Name)
    is done for a hotfix too; only step 7 (Upgrade EVS) is skipped."""
    text = (ROOT / "playbooks" / "exchange2003-sp2.yml").read_text(encoding="utf-8")
    assert text.count("kind: service-pack") == 1
    book = tmp_path / "hotfix.yml"
    book.write_text(text.replace("kind: service-pack", "kind: hotfix"), encoding="utf-8")
    plan = plan_from_files(book, ROOT / "inventory" / "exchange2003")
    kinds = [a.kind for a in plan.actions]
    assert "upgrade_virtual_server" not in kinds
    for evs in ("EVS1", "EVS2"):
        offline = [a for a in plan.actions
                   if a.kind == "resources_offline" and a.params["group"] == evs]  # fmt: skip
        online = [a for a in plan.actions
                  if a.kind == "resources_online" and a.params["group"] == evs]  # fmt: skip
        assert offline and online, evs
        assert set(offline[0].params["keep"]) == {"IP Address", "Physical Disk", "Network Name"}
    assert find_violations(plan) == []
    (tmp_path / "run").mkdir()
    out = rehearse(tmp_path / "run", plan)
    assert out.result.status == "done"
    assert_all_serving(out.lab)


# -- services a cluster resource runs --------------------------------------------------------


def test_cluster_services_are_checked_on_the_node_owning_the_group(tmp_path: Path) -> None:
    """On a cluster the Exchange services are resources of the virtual server: the cluster
    runs them on the node that owns it and keeps them stopped elsewhere. The plan checks them
    there; checking them on a node left passive (the mutation) fails in the twin, as it
    would on the real cluster."""
    plan = plan_of("exchange2003-sp2")
    nodes = ("node-a", "node-b", "node-c")
    node_checks = [a for a in plan.actions if a.kind == "verify" and a.host in nodes
                   and a.params.get("check") == "services-running"]  # fmt: skip
    assert {(a.host, a.params["group"]) for a in node_checks} == {
        ("node-b", "EVS1"), ("node-c", "EVS2"),
    }  # fmt: skip
    out = rehearse(tmp_path, plan)
    assert out.result.status == "done"
    check = next(a for a in node_checks if a.params["group"] == "EVS1")
    (tmp_path / "mutant").mkdir()
    broken = _edit(plan, check.id, host="node-a")  # node-a ends without a virtual server
    out = rehearse(tmp_path / "mutant", broken)
    failed = out.actions[check.id]
    assert failed.state == "failed" and "not running on node-a: MSExchangeIS" in failed.message


def test_exchange55_checks_its_services_on_the_active_node_only() -> None:
    plan = plan_of("exchange55")
    checks = [a for a in plan.actions if a.params.get("check") == "services-running"]
    assert [(a.host, a.params["services"]) for a in checks] == [
        ("node-1", ["MSExchangeIS", "MSExchangeMTA", "MSExchangeSA"])
    ]


def test_taking_the_dtc_offline_during_upgrade_evs_is_rejected() -> None:
    plan = plan_of("exchange2003-sp2")
    upgrade = act(plan, "exclu1/node-b/upgrade_virtual_server/EVS1")
    offline = Action(
        "exclu1/node-a/resources_offline/Cluster Group", "resources_offline", "node-a",
        "exclu1", {"group": "Cluster Group", "keep": ["IP Address", "Network Name"]},
        upgrade.after, 60, upgrade.phase, "take the Cluster Group offline",
    )  # fmt: skip
    broken = replace(plan, actions=(*plan.actions, offline))
    found = [v for v in find_violations(broken) if "Distributed Transaction Coordinator" in v]
    assert found and "resources_offline/Cluster Group" in found[0]
    keeps_dtc = replace(
        offline, params={**offline.params, "keep": ["Distributed Transaction Coordinator"]}
    )
    fine = replace(plan, actions=(*plan.actions, keeps_dtc))
    assert not [v for v in find_violations(fine) if "Distributed Transaction" in v]
