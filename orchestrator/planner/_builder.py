"""The DAG under construction: actions as networkx nodes, ``after`` as edges, stable ids."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import networkx as nx

from ..errors import InvariantViolation
from ..plan import Action
from ._defaults import estimate_for

Ids = tuple[str, ...]


def ids(*parts: str | Iterable[str] | None) -> Ids:
    """Flatten ids and id collections into a de-duplicated tuple (order kept)."""
    out: list[str] = []
    for p in parts:
        if p is None:
            continue
        for i in [p] if isinstance(p, str) else p:
            if i not in out:
                out.append(i)
    return tuple(out)


class Builder:
    """Collects actions; every action gets a unique, human-readable, stable id."""

    def __init__(self, estimates: Mapping[str, int], package_kind: str | None) -> None:
        self.graph: nx.DiGraph = nx.DiGraph()
        self._estimates = estimates
        self._package_kind = package_kind
        self.phase = ""

    def add(
        self,
        action_id: str,
        kind: str,
        *,
        after: Iterable[str] = (),
        host: str | None = None,
        cluster: str | None = None,
        params: Mapping[str, Any] | None = None,
        title: str = "",
        estimate_s: int | None = None,
    ) -> str:
        """Add an action that runs after ``after``; returns its id."""
        if action_id in self.graph:
            raise InvariantViolation([f"two actions would share the id {action_id!r}"])
        params = dict(params or {})
        if estimate_s is None:
            estimate_s = estimate_for(kind, self._estimates, self._package_kind)
        self.graph.add_node(
            action_id,
            order=self.graph.number_of_nodes(),
            kind=kind,
            host=host,
            cluster=cluster,
            params=params,
            title=title,
            estimate_s=estimate_s,
            phase=self.phase,
        )
        for pred in after:
            self.graph.add_edge(pred, action_id)
        return action_id

    def chain(self, action_id: str, kind: str, after: Iterable[str], **kw: Any) -> Ids:
        """:meth:`add` returning a one-element tuple, handy for threading chains."""
        return (self.add(action_id, kind, after=after, **kw),)

    def barrier(self, action_id: str, name: str, after: Iterable[str]) -> Ids:
        """A no-op join: completes when everything in ``after`` has."""
        return self.chain(
            action_id, "barrier", after, params={"name": name}, title=name, estimate_s=0
        )

    def edge(self, before: Iterable[str], after: Iterable[str]) -> None:
        """Add ordering edges from every id in ``before`` to every id in ``after``."""
        for b in before:
            for a in after:
                self.graph.add_edge(b, a)

    def actions(self) -> tuple[Action, ...]:
        """All actions in a topological order that follows insertion order."""
        g = self.graph
        if not nx.is_directed_acyclic_graph(g):
            cycle = nx.find_cycle(g)
            raise InvariantViolation([f"the plan has a cycle: {cycle}"])
        order = nx.lexicographical_topological_sort(g, key=lambda n: g.nodes[n]["order"])
        out = []
        for n in order:
            d = g.nodes[n]
            preds = sorted(g.predecessors(n), key=lambda p: g.nodes[p]["order"])
            out.append(
                Action(
                    id=n,
                    kind=d["kind"],
                    host=d["host"],
                    cluster=d["cluster"],
                    params=d["params"],
                    after=tuple(preds),
                    estimate_s=d["estimate_s"],
                    phase=d["phase"],
                    title=d["title"],
                )
            )
        return tuple(out)
