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
import time
from collections.abc import Mapping
from typing import Any

from ..errors import UnknownRunError
from ..plan import Plan, fingerprint
from ._journal_base import check_value
from ._journal_schema import default_journal_path, dumps_json, output_digest
from ._journal_steps import StepLog
from ._records import RUN_STATUSES, RunRecord

__all__ = ["Journal", "default_journal_path", "output_digest"]

_RUN_COLUMNS = (
    "run_id, created_at, updated_at, status, plan_fingerprint, playbook, options, summary, "
    "created_wall"
)


class Journal(StepLog):
    """The journal: runs (this module), their actions and attempts (:class:`StepLog`), on
    one connection (:class:`~._journal_base.JournalBase`)."""

    def __enter__(self) -> Journal:
        return self

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
        check_value(status, RUN_STATUSES, "run status")
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
