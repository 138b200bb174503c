"""Retry policy and error classes: what is worth retrying, how often, how long to wait.

Transient failures (connection refused or reset, operation timeouts, HTTP 5xx, a host that
is rebooting, msiexec 1618 "another installation is in progress", any failed install whose
log says files were in use) are retried with exponential backoff and jitter, up to
``attempts`` tries in all. Fatal failures (authentication, 1603, a refused cluster move, a
failed verification) are not.

Files in use: the Exchange update log writes ``FileInUse:: Added to Filelist: <file>`` for
each file another program holds (KB 328839, seeds 001 and 003: antivirus, backup agents,
SNMP, monitoring, or another Setup/Update/Xcopy); Windows Installer logs name them too. Any
non-success exit code with such lines is transient, and the files are named in the error.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import tenacity

from ..errors import FatalError, StepError, TransientError
from ..plan import Action
from ._protocols import StepResult

#: Windows Installer exit codes with a fixed meaning.
ERROR_SUCCESS_REBOOT_REQUIRED = 3010
ERROR_INSTALL_ALREADY_RUNNING = 1618
_FILES_IN_USE = ("files in use", "file in use", "being used by another process", "fileinuse::")
_FILEINUSE_LINE = re.compile(r"FileInUse::[^\r\n]*?Filelist:\s*(?P<file>[^\r\n]*)", re.I)


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` tries in all; waits grow from ``backoff_s`` to at most ``max_backoff_s``
    (plan seconds), each with up to ``backoff_s`` of random jitter."""

    attempts: int = 3
    backoff_s: float = 10.0
    max_backoff_s: float = 300.0

    @classmethod
    def from_plan(cls, execution: Mapping[str, Any]) -> RetryPolicy:
        """The policy in the plan's ``execution.retries`` section (defaults if absent)."""
        raw = execution.get("retries") or {}
        return cls(
            attempts=max(1, int(raw.get("attempts", cls.attempts))),
            backoff_s=float(raw.get("backoff_s", cls.backoff_s)),
            max_backoff_s=float(raw.get("max_backoff_s", cls.max_backoff_s)),
        )

    def retrying(
        self,
        sleep: Callable[[float], None],
        stop_event: threading.Event,
        before_sleep: Callable[[tenacity.RetryCallState], None],
    ) -> tenacity.Retrying:
        """A tenacity loop: retry :class:`TransientError` only, sleeping in plan time and
        giving up early once ``stop_event`` is set."""
        return tenacity.Retrying(
            sleep=sleep,
            stop=tenacity.stop_after_attempt(self.attempts)
            | tenacity.stop_when_event_set(stop_event),
            wait=tenacity.wait_exponential_jitter(
                multiplier=self.backoff_s, max=self.max_backoff_s, jitter=self.backoff_s
            ),
            retry=tenacity.retry_if_exception_type(TransientError),
            before_sleep=before_sleep,
            reraise=True,
        )


def check_exit(action: Action, result: StepResult) -> None:
    """Raise the right :class:`StepError` for a non-success exit code of ``action``.

    Success codes are 0 plus the action's ``success_codes`` and ``reboot_codes``."""
    code = result.exit_code
    ok = {0, *action.params.get("success_codes", ()), *action.params.get("reboot_codes", ())}
    if code in ok:
        return
    if code == ERROR_INSTALL_ALREADY_RUNNING:
        raise TransientError(
            "another installation is in progress (1618)", exit_code=code, output=result.output
        )
    if files_in_use(result.output):
        held = held_files(result.output)
        named = f": {', '.join(held[:5])}" + (f" and {len(held) - 5} more" if len(held) > 5 else "")
        raise TransientError(
            f"{action.kind} exited with code {code} with files in use{named if held else ''} "
            "(another program holds them: antivirus, backup, SNMP, monitoring, another "
            "installer); retrying",
            exit_code=code,
            output=result.output,
        )
    raise FatalError(f"{action.kind} exited with code {code}", exit_code=code, output=result.output)


def files_in_use(output: str) -> bool:
    """True if installer output says files were in use (a failure worth retrying)."""
    low = output.lower()
    return any(marker in low for marker in _FILES_IN_USE)


def held_files(output: str) -> list[str]:
    """The files the update log lists as in use (``FileInUse:: Added to Filelist: F``)."""
    found = (m.group("file").strip() for m in _FILEINUSE_LINE.finditer(output))
    return list(dict.fromkeys(f for f in found if f))


def error_class(exc: BaseException) -> str:
    """The name journaled for a failure: the StepError subclass, or ``bug:<type>`` for an
    unexpected exception raised by a driver."""
    if isinstance(exc, StepError):
        return type(exc).__name__
    return f"bug:{type(exc).__name__}"
