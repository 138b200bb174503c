"""Upgrading a local installation to a patch level, all or nothing.

Order: refuse while the product's services run; roll back any interrupted upgrade; gather
the file facts, run the consistency and compatibility checks (their results go to
``install.log``); refuse a level that would break customizations unless forced; then, in
one :class:`~._txn.Transaction`, apply levels current+1 .. N in order, re-apply the
customization package's customizations valid at N, and record the new level (the state file
is part of the transaction). Any failure rolls the whole tree back to the previous level.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from ..errors import InputError, OrchestratorError, location
from ._archive import CustomPackage, PatchPackage
from ._check import CheckReport, check_consistency
from ._compat import CompatReport, check_compatibility
from ._facts import FileFact
from ._log import LOG_NAME, InstallLog
from ._manifest import Manifest, describe
from ._source import FactsSource, LocalSource
from ._state import (
    STATE_DIR,
    STATE_FILE,
    InstallState,
    PidFileCheck,
    ServicesCheck,
    current_level,
    now_iso,
)
from ._txn import Transaction, pending, recover


class LogSink(Protocol):
    """Where an upgrade writes its ``install.log`` lines."""

    def write(self, message: str) -> None:
        """One line."""
        ...

    def write_all(self, messages: Iterable[str]) -> None:
        """Several lines."""
        ...


class UpgradeRefused(OrchestratorError):
    """The upgrade was refused (services running, or customizations would break); nothing
    was changed."""

    exit_status = 7


class UpgradeFailed(OrchestratorError):
    """The upgrade failed part-way and was rolled back to the previous level."""

    exit_status = 1


@dataclass
class LevelStats:
    """What applying one level did."""

    level: int
    replaced: int = 0
    added: int = 0
    removed: int = 0
    skipped: list[str] = field(default_factory=list)


@dataclass
class UpgradeResult:
    """What an upgrade did."""

    from_level: int
    to_level: int
    level_assumed: bool
    check: CheckReport | None = None
    compat: CompatReport | None = None
    levels: list[LevelStats] = field(default_factory=list)
    customizations: list[tuple[str, int]] = field(default_factory=list)
    forced: tuple[str, ...] = ()
    recovered: list[Path] = field(default_factory=list)
    backup: Path | None = None
    log: Path | None = None


def _apply_levels(
    tx: Transaction, pkg: PatchPackage, start: int, to: int, skip: set[str], log: InstallLog
) -> list[LevelStats]:
    out: list[LevelStats] = []
    for delta in pkg.manifest.levels[start + 1 : to + 1]:
        stats = LevelStats(delta.level)
        for rec in delta.files:
            if rec.path in skip:
                stats.skipped.append(rec.path)
                log.write(f"level {delta.level}: skipped {rec.path} (missing: not installed)")
                continue
            existed = (tx.root / rec.path).is_file()
            with pkg.open_file(delta.level, rec.path) as src:
                tx.write(rec.path, src, rec.sha256, rec.size, rec.timestamp)
            stats.replaced += existed
            stats.added += not existed
            verb = "replaced" if existed else "added"
            log.write(f"level {delta.level}: {verb} {rec.path} ({rec.size} bytes, {rec.sha256})")
        for path in delta.removed:
            if path not in skip and (tx.root / path).is_file():
                tx.remove(path)
                stats.removed += 1
                log.write(f"level {delta.level}: removed {path}")
        log.write(
            f"level {delta.level} applied: {stats.replaced} replaced, {stats.added} added, "
            f"{stats.removed} removed, {len(stats.skipped)} skipped"
        )
        out.append(stats)
    return out


def _apply_custom(
    tx: Transaction,
    pkg: PatchPackage,
    custom: CustomPackage,
    to: int,
    touched: set[str],
    facts: dict[str, FileFact | None],
    skip: set[str],
    log: InstallLog,
) -> list[tuple[str, int]]:
    done: list[tuple[str, int]] = []
    for path in sorted(custom.manifest.files):
        cv = custom.manifest.available(path, to, pkg.manifest)
        if cv is None:
            if any(v.level <= to for v in custom.manifest.files[path]):
                log.write(f"customization of {path}: none valid at level {to}, not applied")
            continue
        fact = facts.get(path)
        if path in skip:
            log.write(f"customization of {path}: skipped (missing: not installed)")
            continue
        if path not in touched and fact and (fact.sha256, fact.size) == (cv.sha256, cv.size):
            log.write(f"customization of {path} (made for level {cv.level}): already in place")
            continue
        with custom.open_file(cv.level, path) as src:
            tx.write(path, src, cv.sha256, cv.size, cv.timestamp)
        done.append((path, cv.level))
        log.write(f"re-applied customization of {path} (made for level {cv.level})")
    return done


def _record(tx: Transaction, pkg: PatchPackage, to: int) -> None:
    m = pkg.manifest
    state = InstallState(m.product, m.release, m.build, to, now_iso(), pkg.path.name)
    data = (json.dumps(state.to_json(), indent=2) + "\n").encode()
    tx.write(
        f"{STATE_DIR}/{STATE_FILE}",
        io.BytesIO(data),
        hashlib.sha256(data).hexdigest(),
        len(data),
        int(datetime.now(UTC).timestamp()),
    )


def _levels(install: Path, m: Manifest, to: int) -> tuple[int | None, int]:
    """(recorded level or None, current level) after checking ``to`` against them."""
    recorded, _ = current_level(install, m)
    start = recorded or 0
    if not 0 <= to <= m.level:
        raise InputError(f"--to {to}: the package has patch levels 0..{m.level}")
    if to < start:
        raise InputError(f"--to {to}: the installation is at level {start}; no downgrade")
    return recorded, start


def _preflight(
    pkg: PatchPackage,
    install: Path,
    to: int,
    recorded: int | None,
    custom: CustomPackage | None,
    force: bool,
    log: LogSink,
    source: FactsSource | None = None,
    log_path: str | None = None,
) -> tuple[dict[str, FileFact | None], CheckReport, CompatReport, tuple[str, ...]]:
    """Both checks, logged; refuses a level that breaks customizations unless forced.
    ``log_path`` names ``install.log`` in the refusal (default ``install/install.log``)."""
    m = pkg.manifest
    paths = sorted(set(m.paths) | set(custom.manifest.files if custom else ()))
    facts = (source or LocalSource(install)).facts(paths)
    cm = custom.manifest if custom else None
    check = check_consistency(m, facts, recorded, cm)
    compat = check_compatibility(m, check, cm)
    log.write_all(line for f in check.findings for line in f.lines())
    for lc in compat.levels:
        verdict = "ok" if lc.compatible else "no"
        log.write(f"compatibility with patch level {lc.level}: {verdict}")
        log.write_all(lc.lines())
    log.write(compat.summary_line())
    target = compat.at(to)
    blocking = target.blocking
    if blocking and not force:
        logged = log_path or install / LOG_NAME
        log.write(f"refused: level {to} would break customizations of: " + ", ".join(blocking))
        raise UpgradeRefused(
            f"upgrading to patch level {to} would break the customizations of "
            f"{len(blocking)} file(s): {'; '.join(target.lines())}; compatible level(s): "
            f"{describe(compat.compatible_levels) or 'none'}; send {logged} to "
            "your customization service for updated customizations, or pass --force; "
            "nothing was changed"
        )
    if blocking:
        log.write("forced: these files lose their customizations: " + ", ".join(blocking))
    return facts, check, compat, blocking


def _transact(
    tx: Transaction,
    pkg: PatchPackage,
    custom: CustomPackage | None,
    start: int,
    to: int,
    facts: dict[str, FileFact | None],
    result: UpgradeResult,
    log: InstallLog,
) -> None:
    """Levels, customizations and the recorded level in ``tx``; rolled back on failure."""
    m = pkg.manifest
    skip = {p for p in m.state(start) if facts.get(p) is None}
    try:
        tx.begin()
        log.write(f"backup of replaced files: {tx.dir}")
        result.levels = _apply_levels(tx, pkg, start, to, skip, log)
        if custom is not None:
            touched = m.touched(start, to)
            result.customizations = _apply_custom(tx, pkg, custom, to, touched, facts, skip, log)
        _record(tx, pkg, to)
        tx.commit()
    except BaseException as exc:
        reason = f"{type(exc).__name__}: {exc}"
        log.write(f"failed: {reason}; rolling back to patch level {start}")
        try:
            restored = tx.rollback()
        except Exception as again:
            log.write(f"rollback failed: {again}; the next upgrade replays {tx.dir}")
            raise UpgradeFailed(
                f"upgrade to level {to} failed ({reason}) and so did the rollback "
                f"({again}); the next `patch upgrade` replays the journal in {tx.dir}"
            ) from exc
        log.write(f"rolled back: {restored} file(s) restored; patch level {start} kept")
        if not isinstance(exc, Exception):
            raise
        raise UpgradeFailed(
            f"upgrade to level {to} failed ({reason}); rolled back to patch level {start} "
            f"({restored} file(s) restored); details in {tx.root / LOG_NAME}"
        ) from exc


def upgrade(
    pkg: PatchPackage,
    install: Path,
    to: int,
    *,
    custom: CustomPackage | None = None,
    force: bool = False,
    services: ServicesCheck | None = None,
) -> UpgradeResult:
    """Upgrade the installation at ``install`` to patch level ``to`` (see the module doc).

    Raises :class:`UpgradeRefused` (nothing changed), :class:`UpgradeFailed` (rolled back),
    or :class:`InputError`."""
    m = pkg.manifest
    if not install.is_dir():
        raise InputError("not a directory", location(install))
    interrupted = pending(install)
    recorded: int | None = None
    start = 0
    if not interrupted:  # else the state file itself may be rolled back first
        recorded, start = _levels(install, m, to)
    try:
        log_file = InstallLog(install / LOG_NAME)
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror}", location(install / LOG_NAME)) from None
    with log_file as log:
        log.write(
            f"patch upgrade: package {pkg.path.name} ({m.product} {m.release}.{m.build}, levels "
            f"0..{m.level}), customization package "
            f"{custom.path.name if custom else '(none)'}, install {install}"
        )
        if not interrupted and to == start:
            log.write(f"already at patch level {to}: nothing to do")
            return UpgradeResult(start, to, recorded is None, log=install / LOG_NAME)
        running = (services or PidFileCheck(install)).running()
        if running:
            log.write("refused: the product's services are running: " + "; ".join(running))
            raise UpgradeRefused(
                "the product's services are running (" + "; ".join(running) + "): stop them "
                "(and IIS) first; nothing was changed"
            )
        for directory in interrupted:
            restored = recover(install, directory)
            log.write(f"rolled back interrupted upgrade {directory.name}: {restored} restored")
        recorded, start = _levels(install, m, to)
        how = "assumed: no level recorded" if recorded is None else "recorded"
        log.write(f"current patch level {start} ({how}); target level {to}")
        result = UpgradeResult(start, to, recorded is None, log=install / LOG_NAME)
        result.recovered = interrupted
        if to == start:
            log.write(f"already at patch level {to}: nothing to do")
            return result
        facts, result.check, result.compat, result.forced = _preflight(
            pkg, install, to, recorded, custom, force, log
        )
        ident = f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{os.getpid()}-level-{start}-to-{to}"
        meta = {"from_level": start, "to_level": to, "started": now_iso()}
        tx = Transaction(install, ident, meta)
        result.backup = tx.dir
        _transact(tx, pkg, custom, start, to, facts, result, log)
        log.write(f"recorded patch level {to} (version {m.release}.{m.build}.{to})")
        log.write(f"upgrade to patch level {to} done")
    return result
