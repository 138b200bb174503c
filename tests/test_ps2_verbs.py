"""The ``powershell2`` dialect: the verbs of every kind in ``CATALOGUE["powershell2"]``, and
every library function they call, pass the PowerShell 2.0 rule set (tests/ps2rules.py); every
kind left out calls something 2.0 does not have; the whole library parses on 2.0 (it is
loaded on 2.0 hosts as it is); rendered calls with hostile values stay 2.0-clean."""

from __future__ import annotations

import dataclasses
from functools import lru_cache

import pytest
from tree_sitter import Node

from orchestrator.kinds import CLUSTER_KINDS, POOL_KINDS
from orchestrator.verbs import CATALOGUE, STEPS, choose_dialect
from orchestrator.verbs.powershell import PS2_KINDS, PS_LIBRARY, render_ps, render_ps_file_facts
from orchestrator.verbs.powershell._library import NOT_PS2_KINDS
from tests.hostile import HOSTILE
from tests.ps2rules import PARSER, Finding, ps2_findings, walk
from tests.test_ps_verbs import PS_CHECK_NAMES, representative_actions

#: Rules whose construct does not even parse on 2.0: none may appear anywhere in the library.
SYNTAX_RULES = {"parse", "in", "shift", "class", "enum", "workflow", "using", "attribute"}
#: Checks (``preflight``/``verify`` ``params.check``) that need the FailoverClusters module:
#: on a 2.0 host they fail with "Get-ClusterNode is not available" (docs/verbs.md).
NOT_ON_PS2_CHECKS = {"cluster-healthy", "failover"}


def _camel(name: str, sep: str = "_") -> str:
    return "".join(part.capitalize() for part in name.split(sep))


@lru_cache(maxsize=1)
def library() -> tuple[dict[str, Node], dict[str, set[str]], dict[str, list[Finding]]]:
    """Functions of the library (lower-case name -> node), the library functions each one
    calls, and the 2.0 findings inside each."""
    root = PARSER.parse(PS_LIBRARY.encode()).root_node
    functions: dict[str, Node] = {}
    for node in walk(root):
        if node.type == "function_statement":
            label = next(c for c in node.children if c.type == "function_name")
            functions[label.text.decode().lower() if label.text else ""] = node
    calls: dict[str, set[str]] = {}
    for name, node in functions.items():
        calls[name] = set()
        for inner in walk(node):
            if inner.type != "command":
                continue
            called = [c for c in inner.children if c.type == "command_name"]
            text = called[0].text.decode().lower() if called and called[0].text else ""
            if text in functions:
                calls[name].add(text)
    findings: dict[str, list[Finding]] = {name: [] for name in functions}
    for finding in ps2_findings(PS_LIBRARY):
        for name, node in functions.items():
            if node.start_point[0] < finding.line <= node.end_point[0] + 1:
                findings[name].append(finding)
    return functions, calls, findings


def closure(names: list[str]) -> set[str]:
    functions, calls, _ = library()
    seen: set[str] = set()
    todo = [n.lower() for n in names]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        assert name in functions, f"{name} is not a library function"
        seen.add(name)
        todo.extend(calls[name])
    return seen


def verbs_of(kind: str) -> list[str]:
    names = [f"{verb}-Orch{_camel(kind)}" for verb in ("Test", "Invoke", "Confirm")]
    if kind in ("preflight", "verify"):  # Invoke-OrchCheck dispatches on params.check
        names += [f"Test-OrchCheck{_camel(c, '-')}" for c in PS_CHECK_NAMES]
        names = [n for n in names if n not in {_check(c) for c in NOT_ON_PS2_CHECKS}]
    return names


def _check(name: str) -> str:
    return f"Test-OrchCheck{_camel(name, '-')}"


def unclean(names: set[str]) -> list[str]:
    _, _, findings = library()
    return [f"{name}: {f}" for name in sorted(names) for f in findings[name]]


def test_the_catalogue_entry_is_every_kind_but_cluster_and_nlb() -> None:
    assert CATALOGUE["powershell2"] == PS2_KINDS
    assert CATALOGUE["powershell"] - PS2_KINDS == CLUSTER_KINDS | POOL_KINDS | NOT_PS2_KINDS
    assert {"install", "uninstall", "reboot", "stop_services", "start_services", "hook"} <= (
        PS2_KINDS
    )


@pytest.mark.parametrize("kind", sorted(PS2_KINDS))
def test_each_ps2_kind_and_all_it_calls_is_2_0_clean(kind: str) -> None:
    reached = closure(["Invoke-OrchVerb", *verbs_of(kind)])
    assert unclean(reached) == []


@pytest.mark.parametrize("kind", sorted(CLUSTER_KINDS | POOL_KINDS))
def test_each_kind_left_out_needs_something_2_0_has_not(kind: str) -> None:
    assert unclean(closure(verbs_of(kind))), kind


def test_the_cluster_checks_are_the_only_checks_2_0_cannot_run() -> None:
    for check in PS_CHECK_NAMES:
        dirty = bool(unclean(closure([_check(check)])))
        assert dirty == (check in NOT_ON_PS2_CHECKS), check


def test_the_whole_library_parses_on_2_0_and_its_top_level_is_clean() -> None:
    _, _, findings = library()
    all_findings = ps2_findings(PS_LIBRARY)
    assert [str(f) for f in all_findings if f.rule in SYNTAX_RULES] == []
    inside = {f for fs in findings.values() for f in fs}
    assert [str(f) for f in all_findings if f not in inside] == []


def test_rendered_ps2_calls_with_hostile_values_stay_clean() -> None:
    actions = [a for a in representative_actions() if a.kind in PS2_KINDS]
    assert {a.kind for a in actions} == PS2_KINDS
    cases = 0
    for action in actions:
        for step in STEPS:
            assert ps2_findings(render_ps(action, step)) == []
        strings = [k for k, v in action.params.items() if isinstance(v, str)]
        for key in strings[:2]:
            for value in HOSTILE:
                hostile = dataclasses.replace(action, params={**action.params, key: value})
                call = render_ps(hostile, "apply")
                assert ps2_findings(call) == [], (action.kind, key, value[:30])
                cases += 1
    assert cases > 500
    assert ps2_findings(render_ps_file_facts(list(HOSTILE[:20]))) == []


def test_a_2_0_host_gets_powershell2_for_its_kinds_and_nothing_for_cluster_kinds() -> None:
    facts = {"platform": "windows", "os": {"powershell": "2.0", "winrm": "2.0", "cluster": "none"}}
    assert choose_dialect("install", facts).dialect == "powershell2"
    assert choose_dialect("reboot", facts).dialect == "powershell2"
    assert choose_dialect("move_group", facts).dialect is None
    modern = {"platform": "windows"}
    assert choose_dialect("install", modern).dialect == "powershell"
