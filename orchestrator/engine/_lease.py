"""The lease: keeps two controllers from running against the same hosts at once.

A run leases *what its plan touches*: every host by name and by address, every cluster and
pool (``host:node-a``, ``address:192.0.2.21``, ``cluster:exclu1``, ``pool:owa``), or, for a
rehearsal, its simulated lab file (``lab:/abs/path``). The keys live in one lease store per
controller account, whatever journal a run uses (``$ORCHESTRATOR_LEASES``, else
``$XDG_STATE_HOME/orchestrator/leases.sqlite``): a second run that touches any of the same
hosts is refused, naming the holder, whichever journal or inventory spelling it uses.

A lease is a set of rows of the store's ``leases`` table, one per key, naming its holder
(host, pid, a random token), the run and when it expires; all of a run's keys are taken in
one transaction, or none. The holder renews them from a heartbeat thread every ``ttl/3``
seconds; a controller that dies stops renewing, so its lease expires on its own. On the same
host a lease whose process is gone is taken over at once. Renewal is fenced by the token: a
holder that finds any of its keys gone or someone else's has lost the lease and must stop.
Times are wall-clock (``time.time()``), never a simulated clock.

:class:`Lease` is the protocol the session uses; :class:`LocalLease` the SQLite store on
this machine (several controller machines need a shared store: see docs/engine.md).
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from ..errors import JournalError, LockHeldError
from ._journal_schema import BUSY_TIMEOUT_S, guard, journal_error, state_path


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
    """One leased key as stored: for ``status``."""

    key: str
    holder: Holder
    run_id: str
    acquired_at: float
    expires_at: float


class Lease(Protocol):
    """What a controller session needs of a lease, wherever it is stored."""

    lost: threading.Event  # set when the lease was lost: start nothing more

    def acquire(self, run_id: str) -> str | None:
        """Take every key for ``run_id`` (None, or a sentence about a takeover); raise
        :class:`~orchestrator.errors.LockHeldError` naming a live holder."""
        ...

    def start_heartbeat(self) -> None:
        """Keep renewing the lease until it is released."""
        ...

    def valid(self) -> bool:
        """Whether the lease still holds now (not lost, not past its expiry)."""
        ...

    def release(self) -> None:
        """Give the keys back."""
        ...


#: The run id a lease carries while its controller checks the hosts, before its run exists.
STARTING = "(new run)"

_COLUMNS = "hostname, pid, token, run_id, acquired_at, expires_at"
_SELECT = f"SELECT key, {_COLUMNS} FROM leases"
_DDL = """CREATE TABLE IF NOT EXISTS leases (
    key TEXT PRIMARY KEY,
    hostname TEXT NOT NULL,
    pid INTEGER NOT NULL,
    token TEXT NOT NULL,
    run_id TEXT NOT NULL,
    acquired_at REAL NOT NULL,
    expires_at REAL NOT NULL
)"""


def _info(row: Sequence[Any]) -> LeaseInfo:
    return LeaseInfo(row[0], Holder(row[1], row[2], row[3]), row[4], row[5], row[6])


def default_lease_path() -> Path:
    """``$ORCHESTRATOR_LEASES`` if set, else ``$XDG_STATE_HOME/orchestrator/leases.sqlite``
    (``XDG_STATE_HOME`` defaulting to ``~/.local/state``): one store for every journal."""
    return state_path("ORCHESTRATOR_LEASES", "leases.sqlite")


def connect_store(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the lease store at ``path``."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise journal_error(path, exc) from exc
    with guard(path):
        conn = sqlite3.connect(
            str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(_DDL)
        except BaseException:
            conn.close()
            raise
        return conn


def plan_keys(facts: Mapping[str, Any], hosts: Iterable[str], clusters: Iterable[str]) -> list[str]:
    """The keys of a run on the real hosts: ``hosts`` (and every node of ``clusters``) by
    name and address, the clusters, and the pools those hosts are in."""
    known = facts.get("hosts", {})
    names = set(hosts)
    for cluster in clusters:
        names.update(facts.get("clusters", {}).get(cluster, {}).get("nodes", ()))
    keys = {f"cluster:{c.lower()}" for c in clusters}
    for name in names:
        keys.add(f"host:{name.lower()}")
        info = known.get(name, {})
        address = str(info.get("connection", {}).get("address") or "").strip().lower()
        if address:
            keys.add(f"address:{address.rstrip('.')}")
        if info.get("pool"):
            keys.add(f"pool:{str(info['pool']).lower()}")
    return sorted(keys)


def leases(path: Path) -> list[LeaseInfo]:
    """Every key recorded in the lease store at ``path`` (expired ones included)."""
    if not path.exists():
        return []
    conn = connect_store(path)
    try:
        with guard(path):
            rows = conn.execute(f"{_SELECT} ORDER BY key").fetchall()
    finally:
        conn.close()
    return [_info(row) for row in rows]


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (a process of another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists; anything else: assume it does
        return True
    return True


class LocalLease:
    """The lease on ``keys`` for ``holder``, in the lease store at ``path`` (a string key is
    one key).

    :attr:`lost` is set by the heartbeat when the lease was lost (someone else took a key,
    or it could not be renewed before it expired): the run must stop at once."""

    def __init__(
        self, path: Path, keys: str | Sequence[str], holder: Holder, ttl_s: float = 30.0
    ) -> None:
        if ttl_s <= 0:
            raise ValueError("ttl_s must be positive")
        self.keys = (keys,) if isinstance(keys, str) else tuple(sorted(set(keys)))
        if not self.keys:
            raise ValueError("a lease needs at least one key")
        self.path = Path(path)
        self.holder = holder
        self.ttl_s = ttl_s
        self.lost = threading.Event()
        self.run_id = ""
        self._expires = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = connect_store(self.path)  # fail early

    @property
    def key(self) -> str:
        """The first key (for messages)."""
        return self.keys[0]

    def _db(self) -> sqlite3.Connection:
        """The connection, reopened if :meth:`release` closed it (call with the lock held)."""
        if self._conn is None:
            self._conn = connect_store(self.path)
        return self._conn

    def acquire(self, run_id: str) -> str | None:
        """Take every key for ``run_id``, all or none: free, expired, ours already, or held
        on this host by a process that is gone. Returns ``None``, or sentences describing
        takeovers; raises :class:`~orchestrator.errors.LockHeldError` if a live holder has
        any of them."""
        me = self.holder
        marks = ",".join("?" * len(self.keys))
        with self._lock, guard(self.path):
            conn = self._db()
            conn.execute("BEGIN IMMEDIATE")
            try:
                rows = conn.execute(f"{_SELECT} WHERE key IN ({marks})", self.keys).fetchall()
                now = time.time()
                notes = self._takeovers([_info(r) for r in rows], now)
                conn.executemany(
                    "INSERT OR REPLACE INTO leases VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (k, me.hostname, me.pid, me.token, run_id, now, now + self.ttl_s)
                        for k in self.keys
                    ],
                )
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        self.run_id, self._expires = run_id, now + self.ttl_s
        self.lost.clear()
        return "; ".join(notes) or None

    def _takeovers(self, held: list[LeaseInfo], now: float) -> list[str]:
        """Why the keys in ``held`` may be taken over (one sentence per holder), else raise
        for the first one a live holder has."""
        notes: dict[str, str] = {}
        for old in held:
            h = old.holder
            if h.token == self.holder.token:
                continue
            if old.expires_at < now:
                notes[h.token] = (
                    f"took over the expired lease of run {old.run_id} held by {h} "
                    f"(expired {now - old.expires_at:.0f} s ago)"
                )
            elif h.hostname == self.holder.hostname and not pid_alive(h.pid):
                notes[h.token] = (
                    f"took over the stale lease of run {old.run_id} held by {h} (process gone)"
                )
            else:
                raise self._held(old, now, [i.key for i in held if i.holder == h])
        return list(notes.values())

    def _held(self, old: LeaseInfo, now: float, keys: list[str]) -> LockHeldError:
        h, run = old.holder, old.run_id
        left = f"{max(0.0, old.expires_at - now):.0f} s"
        since = datetime.fromtimestamp(old.acquired_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        if h.hostname == self.holder.hostname:
            where = f"pid {h.pid} on this host, {h.hostname}"
            how = f"wait for that run to finish, or stop it (kill {h.pid})"
        else:
            where = f"pid {h.pid} on host {h.hostname}"
            how = (
                f"wait for that run to finish; if that controller died, its lease lapses in {left}"
            )
        shown = ", ".join(keys[:4]) + (f" and {len(keys) - 4} more" if len(keys) > 4 else "")
        if run == STARTING:  # its run is not created yet: nothing to resume
            return LockHeldError(
                f"{shown} in use by a run that is starting (controller {where}, since "
                f"{since}: it is checking the hosts). To proceed, {how}"
            )
        return LockHeldError(
            f"{shown} in use by run {run} (controller {where}, since {since}; its lease "
            f"expires in {left} unless renewed). To proceed, {how}, then "
            f"`orchestrator resume {run}`"
        )

    def valid(self) -> bool:
        """Not lost and not past the expiry of the last renewal: a renewal stalled on a
        locked store does not let the controller start work it may no longer hold."""
        return not self.lost.is_set() and time.time() < self._expires

    def renew(self) -> None:
        """Extend the lease by ``ttl_s``; :class:`~orchestrator.errors.LockHeldError` if any
        key is no longer ours (someone took it over after it expired, or it was removed)."""
        marks = ",".join("?" * len(self.keys))
        with self._lock, guard(self.path):
            now = time.time()
            conn = self._db()
            cur = conn.execute(
                f"UPDATE leases SET expires_at = ? WHERE token = ? AND key IN ({marks})",
                (now + self.ttl_s, self.holder.token, *self.keys),
            )
            if cur.rowcount == len(self.keys):
                self._expires = now + self.ttl_s
                return
            rows = conn.execute(f"{_SELECT} WHERE key IN ({marks})", self.keys).fetchall()
        others = [i for i in map(_info, rows) if i.holder.token != self.holder.token]
        if not others:
            raise LockHeldError(f"lost the lease on {self.key}: it was removed; stop now")
        old = others[0]
        raise LockHeldError(
            f"lost the lease on {old.key}: run {old.run_id} on {old.holder} took it over; stop now"
        )

    def start_heartbeat(self) -> None:
        """Renew the lease now (:class:`~orchestrator.errors.LockHeldError` if it was lost
        meanwhile), then every ``ttl_s / 3`` seconds from a daemon thread until released; if
        it is lost, set :attr:`lost` and stop."""
        if self._thread is not None and self._thread.is_alive():
            return
        self.renew()
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
        """Stop the heartbeat, remove the keys still ours, and close the store's connection
        (a later :meth:`acquire` reopens it)."""
        self.stop_heartbeat()
        with self._lock, guard(self.path):
            conn, self._conn = self._db(), None
            try:
                conn.execute("DELETE FROM leases WHERE token = ?", (self.holder.token,))
            finally:
                conn.close()

    close = release
