"""The engine's seams: how it reaches hosts (:class:`Driver`), how it tells time
(:class:`Clock`) and whom it tells what happened (:class:`Observer`).

The engine decides *when*; a driver knows *how*. The simulated lab (``orchestrator.sim``)
and the real transports each provide a driver; observers print progress, write the JSONL
event log or collect a report. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..plan import Action


@dataclass(frozen=True)
class StepResult:
    """What applying an action returned.

    ``exit_code`` is the remote command's status (0, or e.g. 3010 for "done, reboot
    required"); ``output`` is secret-free text of which only a digest is journaled;
    ``data`` carries structured results (e.g. ``{"reboot_required": true}``)."""

    exit_code: int = 0
    output: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)


class Driver(Protocol):
    """One verb per action kind, run against the hosts. Called from several worker threads
    at once (never twice at once for the same action).

    Failures are raised as :class:`~orchestrator.errors.StepError` subclasses:
    :class:`~orchestrator.errors.TransientError` is retried with backoff,
    :class:`~orchestrator.errors.FatalError` fails the action."""

    def live_facts(self, facts: Mapping[str, Any]) -> dict[str, Any]:
        """The live state of what the plan's ``facts`` declare, in the same shape: for
        every cluster its ``nodes`` and each group's ``owner``; for every pool its
        ``members``. Hosts that cannot be reached are listed under ``"unreachable"``."""
        ...

    def probe(self, action: Action) -> bool:
        """True if ``action`` has already taken effect (so applying it again is wrong or
        useless). Read-only checks (``preflight``, ``verify``) return False: they always run."""
        ...

    def apply(self, action: Action, timeout_s: float, step_id: str = "") -> StepResult:
        """Make ``action`` take effect, giving up with
        :class:`~orchestrator.errors.StepTimeout` after ``timeout_s`` plan seconds.
        ``step_id`` (unique per run, action, attempt and step) is recorded on the host, so
        that a lost answer is asked about (:meth:`recall`), never sent again blindly; a
        driver raises :class:`~orchestrator.errors.OutcomeUnknown` when the host says the
        step started and cannot tell how it ended."""
        ...

    def recall(self, action: Action, step_id: str) -> StepResult | None:
        """What became of the apply sent as ``step_id``: its result if the host finished it
        (waiting while it still runs), None if it never started there (and now never will),
        :class:`~orchestrator.errors.OutcomeUnknown` if it started and its process is gone;
        a :class:`~orchestrator.errors.TransientError` if the host cannot be asked now."""
        ...

    def verify(self, action: Action) -> None:
        """Raise :class:`~orchestrator.errors.VerificationFailed` unless ``action``'s effect
        now holds."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class Clock(Protocol):
    """Plan time: seconds since the epoch. Real time for real runs; scaled for rehearsals."""

    def now(self) -> float:
        """The current plan time."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of plan time."""
        ...


@dataclass(frozen=True)
class Event:
    """Something that happened during a run. ``type`` is one of :data:`EVENT_TYPES`; ``at``
    is plan time; ``data`` holds type-specific, secret-free fields."""

    type: str
    run_id: str
    at: float
    action: str | None = None
    host: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The event as a JSON object (one line of the JSONL event log)."""
        return {
            "type": self.type,
            "run": self.run_id,
            "at": self.at,
            "action": self.action,
            "host": self.host,
            **dict(self.data),
        }


#: Every event type, with the ``data`` keys it carries.
EVENT_TYPES: Mapping[str, tuple[str, ...]] = {
    # run level
    "run_started": ("plan", "actions", "forks", "resumed", "window_end"),
    "run_finished": ("status", "done", "failed", "unknown", "cancelled", "pending", "failures"),
    "window_wait": ("until",),  # the window has not opened yet
    "window_closing": ("reason",),  # no more new work; finishing open work to a safe point
    "budget_spent": ("failures", "max_failures", "failed_hosts", "reason", "limits"),
    "stop_requested": ("message",),  # Ctrl-C or SIGTERM: finishing to a safe point
    # action level
    "action_started": ("kind", "phase", "estimate_s"),
    "action_skipped": ("reason",),  # probe found it already in effect; barrier; if-required
    "attempt_failed": ("attempt", "error_class", "message", "exit_code", "retry_in_s"),
    "action_finished": ("outcome", "attempts", "duration_s"),  # outcome: done|failed|unknown
    "action_cancelled": ("reason",),  # its branch stopped
    "compensation": ("for_action", "outcome", "message"),  # putting a branch back in service
}


class Observer(Protocol):
    """Receives every event, in order, from the engine's control thread."""

    def notify(self, event: Event) -> None:
        """Handle one event. Must not raise and must not block for long."""
        ...
