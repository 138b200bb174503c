"""The one quoting helper per language: every value that goes into a remote script is
rendered here, so that no value can ever become code on the host.

PowerShell: a single-quoted (verbatim) literal. PowerShell ends such a literal at any of five
characters, not only ``'``: U+0027 and the Unicode single quotes U+2018, U+2019, U+201A and
U+201B. Inside, a quote character written twice stands for itself, so :func:`ps_quote` doubles
every one of the five. Nothing else is special in a verbatim literal: ``$``, backticks,
newlines, ``"`` and ``@'`` are plain text.

POSIX sh: a single-quoted word; only ``'`` is special and is written ``'\\''``. NUL cannot be
passed through a shell word at all and is refused.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

#: The characters PowerShell treats as single quotes (System.Management.Automation
#: CharExtensions.IsSingleQuote).
PS_SINGLE_QUOTES = frozenset("'\u2018\u2019\u201a\u201b")


def ps_quote(value: str) -> str:
    """``value`` as a PowerShell verbatim string literal that evaluates to exactly ``value``."""
    if not isinstance(value, str):
        raise TypeError(f"ps_quote needs a str, not {type(value).__name__}")
    return "'" + "".join(c + c if c in PS_SINGLE_QUOTES else c for c in value) + "'"


def sh_quote(value: str) -> str:
    """``value`` as one POSIX sh word (single-quoted); NUL bytes are refused."""
    if not isinstance(value, str):
        raise TypeError(f"sh_quote needs a str, not {type(value).__name__}")
    if "\0" in value:
        raise ValueError("a shell word cannot contain a NUL byte")
    return "'" + value.replace("'", "'\\''") + "'"


def ps_value(obj: Any) -> str:
    """A parameter value as a PowerShell expression: strings through :func:`ps_quote`,
    ``$true``/``$false``/``$null``, integers and finite floats as numbers, sequences as
    ``@(...)`` and mappings as ``@{ 'key' = value; ... }`` with quoted keys."""
    if obj is None:
        return "$null"
    if isinstance(obj, bool):
        return "$true" if obj else "$false"
    if isinstance(obj, int):
        return str(obj)
    if isinstance(obj, float):
        if not math.isfinite(obj):
            raise ValueError(f"cannot render the non-finite number {obj!r}")
        return repr(obj)
    if isinstance(obj, str):
        return ps_quote(obj)
    if isinstance(obj, Mapping):
        if not obj:
            return "@{}"
        entries = []
        for key, value in obj.items():
            if not isinstance(key, str):
                raise TypeError(f"mapping keys must be str, not {type(key).__name__}")
            entries.append(f"{ps_quote(key)} = {ps_value(value)}")
        return "@{ " + "; ".join(entries) + " }"
    if isinstance(obj, Sequence) and not isinstance(obj, bytes | bytearray):
        items = [ps_value(v) for v in obj]
        if len(items) == 1 and isinstance(obj[0], Sequence) and not isinstance(obj[0], str):
            # @(@('a')) flattens to @('a'); the unary comma keeps the nested array.
            return f"@(,{items[0]})"
        return "@(" + ", ".join(items) + ")"
    raise TypeError(f"cannot render a {type(obj).__name__} as a PowerShell value")
