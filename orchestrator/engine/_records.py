"""What the journal holds: runs, action states, attempts and the services attempts stopped
(plain, typed records)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Action states. ``done`` and ``skipped`` (already in effect, or nothing to do) are final
#: successes; ``failed``, ``unknown`` (it ran, or may have, and how it ended is not known:
#: the operator checks the host) and ``cancelled`` (its branch stopped) are final;
#: ``pending`` and ``running`` are not.
ACTION_STATES = ("pending", "running", "done", "skipped", "failed", "unknown", "cancelled")
FINAL_OK = frozenset({"done", "skipped"})
FINAL = frozenset({"done", "skipped", "failed", "unknown", "cancelled"})
#: Final states that stop a branch and count against the failure budget.
FAILED = frozenset({"failed", "unknown"})

#: Run statuses. ``paused`` stopped at a safe point (window closed, or budget spent with
#: work left) and can be resumed; ``running`` after a crash means "interrupted".
RUN_STATUSES = ("running", "done", "failed", "paused")

#: Steps of an attempt: ``probe`` (already in effect?), ``apply``, ``verify``,
#: ``compensate`` (putting a branch back in a serving state), and ``recall`` (asking the
#: host what became of an earlier attempt's apply whose answer was lost).
STEPS = ("probe", "apply", "verify", "compensate", "recall")


@dataclass(frozen=True)
class RunRecord:
    """One run of a plan."""

    run_id: str
    created_at: float
    updated_at: float
    status: str
    plan_fingerprint: str
    playbook: str
    options: Mapping[str, Any] = field(default_factory=dict)
    summary: Mapping[str, Any] = field(default_factory=dict)
    created_wall: float = 0.0  # wall-clock creation time (``created_at`` is plan time)


@dataclass(frozen=True)
class ActionRecord:
    """The journaled state of one action (or compensating action) of a run."""

    action_id: str
    state: str
    attempts: int = 0
    started_at: float | None = None
    ended_at: float | None = None
    message: str = ""


@dataclass(frozen=True)
class AttemptRecord:
    """One step of one attempt at an action, as journaled.

    ``outcome``: ``ok``, ``already`` (probe: in effect), ``no`` (probe: not in effect;
    recall: never started), ``transient``, ``fatal``, ``timeout`` or ``unknown`` (the
    host cannot tell how the step ended). ``output_digest`` is ``sha256:<hex>`` of the
    output, never the output itself."""

    action_id: str
    attempt: int
    step: str
    started_at: float
    ended_at: float
    outcome: str
    exit_code: int | None = None
    output_digest: str = ""
    error_class: str = ""
    message: str = ""


@dataclass(frozen=True)
class StoppedService:
    """A service that a ``stop_services`` attempt found running and stopped: its state
    before (``active``), its start mode (``enabled``, ``Automatic``, ...) and the running
    dependents that stopped with it."""

    action_id: str
    attempt: int
    service: str
    previous_state: str
    start_mode: str = ""
    dependents: tuple[str, ...] = ()
