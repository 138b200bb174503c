"""The inventory lease: keeps two controllers from running against the same inventory.

A lease is a row of the ``leases`` table in the journal database, keyed by what it protects
(e.g. ``inventory:/abs/path``), naming its holder (host, pid, a random token) and when it
expires. The holder renews it from a heartbeat thread every ``ttl/3`` seconds; a controller
that dies stops renewing, so its lease expires on its own. On the same host a lease whose
process is gone is taken over at once. Renewal is fenced by the token: a holder that finds
someone else's token has lost the lease and must stop. Times are wall-clock (``time.time()``),
never a simulated clock.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from ..errors import JournalError, LockHeldError
from ._journal_schema import connect, guard


@dataclass(frozen=True)
class Holder:
    """Who holds a lease: host name, process id and a random token (uuid4 hex)."""

    hostname: str
    pid: int
    token: str

    @classmethod
    def me(cls) -> Holder:
        """A holder for this process, with a fresh token."""
        return cls(socket.gethostname(), os.getpid(), uuid.uuid4().hex)

    def __str__(self) -> str:
        return f"{self.hostname}:{self.pid}"


@dataclass(frozen=True)
class LeaseInfo:
    """One lease as stored: for ``status``."""

    key: str
    holder: Holder
    run_id: str
    acquired_at: float
    expires_at: float


_COLUMNS = "hostname, pid, token, run_id, acquired_at, expires_at"
_SELECT = f"SELECT {_COLUMNS} FROM leases"


def _info(key: str, row: tuple[str, int, str, str, float, float]) -> LeaseInfo:
    return LeaseInfo(key, Holder(row[0], row[1], row[2]), row[3], row[4], row[5])


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (a process of another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists; anything else: assume it does
        return True
    return True


def leases(journal_path: Path) -> list[LeaseInfo]:
    """Every lease recorded in the journal at ``journal_path`` (expired ones included)."""
    conn = connect(journal_path)
    try:
        with guard(journal_path):
            rows = conn.execute(f"SELECT key, {_COLUMNS} FROM leases ORDER BY key").fetchall()
    finally:
        conn.close()
    return [_info(row[0], row[1:]) for row in rows]


class Lease:
    """The lease on ``key`` for ``holder``, stored in the journal at ``journal_path``.

    :attr:`lost` is set by the heartbeat when the lease was lost (someone else took it, or it
    could not be renewed before it expired): the run must stop at once."""

    def __init__(self, journal_path: Path, key: str, holder: Holder, ttl_s: float = 30.0) -> None:
        if ttl_s <= 0:
            raise ValueError("ttl_s must be positive")
        self.path = Path(journal_path)
        self.key = key
        self.holder = holder
        self.ttl_s = ttl_s
        self.lost = threading.Event()
        self.run_id = ""
        self._expires = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = connect(self.path)  # fail early if unusable

    def _db(self) -> sqlite3.Connection:
        """The connection, reopened if :meth:`release` closed it (call with the lock held)."""
        if self._conn is None:
            self._conn = connect(self.path)
        return self._conn

    def acquire(self, run_id: str) -> str | None:
        """Take the lease for ``run_id``: free, expired, ours already, or held on this host by
        a process that is gone. Returns ``None``, or a sentence describing a takeover; raises
        :class:`~orchestrator.errors.LockHeldError` if a live holder has it."""
        me = self.holder
        with self._lock, guard(self.path):
            conn = self._db()
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute(f"{_SELECT} WHERE key = ?", (self.key,)).fetchone()
                now = time.time()
                note = None if row is None else self._takeover(_info(self.key, row), now)
                conn.execute(
                    "INSERT OR REPLACE INTO leases VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (self.key, me.hostname, me.pid, me.token, run_id, now, now + self.ttl_s),
                )
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        self.run_id, self._expires = run_id, now + self.ttl_s
        self.lost.clear()
        return note

    def _takeover(self, old: LeaseInfo, now: float) -> str | None:
        """Why ``old`` may be taken over (a sentence, or None if it is ours), else raise."""
        h = old.holder
        if h.token == self.holder.token:
            return None
        if old.expires_at < now:
            return (
                f"took over the expired lease of run {old.run_id} held by {h} "
                f"(expired {now - old.expires_at:.0f} s ago)"
            )
        if h.hostname == self.holder.hostname and not pid_alive(h.pid):
            return f"took over the stale lease of run {old.run_id} held by {h} (process gone)"
        raise self._held(old, now)

    def _held(self, old: LeaseInfo, now: float) -> LockHeldError:
        h, run = old.holder, old.run_id
        left = f"{max(0.0, old.expires_at - now):.0f} s"
        if h.hostname == self.holder.hostname:
            where = f"pid {h.pid} on this host, {h.hostname}"
            how = f"wait for that run to finish, or stop it (kill {h.pid})"
        else:
            where = f"pid {h.pid} on host {h.hostname}"
            how = (
                f"wait for that run to finish; if that controller died, its lease lapses in {left}"
            )
        return LockHeldError(
            f"{self.key} is in use by run {run} (controller {where}; its lease expires in "
            f"{left} unless renewed). To proceed, {how}, then `orchestrator resume {run}`"
        )

    def renew(self) -> None:
        """Extend the lease by ``ttl_s``; :class:`~orchestrator.errors.LockHeldError` if it
        is no longer ours (someone took it over after it expired, or it was removed)."""
        with self._lock, guard(self.path):
            now = time.time()
            conn = self._db()
            cur = conn.execute(
                "UPDATE leases SET expires_at = ? WHERE key = ? AND token = ?",
                (now + self.ttl_s, self.key, self.holder.token),
            )
            if cur.rowcount == 1:
                self._expires = now + self.ttl_s
                return
            row = conn.execute(f"{_SELECT} WHERE key = ?", (self.key,)).fetchone()
        if row is None:
            raise LockHeldError(f"lost the lease on {self.key}: it was removed; stop now")
        old = _info(self.key, row)
        raise LockHeldError(
            f"lost the lease on {self.key}: run {old.run_id} on {old.holder} took it over; stop now"
        )

    def start_heartbeat(self) -> None:
        """Renew the lease every ``ttl_s / 3`` seconds from a daemon thread until released;
        if it is lost, set :attr:`lost` and stop."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._beat, name=f"lease {self.key}", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(self.ttl_s / 3):
            try:
                self.renew()
            except LockHeldError:
                self.lost.set()
                return
            except JournalError:  # e.g. locked for long: retry until the lease would expire
                if time.time() >= self._expires:
                    self.lost.set()
                    return

    def stop_heartbeat(self) -> None:
        """Stop the heartbeat thread (the lease stays held until it expires)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def release(self) -> None:
        """Stop the heartbeat, remove the lease if it is still ours, and close the database
        connection (a later :meth:`acquire` reopens it)."""
        self.stop_heartbeat()
        with self._lock, guard(self.path):
            conn, self._conn = self._db(), None
            try:
                sql = "DELETE FROM leases WHERE key = ? AND token = ?"
                conn.execute(sql, (self.key, self.holder.token))
            finally:
                conn.close()

    close = release
