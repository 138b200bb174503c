"""Crash test over real sshd: a controller (tests/once_controller.py, a process of its own)
runs hooks and an install whose stand-in appends to a host-side counter, while the test
SIGKILLs, at random points in the middle of those steps, either the controller (then
resumes it), or the remote sh interpreter, or the step's whole process tree. The counters
prove that every step ran at most once; the steps whose tree was killed are reported with
an unknown outcome (journal, ``orchestrator status``, the report), not repeated, and the run
exits non-zero."""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.engine._journal import Journal
from orchestrator.engine._report import build_report
from orchestrator.plan import Plan

from .enginekit import ROOT
from .once_controller import build_plan
from .sshd import descendants

if TYPE_CHECKING:
    from .sshd import Sshd, SshdLab

pytest_plugins = ["tests.sshd"]

HOSTS = ("lx1", "lx2", "lx3", "lx4", "lx5")
MODES = ("controller", "interpreter", "tree")
ROUNDS = 8
PAUSE_S = 0.8


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode("utf-8", "replace").split("\0")
    except OSError:
        return []


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def _in_flight(work: Path) -> set[str]:
    """Steps whose start line is written and whose end line is not (yet)."""
    out: set[str] = set()
    for host in HOSTS:
        log = work / f"{host}.log"
        text = log.read_text() if log.exists() else ""
        starts = set(re.findall(r"^start-(\S+)$", text, re.M))
        ends = set(re.findall(r"^end-(\S+)$", text, re.M))
        out |= starts - ends
    return out


def _step_processes(server: Sshd, aid: str) -> tuple[int, int, int] | None:
    """(script, runner, loop) pids of the recorded step ``aid`` running under ``server``."""
    for pid in descendants(server.proc.pid if server.proc else 0):
        cmd = _cmdline(pid)
        if len(cmd) >= 2 and cmd[0] == "sh" and cmd[1].endswith(".d/sh"):
            with contextlib.suppress(OSError):
                if f"@id={aid}'" in Path(cmd[1]).read_text():
                    runner = _parent(pid)
                    return pid, runner, _parent(runner)
    return None


def _spawn(config: Path, resume: bool) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "tests.once_controller", str(config)]
    return subprocess.Popen(
        [*cmd, "--resume"] if resume else cmd,
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


def _kill(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_kills_mid_step_never_run_a_step_twice(
    lab: SshdLab, start_sshd: Callable[[str], Sshd], tmp_path: Path, request: Any
) -> None:
    server = start_sshd("127.0.0.2")
    work = Path(tempfile.mkdtemp(prefix="orch-crash-once-", dir="/tmp"))
    work.chmod(0o777)
    request.addfinalizer(lambda: shutil.rmtree(work, ignore_errors=True))
    seed = int(os.environ.get("ORCH_CRASH_SEED", time.time_ns() % 10_000))
    print("seed", seed)
    rng = random.Random(seed)
    settings = {
        "tag": f"t{os.getpid()}-{seed}-{time.monotonic_ns()}", "hosts": list(HOSTS),
        "work": str(work), "pause_s": PAUSE_S, "journal": str(tmp_path / "journal.sqlite"),
        "address": server.address, "port": server.port, "user": lab.account.user,
        "key_file": str(lab.account.key_file), "known_hosts": str(lab.known_hosts(server)),
    }  # fmt: skip
    config = tmp_path / "config.json"
    config.write_text(json.dumps(settings))
    modes = [MODES[i % len(MODES)] for i in range(ROUNDS)]
    rng.shuffle(modes)
    proc = _spawn(config, resume=False)
    killed: dict[str, list[str]] = {m: [] for m in MODES}
    for mode in modes:
        deadline = time.monotonic() + 60
        target: tuple[str, tuple[int, int, int]] | None = None
        while target is None and proc.poll() is None:
            assert time.monotonic() < deadline, "no step in flight"
            candidates = sorted(_in_flight(work))
            rng.shuffle(candidates)
            for aid in candidates:
                pids = _step_processes(server, aid)
                if pids is not None:
                    target = (aid, pids)
                    break
            time.sleep(0.01)
        if target is None:
            break  # the run ended first
        aid, (script, runner, loop) = target
        time.sleep(rng.uniform(0.0, PAUSE_S / 2))  # a random point inside the step's work
        if mode == "controller":
            proc.kill()
            proc.wait()
            proc = _spawn(config, resume=True)
        elif mode == "interpreter":
            _kill([loop])
        else:  # freeze the step's process group first: it must not finish meanwhile
            try:
                pgid = os.getpgid(script)
                os.killpg(pgid, signal.SIGSTOP)
            except ProcessLookupError:
                continue  # it finished first: no kill this round
            if aid not in _in_flight(work):
                os.killpg(pgid, signal.SIGCONT)
                continue
            _kill([runner, loop])
            os.killpg(pgid, signal.SIGKILL)
        killed[mode].append(aid)
    rc = proc.wait(timeout=180)
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    print("killed:", killed)

    plan: Plan = build_plan(settings)
    journal = Journal(Path(settings["journal"]))
    run_id = journal.resolve("last")
    actions = journal.actions(run_id)
    unknown = {a for a, r in actions.items() if r.state == "unknown"}
    for host in HOSTS:
        log = (
            (work / f"{host}.log").read_text().splitlines()
            if (work / f"{host}.log").exists()
            else []
        )
        for a in plan.actions:
            if a.host != host:
                continue
            starts = log.count(f"start-{a.id}")
            assert starts <= 1, f"{a.id} ran {starts} times: {log}"  # at most once, always
            state = actions[a.id].state
            if f"end-{a.id}" in log:
                assert state in ("done", "skipped"), (a.id, state)
            elif starts:  # started, never finished: only a killed tree does that
                assert state == "unknown" and a.id in killed["tree"], (a.id, state, killed)
            else:
                assert state in ("cancelled", "pending"), (a.id, state)
    assert unknown == set(killed["tree"]), (unknown, killed)
    assert rc == (1 if unknown else 0), stderr
    if unknown:
        shown = subprocess.run(
            [sys.executable, "-m", "orchestrator", "status", "last", "--journal",
             settings["journal"]], capture_output=True, text=True, cwd=ROOT,
        )  # fmt: skip
        assert "outcome unknown" in shown.stdout, shown.stdout
        assert all(a in shown.stdout for a in unknown)
        report = build_report(plan, journal.run(run_id), actions, journal.attempts(run_id), None)
        assert report["counts"]["unknown"] == len(unknown)
        assert all(report["hosts"][a.split("/")[0]]["outcome"] == "unknown" for a in unknown)
    # the killed interpreters' and controllers' steps were recalled, not re-run
    for aid in killed["interpreter"] + killed["controller"]:
        assert actions[aid].state in ("done", "skipped"), (aid, actions[aid])
    journal.close()
