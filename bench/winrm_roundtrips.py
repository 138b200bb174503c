"""WinRM round trips per remote step: the orchestrator's transport against pywinrm's own
``Session.run_ps``, both doing the same small steps against the same WS-Management test
server (tests/wsman: the real pywinrm client on the wire, the host emulated).

The transport keeps one shell and ONE PowerShell interpreter per host: a step is one Send and
one Receive. ``run_ps`` opens a shell, starts ``powershell -encodedcommand`` (a process per
step), receives, signals and deletes the shell: five requests. ``--delay-ms`` adds a delay to
every answer, as a WAN link would. Target: <= 3 requests per step, one process in all.

Usage: python bench/winrm_roundtrips.py [--steps N] [--delay-ms MS]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import winrm  # noqa: E402

from orchestrator.transports._winrm import WinRMTransport  # noqa: E402
from orchestrator.transports._winrm_interp import COMMAND  # noqa: E402
from tests.wsman import (  # noqa: E402
    CommandSession,
    InterpreterEmulator,
    Reply,
    ScriptedCommand,
    WSManServer,
    make_script,
)

PASSWORD = "bench-Pa55"


class Host:
    """The emulated host: the persistent interpreter, and fixed answers for ``run_ps``."""

    def __init__(self) -> None:
        self.interpreter = InterpreterEmulator()
        self.scripted = ScriptedCommand([("-encodedcommand", Reply(stdout=b"step\r\n"))])

    def __call__(self, command: str, args: list[str]) -> CommandSession:
        if command == COMMAND:
            return self.interpreter(command, args)
        return self.scripted(command, args)


def _transport(server: WSManServer, steps: int) -> float:
    t = WinRMTransport(
        "bench",
        "127.0.0.1",
        port=server.port,
        scheme="http",
        user="orch",
        password=PASSWORD,
        transport="basic",
        allow_unencrypted=True,
    )
    start = time.perf_counter()
    for i in range(steps):
        if t.run(make_script(stdout=f"step {i}"), timeout=30).stdout != f"step {i}":
            raise SystemExit("wrong answer from the transport")
    elapsed = time.perf_counter() - start
    t.close()
    return elapsed


def _run_ps(server: WSManServer, steps: int) -> float:
    session = winrm.Session(
        server.url,
        auth=("orch", PASSWORD),
        transport="basic",
        ca_trust_path=None,
    )
    start = time.perf_counter()
    for i in range(steps):
        if session.run_ps(f"Write-Output 'step {i}'").std_out != b"step\r\n":
            raise SystemExit("wrong answer from run_ps")
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    args = parser.parse_args()
    steps = args.steps
    print(f"{steps} small steps, {args.delay_ms:g} ms added per HTTP answer")
    print(f"{'client':<28}{'requests/step':>14}{'ms/step':>10}{'processes':>11}  requests")
    ok = True
    for name, call in (("WinRMTransport.run", _transport), ("pywinrm Session.run_ps", _run_ps)):
        with WSManServer(Host(), password=PASSWORD) as server:
            server.delay_s = args.delay_ms / 1000
            elapsed = call(server, steps)
            per_step = server.total / steps
            counts = ", ".join(f"{k} {v}" for k, v in sorted(server.counts.items()))
            print(
                f"{name:<28}{per_step:>14.2f}{elapsed * 1000 / steps:>10.2f}"
                f"{server.counts['Command']:>11}  {counts}"
            )
            if call is _transport:
                ok = per_step <= 3 and server.counts["Command"] == 1
    print("target (<= 3 requests per step, one process): " + ("met" if ok else "MISSED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
