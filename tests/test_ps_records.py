"""The PowerShell interpreter's host-side record of steps (``PS_RECORDS`` of
orchestrator/transports/_interp_ps.py), run in tests/psmini against an emulated Windows
machine: a step is recorded exclusively, an ask of an unknown step voids it, a recorded
pid that is alive is "running", one that is gone without an answer is "gone", an answer
makes it "finished". Every test runs on both forms: ``PS_RECORDS`` (3.0+, ``Flush($true)``) and
``PS2_RECORDS`` (2.0, a FileStream opened with ``WriteThrough``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orchestrator.transports._interp_ps import PS2_INTERPRETER, PS_INTERPRETER
from orchestrator.transports._interp_ps_records import PS2_RECORDS, PS_RECORDS

from .psmini import Interpreter, PSError, WindowsHost

PRELUDE = (
    "$ErrorActionPreference = 'Stop'\n$script:OrchRecords = 'C:\\rec'\n"
    "[void][System.IO.Directory]::CreateDirectory($OrchRecords)\n"
)


@pytest.fixture(params=[PS_RECORDS, PS2_RECORDS], ids=["ps3", "ps2"])
def ps(tmp_path: Path, request: pytest.FixtureRequest) -> tuple[WindowsHost, Any]:
    host = WindowsHost(tmp_path / "machine", clock=lambda: 1_700_000_000.0)
    interp = Interpreter(host)
    interp.run(PRELUDE + request.param, [])

    def run(script: str) -> list[Any]:
        out: list[Any] = []
        interp.run(script, out)
        return out

    return host, run


def test_the_records_are_part_of_the_interpreter() -> None:
    assert PS_RECORDS in PS_INTERPRETER
    assert PS2_RECORDS in PS2_INTERPRETER and "Flush($true)" not in PS2_INTERPRETER


def test_a_step_is_recorded_once_and_its_states_follow_its_process(ps: Any) -> None:
    host, run = ps
    step = "ab" * 16
    assert run(f"New-OrchRecord -Path 'C:\\rec\\{step}' -Text ('started {{0}} 1' -f $PID)") == []
    assert run(f"Get-OrchStepState -Step '{step}'") == ["running"]  # the interpreter lives
    with pytest.raises(PSError):  # exclusive: a second copy of the request cannot record it
        run(f"New-OrchRecord -Path 'C:\\rec\\{step}' -Text 'started 1 1'")
    host.respawn()  # the interpreter process died, without an answer
    assert run(f"Get-OrchStepState -Step '{step}'") == ["gone"]
    run(f"Save-OrchAnswer -Step '{step}' -Text 'ORCH1-END 0a 3 - - -'")
    assert run(f"Get-OrchStepState -Step '{step}'") == ["finished"]
    answer = run(f"[System.IO.File]::ReadAllText('C:\\rec\\{step}.answer')")
    assert answer == ["ORCH1-END 0a 3 - - -"]
    assert run("[System.IO.File]::Exists('C:\\rec\\" + step + ".answer.tmp')") == [False]


def test_asking_about_an_unknown_step_voids_it(ps: Any) -> None:
    _, run = ps
    step = "cd" * 16
    assert run(f"Get-OrchStepState -Step '{step}'") == ["never"]
    assert run(f"[System.IO.File]::ReadAllText('C:\\rec\\{step}')") == ["void"]
    assert run(f"Get-OrchStepState -Step '{step}'") == ["never"]
    with pytest.raises(PSError):  # a late copy of the request can no longer record (run) it
        run(f"New-OrchRecord -Path 'C:\\rec\\{step}' -Text 'started 1 1'")


def test_no_record_directory_means_never(ps: Any) -> None:
    _, run = ps
    assert run("$script:OrchRecords = $null; Get-OrchStepState -Step 'x'") == ["never"]
