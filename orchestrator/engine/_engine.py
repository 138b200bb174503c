"""The scheduler: runs a plan's DAG with up to ``forks`` actions at once.

Which ready action starts next is decided by :mod:`orchestrator.listsched` (the rule the
estimator predicts with): critical path first, up to ``forks`` at once; a new span opens
only while fewer than ``forks`` spans are open and, with a maintenance window, only if the
forks can still close every open span by the window end. Every state change is journaled
before the engine goes on. A failed action cancels everything that waits for it, counts
against the run's failure budget, and its scope is put back in service once nothing in it
is running (see :mod:`._compensation`). When the budget is spent nothing new starts, and
an open span that still has disruptive work ahead (an install not started yet) is put back
in service instead of driven forward; on a graceful stop the open spans are finished.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from ..listsched import Admission
from ..plan import Action, Plan
from ..timespec import utc_text
from ._budget import Budget, BudgetLimits
from ._compensation import compensation, scope_of
from ._compensator import Compensator
from ._graph import OPENERS, RunGraph, span_keys
from ._journal import Journal
from ._protocols import Clock, Driver, Event, Observer
from ._records import FAILED, FINAL_OK
from ._resume import reopen_compensated
from ._retry import RetryPolicy
from ._steps import StepOutcome, StepRunner

#: Called with the final status, summary and time just before the status is journaled.
Finalizer = Callable[[str, Mapping[str, Any], float], None]

#: What a spent budget stops from starting: every kind that takes something out of service,
#: except a reboot, which completes an install that already ran.
DISRUPTIVE = OPENERS - {"reboot"}


@dataclass(frozen=True)
class EngineOptions:
    """How to run: parallelism, window (plan-time start, end), budget, retries, timeouts.
    The budget's limits are ``max_failures``, ``max_failed_hosts`` and ``max_percent``
    (see :mod:`._budget`; ``None`` is "not limited this way")."""

    forks: int = 10
    window: tuple[float, float] | None = None
    max_failures: int | None = 0
    max_failed_hosts: int | None = None
    max_percent: float | None = None
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    timeouts: Mapping[str, float] = field(default_factory=dict)

    def limits(self) -> BudgetLimits:
        """The failure budget's limits."""
        return BudgetLimits(self.max_failures, self.max_failed_hosts, self.max_percent)


@dataclass(frozen=True)
class RunResult:
    """How a run (or a resumed part of it) ended: ``done``, ``failed`` or ``paused``."""

    status: str
    reason: str
    counts: Mapping[str, int]
    failures: int
    stop: str = ""  # what stopped a paused run: window, budget, stop (on request) or lease


class Engine:
    """Runs one journaled run of ``plan`` through ``driver``."""

    def __init__(
        self,
        plan: Plan,
        run_id: str,
        journal: Journal,
        driver: Driver,
        clock: Clock,
        observer: Observer,
        options: EngineOptions,
        stop: threading.Event | None = None,
        halt: threading.Event | None = None,
        finalize: Finalizer | None = None,
        lease_valid: Callable[[], bool] | None = None,
    ) -> None:
        self.plan, self.run_id, self.journal = plan, run_id, journal
        self.clock, self.observer, self.options = clock, observer, options
        self.graph = RunGraph(plan)
        self.finalize = finalize
        self.lease_valid = lease_valid  # False: the lease expired unrenewed; start nothing
        self.stop = stop or threading.Event()  # graceful: finish open spans, start nothing new
        self.halt = halt or threading.Event()  # lease lost: start nothing at all
        self.events: queue.Queue[Event] = queue.Queue()
        self.runner = StepRunner(
            run_id=run_id,
            journal=journal,
            driver=driver,
            clock=clock,
            policy=options.policy,
            timeouts=options.timeouts,
            stop_event=self.halt,
            emit=self.events.put,
        )
        self.compensator = Compensator(
            self.graph, run_id, journal, self.runner, clock, self.events.put
        )
        self.state: dict[str, str] = {}
        self.attempts: dict[str, int] = {}
        self.started: dict[str, float] = {}
        self.waiting: dict[str, int] = {}
        window = options.window
        self.admission = Admission(
            self.graph, options.forks, self.state, window[1] if window else None
        )
        self.running: dict[Future[Any], tuple[str, str]] = {}
        self.comp_until: dict[Future[Any], float] = {}  # compensation: expected end
        self.opened = self.admission.opened
        self.put_back_checked = False
        self.scopes: list[frozenset[str]] = []
        self.compensated: set[frozenset[str]] = set()
        self.budget = Budget(options.limits(), (a.host for a in plan.actions if a.host))
        self.window_deferred = ""  # the first action the window had no room for
        self.stop_said = False
        #: Actions in flight when an earlier controller died: they are asked about (or
        #: re-probed) and finished like work in flight, even with the budget spent.
        self.interrupted: set[str] = set()

    # -- set-up ------------------------------------------------------------------------
    def _load(self) -> None:
        records = self.journal.actions(self.run_id)
        for aid in self.graph.order:
            rec = records.get(aid)
            st = rec.state if rec else "pending"
            self.state[aid] = "pending" if st == "running" else st  # re-probed on resume
            self.attempts[aid] = rec.attempts if rec else 0
            if st == "running":  # in flight when the controller died: settle it first
                self.interrupted.add(aid)
        failed = [aid for aid in self.graph.order if self.state[aid] in FAILED]
        self.budget.restore(
            self.journal.budget(self.run_id),
            ((aid, self.graph.actions[aid].host) for aid in failed),
        )
        reopen_compensated(
            self.graph, self.journal, self.run_id, records, self.state, now=self.clock.now()
        )
        for aid in self.graph.order:
            a = self.graph.actions[aid]
            self.waiting[aid] = sum(1 for p in a.after if self.state[p] not in FINAL_OK)
            if self.state[aid] != "pending" and a.kind in OPENERS:
                self.opened.update(span_keys(a))
            if self.state[aid] == "pending" and self.waiting[aid] == 0:
                self._push(aid)

    def _push(self, aid: str) -> None:
        self.admission.push(aid)

    def _emit(self, type_: str, action: Action | None = None, **data: object) -> None:
        host = action.host if action else None
        self.observer.notify(
            Event(type_, self.run_id, self.clock.now(), action.id if action else None, host, data)
        )

    # -- main loop ---------------------------------------------------------------------
    def run(self, resumed: bool = False) -> RunResult:
        """Run until every action is final, or nothing more may start; journal the status."""
        self._load()
        for aid in self.interrupted:  # what they opened is open: its closing is committed
            if self.graph.actions[aid].kind in OPENERS:
                self.admission.opened.update(span_keys(self.graph.actions[aid]))
        self.admission.restore()
        window = self.options.window
        self._emit(
            "run_started",
            plan=self.plan.to_document()["fingerprint"],
            actions=len(self.graph.order),
            forks=self.options.forks,
            resumed=resumed,
            window_end=window[1] if window else None,
        )
        if self.budget_spent:  # spent before a crash: still spent
            self._spend_budget()
        if window and self.clock.now() < window[0]:
            self._emit("window_wait", until=window[0])
            self.clock.sleep(window[0] - self.clock.now())
        pool = ThreadPoolExecutor(self.options.forks, thread_name_prefix="action")
        try:
            self._loop(pool)
        except BaseException:  # a second Ctrl-C: leave at once, the steps as journaled
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        self._drain_events()
        return self._conclude()

    def _loop(self, pool: ThreadPoolExecutor) -> None:
        while True:
            self._drain_events()
            self._say_stop()
            self._admit(pool)
            self._compensate_quiet_scopes(pool)
            if not self.running and not self._strand_open_spans():
                return
            if not self.running:
                continue
            finished, _ = wait(self.running, timeout=0.2, return_when=FIRST_COMPLETED)
            for fut in finished:
                self._finished(fut)

    def _say_stop(self) -> None:
        if self.stop.is_set() and not self.stop_said:
            self.stop_said = True
            message = "stopping at the next safe point; Ctrl-C again to abort"
            self._emit("stop_requested", message=message)

    def _drain_events(self) -> None:
        while True:
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                return
            self.observer.notify(event)

    def _closing(self) -> bool:
        return self.stop.is_set() or self.budget_spent

    def _veto(self, aid: str) -> bool:
        """With the budget spent: no disruptive action, nothing in a scope being put back."""
        if not self.budget_spent or aid in self.interrupted:
            return False
        action = self.graph.actions[aid]
        if action.kind in DISRUPTIVE:
            return True
        return any(action.host in scope for scope in (*self.scopes, *self.compensated))

    def _may_start(self, aid: str) -> bool:
        """Could ``aid`` (ready) start in a coming round? (for compensation's quiet test)"""
        if self.halt.is_set() or self._veto(aid):
            return False
        return aid in self.admission.committed or not (self._closing() or self.window_deferred)

    def _busy(self) -> dict[str, float]:
        """What runs and when it should end, for the admission's forward simulation."""
        now = self.clock.now()
        busy: dict[str, float] = {}
        for fut, (kind, ref) in self.running.items():
            if kind == "action":
                end = self.started[ref] + self.graph.actions[ref].estimate_s
                busy[ref] = max(now, end)
            else:
                busy[f"{kind}:{ref}"] = max(now, self.comp_until.get(fut, now))
        return busy

    def _put_back_disruptive_spans(self) -> None:
        """The budget is spent: every open span whose closing still needs a disruptive
        action (an install, a stop not started yet) is put back in service, not driven on."""
        self.put_back_checked = True
        for span in self.admission.open_spans():
            needs = self.admission.closure([span.end]) - self.interrupted
            if not any(self.graph.actions[n].kind in DISRUPTIVE for n in needs):
                continue
            scope = scope_of(self.graph.actions[span.end], self.plan.facts)
            if scope and scope not in self.compensated and scope not in self.scopes:
                self.scopes.append(scope)

    def _admit(self, pool: ThreadPoolExecutor) -> None:
        if self.lease_valid is not None and not self.lease_valid():
            self.halt.set()  # as if lost: another controller may take it over now
        if self.halt.is_set():
            return
        if self.budget_spent and not self.put_back_checked:
            self._put_back_disruptive_spans()
        picks = self.admission.select(
            self.clock.now(),
            lambda: self.options.forks - len(self.running),
            self._busy,
            closing=self._closing(),
            veto=self._veto,
        )
        for aid in picks:
            action = self.graph.actions[aid]
            if action.kind == "barrier":
                self._settle(aid, StepOutcome("done", 0, "barrier"))
                continue
            self.state[aid] = "running"
            self.started[aid] = self.clock.now()
            self.journal.start_action(self.run_id, aid, self.started[aid])
            self._emit(
                "action_started",
                action,
                kind=action.kind,
                phase=action.phase,
                estimate_s=action.estimate_s,
            )
            fut = pool.submit(self.runner.run, action, self.attempts[aid])
            self.running[fut] = ("action", aid)
        refused = self.admission.refused
        if refused is not None and not self.window_deferred:
            self.window_deferred = refused
            self._emit(
                "window_closing",
                reason=f"{refused}: the forks could not close its span by the window end",
            )

    def _finished(self, fut: Future[Any]) -> None:
        kind, ref = self.running.pop(fut)
        self.comp_until.pop(fut, None)
        if kind == "action":
            self._settle(ref, fut.result())

    def _settle(self, aid: str, outcome: StepOutcome) -> None:
        action = self.graph.actions[aid]
        now = self.clock.now()
        if outcome.state in FINAL_OK:
            self.journal.finish_action(self.run_id, aid, outcome.state, now, outcome.message)
            self.state[aid] = outcome.state
            self.attempts[aid] = outcome.attempts
            if outcome.state == "skipped":
                self._emit("action_skipped", action, reason=outcome.message)
            self._emit(
                "action_finished", action, outcome=outcome.state, attempts=outcome.attempts,
                duration_s=self._duration(aid, now),
            )  # fmt: skip
            for child in self.graph.children[aid]:
                self.waiting[child] -= 1
                if self.waiting[child] == 0 and self.state[child] == "pending":
                    self._push(child)
            return
        # an unknown outcome counts against the budget like a failure
        spends = self.budget.record(aid, action.host)
        with self.journal.transaction():  # the failure and the budget it spends, together
            self.journal.finish_action(self.run_id, aid, outcome.state, now, outcome.message)
            self.journal.set_budget(self.run_id, self.budget.to_json())
        self.state[aid] = outcome.state
        self.attempts[aid] = outcome.attempts
        self._emit(
            "action_finished", action, outcome=outcome.state, attempts=outcome.attempts,
            duration_s=self._duration(aid, now), message=outcome.message,
        )  # fmt: skip
        self._cancel_descendants(aid)
        scope = scope_of(action, self.plan.facts)
        if scope and scope not in self.scopes:
            self.scopes.append(scope)
        if spends:
            self._spend_budget()

    @property
    def failures(self) -> int:
        """Failed actions (and actions of unknown outcome) of the run, as the budget counts."""
        return len(self.budget.failed_actions)

    @property
    def budget_spent(self) -> bool:
        """Whether the failure budget is spent (journaled with the failure that spent it)."""
        return self.budget.spent

    def _spend_budget(self) -> None:
        self._emit(
            "budget_spent", failures=self.failures, max_failures=self.options.max_failures,
            failed_hosts=len(self.budget.failed_hosts), reason=self.budget.reason,
            limits=self.options.limits().describe(),
        )  # fmt: skip

    def _duration(self, aid: str, now: float) -> float:
        started = self.started.get(aid)
        return round(now - started, 3) if started is not None else 0.0

    def _cancel_descendants(self, aid: str) -> None:
        reason = f"cancelled: depends on failed {aid}"
        if self.state[aid] == "unknown":
            reason = f"cancelled: depends on {aid}, whose outcome is unknown"
        now = self.clock.now()
        with self.journal.transaction():
            for d in sorted(self.graph.descendants(aid), key=self.graph.position.__getitem__):
                if self.state[d] == "pending":
                    self.state[d] = "cancelled"
                    self.journal.finish_action(self.run_id, d, "cancelled", now, reason)
                    self._emit("action_cancelled", self.graph.actions[d], reason=reason)

    # -- compensation ------------------------------------------------------------------
    def _compensate_quiet_scopes(self, pool: ThreadPoolExecutor) -> None:
        for scope in list(self.scopes):
            busy = any(
                k == "action" and self.graph.actions[ref].host in scope
                for k, ref in self.running.values()
            ) or any(
                self.graph.actions[aid].host in scope and self._may_start(aid)
                for aid in self.admission.queued()
            )
            if busy or self.halt.is_set():
                continue
            self.scopes.remove(scope)
            self.compensated.add(scope)
            steps = compensation(self.graph, self.plan.facts, self.state, scope)
            if steps:
                fut = pool.submit(self.compensator.run, steps)
                self.running[fut] = ("compensation", ",".join(sorted(scope)))
                self.comp_until[fut] = self.clock.now() + sum(st.action.estimate_s for st in steps)

    def _strand_open_spans(self) -> bool:
        """Nothing more may start, yet some span is still open (its end waits for work that
        a stop or a spent budget does not allow): put its scope back in service. True if
        there is such a scope to compensate."""
        found = False
        for key, span in self.graph.spans.items():
            if key not in self.opened or self.state[span.end] in FINAL_OK:
                continue
            scope = scope_of(self.graph.actions[span.end], self.plan.facts)
            if scope and scope not in self.compensated and scope not in self.scopes:
                self.scopes.append(scope)
                found = True
        return found

    # -- conclusion --------------------------------------------------------------------
    def _conclude(self) -> RunResult:
        counts: dict[str, int] = {}
        for aid in self.graph.order:
            counts[self.state[aid]] = counts.get(self.state[aid], 0) + 1
        status, stop, reason = self._ending(counts)
        summary = {"reason": reason, "stop": stop, "counts": counts, "failures": self.failures}
        summary["budget"] = self.budget.to_json()
        now = self.clock.now()
        if self.finalize is not None:  # e.g. the report: written before the final status
            self.finalize(status, summary, now)
        self.journal.set_run_status(self.run_id, status, now, summary)
        self._emit(
            "run_finished", status=status, done=counts.get("done", 0) + counts.get("skipped", 0),
            failed=counts.get("failed", 0), unknown=counts.get("unknown", 0),
            cancelled=counts.get("cancelled", 0), pending=counts.get("pending", 0),
            failures=self.failures, reason=reason, stop=stop,
        )  # fmt: skip
        return RunResult(status, reason, counts, self.failures, stop)

    def _ending(self, counts: Mapping[str, int]) -> tuple[str, str, str]:
        """The run's status, what stopped it (``window``, ``budget``, ``stop``, ``lease``
        or ``""``) and why, in words."""
        budget = f"; failure budget spent: {self.budget.reason}" if self.budget_spent else ""
        if counts.get("failed") or counts.get("unknown"):
            return "failed", "budget" if budget else "", _failed_reason(counts) + budget
        if all(self.state[a] in FINAL_OK for a in self.graph.order):
            return "done", "", "every action done"
        if self.halt.is_set():
            return "paused", "lease", "stopped: the lease on the hosts was lost"
        if self.stop.is_set():
            return "paused", "stop", "stopped on request at a safe point"
        if self.budget_spent:
            return "paused", "budget", "failure budget spent" + budget.split(":", 1)[1]
        window = self.options.window
        end = utc_text(window[1]) if window else "?"
        left = counts.get("pending", 0)
        nxt = f" ({self.window_deferred})" if self.window_deferred else ""
        why = f"no room to open the next span{nxt}; {left} action(s) left for the next window"
        return "paused", "window", f"the maintenance window ends at {end}: {why}"


def _failed_reason(counts: Mapping[str, int]) -> str:
    parts = [f"{counts['failed']} action(s) failed"] if counts.get("failed") else []
    if counts.get("unknown"):
        parts.append(
            f"{counts['unknown']} action(s) with unknown outcome (check the host, then resume "
            "--retry-failed)"
        )
    return ", ".join(parts)
