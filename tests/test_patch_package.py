"""Package names, building, inspecting and opening packages: good and bad names (exit 2, no
traceback), the manifest, customization packages, and damaged packages."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest

from orchestrator.cli import main
from orchestrator.errors import InputError
from orchestrator.patchlevel import (
    open_custom,
    open_package,
    package_file_name,
    parse_package_name,
)
from tests.test_patch_kit import PKG_NAME, cli, make_custom, make_product, make_trees, ts, write


@pytest.mark.parametrize(
    ("name", "product", "release", "build", "level", "custom"),
    [
        ("MPWEB427_106_20.zip", "MPWEB", "4.2.7", 106, 20, False),
        ("MPWEB430_63_6.exe", "MPWEB", "4.3.0", 63, 6, False),
        ("/some/dir/mpweb427_106_0.ZIP", "mpweb", "4.2.7", 106, 0, False),
        ("MPWEB427_106_20_custom.zip", "MPWEB", "4.2.7", 106, 20, True),
    ],
)
def test_good_names(
    name: str, product: str, release: str, build: int, level: int, custom: bool
) -> None:
    parsed = parse_package_name(name)
    assert (parsed.product, parsed.release, parsed.build, parsed.level, parsed.custom) == (
        product,
        release,
        build,
        level,
        custom,
    )
    assert parsed.version == f"{release}.{build}.{level}"


@pytest.mark.parametrize(
    "name",
    [
        "MPWEB427_106.zip",
        "MPWEB427-106-20.zip",
        "427_106_20.zip",
        "MPWEB4_106_20.zip",
        "MPWEB427_106_20.tar.gz",
        "MP WEB427_106_20.zip",
        "MPWEB427_106_x.zip",
    ],
)
def test_bad_names(name: str) -> None:
    with pytest.raises(InputError, match=r"expected <PRODUCT><release>_<build>_<patch>\.zip"):
        parse_package_name(name)


def test_kind_is_checked() -> None:
    with pytest.raises(InputError, match=r"_custom\.zip"):
        parse_package_name("MPWEB427_106_20.zip", custom=True)
    with pytest.raises(InputError, match="not a package name"):
        parse_package_name("MPWEB427_106_20_custom.zip", custom=False)


def test_file_name_from_parts() -> None:
    assert package_file_name("MPWEB", "4.2.7", 106, 20) == "MPWEB427_106_20.zip"
    assert package_file_name("MPWEB", "4.3.0", 63, 6, True) == "MPWEB430_63_6_custom.zip"
    with pytest.raises(InputError, match="single-digit components"):
        package_file_name("MPWEB", "4.10.1", 1, 1)
    with pytest.raises(InputError, match="letters only"):
        package_file_name("MP-WEB", "4.2.7", 1, 1)


def test_bad_name_via_cli_exits_2_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "mpweb-patch.zip"
    bad.write_bytes(b"")
    for args in (
        ["patch", "inspect", str(bad)],
        ["patch", "check", str(bad), "--install", str(tmp_path)],
    ):
        code, out, err = cli(*args)
        assert code == 2, err
        assert "Traceback" not in err and out == ""
        assert err.startswith("error: ")
        assert "expected <PRODUCT><release>_<build>_<patch>.zip (or .exe)" in err
        assert len(err.strip().splitlines()) == 1


def test_build_and_inspect(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trees = make_trees(tmp_path / "src")
    out = tmp_path / "dist"
    args = ["patch", "build", "--product", "MPWEB", "--release", "4.2.7", "--build", "106"]
    args += ["--base", str(trees[0]), "--out", str(out), "--remove", "4=lib/legacy.dat"]
    for n in range(1, 6):
        args += ["--level", f"{n}={trees[n]}"]
    assert main(args) == 0
    assert f"{PKG_NAME}: levels 0..5, 11 file(s) at level 5" in capsys.readouterr().out
    pkg = out / PKG_NAME
    assert main(["patch", "inspect", str(pkg)]) == 0
    text = capsys.readouterr().out
    assert text.startswith(
        f"{PKG_NAME}: MPWEB 4.2.7 build 106, patch levels 0..5 (version 4.2.7.106.5)\n"
    )
    assert "level 0 (full build):" in text
    assert "  lib/legacy.dat  removed" in text
    assert "  bin/mpagent.exe  " in text and "version 4.2.7.3" in text
    assert main(["patch", "inspect", str(pkg), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [r["files"] for r in doc["levels"]] == [11, 11, 11, 12, 11, 11]
    assert [r["shipped"] for r in doc["levels"]] == [11, 1, 2, 3, 1, 2]
    assert doc["levels"][3]["added"] == 1 and doc["levels"][4]["removed"] == 1
    level0 = doc["manifest"]["levels"][0]["files"]
    assert {"path", "version", "size", "sha256", "timestamp"} == set(level0[0])
    assert level0[0]["timestamp"] == "2004-01-01T00:00:00Z"
    with zipfile.ZipFile(pkg) as zf:
        names = set(zf.namelist())
    assert {"manifest.json", "level-00/lib/stable.dat", "level-03/web/new.asp"} <= names
    assert main(["patch", "inspect", str(pkg), "--summary"]) == 0
    assert "full build" not in capsys.readouterr().out


def test_build_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trees = make_trees(tmp_path / "src")
    base = ["patch", "build", "--product", "MPWEB", "--release", "4.2.7", "--build", "106"]
    base += ["--base", str(trees[0]), "--out", str(tmp_path / "dist")]
    assert main([*base, "--level", f"2={trees[2]}"]) == 2
    assert "levels must be 1..N without gaps" in capsys.readouterr().err
    assert main([*base, "--level", f"1={tmp_path / 'nope'}"]) == 2
    assert "nope: not a directory" in capsys.readouterr().err
    assert main([*base, "--level", f"1={trees[1]}", "--remove", "1=no/such"]) == 2
    assert "level 1 removes 'no/such'" in capsys.readouterr().err
    args = [*base, "--release", "4.10.1"]
    assert main(args) == 2
    assert "single-digit components" in capsys.readouterr().err
    write(trees[1] / ".orchestrator/x", b"x", ts(1))
    assert main([*base, "--level", f"1={trees[1]}"]) == 2
    assert "reserved" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main([*base, "--level", "one=x"])
    assert exc.value.code == 2
    assert not (tmp_path / "dist").exists() or not list((tmp_path / "dist").iterdir())


def test_custom_package_build_and_inspect(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    product = make_product(tmp_path)
    custom = make_custom(
        tmp_path,
        {2: {"conf/site.cfg": b"a\n"}, 4: {"conf/site.cfg": b"b\n", "web/extra.asp": b"c\n"}},
        ts(5),
    )
    assert custom.name == "MPWEB427_106_4_custom.zip"
    with zipfile.ZipFile(custom) as zf:
        assert "customization/manifest.json" in zf.namelist()
        assert "customization/level-04/web/extra.asp" in zf.namelist()
    with open_package(product.package) as pkg, open_custom(custom, pkg.manifest) as c:
        assert [v.level for v in c.manifest.files["conf/site.cfg"]] == [2, 4]
        at3 = c.manifest.available("conf/site.cfg", 3, pkg.manifest)
        assert at3 is not None and at3.level == 2
        at5 = c.manifest.available("conf/site.cfg", 5, pkg.manifest)
        assert at5 is not None and at5.level == 4
        assert c.manifest.available("conf/site.cfg", 1, pkg.manifest) is None
        assert c.manifest.available("web/extra.asp", 3, pkg.manifest) is None
    assert main(["patch", "inspect", str(custom)]) == 0
    text = capsys.readouterr().out
    assert "customizations for MPWEB 4.2.7 build 106, levels up to 4, 2 file(s)" in text
    assert "  conf/site.cfg: level 2 (2 bytes" in text


def test_damaged_packages_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    product = make_product(tmp_path)
    renamed = tmp_path / "MPWEB427_106_9.zip"
    renamed.write_bytes(product.package.read_bytes())
    assert main(["patch", "inspect", str(renamed)]) == 2
    assert "the file name MPWEB 4.2.7 build 106 level 9" in capsys.readouterr().err
    notzip = tmp_path / "x" / PKG_NAME
    notzip.parent.mkdir()
    notzip.write_text("hello")
    assert main(["patch", "inspect", str(notzip)]) == 2
    assert "not a readable zip archive" in capsys.readouterr().err
    broken = tmp_path / "y" / PKG_NAME
    broken.parent.mkdir()
    with zipfile.ZipFile(broken, "w") as zf:
        zf.writestr("manifest.json", '{"format": "orchestrator.patch-package/v1",\n "levels": [}')
    assert main(["patch", "inspect", str(broken)]) == 2
    assert "manifest.json:2:" in capsys.readouterr().err
    unsafe = tmp_path / "z" / PKG_NAME
    unsafe.parent.mkdir()
    with zipfile.ZipFile(product.package) as src:
        doc = json.loads(src.read("manifest.json"))
    original = doc["levels"][0]["files"][0]["path"]
    doc["levels"][0]["files"][0]["path"] = "../../etc/passwd"
    with zipfile.ZipFile(unsafe, "w") as zf:
        zf.writestr("manifest.json", json.dumps(doc))
    assert main(["patch", "inspect", str(unsafe)]) == 2
    assert "unsafe or reserved file path '../../etc/passwd'" in capsys.readouterr().err
    doc["levels"][0]["files"][0]["path"] = original
    with zipfile.ZipFile(unsafe, "w") as zf:
        zf.writestr("manifest.json", json.dumps(doc))
    assert main(["patch", "inspect", str(unsafe)]) == 2
    assert "the archive does not hold" in capsys.readouterr().err
    other = tmp_path / "w" / "MPWEB430_63_2_custom.zip"
    other.parent.mkdir()
    make_custom(tmp_path / "w2", {2: {"conf/site.cfg": b"x"}}, ts(2)).rename(other)
    args = ["patch", "check", str(product.package), "--install", str(tmp_path), "--custom"]
    assert main([*args, str(other)]) == 2
    assert "the file name MPWEB 4.3.0 build 63 level 2" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("product"), "manifest: missing key 'product'"),
        (lambda d: d.update(format="other/v9"), "format 'other/v9'"),
        (lambda d: d.update(level=7), "'level' is 7 but the levels run 0..5"),
        (lambda d: d["levels"].pop(2), "levels must be numbered 0, 1, 2"),
        (lambda d: d["levels"][1]["files"][0].update(sha256="ABC"), "64 lower-case hex"),
        (lambda d: d["levels"][1]["files"][0].update(size=-1), "'size' must be >= 0"),
        (lambda d: d["levels"][1]["files"][0].update(size="9"), "'size' has the wrong type"),
        (
            lambda d: d["levels"][1]["files"][0].update(timestamp="2004-01-01 10:00"),
            "is not ISO 8601 UTC",
        ),
        (lambda d: d["levels"][0].update(removed=["lib/stable.dat"]), "cannot remove files"),
        (lambda d: d["levels"][0]["files"].append("x"), "levels[0].files[11]: expected an"),
    ],
)
def test_manifest_validation(tmp_path: Path, edit: Any, message: str) -> None:
    product = make_product(tmp_path)
    with zipfile.ZipFile(product.package) as src:
        doc = json.loads(src.read("manifest.json"))
    edit(doc)
    bad = tmp_path / "bad" / PKG_NAME
    bad.parent.mkdir()
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("manifest.json", json.dumps(doc))
    with pytest.raises(InputError, match=re.escape(message)) as exc:
        open_package(bad)
    assert "manifest.json" in str(exc.value)


def test_unwritable_output_is_input_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trees = make_trees(tmp_path / "src")
    (tmp_path / "file").write_text("not a directory")
    args = ["patch", "build", "--product", "MPWEB", "--release", "4.2.7", "--build", "106"]
    args += ["--base", str(trees[0]), "--out", str(tmp_path / "file" / "dist")]
    assert main(args) == 2
    assert capsys.readouterr().err.startswith("error: cannot use ")
