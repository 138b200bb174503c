"""What happens to a run's actions, in the journal: states, attempts (with an output digest,
never the output), the services each stop stopped, and the run's failure budget."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ._journal_base import TOUCH, JournalBase, check_value
from ._journal_schema import cap, dumps_json, output_digest
from ._records import ACTION_STATES, FINAL, STEPS, ActionRecord, AttemptRecord, StoppedService

_ACTION_COLUMNS = "action_id, state, attempts, started_at, ended_at, message"
_ATTEMPT_COLUMNS = (
    "action_id, attempt, step, started_at, ended_at, outcome, exit_code, output_digest, "
    "error_class, message"
)


class StepLog(JournalBase):
    """Actions, attempts, stopped services and budgets of the journal's runs."""

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
            self._conn.execute(TOUCH, (at, run_id))

    def finish_action(
        self, run_id: str, action_id: str, state: str, at: float, message: str = ""
    ) -> None:
        """Set the action's state (any of ``ACTION_STATES``) and message; final states also
        set ``ended_at``."""
        check_value(state, ACTION_STATES, "action state")
        ended = at if state in FINAL else None
        with self.transaction():
            cur = self._conn.execute(
                "UPDATE actions SET state = ?, ended_at = ?, message = ? "
                "WHERE run_id = ? AND action_id = ?",
                (state, ended, cap(message), run_id, action_id),
            )
            if cur.rowcount == 0:
                raise self._missing(run_id, action_id)
            self._conn.execute(TOUCH, (at, run_id))

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
        check_value(step, STEPS, "step")
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
            conn.execute(TOUCH, (ended_at, run_id))

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
