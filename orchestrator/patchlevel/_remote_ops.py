"""What a remote upgrade needs from the host it runs on, whatever the host's shell: the
:class:`Op` list (the net effect of the levels), the :class:`UpgradeRun` it reports back,
and the :class:`RemoteInstall` protocol that :func:`._remote_upgrade.remote_upgrade` drives.
Implemented by :class:`._source.RemoteSource` (Linux, POSIX sh over SSH) and
:class:`._windows.WindowsSource` (Windows, PowerShell over WinRM or OpenSSH)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

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

    def join(self, *parts: str) -> str:
        """A path under the installation directory (relative POSIX parts)."""
        ...

    def append_log(self, lines: Sequence[str]) -> None:
        """Append ready-made lines to ``install.log``."""
        ...

    def make_dir(self, path: str) -> None:
        """Create a directory and its parents."""
        ...

    def run_upgrade(
        self,
        staging: str,
        backup: str,
        ops: Sequence[Op],
        pre_log: Sequence[str],
        start: int,
        state: InstallState,
    ) -> UpgradeRun:
        """Apply ``ops`` from ``staging`` (file ``k`` for op ``k``), keeping what they replace
        in ``backup``; record ``state``; roll everything back on a failure."""
        ...
