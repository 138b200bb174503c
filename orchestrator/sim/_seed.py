"""Seeding the twin from a plan's facts and actions, and the plan-derived lookups the verbs
need (:class:`PlanIndex`): the version each host's main install brings, capacity guarantees,
where build outputs live."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..facts import CLUSTER_SERVICES
from ..plan import Action, Plan
from ._state import (
    RUNNING,
    ClusterState,
    GroupState,
    HostState,
    NodeState,
    PoolState,
    SystemState,
    World,
    installed_version,
)

BUILD_KINDS = frozenset({"build_prepare", "build_admin_image", "build_pcp", "build_patch"})
ADMIN_IMAGE = "admin-image (uncompressed)"


def join(folder: str, name: str) -> str:
    """Windows path join."""
    return folder.rstrip("\\") + "\\" + name


def basename(path: str) -> str:
    """Last component of a Windows or UNC path."""
    return path.rstrip("\\").rsplit("\\", 1)[-1]


def build_outputs(action: Action) -> list[tuple[str, str]]:
    """``(path, what)`` created on the build host by a ``build_*`` action."""
    p = action.params
    if action.kind == "build_prepare":
        workdir = str(p["workdir"])
        out = [(workdir, "dir")]
        out += [(join(workdir, str(f)), "dir") for f in p.get("folders", [])]
        out += [
            (join(join(workdir, k), basename(str(v))), "file") for k, v in p.get("copy", {}).items()
        ]
        return out
    if action.kind == "build_admin_image":
        return [(str(p["target_dir"]), ADMIN_IMAGE), (str(p["log"]), "file")]
    if action.kind == "build_pcp":
        return [(str(p["pcp"]), "file")]
    if action.kind == "build_patch":
        return [(str(p["msp"]), "file"), (str(p["log"]), "file")]
    return []


@dataclass
class PlanIndex:
    """Lookups derived from the plan (not persisted: recomputed on every open)."""

    hosts: frozenset[str] = frozenset()
    main_version: dict[str, str] = field(default_factory=dict)
    cluster_max_out: dict[str, int] = field(default_factory=dict)
    rolling_max_out: dict[str, int] = field(default_factory=dict)
    admin_images: dict[str, dict[str, str]] = field(default_factory=dict)
    build_sources: dict[str, tuple[str, str]] = field(default_factory=dict)
    cluster_of: dict[str, str] = field(default_factory=dict)
    #: Servers of their own (no pool, cluster, fleet or system) that the plan installs on:
    #: their users are cut off while the install runs (their services stop).
    standalone: frozenset[str] = frozenset()

    def build_source(self, source: str) -> tuple[str, str] | None:
        """``(build host, local path)`` if ``source`` names a build output of the plan."""
        return self.build_sources.get(source.lower())


def build_index(plan: Plan) -> PlanIndex:
    """The lookups of ``plan``."""
    facts: Mapping[str, Any] = plan.facts
    idx = PlanIndex()
    hosts = set(facts.get("hosts", {}))
    hosts.update(a.host for a in plan.actions if a.host)
    idx.hosts = frozenset(hosts)
    for a in plan.actions:
        p = a.params
        if a.kind == "install" and a.host and not p.get("component"):
            version = str(p.get("version") or "")
            idx.main_version[a.host] = installed_version(str(p.get("package", "")), version)
        if a.kind == "build_admin_image" and a.host:
            idx.admin_images.setdefault(a.host, {})[str(p["image"])] = str(p["target_dir"])
        if a.kind in BUILD_KINDS and a.host:
            for path, _ in build_outputs(a):
                local = path.split(":", 1)[1].lstrip("\\") if ":" in path[:3] else path
                idx.build_sources[path.lower()] = (a.host, path)
                idx.build_sources[f"\\\\{a.host}\\{local}".lower()] = (a.host, path)
    alone = {
        h
        for h, info in facts.get("hosts", {}).items()
        if not any(info.get(k) for k in ("pool", "cluster", "fleet", "system"))
    }
    idx.standalone = frozenset(h for h in idx.main_version if h in alone)
    for name, g in plan.guarantees.get("clusters", {}).items():
        idx.cluster_max_out[name] = int(g.get("max_out", 1))
    for name, g in plan.guarantees.get("pools", {}).items():
        if g.get("mode") == "rolling":
            declared = facts.get("pools", {}).get(name, {}).get("max_out", 1)
            idx.rolling_max_out[name] = int(g.get("max_out", declared))
    for name, c in facts.get("clusters", {}).items():
        for node in c.get("nodes", []):
            idx.cluster_of[node] = name
    return idx


def seed_world(plan: Plan, index: PlanIndex) -> World:
    """The state before any change: every service the plan names running, every package it
    uninstalls present, every file it preserves customised, every hotfix it removes present."""
    facts: Mapping[str, Any] = plan.facts
    world = World(hosts={h: HostState() for h in sorted(index.hosts)})
    for a in plan.actions:
        _seed_from_action(world, a)
    for name, c in facts.get("clusters", {}).items():
        groups = {
            g: GroupState(
                owner=str(info["owner"]),
                kind=str(info.get("kind", "generic")),
                preferred_owners=[str(n) for n in info.get("preferred_owners", [])],
                resources={str(r["name"]): str(r["type"]) for r in info.get("resources", [])},
                possible_owners=[str(n) for n in info.get("possible_owners", [])],
                controls={
                    str(r["name"]): str(r.get("service") or CLUSTER_SERVICES[str(r["type"])])
                    for r in info.get("resources", [])
                    if r.get("service") or str(r["type"]) in CLUSTER_SERVICES
                },
            )
            for g, info in c.get("groups", {}).items()
        }
        world.clusters[name] = ClusterState({str(n): NodeState() for n in c["nodes"]}, groups)
    for name, p in facts.get("pools", {}).items():
        members = [str(m) for m in p.get("members", [])]
        world.pools[name] = PoolState(str(p.get("mode", "rolling")), members, list(members))
    for name, s in facts.get("systems", {}).items():
        if s.get("kind", "contact-center") != "contact-center":
            continue
        units = s.get("units", {})
        world.systems[name] = SystemState(
            admin_host=str(s.get("admin_host", "")),
            active={u: True for u in units},
            package_base={
                u: {p: str(v["base"]) for p, v in units[u]["packages"].items()} for u in units
            },
            packages={u: {p: [] for p in units[u]["packages"]} for u in units},
            bases={str(b): [] for b in s.get("base_installations", [])},
        )
    for a in plan.actions:
        _seed_removal(world, a)
    return world


def _seed_from_action(world: World, a: Action) -> None:
    if not a.host:
        return
    host = world.hosts[a.host]
    p = a.params
    services: list[str] = []
    if a.kind in ("stop_services", "start_services"):
        services = [str(s) for s in p.get("services", [])]
        if p.get("purpose") == "product":
            _add_product(host, services)
        elif p.get("purpose") == "interfering":
            host.interfering.extend(x for x in services if x not in host.interfering)
    elif a.kind in ("verify", "preflight") and p.get("check") == "services-running":
        services = [str(s) for s in p.get("services", [])]
        _add_product(host, services)
    for s in services:
        host.services.setdefault(s, RUNNING)
    if a.kind == "uninstall":
        host.packages.setdefault(str(p["package"]), "")
    if a.kind == "preserve_files":
        for f in p.get("files", []):
            host.custom_files[str(f)] = "custom"


def _add_product(host: HostState, services: list[str]) -> None:
    for s in services:
        if s not in host.product_services:
            host.product_services.append(s)


def _seed_removal(world: World, a: Action) -> None:
    system = world.systems.get(str(a.params.get("system", "")))
    if system is None:
        return
    hotfix = str(a.params.get("hotfix", ""))
    if a.kind == "remove_hotfix_from_base":
        base = system.bases.setdefault(str(a.params["base"]), [])
        if hotfix not in base:
            base.append(hotfix)
    elif a.kind == "remove_hotfix_from_package":
        pkgs = system.packages.setdefault(str(a.params["unit"]), {})
        fixes = pkgs.setdefault(str(a.params["package"]), [])
        if hotfix not in fixes:
            fixes.append(hotfix)
    else:
        return
    if hotfix not in system.extracted:
        system.extracted.append(hotfix)
