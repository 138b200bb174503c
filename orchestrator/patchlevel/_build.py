"""Making packages: a standard package from a base tree and per-level trees, a customization
package from per-level trees of customized files. Each file is read once: hashed, scanned
for a Windows file version (PE ``VS_FIXEDFILEINFO``) and written into the zip in one pass;
the zip is written to a temporary name and renamed when complete."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import time
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from ..errors import InputError, location
from ._manifest import (
    CUSTOM_DIR,
    MANIFEST,
    RESERVED,
    CustomManifest,
    CustomVersion,
    FileRecord,
    LevelDelta,
    Manifest,
    level_dir,
)
from ._names import package_file_name

_VS_SIGNATURE = b"\xbd\x04\xef\xfe"
_PE_SUFFIXES = (".exe", ".dll", ".ocx", ".sys", ".cpl", ".scr")


def scan_tree(root: Path) -> list[tuple[str, Path]]:
    """(relative POSIX path, file) for every regular file under ``root``, sorted."""
    if not root.is_dir():
        raise InputError("not a directory", location(root))
    out: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in filenames:
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if rel.split("/")[0] in RESERVED:
                raise InputError(f"{rel}: reserved for the tool's own files", location(root))
            if path.is_file():
                out.append((rel, path))
    return sorted(out)


class _Scanner:
    """Hash, size and Windows file version of a stream, chunk by chunk."""

    def __init__(self, pe: bool) -> None:
        self.digest = hashlib.sha256()
        self.size = 0
        self.version = ""
        self._pe = pe
        self._tail = b""

    def feed(self, chunk: bytes) -> None:
        self.digest.update(chunk)
        if self._pe and not self.version:
            if self.size == 0 and not chunk.startswith(b"MZ"):
                self._pe = False
            else:
                window = self._tail + chunk
                at = window.find(_VS_SIGNATURE)
                if at >= 0 and len(window) >= at + 16:
                    ms, ls = struct.unpack_from("<II", window, at + 8)
                    self.version = f"{ms >> 16}.{ms & 0xFFFF}.{ls >> 16}.{ls & 0xFFFF}"
                self._tail = window[-64:]
        self.size += len(chunk)


def _add(zf: zipfile.ZipFile, src: Path, arcname: str) -> tuple[_Scanner, int]:
    mtime = int(src.stat().st_mtime // 1)
    info = zipfile.ZipInfo(arcname, time.gmtime(max(mtime, 315532800))[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    scan = _Scanner(src.suffix.lower() in _PE_SUFFIXES)
    with open(src, "rb") as fh, zf.open(info, "w", force_zip64=True) as out:
        while chunk := fh.read(1 << 20):
            scan.feed(chunk)
            out.write(chunk)
    return scan, mtime


def _write_zip(target: Path, fill: Callable[[zipfile.ZipFile], None]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            fill(zf)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _check_levels(levels: Mapping[int, Path], first: int) -> list[int]:
    numbers = sorted(levels)
    if first == 1 and numbers != list(range(1, len(numbers) + 1)):
        raise InputError(f"levels must be 1..N without gaps, got {numbers}")
    if any(n < first for n in numbers):
        raise InputError(f"levels must be >= {first}, got {numbers}")
    return numbers


def build_package(
    product: str,
    release: str,
    build: int,
    base: Path,
    levels: Mapping[int, Path],
    out: Path,
    removed: Mapping[int, Sequence[str]] | None = None,
) -> tuple[Path, Manifest]:
    """Write ``<out>/<PRODUCT><release>_<build>_<N>.zip`` from ``base`` (level 0) and the
    per-level trees (each holding only the files that level adds or changes); ``removed``
    lists, per level, paths that level deletes. Returns the package path and its manifest."""
    numbers = _check_levels(levels, 1)
    removed = removed or {}
    if set(removed) - set(numbers):
        raise InputError(f"--remove names level(s) {sorted(set(removed) - set(numbers))} not built")
    name = package_file_name(product, release, build, numbers[-1] if numbers else 0)
    trees = [(0, base)] + [(n, levels[n]) for n in numbers]
    scanned = [(n, scan_tree(tree)) for n, tree in trees]
    if not scanned[0][1]:
        raise InputError("the base tree holds no file", location(base))
    deltas: list[LevelDelta] = []

    def fill(zf: zipfile.ZipFile) -> None:
        present: set[str] = set()
        for n, files in scanned:
            records: list[FileRecord] = []
            for rel, src in files:
                scan, mtime = _add(zf, src, f"{level_dir(n)}/{rel}")
                records.append(
                    FileRecord(rel, scan.version, scan.size, scan.digest.hexdigest(), mtime)
                )
            gone = tuple(sorted(removed.get(n, ())))
            for rel in gone:
                if rel not in present:
                    raise InputError(f"level {n} removes {rel!r}, which no earlier level ships")
            present.update(r.path for r in records)
            present.difference_update(gone)
            deltas.append(LevelDelta(n, tuple(records), gone))
        doc = Manifest(product, release, build, tuple(deltas)).to_json()
        zf.writestr(MANIFEST, json.dumps(doc, indent=1) + "\n")

    target = out / name
    _write_zip(target, fill)
    return target, Manifest(product, release, build, tuple(deltas))


def build_custom_package(
    product: str, release: str, build: int, levels: Mapping[int, Path], out: Path
) -> tuple[Path, CustomManifest]:
    """Write ``<out>/<PRODUCT><release>_<build>_<N>_custom.zip`` from per-level trees of
    customized files (the tree for level L holds the customizations made for level L)."""
    numbers = _check_levels(levels, 0)
    if not numbers:
        raise InputError("a customization package needs at least one --level")
    name = package_file_name(product, release, build, numbers[-1], custom=True)
    versions: dict[str, list[CustomVersion]] = {}

    def fill(zf: zipfile.ZipFile) -> None:
        for n in numbers:
            for rel, src in scan_tree(levels[n]):
                scan, mtime = _add(zf, src, f"{CUSTOM_DIR}/{level_dir(n)}/{rel}")
                versions.setdefault(rel, []).append(
                    CustomVersion(n, scan.size, scan.digest.hexdigest(), mtime)
                )
        doc = _custom(product, release, build, numbers[-1], versions).to_json()
        zf.writestr(f"{CUSTOM_DIR}/{MANIFEST}", json.dumps(doc, indent=1) + "\n")

    target = out / name
    _write_zip(target, fill)
    return target, _custom(product, release, build, numbers[-1], versions)


def _custom(
    product: str, release: str, build: int, level: int, versions: dict[str, list[CustomVersion]]
) -> CustomManifest:
    return CustomManifest(
        product, release, build, level, {p: tuple(v) for p, v in sorted(versions.items())}
    )
