"""Reachability over the plan's DAG: ``a ≼ b`` (a == b or a is an ancestor of b).

Actions are integers (their index in the plan). The topological order follows the plan's own
action order whenever that order is already topological (the usual case), else Kahn's
algorithm picks the ready action with the smallest list index. ``pos[v]`` is v's rank in that
order; every path goes up in rank, so a search for ``b`` never needs to visit ranks above
``pos[b]``.

Two query styles:

* :meth:`Reach.le` for small sets (one host, pool, cluster): a walk back along the unique
  predecessor chain of ``b`` (chains are the common shape), then a forward search from ``a``
  bounded by the target's rank. The search is cached per source and resumed, not redone, when a
  later query needs a larger bound.
* :meth:`Reach.ancestor_masks` for big set-to-set rules (tiers, batches, run-wide preflights):
  one pass of bitset propagation (Python ints) from the sources only, over the rank range that
  matters. A mask is shared, not copied, along single-predecessor chains and dropped as soon as
  its action has been processed (only the targets' masks are kept).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence


class _Search:
    """A resumable forward search from one source, complete up to rank ``bound``."""

    __slots__ = ("bound", "pending", "seen")

    def __init__(self, source: int) -> None:
        self.bound = -1
        self.seen: set[int] = set()
        self.pending: set[int] = {source}


class Reach:
    """Answers ``a ≼ b`` questions over an acyclic graph given by predecessor lists."""

    def __init__(self, preds: Sequence[Sequence[int]], order: Sequence[int]) -> None:
        n = len(preds)
        self.preds = preds
        self.succs: list[list[int]] = [[] for _ in range(n)]
        succs = self.succs
        for v, ps in enumerate(preds):
            for p in ps:
                succs[p].append(v)
        self.order = list(order)
        if self.order == list(range(n)):
            self.pos = self.order
        else:
            self.pos = [0] * n
            for rank, v in enumerate(self.order):
                self.pos[v] = rank
        self._searches: dict[int, _Search] = {}

    def le(self, a: int, b: int) -> bool:
        """True iff ``a == b`` or ``a`` is an ancestor of ``b``."""
        pos, preds = self.pos, self.preds
        pa = pos[a]
        while b != a:
            if pos[b] < pa:
                return False
            ps = preds[b]
            if len(ps) != 1:
                if not ps:
                    return False
                if len(ps) <= 8 and a in ps:
                    return True
                return b in self._descendants(a, pos[b])
            b = ps[0]
        return True

    def le_any(self, sources: Iterable[int], b: int) -> bool:
        """True iff some source ≼ ``b``."""
        return any(self.le(a, b) for a in sources)

    def le_all(self, sources: Iterable[int], targets: Iterable[int]) -> bool:
        """True iff every source ≼ every target."""
        ts = list(targets)
        return all(self.le(a, b) for a in sources for b in ts)

    def _descendants(self, a: int, bound: int) -> set[int]:
        """Descendants of ``a`` (and ``a``) of rank ≤ ``bound``; may hold more of higher rank."""
        search = self._searches.get(a)
        if search is None:
            search = self._searches[a] = _Search(a)
        if search.bound >= bound:
            return search.seen
        pos, succs, seen, pending = self.pos, self.succs, search.seen, search.pending
        stack = [v for v in pending if pos[v] <= bound]
        pending.difference_update(stack)
        seen.update(stack)
        while stack:
            for s in succs[stack.pop()]:
                if s in seen or s in pending:
                    continue
                if pos[s] <= bound:
                    seen.add(s)
                    stack.append(s)
                else:
                    pending.add(s)
        search.bound = bound
        return seen

    def ancestor_masks(self, sources: Sequence[int], targets: Iterable[int]) -> dict[int, int]:
        """For each target t, a bitmask with bit i set iff ``sources[i] ≼ t``.

        Targets no source reaches are absent from the result (their mask would be 0).
        """
        tset = set(targets)
        if not sources or not tset:
            return {}
        pos = self.pos
        bits: dict[int, int] = {}
        for i, s in enumerate(sources):
            bits[s] = bits.get(s, 0) | (1 << i)
        lo = min(pos[s] for s in bits)
        hi = max(pos[t] for t in tset)
        if hi - lo <= 16 * (len(bits) + len(tset)):
            return self._sweep(bits, tset, lo, hi)
        return self._spread(bits, tset, hi)

    def _sweep(self, bits: dict[int, int], tset: set[int], lo: int, hi: int) -> dict[int, int]:
        """Propagation visiting every rank in ``lo..hi`` (when most of them are reached)."""
        succs = self.succs
        masks: dict[int, int] = {}
        pop, get = masks.pop, masks.get
        result: dict[int, int] = {}
        for v in self.order[lo : hi + 1]:
            m = pop(v, None)
            b = bits.get(v)
            if m is None:
                if b is None:
                    continue
                m = b
            elif b is not None:
                m |= b
            if v in tset:
                result[v] = m
            for s in succs[v]:
                old = get(s)
                masks[s] = m if old is None or old is m else old | m
        return result

    def _spread(self, bits: dict[int, int], tset: set[int], hi: int) -> dict[int, int]:
        """Propagation visiting only reached actions, in rank order (a heap of ranks)."""
        pos, order, succs = self.pos, self.order, self.succs
        heap = sorted(pos[s] for s in bits if pos[s] <= hi)
        masks: dict[int, int] = {}
        result: dict[int, int] = {}
        while heap:
            v = order[heapq.heappop(heap)]
            m = masks.pop(v, 0) | bits.get(v, 0)
            if v in tset:
                result[v] = m
            for s in succs[v]:
                if pos[s] > hi:
                    continue
                old = masks.get(s)
                if old is None:
                    masks[s] = m
                    if s not in bits:
                        heapq.heappush(heap, pos[s])
                elif old is not m:
                    masks[s] = old | m
        return result
