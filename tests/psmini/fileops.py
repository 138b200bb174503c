"""File handles and folder listings of the emulated machine (a mixin of
:class:`~.host.WindowsHost`): ``File.Open`` and the stream it returns, ``Directory.GetFiles``
/ ``GetFileSystemEntries``, and the text decoding of ``File.ReadAllText`` / ``ReadAllLines``.

``File.Open(path, mode)`` opens with FileShare.None (ReadWrite access, Write for Append): the
file stays locked, for this process too, until the stream is closed or the process dies."""

from __future__ import annotations

import re
from typing import Any

from .errors import NetError
from .files import DENIED, IO, NO_DIR, NOT_FOUND, FileSystem
from .values import VOID, PSObject

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


def decode_text(data: bytes) -> str:
    """Bytes as StreamReader reads them: UTF-8 unless a byte order mark says otherwise;
    invalid bytes become U+FFFD."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(codec, "replace")
    return data.decode("utf-8", "replace")


def split_lines(text: str) -> list[str]:
    """``File.ReadAllLines``: lines end at CR LF, LF or CR; a final line end adds no line."""
    lines = re.split(r"\r\n|\r|\n", text)
    if lines[-1] == "":
        lines.pop()
    return lines


class FileOps(FileSystem):
    """File.Open and the folder listings."""

    _next_handle: int

    def open_file(self, win: str, mode: str) -> int:
        """``File.Open(path, mode)`` (``mode`` a FileMode name); returns the handle."""
        self.hit("Open", win, "File.Open")
        p, canon = self.path(win), self.canonical(win)
        if not p.parent.is_dir():
            raise NetError(NO_DIR, f"Could not find a part of the path '{canon}'.")
        if p.is_dir():
            raise NetError(DENIED, f"Access to the path '{canon}' is denied.")
        exists = p.is_file()
        if mode == "CreateNew" and exists:
            raise NetError(IO, f"The file '{canon}' already exists.")
        if mode in ("Open", "Truncate") and not exists:
            raise NetError(NOT_FOUND, f"Could not find file '{canon}'.")
        if exists:
            self.check_lock(win)
        if not exists or mode in ("Create", "Truncate"):
            p.write_bytes(b"")
        self._next_handle += 1
        self._handles[self._next_handle] = canon
        return self._next_handle

    def close_handle(self, handle: int) -> None:
        """Close a handle (nothing happens if its process already died)."""
        self._handles.pop(handle, None)

    def entries(self, win: str, method: str, files_only: bool) -> list[str]:
        """``Directory.GetFiles`` / ``GetFileSystemEntries``: the names in NTFS order, each
        joined to the path as given (``Path.Combine``: .NET does not normalise it)."""
        self.hit(method, win, "Directory." + method)
        p, canon = self.path(win), self.canonical(win)
        if p.is_file():
            raise NetError(IO, "The directory name is invalid.")
        if not p.is_dir():
            raise NetError(NO_DIR, f"Could not find a part of the path '{canon}'.")
        names = sorted((q.name for q in p.iterdir() if q.is_file() or not files_only), key=_ntfs)
        sep = "" if win.endswith(("\\", "/")) else "\\"
        return [win + sep + name for name in names]


def _ntfs(name: str) -> tuple[str, str]:
    return name.upper(), name


def file_stream(h: FileOps, handle: int) -> PSObject:
    """The FileStream ``File.Open`` (or ``New-Object System.IO.FileStream``) returns:
    ``Name``, ``Length``, ``Flush([bool])``, ``Write(byte[], offset, count)`` (at the stream's
    position, which starts at 0), ``Close()`` and ``Dispose()`` (closing twice is fine; a
    closed stream's Length, Flush and Write throw)."""
    canon = h._handles[handle]
    state = {"open": True, "position": 0}

    def close(args: list[Any]) -> Any:
        if args:
            raise TypeError("Close/Dispose take no arguments")
        if state["open"]:
            state["open"] = False
            h.close_handle(handle)
        return VOID

    def flush(args: list[Any]) -> Any:
        """``Flush()`` / ``Flush($true)`` (to disk): the emulated disk has no cache."""
        if len(args) > 1 or (args and not isinstance(args[0], bool)):
            raise TypeError("Flush takes no argument or one bool")
        if not state["open"]:
            raise NetError("System.ObjectDisposedException", "Cannot access a closed file.")
        return VOID

    def write(args: list[Any]) -> Any:
        if len(args) != 3 or not isinstance(args[0], list):
            raise TypeError("Write takes a byte array, an offset and a count")
        if not state["open"]:
            raise NetError("System.ObjectDisposedException", "Cannot access a closed file.")
        start, count = int(args[1]), int(args[2])
        if start < 0 or count < 0 or start + count > len(args[0]):
            raise NetError("System.ArgumentException", "Offset and length were out of bounds.")
        data = bytes(args[0][start : start + count])
        with h.path(canon).open("r+b") as f:
            f.seek(state["position"])
            f.write(data)
        state["position"] += count
        return VOID

    def length() -> int:
        if not state["open"]:
            raise NetError("System.ObjectDisposedException", "Cannot access a closed file.")
        return h.path(canon).stat().st_size

    return PSObject(
        "System.IO.FileStream",
        {"Name": canon},
        getters={"Length": length},
        methods={"Close": close, "Dispose": close, "Flush": flush, "Write": write},
        text="System.IO.FileStream",
    )
