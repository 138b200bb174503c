"""An installation's recorded patch level, and whether its product's services run.

- The level is recorded in ``<install>/.orchestrator/patchlevel.json`` (on Windows the
  product keeps it in the registry value ``HKLM\\SOFTWARE\\<Product>\\PatchLevel``, which the
  remote part writes; this module is the local, file-based store).
- Services: by default the pid-file convention ``<install>/.orchestrator/services.pid`` (one
  pid per line, ``#`` comments): the services run when any listed pid is alive. Or a command
  (``--services-running-check CMD``): exit 0 = running, 1 = stopped, anything else = cannot
  tell (treated as running).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from ..errors import InputError, SchemaError, YamlSyntaxError, location
from ..fsutil import write_atomic
from ._manifest import Manifest
from ._names import full_version

STATE_DIR = ".orchestrator"
STATE_FILE = "patchlevel.json"
PID_FILE = "services.pid"
STATE_FORMAT = "orchestrator.patch-state/v1"


@dataclass(frozen=True)
class InstallState:
    """What an installation records about itself."""

    product: str
    release: str
    build: int
    level: int
    updated: str = ""
    package: str = ""

    @property
    def version(self) -> str:
        """The five-part version, e.g. ``4.2.7.106.9``."""
        return full_version(self.release, self.build, self.level)

    def to_json(self) -> dict[str, Any]:
        """The state file's document."""
        return {
            "format": STATE_FORMAT,
            "product": self.product,
            "release": self.release,
            "build": self.build,
            "level": self.level,
            "version": self.version,
            "updated": self.updated,
            "package": self.package,
        }


def state_path(install: Path) -> Path:
    """Where the level is recorded."""
    return install / STATE_DIR / STATE_FILE


def read_state(install: Path) -> InstallState | None:
    """The recorded state (None when nothing is recorded: a first run)."""
    path = state_path(install)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", location(path)) from None
    return parse_state(text, path)


def parse_state(text: str, path: Path | str) -> InstallState:
    """A state file's text as an :class:`InstallState` (``path`` names it in errors)."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise YamlSyntaxError(exc.msg, location(path, exc.lineno, exc.colno)) from None
    try:
        if doc["format"] != STATE_FORMAT:
            raise ValueError
        state = InstallState(
            str(doc["product"]),
            str(doc["release"]),
            int(doc["build"]),
            int(doc["level"]),
            str(doc.get("updated", "")),
            str(doc.get("package", "")),
        )
    except (KeyError, TypeError, ValueError):
        raise SchemaError(
            f"not an {STATE_FORMAT} document (format, product, release, build, level)",
            location(path),
        ) from None
    if state.level < 0:
        raise SchemaError("level must be >= 0", location(path))
    return state


def write_state(install: Path, state: InstallState) -> None:
    """Record ``state`` atomically (temporary file, fsync, rename)."""
    write_atomic(state_path(install), json.dumps(state.to_json(), indent=2) + "\n")


def current_level(install: Path, manifest: Manifest) -> tuple[int | None, InstallState | None]:
    """The recorded level (None if none) after checking it belongs to this package."""
    state = read_state(install)
    return check_state(state, manifest, state_path(install))


def check_state(
    state: InstallState | None, manifest: Manifest, where: Path | str
) -> tuple[int | None, InstallState | None]:
    """The recorded level of ``state`` (None if none) after checking it fits the package."""
    if state is None:
        return None, None
    ours = (manifest.product.upper(), manifest.release, manifest.build)
    if (state.product.upper(), state.release, state.build) != ours:
        raise InputError(
            f"the installation is {state.product} {state.release}.{state.build}, the package "
            f"is for {manifest.product} {manifest.release}.{manifest.build}",
            location(where),
        )
    if state.level > manifest.level:
        raise InputError(
            f"the installation is at patch level {state.level}, above the package's highest "
            f"level {manifest.level}: use a newer package",
            location(where),
        )
    return state.level, state


def now_iso() -> str:
    """The current time, ISO 8601 UTC with seconds."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ServicesCheck(Protocol):
    """Tells whether the product's services run (upgrades refuse while they do)."""

    def running(self) -> list[str]:
        """What runs (empty: everything is stopped)."""
        ...


def _alive(pid: int) -> bool:
    if sys.platform == "win32":
        raise InputError(
            "the pid-file services check is POSIX only: use --services-running-check CMD"
        )
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class PidFileCheck:
    """The default check: live pids listed in ``<install>/.orchestrator/services.pid``."""

    install: Path

    def running(self) -> list[str]:
        """``pid N`` for every listed pid that is alive."""
        path = self.install / STATE_DIR / PID_FILE
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror}", location(path)) from None
        return [f"pid {pid} (listed in {path})" for pid in parse_pids(lines, path) if _alive(pid)]


def parse_pids(lines: list[str], path: Path | str) -> list[int]:
    """The pids a pid file lists (one per line, ``#`` comments)."""
    out: list[int] = []
    for number, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        if not text.isdigit() or int(text) <= 0:
            raise InputError(f"expected a process id, found {text!r}", location(path, number))
        out.append(int(text))
    return out


@dataclass(frozen=True)
class CommandCheck:
    """A shell command: exit 0 = services running, 1 = stopped, else cannot tell."""

    command: str

    def running(self) -> list[str]:
        """The command's verdict (its first output line as the description)."""
        try:
            done = subprocess.run(
                self.command, shell=True, capture_output=True, text=True, timeout=120
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return [f"cannot tell: {self.command!r} failed ({exc})"]
        if done.returncode == 1:
            return []
        first = (done.stdout.strip().splitlines() or [""])[0]
        if done.returncode == 0:
            return [f"{self.command!r} says the services run" + (f": {first}" if first else "")]
        return [f"cannot tell: {self.command!r} exited {done.returncode}"]
