"""The PowerShell verb library, checked without Windows: every script parses with
tree-sitter-powershell (no ERROR or MISSING node), every cmdlet and parameter it uses is a
real one (``cmdlets.json``) or a function of the library, every kind and step has its
function, and hostile parameter values stay exactly one verbatim string literal each."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
import tree_sitter_powershell
from tree_sitter import Language, Node, Parser

from orchestrator.kinds import KNOWN_KINDS
from orchestrator.plan import Action
from orchestrator.transports._interp_ps import (
    LIBRARY_MARKER,
    PS_BOOTSTRAP,
    PS_INTERPRETER,
    PS_ONE_SHOT,
    ps_bootstrap_command,
    ps_interpreter_line,
)
from orchestrator.transports._quote import ps_quote
from orchestrator.verbs import STEPS
from orchestrator.verbs.powershell import PS_LIBRARY, ps_script, render_ps, render_ps_file_facts
from tests.hostile import HOSTILE, golden_actions
from tests.test_quote import ps_unquote

PARSER = Parser(Language(tree_sitter_powershell.language()))
CMDLETS = json.loads(
    (Path(__file__).parents[1] / "orchestrator/verbs/powershell/cmdlets.json").read_text()
)
COMMON = {p.lower() for p in CMDLETS["common_parameters"]}
TABLE = {
    name.lower(): {p.lower() for p in params}
    for module in CMDLETS["modules"].values()
    for name, params in module.items()
}
VERB_NOUN = re.compile(r"[A-Za-z]+-[A-Za-z]+\Z")
#: Every check the Windows library answers.
PS_CHECK_NAMES = (
    "backup",
    "disk-space",
    "cluster-healthy",
    "no-installer-running",
    "acknowledged",
    "msi-sdk",
    "patch-compatibility",
    "patch-consistency",
    "version",
    "patch-level",
    "services-running",
    "failover",
    "msi-log-clean",
    "product-code-match",
    "admin-images-uncompressed",
)


def parse(text: str) -> Node:
    return PARSER.parse(text.encode()).root_node


def walk(node: Node) -> Iterator[Node]:
    yield node
    for child in node.children:
        yield from walk(child)


def problems(text: str) -> list[str]:
    """ERROR and MISSING nodes, with the line they are on."""
    root = parse(text)
    if not root.has_error:
        return []
    lines = text.split("\n")
    out = []
    for node in walk(root):
        if node.type == "ERROR" or node.is_missing:
            row = node.start_point[0]
            out.append(f"line {row + 1}: {node.type} in {lines[row][:100]!r}")
    return out


@lru_cache(maxsize=1)
def library_functions() -> dict[str, set[str]]:
    """Function name (lower case) → the parameters it declares (plus the common ones for
    an advanced function), from the ASTs of the library and the interpreter."""
    out: dict[str, set[str]] = {}
    for node in walk(parse(PS_LIBRARY + "\n" + PS_INTERPRETER)):
        if node.type != "function_statement":
            continue
        name = next(c for c in node.children if c.type == "function_name").text.decode()
        params: set[str] = set()
        advanced = False
        for inner in walk(node):
            if inner.type == "script_parameter":
                var = next(c for c in inner.children if c.type == "variable")
                params.add(var.text.decode()[1:].lower())
            if inner.type == "attribute_name":
                advanced = True
        out[name.lower()] = params | COMMON if advanced else params
    return out


def commands(text: str) -> Iterator[tuple[str, list[str]]]:
    """(command name, its -Parameters) for every command with a literal name."""
    for node in walk(parse(text)):
        if node.type != "command":
            continue
        names = [c for c in node.children if c.type == "command_name"]
        if not names:
            continue
        params = [
            e.text.decode().lstrip("-").rstrip(":")
            for c in node.children
            if c.type == "command_elements"
            for e in c.children
            if e.type == "command_parameter"
        ]
        yield names[0].text.decode(), params


def representative_actions() -> list[Action]:
    """One golden action per kind (and per check), the richest params first."""
    seen: dict[str, Action] = {}
    for a in golden_actions():
        key = a.kind + ":" + str(a.params.get("check", ""))
        if key not in seen or len(a.params) > len(seen[key].params):
            seen[key] = a
    return [a for k, a in sorted(seen.items()) if not k.startswith("barrier")]


def unique_calls() -> list[Action]:
    """Golden actions with distinct (kind, params), barriers excluded."""
    out: dict[str, Action] = {}
    for a in golden_actions():
        if a.kind != "barrier":
            out.setdefault(a.kind + json.dumps(dict(a.params), sort_keys=True), a)
    return list(out.values())


def test_library_and_interpreters_parse_cleanly() -> None:
    assert PS_LIBRARY.startswith(LIBRARY_MARKER + "\n")
    assert f"StartsWith('{LIBRARY_MARKER}')" in PS_INTERPRETER
    for name, text in (
        ("library", PS_LIBRARY),
        ("interpreter", PS_INTERPRETER),
        ("one-shot", PS_ONE_SHOT("Write-Output 'x'")),
        ("bootstrap", PS_BOOTSTRAP),
    ):
        assert problems(text) == [], name
    assert ps_bootstrap_command().startswith("powershell.exe -NoProfile -NonInteractive ")
    assert len(ps_bootstrap_command()) < 1000
    assert ps_interpreter_line().endswith(b"\n") and b" " not in ps_interpreter_line()


def test_every_golden_call_parses_with_the_library() -> None:
    """Library + call, for every action of every golden plan and every step. The library's
    tree is parsed once and each call appended incrementally (tree-sitter reuses the tree)."""
    library = (PS_LIBRARY + "\n").encode()
    base = PARSER.parse(library)
    row = library.count(b"\n")
    count = 0
    for action in golden_actions():
        if action.kind == "barrier":
            continue
        for step in STEPS:
            call = render_ps(action, step)
            assert call.count("\n") == 1 and call.startswith("Invoke-OrchVerb -Kind ")
            script = library + call.encode()
            assert script == ps_script(action, step).encode()
            tree = base.copy()
            tree.edit(
                start_byte=len(library),
                old_end_byte=len(library),
                new_end_byte=len(script),
                start_point=(row, 0),
                old_end_point=(row, 0),
                new_end_point=(row + 1, 0),
            )
            root = PARSER.parse(script, tree).root_node
            assert not root.has_error, (action.id, step, problems(call))
            count += 1
    assert count > 2000
    for action in unique_calls():  # and without the incremental shortcut
        assert problems(ps_script(action, "apply")) == [], action.id


def test_every_kind_and_step_has_its_function() -> None:
    functions = library_functions()
    for kind in KNOWN_KINDS - {"barrier"}:
        camel = "".join(part.capitalize() for part in kind.split("_"))
        for verb in ("Test", "Invoke", "Confirm"):
            assert f"{verb}-Orch{camel}".lower() in functions, (kind, verb)
    used = {str(a.params["check"]) for a in golden_actions() if a.kind in ("preflight", "verify")}
    assert used <= set(PS_CHECK_NAMES)
    for check in PS_CHECK_NAMES:
        camel = "".join(part.capitalize() for part in check.split("-"))
        assert f"test-orchcheck{camel}".lower() in functions, check


def test_every_cmdlet_and_parameter_is_real() -> None:
    functions = library_functions()
    texts = [PS_LIBRARY, PS_INTERPRETER, PS_ONE_SHOT("Get-Date"), render_ps_file_facts(["a"])]
    texts += [render_ps(a, "apply") for a in representative_actions()]
    checked = set()
    for text in texts:
        for name, params in commands(text):
            if not VERB_NOUN.match(name):
                continue
            if name.lower() in functions:
                allowed = functions[name.lower()]
            else:
                assert name.lower() in TABLE, f"{name}: neither a library function nor a cmdlet"
                allowed = TABLE[name.lower()] | COMMON
                checked.add(name)
            for param in params:
                assert param.lower() in allowed, f"{name} has no parameter -{param}"
    expected = {
        "Move-ClusterGroup",
        "Suspend-ClusterNode",
        "Resume-ClusterNode",
        "Stop-NlbClusterNode",
        "Start-Process",
        "Get-Service",
        "ConvertTo-Json",
    }
    assert expected <= checked


def _entry(call: str, key: str) -> Node:
    """The value node of ``key`` in the call's ``-Params`` hash literal."""
    root = parse(call)
    assert not root.has_error, call[:200]
    statements = [n for n in walk(root) if n.type == "command"]
    top = statements[0]
    assert next(c for c in top.children if c.type == "command_name").text == b"Invoke-OrchVerb"
    elements = next(c for c in top.children if c.type == "command_elements").children
    args = [e for e in elements if e.type != "command_argument_sep"]
    names = [e.text.decode() for e in args if e.type == "command_parameter"]
    assert names == ["-Kind", "-Step", "-Params", "-Context"]
    params = args[args.index(next(e for e in args if e.text == b"-Params")) + 1]
    top = next(n for n in walk(params) if n.type == "hash_literal_expression")
    for entry in (n for n in walk(top) if n.type == "hash_entry"):
        key_node = next(c for c in entry.children if c.type == "key_expression")
        parent = entry.parent
        if key_node.text.decode() == ps_quote(key) and parent is not None and parent.parent == top:
            return next(c for c in entry.children if c.type == "pipeline")
    raise AssertionError(f"no entry {key!r}")


def _types(node: Node) -> set[str]:
    return {n.type for n in walk(node)}


def _hostile_params(action: Action) -> list[tuple[str, Any]]:
    out = []
    for key, value in action.params.items():
        if isinstance(value, str):
            out.append((key, "str"))
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            out.append((key, "list"))
    return out


def test_hostile_values_stay_one_verbatim_literal() -> None:
    """For every kind and every string parameter, each hostile string is exactly one
    verbatim literal whose PowerShell value is the input: nothing in it can execute."""
    cases = 0
    for action in representative_actions():
        for key, shape in _hostile_params(action):
            plain = "plain"
            benign = dataclasses.replace(
                action, params={**action.params, key: plain if shape == "str" else [plain, plain]}
            )
            allowed = _types(_entry(render_ps(benign, "apply"), key))
            for value in HOSTILE:
                new = value if shape == "str" else [value, plain]
                hostile = dataclasses.replace(action, params={**action.params, key: new})
                node = _entry(render_ps(hostile, "apply"), key)
                assert _types(node) <= allowed, (action.kind, key, value[:30])
                literals = [n for n in walk(node) if n.type == "string_literal"]
                texts = [n.text.decode() for n in literals]
                expected = [value] if shape == "str" else [value, plain]
                assert texts == [ps_quote(v) for v in expected], (action.kind, key, value[:30])
                assert [ps_unquote(t) for t in texts] == expected
                if shape == "str":
                    assert node.text.decode() == texts[0]
                cases += 1
    assert cases > 2000


def test_hostile_context_values_stay_literals() -> None:
    action = representative_actions()[0]
    for value in HOSTILE:
        call = render_ps(dataclasses.replace(action, id=value, host=value), "verify")
        assert not parse(call).has_error
        literals = [n.text.decode() for n in walk(parse(call)) if n.type == "string_literal"]
        assert literals.count(ps_quote(value)) == 2


def test_render_refuses_barriers_unknown_kinds_and_steps() -> None:
    barrier = next(a for a in golden_actions() if a.kind == "barrier")
    with pytest.raises(ValueError, match="never reaches a host"):
        render_ps(barrier, "apply")
    action = representative_actions()[0]
    with pytest.raises(ValueError, match="unknown action kind"):
        render_ps(dataclasses.replace(action, kind="format_disk"), "apply")
    with pytest.raises(ValueError, match="unknown step"):
        render_ps(action, "rollback")


def test_a_call_line_renders_every_value_through_ps_value() -> None:
    action = Action(
        "x/move", "move_group", "node-b", "exclu1", {"group": "EVS2", "to_node": "node-c"}, (), 60
    )
    assert render_ps(action, "apply") == (
        "Invoke-OrchVerb -Kind 'move_group' -Step 'apply' "
        "-Params @{ 'group' = 'EVS2'; 'to_node' = 'node-c' } "
        "-Context @{ 'id' = 'x/move'; 'host' = 'node-b'; 'cluster' = 'exclu1' }\n"
    )
    assert ps_script(action, "probe").startswith(PS_LIBRARY)
    assert render_ps_file_facts(["C:\\a'b"]) == (
        "$global:OrchPayload = @{ 'files' = (Get-OrchFileFacts -Paths @('C:\\a''b')) }\n"
    )


def test_one_shot_embeds_exactly_one_framed_request() -> None:
    text = PS_ONE_SHOT("Write-Output 'it''s'", "00000000000000ab", 30)
    assert text.count("Invoke-OrchLine -Line 'ORCH1 00000000000000ab 30 ") == 1
    assert problems(text) == []


def test_the_library_never_calls_exit_or_writes_to_the_host() -> None:
    for name, _ in commands(PS_LIBRARY):
        assert name.lower() not in {"exit", "write-host", "read-host"}
    assert not re.search(r"^\s*exit\b", PS_LIBRARY, re.MULTILINE)
