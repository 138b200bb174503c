"""Parsing with tree-sitter-powershell, and the literal values (strings, numbers, type
names) read from the tree."""

from __future__ import annotations

import re

import tree_sitter_powershell
from tree_sitter import Language, Node, Parser

from .convert import type_key
from .errors import Unsupported

_PARSER = Parser(Language(tree_sitter_powershell.language()))
#: The characters PowerShell treats as single quotes.
QUOTES = "'\u2018\u2019\u201a\u201b"
#: ... and as double quotes.
DQUOTES = '"\u201c\u201d\u201e'
#: Wrapper nodes that stand for their single child when they have no operator.
_WRAPPERS = frozenset(
    [
        "logical_expression",
        "bitwise_expression",
        "comparison_expression",
        "additive_expression",
        "multiplicative_expression",
        "format_expression",
        "range_expression",
        "array_literal_expression",
        "unary_expression",
        "argument_expression",
        "logical_argument_expression",
        "bitwise_argument_expression",
        "comparison_argument_expression",
        "additive_argument_expression",
        "multiplicative_argument_expression",
        "format_argument_expression",
        "range_argument_expression",
        "expression_with_unary_operator",
        "key_expression",
        "left_assignment_expression",
        "integer_literal",
        "member_name",
    ]
)
_DECIMAL = re.compile(r"^(\d+)(l)?(kb|mb|gb|tb|pb)?$", re.I)
_HEX = re.compile(r"^0x([0-9a-f]+)(l)?$", re.I)
_REAL = re.compile(r"^(\d*\.?\d+(?:e[+-]?\d+)?|\d+\.(?:e[+-]?\d+)?)(kb|mb|gb|tb|pb)?$", re.I)
_MULTIPLIERS = {"kb": 2**10, "mb": 2**20, "gb": 2**30, "tb": 2**40, "pb": 2**50}


def parse(script: str) -> Node:
    """The program node; a syntax error is Unsupported (with its line)."""
    root = _PARSER.parse(script.encode()).root_node
    if root.has_error:
        bad = _first_error(root)
        near = text(bad)[:40] if bad is not None else ""
        raise Unsupported(f"syntax tree-sitter cannot parse near {near!r}", line(bad or root))
    return root


def _first_error(node: Node) -> Node | None:
    if node.type == "ERROR" or node.is_missing:
        return node
    for child in node.children:
        if child.has_error or child.is_missing:
            found = _first_error(child)
            if found is not None:
                return found
    return None


def text(node: Node) -> str:
    """The source text of a node."""
    return (node.text or b"").decode()


def line(node: Node) -> int:
    """The node's first line (1-based)."""
    return node.start_point[0] + 1


def kids(node: Node) -> list[Node]:
    """The named children, comments left out."""
    return [c for c in node.named_children if c.type != "comment"]


def children(node: Node) -> list[Node]:
    """All children (tokens too), comments left out."""
    return [c for c in node.children if c.type != "comment"]


def unwrap(node: Node) -> Node:
    """Descend through wrapper nodes that only hold one child."""
    while node.type in _WRAPPERS:
        parts = children(node)
        if len(parts) != 1 or not parts[0].is_named:
            break
        node = parts[0]
    return node


def unquote(body: str, at: Node | None) -> str:
    """The value of a verbatim string's body: a doubled quote character is one; a single one
    would end the string in PowerShell, where the grammar did not, so it is Unsupported."""
    out, i = [], 0
    while i < len(body):
        c = body[i]
        if c in QUOTES:
            if i + 1 < len(body) and body[i + 1] in QUOTES:
                out.append(c)
                i += 2
                continue
            raise Unsupported(f"a lone quote {c!r} in a verbatim string", line(at) if at else None)
        out.append(c)
        i += 1
    return "".join(out)


def string_value(node: Node) -> str:
    """A string literal: verbatim strings and here-strings; double-quoted ones only when they
    are constant (no ``$`` and no backtick)."""
    inner = kids(node)[0] if kids(node) else node
    raw = text(node)
    if inner.type == "verbatim_string_characters":
        return unquote(raw[1:-1], node)
    if inner.type == "verbatim_here_string_characters":
        return _here_body(raw)
    if inner.type in ("expandable_string_literal", "expandable_here_string_literal"):
        if kids(inner) or "$" in raw or "`" in raw:
            raise Unsupported("an expandable string with $ or a backtick", line(node))
        if inner.type == "expandable_here_string_literal":
            return _here_body(raw)
        body, out, i = raw[1:-1], [], 0
        while i < len(body):
            out.append(body[i])
            i += 2 if body[i] in DQUOTES and i + 1 < len(body) and body[i + 1] in DQUOTES else 1
        return "".join(out)
    raise Unsupported(f"string literal {inner.type}", line(node))


def _here_body(raw: str) -> str:
    first = raw.index("\n") + 1
    last = raw.rindex("\n")
    body = raw[first:last] if last >= first else ""
    return body[:-1] if body.endswith("\r") else body


def number_value(node: Node) -> int | float:
    """An integer or real literal (Int32 when it fits, else Int64; hex fits 32 bits signed)."""
    raw = text(node)
    m = _HEX.match(raw)
    if m:
        value = int(m.group(1), 16)
        if value >= 2**64:
            raise Unsupported(f"hex literal {raw}", line(node))
        if not m.group(2) and value < 2**32:
            return value - 2**32 if value >= 2**31 else value
        return value - 2**64 if value >= 2**63 else value
    m = _DECIMAL.match(raw)
    if m:
        value = int(m.group(1)) * _MULTIPLIERS.get((m.group(3) or "").lower(), 1)
        if value >= 2**63:
            raise Unsupported(f"integer literal {raw} (decimal or double)", line(node))
        return value
    m = _REAL.match(raw)
    if m:
        return float(m.group(1)) * _MULTIPLIERS.get((m.group(2) or "").lower(), 1)
    raise Unsupported(f"number literal {raw}", line(node))


def type_literal_key(node: Node) -> str:
    """The normalised key of a ``[type]`` literal node."""
    spec = next((c for c in kids(node) if c.type == "type_spec"), None)
    if spec is None:
        raise Unsupported(f"type literal {text(node)}", line(node))
    name = text(spec)
    if "[" in name.replace("[]", "") or "," in name:
        raise Unsupported(f"generic type {name}", line(node))
    return type_key(name)
