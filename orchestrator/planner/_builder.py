"""The DAG under construction: actions with stable ids, ``after`` as edges.

An action may only wait for actions added before it, so insertion order is a topological
order and the graph is acyclic by construction. :meth:`Builder.graph` gives the same DAG as a
networkx ``DiGraph`` for analysis.
"""

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
    out: dict[str, None] = {}
    for p in parts:
        if p is None:
            continue
        if isinstance(p, str):
            out[p] = None
        else:
            out.update(dict.fromkeys(p))
    return tuple(out)


class Builder:
    """Collects actions; every action gets a unique, human-readable, stable id."""

    def __init__(self, estimates: Mapping[str, int], package_kind: str | None) -> None:
        self._nodes: dict[str, Action] = {}
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
        """Add an action that runs after ``after`` (ids added earlier); returns its id."""
        nodes = self._nodes
        if action_id in nodes:
            raise InvariantViolation([f"two actions would share the id {action_id!r}"])
        preds = ids(after)
        for pred in preds:
            if pred not in nodes:
                raise InvariantViolation([f"{action_id!r} would wait for unknown {pred!r}"])
        if estimate_s is None:
            estimate_s = estimate_for(kind, self._estimates, self._package_kind)
        nodes[action_id] = Action(
            action_id, kind, host, cluster, dict(params or {}), preds, estimate_s, self.phase, title
        )
        return action_id

    def chain(self, action_id: str, kind: str, after: Iterable[str], **kw: Any) -> Ids:
        """:meth:`add` returning a one-element tuple, handy for threading chains."""
        return (self.add(action_id, kind, after=after, **kw),)

    def barrier(self, action_id: str, name: str, after: Iterable[str]) -> Ids:
        """A no-op join: completes when everything in ``after`` has."""
        return self.chain(
            action_id, "barrier", after, params={"name": name}, title=name, estimate_s=0
        )

    def actions(self) -> tuple[Action, ...]:
        """All actions in insertion order (a topological order)."""
        return tuple(self._nodes.values())

    def graph(self) -> nx.DiGraph:
        """The plan's DAG as a networkx ``DiGraph`` (node attributes: kind, host, estimate_s)."""
        g = nx.DiGraph()
        g.add_nodes_from(
            (i, {"kind": n.kind, "host": n.host, "estimate_s": n.estimate_s})
            for i, n in self._nodes.items()
        )
        g.add_edges_from((p, i) for i, n in self._nodes.items() for p in n.after)
        return g
