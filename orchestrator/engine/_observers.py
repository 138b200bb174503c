"""Observers that present the engine's events: the JSONL event log, a fan-out that keeps a
broken observer from breaking the run, an in-memory recorder, and plain one-line progress.

Times shown are plan time (:attr:`Event.at`) formatted as ``HH:MM:SS`` in UTC.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any, TextIO

from ..estimate import hms
from ._protocols import Event, Observer

_MAX_TEXT = 200


def clock_text(at: float) -> str:
    """Plan time ``at`` (epoch seconds) as ``HH:MM:SS`` in UTC."""
    return time.strftime("%H:%M:%S", time.gmtime(at))


def _one_line(text: Any) -> str:
    s = " ".join(str(text).split())
    return s if len(s) <= _MAX_TEXT else s[: _MAX_TEXT - 1] + "…"


def _error(data: Mapping[str, Any]) -> str:
    cls, msg, code = data.get("error_class") or "", data.get("message") or "", data.get("exit_code")
    text = f"{cls}: {msg}" if cls and msg else str(cls or msg)
    if code not in (None, 0):
        text = f"{text} (exit {code})" if text else f"exit {code}"
    return _one_line(text or "error")


def _plural(n: Any, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class EventLines:
    """Describes notable events in one secret-free line each (``None`` for the others).

    Remembers each action's last attempt error so a failure line can say why."""

    def __init__(self) -> None:
        self._errors: dict[str, str] = {}

    def line(self, event: Event) -> str | None:
        """``[HH:MM:SS] label   text`` for a notable event, else ``None``."""
        body = self._body(event)
        return None if body is None else f"[{clock_text(event.at)}] {body[0]:<7} {body[1]}"

    def _body(self, e: Event) -> tuple[str, str] | None:
        d, t, aid = e.data, e.type, e.action or "?"
        where = f"{e.host}, " if e.host else ""
        if t == "action_finished":
            ran = f"({where}{_plural(d.get('attempts') or 0, 'attempt')}, "
            ran += f"{hms(round(float(d.get('duration_s') or 0)))})"
            error = self._errors.pop(aid, "")
            if d.get("outcome") == "done":
                return "done", f"{aid} {ran}"
            if d.get("outcome") == "skipped":
                return None  # already said by action_skipped
            label = "UNKNOWN" if d.get("outcome") == "unknown" else "FAILED"
            return label, f"{aid} {ran}" + (f": {error}" if error else "")
        if t == "attempt_failed":
            error = self._errors[aid] = _error(d)
            if d.get("retry_in_s") is None:
                return None  # the final failure is reported by action_finished
            retry = hms(round(float(d["retry_in_s"])))
            return "retry", f"{aid} ({where}attempt {d.get('attempt')}): {error}; again in {retry}"
        host = f" ({e.host})" if e.host else ""
        if t in ("action_skipped", "action_cancelled"):
            label = "skipped" if t == "action_skipped" else "cancel"
            return label, f"{aid}{host}: {_one_line(d.get('reason') or '')}"
        if t == "compensation":
            text = f"{d.get('for_action', aid)}{host}: {d.get('outcome', '')}"
            return "undo", text + (f" - {_one_line(d['message'])}" if d.get("message") else "")
        if t == "window_wait":
            until = d.get("until")
            at = clock_text(float(until)) if isinstance(until, int | float) else str(until)
            return "wait", f"window opens at {at}"
        if t == "window_closing":
            return "window", f"closing: {_one_line(d.get('reason') or '')}"
        if t == "budget_spent":
            why = d.get("reason") or f"{d.get('failures')} failures (max {d.get('max_failures')})"
            return "budget", f"failure budget spent: {_one_line(str(why))}; starting nothing new"
        if t == "stop_requested":
            return "stop", str(d.get("message") or "stopping at the next safe point")
        if t == "run_started":
            resumed = ", resumed" if d.get("resumed") else ""
            forks = f", {d['forks']} forks" if d.get("forks") else ""
            return "start", f"run {e.run_id}: {d.get('actions') or 0} actions{forks}{resumed}"
        if t == "run_finished":
            counts = ", ".join(
                f"{d.get(k) or 0} {k}"
                for k in ("done", "failed", "unknown", "cancelled", "pending")
                if k != "unknown" or d.get(k)
            )
            return "finish", f"run {e.run_id} {d.get('status')}: {counts}"
        return None


class JsonlLog:
    """Appends every event as one compact JSON line to ``path`` (resumes continue the log);
    each line is flushed, and the file is fsynced when the run finishes."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file: IO[str] | None = path.open("a", encoding="utf-8")
        self._encode = json.JSONEncoder(
            ensure_ascii=False, separators=(",", ":"), default=str
        ).encode

    def notify(self, event: Event) -> None:
        """Write ``event`` as one line."""
        if self._file is None:
            raise ValueError(f"event log {self.path} is closed")
        self._file.write(self._encode(event.to_json()) + "\n")
        self._file.flush()
        if event.type == "run_finished":
            os.fsync(self._file.fileno())

    def close(self) -> None:
        """Flush, fsync and close the file (idempotent)."""
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None


class Fanout:
    """Forwards each event to every observer. One that raises is disabled, and a single
    warning about it is kept in :attr:`errors`; the run goes on."""

    def __init__(self, observers: Sequence[Observer]) -> None:
        self._observers = list(observers)
        self._active = list(self._observers)
        self.errors: list[str] = []

    def notify(self, event: Event) -> None:
        """Forward ``event``; disable observers that raise."""
        for observer in tuple(self._active):
            try:
                observer.notify(event)
            except Exception as exc:  # an observer must never break the run
                self._active.remove(observer)
                self.errors.append(
                    f"observer {type(observer).__name__} disabled on a {event.type} event: "
                    f"{type(exc).__name__}: {_one_line(exc)}"
                )

    def close(self) -> None:
        """Close every observer that has a ``close()``; errors are collected, not raised."""
        for observer in self._observers:
            close = getattr(observer, "close", None)
            if close is None:
                continue
            try:
                close()
            except Exception as exc:
                self.errors.append(
                    f"observer {type(observer).__name__} failed to close: "
                    f"{type(exc).__name__}: {_one_line(exc)}"
                )


class Recorder:
    """Keeps every event in :attr:`events` (for tests and in-process reports)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def notify(self, event: Event) -> None:
        """Keep ``event``."""
        self.events.append(event)

    def of_type(self, *types: str) -> list[Event]:
        """The kept events whose type is one of ``types``."""
        return [e for e in self.events if e.type in types]


class PlainProgress:
    """One line per notable event on ``stream`` (for logs, CI and non-terminals), e.g.
    ``[22:14:05] done    exclu1/node-c/install (node-c, 1 attempt, 30m00s)``; times are
    plan time in UTC."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lines = EventLines()

    def notify(self, event: Event) -> None:
        """Write a line if ``event`` is notable."""
        line = self._lines.line(event)
        if line is not None:
            self._stream.write(line + "\n")
            self._stream.flush()

    def close(self) -> None:
        """Flush the stream (it stays open: it belongs to the caller)."""
        self._stream.flush()
