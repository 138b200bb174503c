"""What every check reads: the plan's actions indexed by kind and host, plus reachability.

Actions are referred to by their index in ``plan.actions``. Params and facts come from a file
that may have been edited by hand, so the accessors here never trust a value's type.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..facts import KEEP_ONLINE_FOR_EVS_UPGRADE
from ..plan import Action, Plan
from ._reach import Reach

#: Resource types that may stay online while a virtual server is upgraded (KB 328839).
KEEP_FOR_UPGRADE = frozenset(KEEP_ONLINE_FOR_EVS_UPGRADE)


def mapping(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a JSON object, else an empty mapping."""
    return value if isinstance(value, Mapping) else {}


def str_list(value: Any) -> list[str]:
    """The strings of ``value`` if it is a JSON list, else an empty list."""
    if isinstance(value, list | tuple):
        return [v for v in value if isinstance(v, str)]
    return []


class PlanIndex:
    """The plan, its actions grouped by kind and by (host, kind), and its reachability."""

    def __init__(self, plan: Plan, reach: Reach) -> None:
        self.plan = plan
        self.actions: Sequence[Action] = plan.actions
        self.reach = reach
        self.facts = mapping(plan.facts)
        self.guarantees = mapping(plan.guarantees)
        self.by_kind: dict[str, list[int]] = defaultdict(list)
        self._by_host_kind: dict[tuple[str, str], list[int]] = defaultdict(list)
        self.by_cluster: dict[str, list[int]] = defaultdict(list)
        by_kind, by_host_kind, by_cluster = self.by_kind, self._by_host_kind, self.by_cluster
        for i, a in enumerate(self.actions):  # hosts/clusters are str or None (see _structure)
            by_kind[a.kind].append(i)
            by_host_kind[a.host, a.kind].append(i)  # type: ignore[index]
            if a.cluster is not None:
                by_cluster[a.cluster].append(i)

    def kind(self, kind: str) -> list[int]:
        """Every action of ``kind``, in plan order."""
        return self.by_kind.get(kind, [])

    def on(self, host: str, *kinds: str) -> list[int]:
        """The actions of the given kinds on ``host``, in plan order."""
        get = self._by_host_kind.get
        if len(kinds) == 1:
            return get((host, kinds[0]), [])
        out: list[int] = []
        for k in kinds:
            found = get((host, k))
            if found:
                out += found
        out.sort()
        return out

    def param(self, i: int, key: str) -> str | None:
        """A string param of action ``i`` (None if absent or not a string)."""
        value = self.actions[i].params.get(key)
        return value if isinstance(value, str) else None

    def params_list(self, i: int, key: str) -> list[str]:
        """A list-of-strings param of action ``i`` (empty if absent or malformed)."""
        return str_list(self.actions[i].params.get(key))

    def le(self, a: int, b: int) -> bool:
        """``a ≼ b``."""
        return self.reach.le(a, b)

    def name(self, i: int) -> str:
        """The quoted id of action ``i``, for messages."""
        return repr(self.actions[i].id)

    def names(self, indices: Iterable[int], limit: int = 5) -> str:
        """Quoted ids of several actions, shortened after ``limit``."""
        items = list(indices)
        shown = ", ".join(self.name(i) for i in items[:limit])
        if len(items) > limit:
            shown += f" and {len(items) - limit} more"
        return shown

    def host_of(self, i: int) -> str:
        """``'id' on host`` for messages."""
        a = self.actions[i]
        return f"{a.id!r} on {a.host}" if a.host else repr(a.id)

    def all_before(self, sources: Sequence[int], targets: Sequence[int], rule: str) -> list[str]:
        """Messages for every target that does not have every source as an ancestor.

        Uses one bitset propagation, so it scales to thousands of sources and targets; at most
        :data:`LIMIT` targets are named, then a count of the rest.
        """
        if not sources or not targets:
            return []
        full = (1 << len(sources)) - 1
        masks = self.reach.ancestor_masks(sources, targets)
        bad = [t for t in targets if masks.get(t, 0) != full]
        out = []
        for t in bad[:LIMIT]:
            m = masks.get(t, 0)
            missing = [s for k, s in enumerate(sources) if not (m >> k) & 1]
            out.append(f"{rule}: {self.host_of(t)} is not after {self.names(missing)}")
        if len(bad) > LIMIT:
            out.append(f"{rule}: {len(bad) - LIMIT} more actions are not ordered likewise")
        return out


#: How many offending actions one rule names before it just counts them.
LIMIT = 10
