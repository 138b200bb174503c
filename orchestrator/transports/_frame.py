"""The framing spoken between the controller and a persistent interpreter on a host.

One interpreter per host reads requests from its stdin and writes responses to its stdout.
Both are single lines of printable ASCII, so that no byte of any script or output can break
the framing (everything variable is base64)::

    request:  ORCH1 <id> <timeout_s> <base64(script, UTF-8)> [<step>]\\n
    ask:      ORCH1-ASK <id> <step>\\n
    response: ORCH1-END <id> <exit_code> <base64(stdout)> <base64(stderr)> <base64(payload)>\\n

``id`` is 16 lowercase hex digits chosen by the controller, fresh for every request; the
controller ignores every line that is not the response with that id (banners, noise).
``timeout_s`` is enforced by the interpreter itself: a step that overruns is stopped and
answered with exit code :data:`TIMEOUT_EXIT` and a stderr saying so, and the interpreter lives
on. ``payload`` is the JSON document the script set (PowerShell: ``$OrchPayload``; sh: the
file named by ``$ORCH_PAYLOAD``), or empty. An empty base64 field is written as ``-``.

``step`` (32 lowercase hex digits, unique per run, action, attempt and step) asks the
interpreter to keep a **host-side record** of the request under its per-user state
directory: ``started`` (with the pid of the process doing the work) is written, created
exclusively and flushed, before the work starts, and the response line after it ends. A
request whose step is already recorded is not run again (exit :data:`DUPLICATE_EXIT`). An
*ask* answers, from that record, what became of a step: the payload is ``{"state":
"finished", "answer": "<the recorded response line>"}``, ``{"state": "running"}`` (its
process is alive), ``{"state": "gone"}`` (started, its process is gone, no answer) or
``{"state": "never"}``; asking about a step never started records it as void, so that a
late copy of the request can no longer run.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from dataclasses import dataclass
from typing import Any

MAGIC = "ORCH1"
END = "ORCH1-END"
ASK = "ORCH1-ASK"
#: Exit code an interpreter answers for a step it stopped at its timeout (as GNU timeout).
TIMEOUT_EXIT = 124
#: Exit code an interpreter answers for a request whose step it has already recorded.
DUPLICATE_EXIT = 125
#: States of a step in the host-side record, as an ask answers them.
RECALL_STATES = ("finished", "running", "gone", "never")


class FrameError(ValueError):
    """A response line that claims to be a frame but is malformed."""


def new_id() -> str:
    """A fresh request id."""
    return secrets.token_hex(8)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii") or "-"


def _unb64(field: str) -> bytes:
    if field == "-":
        return b""
    try:
        return base64.b64decode(field, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FrameError(f"bad base64 field: {exc}") from None


def encode_request(
    request_id: str, script: str, timeout_s: float, step: str | None = None
) -> bytes:
    """The request line for ``script`` (recorded on the host under ``step`` if given)."""
    tail = f" {check_step(step)}" if step else ""
    return f"{MAGIC} {request_id} {int(max(1, timeout_s))} {_b64(script.encode())}{tail}\n".encode()


def encode_ask(request_id: str, step: str) -> bytes:
    """The ask line: what became of ``step`` on this host?"""
    return f"{ASK} {request_id} {check_step(step)}\n".encode()


def check_step(step: str) -> str:
    """``step`` if it is 32 lowercase hex digits, else ValueError."""
    if len(step) != 32 or any(c not in "0123456789abcdef" for c in step):
        raise ValueError(f"a step id is 32 lowercase hex digits, not {step!r}")
    return step


def encode_response(
    request_id: str, exit_code: int, stdout: bytes, stderr: bytes, payload: bytes = b""
) -> bytes:
    """A response line (what an interpreter writes; used by tests and test servers)."""
    fields = (END, request_id, str(exit_code), _b64(stdout), _b64(stderr), _b64(payload))
    return (" ".join(fields) + "\n").encode()


@dataclass(frozen=True)
class Response:
    """A decoded response: stdout/stderr as text (UTF-8, undecodable bytes replaced)."""

    request_id: str
    exit_code: int
    stdout: str
    stderr: str
    payload: dict[str, Any]


def parse_response(line: str, request_id: str) -> Response | None:
    """The response in ``line`` if it answers ``request_id``; None for any other line."""
    parts = line.strip().split(" ")
    if len(parts) != 6 or parts[0] != END or parts[1] != request_id:
        return None
    try:
        code = int(parts[2])
    except ValueError:
        raise FrameError(f"bad exit code {parts[2]!r}") from None
    raw = _unb64(parts[5]).decode("utf-8", "replace").strip()
    try:
        payload = json.loads(raw) if raw else {}
    except json.JSONDecodeError as exc:
        raise FrameError(f"payload is not JSON: {exc.msg}") from None
    if not isinstance(payload, dict):
        payload = {"value": payload}
    out = _unb64(parts[3]).decode("utf-8", "replace")
    err = _unb64(parts[4]).decode("utf-8", "replace")
    return Response(request_id, code, out, err, payload)


def parse_request(line: str) -> tuple[str, float, str] | None:
    """``(id, timeout_s, script)`` from a request line, or None (used by test servers)."""
    keyed = parse_keyed(line)
    return None if keyed is None else keyed[:3]


def parse_keyed(line: str) -> tuple[str, float, str, str | None] | None:
    """``(id, timeout_s, script, step or None)`` from a request line, or None."""
    parts = line.strip().split(" ")
    if len(parts) not in (4, 5) or parts[0] != MAGIC:
        return None
    step = parts[4] if len(parts) == 5 else None
    return parts[1], float(parts[2]), _unb64(parts[3]).decode("utf-8"), step


def parse_ask(line: str) -> tuple[str, str] | None:
    """``(id, step)`` from an ask line, or None (used by test servers)."""
    parts = line.strip().split(" ")
    if len(parts) != 3 or parts[0] != ASK:
        return None
    return parts[1], parts[2]


def recalled(resp: Response) -> tuple[str, Response | None]:
    """The state an ask's response reports, and for ``finished`` the recorded response."""
    state = str(resp.payload.get("state", ""))
    if resp.exit_code != 0 or state not in RECALL_STATES:
        raise FrameError(f"not an answer to an ask: exit {resp.exit_code}, state {state!r}")
    if state != "finished":
        return state, None
    line = str(resp.payload.get("answer", "")).strip()
    parts = line.split(" ")
    answer = parse_response(line, parts[1]) if len(parts) == 6 else None
    if answer is None:
        raise FrameError("the recorded answer is not a response line")
    return state, answer
