"""Windows hosts running OpenSSH: the SSH transport starts the PowerShell interpreter the
way WinRM does (a short -EncodedCommand bootstrap, then the interpreter program as the first
stdin line) and speaks the same framing. PowerShell cannot run here, so a stand-in
``powershell.exe`` on the sshd host's PATH checks the bootstrap and answers the frames."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from orchestrator.errors import TransientError
from orchestrator.transports._interp_ps import PS_INTERPRETER
from orchestrator.transports._ssh import SSHTransport

if TYPE_CHECKING:
    from .sshd import Sshd, SshdLab

pytest_plugins = ["tests.sshd"]

STAND_IN = r'''#!/usr/bin/python3
"""Stand-in for powershell.exe: checks the bootstrap, then answers ORCH1 frames."""
import base64, hashlib, json, os, sys

args = sys.argv[1:]
if args[:4] != ["-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass"]:
    sys.exit("unexpected arguments: %r" % args)
base64.b64decode(args[args.index("-EncodedCommand") + 1]).decode("utf-16-le")
program = base64.b64decode(sys.stdin.buffer.readline()).decode()
digest = hashlib.sha256(program.encode()).hexdigest()
enc = lambda b: base64.b64encode(b).decode() or "-"
for raw in sys.stdin.buffer:
    parts = raw.decode().split()
    if len(parts) != 4 or parts[0] != "ORCH1":
        continue
    script = base64.b64decode(parts[3]).decode() if parts[3] != "-" else ""
    if script == "die":
        sys.exit(3)
    payload = {"pid": os.getpid(), "program": digest}
    out = ("echo:" + script).encode()
    line = "ORCH1-END %s 0 %s - %s\n" % (parts[1], enc(out), enc(json.dumps(payload).encode()))
    sys.stdout.write(line)
    sys.stdout.flush()
'''


def test_powershell_interpreter_over_ssh(lab: SshdLab, start_sshd: Callable[[str], Sshd]) -> None:
    stand_in = Path(lab.bin) / "powershell.exe"
    stand_in.write_text(STAND_IN)
    stand_in.chmod(0o755)
    server = start_sshd("127.0.0.4")
    transport = SSHTransport(
        "win1", server.address, port=server.port, user=lab.account.user,
        key_file=lab.account.key_file, known_hosts=lab.known_hosts(server),
        interpreter="powershell",
    )  # fmt: skip
    with transport:
        hostile = "Write-Output 'a''b'; $(x) `n \u2019"
        results = [transport.run(f"{hostile} {i}", timeout=30) for i in range(5)]
        assert [r.stdout for r in results] == [f"echo:{hostile} {i}" for i in range(5)]
        expected = hashlib.sha256(PS_INTERPRETER.encode()).hexdigest()
        assert {r.payload["program"] for r in results} == {expected}  # the real program
        assert len({r.payload["pid"] for r in results}) == 1  # one interpreter for all
        assert transport.interpreter_starts == 1
        with pytest.raises(TransientError, match="exited without answering"):
            transport.run("die", timeout=30)  # kills its interpreter, then its one-shot too
        assert transport.fallbacks == 1
        again = transport.run("after", timeout=30)
        assert again.stdout == "echo:after" and transport.interpreter_starts == 2
