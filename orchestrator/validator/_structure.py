"""Check 1, structure: unique ids, known ``after`` targets, no cycle, known hosts/clusters/kinds.

Only a plan whose ids are unique and whose graph is acyclic can be checked further; for it,
:func:`check_structure` also returns the :class:`Reach` the other checks use (an ``after`` that
names no action is reported and otherwise ignored).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..dag import topological_order
from ..kinds import KNOWN_KINDS
from ..plan import Plan
from ._index import mapping
from ._reach import Reach


def check_structure(plan: Plan) -> tuple[list[str], Reach | None]:
    """Structural violations, and the reachability oracle when the graph is usable."""
    actions = plan.actions
    index = {a.id: i for i, a in enumerate(actions)}
    try:
        position = index.__getitem__
        preds = [list(map(position, a.after)) for a in actions]
        out: list[str] = []
    except (KeyError, TypeError):
        out, preds = _dangling(plan, index)
    facts = mapping(plan.facts)
    names, typed = _unknown_names(plan, mapping(facts.get("hosts")), mapping(facts.get("clusters")))
    out += names
    if len(index) < len(actions):
        return _duplicates(plan) + out, None
    if not typed:
        return out, None  # reported above; names that are not strings cannot be indexed
    order = topological_order(preds)
    if len(order) < len(preds):
        out.append("cycle in `after`: " + _cycle(plan, preds, set(order)))
        return out, None
    return out, Reach(preds, order)


def _duplicates(plan: Plan) -> list[str]:
    out: list[str] = []
    first: dict[str, int] = {}
    for i, a in enumerate(plan.actions):
        if a.id in first:
            out.append(f"duplicate action id {a.id!r} (actions #{first[a.id]} and #{i})")
        else:
            first.setdefault(a.id, i)
    return out


def _dangling(plan: Plan, index: dict[str, int]) -> tuple[list[str], list[list[int]]]:
    """Report ``after`` ids that name no action; the predecessor lists without them."""
    out: list[str] = []
    preds: list[list[int]] = []
    for a in plan.actions:
        ps: list[int] = []
        for dep in a.after:
            j = index.get(dep) if isinstance(dep, str) else None
            if j is None:
                out.append(f"action {a.id!r} is after {dep!r}, which is not an action of the plan")
            else:
                ps.append(j)
        preds.append(ps)
    return out, preds


def _unknown_names(
    plan: Plan, hosts: Mapping[str, Any], clusters: Mapping[str, Any]
) -> tuple[list[str], bool]:
    """Unknown kinds, hosts and clusters, checked in bulk first (the usual answer is none);
    and whether every host and cluster is a string or null."""
    actions = plan.actions
    kinds = {a.kind for a in actions} - KNOWN_KINDS
    try:
        used_hosts = {a.host for a in actions}
        used_clusters = {a.cluster for a in actions}
    except TypeError:  # an unhashable host or cluster: a list or an object
        used_hosts, used_clusters, typed = set(), set(), False
    else:
        typed = all(isinstance(x, str | None) for x in used_hosts | used_clusters)
    bad_hosts = {h for h in used_hosts if h is not None and h not in hosts}
    bad_clusters = {c for c in used_clusters if c is not None and c not in clusters}
    out: list[str] = []
    if typed and not (kinds or bad_hosts or bad_clusters):
        return out, typed
    for a in actions:
        if a.kind in kinds:
            out.append(f"action {a.id!r} has unknown kind {a.kind!r}")
        if a.host is not None and (not isinstance(a.host, str) or a.host in bad_hosts):
            out.append(f"action {a.id!r} runs on host {a.host!r}, which is not in facts.hosts")
        if a.cluster is not None and (not isinstance(a.cluster, str) or a.cluster in bad_clusters):
            out.append(f"action {a.id!r} names cluster {a.cluster!r}, not in facts.clusters")
    return out, typed


def _cycle(plan: Plan, preds: list[list[int]], done: set[int]) -> str:
    """One cycle among the actions Kahn's algorithm could not order, as ``a -> b -> a``."""
    v = min(i for i in range(len(preds)) if i not in done)
    path: list[int] = []
    seen: dict[int, int] = {}
    while v not in seen:
        seen[v] = len(path)
        path.append(v)
        v = min(p for p in preds[v] if p not in done)
    loop = path[seen[v] :]
    loop.reverse()  # walked backwards along `after`; show it in execution direction
    return " -> ".join(repr(plan.actions[i].id) for i in [*loop, loop[0]])
