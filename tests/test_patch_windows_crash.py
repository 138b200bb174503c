"""A Windows upgrade whose PowerShell process dies mid-way (``tests.psmini`` kills the
emulated interpreter at a chosen call: no catch, no finally runs). The WinRM transport re-runs
the request in a fresh interpreter; the re-run finds the upgrade's own lock and the
controller rolls the dead run back at once from its ``plan.json`` and backups: files, mtimes,
folders and registry as before. When the re-run dies too, the lock stays; ``check`` warns
and the next upgrade rolls back first, then upgrades like a local one."""

from __future__ import annotations

import pytest

from orchestrator.patchlevel import open_package
from orchestrator.patchlevel import upgrade as local_upgrade

from .patch_windows_fixtures import INSTALL, KEY, Web1, cli, hashes, ntfs, remote_args

pytest_plugins = ["tests.patch_windows_fixtures"]

#: (call, path fragment, skip): where the interpreter dies, spread over the upgrade.
POINTS = [
    ("Open", "upgrade.lock", 0),  # taking the lock (the re-run does the upgrade)
    ("Copy", "login.asp", 0),  # staged copy of the first file
    ("Replace", "login.asp", 0),  # the first swap
    ("CreateDirectory", "backups", 1),  # just after the lock (skip the controller's mkdir)
    ("Move", "\\files\\", 1),  # the second backup being renamed from .part
    ("Move", "new.asp", 0),  # a new file moved in
    ("Delete", "legacy.dat", 0),  # a removed file
    ("SetLastWriteTimeUtc", "index.asp", 1),  # an mtime after a swap
    ("New-ItemProperty", "MPWEB", 2),  # the registry, half written
]


def upgrade(web1: Web1, capsys: pytest.CaptureFixture[str], to: int) -> tuple[int, str, str]:
    return cli(capsys, *remote_args(web1, "upgrade", "--to", str(to), "--service", "W3SVC"))


@pytest.mark.parametrize(("call", "where", "skip"), POINTS)
def test_an_interpreter_that_dies_mid_upgrade_is_rolled_back_at_once(
    web1: Web1, capsys: pytest.CaptureFixture[str], call: str, where: str, skip: int
) -> None:
    twin = web1.install(1)
    web1.stop_services()
    before, registry = ntfs(web1.root), web1.host.reg_values(KEY)
    web1.host.crash(call, where, skip=skip)
    status, _, err = upgrade(web1, capsys, 5)
    assert web1.host.crashes, f"{call} on {where} never ran"
    with open_package(web1.product.package) as pkg:
        local_upgrade(pkg, twin, 5)
    if call == "Open":  # died before it took the lock: nothing changed, the re-run did it
        assert status == 0, err
        assert hashes(web1.root) == hashes(twin)
        return
    assert status == 1, err
    assert "interrupted on the host" in err and "rolled back to patch level 1" in err
    assert ntfs(web1.root) == before
    assert web1.host.reg_values(KEY) == registry
    state = web1.root / ".orchestrator"
    assert not (state / "upgrade.lock").exists()
    assert not [p for p in state.iterdir() if p.name.startswith("staging-")]
    status, _, err = upgrade(web1, capsys, 5)
    assert status == 0, err
    assert hashes(web1.root) == hashes(twin)
    assert web1.host.reg_values(KEY)["PatchLevel"] == ("DWord", 5)  # type: ignore[index]


def test_a_lock_left_behind_is_reported_then_rolled_back_by_the_next_upgrade(
    web1: Web1, capsys: pytest.CaptureFixture[str]
) -> None:
    twin = web1.install(2)
    web1.stop_services()
    before, registry = ntfs(web1.root), web1.host.reg_values(KEY)
    web1.host.crash("Replace", "index.asp")  # the upgrade dies mid-way...
    web1.host.crash("Open", "upgrade.lock")  # ...and so does the transport's re-run
    status, _, err = upgrade(web1, capsys, 5)
    assert status == 1 and len(web1.host.crashes) == 2, err
    assert (web1.root / ".orchestrator" / "upgrade.lock").exists()
    assert ntfs(web1.root) != before
    status, out, err = cli(capsys, *remote_args(web1, "check"))
    assert status == 0 and "Warning: an interrupted upgrade" in out, err
    web1.services_running()
    status, _, err = upgrade(web1, capsys, 2)
    assert status == 7 and "interrupted and must be rolled back" in err
    web1.stop_services()
    status, out, err = upgrade(web1, capsys, 2)  # to the level it had: undo only
    assert status == 0 and "Rolled back interrupted upgrade" in out, err
    assert ntfs(web1.root) == before
    assert web1.host.reg_values(KEY) == registry
    status, _, err = upgrade(web1, capsys, 5)
    assert status == 0, err
    with open_package(web1.product.package) as pkg:
        local_upgrade(pkg, twin, 5)
    assert hashes(web1.root) == hashes(twin)
    log = (web1.root / "install.log").read_bytes().decode()
    assert "recovered an interrupted upgrade" in log


def test_an_upgrade_whose_process_still_runs_is_not_touched(
    web1: Web1, capsys: pytest.CaptureFixture[str]
) -> None:
    web1.install(1)
    web1.stop_services()
    other = 777
    web1.host.live_pids.add(other)
    lock = web1.host.path(INSTALL + "\\.orchestrator\\upgrade.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(f"20261121T000000Z-9-level-1-to-5 {other}")
    before = ntfs(web1.root)
    status, _, err = upgrade(web1, capsys, 5)
    assert status == 7 and f"pid {other}" in err and "another upgrade" in err
    assert ntfs(web1.root) == before and lock.exists()
