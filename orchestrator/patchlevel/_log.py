"""``install.log``: an append-only, timestamped record of what an upgrade did (and of every
refusal, with its reasons), the file an operator sends to the customization service."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

from ._state import now_iso

LOG_NAME = "install.log"


class InstallLog:
    """Appends ``<ISO UTC time> <message>`` lines to a log file, flushed line by line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed by close()

    def write(self, message: str) -> None:
        """Append one message (each of its lines gets the timestamp)."""
        stamp = now_iso()
        for line in message.splitlines() or [""]:
            self._fh.write(f"{stamp} {line}\n")
        self._fh.flush()

    def write_all(self, messages: Iterable[str]) -> None:
        """Append several messages."""
        for message in messages:
            self.write(message)

    def close(self) -> None:
        """Flush to disk and close."""
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()

    def __enter__(self) -> InstallLog:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
