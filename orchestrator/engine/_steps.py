"""One action, run to an outcome: probe → apply → verify, each attempt journaled, transient
failures retried by the :class:`~orchestrator.engine._retry.RetryPolicy`."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import tenacity

from ..errors import StepError, StepTimeout, TransientError
from ..plan import Action
from ._journal import Journal
from ._protocols import Clock, Driver, Event
from ._retry import RetryPolicy, check_exit, error_class

#: Per-kind timeout (plan seconds) when the plan's ``execution.timeouts`` has none.
DEFAULT_TIMEOUT_S = 3600.0


@dataclass(frozen=True)
class StepOutcome:
    """How an action ended: ``done``, ``skipped`` (already in effect) or ``failed``."""

    state: str
    attempts: int
    message: str = ""


class StepRunner:
    """Runs actions through a driver; safe to call from several worker threads."""

    def __init__(
        self,
        *,
        run_id: str,
        journal: Journal,
        driver: Driver,
        clock: Clock,
        policy: RetryPolicy,
        timeouts: Mapping[str, float],
        stop_event: threading.Event,
        emit: Callable[[Event], None],
    ) -> None:
        self.run_id = run_id
        self.journal = journal
        self.driver = driver
        self.clock = clock
        self.policy = policy
        self.timeouts = timeouts
        self.stop_event = stop_event
        self.emit = emit

    def run(self, action: Action, attempts_before: int = 0, step: str = "apply") -> StepOutcome:
        """Run ``action`` to an outcome; ``attempts_before`` continues the journal's count.
        ``step`` is ``compensate`` for compensating actions (journaled as such)."""
        state = {"n": attempts_before}

        def before_sleep(rs: tenacity.RetryCallState) -> None:
            exc = rs.outcome.exception() if rs.outcome else None
            wait = rs.upcoming_sleep
            self.emit(self._event("attempt_failed", action, state["n"], exc, wait))

        retrying = self.policy.retrying(self.clock.sleep, self.stop_event, before_sleep)
        try:
            for attempt in retrying:
                with attempt:
                    state["n"] += 1
                    return self._attempt(action, state["n"], step)
        except StepError as exc:
            return StepOutcome("failed", state["n"], _describe(exc, action.id))
        except Exception as exc:  # a driver bug must fail the action, not the engine
            return StepOutcome("failed", state["n"], f"driver error: {type(exc).__name__}: {exc}")
        raise AssertionError("unreachable: tenacity returned without an outcome")

    def _attempt(self, action: Action, n: int, step: str) -> StepOutcome:
        record = self.journal.record_attempt
        t0 = self.clock.now()
        try:
            in_effect = self.driver.probe(action)
        except Exception as exc:
            self._failed(action, n, "probe", t0, exc)
            raise
        record(self.run_id, action.id, n, "probe", t0, self.clock.now(),
               "already" if in_effect else "no")  # fmt: skip
        if in_effect:
            return StepOutcome("skipped", n, "already in effect")
        t1 = self.clock.now()
        timeout = float(self.timeouts.get(action.kind, DEFAULT_TIMEOUT_S))
        try:
            result = self.driver.apply(action, timeout)
            check_exit(action, result)
        except Exception as exc:
            self._failed(action, n, step, t1, exc)
            raise
        record(self.run_id, action.id, n, step, t1, self.clock.now(), "ok",
               exit_code=result.exit_code, output=result.output, data=result.data)  # fmt: skip
        t2 = self.clock.now()
        try:
            self.driver.verify(action)
        except Exception as exc:
            self._failed(action, n, "verify", t2, exc)
            raise
        record(self.run_id, action.id, n, "verify", t2, self.clock.now(), "ok")
        note = _exit_note(result.exit_code) or str(result.data.get("note", ""))
        return StepOutcome("done", n, note)

    def _failed(self, action: Action, n: int, step: str, t0: float, exc: BaseException) -> None:
        outcome = "timeout" if isinstance(exc, StepTimeout) else "fatal"
        if outcome == "fatal" and isinstance(exc, TransientError):
            outcome = "transient"
        exit_code = exc.exit_code if isinstance(exc, StepError) else None
        output = exc.output if isinstance(exc, StepError) else ""
        self.journal.record_attempt(
            self.run_id, action.id, n, step, t0, self.clock.now(), outcome,
            exit_code=exit_code, output=output, error_class=error_class(exc),
            message=_describe(exc, action.id),
        )  # fmt: skip

    def _event(
        self, kind: str, action: Action, n: int, exc: BaseException | None, wait: float
    ) -> Event:
        return Event(
            kind,
            self.run_id,
            self.clock.now(),
            action.id,
            action.host,
            {
                "attempt": n,
                "error_class": error_class(exc) if exc else "",
                "message": _describe(exc, action.id) if exc else "",
                "exit_code": exc.exit_code if isinstance(exc, StepError) else None,
                "retry_in_s": round(wait, 3),
            },
        )


def _describe(exc: BaseException, action_id: str = "") -> str:
    """One line about a failure, without the action id (callers show it) and with the exit
    code once."""
    if not isinstance(exc, StepError):
        return f"{type(exc).__name__}: {exc}"
    text = (exc.message or type(exc).__name__).removeprefix(f"{action_id}: ")
    if exc.exit_code is not None and str(exc.exit_code) not in text:
        text += f" (exit code {exc.exit_code})"
    return text


def _exit_note(code: int) -> str:
    return "done, reboot required (3010)" if code == 3010 else ""
