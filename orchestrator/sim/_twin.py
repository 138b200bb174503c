"""The running twin: state, in-flight operations, health and fault counters behind one lock,
and the one-transaction commit of a mutation (touched entities, a log row, the timeline
transitions and violations it caused)."""

from __future__ import annotations

import threading

from ..engine._protocols import Clock
from ..plan import Action
from ._faults import Fault, FaultSpec
from ._health import Health, InFlight
from ._seed import PlanIndex
from ._state import World
from ._store import LogEntry, Store, bump_fault, put_entities, put_log, put_observations
from ._verbs import Ctx


class Twin:
    """Everything a lab holds open. Callers take :attr:`lock` around every use."""

    def __init__(
        self,
        store: Store,
        world: World,
        index: PlanIndex,
        clock: Clock,
        health: Health,
        faults: FaultSpec | None,
        created: float,
    ) -> None:
        self.lock = threading.RLock()
        self.store = store
        self.world = world
        self.index = index
        self.clock = clock
        self.health = health
        self.flight = InFlight()
        self.faults = faults.faults if faults else ()
        self.uses = store.fault_uses()
        self.created = created

    def ctx(self, exit_code: int | None = None, files_in_use: bool = False) -> Ctx:
        """A verb context; its mutation would get the next sequence number."""
        return Ctx(
            self.world, self.flight, self.index, self.world.seq + 1, set(), exit_code, files_in_use
        )

    def observe(self, cause: str) -> None:
        """Record the transitions and violations an in-flight change caused."""
        transitions, violations = self.health.observe(
            self.world, self.flight, self.index, self.clock.now(), cause
        )
        if transitions or violations:
            with self.store.transaction() as db:
                put_observations(db, transitions, violations)

    def commit(self, action_id: str, kind: str, host: str | None, ctx: Ctx, summary: str) -> None:
        """Persist a mutation: touched entities, one log row, and what it caused."""
        at = self.clock.now()
        transitions, violations = self.health.observe(
            self.world, self.flight, self.index, at, action_id
        )
        entry = LogEntry(ctx.seq, at, host, action_id, kind, summary)
        with self.store.transaction() as db:
            put_entities(db, [(k, self.world.dump(k)) for k in sorted(ctx.touched)])
            put_log(db, entry)
            put_observations(db, transitions, violations)
        self.world.seq = ctx.seq

    # faults -----------------------------------------------------------------------------

    def matching(self, action: Action | None, host: str, effect: str) -> list[Fault]:
        """Faults of ``effect`` for ``host`` that apply to ``action`` (None: host-wide only)."""
        return [
            f
            for f in self.faults
            if f.effect == effect
            and f.host == host
            and (action.id in f.action_ids if action else f.action is None)
        ]

    def take(self, fault: Fault) -> bool:
        """Use ``fault`` once if it has uses left (the counter is persisted at once)."""
        if fault.count is None:
            return True
        used = self.uses.get(fault.key, 0)
        if used >= fault.count:
            return False
        self.uses[fault.key] = used + 1
        with self.store.transaction() as db:
            bump_fault(db, fault.key)
        return True

    def take_first(self, action: Action, effect: str) -> Fault | None:
        """The first fault of ``effect`` for ``action`` with a use left, used once."""
        if not action.host:
            return None
        for fault in self.matching(action, action.host, effect):
            if self.take(fault):
                return fault
        return None

    def exit_code(self, action: Action) -> tuple[int | None, bool]:
        """The exit code a fault injects into this install/uninstall attempt, if any."""
        if not action.host:
            return None, False
        for fault in self.matching(action, action.host, "exit_codes"):
            used = self.uses.get(fault.key, 0)
            if self.take(fault):
                return fault.exit_codes[used], fault.files_in_use
        return None, False
