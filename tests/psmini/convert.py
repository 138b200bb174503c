"""PowerShell conversions: to string, to bool (truthiness), to numbers, and the casts
(``[int]``, ``[string[]]``...) that typed parameters and variables apply too."""

from __future__ import annotations

import math
import re
from typing import Any

from .dates import DateTime
from .errors import RUNTIME, NetException, PSError
from .values import VOID, Hashtable, KeysView, PSEnum

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
_HEX = re.compile(r"^[+-]?0x[0-9a-f]+$", re.I)
_INT = re.compile(r"^[+-]?\d+$")
_REAL = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$", re.I)
#: Normalised type keys (lower case, without "system.").
_ALIASES = {
    "int32": "int",
    "int64": "long",
    "boolean": "bool",
    "array": "object[]",
    "collections.hashtable": "hashtable",
    "psobject": "object",
    "switchparameter": "switch",
    "management.automation.switchparameter": "switch",
}
CAST_TYPES = frozenset(
    [
        "string",
        "int",
        "long",
        "double",
        "bool",
        "string[]",
        "object[]",
        "hashtable",
        "object",
        "void",
        "datetime",
        "switch",
        "char",
    ]
)


def type_key(name: str) -> str:
    """``System.Int32`` -> ``int``: the key used for casts and static members."""
    key = name.strip().lower()
    if key.startswith("system."):
        key = key[len("system.") :]
    return _ALIASES.get(key, key)


def type_name(value: Any) -> str:
    """The .NET type name of a value (for messages)."""
    if isinstance(value, bool):
        return "System.Boolean"
    if isinstance(value, int):
        return "System.Int32" if INT32[0] <= value <= INT32[1] else "System.Int64"
    names = {
        float: "System.Double",
        str: "System.String",
        list: "System.Object[]",
        Hashtable: "System.Collections.Hashtable",
        DateTime: "System.DateTime",
    }
    for cls, name in names.items():
        if isinstance(value, cls):
            return name
    return str(getattr(value, "type_name", type(value).__name__))


def format_double(x: float, roundtrip: bool = False) -> str:
    """A Double as .NET Framework prints it: G15 (``[string]``), or R (ConvertTo-Json)."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "0"
    text = f"{x:.15G}"
    if roundtrip and float(text) != x:
        text = f"{x:.17G}"
    return text


def to_string(value: Any) -> str:
    """``[string]$value`` (arrays joined with spaces, $null as '')."""
    if value is None or value is VOID:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_double(value)
    if isinstance(value, list):
        return " ".join(_element_string(v) for v in value)
    if isinstance(value, KeysView):
        return " ".join(_element_string(v) for v in value.snapshot())
    method = getattr(value, "ps_string", None)
    if method is not None:
        return str(method())
    if isinstance(value, NetException):
        return value.ps_string()
    return str(value)


def _element_string(value: Any) -> str:
    return "System.Object[]" if isinstance(value, list) else to_string(value)


def truthy(value: Any) -> bool:
    """LanguagePrimitives.IsTrue."""
    if value is None or value is VOID:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        return value != ""
    if isinstance(value, list):
        if len(value) == 0:
            return False
        if len(value) == 1:
            first = value[0]
            return len(first) > 0 if isinstance(first, list) else truthy(first)
        return True
    return True


def cast_error(value: Any, target: str, why: str | None = None) -> PSError:
    """``Cannot convert value "x" to type "T". Error: "why"`` (an InvalidCastException)."""
    if why is None:
        message = (
            f'Cannot convert the "{to_string(value)}" value of type "{type_name(value)}" '
            f'to type "{target}".'
        )
    else:
        message = f'Cannot convert value "{to_string(value)}" to type "{target}". Error: "{why}"'
    return PSError(NetException("System.Management.Automation.PSInvalidCastException", message))


def parse_number(text: str) -> int | float | None:
    """A string as PowerShell reads a number ('' is 0); None when it is not one."""
    t = text.strip()
    if t == "":
        return 0
    if _HEX.match(t):
        sign = -1 if t.startswith("-") else 1
        return sign * int(t.lstrip("+-")[2:], 16)
    if _INT.match(t):
        return int(t)
    if _REAL.match(t):
        return float(t)
    return None


def to_number(value: Any, target: str = "System.Int32") -> int | float:
    """An operand of arithmetic as a number ($null is 0, bools 0/1, strings parsed)."""
    if value is None or value is VOID:
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, PSEnum):
        return value.value
    if isinstance(value, str):
        number = parse_number(value)
        if number is None:
            raise cast_error(value, target, "Input string was not in a correct format.")
        return number
    raise cast_error(value, target)


def to_integer(value: Any, bits: int, signed: bool = True) -> int:
    """``[int]`` (bits 32), ``[long]`` (64), or their unsigned kin: round half to even,
    range-checked."""
    name = f"Int{bits}" if signed else f"UInt{bits}"
    low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    target = "System." + name
    too_big = f"Value was either too large or too small for {'an' if signed else 'a'} {name}."
    number = to_number(value, target)
    if isinstance(number, float):
        if math.isnan(number) or math.isinf(number):
            raise cast_error(value, target, too_big)
        number = round(number)
    if not low <= number <= high:
        raise cast_error(value, target, too_big)
    return int(number)


def to_double(value: Any) -> float:
    """``[double]``."""
    return float(to_number(value, "System.Double"))


def cast(key: str, value: Any) -> Any:
    """``[type]value`` for a normalised type key (see :data:`CAST_TYPES`, and the enums of
    :mod:`.enums`)."""
    if value is VOID and key != "void":
        value = None
    if key == "string":
        return to_string(value)
    if key == "int":
        return to_integer(value, 32)
    if key == "long":
        return to_integer(value, 64)
    if key == "double":
        return to_double(value)
    if key in ("bool", "switch"):
        return truthy(value)
    if key in ("string[]", "object[]"):
        if value is None:
            return None
        items = value.snapshot() if isinstance(value, KeysView) else value
        items = items if isinstance(items, list) else [items]
        if key == "object[]":
            return items
        return [to_string(v) for v in items]
    if key == "hashtable":
        if value is None or isinstance(value, Hashtable):
            return value
        raise cast_error(value, "System.Collections.Hashtable")
    if key == "datetime":
        if isinstance(value, DateTime):
            return value
        raise cast_error(value, "System.DateTime")
    if key == "char":  # psmini's chars are one-letter strings
        if isinstance(value, str) and len(value) == 1:
            return value
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0xFFFF:
            return chr(value)
        raise cast_error(value, "System.Char")
    if key == "object":
        return value
    if key == "void":
        return VOID
    from .enums import ENUMS

    if key in ENUMS:
        return ENUMS[key].convert(value)
    raise PSError(NetException(RUNTIME, f"Unable to find type [{key}]."))


def default_of(key: str | None) -> Any:
    """The value of an unbound typed parameter: ``[string]`` '', ``[int]`` 0, ``[bool]``
    $false, anything else $null."""
    if key in ("string", "int", "long", "double", "bool", "switch"):
        return cast(key, None)
    return None


def coerce_param(key: str | None, value: Any, param: str) -> Any:
    """Bind ``value`` to a parameter typed ``key`` (argument transformation)."""
    if value is VOID:
        value = None
    if key is None:
        return value
    if key in ("bool", "switch") and not isinstance(value, bool | int | float):
        raise PSError(
            NetException(
                "System.Management.Automation.ParameterBindingArgumentTransformationException",
                f"Cannot process argument transformation on parameter '{param}'. Cannot convert "
                f'value "{type_name(value)}" to type "System.Boolean". Boolean parameters accept '
                "only Boolean values and numbers, such as $True, $False, 1 or 0.",
            )
        )
    try:
        return cast(key, value)
    except PSError as exc:
        raise PSError(
            NetException(
                "System.Management.Automation.ParameterBindingArgumentTransformationException",
                f"Cannot process argument transformation on parameter '{param}'. {exc.message}",
            )
        ) from None
