"""What the interpreter hands back: ``$OrchPayload`` through an emulation of Windows
PowerShell 5.1's ``ConvertTo-Json -Depth 8 -Compress``, and the output as text."""

from __future__ import annotations

import json
import math
from typing import Any

from .convert import format_double, to_string
from .dates import DateTime
from .errors import NetException, PSError, Unsupported
from .values import VOID, Hashtable, KeysView, PSEnum, PSObject

DEPTH = 8


def to_json(value: Any, depth: int = DEPTH) -> str:
    """``ConvertTo-Json -InputObject $value -Depth 8 -Compress``: hashtables in insertion order
    (real hashtables have no order), enums as numbers, DateTime as ``/Date(ms)/``, doubles
    in .NET's round-trip form (5.0 is ``5``), deeper levels as strings."""
    return _json(value, 0, depth)


def _json(value: Any, level: int, depth: int) -> str:
    if value is None or value is VOID:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise Unsupported("a NaN or infinite number in ConvertTo-Json")
        return format_double(value, roundtrip=True)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, PSEnum):
        return str(value.value)
    if isinstance(value, DateTime):
        return json.dumps(value.json_string())
    if isinstance(value, Hashtable | list | KeysView | PSObject) and level > depth:
        return json.dumps(to_string(value))
    if isinstance(value, Hashtable):
        for key in value.keys():  # noqa: SIM118 - a Hashtable, not a dict
            if not isinstance(key, str):
                raise PSError(
                    NetException(
                        "System.ArgumentException",
                        "The type 'System.Collections.Hashtable' is not supported for "
                        "serialization or deserialization of a dictionary. Keys must be strings.",
                    )
                )
        items = [f"{json.dumps(k)}:{_json(v, level + 1, depth)}" for k, v in value.items()]
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | KeysView):
        items = value.snapshot() if isinstance(value, KeysView) else value
        return "[" + ",".join(_json(v, level + 1, depth) for v in items) + "]"
    if isinstance(value, PSObject) and value.custom:
        fields = [f"{json.dumps(k)}:{_json(v, level + 1, depth)}" for k, v in value.props.items()]
        return "{" + ",".join(fields) + "}"
    raise Unsupported(f"ConvertTo-Json of {getattr(value, 'type_name', type(value).__name__)}")


def render(items: list[Any]) -> str:
    """The success stream as text, one item per line (``Out-String`` for strings and numbers;
    other objects by their string form, not PowerShell's tables)."""
    lines = [to_string(item) for item in items if item is not None and item is not VOID]
    return "".join(line + "\r\n" for line in lines)
