"""Helpers for the validator tests: compact plan building, one-edit mutations, sample plans.

Every sample plan here is valid; the tests break each one with a single small edit (drop an
edge, change a param or a field, add one action) and expect the validator to name the problem.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from orchestrator.plan import Action, Plan

KEEP = ["IP Address", "Physical Disk", "Network Name"]
Edit = Callable[[Plan], Plan]


def A(
    action_id: str,
    kind: str,
    host: str | None = None,
    after: str = "",
    cluster: str | None = None,
    **params: Any,
) -> Action:
    """One action; ``after`` is a space-separated list of ids."""
    return Action(action_id, kind, host, cluster, params, tuple(after.split()), 1)


def make_plan(
    actions: Iterable[Action],
    hosts: Iterable[str] = (),
    clusters: Mapping[str, tuple[Sequence[str], Mapping[str, str]]] | None = None,
    pools: Mapping[str, Sequence[str]] | None = None,
    guarantees: Mapping[str, Any] | None = None,
) -> Plan:
    """A plan; ``clusters`` maps name -> (nodes, {group: owner}), ``pools`` name -> members."""
    clusters = clusters or {}
    pools = pools or {}
    names = set(hosts)
    for nodes, _ in clusters.values():
        names.update(nodes)
    for members in pools.values():
        names.update(members)
    facts = {
        "hosts": {h: {"platform": "windows", "roles": []} for h in sorted(names)},
        "clusters": {
            c: {
                "kind": "windows-failover",
                "nodes": list(nodes),
                "groups": {
                    g: {"owner": o, "kind": "exchange-virtual-server"} for g, o in groups.items()
                },
            }
            for c, (nodes, groups) in clusters.items()
        },
        "pools": {p: {"members": list(m), "mode": "rolling"} for p, m in pools.items()},
    }
    return Plan(
        playbook={"name": "test"},
        inventory={},
        facts=facts,
        actions=tuple(actions),
        guarantees=dict(guarantees or {}),
        estimate={},
    )


# --- one-edit mutations -------------------------------------------------------------------


def _map(plan: Plan, action_id: str, change: Callable[[Action], Action]) -> Plan:
    assert any(a.id == action_id for a in plan.actions), action_id
    acts = tuple(change(a) if a.id == action_id else a for a in plan.actions)
    return dataclasses.replace(plan, actions=acts)


def set_after(action_id: str, after: str = "") -> Edit:
    """Replace the ``after`` list of one action."""
    return lambda p: _map(
        p, action_id, lambda a: dataclasses.replace(a, after=tuple(after.split()))
    )


def drop_edge(action_id: str, dep: str) -> Edit:
    """Remove one id from an action's ``after``."""

    def edit(p: Plan) -> Plan:
        a = p.action(action_id)
        assert dep in a.after, (action_id, dep)
        return set_after(action_id, " ".join(x for x in a.after if x != dep))(p)

    return edit


def set_param(action_id: str, key: str, value: Any) -> Edit:
    """Change (or add) one param of one action."""
    return lambda p: _map(
        p, action_id, lambda a: dataclasses.replace(a, params={**a.params, key: value})
    )


def set_field(action_id: str, **fields: Any) -> Edit:
    """Change a field (``host``, ``kind``, ``cluster``, ``id``) of one action."""
    return lambda p: _map(p, action_id, lambda a: dataclasses.replace(a, **fields))


def add(action: Action) -> Edit:
    """Append one action."""
    return lambda p: dataclasses.replace(p, actions=(*p.actions, action))


def set_guarantee(path: str, value: Any) -> Edit:
    """Set ``guarantees[k1][k2]...`` (dotted path) to ``value``."""

    def edit(p: Plan) -> Plan:
        g: dict[str, Any] = _deepcopy(p.guarantees)
        *parents, last = path.split(".")
        node = g
        for k in parents:
            node = node[k]
        node[last] = value
        return dataclasses.replace(p, guarantees=g)

    return edit


def _deepcopy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _deepcopy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deepcopy(v) for v in value]
    return value


# --- sample valid plans ------------------------------------------------------------------


def host_chain(h: str, after: str) -> list[Action]:
    """Preflight, stop interfering services, install, reboot, start services, verify."""
    return [
        A(f"{h}/pre", "preflight", h, after, check="disk", gate="host"),
        A(f"{h}/stop", "stop_services", h, f"{h}/pre", services=["av"], purpose="interfering"),
        A(f"{h}/install", "install", h, f"{h}/stop", package="SP2", version="6.5.7638"),
        A(f"{h}/reboot", "reboot", h, f"{h}/install", reason="policy"),
        A(f"{h}/start", "start_services", h, f"{h}/reboot", services=["av"], purpose="interfering"),
        A(f"{h}/verify", "verify", h, f"{h}/start", check="version"),
    ]


def tiers_plan() -> Plan:
    """Front-ends fe1, fe2 (tier 1) before back-end be1 (tier 2), behind a run-wide backup."""
    acts = [A("pre", "preflight", None, check="backup", gate="run")]
    acts += host_chain("fe1", "pre") + host_chain("fe2", "pre")
    acts.append(A("tier1/done", "barrier", None, "fe1/verify fe2/verify", name="tier 1"))
    acts += host_chain("be1", "tier1/done")
    return make_plan(
        acts, hosts=["fe1", "fe2", "be1"], guarantees={"tiers": [["fe1", "fe2"], ["be1"]]}
    )


def pool_all_at_once_plan() -> Plan:
    """fe1, fe2 leave rotation together, are upgraded, come back together."""
    acts = []
    for h in ("fe1", "fe2"):
        acts.append(A(f"{h}/out", "lb_out", h, pool="owa"))
    for h in ("fe1", "fe2"):
        acts.append(A(f"{h}/install", "install", h, "fe1/out fe2/out", package="SP2"))
        acts.append(A(f"{h}/reboot", "reboot", h, f"{h}/install"))
    for h in ("fe1", "fe2"):
        acts.append(A(f"{h}/in", "lb_in", h, "fe1/reboot fe2/reboot", pool="owa"))
    return make_plan(
        acts, pools={"owa": ["fe1", "fe2"]}, guarantees={"pools": {"owa": {"mode": "all-at-once"}}}
    )


def pool_rolling_plan(max_out: int = 1) -> Plan:
    """fe1, fe2, fe3 one after the other."""
    acts: list[Action] = []
    prev = ""
    for h in ("fe1", "fe2", "fe3"):
        acts += [
            A(f"{h}/out", "lb_out", h, prev, pool="web"),
            A(f"{h}/install", "install", h, f"{h}/out", package="SP2"),
            A(f"{h}/reboot", "reboot", h, f"{h}/install"),
            A(f"{h}/in", "lb_in", h, f"{h}/reboot", pool="web"),
        ]
        prev = f"{h}/in"
    members = ["fe1", "fe2", "fe3"]
    g = {"pools": {"web": {"mode": "rolling", "max_out": max_out}}}
    return make_plan(acts, pools={"web": members}, guarantees=g)


def node_upgrade(n: str, after: str, c: str = "c1") -> list[Action]:
    """Stop the cluster service, install, reboot, start it again."""
    return [
        A(f"{n}/stop", "stop_cluster_service", n, after, c),
        A(f"{n}/install", "install", n, f"{n}/stop", c, package="SP2"),
        A(f"{n}/reboot", "reboot", n, f"{n}/install", c),
        A(f"{n}/start", "start_cluster_service", n, f"{n}/reboot", c),
    ]


def move_off_plan() -> Plan:
    """Exchange 2003, nodes a, b, c; EVS1 on a moves to b, comes back to upgraded a, later
    fails over to upgraded b; one node out at a time."""
    acts = [A("pre", "preflight", None, check="backup", gate="run")]
    acts.append(A("a/move/EVS1", "move_group", "a", "pre", "c1", group="EVS1", to_node="b"))
    acts += node_upgrade("a", "a/move/EVS1")
    acts += [
        A("EVS1/offline", "resources_offline", "b", "a/start", "c1", group="EVS1", keep=KEEP),
        A("b/move/EVS1", "move_group", "b", "EVS1/offline", "c1", group="EVS1", to_node="a"),
        A("EVS1/upgrade", "upgrade_virtual_server", "a", "b/move/EVS1", "c1", group="EVS1"),
        A("EVS1/online", "resources_online", "a", "EVS1/upgrade", "c1", group="EVS1"),
    ]
    acts += node_upgrade("b", "b/move/EVS1")
    acts.append(
        A(
            "EVS1/failback",
            "move_group",
            "a",
            "b/start EVS1/online",
            "c1",
            group="EVS1",
            to_node="b",
        )
    )
    acts += node_upgrade("c", "b/start")
    acts.append(A("verify", "verify", None, "c/start EVS1/failback", check="failover"))
    g = {"clusters": {"c1": {"strategy": "move-off", "max_out": 1}}}
    return make_plan(acts, clusters={"c1": (["a", "b", "c"], {"EVS1": "a"})}, guarantees=g)


def active_first_plan() -> Plan:
    """Exchange 5.5: install on the active node a first, no failover; then the passive b."""
    acts = [
        A("a/install", "install", "a", "", "c1", package="SP4"),
        A("a/reboot", "reboot", "a", "a/install", "c1"),
        A("EVS1/offline", "resources_offline", "a", "a/reboot", "c1", group="EVS1", keep=KEEP),
        A("EVS1/upgrade", "upgrade_virtual_server", "a", "EVS1/offline", "c1", group="EVS1"),
        A("EVS1/online", "resources_online", "a", "EVS1/upgrade", "c1", group="EVS1"),
    ]
    acts += node_upgrade("b", "a/reboot EVS1/online")
    g = {"clusters": {"c1": {"strategy": "active-first", "max_out": 1, "first": "a"}}}
    return make_plan(acts, clusters={"c1": (["a", "b"], {"EVS1": "a"})}, guarantees=g)


def passive_first_plan() -> Plan:
    """Exchange 2000 active/passive: passive b first, move EVS1 over, then a."""
    acts = node_upgrade("b", "")
    acts.append(A("a/move/EVS1", "move_group", "a", "b/start", "c1", group="EVS1", to_node="b"))
    acts += node_upgrade("a", "a/move/EVS1")
    g = {"clusters": {"c1": {"strategy": "passive-first", "max_out": 1, "first": "b"}}}
    return make_plan(acts, clusters={"c1": (["a", "b"], {"EVS1": "a"})}, guarantees=g)


def consolidate_plan() -> Plan:
    """Exchange 2000 active/active: everything to b, upgrade a, everything to a, upgrade b."""
    acts = [A("a/move/EVS1", "move_group", "a", "", "c1", group="EVS1", to_node="b")]
    acts += node_upgrade("a", "a/move/EVS1")
    acts += [
        A("b/move/EVS1", "move_group", "b", "a/start", "c1", group="EVS1", to_node="a"),
        A("b/move/EVS2", "move_group", "b", "a/start", "c1", group="EVS2", to_node="a"),
    ]
    acts += node_upgrade("b", "b/move/EVS1 b/move/EVS2")
    g = {"clusters": {"c1": {"strategy": "consolidate", "max_out": 1, "first": "a"}}}
    return make_plan(acts, clusters={"c1": (["a", "b"], {"EVS1": "a", "EVS2": "b"})}, guarantees=g)


def drain_plan() -> Plan:
    """Drain a (G1 to b), upgrade, resume with failback; the same for b (G2 to a)."""
    acts = [
        A("a/drain", "drain_node", "a", "", "c1", groups=["G1"], to_node="b"),
        A("a/install", "install", "a", "a/drain", "c1", package="KB1"),
        A("a/reboot", "reboot", "a", "a/install", "c1"),
        A("a/resume", "resume_node", "a", "a/reboot", "c1", failback=True, failback_groups=["G1"]),
        A("b/drain", "drain_node", "b", "a/resume", "c1", groups=["G2"], to_node="a"),
        A("b/install", "install", "b", "b/drain", "c1", package="KB1"),
        A("b/reboot", "reboot", "b", "b/install", "c1"),
        A("b/resume", "resume_node", "b", "b/reboot", "c1", failback=True, failback_groups=["G2"]),
    ]
    g = {"clusters": {"c1": {"strategy": "drain", "max_out": 1}}}
    return make_plan(acts, clusters={"c1": (["a", "b"], {"G1": "a", "G2": "b"})}, guarantees=g)


def s3_install_plan() -> Plan:
    """Install hotfix HF1 on units u1, u2 of system cc (scenario S3)."""

    def s(action_id: str, kind: str, after: str = "", **params: Any) -> Action:
        return A(action_id, kind, "adm", after, system="cc", **params)

    acts = [
        s("u1/off", "inactivate_unit", unit="u1"),
        s("u2/off", "inactivate_unit", unit="u2"),
        s("deploy", "set_mode", "u1/off u2/off", mode="deployment"),
        s("base/add", "add_hotfix_to_base", "deploy", hotfix="HF1", base="bp1"),
        s("refresh", "refresh_nodes", "base/add"),
        s("u1/add", "add_hotfix_to_package", "refresh", unit="u1", package="p1", hotfix="HF1"),
        s("u2/add", "add_hotfix_to_package", "refresh", unit="u2", package="p2", hotfix="HF1"),
        s("sync", "synchronize_instances", "u1/add u2/add"),
        s("apply", "apply_changes", "sync"),
        s("monitor", "set_mode", "apply", mode="monitoring"),
        s("u1/on", "activate_unit", "monitor", unit="u1"),
        s("u2/on", "activate_unit", "monitor", unit="u2"),
        s("save", "save_model", "u1/on u2/on"),
    ]
    return make_plan(acts, hosts=["adm"])


def s3_remove_plan() -> Plan:
    """Remove hotfix HF1 from unit u1 of system cc (scenario S3, reverse)."""

    def s(action_id: str, kind: str, after: str = "", **params: Any) -> Action:
        return A(action_id, kind, "adm", after, system="cc", **params)

    acts = [
        s("deploy", "set_mode", mode="deployment"),
        s("u1/off", "inactivate_unit", "deploy", unit="u1"),
        s("u1/rm", "remove_hotfix_from_package", "u1/off", unit="u1", package="p1", hotfix="HF1"),
        s("sync", "synchronize_instances", "u1/rm"),
        s("base/rm", "remove_hotfix_from_base", "sync", hotfix="HF1", base="bp1"),
        s("apply", "apply_changes", "sync base/rm"),
        s("u1/on", "activate_unit", "apply", unit="u1"),
        s("monitor", "set_mode", "u1/on", mode="monitoring"),
    ]
    return make_plan(acts, hosts=["adm"])


def s4_plan() -> Plan:
    """Build sample.msp on bh, then apply it on h1 (scenario S4)."""
    acts = [
        A("build/prepare", "build_prepare", "bh"),
        A("build/admin", "build_admin_image", "bh", "build/prepare"),
        A("build/pcp", "build_pcp", "bh", "build/admin"),
        A("build/patch", "build_patch", "bh", "build/pcp", output="sample.msp"),
        A("h1/install", "install", "h1", "build/patch", package="sample.msp"),
    ]
    return make_plan(acts, hosts=["bh", "h1"])


def fleet_plan() -> Plan:
    """Workstations in two batches of two."""
    acts = [A(f"ws{i}/install", "install", f"ws{i}", "", package="client.msi") for i in (1, 2)]
    acts.append(A("batch1/done", "barrier", None, "ws1/install ws2/install", name="batch 1"))
    acts += [
        A(f"ws{i}/install", "install", f"ws{i}", "batch1/done", package="c.msi") for i in (3, 4)
    ]
    g = {"fleets": {"clients": {"batches": [["ws1", "ws2"], ["ws3", "ws4"]]}}}
    return make_plan(acts, hosts=[f"ws{i}" for i in range(1, 5)], guarantees=g)


SAMPLES: dict[str, Callable[[], Plan]] = {
    "tiers": tiers_plan,
    "pool-all-at-once": pool_all_at_once_plan,
    "pool-rolling": pool_rolling_plan,
    "move-off": move_off_plan,
    "active-first": active_first_plan,
    "passive-first": passive_first_plan,
    "consolidate": consolidate_plan,
    "drain": drain_plan,
    "s3-install": s3_install_plan,
    "s3-remove": s3_remove_plan,
    "s4": s4_plan,
    "fleet": fleet_plan,
}


def synthetic_plan(hosts: int, tiers: int = 4, chain: int = 8) -> Plan:
    """A big valid plan: ``hosts`` independent chains of ``chain`` actions, split into tiers
    joined by barriers, after one run-wide preflight (the benchmark shape)."""
    acts = [A("pre", "preflight", None, check="backup", gate="run")]
    names = [f"h{i:05d}" for i in range(hosts)]
    per_tier = -(-hosts // tiers)
    tier_lists = [names[t * per_tier : (t + 1) * per_tier] for t in range(tiers)]
    prev = "pre"
    for t, members in enumerate(tier_lists):
        ends = []
        for h in members:
            chain_acts = host_chain(h, prev)
            for k in range(chain - len(chain_acts)):
                last = chain_acts[-1].id
                chain_acts.append(A(f"{h}/hook{k}", "hook", h, last, stage="post", name="x"))
            acts += chain_acts
            ends.append(chain_acts[-1].id)
        acts.append(A(f"tier{t}/done", "barrier", None, " ".join(ends), name=f"tier {t}"))
        prev = f"tier{t}/done"
    return make_plan(acts, hosts=names, guarantees={"tiers": tier_lists})


def assert_reported(sample: str, edit: Edit, expected: str) -> list[str]:
    """The sample passes, the one-edit variant differs from it and is reported with a message
    containing ``expected``; returns the messages."""
    from orchestrator.validator import find_violations

    base = SAMPLES[sample]()
    assert find_violations(base) == [], "the unedited sample must be valid"
    broken = edit(base)
    assert broken != base, "the edit must change the plan"
    violations = find_violations(broken)
    assert any(expected in v for v in violations), violations
    return violations
