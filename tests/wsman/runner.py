"""The default script runner of the :class:`~tests.wsman.commands.InterpreterEmulator`: a tiny
test vocabulary instead of PowerShell, plus the transport's file-copy scripts on a virtual
file system.

A script whose first line is ``# test: {json}`` answers what the JSON says:

``stdout`` / ``stderr`` (text) or ``stdout_b64`` / ``stderr_b64`` (any bytes); ``exit`` (0);
``payload`` (a JSON value) or ``payload_raw`` (text); ``sleep`` (seconds before answering);
``echo_script`` (payload ``{"len", "sha256"}`` of the whole script); ``die`` (the interpreter
exits with that code, writing ``stdout``/``stderr`` raw, outside any frame).

Scripts marked ``# orch:put-chunk``, ``put-commit``, ``get-stat``, ``get-chunk`` are the
transport's file transfer steps; their ``$name = value`` lines are read and applied to
:attr:`VocabularyRunner.files`. Any other script answers exit 0 with no output.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from typing import Any

#: ``script_runner(script, timeout) -> (exit_code, stdout, stderr, payload_json)``
ScriptRunner = Callable[[str, float], tuple[int, bytes, bytes, bytes]]

_ASSIGN = re.compile(r"^\$(\w+) = (?:'((?:[^']|'')*)'|(-?\d+))\s*$", re.M)


def make_script(**fields: Any) -> str:
    """A ``# test:`` script (bytes values travel as ``<name>_b64``)."""
    doc = {
        (f"{k}_b64" if isinstance(v, bytes) else k): (
            base64.b64encode(v).decode() if isinstance(v, bytes) else v
        )
        for k, v in fields.items()
    }
    return "# test: " + json.dumps(doc)


class VocabularyRunner:
    """Runs ``# test:`` scripts and file-transfer scripts; records every script it saw."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.scripts: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, script: str, timeout: float) -> tuple[int, bytes, bytes, bytes]:
        with self._lock:
            self.scripts.append(script)
        first = script.split("\n", 1)[0].strip()
        if first.startswith("# test:"):
            return self._vocabulary(json.loads(first[len("# test:") :]), script)
        if first.startswith("# orch:"):
            return self._file_op(first[len("# orch:") :].strip(), script)
        return 0, b"", b"", b""

    def _vocabulary(self, doc: dict[str, Any], script: str) -> tuple[int, bytes, bytes, bytes]:
        from .commands import InterpreterDied

        out = _field(doc, "stdout")
        err = _field(doc, "stderr")
        if doc.get("sleep"):
            time.sleep(float(doc["sleep"]))
        if "die" in doc:
            raise InterpreterDied(int(doc["die"]), out, err)
        payload = b""
        if "payload" in doc:
            payload = json.dumps(doc["payload"]).encode()
        elif "payload_raw" in doc:
            payload = str(doc["payload_raw"]).encode()
        elif doc.get("echo_script"):
            digest = hashlib.sha256(script.encode()).hexdigest()
            payload = json.dumps({"len": len(script), "sha256": digest}).encode()
        return int(doc.get("exit", 0)), out, err, payload

    def _file_op(self, op: str, script: str) -> tuple[int, bytes, bytes, bytes]:
        v: dict[str, Any] = {
            m.group(1): (m.group(2).replace("''", "'") if m.group(3) is None else int(m.group(3)))
            for m in _ASSIGN.finditer(script)
        }
        with self._lock:
            files = self.files
            if op == "put-chunk":
                data = base64.b64decode(v["d"])
                files[v["p"]] = (files.get(v["p"], b"") if v["m"] == "Append" else b"") + data
                return 0, b"", b"", b""
            if op == "put-commit":
                data = files.pop(v["p"], b"")
                digest = hashlib.sha256(data).hexdigest()
                if len(data) != v["n"] or digest != v["h"]:
                    return 1, b"", f"upload damaged: got {len(data)} bytes".encode(), b""
                files[v["t"]] = data
                return 0, f"{len(data)} {digest}\r\n".encode(), b"", b""
            if v["p"] not in files:
                return 1, b"", f"Could not find file '{v['p']}'.".encode(), b""
            data = files[v["p"]]
            if op == "get-stat":
                return 0, f"{len(data)} {hashlib.sha256(data).hexdigest()}\r\n".encode(), b"", b""
            if op == "get-chunk":
                chunk = data[v["o"] : v["o"] + v["n"]]
                return 0, base64.b64encode(chunk) + b"\r\n", b"", b""
        return 1, b"", f"unknown file operation {op!r}".encode(), b""


def _field(doc: dict[str, Any], name: str) -> bytes:
    if f"{name}_b64" in doc:
        return base64.b64decode(doc[f"{name}_b64"])
    return str(doc.get(name, "")).encode()
