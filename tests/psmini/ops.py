"""The operators: ``+ - * / %``, the comparisons (``-eq`` ... case-insensitive unless
``-c``-prefixed; an array on the left filters), ``-contains``/``-in``, ``-join``, ``-f``."""

from __future__ import annotations

import re
from typing import Any

from .convert import (
    cast_error,
    format_double,
    parse_number,
    to_number,
    to_string,
    truthy,
    type_name,
)
from .dates import DateTime
from .errors import RUNTIME, NetException, PSError, Unsupported, runtime_error
from .values import VOID, Hashtable, KeysView, PSEnum

_FORMAT_ITEM = re.compile(r"\{\{|\}\}|\{(\d+)(?:,(-?\d+))?(?::([^}]*))?\}|[{}]")


def _no_method(value: Any, op: str) -> PSError:
    return PSError(
        NetException(
            RUNTIME,
            f"Method invocation failed because [{type_name(value)}] does not contain a method "
            f"named '{op}'.",
        )
    )


def _number(value: Any) -> bool:
    return isinstance(value, int | float) or value is None


def add(a: Any, b: Any) -> Any:
    """``a + b``."""
    if a is VOID:
        a = None
    if b is VOID:
        b = None
    if a is None:
        return list(b) if isinstance(b, list) else b
    if isinstance(a, list):
        if isinstance(b, KeysView):
            b = b.snapshot()
        return a + (b if isinstance(b, list) else [b])
    if isinstance(a, Hashtable):
        if not isinstance(b, Hashtable):
            raise runtime_error("A hash table can only be added to another hash table.")
        merged = a.copy()
        for k, v in b.items():
            if merged.contains(k):
                raise runtime_error(
                    f"Item has already been added. Key in dictionary: '{k}'  Key being added: '{k}'"
                )
            merged.set(k, v)
        return merged
    if isinstance(a, str):
        return a + to_string(b)
    if isinstance(a, int | float):
        if isinstance(b, list | Hashtable):
            raise _no_method(b, "op_Addition")
        return _arith("+", to_number(a), to_number(b, _target(a)))
    if isinstance(a, DateTime | PSEnum | KeysView):
        raise Unsupported(f"{type_name(a)} + ...")
    raise _no_method(a, "op_Addition")


def _target(a: Any) -> str:
    return "System.Double" if isinstance(a, float) else "System.Int32"


def _arith(op: str, x: int | float, y: int | float) -> int | float:
    if op == "+":
        return x + y
    if op == "-":
        return x - y
    if op == "*":
        return x * y
    if y == 0:
        raise runtime_error("Attempted to divide by zero.", "System.DivideByZeroException")
    if op == "/":
        if isinstance(x, int) and isinstance(y, int) and x % y == 0:
            return x // y
        return float(x) / float(y)
    if isinstance(x, int) and isinstance(y, int):
        r = abs(x) % abs(y)
        return -r if x < 0 else r
    import math

    return math.fmod(x, y)


def arith(op: str, a: Any, b: Any) -> Any:
    """``- * / %`` (and ``+`` through :func:`add`)."""
    if op == "+":
        return add(a, b)
    a = None if a is VOID else a
    b = None if b is VOID else b
    if op == "*" and isinstance(a, str):
        return a * max(0, int(to_number(b)))
    if op == "*" and isinstance(a, list):
        return a * max(0, int(to_number(b)))
    names = {"-": "op_Subtraction", "*": "op_Multiply", "/": "op_Division", "%": "op_Modulus"}
    if isinstance(a, list | Hashtable):
        raise _no_method(a, names[op])
    if isinstance(a, DateTime | KeysView) or isinstance(b, DateTime):
        raise Unsupported(f"{type_name(a)} {op} {type_name(b)}")
    if isinstance(b, list | Hashtable):
        raise _no_method(b, names[op])
    return _arith(op, to_number(a), to_number(b, _target(a)))


def equals(a: Any, b: Any, case: bool = False) -> bool:
    """``a -eq b`` for a scalar ``a``: the right side is converted to the left's type."""
    if a is VOID:
        a = None
    if b is VOID:
        b = None
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, str):
        other = to_string(b)
        return a == other if case else a.lower() == other.lower()
    if isinstance(a, bool):
        return a == truthy(b)
    if isinstance(a, int | float):
        if isinstance(b, bool):
            return a == int(b)
        if isinstance(b, int | float):
            return a == b
        if isinstance(b, str):
            number = parse_number(b)
            return number is not None and a == number
        if isinstance(b, PSEnum):
            return a == b.value
        return False
    if isinstance(a, PSEnum):
        if isinstance(b, str):
            return a.name.lower() == b.strip().lower() or to_string(a.value) == b.strip()
        if isinstance(b, int) and not isinstance(b, bool):
            return a.value == b
        return isinstance(b, PSEnum) and a == b
    if isinstance(a, DateTime):
        return isinstance(b, DateTime) and a.ticks == b.ticks
    return a is b


def relation(a: Any, b: Any, case: bool = False) -> int:
    """The sign of comparing ``a`` with ``b`` (-1, 0, 1) for ``-lt -le -gt -ge``."""
    a = None if a is VOID else a
    b = None if b is VOID else b
    if a is None or b is None:
        return 0 if a is b else (-1 if a is None else 1)
    if isinstance(a, str):
        x, y = (a, to_string(b)) if case else (a.lower(), to_string(b).lower())
        return (x > y) - (x < y)
    if isinstance(a, bool | int | float | PSEnum):
        n, m = to_number(a), to_number(b, _target(a))
        return (n > m) - (n < m)
    if isinstance(a, DateTime) and isinstance(b, DateTime):
        return (a.ticks > b.ticks) - (a.ticks < b.ticks)
    raise Unsupported(f"comparing {type_name(a)} with {type_name(b)}")


_RELATIONS = {
    "lt": lambda s: s < 0,
    "le": lambda s: s <= 0,
    "gt": lambda s: s > 0,
    "ge": lambda s: s >= 0,
}


def _scalar_compare(op: str, a: Any, b: Any, case: bool) -> bool:
    if op == "eq":
        return equals(a, b, case)
    if op == "ne":
        return not equals(a, b, case)
    return bool(_RELATIONS[op](relation(a, b, case)))


def _items(value: Any) -> list[Any]:
    if isinstance(value, KeysView):
        return value.snapshot()
    if isinstance(value, list):
        return value
    return [] if value is None or value is VOID else [value]


def compare(operator: str, a: Any, b: Any) -> Any:
    """A comparison operator by name (``-eq``, ``-cne``, ``-contains``...)."""
    name = operator.lstrip("-").lower()
    case = name.startswith("c") and name[1:] in (
        "eq",
        "ne",
        "lt",
        "le",
        "gt",
        "ge",
        "contains",
        "notcontains",
        "in",
        "notin",
    )
    if case or (name.startswith("i") and name[1:] in _RELATIONS.keys() | {"eq", "ne"}):
        name = name[1:]
    if name in ("contains", "notcontains"):
        found = any(equals(item, b, case) for item in _items(a))
        return found if name == "contains" else not found
    if name in ("in", "notin"):
        found = any(equals(item, a, case) for item in _items(b))
        return found if name == "in" else not found
    if name in ("match", "notmatch", "cmatch", "cnotmatch", "imatch", "inotmatch"):
        return _match(name, a, b)
    if name not in ("eq", "ne", "lt", "le", "gt", "ge"):
        raise Unsupported(f"operator -{name}")
    if isinstance(a, list | KeysView):
        return [item for item in _items(a) if _scalar_compare(name, item, b, case)]
    return _scalar_compare(name, a, b, case)


def _match(name: str, a: Any, b: Any) -> Any:
    """``-match`` / ``-notmatch`` (``c``: case-sensitive). Python's ``re`` stands in for
    .NET's regex (the same for the simple patterns the scripts use); ``$Matches`` is not set,
    and reading it is Unsupported."""
    flags = 0 if name.startswith("c") else re.IGNORECASE
    negate = "not" in name
    try:
        pattern = re.compile(to_string(b), flags)
    except re.error as exc:
        raise runtime_error(f"Invalid regular expression pattern: {to_string(b)}: {exc}") from None

    def hit(value: Any) -> bool:
        return (pattern.search(to_string(value)) is not None) != negate

    if isinstance(a, list | KeysView):
        return [item for item in _items(a) if hit(item)]
    return hit(a)


def join(items: Any, separator: Any) -> str:
    """``items -join separator``."""
    return to_string(separator).join(to_string(v) for v in _items(items))


def format_operator(fmt: Any, args: Any) -> str:
    """``fmt -f args``: ``{0}``, ``{0,-5}``, ``{0:x2}`` / ``{0:D3}``; braces doubled."""
    values = _items(args) if isinstance(args, list) else [args]
    text = to_string(fmt)

    def item(m: re.Match[str]) -> str:
        token = m.group(0)
        if token in ("{{", "}}"):
            return token[0]
        if m.group(1) is None:
            raise runtime_error(
                f'Error formatting a string: Input string was not in a correct format.: "{text}"',
                "System.FormatException",
            )
        index = int(m.group(1))
        if index >= len(values):
            raise runtime_error(
                "Error formatting a string: Index (zero based) must be greater than or equal to "
                f'zero and less than the size of the argument list.: "{text}"',
                "System.FormatException",
            )
        out = _format_value(values[index], m.group(3))
        width = int(m.group(2) or 0)
        return out.rjust(width) if width >= 0 else out.ljust(-width)

    return _FORMAT_ITEM.sub(item, text)


def _format_value(value: Any, spec: str | None) -> str:
    if not spec:
        if isinstance(value, float):
            return format_double(value)
        return to_string(value)
    kind, digits = spec[0], spec[1:]
    if kind in "xXdD" and (digits == "" or digits.isdigit()) and isinstance(value, int):
        width = int(digits or 0)
        if kind in "xX":
            text = format(value & 0xFFFFFFFF if value < 0 else value, "x")
            text = text.upper() if kind == "X" else text
            return text.rjust(width, "0")
        return ("-" if value < 0 else "") + str(abs(value)).rjust(width, "0")
    raise Unsupported(f"format specifier {{:{spec}}}")


def negate(value: Any) -> int | float:
    """Unary minus."""
    if isinstance(value, list | Hashtable):
        raise _no_method(value, "op_UnaryNegation")
    if isinstance(value, DateTime):
        raise cast_error(value, "System.Int32")
    return -to_number(value)
