"""Parameter binding for commands: named parameters (case-insensitive, unique prefixes),
``-Name:value``, switches, then positional arguments in declaration order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import BINDING, NetException, PSError, Unsupported

#: A named parameter with no value attached (``-Force``).
MISSING: Any = object()


@dataclass
class Token:
    """One command element: a parameter name (``name``) or a value."""

    name: str | None
    value: Any = MISSING
    line: int = 0


def binding_error(command: str, message: str) -> PSError:
    """A parameter binding error (statement-terminating)."""
    return PSError(NetException(BINDING, message), command=command)


def _resolve(names: list[str], given: str, command: str, prefixes: bool) -> str | None:
    low = given.lower()
    exact = [n for n in names if n.lower() == low]
    if exact or not prefixes:
        return exact[0] if exact else None
    matches = [n for n in names if n.lower().startswith(low)]
    if len(matches) > 1:
        listed = " ".join("-" + m for m in matches)
        raise binding_error(
            command,
            f"Parameter cannot be processed because the parameter name '{given}' is ambiguous. "
            f"Possible matches include: {listed}.",
        )
    return matches[0] if matches else None


def bind(
    command: str,
    params: dict[str, bool],
    positional: list[str],
    tokens: list[Token],
    *,
    strict: bool,
) -> dict[str, Any]:
    """Bind ``tokens`` to ``params`` (name -> is a switch). ``strict`` (emulated cmdlets):
    parameter names must be spelled out, and an unknown parameter or a surplus argument is
    Unsupported (the real cmdlet may have it). Otherwise (a script function without
    CmdletBinding) unique prefixes work, and what PowerShell would put in ``$args`` is
    Unsupported too, so that a misspelt parameter cannot pass unnoticed."""
    bound: dict[str, Any] = {}
    loose: list[Any] = []
    names = list(params)
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        i += 1
        if tok.name is None:
            loose.append(tok.value)
            continue
        name = _resolve(names, tok.name, command, prefixes=not strict)
        if name is None:
            where = "an emulated parameter" if strict else "a parameter ($args)"
            raise Unsupported(f"-{tok.name}: not {where} of {command}", tok.line)
        if name in bound:
            raise binding_error(
                command,
                f"Cannot bind parameter because parameter '{name}' is specified more than once.",
            )
        if tok.value is not MISSING:
            bound[name] = tok.value
        elif params[name]:
            bound[name] = True
        elif i < len(tokens) and tokens[i].name is None:
            bound[name] = tokens[i].value
            i += 1
        else:
            raise binding_error(
                command,
                f"Missing an argument for parameter '{name}'. Specify a parameter of type "
                "'System.Object' and try again.",
            )
    free = [p for p in positional if p not in bound]
    for value in loose:
        if not free:
            raise Unsupported(f"a surplus positional argument {value!r} to {command} ($args)")
        bound[free.pop(0)] = value
    return bound
