"""Check 6, model-based hotfixes (scenario S3), per ``params.system``.

* model changes (hotfix add/remove, synchronize, apply, refresh) run in Deployment mode: after a
  ``set_mode(deployment)``, before a ``set_mode(monitoring)``, with no switch back in between;
* package changes of a unit run while the unit is inactive (between ``inactivate_unit`` and
  ``activate_unit`` of that unit, with no activation in between);
* ``add_hotfix_to_base`` ≼ ``add_hotfix_to_package``; every ``remove_hotfix_from_package`` ≼
  ``remove_hotfix_from_base`` (same hotfix);
* every package change ≼ some ``synchronize_instances`` ≼ ``apply_changes`` ≼ the unit's
  ``activate_unit``; ``apply_changes`` ≼ ``save_model``.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._index import PlanIndex

MODEL_WORK = (
    "add_hotfix_to_base",
    "add_hotfix_to_package",
    "remove_hotfix_from_package",
    "remove_hotfix_from_base",
    "synchronize_instances",
    "apply_changes",
    "refresh_nodes",
)
PACKAGE_WORK = ("add_hotfix_to_package", "remove_hotfix_from_package")
MONITORING = "set_mode(monitoring)"
S3 = (*MODEL_WORK, "set_mode", "inactivate_unit", "activate_unit", "save_model")


def check_model_hotfixes(ix: PlanIndex) -> list[str]:
    """Every S3 rule, for each system named by the S3 actions."""
    systems: dict[str | None, dict[str, list[int]]] = {}
    for kind in S3:
        for i in ix.kind(kind):
            systems.setdefault(ix.param(i, "system"), {}).setdefault(kind, []).append(i)
    out: list[str] = []
    for system in sorted(systems, key=lambda s: s or ""):
        out += _system(ix, f"system {system!r}", systems[system])
    return out


def _system(ix: PlanIndex, where: str, by: dict[str, list[int]]) -> list[str]:
    out: list[str] = []
    modes = by.get("set_mode", [])
    deploy = [i for i in modes if ix.param(i, "mode") == "deployment"]
    monitor = [i for i in modes if ix.param(i, "mode") == "monitoring"]
    for w in sorted(i for k in MODEL_WORK for i in by.get(k, [])):
        out += _bracket(ix, where, w, deploy, monitor, "set_mode(deployment)", MONITORING)
    syncs, applies = by.get("synchronize_instances", []), by.get("apply_changes", [])
    to_base = by.get("add_hotfix_to_base", [])
    for p in sorted(i for k in PACKAGE_WORK for i in by.get(k, [])):
        unit = ix.param(p, "unit")
        off = [i for i in by.get("inactivate_unit", []) if ix.param(i, "unit") == unit]
        on = [i for i in by.get("activate_unit", []) if ix.param(i, "unit") == unit]
        out += _bracket(ix, where, p, off, on, f"inactivate_unit({unit})", f"activate_unit({unit})")
        if ix.actions[p].kind == "add_hotfix_to_package":
            bases = _same_hotfix(ix, to_base, p)
            if not ix.reach.le_any(bases, p):
                out.append(f"{where}: {ix.name(p)} is not after an add_hotfix_to_base")
        if not any(
            ix.le(p, s) and ix.le(s, a) and ix.le(a, u) for s in syncs for a in applies for u in on
        ):
            out.append(
                f"{where}: {ix.name(p)} is not followed by synchronize_instances, then "
                f"apply_changes, then activate_unit({unit})"
            )
    removals = by.get("remove_hotfix_from_package", [])
    for r in by.get("remove_hotfix_from_base", []):
        late = [p for p in _same_hotfix(ix, removals, r) if not ix.le(p, r)]
        if late:
            out.append(f"{where}: {ix.name(r)} is not after {ix.names(late)}")
    saves = by.get("save_model", [])
    if saves or to_base or by.get("add_hotfix_to_package"):
        for a in applies:
            if not any(ix.le(a, s) for s in saves):
                out.append(f"{where}: {ix.name(a)} is not followed by a save_model")
    return out


def _same_hotfix(ix: PlanIndex, candidates: Sequence[int], action: int) -> list[int]:
    """The candidates about the same hotfix as ``action`` (all of them if it names none)."""
    hotfix = ix.param(action, "hotfix")
    return [c for c in candidates if hotfix is None or ix.param(c, "hotfix") in (None, hotfix)]


def _bracket(
    ix: PlanIndex,
    where: str,
    w: int,
    opens: Sequence[int],
    closes: Sequence[int],
    open_name: str,
    close_name: str,
) -> list[str]:
    """``w`` runs inside an open..close bracket on every execution order.

    Some open ≼ w ≼ some close, and every other close ≼ an open that is ≼ w (so the last of
    those events before w is always an open).
    """
    before = [o for o in opens if ix.le(o, w)]
    if not before:
        return [f"{where}: {ix.name(w)} is not after any {open_name}"]
    out: list[str] = []
    after = [c for c in closes if ix.le(w, c)]
    if not after:
        out.append(f"{where}: {ix.name(w)} is not before any {close_name}")
    for c in closes:
        if c not in after and not any(ix.le(c, o) for o in before):
            out.append(
                f"{where}: {close_name} {ix.name(c)} may run between the {open_name} "
                f"and {ix.name(w)}"
            )
    return out
