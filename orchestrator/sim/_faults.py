"""Fault files for the simulated lab: which host (and optionally which actions) misbehave,
and how. Every error names the file and line."""

from __future__ import annotations

import dataclasses
import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import FaultSpecError, InputError, Location
from ..plan import Action, Plan
from ..schema import did_you_mean
from ..sourcemap import LocList, LocMap, load_yaml

EFFECTS = ("exit_codes", "unreachable", "transient", "lost_answer", "reboot", "fail")
KEYS = ("host", "action", *EFFECTS, "factor", "files_in_use")
INSTALLER_KINDS = frozenset({"install", "uninstall"})


@dataclass(frozen=True)
class Fault:
    """One entry of a fault file. ``count`` is how many uses it has (None: unlimited);
    ``action_ids`` the plan actions it applies to."""

    index: int
    host: str
    action: str | None
    action_ids: frozenset[str]
    effect: str
    where: Location
    exit_codes: tuple[int, ...] = ()
    count: int | None = None
    reboot: str = ""
    factor: float = 1.0
    message: str = ""
    files_in_use: bool = False

    @property
    def key(self) -> str:
        """The name its use counter is stored under."""
        return f"{self.index}:{self.host}:{self.action or '*'}:{self.effect}"


@dataclass(frozen=True)
class FaultSpec:
    """The faults to inject, in file order."""

    faults: tuple[Fault, ...]
    source: str = "<faults>"


def load_faults(path: Path, plan: Plan) -> FaultSpec:
    """Read and check a fault file against ``plan``; bad input raises FaultSpecError."""
    try:
        doc = load_yaml(path)
    except InputError as exc:
        raise FaultSpecError(exc.message, exc.where) from None
    if not isinstance(doc, LocMap) or "faults" not in doc:
        where = doc.where() if isinstance(doc, LocMap) else Location(str(path), 1)
        raise FaultSpecError("a fault file is a mapping with a 'faults' list", where)
    for key in doc:
        if key != "faults":
            raise FaultSpecError(
                f"unknown key {key!r}{did_you_mean(str(key), ['faults'])}", doc.where(key)
            )
    items = doc["faults"]
    if not isinstance(items, LocList):
        raise FaultSpecError("'faults' must be a list", doc.where("faults"))
    by_host: dict[str, list[Action]] = {}
    for a in plan.actions:
        if a.host:
            by_host.setdefault(a.host, []).append(a)
    hosts = sorted(set(plan.facts.get("hosts", {})) | set(by_host))
    faults = []
    for i, item in enumerate(items):
        if not isinstance(item, LocMap):
            raise FaultSpecError("each fault must be a mapping", items.where(i))
        faults.append(_fault(i, item, hosts, by_host))
    return FaultSpec(tuple(faults), str(path))


def _fault(i: int, m: LocMap, hosts: list[str], by_host: dict[str, list[Action]]) -> Fault:
    for key in m:
        if key not in KEYS:
            raise FaultSpecError(f"unknown key {key!r}{did_you_mean(str(key), KEYS)}", m.where(key))
    host = m.get("host")
    if not isinstance(host, str):
        raise FaultSpecError("a fault needs 'host': the name of a host of the plan", m.where())
    if host not in hosts:
        raise FaultSpecError(f"unknown host {host!r}{did_you_mean(host, hosts)}", m.where("host"))
    pattern = m.get("action")
    actions = by_host.get(host, [])
    if pattern is not None:
        if not isinstance(pattern, str):
            raise FaultSpecError("'action' must be an action kind, id or glob", m.where("action"))
        actions = [a for a in actions if matches(a, pattern)]
        if not actions:
            raise FaultSpecError(f"no action of host {host} matches {pattern!r}", m.where("action"))
    effects = [e for e in EFFECTS if e in m]
    if len(effects) != 1:
        found = ", ".join(effects) or "none"
        raise FaultSpecError(
            f"a fault needs exactly one effect ({', '.join(EFFECTS)}); found {found}", m.where()
        )
    effect = effects[0]
    base = Fault(i, host, pattern, frozenset(a.id for a in actions), effect, m.where())
    return _effect(base, m, effect, actions)


def _effect(f: Fault, m: LocMap, effect: str, actions: list[Action]) -> Fault:
    value: Any = m[effect]
    for key, owner in (("factor", "reboot"), ("files_in_use", "exit_codes")):
        if key in m and effect != owner:
            raise FaultSpecError(f"{key!r} does not go with {effect!r}", m.where(key))
    kinds = {a.kind for a in actions}
    if effect == "exit_codes":
        if not isinstance(value, list) or not value or not all(_is_int(v) for v in value):
            raise FaultSpecError(
                "'exit_codes' must be a non-empty list of integers", m.where(effect)
            )
        if not kinds & INSTALLER_KINDS:
            raise FaultSpecError(
                f"'exit_codes' applies to install and uninstall actions; {f.host} has none here",
                m.where(effect),
            )
        fiu = m.get("files_in_use", False)
        if not isinstance(fiu, bool) or (fiu and 1603 not in value):
            raise FaultSpecError(
                "'files_in_use' must be true or false, and needs 1603 in exit_codes",
                m.where("files_in_use"),
            )
        ids = frozenset(a.id for a in actions if a.kind in INSTALLER_KINDS)
        return _replace(f, ids, exit_codes=tuple(value), count=len(value), files_in_use=fiu)
    if effect in ("unreachable", "transient", "lost_answer"):
        unlimited = effect == "unreachable" and value is True
        if not unlimited and not (_is_int(value) and value >= 1):
            what = "true or a positive integer" if effect == "unreachable" else "a positive integer"
            raise FaultSpecError(f"{effect!r} must be {what}", m.where(effect))
        return _replace(f, f.action_ids, count=None if unlimited else int(value))
    if effect == "reboot":
        if value not in ("slow", "fail"):
            raise FaultSpecError(
                f"'reboot' must be 'slow' or 'fail', not {value!r}", m.where(effect)
            )
        if "reboot" not in kinds:
            raise FaultSpecError(f"host {f.host} has no matching reboot action", m.where(effect))
        factor = m.get("factor", 3)
        if value == "fail" and "factor" in m:
            raise FaultSpecError("'factor' goes with 'reboot: slow' only", m.where("factor"))
        if isinstance(factor, bool) or not isinstance(factor, int | float) or factor <= 0:
            raise FaultSpecError("'factor' must be a positive number", m.where("factor"))
        ids = frozenset(a.id for a in actions if a.kind == "reboot")
        return _replace(f, ids, reboot=str(value), factor=float(factor), count=None)
    if not isinstance(value, str) or not value.strip():
        raise FaultSpecError("'fail' must be the error message to raise", m.where(effect))
    return _replace(f, f.action_ids, message=value)


def _replace(f: Fault, ids: frozenset[str], **changes: Any) -> Fault:
    return dataclasses.replace(f, action_ids=ids, **changes)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def matches(a: Action, pattern: str) -> bool:
    """True if ``pattern`` (a kind, an id or an fnmatch glob over ids) selects ``a``."""
    return a.kind == pattern or a.id == pattern or fnmatch.fnmatchcase(a.id, pattern)
