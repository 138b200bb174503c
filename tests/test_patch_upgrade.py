"""Upgrading to a patch level: the resulting tree, customizations re-applied, refusals
(services running, customizations that would break) and --force, install.log, the state
file, and failures injected mid-upgrade rolling back byte-identically."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from orchestrator.cli import main
from orchestrator.patchlevel import (
    CommandCheck,
    PidFileCheck,
    UpgradeFailed,
    UpgradeRefused,
    _txn,
    open_custom,
    open_package,
    read_state,
    upgrade,
)
from tests.test_patch_kit import (
    PKG_NAME,
    content,
    install_level,
    make_custom,
    make_product,
    snapshot,
    ts,
    write,
)

NOW = time.time()


def expected_tree(pkg_path: Path, level: int) -> dict[str, tuple[bytes, int]]:
    with open_package(pkg_path) as pkg:
        m = pkg.manifest
        return {
            rel: (content(rel, m.changed_at(rel, level) or 0), rec.timestamp)
            for rel, rec in m.state(level).items()
        }


def files_of(inst: Path) -> dict[str, tuple[bytes, int]]:
    return {k: (v[0], v[2] // 1_000_000_000) for k, v in snapshot(inst).items() if v[0] is not None}


def run_upgrade(pkg_path: Path, inst: Path, to: int, **kw: Any) -> Any:
    custom_path = kw.pop("custom", None)
    with open_package(pkg_path) as pkg:
        if custom_path is None:
            return upgrade(pkg, inst, to, **kw)
        with open_custom(custom_path, pkg.manifest) as custom:
            return upgrade(pkg, inst, to, custom=custom, **kw)


def test_upgrade_without_customizations(tmp_path: Path) -> None:
    product = make_product(tmp_path)
    inst = tmp_path / "inst"
    install_level(product.package, inst, 1)
    result = run_upgrade(product.package, inst, 5)
    assert files_of(inst) == expected_tree(product.package, 5)
    assert not (inst / "lib/legacy.dat").exists()
    assert [(s.level, s.replaced, s.added, s.removed) for s in result.levels] == [
        (2, 2, 0, 0),
        (3, 2, 1, 0),
        (4, 1, 0, 1),
        (5, 2, 0, 0),
    ]
    state = read_state(inst)
    assert state is not None and (state.level, state.version) == (5, "4.2.7.106.5")
    assert state.package == PKG_NAME
    log = (inst / "install.log").read_text()
    assert "current patch level 1 (recorded); target level 5" in log
    assert "level 3: added web/new.asp" in log
    assert "level 4: removed lib/legacy.dat" in log
    assert "This system is compatible with all patch levels." in log
    assert "recorded patch level 5 (version 4.2.7.106.5)" in log
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ", line) for line in log.splitlines())


def test_first_run_and_missing_optional_files(tmp_path: Path) -> None:
    """No recorded level: level 0 assumed, levels 1..N applied; a file missing at the start
    (an optional component not installed) stays missing."""
    product = make_product(tmp_path)
    inst = tmp_path / "inst"
    install_level(product.package, inst, 0, record=False)
    (inst / "audio/codec.dll").unlink()
    result = run_upgrade(product.package, inst, 3)
    assert result.level_assumed and result.from_level == 0
    expected = expected_tree(product.package, 3)
    del expected["audio/codec.dll"]
    assert files_of(inst) == expected
    assert result.levels[1].skipped == ["audio/codec.dll"]
    assert (
        "current patch level 0 (assumed: no level recorded)" in (inst / "install.log").read_text()
    )


def test_upgrade_reapplies_customizations(tmp_path: Path) -> None:
    product = make_product(tmp_path)
    inst = tmp_path / "inst"
    install_level(product.package, inst, 3)
    write(inst / "conf/site.cfg", b"site = ours\n", NOW)
    custom = make_custom(
        tmp_path,
        {4: {"conf/site.cfg": b"site = ours, for 4\n", "web/extra.asp": b"an extension\n"}},
        NOW,
    )
    result = run_upgrade(product.package, inst, 5, custom=custom)
    assert result.customizations == [("conf/site.cfg", 4), ("web/extra.asp", 4)]
    expected = expected_tree(product.package, 5)
    expected["conf/site.cfg"] = (b"site = ours, for 4\n", int(NOW))
    expected["web/extra.asp"] = (b"an extension\n", int(NOW))
    assert files_of(inst) == expected
    log = (inst / "install.log").read_text()
    assert "re-applied customization of conf/site.cfg (made for level 4)" in log


def test_refuses_to_break_customizations_then_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    product = make_product(tmp_path)
    inst = tmp_path / "inst"
    install_level(product.package, inst, 3)
    write(inst / "conf/site.cfg", b"site = ours\n", NOW)
    before = snapshot(inst)
    args = ["patch", "upgrade", str(product.package), "--install", str(inst), "--to", "4"]
    assert main(args) == 7
    err = capsys.readouterr().err
    assert (
        "would break the customizations of 1 file(s): conf/site.cfg needs its customization "
        "updated; compatible level(s): none; send"
    ) in err
    assert "or pass --force" in err
    assert snapshot(inst) == before
    log = (inst / "install.log").read_text()
    assert "conf/site.cfg needs its customization updated" in log
    assert "refused: level 4 would break customizations of: conf/site.cfg" in log
    assert main([*args, "--force"]) == 0
    out = capsys.readouterr().out
    assert "forced: these files lost their customizations: conf/site.cfg" in out
    assert files_of(inst) == expected_tree(product.package, 4)
    state = read_state(inst)
    assert state is not None and state.level == 4


def test_refuses_while_services_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    product = make_product(tmp_path)
    inst = tmp_path / "inst"
    install_level(product.package, inst, 1)
    before = snapshot(inst)
    pidfile = inst / ".orchestrator/services.pid"
    pidfile.write_text(f"# the web service\n{os.getpid()}\n")
    assert PidFileCheck(inst).running()
    args = ["patch", "upgrade", str(product.package), "--install", str(inst), "--to", "2"]
    assert main(args) == 7
    assert "the product's services are running (pid" in capsys.readouterr().err
    assert snapshot(inst) == before
    assert "refused: the product's services are running" in (inst / "install.log").read_text()
    for check, refused in (("exit 0", True), ("exit 3", True), ("exit 1", False)):
        code = main([*args, "--services-running-check", check])
        assert code == (7 if refused else 0), check
    assert "cannot tell" in CommandCheck("exit 3").running()[0]


def test_dead_pid_does_not_block(tmp_path: Path) -> None:
    product = make_product(tmp_path)
    inst = tmp_path / "inst"
    install_level(product.package, inst, 1)
    (inst / ".orchestrator/services.pid").write_text(f"{os.getpid()}\n")
    with pytest.raises(UpgradeRefused, match="services are running"):
        run_upgrade(product.package, inst, 2)
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    (inst / ".orchestrator/services.pid").write_text(f"{proc.pid}\n")
    assert run_upgrade(product.package, inst, 2).to_level == 2


def test_bad_pid_file_is_input_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    product = make_product(tmp_path)
    inst = tmp_path / "inst"
    install_level(product.package, inst, 1)
    (inst / ".orchestrator/services.pid").write_text("12\nweb\n")
    args = ["patch", "upgrade", str(product.package), "--install", str(inst), "--to", "2"]
    assert main(args) == 2
    assert "services.pid:2: expected a process id, found 'web'" in capsys.readouterr().err


def count_replaces(pkg: Path, tmp_path: Path) -> int:
    inst = tmp_path / "probe"
    install_level(pkg, inst, 1)
    real = os.replace
    calls = [0]

    def counting(src: Any, dst: Any) -> None:
        calls[0] += 1
        real(src, dst)

    mp = pytest.MonkeyPatch()
    mp.setattr(os, "replace", counting)
    try:
        run_upgrade(pkg, inst, 5)
    finally:
        mp.undo()
    return calls[0]


@pytest.fixture(scope="module")
def replace_calls(tmp_path_factory: pytest.TempPathFactory) -> int:
    root = tmp_path_factory.mktemp("count")
    return count_replaces(make_product(root).package, root)


@pytest.mark.parametrize("k", [1, 2, 3, 5, 8, -2, -1])
def test_failure_mid_upgrade_rolls_back_byte_identically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, replace_calls: int, k: int
) -> None:
    """os.replace fails on the k-th call (every stage: backup metadata, files of each level,
    the state file, the final mark): the tree is what it was, timestamps included."""
    product = make_product(tmp_path)
    inst = tmp_path / "inst"
    install_level(product.package, inst, 1)
    (inst / "install.log").write_text("")
    before = snapshot(inst)
    state_before = (inst / ".orchestrator/patchlevel.json").read_bytes()
    fail_at = k if k > 0 else replace_calls + 1 + k
    real = os.replace
    calls = [0]

    def failing(src: Any, dst: Any) -> None:
        calls[0] += 1
        if calls[0] == fail_at:
            raise OSError(28, "No space left on device")
        real(src, dst)

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(UpgradeFailed, match="rolled back to patch level 1"):
        run_upgrade(product.package, inst, 5)
    monkeypatch.undo()
    assert snapshot(inst) == before
    assert (inst / ".orchestrator/patchlevel.json").read_bytes() == state_before
    assert "rolling back to patch level 1" in (inst / "install.log").read_text()
    assert _txn.pending(inst) == []


def test_corrupt_payload_rolls_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A package whose level-3 file does not match its manifest fails mid-upgrade."""
    product = make_product(tmp_path)
    bad = tmp_path / "bad" / PKG_NAME
    bad.parent.mkdir()
    with zipfile.ZipFile(product.package) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "level-03/web/login.asp":
                data = b"tampered"
            dst.writestr(info, data)
    inst = tmp_path / "inst"
    install_level(product.package, inst, 1)
    before = snapshot(inst)
    args = ["patch", "upgrade", str(bad), "--install", str(inst), "--to", "5"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "does not match its manifest" in err and "rolled back to patch level 1" in err
    assert snapshot(inst) == before
    state = read_state(inst)
    assert state is not None and state.level == 1


@pytest.mark.parametrize("at", [6, 0])
def test_interrupted_upgrade_is_rolled_back_first(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    replace_calls: int,
    at: int,
) -> None:
    """A crash mid-upgrade (simulated: the rollback never runs) leaves a journal; check
    warns about it, the next upgrade replays it first. At 0: the crash comes after the new
    level was recorded, just before the upgrade is marked done: the state file is rolled
    back too, and the next upgrade starts from the old level."""
    product = make_product(tmp_path)
    inst = tmp_path / "inst"
    install_level(product.package, inst, 1)
    (inst / "install.log").write_text("")
    before = snapshot(inst)
    real = os.replace
    calls = [0]

    def crash(src: Any, dst: Any) -> None:
        calls[0] += 1
        if calls[0] == (at or replace_calls):
            raise KeyboardInterrupt
        real(src, dst)

    monkeypatch.setattr(os, "replace", crash)
    monkeypatch.setattr(_txn.Transaction, "rollback", lambda self: 0)
    with pytest.raises(KeyboardInterrupt):
        run_upgrade(product.package, inst, 5)
    monkeypatch.undo()
    assert snapshot(inst) != before
    [journal] = _txn.pending(inst)
    assert main(["patch", "check", str(product.package), "--install", str(inst)]) == 0
    assert f"interrupted upgrade ({journal.name})" in capsys.readouterr().out
    if at == 0:
        state = read_state(inst)
        assert state is not None and state.level == 5
    result = run_upgrade(product.package, inst, 2)
    assert result.recovered == [journal] and result.from_level == 1
    assert files_of(inst) == expected_tree(product.package, 2)
    assert _txn.read_meta(journal)["status"] == "rolled-back"
    assert "rolled back interrupted upgrade" in (inst / "install.log").read_text()


def test_level_bounds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    product = make_product(tmp_path)
    inst = tmp_path / "inst"
    install_level(product.package, inst, 3)
    base = ["patch", "upgrade", str(product.package), "--install", str(inst)]
    assert main([*base, "--to", "9"]) == 2
    assert "the package has patch levels 0..5" in capsys.readouterr().err
    assert main([*base, "--to", "2"]) == 2
    assert "no downgrade" in capsys.readouterr().err
    assert main([*base, "--to", "3"]) == 0
    assert "already at patch level 3; nothing to do" in capsys.readouterr().out
    assert main([*base, "--to", "4", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["format"] == "orchestrator.patch-upgrade/v1"
    assert (doc["from_level"], doc["to_level"], doc["version"]) == (3, 4, "4.2.7.106.4")
    assert Path(doc["backup"]).is_dir()
    assert (Path(doc["backup"]) / "files/conf/site.cfg").read_bytes() == content("conf/site.cfg", 0)
    assert int((inst / "conf/site.cfg").stat().st_mtime) == ts(4)
