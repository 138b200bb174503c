"""What a remote upgrade needs from the host it runs on, whatever the host's shell: the
:class:`Op` list (the net effect of the levels), the :class:`UpgradeRun` it reports back,
and the :class:`RemoteInstall` protocol that :func:`._remote_upgrade.remote_upgrade` drives.
Implemented by :class:`._source.RemoteSource` (Linux, POSIX sh over SSH) and
:class:`._windows.WindowsSource` (Windows, PowerShell over WinRM or OpenSSH)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ..errors import InputError
from ..transports._protocol import Transport
from ._source import FactsSource
from ._state import InstallState


@dataclass(frozen=True)
class Op:
    """Write the staged file ``k`` to ``path`` (stamped ``mtime``), or remove ``path``."""

    kind: Literal["write", "remove"]
    path: str
    level: int
    what: str = ""
    mtime: int = 0


@dataclass(frozen=True)
class UpgradeRun:
    """What the host-side upgrade reported: its exit code (0 done, 1 rolled back, 2 the
    rollback failed too, 3 it could not start), ``R k`` / ``A k`` / ``X k`` lines for the
    files replaced, added, removed, and why it failed."""

    exit_code: int
    done: list[str]
    why: str


#: The document an upgrade leaves in its backup folder for a later recovery.
UNDO_FORMAT = "orchestrator.patch-undo/v1"
#: The lock file an upgrade holds on the host, under the state directory.
LOCK_FILE = "upgrade.lock"


@dataclass(frozen=True)
class Undo:
    """What recovery needs to know of op ``k``: its kind, path, and whether the file existed
    before the upgrade (then a whole backup ``files/<k>`` is put back; else it is deleted)."""

    k: int
    kind: str
    path: str
    existed: bool


@dataclass(frozen=True)
class UndoPlan:
    """``plan.json``: written to the backup folder before an upgrade starts."""

    ident: str
    start: int
    to: int
    ops: list[Undo]
    folders: list[str]
    registry: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        """The document."""
        doc = {
            "format": UNDO_FORMAT,
            "id": self.ident,
            "start": self.start,
            "to": self.to,
            "ops": [[u.k, u.kind, u.path, u.existed] for u in self.ops],
            "folders": self.folders,
            "registry": dict(self.registry),
        }
        return json.dumps(doc, indent=1) + "\n"

    @classmethod
    def parse(cls, text: str, where: str) -> UndoPlan:
        """Read a ``plan.json``; a damaged one is an :class:`InputError` naming it."""
        try:
            doc = json.loads(text)
            if doc["format"] != UNDO_FORMAT:
                raise ValueError
            ops = [Undo(int(k), str(kind), str(path), bool(ex)) for k, kind, path, ex in doc["ops"]]
            return cls(
                str(doc["id"]), int(doc["start"]), int(doc["to"]), ops,
                [str(f) for f in doc["folders"]], dict(doc.get("registry") or {}),
            )  # fmt: skip
        except (KeyError, TypeError, ValueError):
            raise InputError(f"{where}: not an {UNDO_FORMAT} document; recover by hand") from None


@dataclass(frozen=True)
class HeldLock:
    """The lock an upgrade left on the host: its id, the pid that took it, whether that
    process still runs, and the upgrade's ``plan.json`` (None if it never got written)."""

    ident: str
    pid: int
    alive: bool
    plan: str | None


class RemoteInstall(FactsSource, Protocol):
    """An installation on a host, as the remote upgrade drives it."""

    @property
    def host(self) -> str:
        """The inventory host."""
        ...

    @property
    def install(self) -> str:
        """The installation directory, as the host names it."""
        ...

    @property
    def transport(self) -> Transport:
        """How the host is reached."""
        ...

    @property
    def state_file(self) -> bool:
        """True when the state is a file the upgrade writes as its last op (Linux)."""
        ...

    @property
    def registry_before(self) -> Mapping[str, Any]:
        """What recovery needs to put the recorded level back when it is not a file (the
        registry key and its values as the last state read found them); empty on Linux."""
        ...

    def join(self, *parts: str) -> str:
        """A path under the installation directory (relative POSIX parts)."""
        ...

    def append_log(self, lines: Sequence[str]) -> None:
        """Append ready-made lines to ``install.log``."""
        ...

    def make_dir(self, path: str) -> None:
        """Create a directory and its parents."""
        ...

    def lock(self) -> HeldLock | None:
        """The upgrade lock on the host, if any (one round trip)."""
        ...

    def recover(self, plan: UndoPlan) -> UpgradeRun:
        """Undo the interrupted upgrade ``plan`` from its backup folder; release its lock."""
        ...

    def run_upgrade(
        self,
        staging: str,
        backup: str,
        ops: Sequence[Op],
        pre_log: Sequence[str],
        start: int,
        state: InstallState,
        ident: str,
    ) -> UpgradeRun:
        """Take the lock (as upgrade ``ident``); apply ``ops`` from ``staging`` (file ``k``
        for op ``k``), keeping what they replace in ``backup``; record ``state``; roll
        everything back on a failure; release the lock (kept if the rollback failed)."""
        ...
