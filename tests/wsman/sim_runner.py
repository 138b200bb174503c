"""A script runner for the WS-Management test server that executes verb calls against the
simulated lab, so that a whole rehearsal can run over the real WinRM protocol.

Each request is the verb library plus one call ``Invoke-OrchVerb -Kind ... -Step ...
-Params @{...} -Context @{...}`` (orchestrator/verbs/powershell/_library.py). The call is parsed
with tree-sitter-powershell and its literals are evaluated back into Python values, so the
parameters the lab sees are the ones that crossed the wire after quoting, not a copy taken
from the plan; they are checked against the plan's action. The lab's answer is returned in
the verb contract of docs/verbs.md."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import tree_sitter_powershell
from tree_sitter import Language, Node, Parser

from orchestrator.engine._protocols import Driver
from orchestrator.errors import FatalError, StepTimeout, TransientError, VerificationFailed
from orchestrator.plan import Action, Plan
from orchestrator.transports._frame import TIMEOUT_EXIT
from orchestrator.transports._interp_ps import LIBRARY_MARKER

_PARSER = Parser(Language(tree_sitter_powershell.language()))
_QUOTES = "'\u2018\u2019\u201a\u201b"
_VARIABLES = {"$true": True, "$false": False, "$null": None}


def unquote(text: str) -> str:
    """The value of a PowerShell verbatim string literal (doubled quotes collapse)."""
    body, out, i = text[1:-1], [], 0
    while i < len(body):
        out.append(body[i])
        i += 2 if body[i] in _QUOTES and i + 1 < len(body) and body[i + 1] in _QUOTES else 1
    return "".join(out)


def literal(node: Node) -> Any:
    """Evaluate a literal expression node (strings, numbers, $true/$false/$null, @(), @{})."""
    kind, text = node.type, (node.text or b"").decode()
    if kind == "string_literal":
        if not text.startswith(tuple(_QUOTES)):
            raise ValueError(f"not a verbatim string: {text[:40]!r}")
        return unquote(text)
    if kind in ("integer_literal", "decimal_integer_literal"):
        return int(text)
    if kind == "real_literal":
        return float(text)
    if kind == "variable":
        if text.lower() not in _VARIABLES:
            raise ValueError(f"a variable where a literal was expected: {text}")
        return _VARIABLES[text.lower()]
    if kind == "hash_literal_expression":
        body = next((c for c in node.named_children if c.type == "hash_literal_body"), None)
        entries = body.named_children if body else []
        return {
            literal(e.named_children[0]): literal(e.named_children[-1])
            for e in entries
            if e.type == "hash_entry"
        }
    if kind == "array_expression":
        inner = [c for c in node.named_children if c.type == "statement_list"]
        if not inner:
            return []
        value = literal(inner[0])
        return value if isinstance(value, list) else [value]
    if kind == "array_literal_expression" and len(node.named_children) > 1:
        return [literal(c) for c in node.named_children]
    if kind == "key_expression" or len(node.named_children) == 1:
        return literal(node.named_children[0])
    raise ValueError(f"unexpected {kind} in a verb call: {text[:60]!r}")


def parse_call(script: str) -> dict[str, Any]:
    """The parameters of the ``Invoke-OrchVerb`` call in ``script``."""
    tree = _PARSER.parse(script.encode())
    calls = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "command":
            name = node.child_by_field_name("command_name") or node.named_children[0]
            if (name.text or b"").decode() == "Invoke-OrchVerb":
                calls.append(node)
                continue
        stack.extend(node.children)
    if len(calls) != 1:
        raise ValueError(f"expected one Invoke-OrchVerb call, found {len(calls)}")
    elements = next(c for c in calls[0].named_children if c.type == "command_elements")
    args: dict[str, Any] = {}
    pending: str | None = None
    for child in elements.named_children:
        if child.type == "command_parameter":
            pending = (child.text or b"").decode().lstrip("-")
        elif child.type != "command_argument_sep" and pending:
            args[pending], pending = literal(child), None
    return args


class SimVerbRunner:
    """``script_runner(script, timeout)`` answering verb calls from ``driver`` (a lab's)."""

    def __init__(self, plan: Plan, driver: Driver) -> None:
        self.actions = {a.id: a for a in plan.actions}
        self.driver = driver
        self.calls = 0
        self.libraries = 0

    def _cluster_facts(self, script: str) -> tuple[int, bytes, bytes, bytes]:
        marker = "Get-ClusterNode -Cluster "
        name = unquote(script.split(marker, 1)[1].split(" |", 1)[0].strip())
        live = self.driver.live_facts({"clusters": {name: {}}})["clusters"][name]
        return 0, b"", b"", json.dumps(live).encode()

    def __call__(self, script: str, timeout: float) -> tuple[int, bytes, bytes, bytes]:
        self.calls += 1
        if script.startswith(LIBRARY_MARKER):
            self.libraries += 1
            return 0, b"", b"", b""  # the verb library: kept by the interpreter
        if "Get-ClusterGroup -Cluster" in script:
            return self._cluster_facts(script)
        call = parse_call(script)
        context: Mapping[str, Any] = call.get("Context", {})
        planned = self.actions[str(context["id"])]
        action = Action(
            id=planned.id,
            kind=str(call["Kind"]),
            host=context.get("host"),
            cluster=context.get("cluster"),
            params=call.get("Params", {}),
            after=(),
            estimate_s=planned.estimate_s,  # how long it takes is physics, not a parameter
        )
        if (action.kind, dict(action.params), action.host) != (
            planned.kind, dict(planned.params), planned.host
        ):  # fmt: skip
            return 1, b"", b"the call does not match the planned action", b""
        try:
            payload = self._step(action, str(call["Step"]), timeout)
        except StepTimeout as exc:
            return TIMEOUT_EXIT, b"", str(exc).encode(), b""
        except (FatalError, TransientError) as exc:
            return 1, b"", exc.message.encode(), b""
        return 0, b"", b"", json.dumps(payload).encode()

    def _step(self, action: Action, step: str, timeout: float) -> dict[str, Any]:
        if step == "probe":
            return {"in_effect": self.driver.probe(action), "detail": "simulated lab"}
        if step == "verify":
            try:
                self.driver.verify(action)
            except VerificationFailed as exc:
                return {"ok": False, "message": exc.message}
            return {"ok": True, "message": ""}
        try:
            result = self.driver.apply(action, timeout)
        except TransientError as exc:
            if exc.exit_code is None:
                raise
            return {"exit_code": exc.exit_code, "reboot_required": False, "output": exc.output}
        reboot = bool(result.data.get("reboot_required", False))
        return {"exit_code": result.exit_code, "reboot_required": reboot, "output": result.output}
