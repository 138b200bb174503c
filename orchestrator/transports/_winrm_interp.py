"""The PowerShell interpreter as one WinRS command: start it, send request lines to its stdin,
read its stdout until the response line with the awaited id (:mod:`._frame`).

The command line is short and fixed (:func:`launch`): with :mod:`._interp_ps`, its
``-EncodedCommand`` bootstrap, which reads the interpreter program as the first stdin line;
without it, ``powershell.exe ... -Command -`` and one stdin line that runs the program. Either
way neither the loop nor any script is limited by the length of a command line, and a step is
one Send (its request line) and usually one Receive.
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import time
from dataclasses import dataclass

from winrm.exceptions import WinRMOperationTimeoutError

from ._frame import END, Response, parse_response
from ._winrm_shell import WinRMShell

COMMAND = "powershell.exe"
ARGS = ("-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-Command", "-")
#: How much of the interpreter's own stderr (outside any frame) is kept for messages.
STDERR_TAIL = 64 * 1024


class Deadline(Exception):
    """No response before the caller's deadline."""


@dataclass(frozen=True)
class Launch:
    """How to start an interpreter: the command, its arguments, and its first stdin bytes."""

    command: str
    args: tuple[str, ...]
    stdin: bytes


def launch(program: str | None = None) -> Launch:
    """The launch of the interpreter ``program`` (default: :mod:`._interp_ps`'s loop; ``""``
    sends no program, for hosts or tests that provide their own)."""
    try:
        mod = importlib.import_module("._interp_ps", __package__)
    except ImportError:
        source = program or ""
        return Launch(COMMAND, ARGS, bootstrap_line(source) if source else b"")
    source = mod.PS_INTERPRETER if program is None else program
    command, *args = str(mod.ps_bootstrap_command()).split(" ")
    return Launch(command, tuple(args), bytes(mod.ps_interpreter_line(source)) if source else b"")


def bootstrap_line(source: str) -> bytes:
    """One stdin line that makes ``powershell -Command -`` run ``source`` (which then reads
    the following lines itself)."""
    b64 = base64.b64encode(source.encode()).decode("ascii")
    return (
        "& ([ScriptBlock]::Create([Text.Encoding]::UTF8.GetString("
        f"[Convert]::FromBase64String('{b64}'))))\n"
    ).encode("ascii")


class FramedCommand:
    """One interpreter process in a shell; :attr:`alive` until its command is done."""

    def __init__(self, shell: WinRMShell, command_id: str, bootstrap: bytes = b"") -> None:
        self.shell = shell
        self.command_id = command_id
        self.generation = shell.generation
        self.exit_code: int | None = None
        self.stderr_tail = b""
        self._pending = bootstrap
        self._buf = bytearray()
        self._scanned = 0

    @classmethod
    def start(cls, shell: WinRMShell, how: Launch) -> FramedCommand:
        """Start the interpreter command; its program goes with the first Send."""
        return cls(shell, shell.command(how.command, how.args), how.stdin)

    @property
    def alive(self) -> bool:
        return self.exit_code is None and self.generation == self.shell.generation

    def send(self, data: bytes, *, end: bool = False) -> None:
        """Write ``data`` (after the pending bootstrap, if any) to the interpreter's stdin."""
        self.shell.send(self.command_id, self._pending + data, end=end)
        self._pending = b""

    def read_response(self, request_id: str, deadline: float) -> Response | None:
        """Receive until the response to ``request_id`` (None if the interpreter exited
        first). Operation timeouts are normal while a step runs: Receive again until
        ``deadline`` (monotonic), then :class:`Deadline`. Raises FrameError for a
        malformed response and pywinrm's errors as they are."""
        while True:
            found = self._scan(request_id)
            if found is not None:
                return found
            if self.exit_code is not None:
                return None
            if time.monotonic() >= deadline:
                raise Deadline(request_id)
            try:
                out = self.shell.receive(self.command_id)
            except WinRMOperationTimeoutError:
                continue
            self._buf += out.stdout
            if out.stderr:
                self.stderr_tail = (self.stderr_tail + out.stderr)[-STDERR_TAIL:]
            self.exit_code = out.exit_code

    def _scan(self, request_id: str) -> Response | None:
        """The awaited response among the complete lines received; other lines dropped."""
        while (nl := self._buf.find(b"\n", self._scanned)) >= 0:
            line = bytes(self._buf[:nl])
            del self._buf[: nl + 1]
            self._scanned = 0
            start = line.find(END.encode())
            if start < 0:
                continue
            found = parse_response(line[start:].decode("ascii", "replace"), request_id)
            if found is not None:
                return found
        self._scanned = len(self._buf)
        return None

    def close(self) -> None:
        """Stop the command and release it on the host (best effort: errors ignored)."""
        if self.generation != self.shell.generation or self.shell.shell_id is None:
            return
        with contextlib.suppress(Exception):
            self.shell.signal_terminate(self.command_id)
