"""Every exception the orchestrator raises on purpose.

Hierarchy::

    OrchestratorError                 base; carries the process exit status
    ├── InputError                    bad user input, exit 2; names file, line and what is wrong
    │   ├── YamlSyntaxError           a YAML / INI / JSON file does not parse
    │   ├── SchemaError               unknown key, wrong type, missing key, bad value
    │   ├── UnknownReferenceError     a host, group, node, pool or cluster that does not exist
    │   ├── TopologyError             declared facts that contradict each other (owner not a node)
    │   ├── OrderingError             a cycle in declared ordering
    │   ├── StrategyError             a cluster strategy that cannot apply to the cluster
    │   ├── WindowError               a maintenance window that ends before it starts
    │   ├── PlanFileError             a saved plan that is not a valid ``orchestrator.plan/v1``
    │   ├── FaultSpecError            a simulated-lab fault file that does not parse or names
    │   │                             an unknown host or action
    │   └── UnknownRunError           a run id that the journal does not hold
    ├── InvariantViolation            a plan breaks a safety rule: a planner bug, exit 3
    ├── StalePlanError                inputs or live facts changed since the review, exit 4
    ├── LockHeldError                 another controller leases some of the plan's hosts, exit 5
    ├── JournalError                  the journal cannot be opened or written, exit 6
    └── StepError                     one step of an action failed (raised by drivers, caught by
        │                             the engine, never shown as a traceback)
        ├── OutcomeUnknown            a step ran, or may have, and its answer was lost: the host
        │                             cannot tell how it ended; never re-sent blindly
        ├── TransientError            worth retrying: connection refused/reset, operation timeout,
        │   │                         HTTP 5xx, host rebooting, msiexec 1618
        │   ├── HostUnreachable       the host does not answer
        │   └── StepTimeout           the step overran its per-kind timeout
        └── FatalError                not retried: authentication, 1603, a refused cluster move
            ├── AuthenticationError   the credentials were refused
            └── VerificationFailed    the step ran but its post-condition does not hold

The CLI turns any of these into one clear message on stderr and its exit status; a Python
traceback is never what the user sees for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class OrchestratorError(Exception):
    """Base class: an error the CLI reports as a message with :attr:`exit_status`."""

    exit_status = 1


@dataclass(frozen=True)
class Location:
    """Where in an input file something was written (1-based line and column)."""

    file: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        if self.line is None:
            return self.file
        if self.column is None:
            return f"{self.file}:{self.line}"
        return f"{self.file}:{self.line}:{self.column}"


def location(file: str | Path, line: int | None = None, column: int | None = None) -> Location:
    """Build a :class:`Location` from a path and optional 1-based line/column."""
    return Location(str(file), line, column)


class InputError(OrchestratorError):
    """Bad user input: the message names the file, the line and what is wrong."""

    exit_status = 2

    def __init__(self, message: str, where: Location | None = None) -> None:
        self.message = message
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class YamlSyntaxError(InputError):
    """A YAML, INI or JSON input file does not parse."""


class SchemaError(InputError):
    """A key is unknown or missing, or a value has the wrong type or an invalid value."""


class UnknownReferenceError(InputError):
    """A name refers to a host, group, node, pool or cluster that does not exist."""


class TopologyError(InputError):
    """Declared topology contradicts itself (e.g. a group owner that is not a cluster node)."""


class OrderingError(InputError):
    """Declared ordering contains a cycle."""


class StrategyError(InputError):
    """A cluster strategy cannot apply (e.g. ``passive-first`` with no passive node)."""


class WindowError(InputError):
    """A maintenance window is malformed or ends before it starts."""


class PlanFileError(InputError):
    """A saved plan file is not a valid ``orchestrator.plan/v1`` document."""


class InvariantViolation(OrchestratorError):
    """A plan breaks a safety invariant. Raised by the validator; always a planner bug."""

    exit_status = 3

    def __init__(self, violations: list[str]) -> None:
        self.violations = violations
        lines = "\n".join(f"  - {v}" for v in violations)
        super().__init__(
            f"the plan breaks {len(violations)} safety rule(s); this is a bug in the planner, "
            f"nothing was written:\n{lines}"
        )


class FaultSpecError(InputError):
    """A simulated-lab fault file does not parse, or names an unknown host or action."""


class UnknownRunError(InputError):
    """A run id that the journal does not hold."""


class StalePlanError(OrchestratorError):
    """The plan no longer matches its inputs or the live facts; :attr:`changes` says what."""

    exit_status = 4

    def __init__(self, changes: list[str], advice: str = "plan again and review it") -> None:
        self.changes = changes
        lines = "\n".join(f"  - {c}" for c in changes)
        super().__init__(
            f"the plan is stale ({len(changes)} change(s) since it was reviewed); "
            f"nothing was done; {advice}:\n{lines}"
        )


class LockHeldError(OrchestratorError):
    """Another controller holds the lease on some of the hosts (or the lab) a run touches."""

    exit_status = 5


class JournalError(OrchestratorError):
    """The journal database cannot be opened, read or written."""

    exit_status = 6


class StepError(OrchestratorError):
    """One step (probe, apply or verify) of an action failed.

    ``exit_code`` is the remote command's exit status when there was one; ``output`` its
    (secret-free) output, of which only a digest is journaled."""

    def __init__(self, message: str, *, exit_code: int | None = None, output: str = "") -> None:
        self.message = message
        self.exit_code = exit_code
        self.output = output
        super().__init__(message)


class OutcomeUnknown(StepError):
    """The step was (or may have been) started on the host and its answer is lost; the
    host-side record says it started but not how it ended. Not retried: the engine re-probes
    kinds whose probe can be trusted and stops the branch for the operator otherwise."""


class TransientError(StepError):
    """A failure worth retrying with backoff (connection refused/reset, 5xx, 1618, rebooting)."""


class HostUnreachable(TransientError):
    """The host does not answer (connection refused, reset, or no route)."""


class StepTimeout(TransientError):
    """The step overran its per-kind timeout."""


class FatalError(StepError):
    """A failure that retrying cannot fix (authentication, 1603, a refused cluster move)."""


class AuthenticationError(FatalError):
    """The host refused the credentials."""


class VerificationFailed(FatalError):
    """The step ran, but its post-condition does not hold."""
