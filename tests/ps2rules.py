"""The PowerShell 2.0 rule set: what a script may not use to run on Windows PowerShell 2.0
(WMF 2.0 on Windows Server 2003 SP2, .NET Framework 2.0/3.5), checked over the
tree-sitter-powershell parse. :func:`ps2_findings` returns one :class:`Finding` per construct
2.0 does not have; a script is 2.0-clean when the list is empty. Each rule cites its source:

- ``[ordered]`` (3.0): about_Hash_Tables, "Beginning in PowerShell 3.0, you can use the
  [ordered] attribute"; devblogs.microsoft.com/scripting/convertto-ordereddictionary.
- ``[pscustomobject]`` (3.0): about_PSCustomObject, "The [pscustomobject] type accelerator was
  added in PowerShell 3.0" (on 2.0 the cast of a hash literal gives the hashtable back).
- ``-in``/``-notin`` and ``-shl``/``-shr`` (3.0): What's New in Windows PowerShell 3.0
  (new operators); computerperformance.co.uk/powershell/powershell-3-notin.
- ``$PSItem``, ``$using:``, ``workflow``, ``$PSScriptRoot``/``$PSCommandPath`` outside a
  module, ``[Parameter(Mandatory)]`` without ``= $true``, simplified ``Where-Object Name -eq``
  syntax, ``.Count``/``.Length`` on a scalar or on ``$null``, ``foreach`` over ``$null``
  (iterated once before 3.0), member enumeration (3.0): What's New in Windows PowerShell 3.0.
- redirection of streams other than output and error (``3>``..``6>``, ``*>``, ``3>&1``; 3.0):
  about_Redirection, "Beginning in PowerShell 3.0 ... redirect ... warning, verbose, debug".
- ``.Where()``/``.ForEach()`` methods (4.0): MicrosoftDocs/PowerShell-Docs issue 2307, "the
  v4+ .ForEach() and .Where() methods"; ``-PipelineVariable`` (4.0): What's New in 4.0.
- ``::new()``, ``class``, ``enum`` (5.0): What's New With
  PowerShell 5.0 (classes); ``Set-StrictMode -Version 3`` and later name versions 2.0 lacks.
- cmdlets and parameters: orchestrator/verbs/powershell/cmdlet_versions.json (a source per
  entry; loaded by tests/ps2facts.py, which also holds each rule's source in ``SOURCES``);
  a cmdlet with ``since: null`` comes with an OS or product module 2003 has not.
- .NET Framework 4 members (PowerShell 2.0 runs on CLR 2.0): ``String.IsNullOrWhiteSpace``,
  ``File.ReadLines``, ``Directory.Enumerate*``, ``Enum.HasFlag``,
  ``Environment.Is64BitOperatingSystem``/``Is64BitProcess``, ``FileStream.Flush(Boolean)``,
  ``StringBuilder.Clear``, ``Stream.CopyTo``: each "Applies to .NET Framework 4.0+" on
  learn.microsoft.com/dotnet/api.

Member enumeration is flagged where it is visible: a property read on ``@(...)`` or on a
variable the same function only assigns from ``@(...)``, other than the array's own members.
A property read on a value that is sometimes an array at run time cannot be seen statically
(docs/verbs.md says how the 2.0 library avoids it: ``foreach`` instead of ``$list.Name``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import tree_sitter_powershell
from tree_sitter import Language, Node, Parser

from tests.ps2facts import (
    ALIASES,
    ARRAY_MEMBERS,
    DOTNET4,
    NOT_NULL_TYPES,
    SCALAR_COUNT,
    SOURCES,
    VERSIONS_PATH,
    too_new,
    versions,
)

__all__ = ["PARSER", "SOURCES", "VERSIONS_PATH", "Finding", "ps2_findings", "too_new", "versions"]

PARSER = Parser(Language(tree_sitter_powershell.language()))


@dataclass(frozen=True)
class Finding:
    """One construct PowerShell 2.0 does not have: ``rule``, 1-based ``line``, the source
    ``text`` and why it is refused."""

    rule: str
    line: int
    text: str
    why: str

    def __str__(self) -> str:
        return f"line {self.line}: [{self.rule}] {self.text!r}: {self.why}"

    @property
    def source(self) -> str:
        """Where the rule's fact comes from."""
        return SOURCES[self.rule]


def walk(node: Node) -> Iterator[Node]:
    yield node
    for child in node.children:
        yield from walk(child)


def _text(node: Node) -> str:
    return node.text.decode() if node.text else ""


class _Checker:
    def __init__(self, text: str) -> None:
        self.text = text
        self.root = PARSER.parse(text.encode()).root_node
        self.out: list[Finding] = []

    def add(self, rule: str, node: Node, why: str) -> None:
        self.out.append(Finding(rule, node.start_point[0] + 1, _text(node)[:80], why))

    def run(self) -> list[Finding]:
        if self.root.has_error:
            for node in walk(self.root):
                if node.type == "ERROR" or node.is_missing:
                    self.add("parse", node, "does not parse: the rules cannot check it")
        for node in walk(self.root):
            handler = getattr(self, "on_" + node.type, None)
            if handler is not None:
                handler(node)
        self.methods_in_text()
        return sorted(set(self.out), key=lambda f: (f.line, f.rule, f.text))

    # -- types and operators --------------------------------------------------------------
    def on_type_literal(self, node: Node) -> None:
        name = _text(node).strip("[] ").lower()
        if name == "ordered":
            self.add("ordered", node, "[ordered] is PowerShell 3.0 (about_Hash_Tables)")
        if name in ("pscustomobject", "system.management.automation.pscustomobject"):
            parent = node.parent
            cast = parent is not None and parent.type == "cast_expression"
            what = "a [pscustomobject]@{...} literal" if cast else "[pscustomobject]"
            self.add("pscustomobject", node, f"{what} is PowerShell 3.0 (about_PSCustomObject)")

    def on_comparison_operator(self, node: Node) -> None:
        op = _text(node).lower()
        if op in ("-in", "-notin", "-iin", "-inotin", "-cin", "-cnotin"):
            self.add("in", node, f"{op} is PowerShell 3.0 (use -contains/-notcontains)")
        if op in ("-shl", "-shr"):
            self.add("shift", node, f"{op} is PowerShell 3.0")

    def on_file_redirection_operator(self, node: Node) -> None:
        self.redirection(node)

    def on_merging_redirection_operator(self, node: Node) -> None:
        self.redirection(node)

    def redirection(self, node: Node) -> None:
        op = _text(node).strip()
        if op not in (">", ">>", "1>", "1>>", "2>", "2>>", "2>&1"):
            self.add("redirection", node, f"{op} (streams 3-6, *) is PowerShell 3.0")

    def on_variable(self, node: Node) -> None:
        name = _text(node).lower().lstrip("$").strip("{}")
        if name == "psitem":
            self.add("psitem", node, "$PSItem is PowerShell 3.0 (use $_)")
        if name.startswith("using:"):
            self.add("using", node, "$using: is PowerShell 3.0")
        if name in ("psscriptroot", "pscommandpath"):
            self.add("scriptroot", node, f"${name} outside a module is PowerShell 3.0")

    # -- statements -----------------------------------------------------------------------
    def on_class_statement(self, node: Node) -> None:
        self.add("class", node, "class is PowerShell 5.0")

    def on_enum_statement(self, node: Node) -> None:
        self.add("enum", node, "enum is PowerShell 5.0")

    def on_function_statement(self, node: Node) -> None:
        first = node.children[0] if node.children else None
        if first is not None and _text(first).lower() == "workflow":
            self.add("workflow", node, "workflow is PowerShell 3.0")
        self.member_enumeration(node)
        self.null_iteration(node)

    def on_program(self, node: Node) -> None:
        self.member_enumeration(node)

    def on_attribute_argument(self, node: Node) -> None:
        if all(c.type == "simple_name" for c in node.children):
            self.add("attribute", node, "a named attribute argument without '= $true' is 3.0")

    # -- members --------------------------------------------------------------------------
    def on_invokation_expression(self, node: Node) -> None:
        names = [c for c in node.children if c.type == "member_name"]
        if not names:
            return
        member = _text(names[0]).lower()
        ops = [_text(c) for c in node.children if c.type in ("::", ".")]
        args = [c for c in node.children if c.type == "argument_list"]
        count = len([c for a in args for c in walk(a) if c.type == "argument_expression"])
        if member == "new" and "::" in ops:
            self.add("new", node, "::new() is PowerShell 5.0 (use New-Object)")
        if member in ("where", "foreach") and "." in ops:
            self.add("methods", node, f".{member}() is PowerShell 4.0")
        if member in DOTNET4:
            wanted, what = DOTNET4[member]
            if wanted is None or wanted == count:
                self.add("dotnet4", node, f"{what} is .NET Framework 4 (2.0 runs on CLR 2.0)")

    def on_member_access(self, node: Node) -> None:
        names = [c for c in node.children if c.type == "member_name"]
        if not names or not node.children:
            return
        member = _text(names[0]).lower()
        target = node.children[0]
        if member in DOTNET4 and DOTNET4[member][0] is None:
            self.add("dotnet4", node, f"{DOTNET4[member][1]} is .NET Framework 4")
        counted = member in SCALAR_COUNT and target.type == "parenthesized_expression"
        if counted and any(n.type == "command" for n in walk(target)):
            why = f"(command).{member} on one result is PowerShell 3.0: wrap it in @(...)"
            self.add("scalar-count", node, why)
        if target.type == "array_expression" and member not in ARRAY_MEMBERS:
            self.add("member-enum", node, "member enumeration of @(...) is PowerShell 3.0")

    def member_enumeration(self, scope: Node) -> None:
        """Property reads on variables this scope only ever assigns from ``@(...)``."""
        assigned: dict[str, set[str]] = {}
        for node in self._own(scope):
            if node.type != "assignment_expression" or len(node.children) < 3:
                continue
            left, value = node.children[0], node.children[-1]
            var = [n for n in walk(left) if n.type == "variable"]
            if len(var) != 1 or _text(left).strip() != _text(var[0]):
                continue
            inner = value
            while inner.child_count == 1:
                inner = inner.children[0]
            kind = "array" if inner.type == "array_expression" else "other"
            assigned.setdefault(_text(var[0]).lower(), set()).add(kind)
        arrays = {name for name, kinds in assigned.items() if kinds == {"array"}}
        for node in self._own(scope):
            if node.type != "member_access" or not node.children:
                continue
            target = node.children[0]
            names = [c for c in node.children if c.type == "member_name"]
            known = target.type == "variable" and _text(target).lower() in arrays
            if known and names and _text(names[0]).lower() not in ARRAY_MEMBERS:
                why = "member enumeration of an array is PowerShell 3.0 (use foreach)"
                self.add("member-enum", node, why)

    def null_iteration(self, function: Node) -> None:
        """``foreach`` over, or ``.Count`` of, a parameter that may be unbound ($null): 2.0
        iterates ``$null`` once and its ``$null.Count`` is $null (3.0 made both 0); and
        ``foreach`` over a variable this function also assigns from something that may be
        $null."""
        nullable: set[str] = set()
        for param in (n for n in walk(function) if n.type == "script_parameter"):
            var = next((c for c in param.children if c.type == "variable"), None)
            if var is None or any(c.type == "script_parameter_default" for c in param.children):
                continue
            types = [n for n in walk(param) if n.type == "type_literal"]
            name = _text(types[-1]).strip()[1:-1].strip().lower() if types else ""
            if name.removeprefix("system.") not in NOT_NULL_TYPES:
                nullable.add(_text(var).lower())
        assigned: dict[str, set[str]] = {}
        for node in self._own(function):
            if node.type == "assignment_expression" and len(node.children) >= 3:
                left, op, value = node.children[0], node.children[1], node.children[-1]
                kind = "x" if _text(op) != "+=" and _may_be_null(value) else "safe"
                assigned.setdefault(_text(left).strip().lower(), set()).add(kind)
        for node in self._own(function):
            if node.type == "foreach_statement":
                after = [c for c in node.children if c.type == "pipeline"]
                inner = after[0] if after else node
                while inner.child_count == 1:
                    inner = inner.children[0]
                name = _text(inner).lower()
                if inner.type != "variable":
                    continue
                if name in nullable or "x" in assigned.get(name, set()):
                    why = f"foreach over {name}, which may be $null: 2.0 iterates $null once"
                    self.add("foreach-null", node, why)
            if node.type == "member_access" and node.children[0].type == "variable":
                names = [c for c in node.children if c.type == "member_name"]
                member = _text(names[0]).lower() if names else ""
                if member in SCALAR_COUNT and _text(node.children[0]).lower() in nullable:
                    why = f"{_text(node)} of an unbound parameter is $null on 2.0 (0 on 3.0)"
                    self.add("null-count", node, why)

    def _own(self, scope: Node) -> Iterator[Node]:
        """Nodes of ``scope`` not inside a nested function or script block."""
        for child in scope.children:
            if child.type in ("function_statement", "script_block_expression"):
                continue
            yield child
            yield from self._own(child)

    def methods_in_text(self) -> None:
        """``.ForEach(`` does not parse (``foreach`` is a keyword to tree-sitter): find it in
        the code outside string literals and comments."""
        code = bytearray(self.text.encode())
        for node in walk(self.root):
            if node.type in ("string_literal", "comment"):
                code[node.start_byte : node.end_byte] = b" " * (node.end_byte - node.start_byte)
        for match in re.finditer(rb"\.(ForEach|Where)\s*\(", bytes(code), re.IGNORECASE):
            line = code[: match.start()].count(b"\n") + 1
            text = match.group(0).decode()
            why = f".{match.group(1).decode()}() is PowerShell 4.0"
            self.out.append(Finding("methods", line, text, why))

    # -- commands -------------------------------------------------------------------------
    def on_command(self, node: Node) -> None:
        names = [c for c in node.children if c.type == "command_name"]
        if not names:
            return
        name = ALIASES.get(_text(names[0]).lower(), _text(names[0])).lower()
        table = versions()
        entry = table["cmdlets"].get(name)
        if entry is not None and (why := too_new(entry)) and not _guarded(node, name, entry):
            self.add("cmdlet", node, f"{_text(names[0])}: {why}")
        elements = [e for c in node.children if c.type == "command_elements" for e in c.children]
        params = [e for e in elements if e.type == "command_parameter"]
        for param in params:
            pname = _text(param).lstrip("-").rstrip(":").lower()
            found = table["parameters"].get(name, {}).get(pname) or table["common"].get(pname)
            if found is not None and (why := too_new(found)):
                self.add("parameter", param, f"{_text(names[0])} -{pname}: {why}")
        if name in ("where-object", "foreach-object"):
            blocks = [e for e in elements for n in walk(e) if n.type == "script_block_expression"]
            named = {_text(p).lstrip("-").lower() for p in params}
            if not blocks and not named & {"filterscript", "process", "begin", "end"}:
                self.add("simplified", node, f"{name} without a script block is PowerShell 3.0")
        if name == "set-strictmode":
            self.strict_mode(node, elements)

    def strict_mode(self, node: Node, elements: list[Node]) -> None:
        words = [_text(e).strip("'\"") for e in elements if e.type != "command_argument_sep"]
        for i, word in enumerate(words[:-1]):
            number = re.match(r"\d+", words[i + 1])
            if word.lower() == "-version" and number and int(number.group(0)) >= 3:
                self.add("strictmode", node, "Set-StrictMode -Version 3+ is 3.0 and later")


def _may_be_null(value: Node) -> bool:
    """Whether an assigned value may be $null: a command other than New-Object, a variable,
    a member or a parenthesised pipeline; not a literal, ``@(...)``, cast or operator result."""
    inner = value
    while inner.child_count == 1:
        inner = inner.children[0]
    if inner.type == "command":
        names = [c for c in inner.children if c.type == "command_name"]
        return not (names and _text(names[0]).lower() == "new-object")
    if inner.type in ("pipeline", "pipeline_chain"):
        return True
    return inner.type in ("variable", "member_access", "parenthesized_expression")


def _guarded(node: Node, name: str, entry: dict[str, Any]) -> bool:
    """Whether ``node`` is in the then-block of ``if (Get-Command -Name <name> ...)``, or of
    an ``if`` whose condition matches the entry's ``guard``: the cmdlet runs only where it
    exists (the 2.0 path is the else branch)."""
    command = r"Get-Command\s+(-Name\s+)?'?" + re.escape(name) + r"'?(\s|\))"
    pattern = re.compile(command + ("|" + entry["guard"] if entry.get("guard") else ""), re.I)
    child, parent = node, node.parent
    while parent is not None:
        if parent.type == "if_statement" and child.type == "statement_block":
            blocks = [c for c in parent.children if c.type == "statement_block"]
            condition = parent.child_by_field_name("condition")
            then = blocks and blocks[0] == child and condition is not None
            if then and condition is not None and pattern.search(_text(condition)):
                return True
        child, parent = parent, parent.parent
    return False


def ps2_findings(text: str) -> list[Finding]:
    """Every construct of ``text`` that Windows PowerShell 2.0 does not have."""
    return _Checker(text).run()
