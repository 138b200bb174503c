"""Pools, clusters, systems and fleets: the example inventories and the less common forms."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.facts import Cluster, ClusterGroup, Facts, Fleet, Pool, SoftwarePackage
from orchestrator.inventory import load_inventory

FIXTURES = Path(__file__).parent / "fixtures" / "inventory"
EXAMPLES = Path(__file__).parent.parent / "inventory"


def example(name: str) -> Facts:
    directory = EXAMPLES / name
    (file,) = [p for p in directory.iterdir() if p.is_file()]
    return load_inventory(file).facts


@pytest.fixture(scope="module")
def topology() -> Facts:
    return load_inventory(FIXTURES / "topology" / "hosts.yml").facts


def test_exchange2003() -> None:
    facts = example("exchange2003")
    assert facts.pools == {"owa": Pool("owa", ("fe1", "fe2", "fe3"), "all-at-once", 1)}
    assert facts.groups["frontends"] == ("fe1", "fe2", "fe3")
    assert facts.groups["backends"] == ("be1", "be2")
    assert facts.groups["exchange"] == (
        *("fe1", "fe2", "fe3", "be1", "be2"),
        *("node-a", "node-b", "node-c"),
    )
    cluster = facts.clusters["exclu1"]
    assert cluster.nodes == ("node-a", "node-b", "node-c")
    assert [(g.name, g.kind, g.owner, g.preferred_owners) for g in cluster.groups] == [
        ("EVS1", "exchange-virtual-server", "node-a", ("node-a", "node-b")),
        ("EVS2", "exchange-virtual-server", "node-b", ("node-b", "node-c")),
        ("Cluster Group", "cluster-group", "node-a", ("node-a", "node-b", "node-c")),
    ]
    evs1_types = {r.type for r in cluster.group("EVS1").resources}
    assert {
        "IP Address",
        "Network Name",
        "Physical Disk",
        "Exchange System Attendant",
    } <= evs1_types
    assert "Exchange Information Store Instance" in evs1_types
    cluster_group_types = {r.type for r in cluster.group("Cluster Group").resources}
    assert "Distributed Transaction Coordinator" in cluster_group_types
    for host in facts.hosts.values():
        assert host.platform == "windows"
        assert host.connection.kind == "winrm" and host.connection.winrm_transport == "ntlm"
        assert host.connection.address.startswith("192.0.2.")
    assert facts.hosts["fe2"].pool == "owa" and facts.hosts["fe2"].cluster is None
    assert facts.hosts["node-b"].cluster == "exclu1" and facts.hosts["node-b"].pool is None


def test_exchange2000_active_passive() -> None:
    facts = example("exchange2000-ap")
    cluster = facts.clusters["exclu2k"]
    assert cluster.nodes == ("node-1", "node-2")
    assert {g.name for g in cluster.owned_by("node-1")} == {"EVS1", "Cluster Group"}
    assert cluster.owned_by("node-2") == []
    assert facts.groups["frontends"] == ("fe1", "fe2")
    assert facts.pools["fe_pool"].mode == "rolling"


def test_exchange2000_active_active() -> None:
    cluster = example("exchange2000-aa").clusters["exclu-aa"]
    assert cluster.nodes == ("node-a", "node-b")
    assert {g.name for g in cluster.owned_by("node-a")} == {"EVS1", "Cluster Group"}
    assert [g.name for g in cluster.owned_by("node-b")] == ["EVS2"]


def test_exchange55_ini_with_group_vars() -> None:
    facts = example("exchange55")
    cluster = facts.clusters["ex55"]
    assert cluster.nodes == ("node-1", "node-2")
    assert [(g.name, g.kind, g.owner) for g in cluster.groups] == [
        ("Exchange 5.5", "generic", "node-1")
    ]
    assert facts.hosts["node-2"].connection.port == 5986


def test_mpweb() -> None:
    facts = example("mpweb")
    assert facts.pools == {"mpweb": Pool("mpweb", ("web1", "web2", "web3"), "rolling", 1)}
    assert {h.platform for h in facts.hosts.values()} == {"windows"}


def test_contactpro() -> None:
    facts = example("contactpro")
    system = facts.systems["contactpro"]
    assert system.nodes == ("hac1", "hac2", "hac3", "hac4")
    assert system.admin_host == "hac1" and system.base_installations == ("SP07",)
    assert [(u.name, u.nodes, [p.name for p in u.packages]) for u in system.units] == [
        ("VU_CORE", ("hac1", "hac2"), ["CORE"]),
        ("VU_CHAT", ("hac2", "hac3"), ["CHAT", "CHAT_GW"]),
        ("VU_REPORT", ("hac3", "hac4"), ["REPORT"]),
    ]
    fleet = facts.fleets["workstations"]
    assert len(fleet.members) == 200
    assert fleet.members[0] == "ws001" and fleet.members[-1] == "ws200"
    assert fleet.serial == (10, "25%", "100%")
    assert facts.hosts["ws042"].fleet == "workstations"
    assert facts.hosts["ws042"].platform == "windows"
    assert facts.hosts["hac3"].system == "contactpro"


def test_msde() -> None:
    facts = example("msde")
    assert facts.groups["build"] == ("build01",)
    assert facts.groups["msde"] == ("sql01", "sql02", "sql03")
    assert not (facts.pools or facts.clusters or facts.systems or facts.fleets)


def test_pool_defaults_and_members_through_children(topology: Facts) -> None:
    assert topology.pools["lb"] == Pool("lb", ("e1", "e2", "w1"), "rolling", 1)
    assert "lb_east" not in topology.pools  # structures are not inherited by child groups
    assert topology.hosts["e1"].pool == "lb"


def test_cluster_explicit_order_and_defaults(topology: Facts) -> None:
    assert topology.clusters["quorum"] == Cluster(
        "quorum",
        ("q3", "q1", "q2"),
        (
            ClusterGroup("G1", "q3"),
            ClusterGroup("G2", "q1", "cluster-group", ("q1", "q2")),
        ),
    )
    assert topology.clusters["plain_cluster"] == Cluster("plain_cluster", ("p1", "p2"))


def test_system_package_shorthand(topology: Facts) -> None:
    system = topology.systems["cc"]
    assert system.kind == "contact-center" and system.admin_host is None
    assert system.units[0].packages == (
        SoftwarePackage("P1", "SP06"),
        SoftwarePackage("P2", "SP07"),
    )


@pytest.mark.parametrize(
    ("fleet", "serial"), [("fleet_one", (2,)), ("fleet_pct", ("50%",)), ("fleet_default", ())]
)
def test_fleet_serial_forms(topology: Facts, fleet: str, serial: tuple[int | str, ...]) -> None:
    assert topology.fleets[fleet].serial == serial


def test_fleet_members(topology: Facts) -> None:
    assert topology.fleets["fleet_one"] == Fleet("fleet_one", ("f1", "f2", "f3"), (2,))


def test_structures_from_ini_group_vars_strings(tmp_path: Path) -> None:
    (tmp_path / "hosts.ini").write_text(
        "[web]\nweb[1:3]\n\n[web:vars]\norchestrator_pool={mode: all-at-once}\n"
        "orchestrator_roles=web, frontend\n"
    )
    facts = load_inventory(tmp_path / "hosts.ini").facts
    assert facts.pools["web"].mode == "all-at-once"
    assert facts.hosts["web2"].roles == ("web", "frontend")


def test_facts_render_into_the_plan_contract() -> None:
    facts = example("exchange2003")
    contract = facts.to_contract(["fe1", "node-a"])
    assert contract["pools"]["owa"]["members"] == ["fe1", "fe2", "fe3"]
    assert contract["clusters"]["exclu1"]["groups"]["EVS2"]["owner"] == "node-b"
    json.dumps(contract)
