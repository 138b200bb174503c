"""Checks 4 g–h: where a group may go, and what Upgrade EVS needs online.

* g. a group moves only to one of its possible owners (``facts.clusters.*.groups.*
  .possible_owners``, when given): the cluster refuses any other node (MS-CMRP,
  ApiMoveGroupToNode: the server fails the move when the destination node is not a potential
  owner of the group's resources);
* h. "Upgrade Exchange Virtual Server" needs the Distributed Transaction Coordinator
  resource online (KB 328839, the conditions listed under error c1037b44): every move of a
  group holding a DTC resource, and every ``resources_offline`` of it that does not keep the
  DTC, is ordered before or after every ``upgrade_virtual_server`` of the cluster, so that on
  no execution order does the DTC go offline while an EVS is upgraded. (A Cluster service
  stopped under the group is caught by the group rules: no group on a node while it is out.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from ..facts import DTC_RESOURCE
from ._index import PlanIndex

if TYPE_CHECKING:
    from ._clusters import ClusterView


class Move(NamedTuple):
    """One move of a group: the action and the node the group lands on (None if unknown)."""

    action: int
    dest: str | None


def possible_owners(ix: PlanIndex, view: ClusterView, moves: dict[str, list[Move]]) -> list[str]:
    """g. every move lands on a possible owner of the group."""
    out: list[str] = []
    for group, allowed in sorted(view.possible.items()):
        for m in moves.get(group, []):
            if m.dest is not None and m.dest not in allowed:
                out.append(
                    f"cluster {view.name!r} group {group!r}: {ix.name(m.action)} moves it to "
                    f"{m.dest}, which is not one of its possible owners ({', '.join(allowed)})"
                )
    return out


def dtc_online(ix: PlanIndex, view: ClusterView, moves: dict[str, list[Move]]) -> list[str]:
    """h. no move of a DTC group may run at the same time as an Upgrade EVS."""
    upgrades = [i for i in view.actions if ix.actions[i].kind == "upgrade_virtual_server"]
    out: list[str] = []
    for group in sorted(view.dtc_groups):
        offline = [
            i
            for i in view.by_group.get(group, [])
            if ix.actions[i].kind == "resources_offline"
            and DTC_RESOURCE not in ix.params_list(i, "keep")
        ]
        for a in [m.action for m in moves.get(group, [])] + offline:
            for u in upgrades:
                if not (ix.le(a, u) or ix.le(u, a)):
                    out.append(
                        f"cluster {view.name!r} group {group!r}: {ix.name(a)} may run "
                        f"while {ix.name(u)} runs, but Upgrade EVS needs the Distributed "
                        "Transaction Coordinator resource online (KB 328839)"
                    )
    return out
