"""SSH transport benchmark: wall time per small step over a real local OpenSSH sshd.

Three ways to run each step, N steps each (default 200), after one warm-up step:
  persistent  one request line to the host's long-lived interpreter (SSHTransport default)
  exec+loop   a new channel per step running the same loop for one request (the fallback,
              SSHTransport(persistent=False))
  exec        a new channel per step running the script directly (bare exec_command)
Steps: ``true``, file facts (sha256, size, mtime) of 10 files of 1 to 10 KiB in one call
(``file_facts``), and (through the interpreter) ``true+record``: ``true`` with a step id, as
every apply is sent, so the host records it before and after (docs/engine.md, "Exactly
once").
Target: <= 10 ms per step with the persistent interpreter.

Steps that stall (> 1 s, e.g. answered by the interpreter's watchdog) are counted and left out
of the mean, median and p95, and reported in their own column.

Usage: python bench/ssh_steps.py [--steps N]   (root: starts sshd like tests/sshd.py)
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from orchestrator.errors import StepTimeout  # noqa: E402
from orchestrator.transports._ssh import SSHTransport  # noqa: E402
from orchestrator.transports._ssh_facts import facts_script  # noqa: E402
from tests.sshd import Sshd, SshdLab, sshd_lab  # noqa: E402

STALL_S = 1.0


def measure(step: Callable[[], Any], n: int) -> tuple[list[float], int]:
    """Wall times of ``n`` calls in ms (stalls left out), and the number of stalls."""
    step()
    times: list[float] = []
    stalls = 0
    for _ in range(n):
        start = time.perf_counter()
        try:
            step()
        except StepTimeout:
            stalls += 1
            continue
        elapsed = time.perf_counter() - start
        if elapsed > STALL_S:
            stalls += 1
        else:
            times.append(elapsed * 1000)
    return times, stalls


def bare_exec(t: SSHTransport, script: str) -> Callable[[], None]:
    """One ``exec_command`` channel per step, running ``script`` itself."""

    def step() -> None:
        client = t._client  # the connection the transport keeps
        if client is None:
            t.run("true", timeout=10)
            client = t._client
        chan = client.get_transport().open_session()
        chan.exec_command(script)
        while chan.recv(65536):
            pass
        if chan.recv_exit_status() != 0:
            raise RuntimeError("exec step failed")
        chan.close()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    with sshd_lab() as lab:
        server = lab.sshd("127.0.0.2")
        files = [lab.remote / f"file{i}" for i in range(10)]
        for i, f in enumerate(files):
            f.write_bytes(bytes(range(256)) * (i + 1) * 4)  # 1 to 10 KiB
        paths = [str(f) for f in files]
        run_bench(lab, server, paths, args.steps)


def recorded(t: SSHTransport) -> Callable[[], None]:
    """``true`` sent as an apply is: with a fresh step id the host records (exactly once)."""

    def step() -> None:
        t.run("true", timeout=5, step=secrets.token_hex(16))

    return step


def run_bench(lab: SshdLab, server: Sshd, paths: list[str], n: int) -> None:
    """Print one row per (way, step)."""

    def transport(persistent: bool) -> SSHTransport:
        return SSHTransport(
            "bench",
            server.address,
            port=server.port,
            user=lab.account.user,
            key_file=lab.account.key_file,
            known_hosts=lab.known_hosts(server),
            persistent=persistent,
        )

    print(f"{n} steps each over OpenSSH sshd on {server.address}:{server.port}")
    print(f"{'way':<12}{'step':<14}{'mean ms':>9}{'median':>9}{'p95':>9}{'stalls':>8}")
    results: dict[tuple[str, str], float] = {}
    for way in ("persistent", "exec+loop", "exec"):
        with transport(persistent=way == "persistent") as t:
            steps: dict[str, Callable[[], Any]]
            if way == "exec":
                steps = {
                    "true": bare_exec(t, "true"),
                    "facts(10)": bare_exec(t, facts_script(paths)),
                }
            else:
                steps = {
                    "true": partial(t.run, "true", timeout=5),
                    "facts(10)": partial(t.file_facts, paths, timeout=5),
                    "true+record": recorded(t),
                }
            for name, step in steps.items():
                times, stalls = measure(step, n)
                mean = statistics.fmean(times)
                p95 = statistics.quantiles(times, n=20)[-1]
                results[way, name] = mean
                med = statistics.median(times)
                print(f"{way:<12}{name:<14}{mean:>9.2f}{med:>9.2f}{p95:>9.2f}{stalls:>8}")
    worst = max(results["persistent", s] for s in ("true", "facts(10)"))
    verdict = "ok" if worst <= 10 else "MISSED"
    print(
        f"persistent interpreter: worst mean {worst:.2f} ms per step (target <= 10 ms: {verdict})"
    )


if __name__ == "__main__":
    main()
