"""What the emulated cmdlets share: the :class:`Cmdlet` record (binding, ``-ErrorAction``),
the interpreter interface they use, and the handling of ``-LiteralPath`` / ``-Path``."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from .binding import Token, bind, binding_error
from .convert import to_string
from .errors import ITEM_NOT_FOUND, NetError, Unsupported
from .registry import is_registry_path

if TYPE_CHECKING:
    from .host import WindowsHost

_WILDCARDS = "*?[]`"
_PROVIDER = re.compile(r"^[A-Za-z][A-Za-z0-9]+:")


class Context(Protocol):
    """What a cmdlet needs from the interpreter."""

    host: WindowsHost

    def cmdlet_error(
        self, cmdlet: str, message: str, bound: dict[str, Any], type_name: str = ...
    ) -> None:
        """Report an error according to the error action (raises when it is Stop)."""


Run = Callable[[Context, dict[str, Any]], list[Any]]


@dataclass(frozen=True)
class Cmdlet:
    """A cmdlet: its parameters (name -> is a switch), positional ones, implementation."""

    name: str
    params: dict[str, bool]
    positional: tuple[str, ...]
    run: Run

    def invoke(self, ctx: Context, tokens: list[Token]) -> list[Any]:
        """Bind and run."""
        params = {**self.params, "ErrorAction": False}
        bound = bind(self.name, params, list(self.positional), tokens, strict=True)
        if "ErrorAction" in bound:
            action = to_string(bound["ErrorAction"]).lower()
            if action not in ("stop", "continue", "silentlycontinue", "ignore"):
                raise Unsupported(f"-ErrorAction {bound['ErrorAction']}")
            bound["ErrorAction"] = action
        return self.run(ctx, bound)


def the_path(ctx: Context, name: str, bound: dict[str, Any]) -> str:
    """The one path a cmdlet was given (``-Path`` only when it holds no wildcard)."""
    if "LiteralPath" in bound and "Path" in bound:
        raise binding_error(
            name, "Parameter set cannot be resolved using the specified named parameters."
        )
    param = "LiteralPath" if "LiteralPath" in bound else "Path"
    if param not in bound:
        raise Unsupported(f"{name} without -LiteralPath or -Path")
    value = bound[param]
    if isinstance(value, list):
        if len(value) != 1:
            raise Unsupported(f"{name} with several paths")
        value = value[0]
    if value is None:
        raise binding_error(
            name, f"Cannot bind argument to parameter '{param}' because it is null."
        )
    text = to_string(value)
    if text == "":
        raise binding_error(
            name, f"Cannot bind argument to parameter '{param}' because it is an empty string."
        )
    if param == "Path" and any(c in text for c in _WILDCARDS):
        raise Unsupported(f"{name} -Path with wildcard characters ({text!r}); use -LiteralPath")
    if not is_registry_path(text) and _PROVIDER.match(text):
        raise Unsupported(f"{name} on the provider path {text!r}")
    return text


def not_found(ctx: Context, name: str, path: str, bound: dict[str, Any]) -> list[Any]:
    """Report "Cannot find path" (ItemNotFoundException); no output."""
    ctx.cmdlet_error(
        name, f"Cannot find path '{path}' because it does not exist.", bound, ITEM_NOT_FOUND
    )
    return []


def hit(ctx: Context, name: str, path: str, bound: dict[str, Any]) -> bool:
    """Record the call; False (the error reported) when an injected fault hits it."""
    try:
        ctx.host.hit(name, path)
    except NetError as exc:
        ctx.cmdlet_error(name, exc.message, bound, exc.type_name)
        return False
    return True
