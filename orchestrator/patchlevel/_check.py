"""The file consistency check, pure: a package manifest, the installation's current level and
its file facts in, one verdict per file that does not match the master file list out.

Verdicts (wording of the vendor procedure, seed 000):

- ``missing``: ``<file> missing``
- ``other-level``: ``<file> at patch level <x> (instead of <y>)``
- ``customized``: ``<file> customized``
- ``overridden``: ``<file> customized (overridden by file <other>)``
- ``incorrect-timestamp``: ``<file> customized with incorrect timestamp (<= <ts>)`` and
  ``<file> based on patch level <x> or below``
- ``earlier-version``: ``<file> from an earlier product version (according to its timestamp)``
- ``unreadable`` (not in the seed): ``<file> could not be read (<reason>)``
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

from ._facts import FileFact, FileFacts
from ._manifest import CustomManifest, FileRecord, Manifest, iso

Verdict = Literal[
    "missing",
    "other-level",
    "customized",
    "overridden",
    "incorrect-timestamp",
    "earlier-version",
    "unreadable",
]
VERDICTS: tuple[Verdict, ...] = (
    "missing",
    "other-level",
    "customized",
    "overridden",
    "incorrect-timestamp",
    "earlier-version",
    "unreadable",
)
#: Verdicts that mean "this file carries a local customization".
CUSTOMIZED: frozenset[str] = frozenset({"customized", "overridden", "incorrect-timestamp"})


@dataclass(frozen=True, slots=True)
class Finding:
    """One file that does not match the master file list, and why."""

    path: str
    verdict: Verdict
    expected_level: int
    level: int | None = None
    other: str | None = None
    expected_timestamp: int | None = None
    based_on: int | None = None
    custom_level: int | None = None
    error: str = ""

    @property
    def customized(self) -> bool:
        """True when the file carries a local customization."""
        return self.verdict in CUSTOMIZED

    def lines(self) -> list[str]:
        """The report's line(s) for this file, in the seed's wording."""
        p = self.path
        if self.verdict == "missing":
            return [f"{p} missing"]
        if self.verdict == "other-level":
            return [f"{p} at patch level {self.level} (instead of {self.expected_level})"]
        if self.verdict == "customized":
            return [f"{p} customized"]
        if self.verdict == "overridden":
            return [f"{p} customized (overridden by file {self.other})"]
        if self.verdict == "incorrect-timestamp":
            assert self.expected_timestamp is not None
            return [
                f"{p} customized with incorrect timestamp (<= {iso(self.expected_timestamp)})",
                f"{p} based on patch level {self.based_on} or below",
            ]
        if self.verdict == "earlier-version":
            return [f"{p} from an earlier product version (according to its timestamp)"]
        return [f"{p} could not be read ({self.error})"]

    def to_json(self) -> dict[str, Any]:
        """The JSON form: path, verdict, the report lines and the verdict's own fields."""
        out: dict[str, Any] = {"path": self.path, "verdict": self.verdict, "lines": self.lines()}
        for key in ("level", "other", "based_on", "custom_level"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.expected_timestamp is not None:
            out["expected_timestamp"] = iso(self.expected_timestamp)
        if self.error:
            out["error"] = self.error
        return out


@dataclass(frozen=True)
class CheckReport:
    """The result of a consistency check."""

    level: int
    level_assumed: bool
    package_level: int
    files_checked: int
    findings: tuple[Finding, ...]

    def by_path(self) -> dict[str, Finding]:
        """Findings keyed by path."""
        return {f.path: f for f in self.findings}

    def counts(self) -> dict[str, int]:
        """Findings per verdict (every verdict present, in the documented order)."""
        c = Counter(f.verdict for f in self.findings)
        return {v: c.get(v, 0) for v in VERDICTS}


def _same(fact: FileFact, sha256: str, size: int) -> bool:
    return fact.sha256 == sha256 and fact.size == size


def _at_level(manifest: Manifest, path: str, fact: FileFact, level: int) -> int | None:
    """The level whose shipped version of ``path`` has this content (nearest to ``level``)."""
    found = [
        lvl
        for lvl, rec in manifest.history(path)
        if rec is not None and _same(fact, rec.sha256, rec.size)
    ]
    return min(found, key=lambda lvl: (abs(lvl - level), lvl)) if found else None


def _overridden_by(manifest: Manifest, path: str, fact: FileFact, level: int) -> str | None:
    """Another shipped file with this content (one present at ``level`` preferred)."""
    others = sorted({p for p, _ in manifest.same_content(fact.sha256, fact.size) if p != path})
    if not others:
        return None
    for other in others:
        rec = manifest.record_at(other, level)
        if rec is not None and _same(fact, rec.sha256, rec.size):
            return other
    return others[0]


def _based_on(history: list[tuple[int, FileRecord | None]], level: int, mtime: int) -> int:
    """The highest level ≤ ``level`` whose original is older than ``mtime``."""
    best = 0
    for i, (lvl, rec) in enumerate(history):
        if lvl > level:
            break
        if rec is not None and rec.timestamp < mtime:
            upto = history[i + 1][0] - 1 if i + 1 < len(history) else level
            best = max(best, min(upto, level))
    return best


def classify(
    manifest: Manifest,
    path: str,
    fact: FileFact | None,
    level: int,
    custom: CustomManifest | None = None,
) -> Finding | None:
    """The verdict for one file of the standard installation (None: as expected)."""
    expected = manifest.record_at(path, level)
    if fact is None:
        return Finding(path, "missing", level) if expected is not None else None
    if fact.error:
        return Finding(path, "unreadable", level, error=fact.error)
    if expected is not None and _same(fact, expected.sha256, expected.size):
        return None
    at = _at_level(manifest, path, fact, level)
    if at is not None:
        return Finding(path, "other-level", level, level=at)
    if custom is not None:
        cv = custom.available(path, level, manifest)
        if cv is not None and _same(fact, cv.sha256, cv.size):
            return Finding(path, "customized", level, custom_level=cv.level)
    other = _overridden_by(manifest, path, fact, level)
    if other is not None:
        return Finding(path, "overridden", level, other=other)
    history = manifest.history(path)
    versions = [rec for _, rec in history if rec is not None]
    mtime = fact.mtime_s
    if versions and mtime <= versions[0].timestamp:
        return Finding(path, "earlier-version", level)
    if expected is None or mtime > expected.timestamp:
        return Finding(path, "customized", level)
    return Finding(
        path,
        "incorrect-timestamp",
        level,
        expected_timestamp=expected.timestamp,
        based_on=_based_on(history, level, mtime),
    )


def check_consistency(
    manifest: Manifest,
    facts: FileFacts,
    level: int | None,
    custom: CustomManifest | None = None,
) -> CheckReport:
    """Check every file of the standard installation (every path the package lists).

    ``level`` is the installation's recorded patch level; None (a first run: nothing
    recorded) assumes level 0, as the vendor's installer does."""
    current = 0 if level is None else level
    findings: list[Finding] = []
    paths = manifest.paths
    for path in paths:
        found = classify(manifest, path, facts.get(path), current, custom)
        if found is not None:
            findings.append(found)
    return CheckReport(current, level is None, manifest.level, len(paths), tuple(findings))
