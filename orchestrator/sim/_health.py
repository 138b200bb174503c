"""What the twin observes about itself: in-flight state (memory only), who is serving, and
the safety invariants. :class:`Health` turns each recomputation into new timeline
transitions and newly broken invariants."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from ..facts import DTC_RESOURCE
from ._seed import PlanIndex
from ._state import RUNNING, World, node_state
from ._store import Transition


@dataclass
class InFlight:
    """Operations under way, never persisted: a killed controller leaves none behind."""

    installing: Counter[str] = field(default_factory=Counter)
    rebooting: set[str] = field(default_factory=set)
    moving: set[tuple[str, str]] = field(default_factory=set)
    upgrading: set[tuple[str, str]] = field(default_factory=set)  # Upgrade EVS under way
    dtc_lost: set[tuple[str, str]] = field(default_factory=set)  # ... that lost the DTC
    breaches: list[str] = field(default_factory=list)  # rules broken by an event, to record


def version_key(version: str) -> tuple[int, ...]:
    """Sort key of a dotted version; "" (the original version) sorts first, before any
    installed version, even one the playbook did not number (see :func:`installed_version`)."""
    if not version:
        return (0,)
    return (1, *(int(n) for n in re.findall(r"\d+", version)))


def newer(a: str, b: str) -> bool:
    """True if version ``a`` is newer than ``b``."""
    return version_key(a) > version_key(b)


def host_up(world: World, flight: InFlight, host: str) -> bool:
    """The host answers: not rebooting and not lost."""
    h = world.hosts.get(host)
    return host not in flight.rebooting and not (h is not None and h.down)


def node_status(world: World, flight: InFlight, cluster: str, node: str) -> str:
    """``Up``, ``Paused`` or ``Down`` for cluster purposes, in-flight reboots included."""
    n = world.clusters[cluster].nodes[node]
    return node_state(world, node, n, rebooting=node in flight.rebooting)


def dtc_offline(world: World, flight: InFlight, cluster: str) -> str:
    """Why the cluster's Distributed Transaction Coordinator is not online now ("" if it
    is, or if the inventory declares none: the twin checks what it knows): Upgrade EVS
    needs it online (KB 328839)."""
    c = world.clusters[cluster]
    holders = [(n, g) for n, g in c.groups.items() if DTC_RESOURCE in g.resources.values()]
    for name, g in holders:
        if (cluster, name) in flight.moving:
            return f"group {name}, which holds it, is moving"
        down = [r for r, t in g.resources.items() if t == DTC_RESOURCE and r in g.offline]
        if down:
            return f"{', '.join(down)} is offline in group {name}"
        if g.owner not in c.nodes or node_status(world, flight, cluster, g.owner) == "Down":
            return f"group {name} is on {g.owner}, which is down"
    return ""


def serving(world: World, flight: InFlight, index: PlanIndex) -> dict[str, bool]:
    """Serving status of every group (``group:<c>/<g>``), pool (``pool:<p>``) and standalone
    server (``host:<h>``). A product's setup stops its services while it runs ("services stop
    temporarily", KB 328839 for non-clustered servers; Exchange 5.5 disconnects users during
    the install on the active node), so a group whose owner is installing, and a standalone
    server that is installing, do not serve."""
    out: dict[str, bool] = {}
    for cname, c in world.clusters.items():
        for gname, g in c.groups.items():
            ok = (
                g.owner in c.nodes
                and node_status(world, flight, cname, g.owner) != "Down"
                and not g.offline
                and (cname, gname) not in flight.moving
                and not flight.installing.get(g.owner)
            )
            out[f"group:{cname}/{gname}"] = ok
    for pname, p in world.pools.items():
        out[f"pool:{pname}"] = any(_member_serves(world, flight, m) for m in p.in_rotation)
    for host in index.standalone:
        ok = _member_serves(world, flight, host) and not flight.installing.get(host)
        out[f"host:{host}"] = ok
    return out


def _member_serves(world: World, flight: InFlight, member: str) -> bool:
    h = world.hosts.get(member)
    if h is None or not host_up(world, flight, member):
        return False
    return all(h.services.get(s) == RUNNING for s in h.product_services)


def invariants(world: World, flight: InFlight, index: PlanIndex) -> dict[str, str]:
    """Broken invariants now, keyed so that one lasting break is reported once."""
    broken: dict[str, str] = {}
    for cname, c in world.clusters.items():
        out = [n for n in c.nodes if node_status(world, flight, cname, n) != "Up"]
        limit = index.cluster_max_out.get(cname)
        if limit is not None and len(out) > limit:
            broken[f"out:{cname}:{','.join(out)}"] = (
                f"cluster {cname}: {len(out)} nodes out at once (max_out {limit}): "
                + ", ".join(out)
            )
        for gname, g in c.groups.items():
            owner = world.hosts.get(g.owner)
            online = not g.offline and (cname, gname) not in flight.moving
            if online and owner is not None and newer(g.version, owner.version):
                broken[f"skew:{cname}/{gname}:{g.owner}"] = (
                    f"cluster {cname}: group {gname} (version {g.version}) is online on "
                    f"{g.owner}, which runs the older version {owner.version or '(original)'}"
                )
    for pname, limit in index.rolling_max_out.items():
        pool = world.pools.get(pname)
        if pool is None:
            continue
        out = [m for m in pool.members if m not in pool.in_rotation]
        if len(out) > limit:
            broken[f"pool:{pname}:{','.join(out)}"] = (
                f"pool {pname}: {len(out)} members out of rotation at once (max_out {limit}): "
                + ", ".join(out)
            )
    for cname, gname in sorted(flight.upgrading):
        why = dtc_offline(world, flight, cname)
        if why:
            broken[f"dtc:{cname}/{gname}"] = (
                f"cluster {cname}: Upgrade Exchange Virtual Server of {gname} runs while the "
                f"{DTC_RESOURCE} is not online ({why}); KB 328839 requires it online"
            )
    for host, n in flight.installing.items():
        if n > 1:
            broken[f"installs:{host}"] = f"host {host}: {n} installs at once"
    return broken


class Health:
    """Remembers the last recorded serving status and the invariants already broken."""

    def __init__(self, last: dict[str, bool], active: set[str]) -> None:
        self.last = last
        self.active = active

    def observe(
        self, world: World, flight: InFlight, index: PlanIndex, at: float, cause: str
    ) -> tuple[list[Transition], list[tuple[float, str]]]:
        """New transitions and violations since the previous observation."""
        transitions = []
        for subject, ok in serving(world, flight, index).items():
            if self.last.get(subject) != ok:
                self.last[subject] = ok
                transitions.append(Transition(at, subject, ok))
        broken = invariants(world, flight, index)
        fresh = [(at, f"{cause}: {msg}") for key, msg in broken.items() if key not in self.active]
        fresh += [(at, f"{cause}: {msg}") for msg in flight.breaches]
        flight.breaches.clear()
        self.active = set(broken)
        return transitions, fresh
