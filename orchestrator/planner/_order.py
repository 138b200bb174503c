"""The order a cluster's nodes are upgraded in, per strategy, and when a strategy cannot apply."""

from __future__ import annotations

from ..errors import OrderingError, StrategyError, UnknownReferenceError
from ..facts import Cluster
from ..playbook import ClusterPolicy
from ..schema import did_you_mean

#: Strategies that upgrade exactly one node at a time and fix which node goes first.
ONE_AT_A_TIME = ("passive-first", "consolidate", "active-first")


def node_order(cluster: Cluster, policy: ClusterPolicy) -> list[str]:
    """The order nodes are upgraded in; raises StrategyError if the strategy cannot apply."""
    load = {n: len(cluster.owned_by(n)) for n in cluster.nodes}
    passive = [n for n in cluster.nodes if load[n] == 0]
    active = [n for n in cluster.nodes if load[n] > 0]
    s, name = policy.strategy, cluster.name
    if s in ONE_AT_A_TIME and policy.max_out != 1:
        raise StrategyError(
            f"cluster {name}: {s} upgrades one node at a time (max_out 1)", policy.where
        )
    if policy.max_out >= len(cluster.nodes):
        raise StrategyError(
            f"cluster {name}: max_out {policy.max_out} would take every node out at once",
            policy.where,
        )
    if s == "passive-first" and not passive:
        raise StrategyError(
            f"cluster {name}: passive-first needs a passive node, but every node owns a group "
            f"({', '.join(f'{n}: {load[n]}' for n in cluster.nodes)}); use consolidate or move-off",
            policy.where,
        )
    if s == "active-first" and not active:
        raise StrategyError(
            f"cluster {name}: active-first needs an active node, no node owns a group", policy.where
        )
    if policy.node_order:
        order = _explicit_order(cluster, policy)
        if s == "passive-first" and order[0] not in passive:
            raise StrategyError(
                f"cluster {name}: passive-first, but the first node {order[0]} owns groups",
                policy.node_order[0].where,
            )
        if s == "active-first" and order[0] not in active:
            raise StrategyError(
                f"cluster {name}: active-first, but the first node {order[0]} owns no group",
                policy.node_order[0].where,
            )
        return order
    if s == "active-first":
        return active + passive
    return sorted(cluster.nodes, key=lambda n: (load[n], cluster.nodes.index(n)))


def _explicit_order(cluster: Cluster, policy: ClusterPolicy) -> list[str]:
    order: list[str] = []
    for ref in policy.node_order:
        if ref.name not in cluster.nodes:
            raise UnknownReferenceError(
                f"{ref.name!r} is not a node of cluster {cluster.name}"
                f"{did_you_mean(ref.name, cluster.nodes)}",
                ref.where,
            )
        if ref.name in order:
            raise OrderingError(f"node {ref.name} appears twice in node_order", ref.where)
        order.append(ref.name)
    missing = [n for n in cluster.nodes if n not in order]
    if missing:
        raise StrategyError(
            f"node_order of cluster {cluster.name} leaves out {', '.join(missing)}", policy.where
        )
    return order
