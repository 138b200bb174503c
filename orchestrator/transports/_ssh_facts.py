"""File facts (SHA-256, size, mtime) of many remote files in one sh script, one round trip.

The script tests each path with shell builtins, then runs ``stat`` and ``sha256sum`` once
each over all readable regular files, so its cost barely grows with the number of paths.
Paths are quoted with :func:`._quote.sh_quote`; names with spaces, quotes or newlines are fine
with GNU coreutils (``sha256sum`` escapes such names, and names are never parsed: answers are
matched by position)."""

from __future__ import annotations

from typing import TypedDict

from ..errors import TransientError
from ._quote import sh_quote


class FileFacts(TypedDict):
    """What :meth:`SSHTransport.file_facts` reports for one regular file."""

    sha256: str
    size: int
    mtime: int


def facts_script(paths: list[str]) -> str:
    """The one script that reports on every path. It prints the indexes of the readable
    regular files on one line, then one ``size mtime`` line per such file, then one
    ``sha256sum`` line per such file."""
    quoted = " ".join(sh_quote(p) for p in paths)
    return (
        "set --\ni=0\n"
        f"for p in {quoted}; do\n"
        '  if [ -f "$p" ] && [ -r "$p" ]; then set -- "$@" "$p"; printf "%s " "$i"; fi\n'
        "  i=$((i + 1))\ndone\necho\n"
        "[ $# -eq 0 ] && exit 0\n"
        "stat -L -c '%s %Y' -- \"$@\" || exit 3\n"
        'sha256sum -- "$@" || exit 3\n'
    )


def parse_facts(paths: list[str], stdout: str) -> dict[str, FileFacts | None]:
    """What :func:`facts_script` printed, per path."""
    lines = stdout.split("\n")
    found = [int(i) for i in lines[0].split()]
    n = len(found)
    stats, sums = lines[1 : 1 + n], lines[1 + n : 1 + 2 * n]
    if len(sums) != n:
        raise TransientError(f"file facts: expected {n} files, got a short answer")
    out: dict[str, FileFacts | None] = dict.fromkeys(paths)
    for index, stat, digest in zip(found, stats, sums, strict=True):
        size, mtime = stat.split()
        out[paths[index]] = FileFacts(
            sha256=digest.lstrip("\\")[:64], size=int(size), mtime=int(mtime)
        )
    return out
