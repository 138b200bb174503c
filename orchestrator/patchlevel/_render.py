"""Human text and JSON documents for ``patch inspect``, ``check``, ``compat`` and
``upgrade``. Pure: reports in, strings and dicts out."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._check import CheckReport
from ._compat import CompatReport
from ._manifest import CustomManifest, Manifest, iso
from ._names import full_version
from ._upgrade import UpgradeResult

_LABELS = {
    "missing": "missing",
    "other-level": "at another patch level",
    "customized": "customized",
    "overridden": "customized (overridden by another file)",
    "incorrect-timestamp": "customized with incorrect timestamp",
    "earlier-version": "from an earlier product version",
    "unreadable": "could not be read",
}


@dataclass(frozen=True)
class Context:
    """What a check or compat report is about."""

    package: str
    manifest: Manifest
    install: Path
    level: int
    level_assumed: bool
    state_file: Path
    custom: str | None = None
    custom_manifest: CustomManifest | None = None
    interrupted: list[Path] = field(default_factory=list)

    def header(self) -> list[str]:
        """The lines every report starts with."""
        m = self.manifest
        version = full_version(m.release, m.build, self.level)
        if self.level_assumed:
            how = "no patch level recorded: first run, level 0 assumed"
        else:
            how = f"patch level {self.level}, recorded in {self.state_file}"
        out = [
            f"Product: {m.product} {m.release}.{m.build}, installed in {self.install}",
            f"Version: {version} ({how})",
            f"Package: {self.package}, patch levels up to {m.level}",
        ]
        if self.custom and self.custom_manifest:
            n = len(self.custom_manifest.files)
            out.append(f"Customization package: {self.custom} (customizations of {n} file(s))")
        for d in self.interrupted:
            out.append(
                f"Warning: an interrupted upgrade ({d.name}) left files changed; the next "
                "`patch upgrade` rolls it back first"
            )
        return out

    def to_json(self) -> dict[str, Any]:
        """The common part of the JSON documents."""
        m = self.manifest
        return {
            "package": {
                "name": self.package,
                "product": m.product,
                "release": m.release,
                "build": m.build,
                "level": m.level,
                "version": full_version(m.release, m.build, m.level),
            },
            "customization": (
                {"name": self.custom, "files": sorted(self.custom_manifest.files)}
                if self.custom and self.custom_manifest
                else None
            ),
            "install": str(self.install),
            "level": self.level,
            "level_source": "assumed" if self.level_assumed else "recorded",
            "version": full_version(m.release, m.build, self.level),
            "interrupted_upgrades": [d.name for d in self.interrupted],
        }


def check_text(ctx: Context, report: CheckReport) -> str:
    """The consistency check, as the operator reads it."""
    out = ctx.header()
    out.append(f"Checking system files consistency: {report.files_checked} file(s)")
    for finding in report.findings:
        out.extend(finding.lines())
    counts = {k: v for k, v in report.counts().items() if v}
    if counts:
        detail = ", ".join(f"{n} {_LABELS[k]}" for k, n in counts.items())
        out.append(
            f"Done: {len(report.findings)} file(s) differ from the master file list: {detail}"
        )
    else:
        out.append(f"Done: every file matches the master file list of patch level {report.level}")
    return "\n".join(out) + "\n"


def check_json(ctx: Context, report: CheckReport) -> dict[str, Any]:
    """``orchestrator.patch-check/v1``."""
    return {
        "format": "orchestrator.patch-check/v1",
        **ctx.to_json(),
        "files_checked": report.files_checked,
        "counts": report.counts(),
        "findings": [f.to_json() for f in report.findings],
    }


def compat_text(ctx: Context, report: CompatReport) -> str:
    """The compatibility check, in the seed's layout."""
    out = ctx.header()
    out += [
        f"System current patch level: {report.level}",
        f"Patch Installation Package level: {report.package_level}",
        f"Checking files compatibility up to patch level {report.package_level}",
    ]
    if not report.levels:
        out.append(f"No patch level above {report.level} in this package.")
    for lc in report.levels:
        out.append(f"Checking files for compatibility with patch level {lc.level}")
        out.extend(lc.lines())
        out.extend(
            f"{p} customization available in the customization package (made for level {n})"
            for p, n in lc.covered
        )
    out.append(report.summary_line())
    return "\n".join(out) + "\n"


def compat_json(ctx: Context, report: CompatReport) -> dict[str, Any]:
    """``orchestrator.patch-compat/v1``."""
    return {
        "format": "orchestrator.patch-compat/v1",
        **ctx.to_json(),
        "levels": [lc.to_json() for lc in report.levels],
        "compatible_levels": report.compatible_levels,
        "summary": report.summary,
        "summary_line": report.summary_line(),
    }


def upgrade_text(install: Path, m: Manifest, res: UpgradeResult) -> str:
    """What an upgrade did."""
    out = [f"Rolled back interrupted upgrade {d.name}" for d in res.recovered]
    if res.from_level == res.to_level:
        out.append(f"{install}: already at patch level {res.to_level}; nothing to do")
        return "\n".join(out) + "\n"
    version = full_version(m.release, m.build, res.to_level)
    out.append(
        f"Upgraded {install} from patch level {res.from_level} to {res.to_level} "
        f"(version {version})"
    )
    for s in res.levels:
        out.append(
            f"level {s.level}: {s.replaced} replaced, {s.added} added, {s.removed} removed, "
            f"{len(s.skipped)} skipped (missing, not installed)"
        )
    for path, lvl in res.customizations:
        out.append(f"re-applied customization of {path} (made for level {lvl})")
    if res.forced:
        out.append("forced: these files lost their customizations: " + ", ".join(res.forced))
    out.append(f"backup of replaced files: {res.backup}")
    out.append(f"log: {res.log}")
    return "\n".join(out) + "\n"


def upgrade_json(install: Path, m: Manifest, res: UpgradeResult) -> dict[str, Any]:
    """``orchestrator.patch-upgrade/v1``."""
    return {
        "format": "orchestrator.patch-upgrade/v1",
        "install": str(install),
        "from_level": res.from_level,
        "to_level": res.to_level,
        "level_source": "assumed" if res.level_assumed else "recorded",
        "version": full_version(m.release, m.build, res.to_level),
        "levels": [
            {
                "level": s.level,
                "replaced": s.replaced,
                "added": s.added,
                "removed": s.removed,
                "skipped": s.skipped,
            }
            for s in res.levels
        ],
        "customizations": [{"path": p, "custom_level": n} for p, n in res.customizations],
        "forced": list(res.forced),
        "recovered": [d.name for d in res.recovered],
        "backup": str(res.backup) if res.backup else None,
        "log": str(res.log) if res.log else None,
    }


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024
        if value < 1024 or unit == "GiB":
            break
    return f"{value:.1f} {unit}"


def inspect_rows(m: Manifest) -> list[dict[str, Any]]:
    """Per level: files in the state, files shipped (added/changed), removed, total size."""
    rows: list[dict[str, Any]] = []
    state: dict[str, int] = {}
    for d in m.levels:
        added = sum(1 for r in d.files if r.path not in state)
        for r in d.files:
            state[r.path] = r.size
        for p in d.removed:
            state.pop(p, None)
        rows.append(
            {
                "level": d.level,
                "files": len(state),
                "shipped": len(d.files),
                "added": added,
                "changed": len(d.files) - added,
                "removed": len(d.removed),
                "shipped_bytes": sum(r.size for r in d.files),
                "bytes": sum(state.values()),
            }
        )
    return rows


def inspect_text(name: str, m: Manifest, summary: bool) -> str:
    """A package: header, per-level table, and each level's files unless ``summary``."""
    out = [
        f"{name}: {m.product} {m.release} build {m.build}, patch levels 0..{m.level} "
        f"(version {full_version(m.release, m.build, m.level)})",
        f"{'level':>5}  {'files':>7}  {'shipped':>7}  {'added':>6}  {'changed':>7}  "
        f"{'removed':>7}  {'shipped size':>12}  {'total size':>12}",
    ]
    for r in inspect_rows(m):
        out.append(
            f"{r['level']:>5}  {r['files']:>7}  {r['shipped']:>7}  {r['added']:>6}  "
            f"{r['changed']:>7}  {r['removed']:>7}  {_size(r['shipped_bytes']):>12}  "
            f"{_size(r['bytes']):>12}"
        )
    if not summary:
        for d in m.levels:
            title = "full build" if d.level == 0 else "files shipped"
            out.append(f"level {d.level} ({title}):")
            for rec in d.files:
                version = f"  version {rec.version}" if rec.version else ""
                out.append(f"  {rec.path}  {rec.size} bytes  {iso(rec.timestamp)}{version}")
            out.extend(f"  {p}  removed" for p in d.removed)
    return "\n".join(out) + "\n"


def inspect_custom_text(name: str, c: CustomManifest) -> str:
    """A customization package: per file, the levels it has customizations for."""
    out = [
        f"{name}: customizations for {c.product} {c.release} build {c.build}, "
        f"levels up to {c.level}, {len(c.files)} file(s)"
    ]
    for path, versions in sorted(c.files.items()):
        made = ", ".join(f"level {v.level} ({v.size} bytes, {iso(v.timestamp)})" for v in versions)
        out.append(f"  {path}: {made}")
    return "\n".join(out) + "\n"


def inspect_json(name: str, m: Manifest) -> dict[str, Any]:
    """``orchestrator.patch-inspect/v1``: the summary table plus the full manifest."""
    return {
        "format": "orchestrator.patch-inspect/v1",
        "name": name,
        "version": full_version(m.release, m.build, m.level),
        "levels": inspect_rows(m),
        "manifest": m.to_json(),
    }


def inspect_custom_json(name: str, c: CustomManifest) -> dict[str, Any]:
    """``orchestrator.patch-inspect/v1`` for a customization package."""
    return {"format": "orchestrator.patch-inspect/v1", "name": name, "manifest": c.to_json()}
