"""The file system of the emulated machine: Windows paths on a real directory
(``C:\\Dir\\f`` is ``<root>/C/Dir/f``) and the .NET file operations, each failing with the
exception and message .NET Framework gives.

Limitations: names keep their exact case (NTFS is case-insensitive); relative and UNC paths
are refused (a catchable error), and so are names ending in a dot or a space (Windows would
strip them)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from .dates import FILETIME_EPOCH_TICKS, DateTime
from .errors import NetError, Unsupported

_DRIVE = re.compile(r"^([A-Za-z]):([\\/].*)?$", re.S)
_ILLEGAL = set('"<>|*?') | {chr(i) for i in range(32)}
IO = "System.IO.IOException"
DENIED = "System.UnauthorizedAccessException"
NOT_FOUND = "System.IO.FileNotFoundException"
NO_DIR = "System.IO.DirectoryNotFoundException"


class FileSystem:
    """Paths and file operations (a mixin of :class:`~.host.WindowsHost`)."""

    root: Path
    _locked: set[str]
    #: Open handles (FileShare.None) of the interpreter process: id -> canonical path.
    _handles: dict[int, str]

    def hit(self, method: str, win: str, qualified: str = "") -> None:  # pragma: no cover
        raise NotImplementedError

    def _split(self, win: str) -> tuple[str, list[str]]:
        if win == "" or win.strip() == "":
            raise NetError("System.ArgumentException", "The path is not of a legal form.")
        if win.startswith(("\\\\", "//")):
            raise NetError(
                "System.NotSupportedException", f"psmini: UNC paths are not emulated: '{win}'"
            )
        m = _DRIVE.match(win)
        if m is None or m.group(2) is None:
            raise NetError(
                "System.NotSupportedException", f"psmini: relative paths are not emulated: '{win}'"
            )
        if any(c in _ILLEGAL for c in win):
            raise NetError("System.ArgumentException", "Illegal characters in path.")
        names: list[str] = []
        for name in re.split(r"[\\/]+", m.group(2)):
            if name in ("", "."):
                continue
            if name == "..":
                if names:
                    names.pop()
                continue
            if ":" in name:
                raise NetError(
                    "System.NotSupportedException", "The given path's format is not supported."
                )
            if name.endswith((".", " ")):
                raise Unsupported(f"a path name ending in a dot or space: {win!r}")
            names.append(name)
        return m.group(1).upper(), names

    def canonical(self, win: str) -> str:
        """The full path as .NET shows it (``C:\\a\\b``)."""
        drive, names = self._split(win)
        return f"{drive}:\\" + "\\".join(names)

    def path(self, win: str) -> Path:
        """The real file behind a Windows path."""
        drive, names = self._split(win)
        return self.root.joinpath(drive, *names)

    # -- bookkeeping -------------------------------------------------------------------------
    def check_lock(self, win: str, with_path: bool = True) -> None:
        """Fail as Windows does when the file is held open (by another process, or by a
        handle of this one that shares nothing)."""
        canon = self.canonical(win)
        if canon in self._locked or canon in self._handles.values():
            where = f"the file '{canon}'" if with_path else "the file"
            raise NetError(
                IO,
                f"The process cannot access {where} because it is being used by another process.",
            )

    def missing(self, win: str) -> NetError:
        """The error for a file that is not there (or whose folder is not)."""
        p, canon = self.path(win), self.canonical(win)
        if not p.parent.is_dir():
            return NetError(NO_DIR, f"Could not find a part of the path '{canon}'.")
        return NetError(NOT_FOUND, f"Could not find file '{canon}'.")

    # -- files -------------------------------------------------------------------------------
    def exists(self, win: str, directory: bool) -> bool:
        """File.Exists / Directory.Exists (an invalid path is simply not there)."""
        self.hit("Exists", win, ("Directory" if directory else "File") + ".Exists")
        try:
            p = self.path(win)
        except NetError as exc:
            if exc.message.startswith("psmini:"):
                raise
            return False
        return p.is_dir() if directory else p.is_file()

    def read_bytes(self, win: str, method: str) -> bytes:
        """The content of a file (opened for reading by ``method``)."""
        self.hit(method, win)
        return self.read(win)

    def read(self, win: str) -> bytes:
        """The content of a file, without recording a call."""
        p = self.path(win)
        self.check_lock(win)
        if p.is_dir():
            raise NetError(DENIED, f"Access to the path '{self.canonical(win)}' is denied.")
        if not p.is_file():
            raise self.missing(win)
        return p.read_bytes()

    def write_bytes(self, win: str, data: bytes, append: bool, method: str) -> None:
        """Create (or append to) a file."""
        self.hit(method, win)
        p = self.path(win)
        if not p.parent.is_dir():
            raise NetError(NO_DIR, f"Could not find a part of the path '{self.canonical(win)}'.")
        if p.is_dir():
            raise NetError(DENIED, f"Access to the path '{self.canonical(win)}' is denied.")
        self.check_lock(win)
        with p.open("ab" if append else "wb") as f:
            f.write(data)

    def file_length(self, win: str) -> int:
        """FileInfo.Length."""
        p = self.path(win)
        if not p.is_file():
            if p.parent.is_dir() or p.is_dir():
                raise NetError(NOT_FOUND, f"Could not find file '{self.canonical(win)}'.")
            raise self.missing(win)
        return p.stat().st_size

    def mtime(self, win: str, method: str = "GetLastWriteTimeUtc") -> DateTime:
        """GetLastWriteTimeUtc: 1601-01-01 when the path does not exist (as .NET)."""
        self.hit(method, win)
        p = self.path(win)
        if not p.exists():
            return DateTime(FILETIME_EPOCH_TICKS, "Utc")
        return DateTime.from_unix_ns(p.stat().st_mtime_ns, "Utc")

    def set_mtime(self, win: str, when: DateTime, directory: bool) -> None:
        """SetLastWriteTimeUtc (File or Directory)."""
        self.hit(
            "SetLastWriteTimeUtc",
            win,
            ("Directory" if directory else "File") + ".SetLastWriteTimeUtc",
        )
        p = self.path(win)
        if when.ticks < FILETIME_EPOCH_TICKS:
            raise NetError(
                "System.ArgumentOutOfRangeException",
                "Not a valid Win32 FileTime.\r\nParameter name: fileTime",
            )
        if not p.exists():
            raise self.missing(win)
        if p.is_dir() and not directory:
            raise NetError(DENIED, f"Access to the path '{self.canonical(win)}' is denied.")
        self.check_lock(win)
        os.utime(p, ns=(p.stat().st_atime_ns, when.unix_ns()))

    def copy(self, src: str, dst: str, overwrite: bool) -> None:
        """File.Copy: keeps the source's last write time (like CopyFile)."""
        self.hit("Copy", src, "File.Copy")
        s, d = self.path(src), self.path(dst)
        self.check_lock(src)
        if s.is_dir():
            raise NetError(DENIED, f"Access to the path '{self.canonical(src)}' is denied.")
        if not s.is_file():
            raise self.missing(src)
        if d.is_dir():
            raise NetError(
                IO, f"The target file '{self.canonical(dst)}' is a directory, not a file."
            )
        if not d.parent.is_dir():
            raise NetError(NO_DIR, f"Could not find a part of the path '{self.canonical(dst)}'.")
        if d.exists() and not overwrite:
            raise NetError(IO, f"The file '{self.canonical(dst)}' already exists.")
        self.check_lock(dst)
        shutil.copyfile(s, d)
        st = s.stat()
        os.utime(d, ns=(st.st_atime_ns, st.st_mtime_ns))

    def delete(self, win: str) -> None:
        """File.Delete: nothing to do when the file is missing, an error when its folder is."""
        self.hit("Delete", win, "File.Delete")
        p = self.path(win)
        if not p.parent.is_dir():
            raise NetError(NO_DIR, f"Could not find a part of the path '{self.canonical(win)}'.")
        if p.is_dir():
            raise NetError(DENIED, f"Access to the path '{self.canonical(win)}' is denied.")
        if p.exists():
            self.check_lock(win)
            p.unlink()

    def move(self, src: str, dst: str) -> None:
        """File.Move: the destination must not exist."""
        self.hit("Move", src, "File.Move")
        s, d = self.path(src), self.path(dst)
        if not s.is_file():
            raise NetError(NOT_FOUND, f"Could not find file '{self.canonical(src)}'.")
        if d.exists():
            raise NetError(IO, "Cannot create a file when that file already exists.")
        if not d.parent.is_dir():
            raise NetError(NO_DIR, "Could not find a part of the path.")
        self.check_lock(src, with_path=False)
        os.rename(s, d)

    def replace(self, src: str, dst: str, backup: str | None) -> None:
        """File.Replace: ``src`` takes the place of ``dst`` (which must exist); ``backup`` ''
        is not a legal path (.NET calls GetFullPath on it unless it is null)."""
        for name in (src, dst, backup):
            if name is not None and name.strip() == "":
                raise NetError("System.ArgumentException", "The path is not of a legal form.")
        self.hit("Replace", src, "File.Replace")
        s, d = self.path(src), self.path(dst)
        if s.is_dir() or d.is_dir():
            raise NetError(DENIED, "Access to the path is denied.")
        if not s.is_file() or not d.is_file():
            raise NetError(NOT_FOUND, "Unable to find the specified file.")
        self.check_lock(src, with_path=False)
        self.check_lock(dst, with_path=False)
        if backup is not None:
            os.replace(d, self.path(backup))
        os.replace(s, d)

    # -- folders -----------------------------------------------------------------------------
    def create_dir(self, win: str) -> None:
        """Directory.CreateDirectory (parents too)."""
        self.hit("CreateDirectory", win, "Directory.CreateDirectory")
        drive, names = self._split(win)
        p = self.root / drive
        for i, name in enumerate(names):
            p = p / name
            if p.exists() and not p.is_dir():
                shown = f"{drive}:\\" + "\\".join(names[: i + 1])
                raise NetError(
                    IO,
                    f'Cannot create "{shown}" because a file or directory with the same name '
                    "already exists.",
                )
        p.mkdir(parents=True, exist_ok=True)

    def delete_dir(self, win: str, recursive: bool) -> None:
        """Directory.Delete."""
        self.hit("Delete", win, "Directory.Delete")
        p = self.path(win)
        if not p.exists():
            raise NetError(NO_DIR, f"Could not find a part of the path '{self.canonical(win)}'.")
        if not p.is_dir():
            raise NetError(IO, "The directory name is invalid.")
        if not recursive and any(p.iterdir()):
            raise NetError(IO, "The directory is not empty.")
        self.remove_tree(p)

    def remove_tree(self, p: Path) -> None:
        """Delete a folder and its content (failing on a locked file)."""
        for q in sorted(p.rglob("*")):
            if q.is_file():
                rel = q.relative_to(self.root)
                self.check_lock(f"{rel.parts[0]}:\\" + "\\".join(rel.parts[1:]))
        shutil.rmtree(p)
