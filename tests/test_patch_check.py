"""The file consistency check: every verdict of the vendor procedure, the first-run
assumption, the pure logic on a facts mapping, JSON and text output, and read-only-ness."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from orchestrator.cli import main
from orchestrator.patchlevel import (
    FileFact,
    check_consistency,
    classify,
    facts_from_json,
    facts_to_json,
    gather_facts,
    open_package,
)
from orchestrator.patchlevel._manifest import iso
from tests.test_patch_kit import (
    DAY,
    content,
    install_level,
    make_custom,
    make_product,
    snapshot,
    ts,
    write,
)

NOW = time.time()


def scenario(tmp_path: Path) -> tuple[Path, Path]:
    """An installation recorded at level 3 with one file per verdict."""
    product = make_product(tmp_path)
    inst = tmp_path / "inst"
    install_level(product.package, inst, 3)
    (inst / "audio/codec.dll").unlink()  # missing
    write(inst / "web/index.asp", content("web/index.asp", 0), ts(0))  # at level 0
    write(inst / "conf/site.cfg", b"site = customized\n", NOW)  # customized
    write(inst / "web/template_ext.tpl", content("web/template_int.tpl", 0), NOW)  # overridden
    write(inst / "web/login.asp", b"login customized long ago\n", ts(1) + DAY)  # bad timestamp
    write(inst / "conf/old.cfg", b"old = 4.1\n", ts(0) - 365 * DAY)  # earlier version
    return product.package, inst


def run_check(pkg_path: Path, inst: Path, level: int | None = 3) -> dict[str, list[str]]:
    with open_package(pkg_path) as pkg:
        m = pkg.manifest
        report = check_consistency(m, gather_facts(inst, m.paths), level)
    return {f.path: f.lines() for f in report.findings}


def test_every_verdict(tmp_path: Path) -> None:
    pkg, inst = scenario(tmp_path)
    assert run_check(pkg, inst) == {
        "audio/codec.dll": ["audio/codec.dll missing"],
        "web/index.asp": ["web/index.asp at patch level 0 (instead of 3)"],
        "conf/site.cfg": ["conf/site.cfg customized"],
        "web/template_ext.tpl": [
            "web/template_ext.tpl customized (overridden by file web/template_int.tpl)"
        ],
        "web/login.asp": [
            f"web/login.asp customized with incorrect timestamp (<= {iso(ts(3))})",
            "web/login.asp based on patch level 2 or below",
        ],
        "conf/old.cfg": [
            "conf/old.cfg from an earlier product version (according to its timestamp)"
        ],
    }


def test_first_run_assumes_level_0(tmp_path: Path) -> None:
    """No recorded level: level 0 is assumed, so files of installed levels are reported."""
    product = make_product(tmp_path)
    inst = tmp_path / "inst"
    install_level(product.package, inst, 3, record=False)
    with open_package(product.package) as pkg:
        m = pkg.manifest
        report = check_consistency(m, gather_facts(inst, m.paths), None)
    assert report.level == 0 and report.level_assumed
    lines = sorted(line for f in report.findings for line in f.lines())
    assert lines == [
        "audio/codec.dll at patch level 2 (instead of 0)",
        "bin/mpagent.exe at patch level 3 (instead of 0)",
        "web/index.asp at patch level 2 (instead of 0)",
        "web/login.asp at patch level 3 (instead of 0)",
        "web/new.asp at patch level 3 (instead of 0)",
    ]


def test_pristine_install_has_no_finding(tmp_path: Path) -> None:
    product = make_product(tmp_path)
    install_level(product.package, tmp_path / "inst", 5)
    assert run_check(product.package, tmp_path / "inst", 5) == {}


def test_based_on_level_follows_the_timestamp(tmp_path: Path) -> None:
    """login.asp ships at 0, 1 and 3: a customization older than level 1's file is based on
    level 0; one between levels 1 and 3 on level 2 (or below)."""
    product = make_product(tmp_path)
    inst = tmp_path / "inst"
    install_level(product.package, inst, 4)
    for mtime, based in ((ts(0) + DAY, 0), (ts(1) + DAY, 2), (ts(3), 2)):
        write(inst / "web/login.asp", b"custom\n", mtime)
        lines = run_check(product.package, inst, 4)["web/login.asp"]
        assert lines[1] == f"web/login.asp based on patch level {based} or below"
    write(inst / "web/login.asp", b"custom\n", ts(3) + 1)
    assert run_check(product.package, inst, 4)["web/login.asp"] == ["web/login.asp customized"]
    write(inst / "web/login.asp", b"custom\n", ts(0))
    assert "earlier product version" in run_check(product.package, inst, 4)["web/login.asp"][0]


def test_file_of_a_later_level_is_reported(tmp_path: Path) -> None:
    """A file only a later level ships, present already: at that level (instead of y)."""
    product = make_product(tmp_path)
    inst = tmp_path / "inst"
    install_level(product.package, inst, 1)
    write(inst / "web/new.asp", content("web/new.asp", 3), ts(3))
    assert run_check(product.package, inst, 1) == {
        "web/new.asp": ["web/new.asp at patch level 3 (instead of 1)"]
    }


def test_pure_logic_on_a_facts_mapping(tmp_path: Path) -> None:
    """classify/check_consistency need only the manifest and a facts mapping (what a remote
    gatherer returns in one round trip); the JSON form round-trips."""
    product = make_product(tmp_path)
    with open_package(product.package) as pkg:
        m = pkg.manifest
    rec = m.state(3)["web/login.asp"]
    facts: dict[str, FileFact | None] = {
        p: FileFact(r.sha256, r.size, float(r.timestamp)) for p, r in m.state(3).items()
    }
    facts["conf/site.cfg"] = FileFact("0" * 64, 10, ts(5))
    facts["lib/stable.dat"] = None
    facts["web/login.asp"] = FileFact("", 0, 0.0, "Permission denied")
    doc = json.loads(json.dumps(facts_to_json(facts)))
    again = facts_from_json(doc, "facts.json")
    assert again == facts
    report = check_consistency(m, again, 3)
    assert {f.path: f.verdict for f in report.findings} == {
        "conf/site.cfg": "customized",
        "lib/stable.dat": "missing",
        "web/login.asp": "unreadable",
    }
    assert classify(m, "web/login.asp", FileFact(rec.sha256, rec.size, 0.0), 3) is None


def test_customization_package_content_is_known(tmp_path: Path) -> None:
    """A file equal to the customization package's version valid at the current level is
    'customized' (with the package's level), whatever its timestamp."""
    product = make_product(tmp_path)
    inst = tmp_path / "inst"
    install_level(product.package, inst, 4)
    custom = make_custom(tmp_path, {4: {"conf/site.cfg": b"site = ours\n"}}, ts(4) - DAY)
    write(inst / "conf/site.cfg", b"site = ours\n", ts(4) - DAY)
    from orchestrator.patchlevel import open_custom

    with open_package(product.package) as pkg, open_custom(custom, pkg.manifest) as c:
        m = pkg.manifest
        facts = gather_facts(inst, m.paths)
        with_custom = check_consistency(m, facts, 4, c.manifest).by_path()["conf/site.cfg"]
        without = check_consistency(m, facts, 4).by_path()["conf/site.cfg"]
    assert with_custom.verdict == "customized" and with_custom.custom_level == 4
    assert without.verdict == "incorrect-timestamp"


def test_cli_check_text_json_and_read_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pkg, inst = scenario(tmp_path)
    before = snapshot(inst)
    assert main(["patch", "check", str(pkg), "--install", str(inst)]) == 0
    text = capsys.readouterr().out
    assert "Version: 4.2.7.106.3 (patch level 3, recorded in" in text
    assert "audio/codec.dll missing\n" in text
    assert "web/login.asp based on patch level 2 or below\n" in text
    assert "Done: 6 file(s) differ from the master file list" in text
    assert main(["patch", "check", str(pkg), "--install", str(inst), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["format"] == "orchestrator.patch-check/v1"
    assert doc["level"] == 3 and doc["level_source"] == "recorded"
    assert doc["counts"] == {
        "missing": 1,
        "other-level": 1,
        "customized": 1,
        "overridden": 1,
        "incorrect-timestamp": 1,
        "earlier-version": 1,
        "unreadable": 0,
    }
    login = next(f for f in doc["findings"] if f["path"] == "web/login.asp")
    assert login["based_on"] == 2 and login["expected_timestamp"] == iso(ts(3))
    assert snapshot(inst) == before
    assert not (inst / "install.log").exists()
    assert sorted(p.name for p in (inst / ".orchestrator").iterdir()) == ["patchlevel.json"]


def test_cli_check_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pkg, inst = scenario(tmp_path)
    assert main(["patch", "check", str(pkg), "--install", str(tmp_path / "nowhere")]) == 2
    assert "not a directory" in capsys.readouterr().err
    (inst / ".orchestrator/patchlevel.json").write_text("{broken")
    assert main(["patch", "check", str(pkg), "--install", str(inst)]) == 2
    assert "patchlevel.json:1:2" in capsys.readouterr().err
    (inst / ".orchestrator/patchlevel.json").write_text(
        json.dumps(
            {
                "format": "orchestrator.patch-state/v1",
                "product": "MPWEB",
                "release": "4.3.0",
                "build": 63,
                "level": 2,
            }
        )
    )
    assert main(["patch", "check", str(pkg), "--install", str(inst)]) == 2
    err = capsys.readouterr().err
    assert "the installation is MPWEB 4.3.0.63, the package is for MPWEB 4.2.7.106" in err
