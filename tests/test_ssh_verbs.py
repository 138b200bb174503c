"""Real verbs through real sshd: the engine runs a small Linux plan through the transport
driver and the SSH transport against OpenSSH on 127.0.0.2 (files preserved and restored, an
install by command, a hook, checks); a second run of the same plan finds every action
already in effect, and a failing verb is a clear fatal error."""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.engine._clock import RealClock
from orchestrator.engine._engine import Engine, EngineOptions
from orchestrator.engine._journal import Journal
from orchestrator.engine._observers import Recorder
from orchestrator.engine._retry import RetryPolicy
from orchestrator.plan import Action, Plan
from orchestrator.transports._driver import TransportDriver
from orchestrator.transports._ssh import SSHTransport

if TYPE_CHECKING:
    from .sshd import Sshd, SshdLab

pytest_plugins = ["tests.sshd"]


def _plan(work: Path) -> Plan:
    """Names are unique per test run: the host remembers what it installed and ran."""
    conf, marker, app = work / "app.conf", work / "installed-1.2", f"app-{work.name}"
    actions = [
        ("pre/disk", "preflight", {"check": "disk-space", "path": str(work), "min_free_mb": 1}),
        ("keep", "preserve_files", {"files": [str(conf)]}),
        (
            "install",
            "install",
            {
                "package": app,
                "version": "1.2",
                "package_kind": "deb",
                "command": f"echo standard > '{conf}' && touch '{marker}'",
                "check": f"test -e '{marker}'",
            },
        ),
        ("restore", "restore_files", {"files": [str(conf)]}),
        ("hook", "hook", {"stage": "post", "name": app, "run": f"echo done >> '{work}/hook.log'"}),
    ]
    out: list[Action] = []
    for i, (aid, kind, params) in enumerate(actions):
        after = (out[-1].id,) if out else ()
        out.append(Action(f"lx1/{aid}", kind, "lx1", None, params, after, 1, "tier-1", aid))
        del i
    facts = {"hosts": {"lx1": {"platform": "linux", "connection": {"kind": "ssh"}}}}
    return Plan({"name": "linux"}, {}, facts, tuple(out), {}, {})


def _run(
    plan: Plan, connect: Callable[[str], SSHTransport], journal: Journal, scope: str = ""
) -> dict[str, str]:
    run_id = journal.create_run(plan.to_json(), plan, {}, RealClock().now())
    scope = scope or str(plan.to_document()["fingerprint"])[7:23]
    driver = TransportDriver(plan.facts, connect, scope=scope)
    try:
        options = EngineOptions(forks=2, policy=RetryPolicy(2, 0.1, 0.2))
        engine = Engine(plan, run_id, journal, driver, RealClock(), Recorder(), options)
        engine.run()
    finally:
        driver.close()
    return {aid: rec.state for aid, rec in journal.actions(run_id).items()}


def test_a_linux_plan_over_ssh_then_again_finds_everything_in_effect(
    lab: SshdLab, start_sshd: Callable[[str], Sshd], tmp_path: Path, request: Any
) -> None:
    # the test account must reach it: not under pytest's private (0700) temp dirs
    work = Path(tempfile.mkdtemp(prefix="orch-ssh-verbs-", dir="/tmp"))
    request.addfinalizer(lambda: shutil.rmtree(work, ignore_errors=True))
    (work / "app.conf").write_text("customised\n")
    account = pwd.getpwnam(lab.account.user)  # the files belong to the account, as on a host
    for path in (work, work / "app.conf"):
        os.chown(path, account.pw_uid, account.pw_gid)
    server = start_sshd("127.0.0.2")

    def connect(host: str) -> SSHTransport:
        return SSHTransport(
            host, server.address, port=server.port, user=lab.account.user,
            key_file=lab.account.key_file, known_hosts=lab.known_hosts(server),
        )  # fmt: skip

    plan = _plan(work)
    journal = Journal(tmp_path / "journal.sqlite")
    first = _run(plan, connect, journal)
    messages = {
        a: r.message
        for a, r in journal.actions(journal.runs()[0].run_id).items()
        if r.state != "done"
    }
    assert all(state == "done" for state in first.values()), messages
    assert (work / "app.conf").read_text() == "customised\n"  # the customisation came back
    assert (work / "installed-1.2").exists()
    assert (work / "hook.log").read_text() == "done\n"
    second = _run(plan, connect, journal)
    # a copy saved before the last install counts as stale, so "keep" may save again
    changing = [a.id for a in plan.actions if a.kind not in ("preflight", "preserve_files")]
    assert all(second[aid] == "skipped" for aid in changing), second
    assert (work / "hook.log").read_text() == "done\n"  # not run twice
    third = _run(plan, connect, journal, scope=f"other-{work.name}")  # same ids, another plan
    assert third["lx1/hook"] == "done" and third["lx1/install"] == "skipped"
    assert (work / "hook.log").read_text() == "done\ndone\n"
