"""Generated fixtures for the patch-level tests (no binary fixture is committed), and the
tests that the generated product is what the other tests assume.

The product ``MPWEB 4.2.7 build 106`` has levels 0..5; level L's files are stamped
``T0 + L * 30 days``:

==========================  =====================================================
file                        levels that ship it
==========================  =====================================================
bin/mpagent.exe             0, 3 (a PE file: version 4.2.7.0, then 4.2.7.3)
bin/mpagenttext.exe         0
web/index.asp               0, 2, 5
web/login.asp               0, 1, 3
web/new.asp                 3 (added)
web/template_int.tpl        0
web/template_ext.tpl        0
conf/site.cfg               0, 4
conf/old.cfg                0, 5
audio/codec.dll             0, 2
lib/stable.dat              0
lib/legacy.dat              0, removed by 4
==========================  =====================================================
"""

from __future__ import annotations

import os
import struct
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from orchestrator.patchlevel import (
    InstallState,
    build_custom_package,
    build_package,
    open_package,
    write_state,
)

T0 = 1072915200  # 2004-01-01T00:00:00Z
DAY = 86400
LEVELS: dict[int, list[str]] = {
    0: [
        "bin/mpagent.exe",
        "bin/mpagenttext.exe",
        "web/index.asp",
        "web/login.asp",
        "web/template_int.tpl",
        "web/template_ext.tpl",
        "conf/site.cfg",
        "conf/old.cfg",
        "audio/codec.dll",
        "lib/stable.dat",
        "lib/legacy.dat",
    ],
    1: ["web/login.asp"],
    2: ["web/index.asp", "audio/codec.dll"],
    3: ["bin/mpagent.exe", "web/login.asp", "web/new.asp"],
    4: ["conf/site.cfg"],
    5: ["web/index.asp", "conf/old.cfg"],
}
REMOVED = {4: ["lib/legacy.dat"]}
PKG_NAME = "MPWEB427_106_5.zip"


def ts(level: int) -> int:
    """The timestamp of the files level ``level`` ships."""
    return T0 + level * 30 * DAY


def pe_bytes(version: tuple[int, int, int, int], filler: bytes) -> bytes:
    """A tiny stand-in for a PE file with a VS_FIXEDFILEINFO block."""
    ms = (version[0] << 16) | version[1]
    ls = (version[2] << 16) | version[3]
    fixed = b"\xbd\x04\xef\xfe" + struct.pack("<III", 0x10000, ms, ls)
    return b"MZ" + b"\0" * 62 + filler + b"VS_VERSION_INFO\0" + fixed + b"\0" * 32


def content(path: str, level: int) -> bytes:
    """What ``level`` ships for ``path``."""
    if path == "bin/mpagent.exe":
        return pe_bytes((4, 2, 7, level), b"agent secure")
    return f"{path} as shipped by level {level}\n".encode() * 3


def write(path: Path, data: bytes, mtime: float) -> None:
    """Write a file and set its modification time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))


@dataclass(frozen=True)
class Product:
    """The generated package (and where its source trees are)."""

    package: Path
    trees: Path


def make_trees(root: Path, levels: Mapping[int, list[str]] = LEVELS) -> dict[int, Path]:
    """Source trees: level 0 (full build) and one tree per level with what it ships."""
    out: dict[int, Path] = {}
    for level, paths in levels.items():
        tree = root / f"tree{level}"
        tree.mkdir(parents=True)
        for rel in paths:
            write(tree / rel, content(rel, level), ts(level))
        out[level] = tree
    return out


def make_product(root: Path) -> Product:
    """Build the package of the module docstring into ``root/dist``."""
    trees = make_trees(root / "src")
    pkg, _ = build_package(
        "MPWEB",
        "4.2.7",
        106,
        trees[0],
        {n: t for n, t in trees.items() if n},
        root / "dist",
        REMOVED,
    )
    return Product(pkg, root / "src")


def make_custom(root: Path, files: Mapping[int, Mapping[str, bytes]], mtime: float) -> Path:
    """A customization package: per level, customized files."""
    levels: dict[int, Path] = {}
    for level, items in files.items():
        tree = root / f"custom{level}"
        for rel, data in items.items():
            write(tree / rel, data, mtime)
        levels[level] = tree
    pkg, _ = build_custom_package("MPWEB", "4.2.7", 106, levels, root / "dist")
    return pkg


def install_level(pkg_path: Path, install: Path, level: int, record: bool = True) -> None:
    """A pristine installation of ``level`` (files stamped as shipped), recorded or not."""
    with open_package(pkg_path) as pkg:
        m = pkg.manifest
        for rel, rec in m.state(level).items():
            shipped = m.changed_at(rel, level)
            assert shipped is not None
            with pkg.open_file(shipped, rel) as src:
                write(install / rel, src.read(), rec.timestamp)
        if record:
            write_state(install, InstallState("MPWEB", "4.2.7", 106, level))


def snapshot(root: Path) -> dict[str, tuple[bytes | None, int, int]]:
    """Every product file and directory (not install.log, not .orchestrator/, not the root
    itself): content, mode and modification time in ns."""
    out: dict[str, tuple[bytes | None, int, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if Path(dirpath) == root:
            dirnames[:] = [d for d in dirnames if d != ".orchestrator"]
            filenames = [f for f in filenames if f != "install.log"]
        for name in dirnames:
            st = (Path(dirpath) / name).stat()
            out[str(Path(dirpath, name).relative_to(root))] = (None, st.st_mode, st.st_mtime_ns)
        for name in filenames:
            path = Path(dirpath) / name
            st = path.stat()
            out[str(path.relative_to(root))] = (path.read_bytes(), st.st_mode, st.st_mtime_ns)
    return out


def cli(*args: str) -> tuple[int, str, str]:
    """Run ``python -m orchestrator ...`` in a subprocess: (status, stdout, stderr)."""
    import subprocess

    done = subprocess.run(
        [sys.executable, "-m", "orchestrator", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parent.parent,
    )
    return done.returncode, done.stdout, done.stderr


def test_generated_package_is_as_documented(tmp_path: Path) -> None:
    product = make_product(tmp_path)
    assert product.package.name == PKG_NAME
    with open_package(product.package) as pkg:
        m = pkg.manifest
        assert m.level == 5
        assert sorted(m.state(0)) == sorted(LEVELS[0])
        assert "lib/legacy.dat" in m.state(3) and "lib/legacy.dat" not in m.state(4)
        assert "web/new.asp" in m.state(3) and "web/new.asp" not in m.state(2)
        assert m.state(5)["web/index.asp"].timestamp == ts(5)
        assert m.record_at("bin/mpagent.exe", 2) == m.state(0)["bin/mpagent.exe"]
        assert m.state(0)["bin/mpagent.exe"].version == "4.2.7.0"
        assert m.state(3)["bin/mpagent.exe"].version == "4.2.7.3"
        assert m.state(0)["lib/stable.dat"].version == ""


def test_pristine_install_matches(tmp_path: Path) -> None:
    product = make_product(tmp_path)
    install_level(product.package, tmp_path / "inst", 3)
    assert (tmp_path / "inst/web/new.asp").read_bytes() == content("web/new.asp", 3)
    assert int((tmp_path / "inst/web/login.asp").stat().st_mtime) == ts(3)
