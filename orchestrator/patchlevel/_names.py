"""Package file names: ``<PRODUCT><release>_<build>_<patch>.zip`` (or ``.exe``, a
self-extracting zip), e.g. ``MPWEB427_106_20.zip`` = product MPWEB, release 4.2.7, build 106,
patch levels up to 20, full version ``4.2.7.106.20``. A customization package adds
``_custom``: ``MPWEB427_106_20_custom.zip``.

The release is written one digit per component (``427`` = 4.2.7, ``430`` = 4.3.0), so the
product name is letters only: that is what makes the name unambiguous.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, location

PATTERN = "<PRODUCT><release>_<build>_<patch>.zip (or .exe)"
CUSTOM_PATTERN = "<PRODUCT><release>_<build>_<patch>_custom.zip (or .exe)"
EXAMPLE = "MPWEB427_106_20.zip"

_NAME = re.compile(
    r"^(?P<product>[A-Za-z]+)(?P<release>[0-9]{2,})_(?P<build>[0-9]+)_(?P<patch>[0-9]+)"
    r"(?P<custom>_custom)?\.(?:zip|exe)$",
    re.IGNORECASE,
)
_PRODUCT = re.compile(r"^[A-Za-z]+$")
_RELEASE = re.compile(r"^[0-9](?:\.[0-9])+$")


@dataclass(frozen=True)
class PackageName:
    """What a package's file name says: product, release, build, highest level, kind."""

    product: str
    release: str
    build: int
    level: int
    custom: bool = False

    @property
    def version(self) -> str:
        """The five-part version of the highest level, e.g. ``4.2.7.106.20``."""
        return f"{self.release}.{self.build}.{self.level}"

    @property
    def file_name(self) -> str:
        """The canonical file name (``.zip``)."""
        return package_file_name(self.product, self.release, self.build, self.level, self.custom)


def full_version(release: str, build: int, level: int) -> str:
    """``4.2.7`` + 106 + 20 → ``4.2.7.106.20``."""
    return f"{release}.{build}.{level}"


def release_code(release: str) -> str:
    """``4.2.7`` → ``427``; a release that cannot be written so is an :class:`InputError`."""
    if not _RELEASE.match(release):
        raise InputError(
            f"release {release!r}: expected single-digit components separated by dots "
            "(e.g. 4.2.7), as the package name writes one digit per component"
        )
    return release.replace(".", "")


def check_product(product: str) -> str:
    """A product name is letters only (e.g. ``MPWEB``)."""
    if not _PRODUCT.match(product):
        raise InputError(f"product {product!r}: expected letters only (e.g. MPWEB)")
    return product


def package_file_name(
    product: str, release: str, build: int, level: int, custom: bool = False
) -> str:
    """The file name of a package: ``MPWEB427_106_20.zip`` (``..._custom.zip``)."""
    if build < 0 or level < 0:
        raise InputError("build and patch level must be >= 0")
    suffix = "_custom" if custom else ""
    return f"{check_product(product)}{release_code(release)}_{build}_{level}{suffix}.zip"


def parse_package_name(path: str | Path, *, custom: bool | None = None) -> PackageName:
    """Parse a package file name; ``custom`` = True/False requires that kind.

    A name that does not parse is an :class:`InputError` naming the expected pattern."""
    name = Path(path).name
    m = _NAME.match(name)
    kind_ok = m is not None and (custom is None or bool(m.group("custom")) == custom)
    if m is None or not kind_ok:
        pattern = CUSTOM_PATTERN if custom else PATTERN
        example = EXAMPLE.replace(".zip", "_custom.zip") if custom else EXAMPLE
        raise InputError(
            f"{name!r} is not a {'customization ' if custom else ''}package name: "
            f"expected {pattern}, e.g. {example}",
            location(path),
        )
    return PackageName(
        product=m.group("product"),
        release=".".join(m.group("release")),
        build=int(m.group("build")),
        level=int(m.group("patch")),
        custom=bool(m.group("custom")),
    )
