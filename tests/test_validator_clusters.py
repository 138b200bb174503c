"""Validator check 4, failover clusters: node spans, installs under a stopped service, group
locations, version skew, virtual-server upgrades and strategies.

Each case is one small edit of a valid sample plan and the message it must produce."""

from __future__ import annotations

import pytest

from orchestrator.validator import find_violations
from tests.test_validator_support import (
    KEEP,
    A,
    Edit,
    add,
    assert_reported,
    drain_plan,
    move_off_plan,
    set_after,
    set_field,
    set_guarantee,
    set_param,
)

CASES = [
    # a. node spans
    pytest.param(
        "move-off",
        set_after("c/stop", "pre"),
        "cluster 'c1': 2 nodes may be out at once (max_out 1): a, c",
        id="missing-edge-two-nodes-out",
    ),
    pytest.param(
        "drain",
        set_after("b/drain"),
        "cluster 'c1': 2 nodes may be out at once (max_out 1): a, b",
        id="two-drains-at-once",
    ),
    # b. installs inside a cluster-service stop or a drain
    pytest.param(
        "move-off",
        set_after("a/install", "a/move/EVS1"),
        "cluster 'c1': 'a/install' on a is neither between a stop_cluster_service and a "
        "start_cluster_service of a nor between a drain_node and a resume_node of a",
        id="install-with-cluster-service-running",
    ),
    pytest.param(
        "drain",
        set_after("a/resume", "a/drain"),
        "'a/install' on a is neither between",
        id="resume-before-install",
    ),
    # c. group locations
    pytest.param(
        "move-off",
        set_after("EVS1/failback", "a/start"),
        "cluster 'c1' group 'EVS1': ambiguous location, moves 'b/move/EVS1' and "
        "'EVS1/failback' are not ordered",
        id="unordered-pair-of-moves",
    ),
    pytest.param(
        "move-off",
        set_field("EVS1/failback", host="b"),
        "cluster 'c1' group 'EVS1': 'EVS1/failback' on b moves it, but it is on a then",
        id="move-from-wrong-node",
    ),
    pytest.param(
        "drain",
        set_param("b/drain", "groups", ["G1", "G2"]),
        "cluster 'c1' group 'G1': 'b/drain' on b moves it, but it is on a then",
        id="drain-lists-group-elsewhere",
    ),
    pytest.param(
        "move-off",
        set_param("a/move/EVS1", "to_node", "zz"),
        "cluster 'c1' group 'EVS1': 'a/move/EVS1' moves it to 'zz', not a cluster node",
        id="move-to-non-node",
    ),
    pytest.param(
        "move-off",
        set_param("EVS1/failback", "group", "EVS9"),
        "cluster 'c1': 'EVS1/failback' moves unknown group 'EVS9'",
        id="move-unknown-group",
    ),
    pytest.param(
        "move-off",
        set_param("EVS1/failback", "group", None),
        "cluster 'c1': 'EVS1/failback' names no group to move",
        id="move-without-group",
    ),
    # d. no group on a node while it is out
    pytest.param(
        "move-off",
        set_after("b/stop", "a/start"),
        "cluster 'c1' group 'EVS1': may be on b while it is out: it stays there from "
        "'a/move/EVS1' until 'b/move/EVS1', and b is out from 'b/stop' to 'b/start'",
        id="group-left-on-node-during-install",
    ),
    pytest.param(
        "drain",
        set_param("a/resume", "failback_groups", []),
        "cluster 'c1' group 'G1': may be on b while it is out: it stays there from 'a/drain' "
        "until the end",
        id="no-failback-then-drain-other-node",
    ),
    pytest.param(
        "passive-first",
        set_after("a/stop", "b/start"),
        "cluster 'c1' group 'EVS1': may be on a while it is out: it stays there from the start "
        "until 'a/move/EVS1'",
        id="active-node-stopped-before-move",
    ),
    # e. never back onto an older node
    pytest.param(
        "move-off",
        set_param("EVS1/failback", "to_node", "c"),
        "cluster 'c1' group 'EVS1': 'EVS1/failback' moves it to c, which is not upgraded before "
        "that move, after it left upgraded node a at 'EVS1/failback' (version skew)",
        id="upgraded-evs-back-to-older-node",
    ),
    pytest.param(
        "drain",
        set_after("b/resume", "b/drain"),
        "cluster 'c1' group 'G2': 'b/resume' moves it to b, which is not upgraded before that "
        "move, after it left upgraded node a at 'b/resume' (version skew)",
        id="failback-before-reboot",
    ),
    # f. upgrade_virtual_server
    pytest.param(
        "active-first",
        set_after("EVS1/offline"),
        "cluster 'c1' group 'EVS1': 'EVS1/upgrade' on a is not after the node's installs "
        "('a/install')",
        id="evs-upgrade-before-node-install",
    ),
    pytest.param(
        "move-off",
        set_field("EVS1/upgrade", host="b"),
        "cluster 'c1' group 'EVS1': 'EVS1/upgrade' on b, but the group is on a then",
        id="evs-upgrade-on-wrong-node",
    ),
    pytest.param(
        "move-off",
        set_after("EVS1/upgrade", "a/start"),
        "cluster 'c1' group 'EVS1': location at 'EVS1/upgrade' is not determined, "
        "'b/move/EVS1' is not ordered with it",
        id="evs-upgrade-location-undetermined",
    ),
    pytest.param(
        "move-off",
        set_param("EVS1/offline", "keep", [*KEEP, "System Attendant"]),
        "cluster 'c1' group 'EVS1': 'EVS1/upgrade' is not after a resources_offline of the group "
        "keeping only IP Address, Network Name, Physical Disk online",
        id="system-attendant-still-online",
    ),
    pytest.param(
        "move-off",
        set_after("EVS1/online", "b/move/EVS1"),
        "cluster 'c1' group 'EVS1': 'EVS1/upgrade' is not before a resources_online of the group",
        id="resources-online-too-early",
    ),
    pytest.param(
        "move-off",
        add(A("EVS9/upgrade", "upgrade_virtual_server", "a", "b/start", "c1", group="EVS9")),
        "cluster 'c1': 'EVS9/upgrade' upgrades an unknown group",
        id="evs-upgrade-unknown-group",
    ),
    # g. active-first
    pytest.param(
        "move-off",
        set_guarantee("clusters.c1", {"strategy": "active-first", "max_out": 1, "first": "a"}),
        "cluster 'c1' (active-first): must not move or drain groups, but has 'a/move/EVS1', "
        "'b/move/EVS1', 'EVS1/failback'",
        id="move-under-active-first",
    ),
    pytest.param(
        "active-first",
        add(A("a/move/EVS1", "move_group", "a", "b/start", "c1", group="EVS1", to_node="b")),
        "cluster 'c1' (active-first): must not move or drain groups, but has 'a/move/EVS1'",
        id="failover-after-active-first",
    ),
    pytest.param(
        "active-first",
        set_guarantee("clusters.c1.first", "b"),
        "cluster 'c1' (active-first): node a may go out ('a/install') before first node b is "
        "installed ('b/install')",
        id="first-node-not-first",
    ),
    pytest.param(
        "active-first",
        set_guarantee("clusters.c1", {"strategy": "active-first", "max_out": 1}),
        "cluster 'c1' (active-first): guarantees.clusters['c1'].first is required",
        id="first-missing",
    ),
    # h. passive-first / consolidate
    pytest.param(
        "passive-first",
        set_guarantee("clusters.c1.first", "a"),
        "cluster 'c1' (passive-first): first node a is not passive, it owns EVS1",
        id="passive-first-node-owns-group",
    ),
    pytest.param(
        "consolidate",
        set_guarantee("clusters.c1.first", "q"),
        "cluster 'c1' (consolidate): first node 'q' is not a node of the cluster",
        id="consolidate-first-not-a-node",
    ),
    pytest.param(
        "consolidate",
        set_after("b/stop", "b/move/EVS1"),
        "cluster 'c1' group 'EVS2': may be on b while it is out",
        id="consolidate-evs2-left-behind",
    ),
    pytest.param(
        "move-off",
        set_guarantee("clusters.c1.strategy", "yolo"),
        "cluster 'c1': unknown strategy 'yolo'",
        id="unknown-strategy",
    ),
    pytest.param(
        "move-off",
        set_guarantee("clusters.c9", {"strategy": "move-off", "max_out": 1}),
        "cluster 'c9' has a guarantee but is not in facts.clusters",
        id="unknown-cluster-guarantee",
    ),
]


@pytest.mark.parametrize(("sample", "edit", "expected"), CASES)
def test_broken_plan_is_reported(sample: str, edit: Edit, expected: str) -> None:
    assert_reported(sample, edit, expected)


def test_active_first_may_keep_groups_on_the_node_being_upgraded() -> None:
    # the same edit that breaks move-off (group on b during b's span) is fine under
    # active-first, where staying online on the upgraded node is the procedure
    plan = set_guarantee("clusters.c1.strategy", "active-first")(
        set_guarantee("clusters.c1.first", "a")(drain_plan())
    )
    violations = find_violations(plan)
    assert violations == [
        "cluster 'c1' (active-first): must not move or drain groups, but has 'a/drain', 'b/drain'"
    ]


def test_max_out_two_allows_two_nodes_out() -> None:
    plan = set_guarantee("clusters.c1.max_out", 2)(set_after("c/stop", "pre")(move_off_plan()))
    assert find_violations(plan) == []
