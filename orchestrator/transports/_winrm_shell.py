"""One WinRS shell on one host, through pywinrm's :class:`~winrm.protocol.Protocol`.

The shell is opened lazily (UTF-8 code page, no profile), reused by every command, and
reopened when it idled longer than ``idle_s``, is older than ``max_age_s`` (kept well under
WinRM's 8-hour MaxShellRunTime), or the host says it no longer exists. pywinrm exceptions go
through unchanged; the caller classifies them (:mod:`._winrm_errors`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from winrm.protocol import Protocol

log = logging.getLogger(__name__)

#: Raw stdin bytes per Send: base64 grows them to 4/3 and the envelope must stay under the
#: 150 KiB MaxEnvelopeSize of older hosts (newer ones accept 500 KiB).
SEND_CHUNK = 96 * 1024


@dataclass(frozen=True)
class Output:
    """What one Receive returned; ``exit_code`` is set once the command is done."""

    stdout: bytes
    stderr: bytes
    exit_code: int | None


class WinRMShell:
    """A reusable shell; :attr:`generation` changes every time a new shell is opened."""

    def __init__(
        self,
        protocol: Protocol,
        *,
        max_age_s: float,
        idle_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.protocol = protocol
        self.max_age_s = max_age_s
        self.idle_s = idle_s
        self.clock = clock
        self.shell_id: str | None = None
        self.generation = 0
        self._opened = 0.0
        self._used = 0.0

    def ensure(self) -> str:
        """The shell id, opening a shell first if there is none or it is too old or idle."""
        now = self.clock()
        expired = now - self._opened > self.max_age_s or now - self._used > self.idle_s
        if self.shell_id is not None and expired:
            log.debug("recycling shell %s (age or idle limit)", self.shell_id)
            self.close(quiet=True, keep_session=True)
        if self.shell_id is None:
            self.shell_id = self.protocol.open_shell(codepage=65001, noprofile=True)
            self.generation += 1
            self._opened = self._used = self.clock()
            log.debug("opened shell %s", self.shell_id)
        return self.shell_id

    def forget(self) -> None:
        """Drop the shell without talking to the host (it is gone, or unreachable)."""
        self.shell_id = None

    def _touch(self) -> str:
        if self.shell_id is None:
            raise RuntimeError("no shell is open")
        self._used = self.clock()
        return self.shell_id

    def command(self, command: str, args: tuple[str, ...] = ()) -> str:
        """Start ``command`` (no ``cmd /c``, stdin as a pipe); its CommandId."""
        shell_id = self._touch()
        return self.protocol.run_command(
            shell_id, command, args, console_mode_stdin=False, skip_cmd_shell=True
        )

    def send(self, command_id: str, data: bytes, *, end: bool = False) -> int:
        """Write ``data`` to the command's stdin in as few Sends as fit; how many it took."""
        shell_id = self._touch()
        pieces = [data[i : i + SEND_CHUNK] for i in range(0, len(data), SEND_CHUNK)] or [b""]
        for n, piece in enumerate(pieces, 1):
            self.protocol.send_command_input(
                shell_id, command_id, piece, end=end and n == len(pieces)
            )
            self._used = self.clock()
        return len(pieces)

    def receive(self, command_id: str) -> Output:
        """One Receive: output so far, and the exit code if the command is done. Raises
        ``WinRMOperationTimeoutError`` when nothing happened within the operation timeout."""
        shell_id = self._touch()
        out, err, code, done = self.protocol.get_command_output_raw(shell_id, command_id)
        self._used = self.clock()
        return Output(out, err, code if done else None)

    def signal_terminate(self, command_id: str) -> None:
        """Stop the command and release it on the host."""
        shell_id = self._touch()
        self.protocol.cleanup_command(shell_id, command_id)

    def close(self, *, quiet: bool = True, keep_session: bool = False) -> None:
        """Delete the shell (ending its processes); errors are ignored when ``quiet``."""
        shell_id, self.shell_id = self.shell_id, None
        try:
            if shell_id is not None:
                self.protocol.close_shell(shell_id, close_session=not keep_session)
            elif not keep_session:
                self.protocol.transport.close_session()
        except Exception as exc:
            if not quiet:
                raise
            log.debug("closing shell %s failed: %s", shell_id, type(exc).__name__)
