"""The planner: facts + playbook → :class:`~orchestrator.plan.Plan`, a pure function.

Phases, in order: preflight (nothing changes until every run-gated check passes), the patch
build (S4), the model-based hotfix (S3), then one phase per tier. Inside a tier, clusters,
pools, fleets and standalone hosts are independent branches of the DAG, so the engine may run
them in parallel; all safety ordering is expressed as DAG edges.
"""

from __future__ import annotations

from ..errors import Location, SchemaError, StrategyError, TopologyError, UnknownReferenceError
from ..estimate import DEFAULT_FORKS
from ..facts import Facts
from ..plan import Plan
from ..playbook import Playbook
from ..schema import did_you_mean
from ..service_names import service_name_problem
from ._builder import Builder, Ids, ids
from ._cluster import ClusterPlan
from ._host import Context, check_params, slug
from ._procedures import model_hotfix, msp_build
from ._select import compute_tiers, resolve_all
from ._summary import finish_plan
from ._units import plan_fleet, plan_pool, plan_standalone, pool_policy

__all__ = ["build_plan"]


def build_plan(
    facts: Facts, pb: Playbook, inventory_sha256: str, forks: int = DEFAULT_FORKS
) -> Plan:
    """Plan ``pb`` against ``facts``, estimating the run on ``forks`` forks (as ``apply
    --forks``). Raises an InputError subclass for bad input."""
    b = Builder(pb.estimates, pb.package.kind if pb.package else None)
    targets = resolve_all(pb.targets, facts) if pb.targets else []
    if pb.package is not None and not targets:
        raise SchemaError("`targets` selects no host", pb.targets[0].where)
    _check_references(pb, facts, targets)
    ctx = Context(b, pb, facts, targets)
    phases: list[dict[str, str]] = []

    def phase(name: str, title: str) -> None:
        b.phase = name
        phases.append({"name": name, "title": title})

    phase("preflight", "Preflight checks: nothing changes until every one of them passes")
    entry = _preflight(ctx)
    if pb.build is not None:
        phase("build", f"Build the patch {pb.build['output']} on {pb.build['host']}")
        entry = msp_build(b, pb, facts, entry)
    if pb.model_hotfix is not None:
        mh = pb.model_hotfix
        phase(
            "model-hotfix",
            f"{mh['operation'].capitalize()} hotfix {mh['hotfix']} through the "
            f"system model of {mh['system']}",
        )
        entry = model_hotfix(b, pb, facts, entry, ctx.outages)
    tiers, tier_note = compute_tiers(pb, facts, targets) if targets else ([], "")
    cluster_plans: dict[str, ClusterPlan] = {}
    batches: dict[str, list[list[str]]] = {}
    for i, tier in enumerate(tiers, 1):
        phase(f"tier-{i}", f"Tier {i}: {_describe(facts, tier)}")
        exits = _plan_tier(ctx, tier, entry, cluster_plans, batches)
        entry = (
            b.barrier(f"tier-{i}/done", f"Tier {i} complete", exits) if i < len(tiers) else exits
        )
    notes = [tier_note] if tier_note else []
    plan = finish_plan(ctx, inventory_sha256, phases, tiers, cluster_plans, batches, notes, forks)
    _check_service_names(plan, facts, pb)
    return plan


def _check_service_names(plan: Plan, facts: Facts, pb: Playbook) -> None:
    """Service names that reach a host must be names on its platform (docs/playbook.md)."""
    for action in plan.actions:
        host = facts.hosts.get(action.host) if action.host else None
        if host is None or "services" not in action.params:
            continue
        for name in action.params["services"]:
            problem = service_name_problem(name, host.platform)
            if problem:
                raise SchemaError(
                    f"service {name!r} cannot be used on {host.platform} host {host.name}: "
                    f"{problem}",
                    pb.service_where.get(name, Location(pb.path)),
                )


def _check_references(pb: Playbook, facts: Facts, targets: list[str]) -> None:
    target_set = set(targets)
    for name, (_mode, _max_out, where) in pb.pools.items():
        if name not in facts.pools:
            raise UnknownReferenceError(
                f"unknown pool {name!r}{did_you_mean(name, list(facts.pools))}", where
            )
    for name, policy in pb.clusters.items():
        if name not in facts.clusters:
            raise UnknownReferenceError(
                f"unknown cluster {name!r}{did_you_mean(name, list(facts.clusters))}", policy.where
            )
    for name, (_, where) in pb.fleets.items():
        if name not in facts.fleets:
            raise UnknownReferenceError(
                f"unknown fleet {name!r}{did_you_mean(name, list(facts.fleets))}", where
            )
    for cluster in facts.clusters.values():
        hit = [n for n in cluster.nodes if n in target_set]
        if not hit:
            continue
        where = pb.targets[0].where
        missing = [n for n in cluster.nodes if n not in target_set]
        if missing:
            raise TopologyError(
                f"cluster {cluster.name}: {', '.join(missing)} not targeted; a cluster is upgraded "
                "whole (a group must never move back to an older node)",
                where,
            )
        if cluster.name not in pb.clusters and pb.cluster_default is None:
            raise SchemaError(
                f"cluster {cluster.name} is targeted but has no strategy: add clusters: "
                f"{{{cluster.name}: {{strategy: STRATEGY}}}} with a STRATEGY of "
                "move-off|passive-first|consolidate|active-first|drain, "
                "or a cluster_default",
                where,
            )
    for h in targets:
        host = facts.hosts[h]
        if host.cluster and host.pool:
            raise TopologyError(
                f"{h} is both in cluster {host.cluster} and pool {host.pool}: not supported",
                pb.targets[0].where,
            )


def _preflight(ctx: Context) -> Ids:
    b, pb = ctx.b, ctx.pb
    out: list[str] = []
    for statement in pb.acknowledge:
        out.append(
            b.add(
                f"preflight/acknowledged/{slug(statement)}",
                "preflight",
                params={"check": "acknowledged", "statement": statement, "gate": "run"},
                title=f"Operator acknowledged: {statement}",
            )
        )
    for c in pb.preflight:
        if c.gate != "run":
            continue
        for h in ctx.targets:
            if ctx.applies(c, h):
                out.append(
                    b.add(
                        f"preflight/{h}/{slug(c.check)}",
                        "preflight",
                        host=h,
                        params={"check": c.check, "gate": "run", **check_params(pb.package, c)},
                        title=f"Check {c.check} on {h}",
                    )
                )
    clusters = sorted({n for h in ctx.targets if (n := ctx.facts.hosts[h].cluster)})
    for name in clusters:
        cl = ctx.facts.clusters[name]
        out.append(
            b.add(
                f"preflight/{name}/cluster-healthy",
                "preflight",
                cluster=name,
                params={
                    "check": "cluster-healthy",
                    "gate": "run",
                    "nodes": list(cl.nodes),
                    "owners": {g.name: g.owner for g in cl.groups},
                },
                title=f"Check cluster {name}: every node up, groups where the plan expects",
            )
        )
    return b.barrier("preflight/done", "All preflight checks passed", out) if out else ()


def _plan_tier(
    ctx: Context,
    tier: list[str],
    entry: Ids,
    cluster_plans: dict[str, ClusterPlan],
    batches: dict[str, list[list[str]]],
) -> Ids:
    facts, pb = ctx.facts, ctx.pb
    exits: list[Ids] = []
    done: set[str] = set()
    in_tier = set(tier)
    for h in tier:
        if h in done:
            continue
        host = facts.hosts[h]
        if host.cluster:
            policy = pb.clusters.get(host.cluster, pb.cluster_default)
            assert policy is not None  # _check_references made sure
            cp = ClusterPlan(ctx, facts.clusters[host.cluster], policy)
            cluster_plans[host.cluster] = cp
            exits.append(cp.plan(entry))
            done.update(facts.clusters[host.cluster].nodes)
        elif host.pool:
            pool = facts.pools[host.pool]
            members = [m for m in pool.members if m in in_tier]
            mode, max_out, where = pool_policy(pb, pool)
            if mode == "rolling" and max_out >= len(members) and len(members) > 1:
                raise StrategyError(
                    f"pool {pool.name}: rolling with max_out {max_out} takes every member out at "
                    "once; say mode: all-at-once if that is intended",
                    where or pb.targets[0].where,
                )
            exits.append(plan_pool(ctx, pool, members, mode, max_out, entry))
            done.update(members)
        elif host.fleet:
            fleet = facts.fleets[host.fleet]
            members = [m for m in fleet.members if m in in_tier]
            serial = pb.fleets[fleet.name][0] if fleet.name in pb.fleets else fleet.serial
            end, fleet_batches = plan_fleet(ctx, fleet.name, members, serial, entry)
            batches[fleet.name] = fleet_batches
            exits.append(end)
            done.update(members)
        else:
            exits.append(plan_standalone(ctx, h, entry))
            done.add(h)
    return ids(*exits)


def _describe(facts: Facts, tier: list[str]) -> str:
    parts: dict[str, int] = {}
    for h in tier:
        host = facts.hosts[h]
        unit = next(
            (
                f"{kind} {name}"
                for kind, name in (
                    ("cluster", host.cluster),
                    ("pool", host.pool),
                    ("fleet", host.fleet),
                )
                if name
            ),
            None,
        )
        parts[unit or h] = parts.get(unit or h, 0) + 1
    shown = [f"{p} ({n} hosts)" if " " in p else p for p, n in parts.items()]
    if len(shown) > 12:
        shown = [*shown[:12], f"... {len(shown) - 12} more"]
    return ", ".join(shown)
