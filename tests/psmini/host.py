"""The emulated Windows machine: its file system (:mod:`.files`), the registry, the services,
a UTC clock, fault injection, and the record of calls."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .dates import DateTime
from .errors import NetError
from .files import DENIED, IO, FileSystem
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


class WindowsHost(FileSystem):
    """A Windows machine for the interpreter; ``root`` holds its drives (``root/C``)."""

    def __init__(self, root: Path | str, *, clock: Callable[[], float] = time.time) -> None:
        self.root = Path(root)
        self.clock = clock
        self.registry = Registry()
        self.services: dict[str, Service] = {}
        self.calls: list[tuple[str, str]] = []
        self._faults: list[_Fault] = []
        self._locked: set[str] = set()
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
        """Record a call; raise an injected fault if one matches."""
        self.calls.append((method, win))
        names = {method.lower(), qualified.lower()}
        for fault in self._faults:
            if fault.times > 0 and fault.method in names and fault.path_contains in win:
                if fault.skip > 0:
                    fault.skip -= 1
                    continue
                fault.times -= 1
                kind = DENIED if "denied" in fault.message.lower() else IO
                raise NetError(kind, fault.message)
