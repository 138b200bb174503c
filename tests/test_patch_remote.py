"""``patch check|compat|upgrade --host HOST -i INVENTORY``: the installation is on a Linux
host reached over SSH (a real sshd on 127.0.0.2, the lab's test account owning the tree).
The remote verdicts and upgraded trees must equal the local ones for identical trees."""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from orchestrator.patchlevel import UpgradeFailed, UpgradeRefused, open_custom, open_package
from orchestrator.patchlevel import upgrade as local_upgrade
from orchestrator.patchlevel._remote import RemotePidCheck
from orchestrator.patchlevel._remote_upgrade import remote_upgrade
from orchestrator.patchlevel._source import RemoteSource
from orchestrator.patchlevel._state import read_state
from orchestrator.transports._ssh import SSHTransport

from .test_patch_kit import (
    DAY,
    T0,
    Product,
    install_level,
    make_custom,
    make_trees,
    snapshot,
    write,
)

if TYPE_CHECKING:
    from .sshd import Sshd, SshdLab

pytest_plugins = ["tests.sshd", "tests.patch_remote_fixtures"]
ROOT = Path(__file__).resolve().parent.parent


def give(lab: SshdLab, root: Path) -> None:
    """Hand a tree to the test account, as on a host."""
    account = pwd.getpwnam(lab.account.user)
    for dirpath, _, files in os.walk(root):
        for name in [dirpath, *(os.path.join(dirpath, f) for f in files)]:
            os.chown(name, account.pw_uid, account.pw_gid)


def twins(lab: SshdLab, scratch: Path, pkg: Path, level: int) -> tuple[Path, Path]:
    """Two identical installations at ``level``: one local, one "remote" (the account's)."""
    local, remote = scratch / "local", scratch / "remote"
    install_level(pkg, local, level)
    shutil.copytree(local, remote, copy_function=shutil.copy2)
    give(lab, remote)
    return local, remote


def transport(lab: SshdLab, server: Sshd) -> SSHTransport:
    return SSHTransport(
        "lx1", server.address, port=server.port, user=lab.account.user,
        key_file=lab.account.key_file, known_hosts=lab.known_hosts(server),
    )  # fmt: skip


def inventory(lab: SshdLab, server: Sshd, scratch: Path) -> Path:
    path = scratch / "inventory.yml"
    path.write_text(
        "all:\n  hosts:\n    lx1:\n"
        f"      ansible_host: {server.address}\n      ansible_port: {server.port}\n"
        f"      ansible_user: {lab.account.user}\n"
        f"      ansible_ssh_private_key_file: {lab.account.key_file}\n"
        "      orchestrator_platform: linux\n      orchestrator_accept_new_host_keys: true\n"
    )
    return path


def cli(scratch: Path, *args: str) -> tuple[int, str, str]:
    """``python -m orchestrator ...`` with HOME in ``scratch`` (its own known_hosts)."""
    home = scratch / "home"
    (home / ".ssh").mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HOME": str(home)}
    done = subprocess.run(
        [sys.executable, "-m", "orchestrator", *args],
        capture_output=True, text=True, timeout=120, cwd=ROOT, env=env,
    )  # fmt: skip
    return done.returncode, done.stdout, done.stderr


def hashes(root: Path) -> dict[str, tuple[str, int]]:
    """sha256 and whole-second mtime of every product file."""
    return {
        rel: (hashlib.sha256(data).hexdigest(), mtime // 10**9)
        for rel, (data, _, mtime) in snapshot(root).items()
        if data is not None
    }


def customize(root: Path) -> None:
    """A customized template, a file at another level, an earlier-version file."""
    write(root / "web/index.asp", b"my own index\n", T0 + 400 * DAY)
    write(root / "conf/old.cfg", b"older than old\n", T0 - DAY)


def test_remote_check_and_compat_equal_local(
    lab: SshdLab, server: Sshd, product: Product, scratch: Path
) -> None:
    local, remote = twins(lab, scratch, product.package, 2)
    for tree in (local, remote):
        customize(tree)
        write(tree / "web/login.asp", (local / "web/login.asp").read_bytes() + b"x", T0)
    give(lab, remote)
    inv = str(inventory(lab, server, scratch))
    for verb in ("check", "compat"):
        common = [verb, str(product.package), "--format", "json"]
        rc1, out1, err1 = cli(scratch, "patch", *common, "--install", str(local))
        rc2, out2, err2 = cli(scratch, "patch", *common, "--install", str(remote), "--host", "lx1",
                              "-i", inv)  # fmt: skip
        assert (rc1, rc2) == (0, 0), err1 + err2
        doc1, doc2 = json.loads(out1), json.loads(out2)
        key = "findings" if verb == "check" else "levels"
        assert doc1[key] == doc2[key] and doc1[key]
    rc, text, err = cli(scratch, "patch", "check", str(product.package), "--install", str(remote),
                        "--host", "lx1", "-i", inv)  # fmt: skip
    assert rc == 0 and f"lx1:{remote}" in text and "web/index.asp customized" in text, err


def test_facts_of_hundreds_of_files_in_one_round_trip(
    lab: SshdLab, server: Sshd, scratch: Path
) -> None:
    names = [f"many/d{i % 7}/file {i}.dat" for i in range(400)]
    trees = make_trees(scratch / "src", {0: names})
    remote = scratch / "inst"
    shutil.copytree(trees[0], remote, copy_function=shutil.copy2)
    (remote / names[3]).unlink()
    give(lab, remote)
    (remote / names[4]).chmod(0o000)  # exists, but the account cannot read it
    calls: list[int] = []
    with transport(lab, server) as t:
        real = t.file_facts

        def counting(paths: list[str], *, timeout: float = 60) -> Any:
            calls.append(len(paths))
            return real(paths, timeout=timeout)

        t.file_facts = counting  # type: ignore[method-assign]
        facts = RemoteSource("lx1", t, str(remote)).facts(names)
    assert calls == [400]
    assert facts[names[3]] is None
    unreadable = facts[names[4]]
    assert unreadable is not None and unreadable.error == "permission denied"
    f = facts[names[5]]
    assert f is not None
    assert f.sha256 == hashlib.sha256((remote / names[5]).read_bytes()).hexdigest()
    assert f.mtime_s == int((remote / names[5]).stat().st_mtime)


@pytest.mark.parametrize("with_custom", [False, True])
def test_remote_upgrade_equals_local(
    lab: SshdLab, server: Sshd, product: Product, scratch: Path, with_custom: bool
) -> None:
    local, remote = twins(lab, scratch, product.package, 1)
    args: list[str] = []
    if with_custom:
        mine = b"customized index\n"
        for tree in (local, remote):
            write(tree / "web/index.asp", mine, T0 + 400 * DAY)
        give(lab, remote)
        files = {2: {"web/index.asp": b"custom index for 2\n"}, 5: {"web/index.asp": mine}}
        args = ["--custom", str(make_custom(scratch / "c", files, T0 + 500 * DAY))]
    with open_package(product.package) as pkg:
        custom = open_custom(Path(args[1])) if args else None
        local_upgrade(pkg, local, 5, custom=custom)
        if custom:
            custom.close()
    inv = str(inventory(lab, server, scratch))
    rc, out, err = cli(scratch, "patch", "upgrade", str(product.package), "--install", str(remote),
                       "--to", "5", "--host", "lx1", "-i", inv, *args)  # fmt: skip
    assert rc == 0, err
    assert "5" in out
    assert hashes(remote) == hashes(local)
    state = read_state(remote)
    assert state is not None and state.level == 5
    log = (remote / "install.log").read_text()
    assert "upgrade to patch level 5 done" in log and "level 3: added web/new.asp" in log
    assert not list((remote / ".orchestrator").glob("staging-*"))


def test_failure_mid_upgrade_rolls_back_byte_identically(
    lab: SshdLab, server: Sshd, product: Product, scratch: Path
) -> None:
    _, remote = twins(lab, scratch, product.package, 1)
    (remote / "conf").chmod(0o555)  # conf/site.cfg (level 4) cannot be replaced
    before = snapshot(remote)
    state_before = (remote / ".orchestrator/patchlevel.json").read_bytes()
    with open_package(product.package) as pkg, transport(lab, server) as t:
        src = RemoteSource("lx1", t, str(remote))
        with pytest.raises(UpgradeFailed, match="rolled back to patch level 1"):
            remote_upgrade(pkg, src, 5, services=RemotePidCheck(t, str(remote)))
    (remote / "conf").chmod(0o755)
    after = snapshot(remote)
    after["conf"] = before["conf"] = (None, 0, after["conf"][2])
    assert after == before
    assert (remote / ".orchestrator/patchlevel.json").read_bytes() == state_before
    assert "rolled back" in (remote / "install.log").read_text()


def test_refused_while_a_listed_pid_is_alive(
    lab: SshdLab, server: Sshd, product: Product, scratch: Path
) -> None:
    _, remote = twins(lab, scratch, product.package, 1)
    write(remote / ".orchestrator/services.pid", f"# mpwebd\n{os.getpid()}\n".encode(), T0)
    give(lab, remote)
    before = snapshot(remote)
    inv = str(inventory(lab, server, scratch))
    rc, _, err = cli(scratch, "patch", "upgrade", str(product.package), "--install", str(remote),
                     "--to", "3", "--host", "lx1", "-i", inv)  # fmt: skip
    assert rc == 7 and "services are running" in err and f"pid {os.getpid()}" in err
    assert snapshot(remote) == before
    assert "refused" in (remote / "install.log").read_text()
    with (
        open_package(product.package) as pkg,
        transport(lab, server) as t,
        pytest.raises(UpgradeRefused),
    ):
        remote_upgrade(
            pkg, RemoteSource("lx1", t, str(remote)), 3, services=RemotePidCheck(t, str(remote))
        )


def test_hostile_file_name_survives(lab: SshdLab, server: Sshd, scratch: Path) -> None:
    from orchestrator.patchlevel import build_package

    evil = 'web/it\'s $(touch pwned) `id` "x" & y; z.asp'
    trees = make_trees(scratch / "src", {0: [evil, "lib/a.dat"], 1: [evil]})
    pkg_path, _ = build_package("MPWEB", "4.2.7", 106, trees[0], {1: trees[1]}, scratch / "d")
    _, remote = twins(lab, scratch, pkg_path, 0)
    inv = str(inventory(lab, server, scratch))
    rc, out, err = cli(scratch, "patch", "check", str(pkg_path), "--install", str(remote),
                       "--host", "lx1", "-i", inv, "--format", "json")  # fmt: skip
    assert rc == 0 and json.loads(out)["findings"] == [], err
    rc, out, err = cli(scratch, "patch", "upgrade", str(pkg_path), "--install", str(remote),
                       "--to", "1", "--host", "lx1", "-i", inv)  # fmt: skip
    assert rc == 0, err
    assert (remote / evil).read_bytes() == (trees[1] / evil).read_bytes()
    home = Path(pwd.getpwnam(lab.account.user).pw_dir)
    assert not list(scratch.rglob("pwned")) and not (home / "pwned").exists()


def test_bad_host_and_unreachable_host(
    lab: SshdLab, server: Sshd, product: Product, scratch: Path
) -> None:
    inv = inventory(lab, server, scratch)
    base = ["patch", "check", str(product.package), "--install", "/tmp"]
    rc, _, err = cli(scratch, *base, "--host", "nosuch", "-i", str(inv))
    assert rc == 2 and "nosuch" in err and "Traceback" not in err
    rc, _, err = cli(scratch, *base, "--host", "lx1")
    assert rc == 2 and "--inventory" in err
    inv.write_text(inv.read_text().replace(f"ansible_port: {server.port}", "ansible_port: 1"))
    rc, _, err = cli(scratch, *base, "--host", "lx1", "-i", str(inv))
    assert rc != 0 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
