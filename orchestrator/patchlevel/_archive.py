"""Opening packages: a zip (or a self-extracting ``.exe``, which is a zip with a stub in
front) whose name parses, whose manifest validates and agrees with the name, and which holds
every file its manifest lists. Every problem is an :class:`InputError` (exit 2)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from ..errors import InputError, SchemaError, YamlSyntaxError, location
from ._manifest import CUSTOM_DIR, MANIFEST, CustomManifest, Manifest, level_dir
from ._manifest_io import custom_from_json, manifest_from_json
from ._names import PackageName, parse_package_name


def _open_zip(path: Path) -> zipfile.ZipFile:
    if not path.is_file():
        raise InputError("no such package file", location(path))
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"not a readable zip archive ({exc})", location(path)) from None


def _load_json(zf: zipfile.ZipFile, member: str, path: Path) -> tuple[Any, str]:
    where = f"{path}!{member}"
    try:
        raw = zf.read(member)
    except KeyError:
        raise InputError(f"the package has no {member}", location(path)) from None
    try:
        return json.loads(raw.decode("utf-8")), where
    except UnicodeDecodeError:
        raise YamlSyntaxError("not UTF-8 text", location(where)) from None
    except json.JSONDecodeError as exc:
        raise YamlSyntaxError(exc.msg, location(where, exc.lineno, exc.colno)) from None


def _agree(
    name: PackageName, product: str, release: str, build: int, level: int, where: str
) -> None:
    said = (name.product.upper(), name.release, name.build, name.level)
    if said != (product.upper(), release, build, level):
        raise SchemaError(
            f"the manifest describes {product} {release} build {build} level {level}, "
            f"the file name {name.product} {name.release} build {name.build} level {name.level}",
            location(where),
        )


class _Zip:
    """A package's open zip; a context manager."""

    def __init__(self, path: Path, zf: zipfile.ZipFile) -> None:
        self.path = path
        self._zip = zf

    def _open(self, member: str) -> IO[bytes]:
        try:
            return self._zip.open(member)
        except KeyError:
            raise InputError(f"the package has no {member}", location(self.path)) from None

    def _require(self, members: set[str]) -> None:
        missing = members - set(self._zip.namelist())
        if missing:
            raise InputError(
                f"the manifest lists {len(missing)} file(s) the archive does not hold, "
                f"e.g. {min(missing)}",
                location(self.path),
            )

    def close(self) -> None:
        """Close the archive."""
        self._zip.close()

    def __enter__(self) -> _Zip:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class PatchPackage(_Zip):
    """A standard package: its parsed name, its manifest, and its files per level."""

    def __init__(self, path: Path, zf: zipfile.ZipFile, name: PackageName, manifest: Manifest):
        super().__init__(path, zf)
        self.name = name
        self.manifest = manifest

    def open_file(self, level: int, relpath: str) -> IO[bytes]:
        """The content of ``relpath`` as shipped by ``level``."""
        return self._open(f"{level_dir(level)}/{relpath}")

    def __enter__(self) -> PatchPackage:
        return self


class CustomPackage(_Zip):
    """A customization package (its files live under ``customization/``)."""

    def __init__(
        self, path: Path, zf: zipfile.ZipFile, name: PackageName, manifest: CustomManifest
    ) -> None:
        super().__init__(path, zf)
        self.name = name
        self.manifest = manifest

    def open_file(self, level: int, relpath: str) -> IO[bytes]:
        """The customized content of ``relpath`` made for ``level``."""
        return self._open(f"{CUSTOM_DIR}/{level_dir(level)}/{relpath}")

    def __enter__(self) -> CustomPackage:
        return self


def open_package(path: Path) -> PatchPackage:
    """Open and validate a standard package."""
    name = parse_package_name(path, custom=False)
    zf = _open_zip(path)
    try:
        doc, where = _load_json(zf, MANIFEST, path)
        manifest = manifest_from_json(doc, where)
        _agree(name, manifest.product, manifest.release, manifest.build, manifest.level, where)
        pkg = PatchPackage(path, zf, name, manifest)
        pkg._require({f"{level_dir(d.level)}/{r.path}" for d in manifest.levels for r in d.files})
        return pkg
    except BaseException:
        zf.close()
        raise


def open_custom(path: Path, std: Manifest | None = None) -> CustomPackage:
    """Open and validate a customization package (made for the standard package ``std``,
    when given)."""
    name = parse_package_name(path, custom=True)
    zf = _open_zip(path)
    try:
        doc, where = _load_json(zf, f"{CUSTOM_DIR}/{MANIFEST}", path)
        manifest = custom_from_json(doc, where)
        _agree(name, manifest.product, manifest.release, manifest.build, manifest.level, where)
        if std is not None and (manifest.product.upper(), manifest.release, manifest.build) != (
            std.product.upper(),
            std.release,
            std.build,
        ):
            raise InputError(
                f"customization package for {manifest.product} {manifest.release}.{manifest.build}"
                f", but the package is {std.product} {std.release}.{std.build}",
                location(path),
            )
        pkg = CustomPackage(path, zf, name, manifest)
        pkg._require(
            {
                f"{CUSTOM_DIR}/{level_dir(v.level)}/{p}"
                for p, versions in manifest.files.items()
                for v in versions
            }
        )
        return pkg
    except BaseException:
        zf.close()
        raise
