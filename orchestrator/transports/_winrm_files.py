"""File copies over WinRM, as ordinary steps of the interpreter (there is no file channel).

``put``: the file goes in chunks of :data:`CHUNK` bytes, each one step that appends the
decoded chunk to ``<remote>.orchpart``; a last step checks size and SHA-256 and moves the
part over ``remote``. ``get``: one step reads size and SHA-256, then one step per chunk
prints it as base64; the local file is written to a temporary name, checked, and renamed.

Trade-off: every byte is base64-encoded twice on the way (in the script or the output, then
in the frame) and once more in the SOAP envelope, about 2.4 times its size on the wire, and a
chunk costs a step (about 2 HTTP requests per :data:`CHUNK`, plus the Sends its size needs).
That is a few MB/s on a LAN: right for scripts, hotfixes and logs of tens of MB, wrong for
ISOs and service packs, which should come from a share the host reads itself. Remote paths
should be absolute (.NET resolves relative ones against the process's directory).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from ..errors import FatalError, TransientError
from ._protocol import Result

#: Raw bytes per put/get step.
CHUNK = 512 * 1024

Runner = Callable[[str], Result]


def _q(value: str) -> str:
    try:
        from ._quote import ps_quote
    except ImportError:  # pragma: no cover - _quote ships with the package
        quotes = "'\u2018\u2019\u201a\u201b"
        return "'" + "".join(c + c if c in quotes else c for c in value) + "'"
    return ps_quote(value)


_HASH = (
    "$s = [IO.File]::OpenRead($p)\n"
    "try { $x = (New-Object Security.Cryptography.SHA256Managed).ComputeHash($s); "
    "$l = $s.Length } finally { $s.Dispose() }\n"
    "$hex = -join ($x | ForEach-Object { $_.ToString('x2') })\n"
)


def put_chunk_script(part: str, data: bytes, *, first: bool) -> str:
    """Append (or, ``first``, create) ``part`` with ``data``."""
    return (
        "# orch:put-chunk\n$ErrorActionPreference = 'Stop'\n"
        f"$p = {_q(part)}\n$m = {_q('Create' if first else 'Append')}\n"
        f"$d = '{base64.b64encode(data).decode()}'\n"
        "$b = [Convert]::FromBase64String($d)\n"
        "$f = New-Object IO.FileStream -ArgumentList $p, ([IO.FileMode]$m), "
        "([IO.FileAccess]::Write)\n"
        "try { $f.Write($b, 0, $b.Length) } finally { $f.Dispose() }\n"
    )


def put_commit_script(part: str, target: str, size: int, sha256: str) -> str:
    """Check ``part`` and move it over ``target``; prints ``<size> <sha256>``."""
    return (
        "# orch:put-commit\n$ErrorActionPreference = 'Stop'\n"
        f"$p = {_q(part)}\n$t = {_q(target)}\n$n = {size}\n$h = {_q(sha256)}\n"
        + _HASH
        + "if ($l -ne $n -or $hex -ne $h) { [IO.File]::Delete($p); "
        'throw ("upload damaged: got {0} bytes, sha256 {1}" -f $l, $hex) }\n'
        "if ([IO.File]::Exists($t)) { [IO.File]::Delete($t) }\n"
        "[IO.File]::Move($p, $t)\n"
        "Write-Output ('{0} {1}' -f $l, $hex)\n"
    )


def get_stat_script(path: str) -> str:
    """Print ``<size> <sha256>`` of ``path``."""
    return (
        f"# orch:get-stat\n$ErrorActionPreference = 'Stop'\n$p = {_q(path)}\n"
        + _HASH
        + "Write-Output ('{0} {1}' -f $l, $hex)\n"
    )


def get_chunk_script(path: str, offset: int, count: int) -> str:
    """Print the base64 of ``count`` bytes of ``path`` from ``offset``, in 76-character
    lines (no output formatting can wrap or cut them)."""
    return (
        f"# orch:get-chunk\n$ErrorActionPreference = 'Stop'\n$p = {_q(path)}\n"
        f"$o = {offset}\n$n = {count}\n"
        "$s = [IO.File]::OpenRead($p)\n"
        "try {\n  [void]$s.Seek($o, [IO.SeekOrigin]::Begin)\n  $b = New-Object byte[] $n\n"
        "  $r = 0\n  while ($r -lt $n) { $k = $s.Read($b, $r, $n - $r); "
        "if ($k -le 0) { break }; $r += $k }\n} finally { $s.Dispose() }\n"
        "[Convert]::ToBase64String($b, 0, $r, [Base64FormattingOptions]::InsertLineBreaks)\n"
    )


def _checked(host: str, what: str, result: Result) -> str:
    if result.exit_code != 0:
        raise FatalError(
            f"{host}: {what} failed (exit {result.exit_code}): {result.stderr.strip()[:500]}",
            exit_code=result.exit_code,
            output=result.stderr[-2000:],
        )
    return result.stdout.strip()


def put(host: str, run: Runner, local: Path, remote: str) -> None:
    """Copy ``local`` to ``remote`` through ``run`` (one step per chunk, then a commit)."""
    if not local.is_file():
        raise FatalError(f"{host}: local file {local} not found")
    part = remote + ".orchpart"
    digest = hashlib.sha256()
    size = 0
    with local.open("rb") as f:
        first = True
        while True:
            chunk = f.read(CHUNK)
            if not chunk and not first:
                break
            digest.update(chunk)
            _checked(host, f"writing {part}", run(put_chunk_script(part, chunk, first=first)))
            size, first = size + len(chunk), False
            if len(chunk) < CHUNK:
                break
    _checked(
        host, f"writing {remote}", run(put_commit_script(part, remote, size, digest.hexdigest()))
    )


def get(host: str, run: Runner, remote: str, local: Path) -> None:
    """Copy ``remote`` to ``local`` through ``run``; the local file appears only complete."""
    fields = _checked(host, f"reading {remote}", run(get_stat_script(remote))).split()
    try:
        size, expected = int(fields[-2]), fields[-1]
    except (IndexError, ValueError):
        raise TransientError(f"{host}: unexpected answer reading {remote}: {fields!r}") from None
    tmp = local.with_name(f".{local.name}.orchpart")
    digest = hashlib.sha256()
    try:
        with tmp.open("wb") as f:
            for offset in range(0, size, CHUNK):
                text = _checked(
                    host, f"reading {remote}", run(get_chunk_script(remote, offset, CHUNK))
                )
                try:
                    data = base64.b64decode("".join(text.split()), validate=True)
                except (binascii.Error, ValueError):
                    raise TransientError(f"{host}: damaged chunk reading {remote}") from None
                digest.update(data)
                f.write(data)
        if digest.hexdigest() != expected or tmp.stat().st_size != size:
            raise TransientError(f"{host}: {remote} changed or was damaged while copying it")
        os.replace(tmp, local)
    finally:
        tmp.unlink(missing_ok=True)
