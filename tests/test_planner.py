"""Planner: the examples follow their vendor procedures; bad topology/strategy is a clear error."""

from __future__ import annotations

import pytest

from orchestrator.errors import (
    InputError,
    OrderingError,
    SchemaError,
    StrategyError,
    TopologyError,
    UnknownReferenceError,
)
from orchestrator.facts import Cluster, ClusterGroup, Connection, Facts, Host
from orchestrator.inventory import load_inventory
from orchestrator.plan import Plan
from orchestrator.planner import build_plan
from orchestrator.playbook import load_playbook, parse_playbook
from orchestrator.validator import find_violations

from .examples import EXAMPLES, ROOT


def example(name: str) -> Plan:
    inv = load_inventory(ROOT / "inventory" / EXAMPLES[name])
    return build_plan(inv.facts, load_playbook(ROOT / "playbooks" / f"{name}.yml"), inv.sha256)


def cluster_sequence(plan: Plan, cluster: str) -> list[str]:
    """The cluster's group/cluster-service actions as 'kind host [group->to]', in plan order
    (the planner emits a topological order; these are chained, so it is the only order)."""
    keep = {
        "move_group",
        "stop_cluster_service",
        "start_cluster_service",
        "install",
        "resources_offline",
        "resources_online",
        "upgrade_virtual_server",
        "drain_node",
        "resume_node",
    }
    out = []
    for a in plan.actions:
        if a.cluster == cluster and a.kind in keep:
            extra = ""
            if a.kind == "move_group":
                extra = f" {a.params['group']}->{a.params['to_node']}"
            elif "group" in a.params:
                extra = f" {a.params['group']}"
            out.append(f"{a.kind} {a.host}{extra}")
    return out


def ancestors(plan: Plan, action_id: str) -> set[str]:
    by_id = {a.id: a for a in plan.actions}
    seen: set[str] = set()
    stack = list(by_id[action_id].after)
    while stack:
        x = stack.pop()
        if x not in seen:
            seen.add(x)
            stack.extend(by_id[x].after)
    return seen


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_examples_plan_and_validate(name: str) -> None:
    plan = example(name)
    assert find_violations(plan) == []
    assert plan.to_json() == example(name).to_json(), "plans must be byte-identical"


def test_exchange2003_follows_kb_328839() -> None:
    plan = example("exchange2003-sp2")
    assert cluster_sequence(plan, "exclu1") == [
        # passive node-c first; then EVS2 moves in and is upgraded there
        "stop_cluster_service node-c",
        "install node-c",  # KB831464 first (a component with when: before), then reboot
        "install node-c",
        "resources_offline node-b EVS2",
        "start_cluster_service node-c",
        "move_group node-b EVS2->node-c",
        "upgrade_virtual_server node-c EVS2",
        "resources_online node-c EVS2",
        # node-b is now free
        "stop_cluster_service node-b",
        "install node-b",  # KB831464 first (a component with when: before), then reboot
        "install node-b",
        "resources_offline node-a EVS1",
        "start_cluster_service node-b",
        "move_group node-a EVS1->node-b",
        "upgrade_virtual_server node-b EVS1",
        "resources_online node-b EVS1",
        "move_group node-a Cluster Group->node-b",
        # finally node-a, which no longer hosts anything
        "stop_cluster_service node-a",
        "install node-a",  # KB831464 first (a component with when: before), then reboot
        "install node-a",
        "start_cluster_service node-a",
    ]
    kb = plan.action("exclu1/node-c/install/kb831464")
    assert kb.params["package"] == "KB831464"
    assert "exclu1/node-c/reboot/kb831464" in ancestors(plan, "exclu1/node-c/install")
    offline = plan.action("exclu1/node-b/resources_offline/EVS2")
    assert offline.params["keep"] == ["IP Address", "Physical Disk", "Network Name"]
    # front-ends (all at once) before any back-end install
    be_install = ancestors(plan, "be1/install")
    assert {"owa/fe1/install", "owa/fe2/install", "owa/fe3/install"} <= be_install
    for fe in ("fe1", "fe2", "fe3"):
        assert {f"owa/{m}/lb_out" for m in ("fe1", "fe2", "fe3")} <= ancestors(
            plan, f"owa/{fe}/install"
        )
    assert plan.guarantees["pools"] == {"owa": {"mode": "all-at-once"}}
    assert any(d["scope"] == "pool" and d["name"] == "owa" for d in plan.extra["downtime"])


def test_exchange2000_passive_first() -> None:
    plan = example("exchange2000-active-passive")
    seq = cluster_sequence(plan, "exclu2k")
    assert seq[:2] == ["stop_cluster_service node-2", "install node-2"]
    moves = [s for s in seq if s.startswith("move_group")]
    assert moves and all(m.endswith("->node-2") for m in moves)
    assert seq.index(moves[-1]) < seq.index("install node-1")
    assert not any("upgrade_virtual_server" in s for s in seq)
    assert plan.guarantees["clusters"]["exclu2k"]["first"] == "node-2"


def test_exchange2000_active_active_consolidates() -> None:
    seq = cluster_sequence(example("exchange2000-active-active"), "exclu-aa")
    first_install = seq.index("install node-a")
    assert {s for s in seq[:first_install] if s.startswith("move_group")} == {
        "move_group node-a EVS1->node-b",
        "move_group node-a Cluster Group->node-b",
    }
    between = seq[first_install : seq.index("install node-b")]
    assert {s for s in between if s.startswith("move_group")} == {
        "move_group node-b EVS1->node-a",
        "move_group node-b Cluster Group->node-a",
        "move_group node-b EVS2->node-a",
    }


def test_exchange55_active_first_moves_nothing_and_says_users_are_cut_off() -> None:
    plan = example("exchange55")
    seq = cluster_sequence(plan, "ex55")
    assert seq == ["install node-1", "install node-2"]
    downtime = plan.extra["downtime"]
    assert downtime and "users are cut off" in downtime[0]["reason"]


def test_mpweb_rolling_one_at_a_time_with_services() -> None:
    plan = example("mpweb-patch-level")
    kinds = [a.kind for a in plan.actions if a.host == "web1" and a.kind != "preflight"]
    assert kinds == [
        "lb_out",
        "stop_services",
        "install",
        "start_services",
        "verify",
        "verify",
        "lb_in",
    ]
    assert plan.action("mpweb/web1/install").params["level"] == 20
    assert "mpweb/web1/lb_in" in ancestors(plan, "mpweb/web2/lb_out")


def test_contactpro_install_and_remove_orders() -> None:
    def s3(plan: Plan) -> list[str]:
        return [a.kind for a in plan.actions if a.params.get("system") == "contactpro"]

    inst = s3(example("contactpro-hotfix-install"))
    assert inst.index("inactivate_unit") < inst.index("set_mode") < inst.index("add_hotfix_to_base")
    assert inst.index("add_hotfix_to_base") < inst.index("add_hotfix_to_package")
    assert inst[-1] == "save_model"
    rem = s3(example("contactpro-hotfix-remove"))
    assert rem[0] == "set_mode"
    assert rem.index("remove_hotfix_from_package") < rem.index("remove_hotfix_from_base")
    assert rem.index("apply_changes") < rem.index("activate_unit")
    plan = example("contactpro-hotfix-install")
    batches = plan.guarantees["fleets"]["workstations"]["batches"]
    assert [len(b) for b in batches] == [10, 50, 140]
    assert "contactpro/save_model" in ancestors(plan, "workstations/ws001/install")


def test_msde_build_before_apply() -> None:
    plan = example("msde-msp")
    built = ancestors(plan, "sql01/install")
    assert "build/build01/patch" in built
    assert plan.action("sql01/install").params["properties"] == {
        "REINSTALL": "ALL",
        "REINSTALLMODE": "omus",
    }


# -- errors -------------------------------------------------------------------------------


def facts_2node(owners: dict[str, str]) -> Facts:
    nodes = ("n1", "n2")
    hosts = {n: Host(n, "windows", Connection(n, "winrm"), cluster="c") for n in nodes}
    groups = tuple(ClusterGroup(g, o, "exchange-virtual-server") for g, o in owners.items())
    return Facts(hosts, {"c": nodes, "all": nodes}, clusters={"c": Cluster("c", nodes, groups)})


PB = """\
name: t
package: {name: p, kind: service-pack, source: x}
targets: [c]
clusters:
  c: %s
"""

STRATEGY_ERRORS = {
    "passive-first-no-passive": (
        {"G1": "n1", "G2": "n2"},
        "{strategy: passive-first}",
        StrategyError,
        "needs a passive node",
    ),
    "active-first-no-active": ({}, "{strategy: active-first}", StrategyError, "needs an active"),
    "max-out-all-nodes": (
        {"G": "n1"},
        "{strategy: drain, max_out: 2}",
        StrategyError,
        "every node",
    ),
    "one-at-a-time": (
        {"G": "n1"},
        "{strategy: consolidate, max_out: 2}",
        StrategyError,
        "one node",
    ),
    "unknown-node": (
        {"G": "n1"},
        "{strategy: move-off, node_order: [n1, n3]}",
        UnknownReferenceError,
        "not a node",
    ),
    "duplicate-node": (
        {"G": "n1"},
        "{strategy: move-off, node_order: [n1, n1]}",
        OrderingError,
        "twice",
    ),
    "passive-first-wrong-first": (
        {"G": "n1"},
        "{strategy: passive-first, node_order: [n1, n2]}",
        StrategyError,
        "owns groups",
    ),
}


@pytest.mark.parametrize("case", sorted(STRATEGY_ERRORS))
def test_strategy_errors(case: str) -> None:
    owners, policy, error, fragment = STRATEGY_ERRORS[case]
    pb = parse_playbook(PB % policy, "pb.yml")
    with pytest.raises(error, match=fragment) as info:
        build_plan(facts_2node(owners), pb, "")
    assert "pb.yml:" in str(info.value)


REF_ERRORS = {
    "unknown-target": ("targets: [c, nod1]", UnknownReferenceError, "did you mean 'n1'"),
    "unknown-cluster": (
        "targets: [c]\nclusters: {c: {strategy: drain}, cx: {strategy: drain}}",
        UnknownReferenceError,
        "unknown cluster 'cx'",
    ),
    "partial-cluster": (
        "targets: [n1]\nclusters: {c: {strategy: drain}}",
        TopologyError,
        "upgraded whole",
    ),
    "no-strategy": ("targets: [c]", SchemaError, "has no strategy"),
    "unknown-role": (
        "targets: ['role:web']\nclusters: {c: {strategy: drain}}",
        UnknownReferenceError,
        "no host has the role",
    ),
    "tier-cycle": (
        "targets: [c]\nclusters: {c: {strategy: drain}}\ntiers: [[n1], [n2], [n1]]",
        OrderingError,
        "cycle in declared ordering",
    ),
    "cluster-split-across-tiers": (
        "targets: [c]\nclusters: {c: {strategy: drain}}\ntiers: [[n1], [n2]]",
        TopologyError,
        "split across tiers",
    ),
}


@pytest.mark.parametrize("case", sorted(REF_ERRORS))
def test_reference_errors(case: str) -> None:
    tail, error, fragment = REF_ERRORS[case]
    text = "name: t\npackage: {name: p, kind: msi, source: x}\n" + tail + "\n"
    with pytest.raises(error, match=fragment) as info:
        build_plan(facts_2node({"G": "n1"}), parse_playbook(text, "pb.yml"), "")
    assert isinstance(info.value, InputError)
    assert "pb.yml:" in str(info.value)


def test_networkx_view_is_the_plans_dag() -> None:
    import networkx as nx

    from orchestrator.planner._builder import Builder

    b = Builder({}, "msi")
    first = b.add("a", "preflight")
    b.add("b", "install", after=[first])
    b.add("c", "verify", after=["b", first])
    g = b.graph()
    assert nx.is_directed_acyclic_graph(g)
    assert set(g.edges) == {(p, a.id) for a in b.actions() for p in a.after}
    assert list(nx.topological_sort(g)) == [a.id for a in b.actions()]
