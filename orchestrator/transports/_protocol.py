"""The transport Protocol: run a script on one host, move files, close.

A transport is per host, reused across actions, and safe to call from the engine's worker
threads (calls to one host are serialised inside the transport). Failures are raised as
:class:`~orchestrator.errors.StepError` subclasses, so the engine's retries can tell
transient from fatal. A request sent with a step id runs at most once on its host."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol


@dataclass(frozen=True)
class Result:
    """What one script returned: exit status, decoded stdout and stderr, wall duration in
    seconds, and the JSON payload the script set (``{}`` if none)."""

    exit_code: int
    stdout: str = ""
    stderr: str = ""
    duration: float = 0.0
    payload: Mapping[str, Any] = field(default_factory=dict)


class Transport(Protocol):
    """A connection to one host."""

    def run(self, script: str, *, timeout: float, step: str | None = None) -> Result:
        """Run ``script`` in the host's interpreter (PowerShell, or POSIX ``sh``); give up
        with :class:`~orchestrator.errors.StepTimeout` after ``timeout`` seconds.

        With ``step`` (a step id, :mod:`._frame`) the host records the request, and a lost
        answer is asked about, never sent again: the recorded result is returned (waiting
        while the step still runs), :class:`~orchestrator.errors.OutcomeUnknown` raised if
        it started and its process is gone, a
        :class:`~orchestrator.errors.TransientError` if it never started or the host cannot
        be asked (a new attempt, with a new step id, is then safe after :meth:`recall`)."""
        ...

    def recall(self, step: str, *, timeout: float) -> Result | None:
        """What became of the request recorded as ``step``: its result (waiting up to
        ``timeout`` seconds while it still runs), None if it never started (it is then
        voided: a late copy cannot run), :class:`~orchestrator.errors.OutcomeUnknown` if it
        started and its process is gone."""
        ...

    def put(self, local: Path, remote: str) -> None:
        """Copy a local file to ``remote`` on the host."""
        ...

    def get(self, remote: str, local: Path) -> None:
        """Copy ``remote`` from the host to a local file."""
        ...

    def close(self) -> None:
        """Close the interpreter and the connection."""
        ...

    def __enter__(self) -> Transport: ...

    def __exit__(
        self, typ: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...
