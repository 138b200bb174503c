"""Failover clusters: the five strategies as one simulation of where every group is.

The planner walks the nodes in waves of ``max_out`` (one wave at a time), keeping the current
owner of every group and whether it has run on an upgraded node. Groups are moved off a node
before it goes out, upgraded nodes pull in the groups of the next wave (with the Exchange 2003
"Upgrade EVS" sequence where asked), and a group that has run on an upgraded node only ever
moves to upgraded nodes. ``active-first`` moves nothing: its groups stay and users are cut off.

Groups move only to their possible owners (a cluster refuses the rest); a group that must
leave a node and has no possible owner to go to is refused at plan time. "Upgrade Exchange
Virtual Server" needs the Distributed Transaction Coordinator resource online (KB 328839):
every move of the group holding it is ordered before or after every Upgrade EVS, never at
the same time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import StrategyError
from ..facts import KEEP_ONLINE_FOR_EVS_UPGRADE, Cluster, ClusterGroup
from ..playbook import ClusterPolicy
from ._builder import Ids, ids
from ._host import Context, HostWork, Outage
from ._order import ONE_AT_A_TIME, node_order
from ._units import waves


@dataclass
class _Group:
    group: ClusterGroup
    owner: str
    upgraded: bool = False
    last: Ids = ()


class ClusterPlan:
    """Emits one cluster's actions for a given strategy."""

    def __init__(self, ctx: Context, cluster: Cluster, policy: ClusterPolicy) -> None:
        self.ctx, self.c, self.p = ctx, cluster, policy
        self.order = node_order(cluster, policy)
        self.groups = {g.name: _Group(g, g.owner) for g in cluster.groups}
        self.upgraded: set[str] = set()
        self.upgrades: list[Ids] = []  # every Upgrade EVS emitted so far
        self.work = {
            n: HostWork(ctx, n, f"{cluster.name}/{n}", cluster.name) for n in cluster.nodes
        }
        controlled = frozenset(
            r.controls.casefold() for g in cluster.groups for r in g.resources if r.controls
        )
        for w in self.work.values():
            w.cluster_services = controlled
        uvs = policy.upgrade_virtual_servers
        self.upgrade_vs = (
            uvs
            if uvs is not None
            else (policy.strategy == "move-off" and ctx.pkg.kind == "service-pack")
        )
        # KB 328839 step 4 (resources offline except IP Address, Physical Disk, Network Name
        # before the move) is done for a hotfix too; only step 7 (Upgrade EVS) is skipped.
        self.offline_vs = self.upgrade_vs or (
            policy.strategy == "move-off" and ctx.pkg.kind == "hotfix"
        )

    # -- helpers -------------------------------------------------------------------------
    def _add(
        self, suffix: str, kind: str, after: Ids, host: str | None, title: str, **params: Any
    ) -> Ids:
        return self.ctx.b.chain(
            f"{self.c.name}/{suffix}",
            kind,
            after,
            host=host,
            cluster=self.c.name,
            params=params,
            title=title,
        )

    def _on(self, node: str) -> list[_Group]:
        return [g for g in self.groups.values() if g.owner == node]

    def _dest(self, g: _Group | list[_Group], exclude: set[str]) -> str:
        """Where groups leaving their node go: a possible owner of each, an upgraded node if
        any (always one for a group that ran on an upgraded node), least loaded."""
        groups = g if isinstance(g, list) else [g]
        cands = [
            n for n in self.order if n not in exclude and all(x.group.can_run_on(n) for x in groups)
        ]
        up = [n for n in cands if n in self.upgraded]
        if any(x.upgraded for x in groups) or up:
            cands = up
        if not cands:
            names = ", ".join(x.group.name for x in groups)
            owners = sorted({n for x in groups for n in x.group.possible_owners})
            limit = f" (possible owners: {', '.join(owners)})" if owners else ""
            need = (
                "an upgraded node that is a possible owner"
                if up or any(x.upgraded for x in groups)
                else "a possible owner"
            )
            raise StrategyError(
                f"cluster {self.c.name}: no node can take group {names}{limit}: it needs {need} "
                "outside the nodes being upgraded",
                self.p.where,
            )
        return self._pick(groups[0], cands)

    def _pick(self, g: _Group, cands: list[str]) -> str:
        prefs = g.group.preferred_owners
        load = {n: len(self._on(n)) for n in cands}
        if self.p.strategy == "consolidate":
            return max(cands, key=lambda n: (load[n], -self.order.index(n)))
        return min(
            cands,
            key=lambda n: (
                load[n],
                prefs.index(n) if n in prefs else len(prefs),
                self.order.index(n),
            ),
        )

    def _dtc_last(self) -> Ids:
        """The last action placing each group that holds the DTC resource."""
        return ids(*(d.last for d in self.groups.values() if d.group.holds_dtc))

    def _after_upgrades(self, groups: list[_Group]) -> Ids:
        """Every Upgrade EVS planned so far, when ``groups`` hold the DTC resource (moving
        it takes the DTC offline under a running Upgrade EVS)."""
        return ids(*self.upgrades) if any(g.group.holds_dtc for g in groups) else ()

    def _needs_offline(self, g: _Group, to: str) -> bool:
        """An EVS moving for the first time onto an upgraded node: offline first."""
        return (
            self.offline_vs and g.group.is_virtual_server and to in self.upgraded and not g.upgraded
        )

    def _offline(self, g: _Group, after: Ids) -> Ids:
        src, name = g.owner, g.group.name
        keep = list(KEEP_ONLINE_FOR_EVS_UPGRADE)
        return self._add(
            f"{src}/resources_offline/{name}",
            "resources_offline",
            ids(after, g.last),
            src,
            f"Take {name} resources offline except {', '.join(keep)}",
            group=name,
            keep=keep,
        )

    def _move(self, g: _Group, to: str, after: Ids, ready: Ids = (), off: Ids | None = None) -> Ids:
        """Move ``g`` to ``to``: plain, or offline → move → [Upgrade EVS →] online."""
        src, name = g.owner, g.group.name
        if self._needs_offline(g, to):
            off = off or self._offline(g, after)
            mv = self._add(
                f"{src}/move/{name}",
                "move_group",
                ids(off, ready),
                src,
                f"Move {name} from {src} to {to}",
                group=name,
                to_node=to,
            )
            up = mv
            if self.upgrade_vs:
                up = self._add(
                    f"{to}/upgrade_virtual_server/{name}",
                    "upgrade_virtual_server",
                    ids(mv, self._dtc_last()),
                    to,
                    f"Upgrade Exchange Virtual Server {name} on {to}",
                    group=name,
                )
                self.upgrades.append(up)
            on = self._add(
                f"{to}/resources_online/{name}",
                "resources_online",
                up,
                to,
                f"Bring {name} resources online on {to}",
                group=name,
            )
            why = "for Upgrade EVS" if self.upgrade_vs else "for the move (hotfix)"
            self._outage(name, off[0], on[0], f"offline {why}, moving from {src} to {to}")
            g.last = on
        else:
            mv = self._add(
                f"{src}/move/{name}",
                "move_group",
                ids(after, g.last, ready, self._after_upgrades([g])),
                src,
                f"Move {name} from {src} to {to}",
                group=name,
                to_node=to,
            )
            self._outage(name, mv[0], mv[0], f"brief failover from {src} to {to}")
            g.last = mv
        g.owner = to
        g.upgraded = g.upgraded or to in self.upgraded
        return g.last

    def _verify_group_services(self, after: Ids) -> Ids:
        """``services-running`` of the services a group's resources run, on the node the
        group ends on: the cluster runs them there only (they are stopped on the others)."""
        wanted = [
            s
            for c in self.ctx.pb.verify
            if c.check == "services-running" and any(self.ctx.applies(c, n) for n in self.c.nodes)
            for s in c.params.get("services", [])
        ]
        exits: list[Ids] = []
        for g in self.groups.values():
            mine = {r.controls.casefold() for r in g.group.resources if r.controls}
            services = [s for s in dict.fromkeys(wanted) if str(s).casefold() in mine]
            if not services:
                continue
            exits.append(
                self._add(
                    f"{g.owner}/verify/services-running/{g.group.name}",
                    "verify",
                    ids(after, g.last),
                    g.owner,
                    f"Verify {', '.join(services)} run for {g.group.name} on {g.owner}",
                    check="services-running",
                    services=services,
                    group=g.group.name,
                )
            )
        return ids(after, *exits)

    def _outage(self, group: str, start: str, end: str, reason: str) -> None:
        self.ctx.outages.append(Outage("group", group, self.c.name, reason, start, end))

    # -- strategies ----------------------------------------------------------------------
    def plan(self, after: Ids) -> Ids:
        """All waves, then the cluster-wide failover check; returns the exit ids."""
        node_waves = waves(self.order, self.p.max_out)
        for i, wave in enumerate(node_waves):
            nxt = node_waves[i + 1] if i + 1 < len(node_waves) else []
            if self.p.strategy == "active-first":
                after = self._active_first(wave, after)
            elif self.p.strategy == "drain":
                after = self._drain(wave, after)
            else:
                after = self._move_off(wave, nxt, after)
        after = self._verify_group_services(after)
        if self.p.verify_failover and self.c.groups:
            after = self._add(
                "verify/failover",
                "verify",
                after,
                None,
                f"Verify the groups of {self.c.name} can fail over between nodes",
                check="failover",
                groups=[g.name for g in self.c.groups],
            )
        return after

    def _move_off(self, wave: list[str], nxt: list[str], after: Ids) -> Ids:
        prep = {n: self.work[n].prepare(after) for n in wave}
        moved: dict[str, list[Ids]] = {n: [] for n in wave}
        for n in wave:
            for g in self._on(n):
                moved[n].append(self._move(g, self._dest(g, set(wave)), prep[n]))
        cores: dict[str, Ids] = {}
        for n in wave:
            stop = self._add(
                f"{n}/stop_cluster_service",
                "stop_cluster_service",
                ids(prep[n], *moved[n]),
                n,
                f"Stop the Cluster service on {n}",
            )
            cores[n] = self.work[n].core(stop)
        self.upgraded.update(wave)
        if self.p.strategy == "consolidate":
            incoming = [g for g in self.groups.values() if g.owner not in self.upgraded]
        else:
            incoming = [g for g in self.groups.values() if g.owner in nxt]
        plan_in: dict[str, list[_Group]] = {n: [] for n in wave}
        for g in incoming:
            hosts = [n for n in wave if g.group.can_run_on(n)]
            if hosts:  # else it leaves its node later, for one of its possible owners
                plan_in[self._pick(g, hosts)].append(g)
        exits: list[Ids] = []
        for n in wave:
            # KB 328839: take the incoming EVS offline, then start the Cluster service, then move.
            offs = {
                g.group.name: self._offline(g, cores[n])
                for g in plan_in[n]
                if self._needs_offline(g, n)
            }
            start = self._add(
                f"{n}/start_cluster_service",
                "start_cluster_service",
                ids(cores[n], *offs.values()),
                n,
                f"Start the Cluster service on {n}",
            )
            for g in plan_in[n]:
                exits.append(self._move(g, n, cores[n], ready=start, off=offs.get(g.group.name)))
            exits.append(self.work[n].post(self.work[n].verify(start)))
        return ids(*exits)

    def _drain(self, wave: list[str], after: Ids) -> Ids:
        """Drain every node of the wave first, then upgrade, then resume (with failback)."""
        drains: dict[str, Ids] = {}
        for n in wave:
            prep = self.work[n].prepare(after)
            leaving = self._on(n)
            to = self._dest(leaving, set(wave)) if leaving else None
            drains[n] = self._add(
                f"{n}/drain_node",
                "drain_node",
                ids(prep, *(g.last for g in leaving), self._after_upgrades(leaving)),
                n,
                f"Pause and drain {n}" + (f" to {to}" if to else ""),
                groups=[g.group.name for g in leaving],
                to_node=to,
            )
            for g in leaving:
                assert to is not None
                g.owner, g.upgraded = to, g.upgraded or to in self.upgraded
                g.last = drains[n]
                self._outage(g.group.name, drains[n][0], drains[n][0], f"drained from {n} to {to}")
        cores = {n: self.work[n].core(drains[n]) for n in wave}
        self.upgraded.update(wave)
        exits: list[Ids] = []
        for n in wave:
            back = [
                g
                for g in self.groups.values()
                if self.p.failback
                and g.group.preferred_owners[:1] == (n,)
                and g.owner != n
                and g.group.can_run_on(n)
            ]
            resume = self._add(
                f"{n}/resume_node",
                "resume_node",
                ids(cores[n], *(g.last for g in back), self._after_upgrades(back)),
                n,
                f"Resume {n}" + (" with failback" if self.p.failback else ""),
                failback=self.p.failback,
                failback_groups=[g.group.name for g in back],
            )
            for g in back:
                self._outage(g.group.name, resume[0], resume[0], f"fails back to {n}")
                g.owner, g.upgraded, g.last = n, True, resume
            exits.append(self.work[n].post(self.work[n].verify(resume)))
        return ids(*exits)

    def _active_first(self, wave: list[str], after: Ids) -> Ids:
        exits: list[Ids] = []
        for n in wave:
            w = self.work[n]
            core = w.core(w.prepare(after))
            for g in self._on(n):
                self.ctx.outages.append(
                    Outage(
                        "group",
                        g.group.name,
                        self.c.name,
                        f"stays on {n} while it is upgraded (active-first, no failover): "
                        "users are cut off",
                        w.core_span[0],
                        w.core_span[1],
                    )
                )
            self.upgraded.add(n)
            exits.append(w.post(w.verify(core)))
        return ids(*exits)

    def guarantee(self) -> dict[str, Any]:
        """The plan contract's ``guarantees.clusters`` entry."""
        out: dict[str, Any] = {"strategy": self.p.strategy, "max_out": self.p.max_out}
        if self.p.strategy in ONE_AT_A_TIME:
            out["first"] = self.order[0]
        out["node_order"] = list(self.order)
        out["upgrade_virtual_servers"] = self.upgrade_vs
        return out
