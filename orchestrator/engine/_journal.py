"""The run journal: every run, action state change and attempt, committed before moving on.

After a ``kill -9`` at any moment, the journal says exactly which actions were done, which
were running (interrupted) and what every attempt returned, so ``orchestrator resume RUN``
can carry on. Each write is one small SQLite transaction on a WAL database with
``synchronous=NORMAL``: durable against the process crashing, though an operating-system
crash or power loss may lose the last few transactions (see :mod:`._journal_schema`).
Group several writes into one commit with :meth:`Journal.transaction`.

Only a SHA-256 digest of a step's output is stored, never the output; messages are stored as
given (secret-free by contract), capped at 4 kB.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from ..errors import UnknownRunError
from ..plan import Plan, fingerprint
from ._journal_schema import cap, connect, default_journal_path, dumps_json, guard, output_digest
from ._records import (
    ACTION_STATES,
    FINAL,
    RUN_STATUSES,
    STEPS,
    ActionRecord,
    AttemptRecord,
    RunRecord,
    StoppedService,
)

__all__ = ["Journal", "default_journal_path", "output_digest"]

_RUN_COLUMNS = (
    "run_id, created_at, updated_at, status, plan_fingerprint, playbook, options, summary, "
    "created_wall"
)
_ACTION_COLUMNS = "action_id, state, attempts, started_at, ended_at, message"
_ATTEMPT_COLUMNS = (
    "action_id, attempt, step, started_at, ended_at, outcome, exit_code, output_digest, "
    "error_class, message"
)
_TOUCH = "UPDATE runs SET updated_at = max(updated_at, ?) WHERE run_id = ?"


def _check(value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(allowed)}")


class Journal:
    """The journal database at ``path``. One connection, guarded by a lock; other processes
    may read (``status``) while this one writes. Every SQLite or OS error becomes a
    :class:`~orchestrator.errors.JournalError` naming the file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._conn = connect(self.path)
        self._lock = threading.RLock()
        self._depth = 0

    # -- plumbing -------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group the writes made inside the block into one commit (nestable; an exception
        leaving the outermost block rolls all of them back)."""
        with self._lock, guard(self.path):
            conn = self._conn
            outermost = self._depth == 0
            if outermost:
                conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield
                if outermost:
                    conn.execute("COMMIT")
            except BaseException:
                if outermost and conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            finally:
                self._depth -= 1

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock, guard(self.path):
            yield self._conn

    def _exists(self, run_id: str) -> bool:
        sql = "SELECT 1 FROM runs WHERE run_id = ?"
        return self._conn.execute(sql, (run_id,)).fetchone() is not None

    def _missing(self, run_id: str, action_id: str) -> Exception:
        """The error for an UPDATE that matched nothing: unknown run or unknown action."""
        if self._exists(run_id):
            return ValueError(f"run {run_id} has no action {action_id!r}")
        return self._unknown(run_id)

    def _unknown(self, run_id: str) -> UnknownRunError:
        return UnknownRunError(f"no run {run_id!r} in the journal {self.path}")

    def close(self) -> None:
        """Close the database (committed data stays; the WAL is checkpointed)."""
        with self._lock, guard(self.path):
            self._conn.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self, typ: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- runs -----------------------------------------------------------------------------

    def create_run(self, plan_text: str, plan: Plan, options: Mapping[str, Any], at: float) -> str:
        """Start a new run of ``plan`` (whose reviewed text is ``plan_text``), every action
        ``pending``, status ``running``; all in one transaction. Returns the new run id.

        ``at`` is the run's (plan) time; runs are ordered by the wall-clock time they were
        created, which a rehearsal's simulated time does not change. The id is
        ``<6 hex>-<UTC wall stamp>``, its first six characters unique in the journal, so a
        short prefix names a run."""
        wall = time.time()
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(wall))
        run_row = (
            fingerprint(plan.body()),
            str(plan.playbook.get("name", "")),
            dumps_json(options),
        )
        with self.transaction():
            conn = self._conn
            for _ in range(64):
                head = secrets.token_hex(3)
                sql = "SELECT 1 FROM runs WHERE substr(run_id, 1, 6) = ?"
                if conn.execute(sql, (head,)).fetchone() is None:
                    break
            else:  # pragma: no cover - 64 draws of 24 bits all taken
                raise sqlite3.IntegrityError("could not allocate a unique run id")
            run_id = f"{head}-{stamp}"
            conn.execute(
                "INSERT INTO runs (run_id, created_at, updated_at, created_wall, status, "
                "plan_fingerprint, playbook, options) VALUES (?, ?, ?, ?, 'running', ?, ?, ?)",
                (run_id, at, at, wall, *run_row),
            )
            conn.execute("INSERT INTO plans VALUES (?, ?)", (run_id, plan_text))
            conn.executemany(
                "INSERT INTO actions (run_id, action_id, seq, state) VALUES (?, ?, ?, 'pending')",
                ((run_id, a.id, i) for i, a in enumerate(plan.actions)),
            )
        return run_id

    def plan_text(self, run_id: str) -> str:
        """The exact plan text the run was started from."""
        with self._read() as conn:
            row = conn.execute("SELECT plan_text FROM plans WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise self._unknown(run_id)
        return str(row[0])

    @staticmethod
    def _run_record(row: tuple[Any, ...]) -> RunRecord:
        run_id, created, updated, status, fp, playbook, options, summary, wall = row
        return RunRecord(
            run_id,
            created,
            updated,
            status,
            fp,
            playbook,
            json.loads(options),
            json.loads(summary),
            float(wall),
        )

    def run(self, run_id: str) -> RunRecord:
        """The run ``run_id`` (:class:`~orchestrator.errors.UnknownRunError` if absent)."""
        with self._read() as conn:
            sql = f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ?"
            row = conn.execute(sql, (run_id,)).fetchone()
        if row is None:
            raise self._unknown(run_id)
        return self._run_record(row)

    def runs(self) -> list[RunRecord]:
        """Every run, newest first."""
        with self._read() as conn:
            sql = f"SELECT {_RUN_COLUMNS} FROM runs ORDER BY created_wall DESC, rowid DESC"
            rows = conn.execute(sql).fetchall()
        return [self._run_record(row) for row in rows]

    def resolve(self, ref: str) -> str:
        """The full run id that ``ref`` names: a full id, a unique prefix, or ``last``."""
        with self._read() as conn:
            if ref == "last":
                sql = "SELECT run_id FROM runs ORDER BY created_wall DESC, rowid DESC LIMIT 1"
                row = conn.execute(sql).fetchone()
                if row is None:
                    raise UnknownRunError(f"the journal {self.path} holds no runs yet")
                return str(row[0])
            if not ref:
                raise UnknownRunError("no run given (a run id, a unique prefix of one, or 'last')")
            sql = "SELECT run_id FROM runs WHERE substr(run_id, 1, ?) = ? ORDER BY run_id LIMIT 6"
            matches = [str(r[0]) for r in conn.execute(sql, (len(ref), ref))]
        if ref in matches:
            return ref
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise self._unknown(ref)
        shown = ", ".join(matches[:5]) + (", …" if len(matches) > 5 else "")
        raise UnknownRunError(
            f"run prefix {ref!r} is ambiguous: it matches {shown}; give more characters"
        )

    def set_run_status(
        self, run_id: str, status: str, at: float, summary: Mapping[str, Any] | None = None
    ) -> None:
        """Set the run's status (and, if given, its summary)."""
        _check(status, RUN_STATUSES, "run status")
        with self.transaction():
            if summary is None:
                sql = "UPDATE runs SET status = ?, updated_at = ? WHERE run_id = ?"
                cur = self._conn.execute(sql, (status, at, run_id))
            else:
                sql = "UPDATE runs SET status = ?, updated_at = ?, summary = ? WHERE run_id = ?"
                cur = self._conn.execute(sql, (status, at, dumps_json(summary), run_id))
            if cur.rowcount == 0:
                raise self._unknown(run_id)

    def update_options(self, run_id: str, options: Mapping[str, Any]) -> None:
        """Merge ``options`` into the run's stored options."""
        with self.transaction():
            sql = "SELECT options FROM runs WHERE run_id = ?"
            row = self._conn.execute(sql, (run_id,)).fetchone()
            if row is None:
                raise self._unknown(run_id)
            merged = {**json.loads(row[0]), **options}
            sql = "UPDATE runs SET options = ? WHERE run_id = ?"
            self._conn.execute(sql, (dumps_json(merged), run_id))

    # -- actions and attempts -------------------------------------------------------------

    def actions(self, run_id: str) -> dict[str, ActionRecord]:
        """Every action of the run in plan order, compensating actions after."""
        with self._read() as conn:
            sql = f"SELECT {_ACTION_COLUMNS} FROM actions WHERE run_id = ? ORDER BY seq"
            rows = conn.execute(sql, (run_id,)).fetchall()
            if not rows and not self._exists(run_id):
                raise self._unknown(run_id)
        return {row[0]: ActionRecord(*row) for row in rows}

    def start_action(self, run_id: str, action_id: str, at: float) -> None:
        """Mark the action ``running``; ``started_at`` is set by its first start only."""
        with self.transaction():
            cur = self._conn.execute(
                "UPDATE actions SET state = 'running', started_at = coalesce(started_at, ?), "
                "ended_at = NULL WHERE run_id = ? AND action_id = ?",
                (at, run_id, action_id),
            )
            if cur.rowcount == 0:
                raise self._missing(run_id, action_id)
            self._conn.execute(_TOUCH, (at, run_id))

    def finish_action(
        self, run_id: str, action_id: str, state: str, at: float, message: str = ""
    ) -> None:
        """Set the action's state (any of ``ACTION_STATES``) and message; final states also
        set ``ended_at``."""
        _check(state, ACTION_STATES, "action state")
        ended = at if state in FINAL else None
        with self.transaction():
            cur = self._conn.execute(
                "UPDATE actions SET state = ?, ended_at = ?, message = ? "
                "WHERE run_id = ? AND action_id = ?",
                (state, ended, cap(message), run_id, action_id),
            )
            if cur.rowcount == 0:
                raise self._missing(run_id, action_id)
            self._conn.execute(_TOUCH, (at, run_id))

    def add_action(self, run_id: str, action_id: str) -> None:
        """Add a compensating action (``compensate/…``, not in the plan) as ``pending``,
        after every other action; nothing happens if it already exists."""
        if not action_id.startswith("compensate/"):
            raise ValueError(f"only compensating actions may be added, not {action_id!r}")
        with self.transaction():
            conn = self._conn
            if not self._exists(run_id):
                raise self._unknown(run_id)
            conn.execute(
                "INSERT OR IGNORE INTO actions (run_id, action_id, seq, state) VALUES "
                "(?1, ?2, (SELECT coalesce(max(seq), -1) + 1 FROM actions WHERE run_id = ?1), "
                "'pending')",
                (run_id, action_id),
            )

    def record_attempt(
        self,
        run_id: str,
        action_id: str,
        attempt: int,
        step: str,
        started_at: float,
        ended_at: float,
        outcome: str,
        *,
        exit_code: int | None = None,
        output: str = "",
        error_class: str = "",
        message: str = "",
        data: Mapping[str, Any] | None = None,
    ) -> None:
        """Journal one step of one attempt: the digest of ``output`` (never the output);
        the action's attempt counter becomes ``max(attempts, attempt)``. The services
        ``data["services_stopped"]`` lists (``[{name, previous, start_mode, dependents}]``,
        from the driver) are journaled in the same transaction."""
        _check(step, STEPS, "step")
        row = (run_id, action_id, attempt, step, started_at, ended_at, outcome, exit_code)
        with self.transaction():
            conn = self._conn
            cur = conn.execute(
                "UPDATE actions SET attempts = max(attempts, ?) WHERE run_id = ? AND action_id = ?",
                (attempt, run_id, action_id),
            )
            if cur.rowcount == 0:
                raise self._missing(run_id, action_id)
            conn.execute(
                f"INSERT INTO attempts (run_id, {_ATTEMPT_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*row, output_digest(output), cap(error_class), cap(message)),
            )
            stopped = (data or {}).get("services_stopped") or ()
            conn.executemany(
                "INSERT OR REPLACE INTO stopped_services VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    (run_id, action_id, attempt, cap(str(s["name"])), cap(str(s["previous"])),
                     cap(str(s.get("start_mode", ""))), json.dumps(list(s.get("dependents", ()))))
                    for s in stopped
                ),
            )  # fmt: skip
            conn.execute(_TOUCH, (ended_at, run_id))

    def attempts(self, run_id: str, action_id: str | None = None) -> list[AttemptRecord]:
        """The journaled attempts of the run (or of one action), oldest first."""
        with self._read() as conn:
            if action_id is None:
                sql = f"SELECT {_ATTEMPT_COLUMNS} FROM attempts WHERE run_id = ? ORDER BY id"
                rows = conn.execute(sql, (run_id,)).fetchall()
            else:
                sql = (
                    f"SELECT {_ATTEMPT_COLUMNS} FROM attempts "
                    "WHERE run_id = ? AND action_id = ? ORDER BY id"
                )
                rows = conn.execute(sql, (run_id, action_id)).fetchall()
            if not rows and not self._exists(run_id):
                raise self._unknown(run_id)
        return [AttemptRecord(*row) for row in rows]

    # -- the failure budget ---------------------------------------------------------------

    def budget(self, run_id: str) -> dict[str, Any] | None:
        """The run's failure budget state as last journaled (``engine._budget``), if any."""
        with self._read() as conn:
            sql = "SELECT state FROM budgets WHERE run_id = ?"
            row = conn.execute(sql, (run_id,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def set_budget(self, run_id: str, state: Mapping[str, Any]) -> None:
        """Journal the run's failure budget state (call inside the failure's transaction)."""
        with self.transaction():
            if not self._exists(run_id):
                raise self._unknown(run_id)
            sql = "INSERT OR REPLACE INTO budgets (run_id, state) VALUES (?, ?)"
            self._conn.execute(sql, (run_id, dumps_json(state)))

    def clear_budget(self, run_id: str) -> None:
        """Forget the run's failure budget state (``resume --retry-failed`` counts afresh)."""
        with self.transaction():
            self._conn.execute("DELETE FROM budgets WHERE run_id = ?", (run_id,))

    def stopped_services(self, run_id: str) -> dict[str, list[StoppedService]]:
        """Per ``stop_services`` action of the run, the services its attempts stopped."""
        with self._read() as conn:
            sql = (
                "SELECT action_id, attempt, service, previous_state, start_mode, dependents "
                "FROM stopped_services WHERE run_id = ? ORDER BY action_id, attempt, service"
            )
            rows = conn.execute(sql, (run_id,)).fetchall()
        out: dict[str, list[StoppedService]] = {}
        for action_id, attempt, service, previous, mode, deps in rows:
            record = StoppedService(
                action_id, attempt, service, previous, mode, tuple(json.loads(deps))
            )
            out.setdefault(action_id, []).append(record)
        return out
