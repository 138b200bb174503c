"""Members of values: properties (``$x.Name``, ``.Count`` on anything), indexing, and the
instance methods emulated for strings, hashtables, DateTime and emulated .NET objects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .convert import INT32, to_integer, to_string, type_name
from .dates import DateTime
from .errors import (
    NetError,
    NetException,
    Unsupported,
    getter_error,
    method_error,
    runtime_error,
)
from .methods import find_method
from .values import VOID, ErrorRecord, Hashtable, KeysView, PSEnum, PSObject, PSType


def _intrinsic(name: str) -> int | None:
    return 1 if name.lower() in ("count", "length") else None


def get_member(obj: Any, name: str, line: int) -> Any:
    """``obj.name`` (a missing hashtable key or PSCustomObject property reads as $null)."""
    low = name.lower()
    if obj is None or obj is VOID:
        return 0 if low in ("count", "length") else None
    if isinstance(obj, Hashtable):
        if obj.contains(name):
            return obj.get(name)
        if low in ("keys", "values"):
            return KeysView(obj, of_values=low == "values")
        return len(obj) if low == "count" else None
    if isinstance(obj, list):
        if low in ("count", "length", "longlength"):
            return len(obj)
        raise Unsupported(f"member enumeration .{name} on an array", line)
    if isinstance(obj, KeysView) and low == "count":
        return len(obj.snapshot())
    if isinstance(obj, str):
        if low == "length":
            return len(obj.encode("utf-16-le")) // 2
        if low == "count":
            return 1
    elif isinstance(obj, DateTime):
        found = _date_member(obj, low)
        if found is not None:
            return found
    elif isinstance(obj, PSEnum) and low == "value__":
        return obj.value
    elif isinstance(obj, PSObject):
        ok, value, getter = obj.find(name)
        if ok and getter is not None:
            try:
                return getter()
            except NetError as exc:
                raise getter_error(name, exc) from None
        if ok:
            return value
        if obj.custom:
            return _intrinsic(name)
    elif isinstance(obj, ErrorRecord):
        values = {"exception": obj.exception, "targetobject": obj.error.target}
        if low in values:
            return values[low]
    elif isinstance(obj, NetException):
        if low == "message":
            return obj.message
        if low == "innerexception":
            return obj.inner
    if _intrinsic(name) is not None:
        return 1
    raise Unsupported(f"property .{name} of {type_name(obj)}", line)


def _date_member(d: DateTime, low: str) -> Any:
    if low == "ticks":
        return d.ticks
    if low == "kind":
        return PSEnum("System.DateTimeKind", d.kind, ("Unspecified", "Utc", "Local").index(d.kind))
    return d.part(low)


def set_member(obj: Any, name: str, value: Any, line: int) -> None:
    """``obj.name = value`` (hashtable keys and PSCustomObject properties)."""
    if isinstance(obj, Hashtable):
        obj.set(name, value)
        return
    if isinstance(obj, PSObject) and obj.custom:
        if not obj.set(name, value):
            raise runtime_error(
                f"The property '{name}' cannot be found on this object. Verify "
                "that the property exists and can be set."
            )
        return
    if obj is None:
        raise runtime_error(
            f"The property '{name}' cannot be found on this object. Verify that "
            "the property exists and can be set."
        )
    raise Unsupported(f"setting .{name} on {type_name(obj)}", line)


def _list_index(items: list[Any], index: Any) -> int:
    i = to_integer(index, 32)
    return i + len(items) if i < 0 else i


def get_index(obj: Any, index: Any, line: int) -> Any:
    """``obj[index]`` (negative indexes count from the end; out of range is $null)."""
    if obj is None:
        raise runtime_error("Cannot index into a null array.")
    if isinstance(index, list):
        raise Unsupported("an array slice (an index that is an array)", line)
    if isinstance(obj, Hashtable):
        return obj.get(index)
    if isinstance(obj, list | str):
        i = _list_index(list(obj) if isinstance(obj, str) else obj, index)
        return obj[i] if 0 <= i < len(obj) else None
    raise Unsupported(f"indexing into {type_name(obj)}", line)


def set_index(obj: Any, index: Any, value: Any, line: int) -> None:
    """``obj[index] = value``."""
    if obj is None:
        raise runtime_error("Cannot index into a null array.")
    if isinstance(obj, Hashtable):
        obj.set(index, value)
        return
    if isinstance(obj, list):
        i = _list_index(obj, index)
        if not 0 <= i < len(obj):
            raise runtime_error(
                "Index was outside the bounds of the array.", "System.IndexOutOfRangeException"
            )
        obj[i] = value
        return
    raise Unsupported(f"assigning an element of {type_name(obj)}", line)


def call_method(obj: Any, name: str, args: list[Any], line: int) -> Any:
    """``obj.name(args)``; .NET exceptions come back as PowerShell reports them."""
    if obj is None or obj is VOID:
        raise runtime_error("You cannot call a method on a null-valued expression.")
    low = name.lower()
    if low == "tostring" and not args and not isinstance(obj, DateTime):
        return to_string(obj) if not isinstance(obj, NetException) else obj.ps_string()
    if low == "gettype" and not args and isinstance(obj, NetException):
        return PSObject(
            "System.RuntimeType",
            {"FullName": obj.type_name, "Name": obj.type_name.rsplit(".", 1)[-1]},
            text=obj.type_name,
        )
    method = find_method(obj, low)
    if method is None:
        raise Unsupported(
            f"method .{name}() of {type_name(obj)} with {len(args)} argument(s)", line
        )
    try:
        return method(args)
    except NetError as exc:
        raise method_error(name, len(args), exc) from None
    except (TypeError, IndexError):
        raise Unsupported(
            f"method .{name}() of {type_name(obj)} with {len(args)} argument(s)", line
        ) from None


def is_type(value: Any, target: Any, negate: bool, line: int) -> bool:
    """``value -is [type]``."""
    if not isinstance(target, PSType):
        raise Unsupported("-is with something other than a type literal", line)
    checks: dict[str, Callable[[Any], bool]] = {
        "string": lambda v: isinstance(v, str),
        "int": lambda v: (
            isinstance(v, int) and not isinstance(v, bool) and INT32[0] <= v <= INT32[1]
        ),
        "long": lambda v: (
            isinstance(v, int) and not isinstance(v, bool) and not INT32[0] <= v <= INT32[1]
        ),
        "double": lambda v: isinstance(v, float),
        "bool": lambda v: isinstance(v, bool),
        "hashtable": lambda v: isinstance(v, Hashtable),
        "object[]": lambda v: isinstance(v, list),
        "datetime": lambda v: isinstance(v, DateTime),
        "object": lambda v: v is not None,
        # psmini has one-letter strings for chars and no other number types: never these
        **dict.fromkeys(
            ("char", "byte", "sbyte", "int16", "uint16", "uint32", "uint64", "decimal", "single"),
            lambda v: False,
        ),
        "enum": lambda v: isinstance(v, PSEnum),
        "collections.idictionary": lambda v: isinstance(v, Hashtable),
        "collections.ienumerable": lambda v: isinstance(v, str | list | Hashtable | KeysView),
    }
    check = checks.get(target.key)
    if check is None:
        raise Unsupported(f"-is {target.text}", line)
    return check(value) != negate
