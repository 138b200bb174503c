"""Graph helpers shared by the estimator and the validator (actions as list indices)."""

from __future__ import annotations

import heapq
import operator
from collections.abc import Sequence


def topological_order(preds: Sequence[Sequence[int]]) -> list[int]:
    """A topological order preferring list order; shorter than the graph if it has a cycle."""
    n = len(preds)
    if all(map(operator.lt, [max(ps) if ps else -1 for ps in preds], range(n))):
        return list(range(n))
    indegree = [len(set(ps)) for ps in preds]
    succs: list[list[int]] = [[] for _ in range(n)]
    for v, ps in enumerate(preds):
        for p in set(ps):
            succs[p].append(v)
    ready = [v for v in range(n) if indegree[v] == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        v = heapq.heappop(ready)
        order.append(v)
        for s in succs[v]:
            indegree[s] -= 1
            if indegree[s] == 0:
                heapq.heappush(ready, s)
    return order
