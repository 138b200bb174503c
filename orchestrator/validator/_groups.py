"""Check 4 c–f: where each cluster group is, at every point of every execution order.

A group starts on its facts owner and changes node only through a *move*: ``move_group``
(``params.group``, to ``params.to_node``), ``drain_node`` (``params.groups``, to
``params.to_node``) or ``resume_node`` (``params.failback_groups``, back to the resuming node).

* c. the moves of one group are totally ordered, and each runs on the node the group is on;
* d. (not ``active-first``) a group is never on a node while that node is out;
* e. once a group has left an upgraded node, it only moves to nodes already upgraded;
* f. ``upgrade_virtual_server`` runs where the group is, after that node's installs, between a
  ``resources_offline`` keeping only IP Address / Physical Disk / Network Name and a
  ``resources_online`` of the group;
* g, h. (in :mod:`._owners`) a group moves only to its possible owners; a group holding the
  Distributed Transaction Coordinator never moves while an ``upgrade_virtual_server`` runs.
"""

from __future__ import annotations

from itertools import pairwise
from typing import TYPE_CHECKING, NamedTuple

from ._index import KEEP_FOR_UPGRADE, PlanIndex
from ._owners import Move, dtc_online, possible_owners

if TYPE_CHECKING:
    from ._clusters import ClusterView


class Stay(NamedTuple):
    """A stay of a group on a node, between the move that brought it and the one taking it."""

    node: str
    arrive: int | None
    leave: int | None


def check_groups(ix: PlanIndex, view: ClusterView) -> list[str]:
    """Rules c–f for every group of the cluster."""
    out: list[str] = []
    moves = _moves(ix, view, out)
    for group, owner in view.owners.items():
        where = f"cluster {view.name!r} group {group!r}"
        seq = sorted(moves.get(group, []), key=lambda m: ix.reach.pos[m.action])
        stays = _stays(ix, view, where, owner, seq, out)
        if stays is None:
            continue
        if view.strategy != "active-first":
            out += [_on_out_node(ix, view, where, s) for s in stays if _clashes(ix, view, s)]
        out += _no_way_back(ix, view, where, stays)
        out += _upgrade_vs(ix, view, group, where, seq)
    out += possible_owners(ix, view, moves) + dtc_online(ix, view, moves)
    return out


def _moves(ix: PlanIndex, view: ClusterView, out: list[str]) -> dict[str, list[Move]]:
    moves: dict[str, list[Move]] = {}
    for i in view.actions:
        a = ix.actions[i]
        if a.kind == "move_group":
            group = ix.param(i, "group")
            if group is None:
                out.append(f"cluster {view.name!r}: {ix.name(i)} names no group to move")
            targets = [group] if group is not None else []
            dest = ix.param(i, "to_node")
        elif a.kind == "drain_node":
            targets, dest = ix.params_list(i, "groups"), ix.param(i, "to_node")
        elif a.kind == "resume_node":
            targets, dest = ix.params_list(i, "failback_groups"), a.host
        else:
            if a.kind == "upgrade_virtual_server" and ix.param(i, "group") not in view.owners:
                out.append(f"cluster {view.name!r}: {ix.name(i)} upgrades an unknown group")
            continue
        for g in dict.fromkeys(targets):
            if g not in view.owners:
                out.append(f"cluster {view.name!r}: {ix.name(i)} moves unknown group {g!r}")
            else:
                moves.setdefault(g, []).append(Move(i, dest))
    return moves


def _stays(
    ix: PlanIndex, view: ClusterView, where: str, owner: str, seq: list[Move], out: list[str]
) -> list[Stay] | None:
    """c. the group's successive stays, or None (reported) when its location is ambiguous."""
    for m, n in pairwise(seq):
        if not ix.le(m.action, n.action):
            out.append(
                f"{where}: ambiguous location, moves {ix.name(m.action)} and "
                f"{ix.name(n.action)} are not ordered"
            )
            return None
    stays: list[Stay] = []
    node, arrive = owner, None
    for m in seq:
        a = ix.actions[m.action]
        if a.kind != "resume_node" and a.host != node:
            out.append(f"{where}: {ix.host_of(m.action)} moves it, but it is on {node} then")
        if m.dest not in view.nodes:
            out.append(f"{where}: {ix.name(m.action)} moves it to {m.dest!r}, not a cluster node")
            return None
        assert m.dest is not None
        stays.append(Stay(node, arrive, m.action))
        node, arrive = m.dest, m.action
    stays.append(Stay(node, arrive, None))
    return stays


def _clashes(ix: PlanIndex, view: ClusterView, s: Stay) -> bool:
    """d. whether the stay may overlap the node's out-span on some execution order."""
    span = view.spans.get(s.node)
    if span is None or not span.starts:
        return False
    before = s.leave is not None and all(ix.le(s.leave, t) for t in span.starts)
    after = s.arrive is not None and all(ix.le(e, s.arrive) for e in span.ends)
    return not (before or after)


def _on_out_node(ix: PlanIndex, view: ClusterView, where: str, s: Stay) -> str:
    span = view.spans[s.node]
    since = ix.name(s.arrive) if s.arrive is not None else "the start"
    until = ix.name(s.leave) if s.leave is not None else "the end"
    return (
        f"{where}: may be on {s.node} while it is out: it stays there from {since} until "
        f"{until}, and {s.node} is out from {ix.names(span.starts)} to {ix.names(span.ends)}"
    )


def upgraded_before(ix: PlanIndex, view: ClusterView, node: str, action: int) -> bool:
    """Whether ``node`` has installs and all its installs and reboots ≼ ``action``."""
    work = view.upgrade.get(node, [])
    has_install = any(ix.actions[i].kind == "install" for i in work)
    return has_install and all(ix.le(i, action) for i in work)


def _no_way_back(ix: PlanIndex, view: ClusterView, where: str, stays: list[Stay]) -> list[str]:
    """e. after leaving an upgraded node, every destination is upgraded before the move."""
    out: list[str] = []
    left: Stay | None = None
    for stay, nxt in pairwise(stays):
        move = stay.leave
        assert move is not None
        if left is None and upgraded_before(ix, view, stay.node, move):
            left = stay
        if left is not None and not upgraded_before(ix, view, nxt.node, move):
            out.append(
                f"{where}: {ix.name(move)} moves it to {nxt.node}, which is not upgraded "
                f"before that move, after it left upgraded node {left.node} at "
                f"{ix.name(left.leave or move)} (version skew)"
            )
    return out


def _upgrade_vs(
    ix: PlanIndex, view: ClusterView, group: str, where: str, seq: list[Move]
) -> list[str]:
    """f. preconditions of every ``upgrade_virtual_server`` of the group."""
    out: list[str] = []
    mine = view.by_group.get(group, [])
    offline = [
        i
        for i in mine
        if ix.actions[i].kind == "resources_offline"
        and set(ix.params_list(i, "keep")) <= KEEP_FOR_UPGRADE
    ]
    online = [i for i in mine if ix.actions[i].kind == "resources_online"]
    owner = view.owners[group]
    for u in (i for i in mine if ix.actions[i].kind == "upgrade_virtual_server"):
        host = ix.actions[u].host
        done = [m for m in seq if ix.le(m.action, u)]
        if len(done) < len(seq) and not ix.le(u, seq[len(done)].action):
            out.append(
                f"{where}: location at {ix.name(u)} is not determined, "
                f"{ix.name(seq[len(done)].action)} is not ordered with it"
            )
        else:
            node = done[-1].dest if done else owner
            if node != host:
                out.append(f"{where}: {ix.host_of(u)}, but the group is on {node} then")
        installs = ix.on(host, "install") if host else []
        late = [i for i in installs if not ix.le(i, u)]
        if not installs or late:
            out.append(
                f"{where}: {ix.host_of(u)} is not after the node's installs"
                + (f" ({ix.names(late)})" if late else " (it has none)")
            )
        if not ix.reach.le_any(offline, u):
            out.append(
                f"{where}: {ix.name(u)} is not after a resources_offline of the group keeping "
                f"only {', '.join(sorted(KEEP_FOR_UPGRADE))} online"
            )
        if not any(ix.le(u, i) for i in online):
            out.append(f"{where}: {ix.name(u)} is not before a resources_online of the group")
    return out
