"""Exactly once over real sshd (127.0.0.2): a recorded step whose interpreter is killed is
asked about, never sent again: its answer is taken from the host's record (the step ran on
under its runner), or, with its whole process tree killed, the outcome is unknown. A
host-side counter file proves how often each step ran."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from orchestrator.errors import OutcomeUnknown, TransientError
from orchestrator.transports._ssh import SSHTransport

from .test_ssh import LOOP_PID, transport

if TYPE_CHECKING:
    from .sshd import Sshd, SshdLab

pytest_plugins = ["tests.sshd"]


@pytest.fixture
def ssh(lab: SshdLab, start_sshd: Callable[[str], Sshd]) -> Iterator[SSHTransport]:
    with transport(lab, start_sshd("127.0.0.2")) as t:
        yield t


@pytest.fixture
def counter(lab: SshdLab) -> Iterator[Path]:
    """A file the test account appends to (outside pytest's private temp dirs)."""
    work = Path(tempfile.mkdtemp(prefix="orch-once-", dir="/tmp"))
    work.chmod(0o777)
    yield work / "count"
    shutil.rmtree(work, ignore_errors=True)


def new_step() -> str:
    return secrets.token_hex(16)


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_a_killed_interpreter_is_asked_and_the_step_is_not_run_again(
    ssh: SSHTransport, counter: Path
) -> None:
    ssh.run("true", timeout=10)
    # the step kills its own interpreter loop, then goes on under its runner and finishes
    script = f"""echo start >> {counter}
kill -KILL $({LOOP_PID})
sleep 1
echo end >> {counter}
echo finished
"""
    result = ssh.run(script, timeout=30, step=new_step())
    assert result.exit_code == 0 and result.stdout == "finished\n"
    assert lines(counter) == ["start", "end"]  # ran once, to its end
    assert (ssh.recalled, ssh.fallbacks) == (1, 0)
    assert ssh.run("echo next", timeout=10).stdout == "next\n"  # a new interpreter


def test_a_killed_process_tree_is_outcome_unknown_never_re_sent(
    ssh: SSHTransport, counter: Path
) -> None:
    step = new_step()
    script = f"""echo start >> {counter}
loop=$({LOOP_PID})
kill -KILL "$loop" "$PPID" $$
echo end >> {counter}
"""
    with pytest.raises(OutcomeUnknown, match="how it ended is not known"):
        ssh.run(script, timeout=30, step=step)
    assert lines(counter) == ["start"]
    with pytest.raises(OutcomeUnknown):  # asked again later (a resume): the same answer
        ssh.recall(step, timeout=10)
    again = ssh.run(script, timeout=30, step=step)  # a copy of the request is refused
    assert again.exit_code == 125 and "not run again" in again.stderr
    assert lines(counter) == ["start"]


def test_recall_of_a_finished_a_never_sent_and_a_running_step(
    ssh: SSHTransport, counter: Path
) -> None:
    done = new_step()
    first = ssh.run(
        f"echo once >> {counter}; echo out; echo err >&2; exit 3", timeout=10, step=done
    )
    recalled = ssh.recall(done, timeout=10)
    assert recalled is not None
    assert (recalled.exit_code, recalled.stdout, recalled.stderr) == (3, "out\n", "err\n")
    assert first.exit_code == 3 and lines(counter) == ["once"]

    never = new_step()
    assert ssh.recall(never, timeout=10) is None  # never started: now voided
    refused = ssh.run(f"echo late >> {counter}", timeout=10, step=never)
    assert refused.exit_code == 125 and lines(counter) == ["once"]

    # a step whose interpreter dies while it runs on: recall waits for its answer
    slow = new_step()
    script = f"kill -KILL $({LOOP_PID}); sleep 2; echo slow >> {counter}; echo ok"
    start = time.monotonic()
    assert ssh.run(script, timeout=30, step=slow).stdout == "ok\n"
    assert time.monotonic() - start >= 1.5
    assert lines(counter) == ["once", "slow"]


def test_a_step_never_started_is_a_transient_error(
    ssh: SSHTransport, counter: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The interpreter dies before its runner could record the step: never started."""
    ssh.run("true", timeout=10)
    interp = ssh._interp
    assert interp is not None
    pid = int(ssh.run(LOOP_PID, timeout=10).stdout)
    os.kill(pid, signal.SIGSTOP)  # stopped: it cannot read the request
    real_send = interp.send

    def send_then_kill(line: bytes) -> None:
        real_send(line)
        os.kill(pid, signal.SIGKILL)

    monkeypatch.setattr(interp, "send", send_then_kill)
    with pytest.raises(TransientError, match="never started"):
        ssh.run(f"echo x >> {counter}", timeout=10, step=new_step())
    assert lines(counter) == []


def test_the_driver_takes_the_record_of_a_step_id_sent_before(
    lab: SshdLab, start_sshd: Callable[[str], Sshd], counter: Path
) -> None:
    """A compensation resumed by a new session starts again at attempt 1, with the same step
    id as the one the killed session sent: the host's record of it is the answer."""
    from orchestrator.plan import Action
    from orchestrator.transports._driver import TransportDriver

    server = start_sshd("127.0.0.2")
    tag = new_step()[:8]
    hook = Action("lx1/hook", "hook", "lx1", None,
                  {"stage": "post", "name": f"h-{tag}", "run": f"echo ran >> {counter}"},
                  (), 1, "p", "hook")  # fmt: skip
    facts = {"hosts": {"lx1": {"platform": "linux", "connection": {"kind": "ssh"}}}}
    step = new_step()
    results = []
    for _ in range(2):  # two sessions, two drivers, the same step id
        driver = TransportDriver(facts, lambda h: transport(lab, server), scope=tag)
        try:
            results.append(driver.apply(hook, 30, step))
        finally:
            driver.close()
    assert lines(counter) == ["ran"]
    assert results[0] == results[1] and results[0].exit_code == 0
