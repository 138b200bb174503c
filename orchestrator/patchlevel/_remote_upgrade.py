"""Upgrading an installation on a remote host, all or nothing (Linux over SSH, Windows over
WinRM or OpenSSH: the host side is a :class:`._remote_ops.RemoteInstall`).

The same refusals and checks as :func:`._upgrade.upgrade` (the services check given: on
Linux the pid-file convention or a command run on the host, on Windows the named services;
customizations that would break unless forced); then the files of levels current+1..N and
the customizations to re-apply (plus, on Linux, the new state file) are uploaded to
``<install>/.orchestrator/staging-<id>/<k>`` and ONE host-side script applies them and
records the level (:mod:`._remote_script` in sh, :mod:`._windows_ps` in PowerShell, which
writes the registry), rolling back on any failure.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from ..errors import InputError
from ._archive import CustomPackage, PatchPackage
from ._facts import FileFact
from ._log import LOG_NAME
from ._remote_ops import LOCK_FILE, Op, RemoteInstall, Undo, UndoPlan
from ._remote_recover import ListLog, interrupted_now, recover
from ._remote_script import folders_of
from ._state import STATE_DIR, STATE_FILE, InstallState, ServicesCheck, check_state, now_iso
from ._upgrade import LevelStats, UpgradeFailed, UpgradeRefused, UpgradeResult, _preflight


@dataclass(frozen=True)
class Staged:
    """One op and where its content comes from (None: a removal)."""

    op: Op
    open: tuple[str, int] | bytes | None
    sha256: str = ""
    size: int = 0


def _plan(
    pkg: PatchPackage,
    custom: CustomPackage | None,
    start: int,
    to: int,
    facts: dict[str, FileFact | None],
    result: UpgradeResult,
    state: InstallState | None,
) -> list[Staged]:
    """The net effect of levels start+1..to and the customizations, as the local upgrade;
    with ``state``, its state file as the last op."""
    m = pkg.manifest
    skip = {p for p in m.state(start) if facts.get(p) is None}
    net: dict[str, Staged] = {}
    for delta in m.levels[start + 1 : to + 1]:
        stats = LevelStats(delta.level)
        for rec in delta.files:
            if rec.path in skip:
                stats.skipped.append(rec.path)
                continue
            what = f"({rec.size} bytes, {rec.sha256})"
            op = Op("write", rec.path, delta.level, what, rec.timestamp)
            net[rec.path] = Staged(op, ("std", delta.level), rec.sha256, rec.size)
        for path in delta.removed:
            if path not in skip:
                net[path] = Staged(Op("remove", path, delta.level), None)
        result.levels.append(stats)
    if custom is not None:
        touched = m.touched(start, to)
        for path in sorted(custom.manifest.files):
            cv = custom.manifest.available(path, to, m)
            fact = facts.get(path)
            if cv is None or path in skip:
                continue
            if path not in touched and fact and (fact.sha256, fact.size) == (cv.sha256, cv.size):
                continue
            what = f"(customization made for level {cv.level})"
            op = Op("write", path, cv.level, what, cv.timestamp)
            net[path] = Staged(op, ("custom", cv.level), cv.sha256, cv.size)
            result.customizations.append((path, cv.level))
    if state is None:
        return list(net.values())
    data = (json.dumps(state.to_json(), indent=2) + "\n").encode()
    stamp = int(datetime.now(UTC).timestamp())
    state_op = Op("write", f"{STATE_DIR}/{STATE_FILE}", to, f"(patch level {to})", stamp)
    return [*net.values(), Staged(state_op, data, hashlib.sha256(data).hexdigest(), len(data))]


def _extract(pkg: PatchPackage, custom: CustomPackage | None, item: Staged, target: Path) -> None:
    """Write one op's content to ``target``, checked against the manifest."""
    if isinstance(item.open, bytes):
        target.write_bytes(item.open)
        return
    assert item.open is not None
    kind, level = item.open
    src: IO[bytes]
    if kind == "std":
        src = pkg.open_file(level, item.op.path)
    else:
        assert custom is not None
        src = custom.open_file(level, item.op.path)
    digest = hashlib.sha256()
    with src, open(target, "wb") as out:
        while chunk := src.read(1 << 20):
            digest.update(chunk)
            out.write(chunk)
    if digest.hexdigest() != item.sha256 or target.stat().st_size != item.size:
        raise InputError(f"{item.op.path}: the package's content does not match its manifest")


def remote_upgrade(
    pkg: PatchPackage,
    source: RemoteInstall,
    to: int,
    *,
    custom: CustomPackage | None = None,
    force: bool = False,
    services: ServicesCheck,
) -> UpgradeResult:
    """Upgrade the installation ``source.install`` on ``source.host`` to level ``to``.

    Raises :class:`UpgradeRefused` (nothing changed), :class:`UpgradeFailed` (rolled back),
    :class:`InputError`, or the transport's errors."""
    m = pkg.manifest
    held = source.lock()
    if held is not None and held.alive:
        raise UpgradeRefused(
            f"{source.host}: another upgrade ({held.ident}, pid {held.pid}) is running there; "
            f"nothing was changed (if that process is not an upgrade, remove "
            f"{source.join(STATE_DIR, LOCK_FILE)})"
        )
    log = ListLog()
    log.write(
        f"patch upgrade: package {pkg.path.name} ({m.product} {m.release}.{m.build}, levels "
        f"0..{m.level}), customization package {custom.path.name if custom else '(none)'}, "
        f"install {source.where}"
    )
    try:
        recovered = recover(source, held, services, log) if held is not None else None
        recorded, _ = check_state(source.state(), m, source.state_where)
        start = recorded or 0
        if not 0 <= to <= m.level:
            raise InputError(f"--to {to}: the package has patch levels 0..{m.level}")
        if to < start:
            raise InputError(f"--to {to}: the installation is at level {start}; no downgrade")
        logfile = source.join(LOG_NAME)
        result = UpgradeResult(start, to, recorded is None, log=Path(logfile))
        if recovered is not None:
            result.recovered.append(Path(recovered))
        if to == start:
            log.write(f"already at patch level {to}: nothing to do")
            source.append_log(log.lines)
            return result
        running = services.running()
        if running:
            log.write("refused: the product's services are running: " + "; ".join(running))
            raise UpgradeRefused(
                f"{source.host}: the product's services are running (" + "; ".join(running)
                + "): stop them first; nothing was changed"
            )  # fmt: skip
        how = "assumed: no level recorded" if recorded is None else "recorded"
        log.write(f"current patch level {start} ({how}); target level {to}")
        facts, result.check, result.compat, result.forced = _preflight(
            pkg, Path(source.install), to, recorded, custom, force, log, source, logfile
        )
    except BaseException:
        with contextlib.suppress(Exception):  # the error that stopped us matters more
            source.append_log(log.lines)
        raise
    ident = f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{os.getpid()}-level-{start}-to-{to}"
    staging = source.join(STATE_DIR, f"staging-{ident}")
    backup = source.join(STATE_DIR, "backups", ident)
    state = InstallState(m.product, m.release, m.build, to, now_iso(), pkg.path.name)
    items = _plan(pkg, custom, start, to, facts, result, state if source.state_file else None)
    ops = [i.op for i in items]
    undo = [Undo(k, op.kind, op.path, _existed(op, facts, recorded)) for k, op in enumerate(ops)]
    plan = UndoPlan(ident, start, to, undo, folders_of(ops), source.registry_before)
    result.backup = Path(backup)
    _stage(pkg, custom, source, ident, items, plan.to_json())
    done = source.run_upgrade(staging, backup, ops, log.lines, start, state, ident)
    if done.exit_code not in (0, 1, 2):  # 3: a lock at start; else killed (124, 137...)
        interrupted_now(source, ident, services, start, to, done.why)
    if done.exit_code != 0:
        if done.exit_code == 1:
            raise UpgradeFailed(
                f"{source.host}: upgrade to level {to} failed ({done.why}); rolled back to "
                f"patch level {start}; details in {logfile} on the host"
            )
        raise UpgradeFailed(f"{source.host}: upgrade to level {to} failed: {done.why}")
    _count(result, items, done.done)
    tail = [f"recorded patch level {to} (version {m.release}.{m.build}.{to})"]
    tail.append(f"upgrade to patch level {to} done")
    source.append_log([f"{now_iso()} {line}" for line in tail])
    return result


def _existed(op: Op, facts: dict[str, FileFact | None], recorded: int | None) -> bool:
    """Whether the op's file was there before the upgrade (the state file: a level was)."""
    if op.path == f"{STATE_DIR}/{STATE_FILE}":
        return recorded is not None
    return facts.get(op.path) is not None


def _stage(
    pkg: PatchPackage,
    custom: CustomPackage | None,
    source: RemoteInstall,
    ident: str,
    items: list[Staged],
    plan: str,
) -> None:
    """Upload ``plan`` as ``backups/<ident>/plan.json`` and every op's content to
    ``staging-<ident>/<k>`` (SFTP, or WinRM file steps)."""
    staging, backup = f"staging-{ident}", ("backups", ident)
    source.make_dir(source.join(STATE_DIR, staging))
    source.make_dir(source.join(STATE_DIR, *backup))
    local = Path(tempfile.mkdtemp(prefix="orch-patch-stage-"))
    try:
        (local / "plan.json").write_text(plan, encoding="utf-8")
        source.transport.put(local / "plan.json", source.join(STATE_DIR, *backup, "plan.json"))
        for k, item in enumerate(items):
            if item.op.kind == "write":
                _extract(pkg, custom, item, local / str(k))
                source.transport.put(local / str(k), source.join(STATE_DIR, staging, str(k)))
    finally:
        shutil.rmtree(local, ignore_errors=True)


def _count(result: UpgradeResult, items: list[Staged], done: list[str]) -> None:
    """Per-level counts from the host's ``R k`` / ``A k`` / ``X k`` lines."""
    stats = {s.level: s for s in result.levels}
    for line in done:
        tag, _, k = line.partition(" ")
        if not k.isdigit() or int(k) >= len(items):
            continue
        item = items[int(k)]
        level = stats.get(item.op.level)
        if level is None or not isinstance(item.open, tuple) or item.open[0] != "std":
            continue
        if tag == "R":
            level.replaced += 1
        elif tag == "A":
            level.added += 1
        elif tag == "X":
            level.removed += 1
