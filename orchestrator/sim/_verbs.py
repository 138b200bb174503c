"""The verb registry: per action kind, how to probe it, what must hold before it starts
(with the in-flight state it holds while it runs), and its effect. The kind modules
(``_verbs_host``, ``_verbs_cluster``, ``_verbs_system``, ``_verbs_build``, ``_checks``)
register themselves here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..engine._protocols import StepResult
from ..errors import FatalError
from ..plan import Action
from ._health import InFlight
from ._seed import PlanIndex
from ._state import ClusterState, GroupState, HostState, PoolState, SystemState, World

Release = Callable[[], None]


@dataclass
class Ctx:
    """What a verb sees: the state, in-flight operations, plan lookups, the sequence number
    its mutation will get, and (for installs) an exit code injected by a fault."""

    world: World
    flight: InFlight
    index: PlanIndex
    seq: int
    touched: set[str] = field(default_factory=set)
    exit_code: int | None = None
    files_in_use: bool = False

    def edit_host(self, name: str) -> HostState:
        """Host ``name``, marked as changed."""
        self.touched.add(f"host:{name}")
        return self.world.hosts[name]

    def edit_cluster(self, name: str) -> ClusterState:
        """Cluster ``name``, marked as changed."""
        self.touched.add(f"cluster:{name}")
        return self.world.clusters[name]

    def edit_pool(self, name: str) -> PoolState:
        """Pool ``name``, marked as changed."""
        self.touched.add(f"pool:{name}")
        return self.world.pools[name]

    def edit_system(self, name: str) -> SystemState:
        """System ``name``, marked as changed."""
        self.touched.add(f"system:{name}")
        return self.world.systems[name]


@dataclass(frozen=True)
class Done:
    """A verb's effect, in words, and what ``apply`` returns."""

    summary: str
    result: StepResult = field(default_factory=StepResult)


Probe = Callable[[Ctx, Action], bool]
Effect = Callable[[Ctx, Action], Done]
Begin = Callable[[Ctx, Action], Release | None]


@dataclass(frozen=True)
class Verb:
    """How the lab handles one kind. ``begin`` checks preconditions and marks in-flight
    state (returning how to release it); ``needs_host``: the action's host must answer."""

    probe: Probe
    effect: Effect
    begin: Begin | None = None
    needs_host: bool = True


VERBS: dict[str, Verb] = {}


def verb(
    kind: str, probe: Probe, begin: Begin | None = None, needs_host: bool = True
) -> Callable[[Effect], Effect]:
    """Register ``kind``: decorate its effect function."""

    def register(effect: Effect) -> Effect:
        VERBS[kind] = Verb(probe, effect, begin, needs_host)
        return effect

    return register


def host_of(a: Action) -> str:
    """The action's host (the plan contract requires one for host verbs)."""
    if not a.host:
        raise FatalError(f"{a.id}: a {a.kind} action needs a host")
    return a.host


def find_host(ctx: Ctx, a: Action) -> HostState:
    """The action's host state."""
    name = host_of(a)
    if name not in ctx.world.hosts:
        raise FatalError(f"{a.id}: unknown host {name}")
    return ctx.world.hosts[name]


def find_group(ctx: Ctx, a: Action, name: str | None = None) -> tuple[str, GroupState]:
    """``(cluster, group)`` named by the action (``params.group`` unless ``name``)."""
    cluster = a.cluster or ctx.index.cluster_of.get(a.host or "", "")
    c = ctx.world.clusters.get(cluster)
    if c is None:
        raise FatalError(f"{a.id}: unknown cluster {cluster or '(none)'}")
    group = name if name is not None else str(a.params.get("group", ""))
    if group not in c.groups:
        raise FatalError(f"{a.id}: cluster {cluster} has no group {group!r}")
    return cluster, c.groups[group]


def find_system(ctx: Ctx, a: Action) -> tuple[str, SystemState]:
    """``(name, system)`` named by ``params.system``."""
    name = str(a.params.get("system", ""))
    if name not in ctx.world.systems:
        raise FatalError(f"{a.id}: unknown system {name!r}")
    return name, ctx.world.systems[name]


def strings(a: Action, key: str) -> list[str]:
    """``params[key]`` as a list of strings."""
    return [str(v) for v in a.params.get(key) or []]
