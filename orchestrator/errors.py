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
    │   └── PlanFileError             a saved plan that is not a valid ``orchestrator.plan/v1``
    └── InvariantViolation            a plan breaks a safety rule: a planner bug, exit 3

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
