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


class FileFacts(TypedDict, total=False):
    """What :meth:`SSHTransport.file_facts` reports for one regular file (``error`` set, and
    the other fields empty, for a file that exists but cannot be read)."""

    sha256: str
    size: int
    mtime: int
    error: str


def facts_script(paths: list[str]) -> str:
    """The one script that reports on every path. It prints the indexes of the readable
    regular files on one line, those of the regular files it cannot read on the next, then
    one ``size mtime`` line per readable file, then one ``sha256sum`` line per readable
    file."""
    quoted = " ".join(sh_quote(p) for p in paths)
    return (
        "set --\ni=0\nu=\n"
        f"for p in {quoted}; do\n"
        '  if [ -f "$p" ]; then\n'
        '    if [ -r "$p" ]; then set -- "$@" "$p"; printf "%s " "$i"; else u="$u $i"; fi\n'
        "  fi\n"
        '  i=$((i + 1))\ndone\necho\necho "$u"\n'
        "[ $# -eq 0 ] && exit 0\n"
        "stat -L -c '%s %Y' -- \"$@\" || exit 3\n"
        'sha256sum -- "$@" || exit 3\n'
    )


def parse_facts(paths: list[str], stdout: str) -> dict[str, FileFacts | None]:
    """What :func:`facts_script` printed, per path."""
    lines = stdout.split("\n")
    if len(lines) < 2:
        raise TransientError("file facts: a short answer")
    found = [int(i) for i in lines[0].split()]
    n = len(found)
    stats, sums = lines[2 : 2 + n], lines[2 + n : 2 + 2 * n]
    if len(sums) != n:
        raise TransientError(f"file facts: expected {n} files, got a short answer")
    out: dict[str, FileFacts | None] = dict.fromkeys(paths)
    for word in lines[1].split():
        out[paths[int(word)]] = FileFacts(error="permission denied")
    for index, stat, digest in zip(found, stats, sums, strict=True):
        size, mtime = stat.split()
        out[paths[index]] = FileFacts(
            sha256=digest.lstrip("\\")[:64], size=int(size), mtime=int(mtime)
        )
    return out
