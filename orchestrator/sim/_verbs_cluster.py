"""Failover-cluster verbs with the real refusals: a move to a paused node (5070), to a down
node or one whose Cluster service is stopped (5050), to a node that is not a possible owner
of the group (5015, MS-CMRP ApiMoveGroupToNode), an upgraded Exchange virtual server onto a
node running an older version (c1037b44), and Upgrade EVS while the Distributed Transaction
Coordinator is not online (KB 328839: it fails if the DTC goes offline under it)."""

from __future__ import annotations

from ..errors import FatalError
from ..facts import DTC_RESOURCE
from ..plan import Action
from ._health import dtc_offline, newer, node_status
from ._state import RUNNING, STOPPED, UPGRADE_KEEP, GroupState
from ._verbs import Ctx, Done, Release, find_group, host_of, strings, verb

ERROR_HOST_NODE_NOT_RESOURCE_OWNER = 5015
ERROR_CLUSTER_NODE_DOWN = 5050
ERROR_CLUSTER_NODE_PAUSED = 5070
C1037B44 = 0xC1037B44


def node_ok(ctx: Ctx, a: Action, cluster: str, node: str, allow_paused: bool = False) -> None:
    """Raise the cluster's error if ``node`` cannot take a group now."""
    if node not in ctx.world.clusters[cluster].nodes:
        raise FatalError(f"{a.id}: {node} is not a node of cluster {cluster}")
    status = node_status(ctx.world, ctx.flight, cluster, node)
    if status == "Down":
        raise FatalError(
            f"{a.id}: node {node} is down or its Cluster service is stopped "
            "(5050 ERROR_CLUSTER_NODE_DOWN)",
            exit_code=ERROR_CLUSTER_NODE_DOWN,
        )
    if status == "Paused" and not allow_paused:
        raise FatalError(
            f"{a.id}: node {node} is paused (5070 ERROR_CLUSTER_NODE_PAUSED)",
            exit_code=ERROR_CLUSTER_NODE_PAUSED,
        )


def version_ok(ctx: Ctx, a: Action, name: str, g: GroupState, node: str) -> None:
    """Raise c1037b44 if group ``g`` is newer than what ``node`` runs."""
    runs = ctx.world.hosts[node].version
    if newer(g.version, runs):
        raise FatalError(
            f"{a.id}: {name} cannot come online on {node} (error c1037b44): the virtual server "
            f"was upgraded to {g.version} and {node} runs {runs or 'an older version'}",
            exit_code=C1037B44,
        )


def _moves(ctx: Ctx, a: Action, names: list[str], to: str, allow_paused: bool) -> Release:
    """Check that every group in ``names`` may move to ``to`` and mark them moving."""
    marked = []
    for name in names:
        cluster, g = find_group(ctx, a, name)
        if g.owner == to:
            continue
        node_ok(ctx, a, cluster, to, allow_paused)
        if g.possible_owners and to not in g.possible_owners:
            raise FatalError(
                f"{a.id}: {to} is not a possible owner of group {name} "
                f"({', '.join(g.possible_owners)}) (5015 ERROR_HOST_NODE_NOT_RESOURCE_OWNER)",
                exit_code=ERROR_HOST_NODE_NOT_RESOURCE_OWNER,
            )
        version_ok(ctx, a, name, g, to)
        marked.append((cluster, name))
        if DTC_RESOURCE in g.resources.values():  # the DTC goes offline under any Upgrade EVS
            ctx.flight.dtc_lost.update(u for u in ctx.flight.upgrading if u[0] == cluster)
    ctx.flight.moving.update(marked)
    return lambda: ctx.flight.moving.difference_update(marked)


def _move_all(ctx: Ctx, a: Action, names: list[str], to: str) -> str:
    moved = []
    for name in names:
        cluster, g = find_group(ctx, a, name)
        if g.owner != to:
            ctx.edit_cluster(cluster)
            g.owner = to
            moved.append(name)
    return f"{', '.join(moved)} moved to {to}" if moved else "no group moved"


def _cluster(a: Action, ctx: Ctx) -> str:
    name = a.cluster or ctx.index.cluster_of.get(host_of(a), "")
    if name not in ctx.world.clusters or host_of(a) not in ctx.world.clusters[name].nodes:
        raise FatalError(f"{a.id}: {a.host} is not a node of cluster {name or '(none)'}")
    return name


@verb(
    "move_group",
    lambda ctx, a: find_group(ctx, a)[1].owner == a.params["to_node"],
    begin=lambda ctx, a: _moves(ctx, a, [str(a.params["group"])], str(a.params["to_node"]), False),
)
def _move_group(ctx: Ctx, a: Action) -> Done:
    to = str(a.params["to_node"])
    _moves(ctx, a, [str(a.params["group"])], to, False)()
    return Done(_move_all(ctx, a, [str(a.params["group"])], to))


def _drained(ctx: Ctx, a: Action) -> bool:
    cluster = _cluster(a, ctx)
    c = ctx.world.clusters[cluster]
    return c.nodes[host_of(a)].paused and all(
        find_group(ctx, a, g)[1].owner != a.host for g in strings(a, "groups")
    )


def _drain_begin(ctx: Ctx, a: Action) -> Release:
    cluster = _cluster(a, ctx)
    node_ok(ctx, a, cluster, host_of(a), allow_paused=True)
    groups, to = strings(a, "groups"), a.params.get("to_node")
    if groups and not to:
        raise FatalError(f"{a.id}: nowhere to drain {', '.join(groups)} to")
    return _moves(ctx, a, groups, str(to), False) if groups else (lambda: None)


@verb("drain_node", _drained, begin=_drain_begin)
def _drain(ctx: Ctx, a: Action) -> Done:
    _drain_begin(ctx, a)()
    cluster = _cluster(a, ctx)
    moved = _move_all(ctx, a, strings(a, "groups"), str(a.params.get("to_node")))
    ctx.edit_cluster(cluster).nodes[host_of(a)].paused = True
    return Done(f"{a.host} paused; {moved}")


def _resumed(ctx: Ctx, a: Action) -> bool:
    c = ctx.world.clusters[_cluster(a, ctx)]
    back = strings(a, "failback_groups") if a.params.get("failback") else []
    return not c.nodes[host_of(a)].paused and all(
        find_group(ctx, a, g)[1].owner == a.host for g in back
    )


def _resume_begin(ctx: Ctx, a: Action) -> Release:
    cluster = _cluster(a, ctx)
    node_ok(ctx, a, cluster, host_of(a), allow_paused=True)
    back = strings(a, "failback_groups") if a.params.get("failback") else []
    return _moves(ctx, a, back, host_of(a), True)


@verb("resume_node", _resumed, begin=_resume_begin)
def _resume(ctx: Ctx, a: Action) -> Done:
    _resume_begin(ctx, a)()
    ctx.edit_cluster(_cluster(a, ctx)).nodes[host_of(a)].paused = False
    back = strings(a, "failback_groups") if a.params.get("failback") else []
    return Done(f"{a.host} resumed" + (f"; {_move_all(ctx, a, back, host_of(a))}" if back else ""))


def _cluster_service(ctx: Ctx, a: Action) -> str:
    return ctx.world.clusters[_cluster(a, ctx)].nodes[host_of(a)].cluster_service


@verb("stop_cluster_service", lambda ctx, a: _cluster_service(ctx, a) == STOPPED)
def _stop_cluster(ctx: Ctx, a: Action) -> Done:
    cluster, node = _cluster(a, ctx), host_of(a)
    c = ctx.edit_cluster(cluster)
    c.nodes[node].cluster_service = STOPPED
    here = [name for name, g in c.groups.items() if g.owner == node]
    notes = [_fail_over(ctx, cluster, name, c.groups[name]) for name in here]
    if here:  # KB 328839: no group may run on a node while it is upgraded; moves are explicit
        ctx.flight.breaches.append(
            f"cluster {cluster}: the Cluster service of {node} stopped while {', '.join(here)} "
            f"still ran there: the cluster failed them over unplanned ({'; '.join(notes)})"
        )
    return Done("; ".join([f"Cluster service stopped on {node}", *notes]))


def _fail_over(ctx: Ctx, cluster: str, name: str, g: GroupState) -> str:
    c = ctx.world.clusters[cluster]
    order = [
        n
        for n in [*g.preferred_owners, *c.nodes]
        if n in c.nodes and n != g.owner and (not g.possible_owners or n in g.possible_owners)
    ]
    up = [n for n in dict.fromkeys(order) if node_status(ctx.world, ctx.flight, cluster, n) == "Up"]
    fit = [n for n in up if not newer(g.version, ctx.world.hosts[n].version)]
    if fit:
        g.owner = fit[0]
        return f"{name} failed over to {fit[0]}"
    if up:
        g.owner, g.offline = up[0], sorted(g.resources)
        return f"{name} failed over to {up[0]} and failed to come online (c1037b44)"
    return f"{name} is down: no node can take it"


@verb("start_cluster_service", lambda ctx, a: _cluster_service(ctx, a) == RUNNING)
def _start_cluster(ctx: Ctx, a: Action) -> Done:
    ctx.edit_cluster(_cluster(a, ctx)).nodes[host_of(a)].cluster_service = RUNNING
    return Done(f"Cluster service started on {a.host}")


def _to_offline(g: GroupState, a: Action) -> set[str]:
    keep = set(strings(a, "keep"))
    return {r for r, t in g.resources.items() if t not in keep}


@verb("resources_offline", lambda ctx, a: (
    _to_offline(find_group(ctx, a)[1], a) <= set(find_group(ctx, a)[1].offline)))  # fmt: skip
def _offline(ctx: Ctx, a: Action) -> Done:
    cluster, g = find_group(ctx, a)
    ctx.edit_cluster(cluster)
    g.offline = sorted(set(g.offline) | _to_offline(g, a))
    return Done(f"{a.params['group']}: {len(g.offline)} resource(s) offline")


def _online_begin(ctx: Ctx, a: Action) -> Release | None:
    cluster, g = find_group(ctx, a)
    node_ok(ctx, a, cluster, g.owner, allow_paused=True)
    version_ok(ctx, a, str(a.params["group"]), g, g.owner)
    return None


@verb("resources_online", lambda ctx, a: not find_group(ctx, a)[1].offline, begin=_online_begin)
def _online(ctx: Ctx, a: Action) -> Done:
    _online_begin(ctx, a)
    cluster, g = find_group(ctx, a)
    ctx.edit_cluster(cluster)
    g.offline = []
    return Done(f"{a.params['group']}: all resources online on {g.owner}")


def _evs_upgraded(ctx: Ctx, a: Action) -> bool:
    g = find_group(ctx, a)[1]
    return bool(g.version) and g.version == ctx.world.hosts[g.owner].version


def _upgrade_check(ctx: Ctx, a: Action) -> tuple[str, str]:
    """Upgrade EVS's preconditions (KB 328839); the (cluster, group) key."""
    cluster, g = find_group(ctx, a)
    name = str(a.params["group"])
    node_ok(ctx, a, cluster, g.owner, allow_paused=True)
    if not ctx.world.hosts[g.owner].version:
        raise FatalError(f"{a.id}: {name} is on {g.owner}, which is not upgraded")
    online = sorted(
        r for r, t in g.resources.items() if r not in g.offline and t not in UPGRADE_KEEP
    )
    if online:
        raise FatalError(
            f"{a.id}: Upgrade Exchange Virtual Server needs only IP Address, Network Name and "
            f"Physical Disk online; still online: {', '.join(online)}"
        )
    why = dtc_offline(ctx.world, ctx.flight, cluster)
    if why:
        raise FatalError(
            f"{a.id}: Upgrade Exchange Virtual Server needs the {DTC_RESOURCE} resource "
            f"online: {why}"
        )
    return cluster, name


def _upgrade_begin(ctx: Ctx, a: Action) -> Release | None:
    key = _upgrade_check(ctx, a)
    ctx.flight.upgrading.add(key)
    ctx.flight.dtc_lost.discard(key)
    return lambda: ctx.flight.upgrading.discard(key)


@verb("upgrade_virtual_server", _evs_upgraded, begin=_upgrade_begin)
def _upgrade(ctx: Ctx, a: Action) -> Done:
    cluster, g = find_group(ctx, a)
    key = (cluster, str(a.params["group"]))
    lost = key in ctx.flight.dtc_lost
    if not lost:
        _upgrade_check(ctx, a)
    if lost:
        ctx.flight.dtc_lost.discard(key)
        raise FatalError(
            f"{a.id}: Upgrade Exchange Virtual Server failed: the {DTC_RESOURCE} went offline "
            "while it ran (its group was moved)"
        )
    ctx.edit_cluster(cluster)
    g.version = ctx.world.hosts[g.owner].version
    return Done(f"{a.params['group']} upgraded to {g.version} on {g.owner}")
