"""The validator's reachability oracle against networkx on random DAGs, and its scale."""

from __future__ import annotations

import random
import time

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.dag import topological_order
from orchestrator.validator import find_violations
from orchestrator.validator._reach import Reach
from tests.test_validator_support import set_after, synthetic_plan


@st.composite
def dags(draw: st.DrawFn) -> tuple[list[list[int]], nx.DiGraph]:
    """Predecessor lists of a random DAG whose list order is often not topological."""
    n = draw(st.integers(1, 18))
    rank = draw(st.permutations(range(n)))
    preds: list[list[int]] = [[] for _ in range(n)]
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    for v in range(n):
        for u in range(n):
            if rank[u] < rank[v] and draw(st.integers(0, 3)) == 0:
                preds[v].append(u)
                graph.add_edge(u, v)
    return preds, graph


def _reach(preds: list[list[int]]) -> Reach:
    order = topological_order(preds)
    assert len(order) == len(preds)
    return Reach(preds, order)


@settings(max_examples=150, deadline=None)
@given(dags())
def test_le_matches_networkx(case: tuple[list[list[int]], nx.DiGraph]) -> None:
    preds, graph = case
    reach = _reach(preds)
    for b in graph.nodes:
        anc = nx.ancestors(graph, b) | {b}
        for a in graph.nodes:
            assert reach.le(a, b) == (a in anc), (a, b)


@settings(max_examples=150, deadline=None)
@given(dags(), st.data())
def test_ancestor_masks_match_networkx(
    case: tuple[list[list[int]], nx.DiGraph], data: st.DataObject
) -> None:
    preds, graph = case
    reach = _reach(preds)
    nodes = list(graph.nodes)
    sources = data.draw(st.lists(st.sampled_from(nodes), min_size=1, unique=True))
    targets = data.draw(st.lists(st.sampled_from(nodes), min_size=1, unique=True))
    expected = {}
    for t in targets:
        anc = nx.ancestors(graph, t) | {t}
        mask = sum(1 << i for i, s in enumerate(sources) if s in anc)
        if mask:
            expected[t] = mask
    assert reach.ancestor_masks(sources, targets) == expected
    # both propagation strategies (all ranks / only reached ranks) agree
    bits = {s: 1 << i for i, s in enumerate(sources)}
    lo = min(reach.pos[s] for s in sources)
    hi = max(reach.pos[t] for t in targets)
    assert reach._sweep(bits, set(targets), lo, hi) == expected
    assert reach._spread(bits, set(targets), hi) == expected


def test_topological_order_follows_list_order_and_detects_cycles() -> None:
    assert topological_order([[], [0], [1]]) == [0, 1, 2]
    assert topological_order([[2], [], [1]]) == [1, 2, 0]
    assert len(topological_order([[1], [0], []])) == 1  # 0 <-> 1 cannot be ordered


def test_forward_search_is_resumed_with_a_larger_bound() -> None:
    # a diamond chain: no single-predecessor shortcut, so the cached forward search is used
    preds: list[list[int]] = [[]]
    for k in range(1, 40):
        preds.append([k - 1] if k % 2 else [k - 1, k - 2])
    reach = _reach(preds)
    assert reach.le(0, 10)
    assert reach.le(0, 39)
    assert not reach.le(10, 0)
    rng = random.Random(7)
    for _ in range(200):
        a, b = rng.randrange(40), rng.randrange(40)
        assert reach.le(a, b) == (a <= b)


def test_large_plan_is_checked_quickly() -> None:
    plan = synthetic_plan(4000, tiers=4)
    start = time.perf_counter()
    assert find_violations(plan) == []
    elapsed = time.perf_counter() - start
    assert elapsed < 5, elapsed  # ~0.1 s on a laptop; the bound only catches a blow-up
    broken = set_after("tier1/done", "tier0/done")(plan)
    violations = find_violations(broken)
    # tier1/done joins the second tier; now it skips it, so the third tier may start early
    assert violations[0].startswith("tier 3 install must come after every tier 2 install")
    assert violations[-1].endswith("990 more actions are not ordered likewise")
