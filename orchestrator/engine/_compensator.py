"""Running the compensating steps of a scope (see :mod:`._compensation` for what they are),
sequentially in one worker: each step is journaled as its own ``compensate/...`` action,
and a host goes back into its pool only after its health check passes. A ``start_services``
starts only what this run's stops journaled as stopped (:func:`._compensation.only_stopped`);
one with nothing to start is journaled ``skipped`` with the reason."""

from __future__ import annotations

from collections.abc import Callable

from ..plan import Action
from ._compensation import CompStep, health_check, only_stopped
from ._graph import RunGraph
from ._journal import Journal
from ._protocols import Clock, Event
from ._records import FINAL_OK
from ._steps import StepOutcome, StepRunner


class Compensator:
    """Runs compensating steps through the same probe → apply → verify path as the plan."""

    def __init__(
        self,
        graph: RunGraph,
        run_id: str,
        journal: Journal,
        runner: StepRunner,
        clock: Clock,
        emit: Callable[[Event], None],
    ) -> None:
        self.graph = graph
        self.run_id = run_id
        self.journal = journal
        self.runner = runner
        self.clock = clock
        self.emit = emit

    def run(self, steps: list[CompStep]) -> None:
        """Run ``steps`` in order; a failed step does not stop the ones after it."""
        healthy: dict[str, bool] = {}
        for step in steps:
            action = step.action
            self.journal.add_action(self.run_id, action.id)
            if step.blocked:
                self._result(action, "cancelled", step.blocked)
                continue
            host = step.healthy_host
            if host is not None and host not in healthy:
                check = health_check(self.graph, host)
                self.journal.add_action(self.run_id, check.id)
                healthy[host] = self._run(check).state in FINAL_OK
            if host is not None and not healthy[host]:
                self._result(action, "cancelled", f"{host} is not healthy; left out of its pool")
                continue
            if action.kind == "start_services":
                narrowed, why = self._only_stopped(action)
                if narrowed is None:
                    self._result(action, "skipped", why)
                    continue
                action = narrowed
            self._run(action)

    def _only_stopped(self, action: Action) -> tuple[Action | None, str]:
        stops = [
            a.id
            for a in self.graph.actions.values()
            if a.kind == "stop_services" and a.host == action.host
        ]
        attempts = {aid: self.journal.attempts(self.run_id, aid) for aid in stops}
        stopped = self.journal.stopped_services(self.run_id)
        return only_stopped(action, self.graph, stopped, attempts)

    def _run(self, action: Action) -> StepOutcome:
        self.journal.start_action(self.run_id, action.id, self.clock.now())
        outcome = self.runner.run(action, 0, step="compensate")
        self._result(action, outcome.state, outcome.message)
        return outcome

    def _result(self, action: Action, state: str, message: str) -> None:
        self.journal.finish_action(self.run_id, action.id, state, self.clock.now(), message)
        original = action.id.removeprefix("compensate/")
        data = {"for_action": original, "outcome": state, "message": message}
        self.emit(
            Event("compensation", self.run_id, self.clock.now(), action.id, action.host, data)
        )
