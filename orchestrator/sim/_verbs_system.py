"""Model-based hotfix verbs (S3) with the tool's rules: the system model changes only in
deployment mode, a unit's packages only while the unit is inactive, and a hotfix goes into
a package only once it is extracted, in the package's base installation, and the nodes were
refreshed since the base changed."""

from __future__ import annotations

from ..errors import FatalError
from ..plan import Action
from ._state import SystemState
from ._verbs import Ctx, Done, find_system, verb


def _changed(ctx: Ctx, name: str, *keys: str) -> SystemState:
    s = ctx.edit_system(name)
    for key in (*keys, "any"):
        s.changes[key] = ctx.seq
    return s


def _deployment(a: Action, name: str, s: SystemState) -> None:
    if s.mode != "deployment":
        raise FatalError(
            f"{a.id}: {name} is in {s.mode} mode; the system model can only be changed in "
            "deployment mode"
        )


def _unit(a: Action, name: str, s: SystemState) -> str:
    unit = str(a.params.get("unit", ""))
    if unit not in s.active:
        raise FatalError(f"{a.id}: system {name} has no virtual unit {unit!r}")
    return unit


def _package(a: Action, name: str, s: SystemState) -> tuple[str, str]:
    unit = _unit(a, name, s)
    package = str(a.params.get("package", ""))
    if package not in s.packages.get(unit, {}):
        raise FatalError(f"{a.id}: unit {unit} of {name} holds no package {package!r}")
    return unit, package


def _base(a: Action, name: str, s: SystemState) -> list[str]:
    base = str(a.params.get("base", ""))
    if base not in s.bases:
        raise FatalError(f"{a.id}: system {name} has no base installation {base!r}")
    return s.bases[base]


def _hotfix(a: Action) -> str:
    return str(a.params.get("hotfix", ""))


@verb("set_mode", lambda ctx, a: find_system(ctx, a)[1].mode == a.params.get("mode"))
def _set_mode(ctx: Ctx, a: Action) -> Done:
    name, _ = find_system(ctx, a)
    mode = str(a.params.get("mode"))
    if mode not in ("deployment", "monitoring"):
        raise FatalError(f"{a.id}: unknown mode {mode!r}")
    _changed(ctx, name).mode = mode
    return Done(f"{name} in {mode} mode")


def _active(ctx: Ctx, a: Action) -> bool:
    name, s = find_system(ctx, a)
    return s.active[_unit(a, name, s)]


@verb("inactivate_unit", lambda ctx, a: not _active(ctx, a))
def _inactivate(ctx: Ctx, a: Action) -> Done:
    name, s = find_system(ctx, a)
    unit = _unit(a, name, s)
    _changed(ctx, name).active[unit] = False
    return Done(f"{unit} inactive")


@verb("activate_unit", _active)
def _activate(ctx: Ctx, a: Action) -> Done:
    name, s = find_system(ctx, a)
    unit = _unit(a, name, s)
    if not s.done(f"sync:{unit}", f"unit:{unit}"):
        raise FatalError(f"{a.id}: the instances of {unit} are not synchronized with its packages")
    _changed(ctx, name).active[unit] = True
    return Done(f"{unit} active")


@verb("extract_hotfix", lambda ctx, a: _hotfix(a) in find_system(ctx, a)[1].extracted)
def _extract(ctx: Ctx, a: Action) -> Done:
    name, _ = find_system(ctx, a)
    ctx.edit_system(name).extracted.append(_hotfix(a))
    return Done(f"{_hotfix(a)} extracted into Install\\hotfixes")


@verb("add_hotfix_to_base", lambda ctx, a: _hotfix(a) in _base(a, *find_system(ctx, a)))
def _add_base(ctx: Ctx, a: Action) -> Done:
    name, s = find_system(ctx, a)
    _deployment(a, name, s)
    if _hotfix(a) not in s.extracted:
        raise FatalError(f"{a.id}: {_hotfix(a)} is not extracted into Install\\hotfixes")
    _base(a, name, s).append(_hotfix(a))
    _changed(ctx, name, "base", "model")
    return Done(f"{_hotfix(a)} added to base {a.params['base']}")


@verb("remove_hotfix_from_base", lambda ctx, a: _hotfix(a) not in _base(a, *find_system(ctx, a)))
def _remove_base(ctx: Ctx, a: Action) -> Done:
    name, s = find_system(ctx, a)
    _deployment(a, name, s)
    fixes = _base(a, name, s)
    users = sorted(
        f"{u}/{p}"
        for u, pkgs in s.packages.items()
        for p, hotfixes in pkgs.items()
        if _hotfix(a) in hotfixes and s.package_base[u][p] == a.params.get("base")
    )
    if users:
        raise FatalError(f"{a.id}: {_hotfix(a)} is still used by {', '.join(users)}")
    fixes.remove(_hotfix(a))
    _changed(ctx, name, "base", "model")
    return Done(f"{_hotfix(a)} removed from base {a.params['base']}")


@verb("refresh_nodes", lambda ctx, a: find_system(ctx, a)[1].done("refresh", "base"))
def _refresh(ctx: Ctx, a: Action) -> Done:
    name, s = find_system(ctx, a)
    _deployment(a, name, s)
    ctx.edit_system(name).marks["refresh"] = ctx.seq
    return Done("all nodes refreshed")


def _in_package(ctx: Ctx, a: Action) -> bool:
    name, s = find_system(ctx, a)
    unit, package = _package(a, name, s)
    return _hotfix(a) in s.packages[unit][package]


def _package_change(ctx: Ctx, a: Action) -> tuple[str, SystemState, str, str]:
    name, s = find_system(ctx, a)
    unit, package = _package(a, name, s)
    _deployment(a, name, s)
    if s.active[unit]:
        raise FatalError(f"{a.id}: unit {unit} is active; inactivate it before changing {package}")
    return name, s, unit, package


@verb("add_hotfix_to_package", _in_package)
def _add_package(ctx: Ctx, a: Action) -> Done:
    name, s, unit, package = _package_change(ctx, a)
    base, fix = s.package_base[unit][package], _hotfix(a)
    if fix not in s.extracted or fix not in s.bases.get(base, []):
        raise FatalError(f"{a.id}: {fix} must be extracted and in base {base} first")
    if not s.done("refresh", "base"):
        raise FatalError(f"{a.id}: refresh the nodes after changing base {base}")
    s.packages[unit][package].append(fix)
    _changed(ctx, name, f"unit:{unit}", "model")
    return Done(f"{fix} added to {unit}/{package}")


@verb("remove_hotfix_from_package", lambda ctx, a: not _in_package(ctx, a))
def _remove_package(ctx: Ctx, a: Action) -> Done:
    name, s, unit, package = _package_change(ctx, a)
    s.packages[unit][package].remove(_hotfix(a))
    _changed(ctx, name, f"unit:{unit}", "model")
    return Done(f"{_hotfix(a)} removed from {unit}/{package}")


def _synced(ctx: Ctx, a: Action) -> bool:
    name, s = find_system(ctx, a)
    unit = _unit(a, name, s)
    return s.done(f"sync:{unit}", f"unit:{unit}")


@verb("synchronize_instances", _synced)
def _synchronize(ctx: Ctx, a: Action) -> Done:
    name, s = find_system(ctx, a)
    unit = _unit(a, name, s)
    _deployment(a, name, s)
    ctx.edit_system(name).marks[f"sync:{unit}"] = ctx.seq
    return Done(f"instances of {unit} synchronized")


@verb("apply_changes", lambda ctx, a: find_system(ctx, a)[1].done("apply", "model"))
def _apply_changes(ctx: Ctx, a: Action) -> Done:
    name, s = find_system(ctx, a)
    _deployment(a, name, s)
    stale = [u for u in s.active if not s.done(f"sync:{u}", f"unit:{u}")]
    if stale:
        raise FatalError(f"{a.id}: synchronize the instances of {', '.join(stale)} first")
    ctx.edit_system(name).marks["apply"] = ctx.seq
    return Done("changes applied to all hosts")


@verb("save_model", lambda ctx, a: find_system(ctx, a)[1].done("save", "any"))
def _save(ctx: Ctx, a: Action) -> Done:
    name, _ = find_system(ctx, a)
    ctx.edit_system(name).marks["save"] = ctx.seq
    return Done("system model saved")
