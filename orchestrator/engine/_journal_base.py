"""The journal's plumbing: one SQLite connection guarded by a lock, transactions (nestable),
reads, and the errors for a run or action the journal does not hold. :class:`Journal`
(:mod:`._journal`) builds on it; :mod:`._journal_steps` holds what happens to actions."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from ..errors import UnknownRunError
from ._journal_schema import connect, guard

#: Bumps a run's last-change time.
TOUCH = "UPDATE runs SET updated_at = max(updated_at, ?) WHERE run_id = ?"


def check_value(value: str, allowed: tuple[str, ...], what: str) -> None:
    """Refuse a state, status or step name the journal does not know (a caller's bug)."""
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(allowed)}")


class JournalBase:
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

    def __enter__(self) -> JournalBase:
        return self

    def __exit__(
        self, typ: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
