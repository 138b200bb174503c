"""Playbooks: the declarative description of one maintenance procedure.

:func:`load_playbook` reads a YAML playbook, checks it against
:data:`~orchestrator.playbook_spec.PLAYBOOK` (file:line errors, "did you mean") and returns a
typed :class:`Playbook`. Names that point into the inventory keep their :class:`Location` so
that the planner can report an unknown host or group at the line where it was written.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .errors import Location, SchemaError, WindowError
from .playbook_spec import DURATION, PLAYBOOK
from .schema import check
from .service_names import service_name_problem
from .sourcemap import LocList, LocMap, load_yaml_text, read_text, where
from .timespec import parse_time


@dataclass(frozen=True)
class Ref:
    """A name written in the playbook (host, group, role:NAME, node) and where."""

    name: str
    where: Location


@dataclass(frozen=True)
class Check:
    """A preflight or verification check."""

    check: str
    gate: str = "run"
    hosts: tuple[Ref, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Hook:
    """A per-host command run before (pre) or after (post) the host's work."""

    name: str
    run: str
    hosts: tuple[Ref, ...] = ()


@dataclass(frozen=True)
class Component:
    """A separate component with its own installer, or a prerequisite (``when: before``)."""

    name: str
    kind: str
    source: str
    hosts: tuple[Ref, ...]
    version: str = ""
    when: str = "after"
    reboot: bool = False
    arguments: str = ""


@dataclass(frozen=True)
class Package:
    """What is applied to the targets."""

    name: str
    kind: str
    source: str
    version: str = ""
    arguments: str = ""
    success_codes: tuple[int, ...] = (0,)
    reboot_codes: tuple[int, ...] = (3010, 1641)
    level: int | None = None
    install_dir: str | None = None
    customization: str | None = None
    force: bool = False
    registry_key: str | None = None
    product_code: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    replaces: dict[str, Any] | None = None
    preserve: tuple[str, ...] = ()
    components: tuple[Component, ...] = ()


@dataclass(frozen=True)
class ClusterPolicy:
    """How one cluster is upgraded."""

    strategy: str
    where: Location
    node_order: tuple[Ref, ...] = ()
    max_out: int = 1
    upgrade_virtual_servers: bool | None = None
    failback: bool = True
    verify_failover: bool = True


@dataclass(frozen=True)
class Window:
    """A maintenance window."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Playbook:
    """A loaded, schema-checked playbook."""

    name: str
    path: str
    sha256: str
    description: str = ""
    acknowledge: tuple[str, ...] = ()
    package: Package | None = None
    targets: tuple[Ref, ...] = ()
    tiers: tuple[tuple[Ref, ...], ...] = ()
    pools: dict[str, tuple[str, int | None, Location]] = field(default_factory=dict)
    clusters: dict[str, ClusterPolicy] = field(default_factory=dict)
    cluster_default: ClusterPolicy | None = None
    fleets: dict[str, tuple[tuple[int | str, ...], Location]] = field(default_factory=dict)
    preflight: tuple[Check, ...] = ()
    interfering_services: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    pre_hooks: tuple[Hook, ...] = ()
    post_hooks: tuple[Hook, ...] = ()
    reboot: str = "if-required"
    verify: tuple[Check, ...] = ()
    failure_budget: dict[str, Any] = field(default_factory=dict)
    retries: dict[str, Any] = field(default_factory=dict)
    timeouts: dict[str, int] = field(default_factory=dict)
    estimates: dict[str, int] = field(default_factory=dict)
    window: Window | None = None
    model_hotfix: dict[str, Any] | None = None
    model_hotfix_where: Location | None = None
    build: dict[str, Any] | None = None
    build_where: Location | None = None
    #: Where each service name (services, interfering_services, checks' params.services)
    #: was first written, for the planner's per-platform check.
    service_where: dict[str, Location] = field(default_factory=dict)


def _refs(value: Any) -> tuple[Ref, ...]:
    if not isinstance(value, LocList):
        return ()
    return tuple(Ref(str(v), value.where(i)) for i, v in enumerate(value))


def _checks(value: Any) -> tuple[Check, ...]:
    out = []
    for item in value or ():
        if isinstance(item, str):
            out.append(Check(check=item))
        else:
            out.append(
                Check(
                    check=item["check"],
                    gate=item.get("gate", "run"),
                    hosts=_refs(item.get("hosts")),
                    params=_plain(item.get("params", {})),
                )
            )
    return tuple(out)


def _service_where(raw: LocMap) -> dict[str, Location]:
    """The location of every service name in the playbook; a check's ``params.services``
    is held to the same rule as ``services`` here (its params are free-form in the spec)."""
    found: dict[str, Location] = {}
    lists: list[tuple[str, Any]] = [(k, raw.get(k)) for k in ("interfering_services", "services")]
    for section in ("preflight", "verify"):
        for i, item in enumerate(raw.get(section) or ()):
            if isinstance(item, LocMap) and isinstance(item.get("params"), LocMap):
                services = item["params"].get("services")
                label = f"{section}[{i}].params.services"
                if services is not None and not isinstance(services, LocList):
                    raise SchemaError(f"{label} must be a list of service names", item.where())
                lists.append((label, services))
    for label, names in lists:
        if not isinstance(names, LocList):
            continue
        for i, name in enumerate(names):
            loc = names.where(i)
            problem = service_name_problem(name)
            if problem:
                raise SchemaError(f"{label}[{i}] {name!r} is not allowed: {problem}", loc)
            found.setdefault(name, loc)
    return found


def _plain(value: Any) -> Any:
    """Strip location wrappers (LocMap/LocList become dict/list)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _package(raw: LocMap) -> Package:
    comps = tuple(
        Component(
            name=c["name"],
            kind=c["kind"],
            source=c["source"],
            hosts=_refs(c["hosts"]),
            version=c.get("version", ""),
            when=c.get("when", "after"),
            reboot=c.get("reboot", False),
            arguments=c.get("arguments", ""),
        )
        for c in raw.get("components", ())
    )
    if raw["kind"] == "patch-level" and "level" not in raw:
        raise SchemaError(
            "a patch-level package needs `level` (the level to upgrade to)", raw.where()
        )
    if raw["kind"] != "patch-level" and "level" in raw:
        raise SchemaError("`level` is only for patch-level packages", raw.where("level"))
    if raw["kind"] != "patch-level" and "install_dir" in raw:
        raise SchemaError(
            "`install_dir` is only for patch-level packages", raw.where("install_dir")
        )
    for key in ("customization", "force", "registry_key"):
        if key in raw and "install_dir" not in raw:
            raise SchemaError(
                f"`{key}` is only for patch-level packages with `install_dir`", raw.where(key)
            )
    return Package(
        name=raw["name"],
        kind=raw["kind"],
        source=raw["source"],
        version=str(raw.get("version", "")),
        arguments=raw.get("arguments", ""),
        success_codes=tuple(raw.get("success_codes", (0,))),
        reboot_codes=tuple(raw.get("reboot_codes", (3010, 1641))),
        level=raw.get("level"),
        install_dir=raw.get("install_dir"),
        customization=raw.get("customization"),
        force=raw.get("force", False),
        registry_key=raw.get("registry_key"),
        product_code=raw.get("product_code"),
        properties=_plain(raw.get("properties", {})),
        replaces=_plain(raw.get("replaces")),
        preserve=tuple(raw.get("preserve", ())),
        components=comps,
    )


def _cluster_policy(c: LocMap, loc: Location) -> ClusterPolicy:
    return ClusterPolicy(
        strategy=c["strategy"],
        where=loc,
        node_order=_refs(c.get("node_order")),
        max_out=c.get("max_out", 1),
        upgrade_virtual_servers=c.get("upgrade_virtual_servers"),
        failback=c.get("failback", True),
        verify_failover=c.get("verify_failover", True),
    )


def _duration(text: str) -> timedelta:
    m = re.fullmatch(DURATION, text)
    assert m is not None  # the schema checked the pattern
    h, mi, s = (int(g[:-1]) if g else 0 for g in m.groups())
    return timedelta(hours=h, minutes=mi, seconds=s)


def _window(raw: LocMap) -> Window:
    start = parse_time(raw["start"])  # without an offset: UTC
    if ("end" in raw) == ("duration" in raw):
        raise WindowError("a window needs exactly one of `end` or `duration`", raw.where())
    end = parse_time(raw["end"]) if "end" in raw else start + _duration(raw["duration"])
    if end <= start:
        key = "end" if "end" in raw else "duration"
        raise WindowError(
            f"the maintenance window ends ({end.isoformat()}) before it starts "
            f"({start.isoformat()})",
            raw.where(key),
        )
    return Window(start, end)


def parse_playbook(text: str, path: str) -> Playbook:
    """Parse and check playbook ``text`` read from ``path``."""
    raw = load_yaml_text(text, path)
    if raw is None:
        raise SchemaError("the playbook is empty", Location(path, 1))
    check(PLAYBOOK, raw, "", where(raw, default_file=path))
    if "package" not in raw and "model_hotfix" not in raw:
        raise SchemaError("a playbook needs a `package` or a `model_hotfix`", raw.where())
    if "package" in raw and "targets" not in raw:
        raise SchemaError("a playbook with a `package` needs `targets`", raw.where("package"))
    if "targets" in raw and "package" not in raw:
        raise SchemaError("`targets` without a `package`: nothing to apply", raw.where("targets"))
    pools = {
        name: (p["mode"], p.get("max_out"), raw["pools"].where(name))
        for name, p in raw.get("pools", {}).items()
    }
    clusters = {
        name: _cluster_policy(c, raw["clusters"].where(name))
        for name, c in raw.get("clusters", {}).items()
    }
    default = raw.get("cluster_default")
    if default is not None and "node_order" in default:
        raise SchemaError("cluster_default cannot have a node_order", default.where("node_order"))
    fleets = {}
    for name, f in raw.get("fleets", {}).items():
        serial = f["serial"]
        fleets[name] = (
            tuple(serial) if isinstance(serial, list) else (serial,),
            raw["fleets"].where(name),
        )
    hooks = raw.get("hooks", {})
    service_where = _service_where(raw)

    def _hooks(items: Any) -> tuple[Hook, ...]:
        return tuple(Hook(h["name"], h["run"], _refs(h.get("hosts"))) for h in items or ())

    return Playbook(
        name=raw["name"],
        path=path,
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        description=raw.get("description", ""),
        acknowledge=tuple(raw.get("acknowledge", ())),
        package=_package(raw["package"]) if "package" in raw else None,
        targets=_refs(raw.get("targets")),
        tiers=tuple(_refs(t) for t in raw.get("tiers", ())),
        pools=pools,
        clusters=clusters,
        cluster_default=_cluster_policy(default, raw.where("cluster_default")) if default else None,
        fleets=fleets,
        preflight=_checks(raw.get("preflight")),
        interfering_services=tuple(raw.get("interfering_services", ())),
        services=tuple(raw.get("services", ())),
        pre_hooks=_hooks(hooks.get("pre")),
        post_hooks=_hooks(hooks.get("post")),
        reboot=raw.get("reboot", "if-required"),
        verify=_checks(raw.get("verify")),
        failure_budget=_plain(raw.get("failure_budget", {})),
        retries=_plain(raw.get("retries", {})),
        timeouts=_plain(raw.get("timeouts", {})),
        estimates=_plain(raw.get("estimates", {})),
        window=_window(raw["window"]) if "window" in raw else None,
        model_hotfix=_plain(raw.get("model_hotfix")),
        model_hotfix_where=raw.where("model_hotfix") if "model_hotfix" in raw else None,
        build=_plain(raw.get("build")),
        build_where=raw.where("build") if "build" in raw else None,
        service_where=service_where,
    )


def load_playbook(path: Path) -> Playbook:
    """Read and check the playbook at ``path``."""
    return parse_playbook(read_text(path), str(path))
