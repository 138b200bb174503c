"""The instance methods emulated for strings, hashtables and DateTime (each a table of
name -> implementation; an argument count no overload takes is Unsupported)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .convert import to_double, to_integer, to_string
from .dates import DateTime
from .errors import NetError
from .values import NULL_STRING, VOID, Hashtable, PSObject

Method = Callable[[list[Any]], Any]

#: What .NET's Trim() and Split() without arguments treat as white space.
_WHITESPACE = "".join(
    c for c in map(chr, range(0x3001)) if c.isspace() and c not in "\x1c\x1d\x1e\x1f"
)
_SCALE_MS = {
    "addseconds": 1000,
    "addminutes": 60_000,
    "addhours": 3_600_000,
    "adddays": 86_400_000,
    "addmilliseconds": 1,
}


def str_arg(value: Any) -> str | None:
    """An argument for a .NET string parameter ($null is '', [NullString] null)."""
    if value is NULL_STRING:
        return None
    return "" if value is None else to_string(value)


def find_method(obj: Any, low: str) -> Callable[[list[Any]], Any] | None:
    """The emulated instance method ``low`` of ``obj`` (None when there is none)."""
    if isinstance(obj, str):
        return _string_methods(obj).get(low)
    if isinstance(obj, Hashtable):
        return _table_methods(obj).get(low)
    if isinstance(obj, DateTime):
        return _date_methods(obj).get(low)
    if isinstance(obj, PSObject):
        return obj.method(low)
    return None


def _chars(args: list[Any]) -> str | None:
    if not args:
        return None
    if len(args) == 1:
        return str_arg(args[0]) or None
    parts = [str_arg(a) or "" for a in args]
    if any(len(p) != 1 for p in parts):
        raise TypeError("not a char array")
    return "".join(parts)


def _split(s: str, args: list[Any]) -> list[str]:
    chars = _chars(args) or _WHITESPACE
    return re.split("[" + re.escape(chars) + "]", s)


def _substring(s: str, args: list[Any]) -> str:
    start = to_integer(args[0], 32)
    if start < 0 or start > len(s):
        raise NetError(
            "System.ArgumentOutOfRangeException",
            "startIndex cannot be larger than length of string.\r\nParameter name: startIndex",
        )
    if len(args) == 1:
        return s[start:]
    count = to_integer(args[1], 32)
    if count < 0 or start + count > len(s):
        raise NetError(
            "System.ArgumentOutOfRangeException",
            "Index and length must refer to a location within the string.\r\n"
            "Parameter name: length",
        )
    return s[start : start + count]


def _replace(s: str, args: list[Any]) -> str:
    old, new = str_arg(args[0]), str_arg(args[1])
    if old is None:
        raise NetError(
            "System.ArgumentNullException", "Value cannot be null.\r\nParameter name: oldValue"
        )
    if old == "":
        raise NetError(
            "System.ArgumentException",
            "String cannot be of zero length.\r\nParameter name: oldValue",
        )
    if len(args) != 2:
        raise TypeError("Replace overload")
    return s.replace(old, new or "")


def _case(s: str, upper: bool) -> str:
    return "".join(
        (c.upper() if upper else c.lower()) if len(c.upper() if upper else c.lower()) == 1 else c
        for c in s
    )


def _string_methods(s: str) -> dict[str, Callable[[list[Any]], Any]]:
    def one(args: list[Any]) -> str:
        if len(args) != 1:
            raise TypeError("one argument")
        return str_arg(args[0]) or ""

    return {
        "trim": lambda a: s.strip(_chars(a) or _WHITESPACE),
        "trimstart": lambda a: s.lstrip(_chars(a) or _WHITESPACE),
        "trimend": lambda a: s.rstrip(_chars(a) or _WHITESPACE),
        "replace": lambda a: _replace(s, a),
        "split": lambda a: _split(s, a),
        "tolower": lambda a: _case(s, False) if not a else _no(),
        "tolowerinvariant": lambda a: _case(s, False) if not a else _no(),
        "toupper": lambda a: _case(s, True) if not a else _no(),
        "toupperinvariant": lambda a: _case(s, True) if not a else _no(),
        "startswith": lambda a: s.startswith(one(a)),
        "endswith": lambda a: s.endswith(one(a)),
        "contains": lambda a: one(a) in s,
        "indexof": lambda a: s.find(one(a)),
        "lastindexof": lambda a: s.rfind(one(a)),
        "substring": lambda a: _substring(s, a),
        "padleft": lambda a: s.rjust(
            to_integer(a[0], 32), (str_arg(a[1]) or " ")[0] if len(a) > 1 else " "
        ),
        "padright": lambda a: s.ljust(
            to_integer(a[0], 32), (str_arg(a[1]) or " ")[0] if len(a) > 1 else " "
        ),
    }


def _no() -> Any:
    raise TypeError("unsupported overload")


def _key(args: list[Any], n: int) -> Any:
    if len(args) != n:
        raise TypeError("argument count")
    if args[0] is None:
        raise NetError("System.ArgumentNullException", "Key cannot be null.\r\nParameter name: key")
    return args[0]


def _void(fn: Callable[..., None], *args: Any) -> Any:
    fn(*args)
    return VOID


def _table_methods(t: Hashtable) -> dict[str, Callable[[list[Any]], Any]]:
    return {
        "containskey": lambda a: t.contains(_key(a, 1)),
        "contains": lambda a: t.contains(_key(a, 1)),
        "add": lambda a: _void(t.add, _key(a, 2), a[1]),
        "remove": lambda a: _void(t.remove, _key(a, 1)),
        "clear": lambda a: _void(t.clear) if not a else _no(),
        "clone": lambda a: t.copy() if not a else _no(),
    }


def _date_string(d: DateTime, args: list[Any]) -> str:
    fmt = str_arg(args[0]) if args else None
    text = d.format(fmt)
    if text is None:
        raise TypeError("format")
    return text


def _date_methods(d: DateTime) -> dict[str, Callable[[list[Any]], Any]]:
    def adder(scale: int) -> Callable[[list[Any]], Any]:
        return lambda a: d.add_scaled(to_double(a[0]), scale)

    methods = {name: adder(scale) for name, scale in _SCALE_MS.items()}
    methods["addticks"] = lambda a: d.add_ticks(to_integer(a[0], 64))
    methods["tostring"] = lambda a: _date_string(d, a)
    methods["touniversaltime"] = lambda a: DateTime(d.ticks, "Utc") if not a else _no()
    return methods
