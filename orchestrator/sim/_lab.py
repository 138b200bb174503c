"""The simulated lab: a persistent digital twin of a plan's hosts that the engine rehearses
against (``orchestrator apply --sim``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..engine._protocols import Clock, Driver
from ..plan import Plan
from ._driver import SimDriver
from ._faults import FaultSpec
from ._health import Health, InFlight, invariants
from ._seed import build_index, seed_world
from ._state import World, snapshot
from ._store import LogEntry, Store, put_entities, put_meta
from ._timeline import build_timeline
from ._twin import Twin


class Lab:
    """A lab stored in one SQLite file; reopening it (even after the controller was killed
    with SIGKILL) continues from the last committed mutation."""

    def __init__(self, twin: Twin) -> None:
        self._t = twin

    @classmethod
    def open(cls, path: Path, plan: Plan, clock: Clock, faults: FaultSpec | None = None) -> Lab:
        """Open the lab stored at ``path``, creating and seeding it from ``plan`` if new
        (entities the plan names that the lab lacks are seeded too)."""
        store = Store(path)
        index = build_index(plan)
        seeded = seed_world(plan, index)
        world = World()
        for key, text in store.entities().items():
            world.load(key, text)
        fresh = [k for k in seeded.entity_keys() if not world.has(k)]
        for key in fresh:
            world.copy_from(seeded, key)
        world.seq = store.last_seq()
        created_text = store.meta("created")
        created = float(created_text) if created_text is not None else clock.now()
        with store.transaction() as db:
            if created_text is None:
                put_meta(db, "created", repr(created))
            put_entities(db, [(k, world.dump(k)) for k in fresh])
        last: dict[str, bool] = {}
        for t in store.transitions():
            last[t.subject] = t.serving
        active = set() if created_text is None else set(invariants(world, InFlight(), index))
        twin = Twin(store, world, index, clock, Health(last, active), faults, created)
        with twin.lock:
            twin.observe("lab opened")
        return cls(twin)

    def driver(self) -> Driver:
        """A driver bound to this lab (thread-safe)."""
        return SimDriver(self._t)

    def live_facts(self, facts: Any) -> dict[str, Any]:
        """Same as ``driver().live_facts(facts)``."""
        return SimDriver(self._t).live_facts(facts)

    def snapshot(self) -> dict[str, Any]:
        """Canonical JSON-able state without times: equal for runs that did the same work."""
        with self._t.lock:
            return snapshot(self._t.world)

    def log(self) -> list[LogEntry]:
        """Every mutation applied, in order."""
        with self._t.lock:
            return self._t.store.log()

    def timeline(self) -> dict[str, Any]:
        """The availability timeline of every group and pool (plan time)."""
        t = self._t
        with t.lock:
            return build_timeline(
                t.created, t.clock.now(), t.store.transitions(), t.world, t.index.standalone
            )

    def violations(self) -> list[str]:
        """Invariant breaks observed (empty when every rule held)."""
        with self._t.lock:
            return self._t.store.violations()

    def operator_move_group(self, cluster: str, group: str, node: str) -> None:
        """Someone moves ``group`` to ``node`` by hand (no rules checked)."""
        t = self._t
        with t.lock:
            c = t.world.clusters[cluster]
            if group not in c.groups or node not in c.nodes:
                raise KeyError(f"cluster {cluster} has no group {group!r} or node {node!r}")
            ctx = t.ctx()
            ctx.edit_cluster(cluster).groups[group].owner = node
            t.commit("operator", "operator_move_group", node, ctx, f"{group} moved to {node}")

    def operator_take_offline(self, cluster: str, group: str, resource: str) -> None:
        """Someone takes one resource of ``group`` offline by hand."""
        t = self._t
        with t.lock:
            g = t.world.clusters[cluster].groups.get(group)
            if g is None or resource not in g.resources:
                raise KeyError(f"cluster {cluster} has no group {group!r} with {resource!r}")
            ctx = t.ctx()
            ctx.edit_cluster(cluster)
            g.offline = sorted({*g.offline, resource})
            t.commit("operator", "operator_take_offline", g.owner, ctx, f"{resource} offline")

    def operator_set_pool_members(self, pool: str, members: list[str]) -> None:
        """Someone changes the members of ``pool`` by hand (new members are in rotation)."""
        t = self._t
        with t.lock:
            p = t.world.pools[pool]
            ctx = t.ctx()
            ctx.edit_pool(pool)
            rotation = (set(p.in_rotation) & set(p.members)) | (set(members) - set(p.members))
            p.members = list(members)
            p.in_rotation = [m for m in members if m in rotation]
            summary = f"members of {pool}: {', '.join(members)}"
            t.commit("operator", "operator_set_pool_members", None, ctx, summary)

    def close(self) -> None:
        """Close the database."""
        with self._t.lock:
            self._t.store.close()
