"""The lease covers the hosts, not the journal file or the inventory's spelling: two real
runs (over real sshd) on the same host, one with ``-i inventory`` and one with
``-i inventory/hosts.yml``, or with another journal, never run at once."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.engine._lease import default_lease_path, leases

from .enginekit import ROOT

if TYPE_CHECKING:
    from .sshd import Sshd, SshdLab

pytest_plugins = ["tests.sshd"]


def _setup(lab: SshdLab, server: Sshd, work: Path) -> tuple[Path, Path]:
    """An inventory folder with ``lx1`` on ``server``, and a playbook whose pre hook counts
    its runs on the host and holds the run for a few seconds."""
    inventory = work / "inventory"
    inventory.mkdir()
    (inventory / "hosts.yml").write_text(
        "all:\n  hosts:\n    lx1:\n"
        f"      ansible_host: {server.address}\n      ansible_port: {server.port}\n"
        f"      ansible_user: {lab.account.user}\n"
        f"      ansible_ssh_private_key_file: {lab.account.key_file}\n"
        "      orchestrator_platform: linux\n      orchestrator_accept_new_host_keys: true\n"
    )
    counter = work / "host" / "hook-runs"
    book = work / "hold.yml"
    book.write_text(
        "name: hold the host\n"
        "package: {name: app, kind: exe, source: /bin/true}\n"
        "targets: [lx1]\n"
        "reboot: never\n"
        f"hooks:\n  pre:\n    - {{name: hold, run: 'set -e; echo run >> {counter}; sleep 4'}}\n"
    )
    return inventory, book


def _env(work: Path) -> dict[str, str]:
    home = work / "home"
    (home / ".ssh").mkdir(parents=True, exist_ok=True)
    return {**os.environ, "HOME": str(home)}


def _apply(book: Path, inventory: Path, journal: Path) -> list[str]:
    return [
        sys.executable, "-m", "orchestrator", "apply", str(book), "-i", str(inventory),
        "--yes", "--progress", "none", "--journal", str(journal),
    ]  # fmt: skip


def test_two_spellings_and_two_journals_one_host_exactly_one_runs(
    lab: SshdLab, start_sshd: Callable[[str], Sshd], request: Any
) -> None:
    work = Path(tempfile.mkdtemp(prefix="orch-lease-", dir="/tmp"))
    request.addfinalizer(lambda: shutil.rmtree(work, ignore_errors=True))
    work.chmod(0o755)  # the test account reaches its folder
    (work / "host").mkdir()
    account = pwd.getpwnam(lab.account.user)
    os.chown(work / "host", account.pw_uid, account.pw_gid)
    server = start_sshd("127.0.0.2")
    inventory, book = _setup(lab, server, work)
    counter = work / "host" / "hook-runs"
    env = _env(work)
    first = subprocess.Popen(
        _apply(book, inventory, work / "one.sqlite"), cwd=ROOT, env=env,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not (counter.exists() and counter.read_text()):
            if first.poll() is not None:
                raise AssertionError("\n".join(first.communicate()))
            assert time.monotonic() < deadline, "the first run never reached its hook"
            time.sleep(0.05)
        others = [
            (inventory / "hosts.yml", work / "one.sqlite"),  # another spelling, same journal
            (inventory / "hosts.yml", work / "two.sqlite"),  # another spelling and journal
            (inventory, work / "three.sqlite"),  # the same spelling, another journal
        ]
        for spelling, journal in others:
            second = subprocess.run(
                _apply(book, spelling, journal), cwd=ROOT, env=env, capture_output=True,
                text=True, timeout=60,
            )  # fmt: skip
            assert second.returncode == 5, second.stderr
            assert "Traceback" not in second.stderr
            assert f"pid {first.pid}" in second.stderr and "in use by run" in second.stderr
            assert "host:lx1" in second.stderr or "address:127.0.0.2" in second.stderr
        _, err = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert "Traceback" not in err
    assert first.returncode in (0, 1), err  # the run itself is not the point
    assert counter.read_text() == "run\n"  # the hook ran once: only one run reached the host
    assert leases(default_lease_path()) == []  # released at the end
