"""Expressions: literals, variables, operators, casts, ``@()``/``$()``/``@{}``, member
access, indexing and method calls (the statements are in :mod:`.interp`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tree_sitter import Node

from . import dotnet, members, ops
from .convert import cast, to_integer, to_number, to_string, truthy
from .errors import Unsupported, runtime_error
from .scope import Variables, split_name
from .syntax import children, kids, line, number_value, string_value, text, type_literal_key, unwrap
from .values import VOID, Hashtable, KeysView, PSType

if TYPE_CHECKING:
    from .host import WindowsHost

_BINARY = frozenset(
    [
        "logical_expression",
        "bitwise_expression",
        "comparison_expression",
        "additive_expression",
        "multiplicative_expression",
        "format_expression",
        "range_expression",
        "logical_argument_expression",
        "bitwise_argument_expression",
        "comparison_argument_expression",
        "additive_argument_expression",
        "multiplicative_argument_expression",
        "format_argument_expression",
        "range_argument_expression",
    ]
)
INCREMENTS = frozenset(
    [
        "post_increment_expression",
        "post_decrement_expression",
        "pre_increment_expression",
        "pre_decrement_expression",
    ]
)


def collapse(items: list[Any]) -> Any:
    """A command's output as a value: nothing -> $null, one -> it, more -> an array."""
    if not items:
        return None
    return items[0] if len(items) == 1 else list(items)


def emit(value: Any, out: list[Any]) -> None:
    """Write a value to the output: arrays (and key collections) are enumerated."""
    if value is VOID:
        return
    if isinstance(value, list):
        out.extend(value)
    elif isinstance(value, KeysView):
        out.extend(value.snapshot())
    else:
        out.append(value)


class Evaluator:
    """Expression evaluation; the interpreter supplies the statements and commands."""

    vars: Variables
    host: WindowsHost

    def pipeline_value(self, node: Node) -> Any:  # pragma: no cover - provided by Interpreter
        raise NotImplementedError

    def exec_list(self, node: Node | None, out: list[Any]) -> None:  # pragma: no cover
        raise NotImplementedError

    def store(self, target: Node, value: Any) -> None:  # pragma: no cover
        raise NotImplementedError

    def eval(self, node: Node) -> Any:
        """The value of an expression node (VOID for a void method call)."""
        node = unwrap(node)
        handler = _HANDLERS.get(node.type)
        if handler is None:
            raise Unsupported(f"expression {node.type} ({text(node)[:40]!r})", line(node))
        return handler(self, node)

    def value(self, node: Node) -> Any:
        """Like :meth:`eval`, with VOID read as $null."""
        v = self.eval(node) if node.type != "pipeline" else self.pipeline_value(node)
        return None if v is VOID else v

    # -- leaves --------------------------------------------------------------------------------
    def _variable(self, node: Node) -> Any:
        qualifier, name = split_name(text(node), line(node))
        return self.vars.read(qualifier, name, line(node))

    def _string(self, node: Node) -> Any:
        return string_value(node)

    def _number(self, node: Node) -> Any:
        return number_value(node)

    def _type(self, node: Node) -> Any:
        return PSType(type_literal_key(node), text(node))

    # -- composites ----------------------------------------------------------------------------
    def _array_literal(self, node: Node) -> Any:
        return [self.value(k) for k in kids(node)]

    def _paren(self, node: Node) -> Any:
        return self.pipeline_value(kids(node)[0])

    def _sub(self, node: Node) -> Any:
        out: list[Any] = []
        self.exec_list(node.child_by_field_name("statements"), out)
        return collapse(out)

    def _array(self, node: Node) -> Any:
        out: list[Any] = []
        self.exec_list(node.child_by_field_name("statements"), out)
        return out

    def _hash(self, node: Node) -> Any:
        table = Hashtable()
        body = next((k for k in kids(node) if k.type == "hash_literal_body"), None)
        for entry in kids(body) if body is not None else []:
            key_node, value_node = kids(entry)[0], kids(entry)[-1]
            inner = unwrap(key_node)
            key = text(inner) if inner.type == "simple_name" else self.value(inner)
            if table.contains(key):
                raise runtime_error(f"Duplicate keys '{key}' are not allowed in hash literals.")
            table.set(key, self.value(value_node))
        return table

    # -- operators -----------------------------------------------------------------------------
    def _binary(self, node: Node) -> Any:
        parts = children(node)
        if len(parts) != 3:
            raise Unsupported(f"{node.type} with {len(parts)} parts", line(node))
        left, op, right = parts[0], text(parts[1]).lower(), parts[2]
        if op in ("-and", "-or"):
            first = truthy(self.value(left))
            if op == "-and" and not first:
                return False
            if op == "-or" and first:
                return True
            return truthy(self.value(right))
        a, b = self.value(left), self.value(right)
        if op == "-xor":
            return truthy(a) != truthy(b)
        if op in ("+", "-", "*", "/", "%"):
            return ops.arith(op, a, b)
        if op == "-join":
            return ops.join(a, b)
        if op == "-f":
            return ops.format_operator(a, b)
        if op == "..":
            return self._range(a, b, node)
        if op in ("-is", "-isnot"):
            return members.is_type(a, b, op == "-isnot", line(node))
        if op in ("-band", "-bor", "-bxor"):
            x, y = to_integer(a, 64), to_integer(b, 64)
            return {"-band": x & y, "-bor": x | y, "-bxor": x ^ y}[op]
        return ops.compare(op, a, b)

    def _range(self, a: Any, b: Any, node: Node) -> Any:
        start, end = to_integer(a, 32), to_integer(b, 32)
        if abs(end - start) > 1_000_000:
            raise Unsupported("a range of more than a million numbers", line(node))
        step = 1 if end >= start else -1
        return list(range(start, end + step, step))

    def _unary(self, node: Node) -> Any:
        parts = children(node)
        op = text(parts[0]).lower()
        operand = self.value(parts[-1])
        if op in ("-not", "!"):
            return not truthy(operand)
        if op == "-":
            return ops.negate(operand)
        if op == "+":
            return to_number(operand)
        if op == ",":
            return [operand]
        if op == "-join":
            return ops.join(operand, "")
        raise Unsupported(f"unary operator {op}", line(node))

    def _cast(self, node: Node) -> Any:
        type_node, operand = kids(node)[0], kids(node)[-1]
        key = type_literal_key(type_node)
        return cast(key, self.eval(operand))

    def _increment(self, node: Node) -> Any:
        target = next(k for k in kids(node))
        old = self.value(target)
        delta = 1 if "increment" in node.type else -1
        new = ops.add(old, delta) if old is not None else delta
        self.store(target, new)
        return old if node.type.startswith("post") else new

    # -- members -------------------------------------------------------------------------------
    def member_name(self, node: Node) -> str:
        """The name in ``.Name`` / ``.$name`` / ``.'name'``."""
        inner = unwrap(node)
        if inner.type == "simple_name":
            return text(inner)
        return to_string(self.value(inner))

    def _is_static(self, node: Node) -> bool:
        return any(c.type == "::" for c in node.children)

    def _member(self, node: Node) -> Any:
        target, name = kids(node)[0], self.member_name(kids(node)[-1])
        if self._is_static(node):
            return dotnet.static_property(self.host, type_literal_key(target), name, line(node))
        return members.get_member(self.value(target), name, line(node))

    def _index(self, node: Node) -> Any:
        target, index = kids(node)[0], kids(node)[-1]
        return members.get_index(self.value(target), self.value(index), line(node))

    def call_args(self, node: Node) -> list[Any]:
        """The evaluated arguments of a method call."""
        arg_list = next((k for k in kids(node) if k.type == "argument_list"), None)
        expressions = kids(arg_list) if arg_list is not None else []
        if len(expressions) == 1 and expressions[0].type == "argument_expression_list":
            expressions = kids(expressions[0])
        return [self.value(e) for e in expressions]

    def _invoke(self, node: Node) -> Any:
        parts = kids(node)
        target, name_node = parts[0], parts[1]
        name = self.member_name(name_node)
        args = self.call_args(node)
        if self._is_static(node):
            return dotnet.call_static(self.host, type_literal_key(target), name, args, line(node))
        return members.call_method(self.value(target), name, args, line(node))


_HANDLERS: dict[str, Callable[[Evaluator, Node], Any]] = {
    "variable": Evaluator._variable,
    "string_literal": Evaluator._string,
    "decimal_integer_literal": Evaluator._number,
    "hexadecimal_integer_literal": Evaluator._number,
    "real_literal": Evaluator._number,
    "type_literal": Evaluator._type,
    "array_literal_expression": Evaluator._array_literal,
    "parenthesized_expression": Evaluator._paren,
    "sub_expression": Evaluator._sub,
    "array_expression": Evaluator._array,
    "hash_literal_expression": Evaluator._hash,
    "expression_with_unary_operator": Evaluator._unary,
    "cast_expression": Evaluator._cast,
    "member_access": Evaluator._member,
    "element_access": Evaluator._index,
    "invokation_expression": Evaluator._invoke,
    **{t: Evaluator._binary for t in _BINARY},
    **{t: Evaluator._increment for t in INCREMENTS},
}
