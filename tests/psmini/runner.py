""":class:`PatchHostRunner`: the ``ScriptRunner`` of the WS-Management test server
(``runner(script, timeout) -> (exit, stdout, stderr, payload)``) backed by one
:class:`~.interp.Interpreter` on a :class:`~.host.WindowsHost`.

Like the persistent interpreter (orchestrator/transports/_interp_ps.py) the global scope
lives on between requests; each request clears ``$OrchPayload`` and sets ``$LASTEXITCODE``
to 0. The verb library is acknowledged without running it; the transport's file-transfer
scripts are applied to the host's file system directly; a script calling ``Invoke-OrchVerb``
goes to ``fallback`` when there is one; anything else is interpreted. Something outside the
interpreter's subset answers exit 99 with ``psmini: unsupported: ...``.

A crash injected with ``WindowsHost.crash`` kills the interpreter process: the host gets a
new pid for the next interpreter, the global scope starts afresh, and the runner raises
:class:`~tests.wsman.commands.InterpreterDied` (exit 137), so the emulated interpreter exits
without answering; the transport then sends the same request to a fresh interpreter, which
reaches this runner again as an ordinary request. One runner stands for every interpreter
process: the one-shot fallback and the next persistent interpreter share the new pid and
its global scope."""

from __future__ import annotations

import base64
import hashlib
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from orchestrator.transports._frame import TIMEOUT_EXIT
from orchestrator.transports._interp_ps import LIBRARY_MARKER

from ..wsman.commands import InterpreterDied
from .errors import HostCrash, NetError, PSError, Timeout, Unsupported
from .host import WindowsHost
from .interp import Interpreter
from .output import render, to_json
from .syntax import unquote

ScriptRunner = Callable[[str, float], tuple[int, bytes, bytes, bytes]]
Answer = tuple[int, bytes, bytes, bytes]
UNSUPPORTED_EXIT = 99
#: The exit code the emulated interpreter dies with when a crash kills it.
KILLED_EXIT = 137
_ASSIGN = re.compile(r"^\$(\w+) = (?:'((?:[^']|'')*)'|(-?\d+))\s*$", re.M)


class PatchHostRunner:
    """A script runner that executes PowerShell against ``host``."""

    def __init__(self, host: WindowsHost, *, fallback: ScriptRunner | None = None) -> None:
        self.host = host
        self.fallback = fallback
        self.interpreter = Interpreter(host)
        self.scripts: list[str] = []
        self.requests = 0
        self.libraries = 0
        self._lock = threading.Lock()

    def __call__(self, script: str, timeout: float) -> Answer:
        with self._lock:
            self.scripts.append(script)
            self.requests += 1
            try:
                return self._dispatch(script, timeout)
            except HostCrash:
                self.host.respawn()
                self.interpreter.reset()
                raise InterpreterDied(KILLED_EXIT, b"", b"") from None

    def _dispatch(self, script: str, timeout: float) -> Answer:
        if script.startswith(LIBRARY_MARKER):
            self.libraries += 1
            return 0, b"", b"", b""
        first = script.split("\n", 1)[0].strip()
        if first.startswith("# orch:"):
            return self._transfer(first[len("# orch:") :].strip(), script)
        if self.fallback is not None and "Invoke-OrchVerb" in script:
            return self.fallback(script, timeout)
        return self.interpret(script, timeout)

    def interpret(self, script: str, timeout: float) -> Answer:
        """Run ``script`` in the interpreter as one request (a crash leaves as HostCrash)."""
        it = self.interpreter
        it.vars.write("global", "OrchPayload", None)
        it.vars.write("global", "LASTEXITCODE", 0)
        it.errors = []
        it.deadline = time.monotonic() + timeout
        out: list[Any] = []
        code, lines = 0, []
        try:
            it.run(script, out)
        except PSError as err:
            code = 1
            lines.append(err.inner_message())
        except Unsupported as exc:
            return UNSUPPORTED_EXIT, b"", f"psmini: unsupported: {exc}\n".encode(), b""
        except Timeout:
            code = TIMEOUT_EXIT
            lines.append(f"orchestrator: timed out after {round(timeout)} s; the step was stopped")
        finally:
            it.deadline = None
        lines = it.errors + lines
        if code == 0:
            last = it.vars.read("global", "LASTEXITCODE", 0)
            if isinstance(last, int) and not isinstance(last, bool):
                code = last
        payload = b""
        value = it.vars.read("global", "OrchPayload", 0)
        if value is not None:
            try:
                payload = to_json(value).encode()
            except PSError as err:
                lines.append(f"orchestrator: $OrchPayload is not serialisable: {err.message}")
            except Unsupported as exc:
                return UNSUPPORTED_EXIT, b"", f"psmini: unsupported: {exc}\n".encode(), b""
        stderr = ("\n".join(lines) + "\n") if lines else ""
        return code, render(out).encode(), stderr.encode(), payload

    # -- the transport's file copies ---------------------------------------------------------
    def _transfer(self, op: str, script: str) -> Answer:
        v: dict[str, Any] = {}
        for m in _ASSIGN.finditer(script):
            v[m.group(1)] = int(m.group(3)) if m.group(2) is None else unquote(m.group(2), None)
        h = self.host
        try:
            if op == "put-chunk":
                h.write_bytes(v["p"], base64.b64decode(v["d"]), v["m"] == "Append", "put-chunk")
                return 0, b"", b"", b""
            data = h.read_bytes(v["p"], op)
            digest = hashlib.sha256(data).hexdigest()
            if op == "put-commit":
                if len(data) != v["n"] or digest != v["h"]:
                    h.delete(v["p"])
                    message = f"upload damaged: got {len(data)} bytes, sha256 {digest}\n"
                    return 1, b"", message.encode(), b""
                if h.exists(v["t"], False):
                    h.delete(v["t"])
                h.move(v["p"], v["t"])
                return 0, f"{len(data)} {digest}\r\n".encode(), b"", b""
            if op == "get-stat":
                return 0, f"{len(data)} {digest}\r\n".encode(), b"", b""
            if op == "get-chunk":
                chunk = base64.b64encode(data[v["o"] : v["o"] + v["n"]]).decode()
                lines = [chunk[i : i + 76] for i in range(0, len(chunk), 76)]
                return 0, ("\r\n".join(lines) + "\r\n").encode(), b"", b""
        except NetError as exc:
            return 1, b"", f"{exc.message}\n".encode(), b""
        return 1, b"", f"unknown file operation {op!r}\n".encode(), b""
