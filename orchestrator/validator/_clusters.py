"""Check 4, failover clusters: node spans, installs under a stopped service, strategies.

For each cluster of ``guarantees.clusters`` (nodes and group owners from ``facts.clusters``):

* a. at most ``max_out`` nodes out at once (node span = its disruptive and restoring actions);
* b. except under ``active-first``, every install on a node happens while its cluster service
  is stopped or while it is drained;
* g. ``active-first`` moves nothing; ``first`` is upgraded before any other node goes out;
* h. ``passive-first``'s ``first`` owns no group; ``first`` names a node of the cluster.

Group locations (c–f) are checked by :mod:`._groups` on the same :class:`ClusterView`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..facts import DTC_RESOURCE
from ..kinds import SPAN_KINDS
from ._groups import check_groups
from ._index import PlanIndex, mapping, str_list
from ._spans import Span, extremes, overlap_violation

STRATEGIES = frozenset({"move-off", "passive-first", "consolidate", "drain", "active-first"})
NEEDS_FIRST = frozenset({"active-first", "passive-first", "consolidate"})
#: Kinds that move or concern a cluster group (besides those tagged with the cluster).
GROUP_KINDS = (
    "move_group",
    "drain_node",
    "resume_node",
    "upgrade_virtual_server",
    "resources_offline",
    "resources_online",
)


@dataclass
class ClusterView:
    """One guaranteed cluster: its facts and the plan's actions on it."""

    name: str
    strategy: str
    nodes: list[str]
    owners: dict[str, str]
    spans: dict[str, Span] = field(default_factory=dict)
    upgrade: dict[str, list[int]] = field(default_factory=dict)
    actions: list[int] = field(default_factory=list)
    by_group: dict[str, list[int]] = field(default_factory=dict)
    possible: dict[str, list[str]] = field(default_factory=dict)  # only groups that limit it
    dtc_groups: set[str] = field(default_factory=set)  # groups holding the DTC resource


def check_clusters(ix: PlanIndex) -> list[str]:
    """Every cluster rule for every cluster in ``guarantees.clusters``."""
    out: list[str] = []
    facts_clusters = mapping(ix.facts.get("clusters"))
    for name, raw in mapping(ix.guarantees.get("clusters")).items():
        spec, facts = mapping(raw), mapping(facts_clusters.get(name))
        if not facts:
            out.append(f"cluster {name!r} has a guarantee but is not in facts.clusters")
            continue
        view = _view(ix, name, spec, facts)
        if view.strategy not in STRATEGIES:
            out.append(f"cluster {name!r}: unknown strategy {view.strategy!r}")
        max_out = spec.get("max_out", 1)
        if not isinstance(max_out, int) or max_out < 1:
            out.append(f"cluster {name!r}: max_out must be a positive integer, not {max_out!r}")
        else:
            spans = [s for s in view.spans.values() if s.starts]
            msg = overlap_violation(ix, f"cluster {name!r}", spans, max_out, "nodes")
            if msg:
                out.append(msg)
        if view.strategy != "active-first":
            out += _installs_stopped(ix, view)
        out += _first(ix, view, spec.get("first"))
        out += check_groups(ix, view)
    return out


def _view(
    ix: PlanIndex, name: str, spec: Mapping[str, Any], facts: Mapping[str, Any]
) -> ClusterView:
    nodes = str_list(facts.get("nodes"))
    owners = {
        g: owner
        for g, desc in mapping(facts.get("groups")).items()
        if isinstance(owner := mapping(desc).get("owner"), str)
    }
    view = ClusterView(name, str(spec.get("strategy")), nodes, owners)
    for g, desc in mapping(facts.get("groups")).items():
        possible = str_list(mapping(desc).get("possible_owners"))
        if possible:
            view.possible[g] = possible
        resources = mapping(desc).get("resources")
        types = [mapping(r).get("type") for r in resources] if isinstance(resources, list) else []
        if DTC_RESOURCE in types:
            view.dtc_groups.add(g)
    mine = set(ix.by_cluster.get(name, []))
    for n in nodes:
        mine.update(ix.on(n, *GROUP_KINDS))
    view.actions = sorted(i for i in mine if ix.actions[i].cluster in (None, name))
    for i in view.actions:
        group = ix.actions[i].params.get("group")
        if isinstance(group, str):
            view.by_group.setdefault(group, []).append(i)
    for n in nodes:
        view.spans[n] = Span(n, *extremes(ix, ix.on(n, *SPAN_KINDS)))
        view.upgrade[n] = ix.on(n, "install", "reboot")
    return view


def _installs_stopped(ix: PlanIndex, view: ClusterView) -> list[str]:
    """b. every install lies inside a cluster-service stop or a drain of its node."""
    out: list[str] = []
    for n in view.nodes:
        stops, starts = ix.on(n, "stop_cluster_service"), ix.on(n, "start_cluster_service")
        drains, resumes = ix.on(n, "drain_node"), ix.on(n, "resume_node")
        for i in ix.on(n, "install"):
            stopped = ix.reach.le_any(stops, i) and any(ix.le(i, e) for e in starts)
            drained = ix.reach.le_any(drains, i) and any(ix.le(i, e) for e in resumes)
            if not (stopped or drained):
                out.append(
                    f"cluster {view.name!r}: {ix.host_of(i)} is neither between a "
                    f"stop_cluster_service and a start_cluster_service of {n} nor between "
                    f"a drain_node and a resume_node of {n}"
                )
    return out


def _first(ix: PlanIndex, view: ClusterView, first: object) -> list[str]:
    """g/h. strategy-specific rules about moves and the node upgraded first."""
    out: list[str] = []
    where = f"cluster {view.name!r} ({view.strategy})"
    if view.strategy == "active-first":
        moves = [i for i in view.actions if ix.actions[i].kind in ("move_group", "drain_node")]
        if moves:
            out.append(f"{where}: must not move or drain groups, but has {ix.names(moves)}")
    if first is None:
        if view.strategy in NEEDS_FIRST:
            out.append(f"{where}: guarantees.clusters[{view.name!r}].first is required")
        return out
    if first not in view.nodes:
        out.append(f"{where}: first node {first!r} is not a node of the cluster")
        return out
    assert isinstance(first, str)
    if view.strategy == "passive-first":
        owned = sorted(g for g, o in view.owners.items() if o == first)
        if owned:
            out.append(f"{where}: first node {first} is not passive, it owns {', '.join(owned)}")
    installs = ix.on(first, "install")
    if not installs:
        out.append(f"{where}: first node {first} has no install in the plan")
        return out
    for n in view.nodes:
        starts = view.spans[n].starts
        if n != first and not ix.reach.le_all(installs, starts):
            out.append(
                f"{where}: node {n} may go out ({ix.names(starts)}) before first node "
                f"{first} is installed ({ix.names(installs)})"
            )
    return out
