"""One action, run to an outcome: probe → apply → verify, each attempt journaled, transient
failures retried by the :class:`~orchestrator.engine._retry.RetryPolicy`.

An apply whose answer may have been lost (a transient error, or a controller killed while
it ran) is never sent again blindly: the next attempt first asks the host about it
(:meth:`Driver.recall`, journaled as the ``recall`` step) and takes its recorded result.
An apply whose outcome is unknown (:class:`~orchestrator.errors.OutcomeUnknown`) is probed
again when its kind's probe can be trusted, and otherwise ends the action as ``unknown``
(see :mod:`._exactly_once`)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import tenacity

from ..errors import OutcomeUnknown, StepError, StepTimeout, TransientError
from ..plan import Action
from ._exactly_once import in_doubt, probe_trusted, step_id
from ._journal import Journal
from ._protocols import Clock, Driver, Event, StepResult
from ._retry import RetryPolicy, check_exit, error_class

#: Per-kind timeout (plan seconds) when the plan's ``execution.timeouts`` has none.
DEFAULT_TIMEOUT_S = 3600.0
#: The exit code of a step its host stopped at its timeout (as GNU timeout).
TIMEOUT_EXIT = 124


@dataclass(frozen=True)
class StepOutcome:
    """How an action ended: ``done``, ``skipped`` (already in effect), ``failed`` or
    ``unknown`` (it ran, or may have, and how it ended cannot be told)."""

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
        """Run ``action`` to an outcome; ``attempts_before`` continues the journal's count
        (and a resumed action first recalls the apply its last attempt left in doubt).
        ``step`` is ``compensate`` for compensating actions (journaled as such)."""
        state = {"n": attempts_before}
        doubt: list[str] = []
        if attempts_before:
            last = in_doubt(self.journal.attempts(self.run_id, action.id), self.run_id,
                            action.id, step)  # fmt: skip
            doubt += [last] if last else []

        def before_sleep(rs: tenacity.RetryCallState) -> None:
            exc = rs.outcome.exception() if rs.outcome else None
            wait = rs.upcoming_sleep
            self.emit(self._event("attempt_failed", action, state["n"], exc, wait))

        retrying = self.policy.retrying(self.clock.sleep, self.stop_event, before_sleep)
        try:
            for attempt in retrying:
                with attempt:
                    state["n"] += 1
                    return self._attempt(action, state["n"], step, doubt)
        except OutcomeUnknown as exc:
            return StepOutcome("unknown", state["n"], _describe(exc, action.id))
        except StepError as exc:
            return StepOutcome("failed", state["n"], _describe(exc, action.id))
        except Exception as exc:  # a driver bug must fail the action, not the engine
            return StepOutcome("failed", state["n"], f"driver error: {type(exc).__name__}: {exc}")
        raise AssertionError("unreachable: tenacity returned without an outcome")

    def _attempt(self, action: Action, n: int, step: str, doubt: list[str]) -> StepOutcome:
        record = self.journal.record_attempt
        if doubt:
            recalled = self._recall(action, n, doubt)
            if isinstance(recalled, StepOutcome):
                return recalled
            if recalled is not None:
                return self._finish(action, n, step, self.clock.now(), recalled, "recalled")
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
        sid = step_id(self.run_id, action.id, n, step)
        try:
            result = self.driver.apply(action, timeout, sid)
        except OutcomeUnknown as exc:
            self._failed(action, n, step, t1, exc)
            return self._unknown(action, n, exc)
        except StepTimeout as exc:
            self._failed(action, n, step, t1, exc)
            if exc.exit_code != TIMEOUT_EXIT:
                doubt.append(sid)  # no answer by the deadline: ask the host next time
            elif not probe_trusted(action):  # the host stopped it: it may have partly run
                message = f"stopped at its {timeout:g} s timeout: it may have partly run"
                raise OutcomeUnknown(message, exit_code=TIMEOUT_EXIT) from None
            raise
        except TransientError as exc:
            self._failed(action, n, step, t1, exc)
            doubt.append(sid)  # the answer may have been lost: ask the host next time
            raise
        except Exception as exc:
            self._failed(action, n, step, t1, exc)
            raise
        return self._finish(action, n, step, t1, result, "")

    def _finish(
        self, action: Action, n: int, step: str, t1: float, result: StepResult, how: str
    ) -> StepOutcome:
        """Check the apply's exit code, journal it, verify: the action is done."""
        record = self.journal.record_attempt
        try:
            check_exit(action, result)
        except Exception as exc:
            self._failed(action, n, step, t1, exc)
            raise
        record(self.run_id, action.id, n, step, t1, self.clock.now(), "ok",
               exit_code=result.exit_code, output=result.output, message=how,
               data=result.data)  # fmt: skip
        t2 = self.clock.now()
        try:
            self.driver.verify(action)
        except Exception as exc:
            self._failed(action, n, "verify", t2, exc)
            raise
        record(self.run_id, action.id, n, "verify", t2, self.clock.now(), "ok")
        note = _exit_note(result.exit_code) or str(result.data.get("note", ""))
        if how:
            note = "; ".join(x for x in ("the host had finished it: answer recalled", note) if x)
        return StepOutcome("done", n, note)

    def _recall(self, action: Action, n: int, doubt: list[str]) -> StepResult | StepOutcome | None:
        """Ask the host about the apply in doubt: its result; None (it never started); or,
        its outcome unknown, what a re-probe settled."""
        sid = doubt[-1]
        t0 = self.clock.now()
        try:
            result = self.driver.recall(action, sid)
        except OutcomeUnknown as exc:
            doubt.clear()
            self._failed(action, n, "recall", t0, exc)
            return self._unknown(action, n, exc)
        except StepTimeout as exc:
            self._failed(action, n, "recall", t0, exc)
            if exc.exit_code != TIMEOUT_EXIT:
                raise  # still running past its deadline: asked again next time
            doubt.clear()  # the host had stopped it at its timeout
            if not probe_trusted(action):
                raise OutcomeUnknown("stopped at its timeout: it may have partly run") from None
            raise
        except Exception as exc:
            self._failed(action, n, "recall", t0, exc)  # transient: doubt kept, asked again
            raise
        doubt.clear()
        outcome = "no" if result is None else "ok"
        self.journal.record_attempt(self.run_id, action.id, n, "recall", t0, self.clock.now(),
                                    outcome, message=f"step {sid}")  # fmt: skip
        return result

    def _unknown(self, action: Action, n: int, exc: OutcomeUnknown) -> StepOutcome:
        """The apply's outcome is unknown: re-probe if the kind's probe can be trusted (in
        effect → verify, done; not in effect → a retry applies it again), else give up as
        ``unknown``."""
        if not probe_trusted(action):
            raise exc
        t0 = self.clock.now()
        in_effect = self.driver.probe(action)
        self.journal.record_attempt(self.run_id, action.id, n, "probe", t0, self.clock.now(),
                                    "already" if in_effect else "no")  # fmt: skip
        if not in_effect:
            raise TransientError(f"{exc.message}; the probe says it did not take effect")
        t2 = self.clock.now()
        try:
            self.driver.verify(action)
        except Exception as err:
            self._failed(action, n, "verify", t2, err)
            raise
        self.journal.record_attempt(self.run_id, action.id, n, "verify", t2, self.clock.now(), "ok")
        return StepOutcome("done", n, "answer lost; the probe found it in effect")

    def _failed(self, action: Action, n: int, step: str, t0: float, exc: BaseException) -> None:
        outcome = "timeout" if isinstance(exc, StepTimeout) else "fatal"
        if outcome == "fatal" and isinstance(exc, TransientError):
            outcome = "transient"
        elif isinstance(exc, OutcomeUnknown):
            outcome = "unknown"
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
