"""SQLite persistence of the lab: entities (one JSON row each), the mutation log, timeline
transitions, observed violations and fault counters. WAL mode; a mutation is one
transaction writing only the entities it touched."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import JournalError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entity (key TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS log (
    seq INTEGER PRIMARY KEY, at REAL NOT NULL, host TEXT, action_id TEXT NOT NULL,
    kind TEXT NOT NULL, summary TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS transition (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, subject TEXT NOT NULL,
    serving INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS violation (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, message TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fault_use (key TEXT PRIMARY KEY, used INTEGER NOT NULL);
"""


@dataclass(frozen=True)
class LogEntry:
    """One mutation applied to the lab: its sequence number, plan time, host, the action
    (or ``operator`` for manual changes), kind, and what changed in words."""

    seq: int
    at: float
    host: str | None
    action_id: str
    kind: str
    summary: str


@dataclass(frozen=True)
class Transition:
    """A subject (``group:<cluster>/<group>`` or ``pool:<pool>``) starts or stops serving."""

    at: float
    subject: str
    serving: bool


class Store:
    """The lab's database. Not thread-safe by itself: the lab serialises access."""

    def __init__(self, path: Path) -> None:
        try:
            self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise JournalError(f"{path}: cannot open the simulated lab: {exc}") from None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def meta(self, key: str) -> str | None:
        """A stored setting."""
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def entities(self) -> dict[str, str]:
        """Every stored entity's JSON text by key."""
        return {str(k): str(b) for k, b in self._db.execute("SELECT key, body FROM entity")}

    def last_seq(self) -> int:
        """The last mutation's sequence number (0 if none)."""
        row = self._db.execute("SELECT MAX(seq) FROM log").fetchone()
        return int(row[0] or 0)

    def fault_uses(self) -> dict[str, int]:
        """How many times each fault was consumed."""
        return {str(k): int(u) for k, u in self._db.execute("SELECT key, used FROM fault_use")}

    def log(self) -> list[LogEntry]:
        """Every mutation, in order."""
        rows = self._db.execute(
            "SELECT seq, at, host, action_id, kind, summary FROM log ORDER BY seq"
        )
        return [LogEntry(int(s), float(a), h, str(i), str(k), str(m)) for s, a, h, i, k, m in rows]

    def transitions(self) -> list[Transition]:
        """Every timeline transition, in order."""
        rows = self._db.execute("SELECT at, subject, serving FROM transition ORDER BY id")
        return [Transition(float(a), str(s), bool(v)) for a, s, v in rows]

    def violations(self) -> list[str]:
        """Every violation recorded, in order."""
        return [str(m) for (m,) in self._db.execute("SELECT message FROM violation ORDER BY id")]

    def close(self) -> None:
        """Close the connection."""
        self._db.close()


def put_meta(db: sqlite3.Connection, key: str, value: str) -> None:
    """Store a setting (inside a transaction)."""
    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


def put_entities(db: sqlite3.Connection, items: Iterable[tuple[str, str]]) -> None:
    """Write entity rows (inside a transaction)."""
    db.executemany("INSERT OR REPLACE INTO entity (key, body) VALUES (?, ?)", items)


def put_log(db: sqlite3.Connection, e: LogEntry) -> None:
    """Append a log row (inside a transaction)."""
    db.execute(
        "INSERT INTO log (seq, at, host, action_id, kind, summary) VALUES (?, ?, ?, ?, ?, ?)",
        (e.seq, e.at, e.host, e.action_id, e.kind, e.summary),
    )


def put_observations(
    db: sqlite3.Connection,
    transitions: Iterable[Transition],
    violations: Iterable[tuple[float, str]],
) -> None:
    """Append timeline transitions and violations (inside a transaction)."""
    db.executemany(
        "INSERT INTO transition (at, subject, serving) VALUES (?, ?, ?)",
        [(t.at, t.subject, int(t.serving)) for t in transitions],
    )
    db.executemany("INSERT INTO violation (at, message) VALUES (?, ?)", list(violations))


def bump_fault(db: sqlite3.Connection, key: str) -> None:
    """Count one use of a fault (inside a transaction)."""
    db.execute(
        "INSERT INTO fault_use (key, used) VALUES (?, 1) "
        "ON CONFLICT(key) DO UPDATE SET used = used + 1",
        (key,),
    )
