"""The patch level compatibility check, pure: for each level above the current one, which
customized files that level would overwrite and which earlier-version files it needs.

Lines and summary use the vendor procedure's wording (seed 000):

- ``<file> needs its customization updated``: the file is customized (any customized
  verdict of the consistency check), a level in current+1..x changes it, and the
  customization package (if any) has no customization for it valid at level x;
- ``<file> needs upgrade to current version (and possibly re-applied customization)``: the
  file is from an earlier product version and a level in current+1..x changes it;
- ``<file> could not be read (cannot tell whether level <x> breaks a customization)``: an
  unreadable file that level x changes (not in the seed).

A level is compatible when it lists none of these. Summary: ``This system is not compatible
with any patch level.`` / ``This system is compatible with all patch levels.`` / ``This
system is compatible with the following patch level(s): 10,11,12``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ._check import CheckReport, Finding
from ._manifest import CustomManifest, Manifest, describe

Summary = Literal["none", "all", "some"]


@dataclass(frozen=True)
class LevelCompat:
    """What upgrading to one level means for the installation's customized files."""

    level: int
    customization_updates: tuple[str, ...] = ()
    upgrades: tuple[str, ...] = ()
    unreadable: tuple[str, ...] = ()
    covered: tuple[tuple[str, int], ...] = ()

    @property
    def compatible(self) -> bool:
        """True when upgrading to this level breaks no customization."""
        return not (self.customization_updates or self.upgrades or self.unreadable)

    @property
    def blocking(self) -> tuple[str, ...]:
        """Every file that makes this level incompatible, sorted."""
        return tuple(sorted({*self.customization_updates, *self.upgrades, *self.unreadable}))

    def lines(self) -> list[str]:
        """The report's lines for this level, in the seed's wording."""
        out = [f"{p} needs its customization updated" for p in self.customization_updates]
        out += [
            f"{p} needs upgrade to current version (and possibly re-applied customization)"
            for p in self.upgrades
        ]
        out += [
            f"{p} could not be read (cannot tell whether level {self.level} breaks a customization)"
            for p in self.unreadable
        ]
        return out

    def to_json(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "level": self.level,
            "compatible": self.compatible,
            "customization_updates": list(self.customization_updates),
            "upgrades": list(self.upgrades),
            "unreadable": list(self.unreadable),
            "customizations_available": [
                {"path": p, "custom_level": lvl} for p, lvl in self.covered
            ],
            "lines": self.lines(),
        }


@dataclass(frozen=True)
class CompatReport:
    """The result of a compatibility check: one entry per level above the current one."""

    level: int
    level_assumed: bool
    package_level: int
    levels: tuple[LevelCompat, ...]

    @property
    def compatible_levels(self) -> list[int]:
        """Levels that break no customization."""
        return [lc.level for lc in self.levels if lc.compatible]

    def at(self, level: int) -> LevelCompat:
        """The entry for ``level`` (KeyError if it is not above the current level)."""
        for lc in self.levels:
            if lc.level == level:
                return lc
        raise KeyError(level)

    @property
    def summary(self) -> Summary:
        """``none``, ``all`` or ``some``; ``all`` when there is no level above the current."""
        ok = self.compatible_levels
        if len(ok) == len(self.levels):
            return "all"
        return "some" if ok else "none"

    def summary_line(self) -> str:
        """The seed's summary sentence."""
        if self.summary == "none":
            return "This system is not compatible with any patch level."
        if self.summary == "all":
            return "This system is compatible with all patch levels."
        return (
            "This system is compatible with the following patch level(s): "
            f"{describe(self.compatible_levels)}"
        )


def _first_touch(manifest: Manifest, after: int) -> dict[str, int]:
    """Path → the first level above ``after`` that changes it."""
    out: dict[str, int] = {}
    for delta in manifest.levels[after + 1 :]:
        for path in [r.path for r in delta.files] + list(delta.removed):
            out.setdefault(path, delta.level)
    return out


def check_compatibility(
    manifest: Manifest, check: CheckReport, custom: CustomManifest | None = None
) -> CompatReport:
    """Compatibility of every level above the check's current level."""
    first = _first_touch(manifest, check.level)
    flagged: list[tuple[Finding, int]] = [
        (f, first[f.path])
        for f in check.findings
        if f.path in first and (f.customized or f.verdict in ("earlier-version", "unreadable"))
    ]
    levels: list[LevelCompat] = []
    for x in range(check.level + 1, manifest.level + 1):
        updates: list[str] = []
        upgrades: list[str] = []
        unreadable: list[str] = []
        covered: list[tuple[str, int]] = []
        for f, touch in flagged:
            if touch > x:
                continue
            if f.verdict == "earlier-version":
                upgrades.append(f.path)
            elif f.verdict == "unreadable":
                unreadable.append(f.path)
            else:
                cv = custom.available(f.path, x, manifest) if custom else None
                if cv is None:
                    updates.append(f.path)
                else:
                    covered.append((f.path, cv.level))
        levels.append(
            LevelCompat(x, tuple(updates), tuple(upgrades), tuple(unreadable), tuple(covered))
        )
    return CompatReport(check.level, check.level_assumed, manifest.level, tuple(levels))
