"""Service names in the PowerShell verbs (issue 18): the one place the library looks a
service up (``Find-OrchService``) refuses exactly what the playbook check refuses (``\\``,
``/``, control characters, a leading ``-``/``.``/space, more than 255 characters), whatever
hostile string it gets; a display name is accepted only where it names exactly one service
and no service has it as its name. The library is parsed with tree-sitter-powershell and the
lookup run by tests/psmini against an emulated machine's services."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from orchestrator.service_names import service_name_problem
from orchestrator.transports._quote import ps_quote
from orchestrator.verbs.powershell._host import PS_HOST
from orchestrator.verbs.powershell._library import PS_LIBRARY, render_ps
from tests.hostile import HOSTILE, canaries
from tests.test_ps_verbs import problems
from tests.test_service_names import PATH_NAMES

from .psmini import Interpreter, PSError, WindowsHost
from .psmini.host import Service

CORPUS = (*HOSTILE, *canaries("C:\\orch-canary"), *PATH_NAMES, "..\\..\\x", "C:\\evil.exe")


@pytest.fixture
def interp(tmp_path: Path) -> Interpreter:
    host = WindowsHost(tmp_path / "machine", clock=lambda: 1_700_000_000.0)
    for name, display in (
        ("W3SVC", "World Wide Web Publishing Service"),
        ("MPWEB", "MeetingPlace Web Conferencing"),
        ("A1", "Twin Service"),
        ("A2", "Twin Service"),
        ("Spooler", "W3SVC"),  # a display name that is another service's name
        ("MSSQL$SQLEXPRESS", "SQL Server (SQLEXPRESS)"),
    ):
        host.services[name] = Service(name, display, "Running")
    i = Interpreter(host)
    i.run("$ErrorActionPreference = 'Stop'\n" + PS_HOST, [])
    return i


def find(interp: Interpreter, name: str) -> str:
    """The name of the service ``name`` finds, ``(none)``, or ``error: <message>``."""
    out: list[object] = []
    script = f"$s = Find-OrchService {ps_quote(name)}\nif ($s) {{ $s.Name }} else {{ '(none)' }}"
    try:
        interp.run(script, out)
    except PSError as exc:
        return f"error: {exc}"
    return str(out[0])


def test_the_service_verbs_parse() -> None:
    assert problems(PS_HOST) == []
    assert problems(PS_LIBRARY) == []


def test_services_are_looked_up_in_one_place() -> None:
    """Every service the verbs touch by a parameter goes through Find-OrchService: the other
    service cmdlets take its result (-InputObject) or a constant name (ClusSvc)."""
    for line in PS_LIBRARY.splitlines():
        if re.search(r"\b(Get|Stop|Start|Set|Restart|Suspend|Resume)-Service\b", line):
            assert (
                "foreach ($svc in @(Get-Service))" in line
                or "-InputObject $svc" in line
                or "'ClusSvc'" in line
            ), line


def test_find_refuses_exactly_what_the_playbook_refuses(interp: Interpreter) -> None:
    for name in CORPUS:
        found = find(interp, name)
        if service_name_problem(name, "windows"):
            assert found.startswith("error: refused service name"), (name, found)
        else:
            assert not found.startswith("error"), (name, found)


def test_names_first_then_an_unambiguous_display_name(interp: Interpreter) -> None:
    assert find(interp, "W3SVC") == "W3SVC", "the name wins over Spooler's display name"
    assert find(interp, "w3svc") == "W3SVC", "names compare case-insensitively"
    assert find(interp, "MeetingPlace Web Conferencing") == "MPWEB"
    assert find(interp, "MSSQL$SQLEXPRESS") == "MSSQL$SQLEXPRESS"
    assert find(interp, "not installed") == "(none)"
    ambiguous = find(interp, "Twin Service")
    assert ambiguous.startswith("error:") and "A1, A2" in ambiguous


def test_a_hostile_service_name_renders_as_one_literal() -> None:
    """The call itself stays data (the library then refuses the name on the host)."""
    from orchestrator.plan import Action

    for name in CORPUS[:40]:
        params = {"services": [name], "purpose": "interfering"}
        action = Action("h/stop", "stop_services", "h", None, params, (), 1, "t")
        call = render_ps(action, "apply")
        assert problems(PS_LIBRARY + "\n" + call) == [], name
