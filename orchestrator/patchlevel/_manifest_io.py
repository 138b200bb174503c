"""Reading manifest documents: every key checked for presence and type, every path for
safety, levels for order; an error names the document (``PKG.zip!manifest.json``) and the
entry (``levels[3].files[12]: ...``)."""

from __future__ import annotations

from typing import Any

from ..errors import SchemaError, location
from ._manifest import (
    CUSTOM_FORMAT,
    FORMAT,
    SHA256,
    CustomManifest,
    CustomVersion,
    FileRecord,
    LevelDelta,
    Manifest,
    check_relpath,
    parse_iso,
)


class _Reader:
    """Typed access to a JSON document with errors naming where."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, message: str) -> SchemaError:
        return SchemaError(message, location(self.where))

    def get(self, obj: object, key: str, kind: type | tuple[type, ...], ctx: str) -> Any:
        if not isinstance(obj, dict):
            raise self.fail(f"{ctx}: expected an object")
        if key not in obj:
            raise self.fail(f"{ctx}: missing key {key!r}")
        value = obj[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.fail(f"{ctx}: {key!r} has the wrong type")
        return value

    def count(self, obj: object, key: str, ctx: str) -> int:
        value: int = self.get(obj, key, int, ctx)
        if value < 0:
            raise self.fail(f"{ctx}: {key!r} must be >= 0")
        return value

    def sha(self, obj: object, ctx: str) -> str:
        value: str = self.get(obj, "sha256", str, ctx)
        if not SHA256.match(value):
            raise self.fail(f"{ctx}: 'sha256' must be 64 lower-case hex digits")
        return value

    def ts(self, obj: object, ctx: str) -> int:
        text: str = self.get(obj, "timestamp", str, ctx)
        try:
            return parse_iso(text)
        except ValueError:
            raise self.fail(f"{ctx}: timestamp {text!r} is not ISO 8601 UTC") from None

    def header(self, doc: object, fmt: str) -> tuple[str, str, int, int]:
        found = self.get(doc, "format", str, "manifest")
        if found != fmt:
            raise self.fail(f"manifest: format {found!r}, expected {fmt!r}")
        return (
            self.get(doc, "product", str, "manifest"),
            self.get(doc, "release", str, "manifest"),
            self.count(doc, "build", "manifest"),
            self.count(doc, "level", "manifest"),
        )


def manifest_from_json(doc: object, where: str) -> Manifest:
    """Validate a package manifest document (``where`` names it in errors)."""
    r = _Reader(where)
    product, release, build, top = r.header(doc, FORMAT)
    levels: list[LevelDelta] = []
    for i, item in enumerate(r.get(doc, "levels", list, "manifest")):
        ctx = f"levels[{i}]"
        if r.count(item, "level", ctx) != i:
            raise r.fail(f"{ctx}: levels must be numbered 0, 1, 2, ... in order")
        files: list[FileRecord] = []
        seen: set[str] = set()
        for j, f in enumerate(r.get(item, "files", list, ctx)):
            fctx = f"{ctx}.files[{j}]"
            path = check_relpath(r.get(f, "path", str, fctx), where)
            if path in seen:
                raise r.fail(f"{fctx}: {path!r} listed twice")
            seen.add(path)
            version = r.get(f, "version", str, fctx)
            files.append(
                FileRecord(path, version, r.count(f, "size", fctx), r.sha(f, fctx), r.ts(f, fctx))
            )
        raw_removed = item.get("removed", [])
        if not isinstance(raw_removed, list):
            raise r.fail(f"{ctx}: 'removed' must be a list of paths")
        removed = tuple(check_relpath(p, where) for p in raw_removed)
        if i == 0 and removed:
            raise r.fail("levels[0]: the full build cannot remove files")
        levels.append(LevelDelta(i, tuple(files), removed))
    if not levels or levels[-1].level != top:
        raise r.fail(f"manifest: 'level' is {top} but the levels run 0..{len(levels) - 1}")
    return Manifest(product, release, build, tuple(levels))


def custom_from_json(doc: object, where: str) -> CustomManifest:
    """Validate a customization manifest document."""
    r = _Reader(where)
    product, release, build, top = r.header(doc, CUSTOM_FORMAT)
    files: dict[str, tuple[CustomVersion, ...]] = {}
    for i, f in enumerate(r.get(doc, "files", list, "manifest")):
        ctx = f"files[{i}]"
        path = check_relpath(r.get(f, "path", str, ctx), where)
        versions: list[CustomVersion] = []
        for j, v in enumerate(r.get(f, "levels", list, ctx)):
            vctx = f"{ctx}.levels[{j}]"
            lvl = r.count(v, "level", vctx)
            if versions and lvl <= versions[-1].level:
                raise r.fail(f"{vctx}: levels must be in increasing order")
            versions.append(
                CustomVersion(lvl, r.count(v, "size", vctx), r.sha(v, vctx), r.ts(v, vctx))
            )
        if path in files or not versions:
            raise r.fail(f"{ctx}: {path!r} listed twice or with no level")
        files[path] = tuple(versions)
    return CustomManifest(product, release, build, top, files)
