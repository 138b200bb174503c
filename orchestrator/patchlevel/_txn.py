"""An all-or-nothing change to an installation's files.

Every change goes through :class:`Transaction`: before a path is first touched its current
content is copied (mode and times kept) into the upgrade's backup directory and a line is
appended to the journal (fsync'ed); then the new content is written to a temporary file in the
same directory, fsync'ed, given its timestamp and renamed over the target (``os.replace``).
Directories are journaled too (their times before the first change, and the ones created), so
:meth:`Transaction.rollback` puts back a byte-identical tree, file and directory modification
times included. The journal is replayed the same way after a crash (:func:`recover`).

Layout: ``<install>/.orchestrator/backups/<id>/{upgrade.json, journal.jsonl, files/...}``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import IO, Any

from ._state import STATE_DIR

BACKUPS = "backups"
META = "upgrade.json"
JOURNAL = "journal.jsonl"
TMP = ".orchestrator-tmp"
RESTORE = ".orchestrator-restore"


class PayloadError(Exception):
    """A package file's content does not match its manifest entry."""


def backups_dir(install: Path) -> Path:
    """Where upgrades keep what they replaced."""
    return install / STATE_DIR / BACKUPS


def _native(root: Path, rel: str) -> Path:
    return root.joinpath(*rel.split("/")) if rel else root


def _sibling(target: Path, suffix: str) -> Path:
    return target.with_name(f".{target.name}{suffix}")


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_meta(directory: Path, meta: dict[str, Any]) -> None:
    tmp = directory / f".{META}.tmp"
    tmp.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    _fsync_file(tmp)
    os.replace(tmp, directory / META)


def read_meta(directory: Path) -> dict[str, Any]:
    """An upgrade's metadata (status ``in-progress``, ``done`` or ``rolled-back``)."""
    try:
        doc = json.loads((directory / META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def pending(install: Path) -> list[Path]:
    """Backup directories of upgrades that were interrupted (neither done nor rolled back)."""
    root = backups_dir(install)
    if not root.is_dir():
        return []
    return sorted(
        d for d in root.iterdir() if d.is_dir() and read_meta(d).get("status") == "in-progress"
    )


class Transaction:
    """Journaled file changes under ``install``, undone by :meth:`rollback`."""

    def __init__(self, install: Path, ident: str, meta: dict[str, Any]) -> None:
        self.root = install
        self.dir = backups_dir(install) / ident
        self.meta = dict(meta, status="in-progress")
        self._files: set[str] = set()
        self._dirs: set[str] = set()
        self._journal: IO[str] | None = None

    def begin(self) -> None:
        """Create the backup directory and the journal."""
        (self.dir / "files").mkdir(parents=True)
        _write_meta(self.dir, self.meta)
        self._journal = open(self.dir / JOURNAL, "a", encoding="utf-8")  # noqa: SIM115
        _fsync_dir(self.dir)

    def _log(self, entry: dict[str, Any]) -> None:
        assert self._journal is not None, "begin() first"
        self._journal.write(json.dumps(entry) + "\n")
        self._journal.flush()
        os.fsync(self._journal.fileno())

    def _touch_dir(self, rel: str) -> None:
        """Journal ``rel``'s times (or its creation) before anything inside it changes."""
        if rel in self._dirs:
            return
        parent = rel.rpartition("/")[0]
        path = _native(self.root, rel)
        if path.is_dir():
            st = path.stat()
            self._log({"op": "dir", "path": rel, "times": [st.st_atime_ns, st.st_mtime_ns]})
        else:
            self._touch_dir(parent)
            self._log({"op": "mkdir", "path": rel})
            path.mkdir()
        self._dirs.add(rel)

    def _prepare(self, rel: str) -> Path:
        target = _native(self.root, rel)
        if rel in self._files:
            return target
        self._touch_dir(rel.rpartition("/")[0])
        existed = target.is_file()
        if existed:
            backup = _native(self.dir / "files", rel)
            backup.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(target, backup)
            _fsync_file(backup)
        self._log({"op": "file", "path": rel, "existed": existed})
        self._files.add(rel)
        return target

    def write(self, rel: str, src: IO[bytes], sha256: str, size: int, mtime: int) -> None:
        """Replace ``rel`` with ``src`` (checked against ``sha256``/``size``), atomically."""
        target = self._prepare(rel)
        mode = target.stat().st_mode & 0o7777 if target.is_file() else None
        tmp = _sibling(target, TMP)
        digest = hashlib.sha256()
        written = 0
        try:
            with open(tmp, "wb") as out:
                while chunk := src.read(1 << 20):
                    digest.update(chunk)
                    written += len(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if digest.hexdigest() != sha256 or written != size:
                raise PayloadError(f"{rel}: the package's content does not match its manifest")
            if mode is not None:
                os.chmod(tmp, mode)
            os.utime(tmp, (mtime, mtime))
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def remove(self, rel: str) -> None:
        """Delete ``rel`` (kept in the backup)."""
        self._prepare(rel).unlink(missing_ok=True)

    def commit(self) -> None:
        """Make the changes durable and mark the upgrade done."""
        for rel in sorted(self._dirs):
            path = _native(self.root, rel)
            if path.is_dir():
                _fsync_dir(path)
        self._close("done")

    def rollback(self) -> int:
        """Undo every journaled change; returns the number of files put back."""
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        return recover(self.root, self.dir)

    def _close(self, status: str) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        self.meta["status"] = status
        _write_meta(self.dir, self.meta)


def _entries(directory: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    try:
        lines = (directory / JOURNAL).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return out
    for line in lines:
        try:
            out.append(json.loads(line))
        except ValueError:
            break  # a line cut by a crash: nothing after it was done
    return out


def recover(install: Path, directory: Path) -> int:
    """Replay a backup directory's journal backwards: the tree as it was before the upgrade.
    Idempotent (a rollback interrupted by a crash can run again)."""
    restored = 0
    if not directory.is_dir():
        return restored  # the upgrade failed before its first change
    for entry in reversed(_entries(directory)):
        rel = str(entry["path"])
        path = _native(install, rel)
        if entry["op"] == "file":
            _sibling(path, TMP).unlink(missing_ok=True)
            if entry["existed"]:
                tmp = _sibling(path, RESTORE)
                shutil.copy2(_native(directory / "files", rel), tmp)
                os.replace(tmp, path)
                restored += 1
            else:
                path.unlink(missing_ok=True)
        elif entry["op"] == "mkdir":
            if path.is_dir():
                path.rmdir()
        elif entry["op"] == "dir" and path.is_dir():
            atime, mtime = entry["times"]
            os.utime(path, ns=(int(atime), int(mtime)))
    meta = read_meta(directory)
    meta["status"] = "rolled-back"
    _write_meta(directory, meta)
    return restored
