"""A live terminal view of a run: hosts × phases, counts, time left in the window and the
last notable events. Counters are updated per event in O(1); rendering happens at most
``refresh_per_second`` times a second, on rich's refresh thread."""

from __future__ import annotations

import heapq
import threading
from collections import deque
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TextIO, cast

from rich import box
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from ..estimate import hms
from ..plan import Plan
from ._observers import EventLines, PlainProgress
from ._protocols import Event, Observer

RUN_ROW = "(run)"
_FINAL_STATES = {
    "done": "ok", "skipped": "ok", "failed": "failed", "unknown": "failed", "cancelled": "cancelled"
}  # fmt: skip
_LINE_STYLES = {"done": "green", "FAILED": "bold red", "retry": "yellow", "undo": "magenta"}


def _epoch(value: Any) -> float | None:
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value).timestamp()
        except ValueError:
            return None
    return None


class RichProgress:
    """Live view of a run on a terminal ``console`` (started by ``run_started``, stopped by
    ``run_finished`` or :meth:`close`; a resume's ``run_started`` starts it again). Big fleets
    show the ``max_rows`` busiest hosts: running, then failed, then most recently active."""

    def __init__(
        self,
        plan: Plan,
        console: Console,
        window_end: float | None,
        *,
        max_rows: int = 25,
        refresh_per_second: float = 8.0,
    ) -> None:
        self._console, self._window_end, self._max_rows = console, window_end, max_rows
        self._refresh = refresh_per_second
        self._lock = threading.RLock()
        hosts: dict[str, int] = {}
        phases: dict[str, int] = {}
        for a in plan.actions:
            hosts.setdefault(a.host or RUN_ROW, len(hosts))
            phases.setdefault(a.phase, len(phases))
        self._hosts, self._phases = list(hosts), list(phases)
        width = len(phases)
        self._cell_of = {
            a.id: hosts[a.host or RUN_ROW] * width + phases[a.phase] for a in plan.actions
        }
        size = len(hosts) * width
        self._total = [0] * size
        for cell in self._cell_of.values():
            self._total[cell] += 1
        self._cells = {s: [0] * size for s in ("ok", "running", "failed", "cancelled")}
        self._host_busy = {s: [0] * len(hosts) for s in ("running", "failed")}
        self._touched = [0.0] * len(hosts)
        self._state: dict[str, str] = {}
        self._counts = {"ok": 0, "running": 0, "failed": 0, "cancelled": 0}
        self._lines = EventLines()
        self._recent: deque[str] = deque(maxlen=5)
        self._run_id, self._status = "", ""
        self._started: float | None = None
        self._latest: float | None = None
        self._live: Live | None = None
        self._closed = False

    def preload(self, states: Mapping[str, str]) -> None:
        """Seed action states from the journal (``done``/``skipped``/``failed``/``cancelled``)
        so a resumed run shows what earlier runs finished."""
        with self._lock:
            for action_id, state in states.items():
                if state in _FINAL_STATES:
                    self._set(action_id, _FINAL_STATES[state], None)

    def _set(self, action_id: str | None, state: str, at: float | None) -> None:
        cell = self._cell_of.get(action_id or "")
        if cell is None or action_id is None:
            return  # compensating actions and unknown ids have no cell
        old = self._state.get(action_id)
        if old == state:
            return
        host = cell // len(self._phases)
        for name, delta in ((old, -1), (state, 1)):
            if name is not None:
                self._counts[name] += delta
                self._cells[name][cell] += delta
                if name in self._host_busy:
                    self._host_busy[name][host] += delta
        self._state[action_id] = state
        if at is not None:
            self._touched[host] = at

    def notify(self, event: Event) -> None:
        """Update counters (cheap); start or stop the live display on run start/finish."""
        start = stop = False
        with self._lock:
            t, at = event.type, event.at
            if self._latest is None or at > self._latest:
                self._latest = at
            if t == "action_started":
                self._set(event.action, "running", at)
            elif t == "action_finished":
                ok = event.data.get("outcome") in ("done", "skipped")
                self._set(event.action, "ok" if ok else "failed", at)
            elif t == "action_skipped":
                self._set(event.action, "ok", at)
            elif t == "action_cancelled":
                self._set(event.action, "cancelled", at)
            elif t == "run_started":
                self._run_id, self._status = event.run_id, ""
                self._started = at if self._started is None else self._started
                if self._window_end is None:
                    self._window_end = _epoch(event.data.get("window_end"))
                start = self._live is None and not self._closed
            elif t == "run_finished":
                self._status = str(event.data.get("status", ""))
                stop = True
            elif t == "stop_requested":
                self._status = "stopping at the next safe point (Ctrl-C again to abort)"
            line = self._lines.line(event)
            if line is not None:
                self._recent.append(line)
        if start:
            self._live = Live(
                get_renderable=self.render,
                console=self._console,
                refresh_per_second=self._refresh,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._live.start()
        if stop:
            self._stop()

    def _stop(self) -> None:
        live, self._live = self._live, None
        if live is not None:
            live.stop()

    def close(self) -> None:
        """Stop the live display, leaving its final state on screen, for good (idempotent)."""
        self._closed = True
        self._stop()

    def _rows(self) -> tuple[list[int], int]:
        n = len(self._hosts)
        if n <= self._max_rows:
            return list(range(n)), 0
        running, failed = self._host_busy["running"], self._host_busy["failed"]
        touched = self._touched
        top = heapq.nlargest(
            self._max_rows, range(n), key=lambda h: (running[h], failed[h], touched[h], -h)
        )
        return sorted(top), n - self._max_rows

    def _cell(self, cell: int) -> Text:
        total = self._total[cell]
        if not total:
            return Text("·", style="dim")
        ok, style = self._cells["ok"][cell], ""
        if self._cells["failed"][cell]:
            style = "bold red"
        elif self._cells["running"][cell]:
            style = "yellow"
        elif ok == total:
            style = "green"
        elif self._cells["cancelled"][cell]:
            style = "magenta"
        elif not ok:
            style = "dim"
        return Text(f"{ok}/{total}", style=style)

    def _header(self) -> Text:
        c, total = self._counts, len(self._cell_of)
        pending = total - sum(c.values())
        head = Text.assemble(("run ", "bold"), (self._run_id or "-", "bold cyan"))
        if self._status:
            head.append(f" {self._status}", style="bold")
        head.append(f"  {c['ok']}/{total} done", style="green")
        head.append(f"  {c['running']} running", style="yellow")
        head.append(f"  {c['failed']} failed", style="bold red" if c["failed"] else "")
        if c["cancelled"]:
            head.append(f"  {c['cancelled']} cancelled", style="magenta")
        head.append(f"  {pending} pending")
        if self._latest is not None and self._started is not None:
            head.append(f"  elapsed {hms(round(self._latest - self._started))}")
        if self._window_end is None or self._latest is None:
            head.append("  window left -", style="dim")
        else:
            left = self._window_end - self._latest
            style = "bold red" if left < 0 else "yellow" if left < 1800 else "green"
            text = f"window left {hms(round(left))}" if left >= 0 else "window closed"
            head.append(f"  {text}", style=style)
        return head

    def render(self) -> RenderableType:
        """The current view (called by rich's refresh thread; also usable directly)."""
        with self._lock:
            table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
            table.add_column("host", no_wrap=True)
            for phase in self._phases:
                table.add_column(phase or "(none)", justify="right", no_wrap=True)
            rows, hidden = self._rows()
            width = len(self._phases)
            for h in rows:
                cells = [self._cell(h * width + p) for p in range(width)]
                table.add_row(Text(self._hosts[h]), *cells)
            if hidden:
                table.add_row(Text(f"… {hidden} more hosts", style="dim"))
            lines = [Text("last events", style="bold")]
            for line in self._recent:
                label = line[11:19].strip()
                lines.append(Text(line, style=_LINE_STYLES.get(label, "")))
            return Group(self._header(), table, *lines)


def progress_for(plan: Plan, console: Console, window_end: float | None) -> Observer:
    """:class:`RichProgress` when ``console`` is a terminal, else :class:`PlainProgress` on
    the console's file."""
    if console.is_terminal:
        return RichProgress(plan, console, window_end)
    return PlainProgress(cast(TextIO, console.file))
