"""The manifests of a patch package and of a customization package: typed, validated, pure.

A package manifest lists, per level, the files that level adds or changes (level 0 = the full
build) and the files it removes; the state at level N (the master file list a consistency
check compares with) is level 0 with levels 1..N applied in order: :meth:`Manifest.state`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..errors import SchemaError, location

FORMAT = "orchestrator.patch-package/v1"
CUSTOM_FORMAT = "orchestrator.patch-customization/v1"
MANIFEST = "manifest.json"
CUSTOM_DIR = "customization"
#: Paths inside an installation that belong to the tool, never to a package.
RESERVED = (".orchestrator", "install.log")

SHA256 = re.compile(r"^[0-9a-f]{64}$")


def iso(ts: int) -> str:
    """Epoch seconds → ``2004-03-01T12:00:00Z``."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> int:
    """``2004-03-01T12:00:00Z`` → epoch seconds (``ValueError`` if not ISO 8601 UTC)."""
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is None or when.utcoffset() != UTC.utcoffset(None):
        raise ValueError(f"{text!r} is not UTC")
    return int(when.timestamp())


def level_dir(level: int) -> str:
    """The folder of a level's files inside a package: ``level-07``."""
    return f"level-{level:02d}"


def check_relpath(path: object, where: str) -> str:
    """A safe relative POSIX path (no ``..``, not absolute, not reserved) or a SchemaError."""
    bad = (
        not isinstance(path, str)
        or not path
        or path.startswith("/")
        or "\\" in path
        or "\0" in path
        or ":" in path
        or any(part in ("", ".", "..") for part in path.split("/"))
    )
    if bad or str(path).split("/")[0] in RESERVED:
        raise SchemaError(f"unsafe or reserved file path {path!r}", location(where))
    assert isinstance(path, str)
    return path


@dataclass(frozen=True, slots=True)
class FileRecord:
    """One version of one file: path, file version string ("" if none), size, content hash,
    timestamp (epoch seconds, UTC)."""

    path: str
    version: str
    size: int
    sha256: str
    timestamp: int

    def to_json(self) -> dict[str, Any]:
        """The manifest form."""
        return {
            "path": self.path,
            "version": self.version,
            "size": self.size,
            "sha256": self.sha256,
            "timestamp": iso(self.timestamp),
        }


@dataclass(frozen=True)
class LevelDelta:
    """What one level ships: files added or changed, paths removed."""

    level: int
    files: tuple[FileRecord, ...]
    removed: tuple[str, ...] = ()


@dataclass
class Manifest:
    """A standard package: product, release, build, highest level and the levels' deltas."""

    product: str
    release: str
    build: int
    levels: tuple[LevelDelta, ...]
    _history: dict[str, list[tuple[int, FileRecord | None]]] = field(
        init=False, repr=False, default_factory=dict
    )
    _content: dict[tuple[str, int], list[tuple[str, int]]] = field(
        init=False, repr=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        for delta in self.levels:
            for rec in delta.files:
                self._history.setdefault(rec.path, []).append((delta.level, rec))
                self._content.setdefault((rec.sha256, rec.size), []).append((rec.path, delta.level))
            for path in delta.removed:
                self._history.setdefault(path, []).append((delta.level, None))

    @property
    def level(self) -> int:
        """The highest patch level in the package."""
        return self.levels[-1].level

    @property
    def paths(self) -> list[str]:
        """Every path any level lists, sorted."""
        return sorted(self._history)

    def state(self, level: int) -> dict[str, FileRecord]:
        """The master file list at ``level``: path → the record installed at that level."""
        out: dict[str, FileRecord] = {}
        for delta in self.levels[: level + 1]:
            for rec in delta.files:
                out[rec.path] = rec
            for path in delta.removed:
                out.pop(path, None)
        return out

    def history(self, path: str) -> list[tuple[int, FileRecord | None]]:
        """(level, record or None if removed) for every level that touches ``path``."""
        return self._history.get(path, [])

    def record_at(self, path: str, level: int) -> FileRecord | None:
        """The record of ``path`` at ``level`` (None if absent at that level)."""
        found: FileRecord | None = None
        for lvl, rec in self._history.get(path, []):
            if lvl > level:
                break
            found = rec
        return found

    def changed_at(self, path: str, level: int) -> int | None:
        """The last level ≤ ``level`` that added, changed or removed ``path``."""
        found: int | None = None
        for lvl, _ in self._history.get(path, []):
            if lvl > level:
                break
            found = lvl
        return found

    def touched(self, after: int, upto: int) -> set[str]:
        """Paths that levels ``after+1 .. upto`` add, change or remove."""
        out: set[str] = set()
        for delta in self.levels[after + 1 : upto + 1]:
            out.update(rec.path for rec in delta.files)
            out.update(delta.removed)
        return out

    def same_content(self, sha256: str, size: int) -> list[tuple[str, int]]:
        """(path, level) of every shipped file with this content."""
        return self._content.get((sha256, size), [])

    def to_json(self) -> dict[str, Any]:
        """The manifest document."""
        return {
            "format": FORMAT,
            "product": self.product,
            "release": self.release,
            "build": self.build,
            "level": self.level,
            "levels": [
                {
                    "level": d.level,
                    "files": [r.to_json() for r in d.files],
                    "removed": list(d.removed),
                }
                for d in self.levels
            ],
        }


@dataclass(frozen=True, slots=True)
class CustomVersion:
    """A customized content of one file, made for (and valid from) ``level``."""

    level: int
    size: int
    sha256: str
    timestamp: int


@dataclass
class CustomManifest:
    """A customization package: per file, the levels it has customizations for."""

    product: str
    release: str
    build: int
    level: int
    files: dict[str, tuple[CustomVersion, ...]]

    def available(self, path: str, level: int, std: Manifest) -> CustomVersion | None:
        """The customization of ``path`` to install at ``level``, if any.

        A customization made for level L stays valid at level x ≥ L as long as no level in
        L+1..x changed the standard file; of those, the one made for the highest level wins.
        For a file the standard package never ships (an extension), the highest L ≤ x wins."""
        versions = self.files.get(path, ())
        if std.history(path):
            if std.record_at(path, level) is None:
                return None
            base = std.changed_at(path, level)
            assert base is not None
            candidates = [v for v in versions if base <= v.level <= level]
        else:
            candidates = [v for v in versions if v.level <= level]
        return candidates[-1] if candidates else None

    def to_json(self) -> dict[str, Any]:
        """The manifest document."""
        return {
            "format": CUSTOM_FORMAT,
            "product": self.product,
            "release": self.release,
            "build": self.build,
            "level": self.level,
            "files": [
                {
                    "path": path,
                    "levels": [
                        {
                            "level": v.level,
                            "size": v.size,
                            "sha256": v.sha256,
                            "timestamp": iso(v.timestamp),
                        }
                        for v in versions
                    ],
                }
                for path, versions in sorted(self.files.items())
            ],
        }


def describe(levels: Sequence[int]) -> str:
    """``[10, 11, 12]`` → ``10,11,12`` (the seed's list form)."""
    return ",".join(str(n) for n in levels)
