"""A remote upgrade that dies on the host (the script SIGKILLed at points spread over its
run, as a crash, a timeout or a lost machine would stop it) leaves its lock, its
``plan.json`` and its backups. The controller rolls it back at once; if the controller is
gone too, ``check`` warns and the next upgrade rolls it back first. Either way the product
tree is byte-identical to before (content, modes, mtimes, folders), then the new upgrade
equals a local one. A lock whose process still runs refuses the upgrade. Real sshd on
127.0.0.2."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from orchestrator.patchlevel import (
    UpgradeFailed,
    UpgradeRefused,
    _remote_script,
    _remote_upgrade,
    open_package,
)
from orchestrator.patchlevel import upgrade as local_upgrade
from orchestrator.patchlevel._remote import RemotePidCheck
from orchestrator.patchlevel._remote_upgrade import remote_upgrade
from orchestrator.patchlevel._source import RemoteSource
from orchestrator.patchlevel._state import read_state

from .test_patch_kit import Product, snapshot
from .test_patch_remote import cli, give, hashes, inventory, transport, twins

if TYPE_CHECKING:
    from .sshd import Sshd, SshdLab

pytest_plugins = ["tests.sshd", "tests.patch_remote_fixtures"]

#: Where the kill lands, as a fraction of the script's working lines.
POINTS = (0.0, 0.13, 0.3, 0.5, 0.71, 0.9, 0.99)


def crashing(fraction: float, hits: list[int]) -> object:
    """An ``upgrade_script`` that SIGKILLs its own shell before the given fraction of the
    lines that change the tree."""
    real = _remote_script.upgrade_script

    def script(*args: object, **kwargs: object) -> str:
        text = real(*args, **kwargs)  # type: ignore[arg-type]
        lines = text.splitlines(keepends=True)
        first = next(i for i, line in enumerate(lines) if 'dirs/recorded"' in line) + 1
        last = max(i for i, line in enumerate(lines) if line.startswith('rm -f -- "$K"'))
        at = first + int(fraction * (last - first))
        hits.append(at)
        return "".join([*lines[:at], "kill -9 $$\n", *lines[at:]])

    return script


@pytest.mark.parametrize("fraction", POINTS[1::2])
def test_a_killed_upgrade_is_rolled_back_at_once(
    lab: SshdLab,
    server: Sshd,
    product: Product,
    scratch: Path,
    fraction: float,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    local, remote = twins(lab, scratch, product.package, 1)
    before = snapshot(remote)
    with open_package(product.package) as pkg, transport(lab, server) as t:
        src = RemoteSource("lx1", t, str(remote))
        pids = RemotePidCheck(t, str(remote))
        monkeypatch.setattr(_remote_script, "upgrade_script", crashing(fraction, []))
        with pytest.raises(UpgradeFailed, match=r"interrupted on the host.*patch level 1"):
            remote_upgrade(pkg, src, 5, services=pids)
        monkeypatch.undo()
        assert snapshot(remote) == before
        assert not (remote / ".orchestrator/upgrade.lock").exists()
        remote_upgrade(pkg, src, 5, services=pids)
        local_upgrade(pkg, local, 5)
    assert hashes(remote) == hashes(local)


def controller_dies(*args: object) -> None:
    """The controller is gone before it could roll back what the host left."""
    raise UpgradeFailed("the controller died")


@pytest.mark.parametrize("fraction", POINTS)
def test_a_killed_upgrade_left_behind_is_rolled_back_by_the_next_one(
    lab: SshdLab,
    server: Sshd,
    product: Product,
    scratch: Path,
    fraction: float,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    local, remote = twins(lab, scratch, product.package, 1)
    before = snapshot(remote)
    state = (remote / ".orchestrator/patchlevel.json").read_bytes()
    hits: list[int] = []
    with open_package(product.package) as pkg, transport(lab, server) as t:
        src = RemoteSource("lx1", t, str(remote))
        pids = RemotePidCheck(t, str(remote))
        monkeypatch.setattr(_remote_script, "upgrade_script", crashing(fraction, hits))
        monkeypatch.setattr(_remote_upgrade, "interrupted_now", controller_dies)
        with pytest.raises(UpgradeFailed):
            remote_upgrade(pkg, src, 5, services=pids)
        monkeypatch.undo()
        assert hits and (remote / ".orchestrator/upgrade.lock").exists()
        if fraction >= 0.3:  # the kill landed after the tree started to change
            assert snapshot(remote) != before
        inv = str(inventory(lab, server, scratch))
        rc, out, err = cli(scratch, "patch", "check", str(product.package), "--install",
                           str(remote), "--host", "lx1", "-i", inv)  # fmt: skip
        assert rc == 0 and "Warning: an interrupted upgrade" in out, err
        back = remote_upgrade(pkg, src, 1, services=pids)  # to the level it had: undo only
        assert back.recovered and back.recovered[0].name in out
        assert snapshot(remote) == before
        assert (remote / ".orchestrator/patchlevel.json").read_bytes() == state
        assert not (remote / ".orchestrator/upgrade.lock").exists()
        remote_upgrade(pkg, src, 5, services=pids)
        local_upgrade(pkg, local, 5)
    assert hashes(remote) == hashes(local)
    recorded = read_state(remote)
    assert recorded is not None and recorded.level == 5
    log = (remote / "install.log").read_text()
    assert "rolled back the interrupted upgrade" in log and "recovered an interrupted" in log


def test_the_next_upgrade_recovers_and_goes_on_in_one_call(
    lab: SshdLab,
    server: Sshd,
    product: Product,
    scratch: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    local, remote = twins(lab, scratch, product.package, 2)
    with open_package(product.package) as pkg, transport(lab, server) as t:
        src = RemoteSource("lx1", t, str(remote))
        pids = RemotePidCheck(t, str(remote))
        monkeypatch.setattr(_remote_script, "upgrade_script", crashing(0.6, []))
        monkeypatch.setattr(_remote_upgrade, "interrupted_now", controller_dies)
        with pytest.raises(UpgradeFailed):
            remote_upgrade(pkg, src, 4, services=pids)
        monkeypatch.undo()
        result = remote_upgrade(pkg, src, 5, services=pids)
        local_upgrade(pkg, local, 5)
    assert result.recovered and result.from_level == 2 and result.to_level == 5
    assert hashes(remote) == hashes(local)


def test_a_lock_whose_process_runs_refuses_the_upgrade(
    lab: SshdLab, server: Sshd, product: Product, scratch: Path
) -> None:
    _, remote = twins(lab, scratch, product.package, 1)
    lock = remote / ".orchestrator/upgrade.lock"
    lock.write_text(f"20261121T000000Z-1-level-1-to-5 {os.getpid()}\n")
    give(lab, remote)
    before = snapshot(remote)
    with (
        open_package(product.package) as pkg,
        transport(lab, server) as t,
        pytest.raises(UpgradeRefused, match=f"another upgrade .* pid {os.getpid()}"),
    ):
        src = RemoteSource("lx1", t, str(remote))
        remote_upgrade(pkg, src, 5, services=RemotePidCheck(t, str(remote)))
    assert snapshot(remote) == before and lock.exists()
