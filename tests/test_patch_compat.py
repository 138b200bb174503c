"""The patch level compatibility check: both kinds of line, the customization package's
effect, and every summary form."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from orchestrator.cli import main
from orchestrator.patchlevel import (
    CompatReport,
    check_compatibility,
    check_consistency,
    gather_facts,
    open_custom,
    open_package,
)
from tests.test_patch_kit import DAY, install_level, make_custom, make_product, ts, write

NOW = time.time()


def compat(pkg_path: Path, inst: Path, custom: Path | None = None) -> CompatReport:
    with open_package(pkg_path) as pkg:
        m = pkg.manifest
        cm = None
        if custom:
            with open_custom(custom, m) as c:
                cm = c.manifest
        level = json.loads((inst / ".orchestrator/patchlevel.json").read_text())["level"]
        check = check_consistency(m, gather_facts(inst, m.paths), level, cm)
        return check_compatibility(m, check, cm)


def test_compatible_with_all_levels(tmp_path: Path) -> None:
    product = make_product(tmp_path)
    install_level(product.package, tmp_path / "inst", 1)
    report = compat(product.package, tmp_path / "inst")
    assert [lc.level for lc in report.levels] == [2, 3, 4, 5]
    assert report.summary == "all"
    assert report.summary_line() == "This system is compatible with all patch levels."


def test_compatible_with_no_level(tmp_path: Path) -> None:
    """Level 4 changes the customized site.cfg; level 5 also needs the earlier-version
    old.cfg upgraded."""
    product = make_product(tmp_path)
    inst = tmp_path / "inst"
    install_level(product.package, inst, 3)
    write(inst / "conf/site.cfg", b"site = customized\n", NOW)
    write(inst / "conf/old.cfg", b"old = 4.1\n", ts(0) - 365 * DAY)
    report = compat(product.package, inst)
    assert report.at(4).lines() == ["conf/site.cfg needs its customization updated"]
    assert report.at(5).lines() == [
        "conf/site.cfg needs its customization updated",
        "conf/old.cfg needs upgrade to current version (and possibly re-applied customization)",
    ]
    assert report.summary == "none"
    assert report.summary_line() == "This system is not compatible with any patch level."


def test_compatible_with_these_levels(tmp_path: Path) -> None:
    """Customizations only break level 4 and up: compatible with 2 and 3."""
    product = make_product(tmp_path)
    inst = tmp_path / "inst"
    install_level(product.package, inst, 1)
    write(inst / "conf/site.cfg", b"site = customized\n", NOW)
    write(inst / "web/template_ext.tpl", (inst / "web/template_int.tpl").read_bytes(), NOW)
    report = compat(product.package, inst)
    assert report.compatible_levels == [2, 3]
    assert report.summary == "some"
    assert report.summary_line() == (
        "This system is compatible with the following patch level(s): 2,3"
    )
    assert report.at(4).blocking == ("conf/site.cfg",)


def test_customization_package_makes_levels_compatible(tmp_path: Path) -> None:
    """login.asp is customized at level 1; level 3 changes it. A customization made for
    level 4 covers levels 4 and 5 (no later standard change) but not 3: 2,4,5."""
    product = make_product(tmp_path)
    inst = tmp_path / "inst"
    install_level(product.package, inst, 1)
    write(inst / "web/login.asp", b"login, ours\n", NOW)
    custom = make_custom(tmp_path, {4: {"web/login.asp": b"login, ours for 4\n"}}, NOW)
    without = compat(product.package, inst)
    assert without.compatible_levels == [2]
    report = compat(product.package, inst, custom)
    assert report.compatible_levels == [2, 4, 5]
    assert report.summary_line() == (
        "This system is compatible with the following patch level(s): 2,4,5"
    )
    assert report.at(3).lines() == ["web/login.asp needs its customization updated"]
    assert report.at(5).covered == (("web/login.asp", 4),)


def test_customization_made_for_an_older_base_does_not_cover(tmp_path: Path) -> None:
    """A customization made for level 2 is based on login.asp of level 1; level 3 changes
    the standard file, so it does not cover level 3 or above."""
    product = make_product(tmp_path)
    inst = tmp_path / "inst"
    install_level(product.package, inst, 1)
    write(inst / "web/login.asp", b"login, ours\n", NOW)
    custom = make_custom(tmp_path, {2: {"web/login.asp": b"login, ours for 2\n"}}, NOW)
    assert compat(product.package, inst, custom).compatible_levels == [2]


def test_nothing_above_the_current_level(tmp_path: Path) -> None:
    product = make_product(tmp_path)
    install_level(product.package, tmp_path / "inst", 5)
    report = compat(product.package, tmp_path / "inst")
    assert report.levels == () and report.summary == "all"


def test_cli_compat_text_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    product = make_product(tmp_path)
    inst = tmp_path / "inst"
    install_level(product.package, inst, 1)
    write(inst / "conf/site.cfg", b"site = customized\n", NOW)
    args = ["patch", "compat", str(product.package), "--install", str(inst)]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "System current patch level: 1\nPatch Installation Package level: 5\n" in text
    assert "Checking files compatibility up to patch level 5\n" in text
    assert (
        "Checking files for compatibility with patch level 4\n"
        "conf/site.cfg needs its customization updated\n"
    ) in text
    assert text.endswith("This system is compatible with the following patch level(s): 2,3\n")
    assert main([*args, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["format"] == "orchestrator.patch-compat/v1"
    assert doc["compatible_levels"] == [2, 3] and doc["summary"] == "some"
    assert doc["levels"][2]["customization_updates"] == ["conf/site.cfg"]
