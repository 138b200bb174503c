"""The interpreter's PowerShell 2.0 form: it is in the 2.0 subset and parses, only its three
documented parts differ from the 3.0+ form, the transport picks it from the host's
``powershell`` fact, and its JSON writer (``ConvertTo-OrchJson``, run in tests/psmini) writes
what Python's ``json`` reads back exactly, for hostile strings, control characters,
non-ASCII, deep and huge values, as psmini's emulation of 5.1's ``ConvertTo-Json`` does."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from orchestrator.transports import _winrm
from orchestrator.transports._connect import transport_factory
from orchestrator.transports._interp_ps import (
    PS2_INTERPRETER,
    PS_BOOTSTRAP,
    PS_INTERPRETER,
    PS_ONE_SHOT,
    ps_program,
)
from orchestrator.transports._interp_ps_json import PS2_JSON
from orchestrator.transports._quote import ps_value
from tests.hostile import HOSTILE
from tests.ps2rules import ps2_findings
from tests.test_ps_verbs import COMMON, TABLE, VERB_NOUN, commands, parse, problems, walk

from .psmini import Interpreter, WindowsHost, to_json


@pytest.fixture(scope="module")
def interp(tmp_path_factory: pytest.TempPathFactory) -> Interpreter:
    host = WindowsHost(tmp_path_factory.mktemp("m") / "machine", clock=lambda: 1_700_000_000.0)
    i = Interpreter(host)
    i.run("$ErrorActionPreference = 'Stop'\n" + PS2_JSON, [])
    return i


def write(interp: Interpreter, expression: str) -> str:
    out: list[Any] = []
    interp.run(f"ConvertTo-OrchJson -Value {expression} -Depth 8", out)
    assert len(out) == 1 and isinstance(out[0], str)
    return out[0]


def test_the_2_0_forms_are_in_the_2_0_subset_and_parse() -> None:
    for name, text in (
        ("interpreter", PS2_INTERPRETER),
        ("one-shot", PS_ONE_SHOT("Write-Output 'x'", version2=True)),
        ("bootstrap", PS_BOOTSTRAP),
        ("json", PS2_JSON),
    ):
        assert problems(text) == [], name
        assert [str(f) for f in ps2_findings(text)] == [], name
    assert ps2_findings(PS_INTERPRETER), "the 3.0+ form uses ConvertTo-Json and Flush($true)"


def test_only_the_documented_parts_differ() -> None:
    assert "ConvertTo-Json" not in PS2_INTERPRETER and "Flush($true)" not in PS2_INTERPRETER
    assert "ConvertTo-OrchJson -Value $value -Depth 8" in PS2_INTERPRETER
    assert "'WriteThrough'" in PS2_INTERPRETER and "$ps.BeginInvoke()" in PS2_INTERPRETER
    assert "$ps.BeginInvoke($inputs, $outputs)" in PS_INTERPRETER
    same = [line for line in PS_INTERPRETER.splitlines() if line not in PS2_INTERPRETER]
    assert len(same) <= 14, same  # Sync-OrchFile, New-OrchRecord, the invoke and the payload


def test_every_command_of_the_2_0_interpreter_is_a_function_or_a_real_cmdlet() -> None:
    """And called with parameters it declares (the interpreter's functions are not advanced)."""
    functions: dict[str, set[str]] = {}
    for node in walk(parse(PS2_INTERPRETER)):
        if node.type == "function_statement":
            label = next(c for c in node.children if c.type == "function_name")
            declared = {
                (next(c for c in p.children if c.type == "variable").text or b"").decode()[1:]
                for p in walk(node)
                if p.type == "script_parameter"
            }
            functions[(label.text or b"").decode().lower()] = {d.lower() for d in declared}
    assert {"convertto-orchjson", "convertto-orchjsonstring", "new-orchrecord"} <= set(functions)
    checked = 0
    for name, params in commands(PS2_INTERPRETER):
        if not VERB_NOUN.match(name):
            continue
        allowed = functions.get(name.lower())
        if allowed is None:
            assert name.lower() in TABLE, name
            allowed = TABLE[name.lower()] | COMMON
        assert {p.lower() for p in params} <= allowed, (name, params)
        checked += 1
    assert checked > 30


@pytest.mark.parametrize(
    ("fact", "program"),
    [("2.0", PS2_INTERPRETER), ("2", PS2_INTERPRETER), (None, PS_INTERPRETER)]
    + [(v, PS_INTERPRETER) for v in ("3.0", "5.1", "7.4", "none", "")],
)
def test_the_program_follows_the_powershell_fact(fact: str | None, program: str) -> None:
    assert ps_program(fact) is program


def test_a_winrm_host_with_powershell_2_gets_the_2_0_interpreter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def host(powershell: str | None) -> dict[str, Any]:
        info: dict[str, Any] = {"platform": "windows", "connection": {"kind": "winrm"}}
        if powershell:
            info["os"] = {"powershell": powershell, "winrm": "2.0"}
        return info

    made: dict[str, Any] = {}

    def record(host: str, address: str, **kwargs: Any) -> object:
        made[host] = kwargs["interpreter"]
        return object()

    monkeypatch.setattr(_winrm, "WinRMTransport", record)
    facts = {"hosts": {"old": host("2.0"), "new": host(None), "five": host("5.1")}}
    connect = transport_factory(facts, {}, {"ORCHESTRATOR_PASSWORD": "pw"})
    for name in facts["hosts"]:
        connect(name)
    assert made == {"old": PS2_INTERPRETER, "new": PS_INTERPRETER, "five": PS_INTERPRETER}


SCALARS: list[Any] = [0, 1, -5, 2**31, -(2**40), 2.5, -0.125, 1e300, True, False, None, "", "a"]


@pytest.mark.parametrize("value", SCALARS, ids=repr)
def test_scalars_round_trip(interp: Interpreter, value: Any) -> None:
    text = write(interp, ps_value(value))
    assert json.loads(text) == value
    assert json.loads(text) == json.loads(to_json(value))  # as 5.1's ConvertTo-Json


def test_hostile_strings_round_trip_as_values_and_keys(interp: Interpreter) -> None:
    for value in HOSTILE:
        payload = {"k" + value: [value, {"in": value}], "plain": value}
        text = write(interp, ps_value(payload))
        assert json.loads(text) == payload, value[:40]
        assert text.count("\n") == 0 and text.count("\r") == 0


def test_every_control_character_and_non_ascii_round_trip(interp: Interpreter) -> None:
    interp.run("$s = ''; for ($c = 0; $c -lt 128; $c++) { $s += [string][char]$c }", [])
    text = write(interp, "($s + 'é€😀')")
    assert json.loads(text) == "".join(chr(c) for c in range(128)) + "é€😀"
    assert all(ord(c) >= 0x20 for c in text)  # no raw control character reaches the answer


def test_a_huge_string_round_trips(interp: Interpreter) -> None:
    value = ("\"\\'\n\t$(x)`é😀" * 20000)[:200_000]
    assert json.loads(write(interp, ps_value(value))) == value


def test_collections_nest_to_the_depth_and_deeper_levels_become_text(interp: Interpreter) -> None:
    assert json.loads(write(interp, "@()")) == []
    assert json.loads(write(interp, "@(1, @(2, 3), @{ 'a' = @() })")) == [1, [2, 3], {"a": []}]
    deep: Any = "x"
    for _ in range(12):
        deep = [deep]
    back = json.loads(write(interp, ps_value(deep)))
    level = back
    for _ in range(9):  # the top level and 8 below it
        assert isinstance(level, list)
        level = level[0]
    assert isinstance(level, str)  # the tenth is its string form, as with ConvertTo-Json
    assert json.loads(to_json(deep)) == back


def test_a_payload_like_the_verbs_write_round_trips(interp: Interpreter) -> None:
    payload = {
        "exit_code": 3010,
        "reboot_required": True,
        "output": "MSI (s) (A4:B8) [10:00:00:000]: Product: X -- Installation failed.\r\n",
        "files": [{"path": "C:\\a'b", "exists": True, "size": 12, "sha256": "ab" * 32}],
        "missing": None,
    }
    text = write(interp, ps_value(payload))
    assert json.loads(text) == payload


def test_the_records_write_utf8_through_a_new_file(tmp_path: Path) -> None:
    from orchestrator.transports._interp_ps_records import PS2_RECORDS

    host = WindowsHost(tmp_path / "machine", clock=lambda: 1_700_000_000.0)
    i = Interpreter(host)
    i.run("$ErrorActionPreference = 'Stop'\n" + PS2_RECORDS, [])
    i.run("[void][System.IO.Directory]::CreateDirectory('C:\\rec')", [])
    i.run("New-OrchRecord -Path 'C:\\rec\\s' -Text 'started 7 1 é😀'", [])
    assert (tmp_path / "machine").rglob("s")
    data = next(p for p in (tmp_path / "machine").rglob("s") if p.is_file()).read_bytes()
    assert data == "started 7 1 é😀".encode()


def test_over_winrm_a_2_0_host_is_sent_the_2_0_interpreter() -> None:
    """End to end: the inventory's fact -> transport_factory -> WinRMTransport -> the
    WS-Management test server, whose interpreter emulator receives the program line."""
    from tests.wsman import InterpreterEmulator, VocabularyRunner, WSManServer, make_script

    password = "s3cret-Pa55"
    emulator = InterpreterEmulator(VocabularyRunner(), banner=b"ORCH1-END 0 0 - - -\r\n")
    with WSManServer(emulator, password=password) as server:
        conn = {
            "kind": "winrm",
            "address": "127.0.0.1",
            "port": server.port,
            "winrm_scheme": "http",
            "winrm_transport": "basic",
            "allow_unencrypted": True,
            "user": "orch",
        }
        facts = {"hosts": {"node-a": {"platform": "windows", "connection": conn}}}
        facts["hosts"]["node-a"]["os"] = {"version": "5.2.3790", "powershell": "2.0"}
        transport = transport_factory(facts, {}, {"ORCHESTRATOR_PASSWORD": password})("node-a")
        try:
            result = transport.run(make_script(stdout="ok", payload={"a": 1}), timeout=5)
        finally:
            transport.close()
    assert (result.exit_code, result.stdout, dict(result.payload)) == (0, "ok", {"a": 1})
    program = base64.b64decode(emulator.sessions[0].other_lines[0]).decode()
    assert program == PS2_INTERPRETER
