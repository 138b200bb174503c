"""The emulated Windows machine: its file system (:mod:`.files`, :mod:`.fileops`), the
registry, the services, the processes (the interpreter is :attr:`WindowsHost.pid`), a UTC
clock, fault and crash injection, and the record of calls."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .dates import DateTime
from .errors import HostCrash, NetError
from .fileops import FileOps
from .files import DENIED, IO
from .registry import Registry

STATUSES = (
    "Stopped",
    "StartPending",
    "StopPending",
    "Running",
    "ContinuePending",
    "PausePending",
    "Paused",
)


@dataclass
class Service:
    """A Windows service as Get-Service shows it."""

    name: str
    display_name: str
    status: str = "Running"

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown service status {self.status!r}")


@dataclass
class _Fault:
    method: str
    path_contains: str
    times: int
    message: str
    skip: int
    crash: bool = False


class WindowsHost(FileOps):
    """A Windows machine for the interpreter; ``root`` holds its drives (``root/C``).
    ``pid`` is the interpreter process's id; ``live_pids`` the processes alive (with it)."""

    def __init__(
        self, root: Path | str, *, clock: Callable[[], float] = time.time, pid: int = 4242
    ) -> None:
        self.root = Path(root)
        self.clock = clock
        self.registry = Registry()
        self.services: dict[str, Service] = {}
        self.calls: list[tuple[str, str]] = []
        self.crashes: list[tuple[str, str]] = []
        self.pid = pid
        self.live_pids: set[int] = {pid}
        self._faults: list[_Fault] = []
        self._locked: set[str] = set()
        self._handles: dict[int, str] = {}
        self._next_handle = 0
        (self.root / "C").mkdir(parents=True, exist_ok=True)

    # -- test set-up -------------------------------------------------------------------------
    def fail(
        self,
        method: str,
        path_contains: str,
        *,
        times: int = 1,
        message: str = "Access to the path is denied.",
        skip: int = 0,
    ) -> None:
        """The next ``times`` calls of ``method`` (a .NET method such as ``Replace``, or a
        cmdlet such as ``New-ItemProperty``) whose first path contains ``path_contains`` fail
        with ``message`` (after ``skip`` matching calls that succeed)."""
        self._faults.append(_Fault(method.lower(), path_contains, times, message, skip))

    def crash(self, method: str, path_contains: str, *, times: int = 1, skip: int = 0) -> None:
        """Like :meth:`fail`, but the PowerShell process dies there: :class:`HostCrash`, which
        no ``catch`` or ``finally`` sees (recorded in :attr:`crashes`)."""
        self._faults.append(_Fault(method.lower(), path_contains, times, "", skip, crash=True))

    def respawn(self) -> int:
        """The interpreter process died: its pid leaves :attr:`live_pids`, the files it held
        open are closed, and the next interpreter gets the next free pid (returned)."""
        self.live_pids.discard(self.pid)
        self._handles.clear()
        pid = self.pid + 1
        while pid in self.live_pids:
            pid += 1
        self.pid = pid
        self.live_pids.add(pid)
        return pid

    def unreadable(self, win_path: str) -> None:
        """The file is locked by another process: opening it fails."""
        self._locked.add(self.canonical(win_path))

    def add_service(self, name: str, display_name: str, status: str = "Running") -> Service:
        """Add (or replace) a service."""
        self.services[name] = Service(name, display_name, status)
        return self.services[name]

    def reg_values(self, key: str) -> dict[str, tuple[str, int | str]] | None:
        """The values of a registry key (name -> (kind, data)); None when the key is missing."""
        return self.registry.values(key)

    def reg_set(self, key: str, name: str, value: int | str, kind: str = "String") -> None:
        """Write a registry value (the key is created if needed)."""
        self.registry.create(key)
        self.registry.set(key, name, value, kind)

    def now(self) -> DateTime:
        """``[DateTime]::UtcNow``."""
        return DateTime.from_unix_s(self.clock(), "Utc")

    # -- paths -------------------------------------------------------------------------------
    def hit(self, method: str, win: str, qualified: str = "") -> None:
        """Record a call; raise an injected fault (or crash) if one matches."""
        self.calls.append((method, win))
        names = {method.lower(), qualified.lower()}
        for fault in self._faults:
            if fault.times > 0 and fault.method in names and fault.path_contains in win:
                if fault.skip > 0:
                    fault.skip -= 1
                    continue
                fault.times -= 1
                if fault.crash:
                    self.crashes.append((method, win))
                    raise HostCrash(method, win)
                kind = DENIED if "denied" in fault.message.lower() else IO
                raise NetError(kind, fault.message)
