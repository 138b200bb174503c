"""A plan's DAG as scheduling needs it: children, priorities and *spans*.

A span is the stretch of a plan during which something is out of service: a host from its
first disruptive action (``stop_services``, ``install``, ``lb_out``, ...) to its last
restoring one (``start_services``, ``lb_in``, ...), or a cluster group from
``resources_offline`` to ``resources_online``. The engine uses spans to stop only at safe
points (see :mod:`orchestrator.listsched`: opening a span is the decision point), and the
estimator uses the same graph to predict a run. Pure: no I/O, no engine state.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

from .dag import topological_order
from .plan import Action, Plan

#: Kinds that take a host (or a group) out of service.
OPENERS = frozenset(
    {
        "drain_node",
        "stop_cluster_service",
        "stop_services",
        "install",
        "uninstall",
        "reboot",
        "lb_out",
        "resources_offline",
    }
)
#: Kinds that put a host (or a group) back in service.
CLOSERS = frozenset(
    {"start_services", "start_cluster_service", "resume_node", "lb_in", "resources_online"}
)
_GROUP_KINDS = frozenset(
    {"resources_offline", "resources_online", "move_group", "upgrade_virtual_server"}
)

SpanKey = tuple[str, str]


def span_keys(action: Action) -> tuple[SpanKey, ...]:
    """The spans an action belongs to: its host's, and its group's for group actions."""
    keys: list[SpanKey] = []
    if action.kind in _GROUP_KINDS and action.params.get("group"):
        keys.append(("group", f"{action.cluster}/{action.params['group']}"))
    if action.host and action.kind not in _GROUP_KINDS:
        keys.append(("host", action.host))
    return tuple(keys)


@dataclass(frozen=True)
class Span:
    """One span: its opening actions and its last action (``end``); the actions inside it
    are :meth:`RunGraph.inside`."""

    key: SpanKey
    openers: frozenset[str]
    end: str


class RunGraph:
    """Indexes over a plan for scheduling: children, in-degrees, priorities, spans."""

    def __init__(self, plan: Plan | Sequence[Action]) -> None:
        actions = plan.actions if isinstance(plan, Plan) else list(plan)
        self.actions: dict[str, Action] = {a.id: a for a in actions}
        ids = [a.id for a in actions]
        index = {aid: i for i, aid in enumerate(ids)}
        preds = [[index[p] for p in a.after] for a in actions]
        self.order: list[str] = [ids[i] for i in topological_order(preds)]
        self.position = {aid: i for i, aid in enumerate(self.order)}
        self.children: dict[str, list[str]] = {aid: [] for aid in self.actions}
        for a in actions:
            for parent in a.after:
                self.children[parent].append(a.id)
        self.priority = self._bottom_levels()
        self.spans = self._spans()
        self._inside: dict[SpanKey, frozenset[str]] = {}

    def inside(self, span: Span) -> frozenset[str]:
        """Every action of ``span``: reachable from its openers and reaching its end."""
        found = self._inside.get(span.key)
        if found is None:
            found = self._inside[span.key] = frozenset(self._between(span.openers, span.end))
        return found

    @cached_property
    def spans_of(self) -> dict[str, list[Span]]:
        """For each action, the spans it is inside (computed on first use)."""
        spans_of: dict[str, list[Span]] = {}
        for span in self.spans.values():
            for aid in self.inside(span):
                spans_of.setdefault(aid, []).append(span)
        return spans_of

    def _bottom_levels(self) -> dict[str, int]:
        """Longest estimated path from each action to the end of the plan (itself included):
        the list-scheduling priority that keeps the makespan near the critical path."""
        level: dict[str, int] = {}
        for aid in reversed(self.order):
            tail = max((level[c] for c in self.children[aid]), default=0)
            level[aid] = self.actions[aid].estimate_s + tail
        return level

    def _spans(self) -> dict[SpanKey, Span]:
        members: dict[SpanKey, list[str]] = {}
        for aid in self.order:
            a = self.actions[aid]
            if a.kind in OPENERS or a.kind in CLOSERS:
                for key in span_keys(a):
                    members.setdefault(key, []).append(aid)
        spans: dict[SpanKey, Span] = {}
        for key, ids in members.items():
            openers = frozenset(i for i in ids if self.actions[i].kind in OPENERS)
            if not openers:
                continue
            end = max(ids, key=self.position.__getitem__)
            spans[key] = Span(key, openers, end)
        return spans

    def _between(self, starts: Iterable[str], end: str) -> set[str]:
        """Actions reachable from ``starts`` that can reach ``end`` (both included)."""
        limit = self.position[end]
        forward: set[str] = set()
        stack = [s for s in starts if self.position[s] <= limit]
        while stack:
            aid = stack.pop()
            if aid in forward:
                continue
            forward.add(aid)
            stack.extend(c for c in self.children[aid] if self.position[c] <= limit)
        backward = {end}
        for aid in sorted(forward, key=self.position.__getitem__, reverse=True):
            if aid != end and any(c in backward for c in self.children[aid]):
                backward.add(aid)
        return forward & backward

    def descendants(self, aid: str) -> set[str]:
        """Every action that (transitively) waits for ``aid``."""
        seen: set[str] = set()
        stack = list(self.children[aid])
        while stack:
            cur = stack.pop()
            if cur not in seen:
                seen.add(cur)
                stack.extend(self.children[cur])
        return seen
