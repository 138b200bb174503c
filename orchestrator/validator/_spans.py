"""Out-spans and "how many may be out at once", proven over every execution order.

A span is a member's time out of service, from its start actions to its end actions. Two
spans may overlap unless every end of one ≼ every start of the other. Spans that pairwise may
overlap can all overlap at once (no end is forced before any start), so the largest number out
at once is the largest clique of the may-overlap graph.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import networkx as nx

from ._index import PlanIndex


@dataclass(frozen=True)
class Span:
    """One member's out-span: ``starts`` and ``ends`` are action indices (may be empty)."""

    member: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]


def extremes(ix: PlanIndex, actions: Sequence[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The minimal and the maximal actions of the set (fast when the set is a chain)."""
    pos, le = ix.reach.pos, ix.reach.le
    ranked = sorted(actions, key=pos.__getitem__)
    if not ranked:
        return (), ()
    if all(le(a, b) for a, b in pairwise(ranked)):
        return (ranked[0],), (ranked[-1],)
    lows = tuple(b for k, b in enumerate(ranked) if not any(le(a, b) for a in ranked[:k]))
    highs = tuple(a for k, a in enumerate(ranked) if not any(le(a, b) for b in ranked[k + 1 :]))
    return lows, highs


def precedes(ix: PlanIndex, a: Span, b: Span) -> bool:
    """Whether span ``a`` ends before span ``b`` starts on every execution order."""
    return bool(a.ends and b.starts) and ix.reach.le_all(a.ends, b.starts)


def largest_overlap(ix: PlanIndex, spans: Sequence[Span]) -> list[Span]:
    """A largest set of spans that may all be out at the same moment (deterministic).

    When every start of a span is ≼ one of its ends, "precedes" is transitive, so spans that
    form a chain in start order cannot overlap at all: that common case needs no clique search.
    """
    pos, le = ix.reach.pos, ix.reach.le
    ranked = sorted(spans, key=lambda s: min((pos[i] for i in s.starts), default=-1))
    closed = all(any(le(s, e) for e in span.ends) for span in spans for s in span.starts)
    if closed and all(precedes(ix, a, b) for a, b in pairwise(ranked)):
        return ranked[:1]
    graph = nx.Graph()
    graph.add_nodes_from(range(len(spans)))
    for i, a in enumerate(spans):
        for j in range(i + 1, len(spans)):
            b = spans[j]
            if not precedes(ix, a, b) and not precedes(ix, b, a):
                graph.add_edge(i, j)
    best: list[int] = []
    for clique in nx.find_cliques(graph):
        members = sorted(clique)
        if len(members) > len(best) or (len(members) == len(best) and members < best):
            best = members
    return [spans[i] for i in best]


def overlap_violation(
    ix: PlanIndex, what: str, spans: Sequence[Span], max_out: int, noun: str = "members"
) -> str | None:
    """A message if more than ``max_out`` spans may be out at once, else None."""
    clique = largest_overlap(ix, spans)
    if len(clique) <= max_out:
        return None
    names = ", ".join(s.member for s in clique)
    text = f"{what}: {len(clique)} {noun} may be out at once (max_out {max_out}): {names}"
    if len(clique) >= 2:
        a, b = clique[0], clique[1]
        text += (
            f"; e.g. {a.member} [{ix.names(a.starts)} .. {ix.names(a.ends)}] and "
            f"{b.member} [{ix.names(b.starts)} .. {ix.names(b.ends)}] are not ordered"
        )
    return text
