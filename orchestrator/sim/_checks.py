"""Read-only checks (``preflight`` and ``verify``): probe is always False, apply performs the
check and raises :class:`VerificationFailed` with a clear message when it does not hold."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import VerificationFailed
from ..plan import Action
from ._health import newer, node_status
from ._state import RUNNING, ClusterState, HostState
from ._verbs import Ctx, Done, find_host, host_of, strings, verb

Check = Callable[[Ctx, Action], str]
CHECKS: dict[str, Check] = {}


def check(name: str) -> Callable[[Check], Check]:
    """Register check ``name``."""

    def register(fn: Check) -> Check:
        CHECKS[name] = fn
        return fn

    return register


def fail(a: Action, message: str) -> VerificationFailed:
    """The error of a failed check."""
    return VerificationFailed(f"{a.id}: {message}")


def _run(ctx: Ctx, a: Action) -> Done:
    name = str(a.params.get("check", ""))
    fn = CHECKS.get(name)
    summary = fn(ctx, a) if fn else f"{name}: passed"
    return Done(summary)


verb("preflight", lambda ctx, a: False)(_run)
verb("verify", lambda ctx, a: False)(_run)


@check("backup")
def _backup(ctx: Ctx, a: Action) -> str:
    h, limit = find_host(ctx, a), a.params.get("max_age_hours")
    if limit is not None and h.backup_age_h > float(limit):
        raise fail(a, f"the last full backup of {a.host} is {h.backup_age_h:g} h old (max {limit})")
    return f"backup {h.backup_age_h:g} h old"


@check("disk-space")
def _disk(ctx: Ctx, a: Action) -> str:
    h, need = find_host(ctx, a), int(a.params.get("min_free_mb", 0))
    if h.disk_free_mb < need:
        raise fail(a, f"{a.host} has {h.disk_free_mb} MB free, {need} MB needed")
    return f"{h.disk_free_mb} MB free"


def _cluster(ctx: Ctx, a: Action) -> tuple[str, ClusterState]:
    name = a.cluster or ""
    if name not in ctx.world.clusters:
        raise fail(a, f"unknown cluster {name or '(none)'}")
    return name, ctx.world.clusters[name]


@check("cluster-healthy")
def _healthy(ctx: Ctx, a: Action) -> str:
    name, c = _cluster(ctx, a)
    nodes = strings(a, "nodes") or list(c.nodes)
    bad = [f"{n} is {node_status(ctx.world, ctx.flight, name, n)}" for n in nodes if n in c.nodes]
    bad = [b for b in bad if not b.endswith(" Up")]
    bad += [f"{n} is not a node" for n in nodes if n not in c.nodes]
    for group, owner in dict(a.params.get("owners") or {}).items():
        now = c.groups[group].owner if group in c.groups else "(no such group)"
        if now != owner:
            bad.append(f"{group} is on {now}, expected on {owner}")
    if bad:
        raise fail(a, f"cluster {name} is not healthy: {'; '.join(bad)}")
    return f"cluster {name} healthy"


@check("no-installer-running")
def _no_installer(ctx: Ctx, a: Action) -> str:
    busy = [h for h, n in ctx.flight.installing.items() if n and (a.host in (None, h))]
    if busy:
        raise fail(a, f"an installer is running on {', '.join(sorted(busy))}")
    return "no installer running"


@check("version")
def _version(ctx: Ctx, a: Action) -> str:
    h, expect = find_host(ctx, a), str(a.params.get("expect", ""))
    want = ctx.index.main_version.get(a.host or "", expect)
    if h.version != want:
        raise fail(
            a, f"{a.host} runs {h.version or 'the original version'}, expected {expect} ({want})"
        )
    return f"{a.host} runs {expect}"


@check("patch-level")
def _patch_level(ctx: Ctx, a: Action) -> str:
    h, expect = find_host(ctx, a), str(a.params.get("expect", ""))
    if h.version != expect:
        raise fail(a, f"{a.host} is at {h.version or 'the original level'}, expected {expect}")
    return f"{a.host} at {expect}"


def _runs(ctx: Ctx, host: str, h: HostState, service: str) -> bool:
    """Whether ``service`` runs on ``host``. A service that a cluster resource runs is up
    only on the node owning the group, while the resource is online and the group is not
    moving (the cluster stops it everywhere else)."""
    cluster = ctx.index.cluster_of.get(host)
    c = ctx.world.clusters.get(cluster or "")
    wanted = service.casefold()  # Windows service names ignore case
    controlled = (
        {v.casefold() for g in c.groups.values() for v in g.controls.values()} if c else set()
    )
    if c is not None and wanted in controlled:
        return any(
            g.owner == host
            and (cluster, name) not in ctx.flight.moving
            and any(v.casefold() == wanted and r not in g.offline for r, v in g.controls.items())
            and node_status(ctx.world, ctx.flight, str(cluster), host) != "Down"
            for name, g in c.groups.items()
        )
    return h.services.get(service) == RUNNING


@check("services-running")
def _services(ctx: Ctx, a: Action) -> str:
    h = find_host(ctx, a)
    stopped = [s for s in strings(a, "services") if not _runs(ctx, host_of(a), h, s)]
    if stopped:
        raise fail(a, f"not running on {a.host}: {', '.join(stopped)}")
    return "services running"


@check("failover")
def _failover(ctx: Ctx, a: Action) -> str:
    name, c = _cluster(ctx, a)
    down = [n for n in c.nodes if node_status(ctx.world, ctx.flight, name, n) != "Up"]
    if down:
        raise fail(a, f"cluster {name}: groups cannot move to {', '.join(down)} (not Up)")
    for g in strings(a, "groups") or list(c.groups):
        group = c.groups.get(g)
        if group is None:
            raise fail(a, f"cluster {name} has no group {g}")
        older = [n for n in c.nodes if newer(group.version, ctx.world.hosts[n].version)]
        if older:
            raise fail(a, f"{g} ({group.version}) cannot fail over to {', '.join(older)}")
    return f"every group of {name} can fail over"
