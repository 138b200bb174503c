"""The journal database: where it lives, its schema, how it is opened, how errors are
reported, and how values are stored (capped messages, output digests, JSON).

One SQLite file holds the runs, their actions and attempts, the services each attempt
stopped, and the runs' failure budgets (leases live in their own store, see :mod:`._lease`;
journals of version 1 keep an unused ``leases`` table). The schema is versioned with
``PRAGMA user_version`` and migrated forward step by step (version 1 → 2 adds
``created_wall``, ``budgets`` and ``stopped_services``); a file written by a newer
orchestrator is refused rather than misread. The file runs in WAL mode with
``synchronous=NORMAL``: every commit survives a crash of the process (``kill -9``), while an
operating-system crash or power loss may lose the last few commits (the database itself
stays consistent).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import JournalError

SCHEMA_VERSION = 2

#: Longest message (in UTF-8 bytes) stored for an action or attempt.
MESSAGE_LIMIT = 4096

#: Seconds a writer waits for another process's write transaction before giving up.
BUSY_TIMEOUT_S = 10.0

# The failure budget of a run as last journaled (JSON, see ``engine._budget``), written in
# the same transaction as the failure that changed it.
_BUDGET_DDL = """CREATE TABLE budgets (
        run_id TEXT PRIMARY KEY,
        state TEXT NOT NULL
    )"""

#: What a stop_services attempt actually stopped (compensation starts exactly
#: these), written in the same transaction as the attempt's apply step.
_V2 = (
    """CREATE TABLE stopped_services (
        run_id TEXT NOT NULL,
        action_id TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        service TEXT NOT NULL,
        previous_state TEXT NOT NULL,
        start_mode TEXT NOT NULL DEFAULT '',
        dependents TEXT NOT NULL DEFAULT '[]',
        PRIMARY KEY (run_id, action_id, service)
    ) WITHOUT ROWID""",
)

_DDL = (
    """CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        created_wall REAL NOT NULL DEFAULT 0,
        status TEXT NOT NULL,
        plan_fingerprint TEXT NOT NULL,
        playbook TEXT NOT NULL,
        options TEXT NOT NULL DEFAULT '{}',
        summary TEXT NOT NULL DEFAULT '{}'
    )""",
    # Kept apart from ``runs`` so that bumping a run's ``updated_at`` never rewrites the
    # (possibly multi-megabyte) plan text.
    """CREATE TABLE plans (
        run_id TEXT PRIMARY KEY,
        plan_text TEXT NOT NULL
    )""",
    """CREATE TABLE actions (
        run_id TEXT NOT NULL,
        action_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        started_at REAL,
        ended_at REAL,
        message TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (run_id, action_id)
    ) WITHOUT ROWID""",
    "CREATE INDEX actions_by_seq ON actions (run_id, seq)",
    """CREATE TABLE attempts (
        id INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL,
        action_id TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        step TEXT NOT NULL,
        started_at REAL NOT NULL,
        ended_at REAL NOT NULL,
        outcome TEXT NOT NULL,
        exit_code INTEGER,
        output_digest TEXT NOT NULL DEFAULT '',
        error_class TEXT NOT NULL DEFAULT '',
        message TEXT NOT NULL DEFAULT ''
    )""",
    "CREATE INDEX attempts_by_action ON attempts (run_id, action_id)",
    _BUDGET_DDL,
    *_V2,
)

#: Statements that bring a journal of version ``n - 1`` to version ``n``.
_MIGRATIONS: dict[int, tuple[str, ...]] = {
    # 2: runs ordered by wall-clock creation time; the failure budget journaled; the
    # services each stop stopped.
    2: ("ALTER TABLE runs ADD COLUMN created_wall REAL NOT NULL DEFAULT 0", _BUDGET_DDL, *_V2),
}

_REASONS = {
    "file is not a database": "not an SQLite database (is this the right file?)",
    "unable to open database file": (
        "cannot open the database file (does its directory exist and is it writable?)"
    ),
    "database is locked": (
        f"the database stayed locked by another process for more than {BUSY_TIMEOUT_S:g} s"
    ),
    "attempt to write a readonly database": "the database file is read-only",
    "database or disk is full": "the disk is full",
}


def journal_error(path: Path, exc: BaseException) -> JournalError:
    """A :class:`JournalError` naming ``path`` and, in plain words, what went wrong."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    for needle, reason in _REASONS.items():
        if needle in text:
            text = reason
            break
    return JournalError(f"journal {path}: {text}")


@contextmanager
def guard(path: Path) -> Iterator[None]:
    """Turn SQLite and OS errors raised inside the block into :class:`JournalError`."""
    try:
        yield
    except (sqlite3.Error, OSError) as exc:
        raise journal_error(path, exc) from exc


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the journal at ``path``: parent directories, schema, WAL.

    The connection is in autocommit mode (``BEGIN``/``COMMIT`` are issued explicitly) and may
    be used from several threads provided the caller serialises access."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise JournalError(f"journal {path}: cannot create {path.parent}: {reason}") from exc
    with guard(path):
        conn = sqlite3.connect(
            str(path),
            timeout=BUSY_TIMEOUT_S,
            isolation_level=None,
            check_same_thread=False,
            cached_statements=64,
        )
        try:
            _prepare(conn, path)
        except BaseException:
            conn.close()
            raise
        return conn


def _user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _prepare(conn: sqlite3.Connection, path: Path) -> None:
    version = _user_version(conn)  # raises "file is not a database" for foreign files
    if version > SCHEMA_VERSION:
        raise JournalError(
            f"journal {path}: schema version {version} was written by a newer orchestrator "
            f"(this one knows version {SCHEMA_VERSION}); upgrade orchestrator or point "
            "$ORCHESTRATOR_JOURNAL at another file"
        )
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    if version == SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")  # two processes may create the same new file at once
    try:
        version = _user_version(conn)
        if version == 0:
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if tables:
                raise JournalError(
                    f"journal {path}: an SQLite database, but not an orchestrator journal"
                )
            for statement in _DDL:
                conn.execute(statement)
        else:
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[step]:
                    conn.execute(statement)
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def state_path(variable: str, name: str) -> Path:
    """``$<variable>`` if set, else ``$XDG_STATE_HOME/orchestrator/<name>``
    (``XDG_STATE_HOME`` defaulting to ``~/.local/state``)."""
    explicit = os.environ.get(variable)
    if explicit:
        return Path(explicit).expanduser()
    state = os.environ.get("XDG_STATE_HOME", "")
    base = Path(state) if state and os.path.isabs(state) else Path.home() / ".local" / "state"
    return base / "orchestrator" / name


def default_journal_path() -> Path:
    """``$ORCHESTRATOR_JOURNAL`` if set, else ``$XDG_STATE_HOME/orchestrator/journal.sqlite``
    (``XDG_STATE_HOME`` defaulting to ``~/.local/state``)."""
    return state_path("ORCHESTRATOR_JOURNAL", "journal.sqlite")


def cap(text: str) -> str:
    """``text`` cut to :data:`MESSAGE_LIMIT` UTF-8 bytes (and made encodable)."""
    if len(text) <= MESSAGE_LIMIT // 4 and text.isascii():
        return text
    data = text.encode("utf-8", "replace")
    if len(data) <= MESSAGE_LIMIT:
        return data.decode("utf-8")
    return data[: MESSAGE_LIMIT - 3].decode("utf-8", "ignore") + "…"


def output_digest(output: str) -> str:
    """``sha256:<hex>`` of ``output`` (UTF-8), or ``""`` when there was no output."""
    if not output:
        return ""
    return "sha256:" + hashlib.sha256(output.encode("utf-8", "surrogatepass")).hexdigest()


def dumps_json(value: Mapping[str, Any]) -> str:
    """Canonical-ish JSON text of a mapping (sorted keys; unknown types as strings)."""
    return json.dumps(dict(value), sort_keys=True, ensure_ascii=False, default=str)
