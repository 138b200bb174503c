"""The plan validator: proves a plan's safety rules on every execution order.

It reads only the plan contract (``orchestrator.plan/v1``: facts, actions with ``after``,
guarantees), never the planner, so it can check any plan file, including one edited by hand.
Each rule is stated over the DAG's ancestry (``a ≼ b``: ``a == b`` or ``a`` is an ancestor of
``b``), so what holds here holds for every order an executor may pick, not for one sample.

Checks, in report order: structure; tiers; pools; clusters (node spans, installs under a
stopped service, strategies, group locations); per-host procedure order; model-based hotfixes
(S3); built patches (S4); fleet batches.
"""

from __future__ import annotations

import gc

from ..errors import InvariantViolation
from ..plan import Plan
from ._clusters import check_clusters
from ._index import PlanIndex
from ._model_hotfix import check_model_hotfixes
from ._procedures import check_builds, check_hosts
from ._structure import check_structure
from ._tiers_pools import check_fleets, check_pools, check_tiers

__all__ = ["find_violations", "validate"]

_CHECKS = (
    check_tiers,
    check_pools,
    check_clusters,
    check_hosts,
    check_model_hotfixes,
    check_builds,
    check_fleets,
)


def find_violations(plan: Plan) -> list[str]:
    """Every rule the plan breaks, as human-readable messages in a deterministic order.

    Each message names the actions, hosts or groups involved. When ids are not unique or
    ``after`` has a cycle, only the structural problems are reported (nothing else can be
    proven about such a graph).
    """
    collecting = gc.isenabled()
    gc.disable()  # the checks build many small acyclic objects; collections would only cost
    try:
        violations, reach = check_structure(plan)
        if reach is None:
            return violations
        ix = PlanIndex(plan, reach)
        for check in _CHECKS:
            violations += check(ix)
        return violations
    finally:
        if collecting:
            gc.enable()


def validate(plan: Plan) -> None:
    """Raise :class:`~orchestrator.errors.InvariantViolation` if the plan breaks any rule."""
    violations = find_violations(plan)
    if violations:
        raise InvariantViolation(violations)
