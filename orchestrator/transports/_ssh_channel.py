"""One SSH channel running the sh interpreter loop, spoken to in the framing of :mod:`._frame`.

The loop (:data:`._interp_sh.SH_INTERPRETER`) is started with
``exec_command("exec sh -c '<loop>'")`` (the remote user's login shell must be a POSIX shell,
as it runs that command line), so requests go to its stdin and responses come from its stdout;
the loop's own stderr is drained and kept (the last few KiB) for error messages."""

from __future__ import annotations

import contextlib
import time
from typing import Any

from ._frame import END, Response, parse_response
from ._interp_sh import SH_INTERPRETER
from ._quote import sh_quote

_END_MARK = (END + " ").encode()
_STDERR_KEEP = 4096
#: How often a blocked read wakes up to see whether the interpreter has exited.
_POLL_S = 0.1


class Deadline(Exception):
    """No response arrived before the controller-side deadline."""


def start_command(interpreter: str = "sh") -> str:
    """The command line that starts the loop under ``interpreter`` (e.g. ``sh``)."""
    return f"exec {interpreter} -c {sh_quote(SH_INTERPRETER)}"


class FramedChannel:
    """A paramiko channel running the loop: send request lines, read the matching response."""

    def __init__(self, chan: Any) -> None:
        self.chan = chan
        self._buf = bytearray()
        self._err = bytearray()

    @classmethod
    def open(cls, transport: Any, command: str, timeout: float) -> FramedChannel:
        """Open a session channel on ``transport`` and run ``command`` in it."""
        chan = transport.open_session(timeout=timeout)
        try:
            chan.exec_command(command)
        except BaseException:
            chan.close()
            raise
        return cls(chan)

    @property
    def alive(self) -> bool:
        """False once the channel is closed, at EOF, or the loop has exited."""
        c = self.chan
        return not (c.closed or c.eof_received or c.exit_status_ready())

    @property
    def stderr_tail(self) -> str:
        """The end of what the loop itself wrote to stderr."""
        self._drain_stderr()
        return self._err.decode("utf-8", "replace").strip()

    def send(self, line: bytes) -> None:
        """Write one request line."""
        self.chan.sendall(line)

    def read_response(self, request_id: str, deadline: float) -> Response | None:
        """The response to ``request_id``; None if the loop exited or the channel hit EOF
        first. Lines that are not that response are skipped. Raises :class:`Deadline` at
        ``deadline`` (a :func:`time.monotonic` value) and :class:`FrameError` for a
        malformed response."""
        scan = 0
        while True:
            nl = self._buf.find(b"\n", scan)
            if nl >= 0:
                line = bytes(self._buf[:nl])
                del self._buf[: nl + 1]
                scan = 0
                resp = _match(line, request_id)
                if resp is not None:
                    return resp
                continue
            scan = len(self._buf)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Deadline
            self.chan.settimeout(min(remaining, _POLL_S))
            try:
                data = self.chan.recv(1 << 20)
            except TimeoutError:
                self._drain_stderr()
                if self.chan.exit_status_ready() and not self.chan.recv_ready():
                    return None
                continue
            if not data:
                return None
            self._buf += data
            self._drain_stderr()

    def close(self) -> None:
        """Close the channel (the loop sees EOF on its stdin, or SIGHUP)."""
        with contextlib.suppress(OSError, EOFError):
            self.chan.close()

    def _drain_stderr(self) -> None:
        while self.chan.recv_stderr_ready():
            self._err += self.chan.recv_stderr(1 << 16)
            del self._err[:-_STDERR_KEEP]


def _match(line: bytes, request_id: str) -> Response | None:
    at = line.find(_END_MARK)
    if at < 0:
        return None
    return parse_response(line[at:].decode("ascii", "replace"), request_id)
