"""Variables, scopes and functions.

Dynamic scoping as in PowerShell: a function call opens a scope whose parent is the caller's;
reading walks up to the global scope; plain assignment writes the current scope;
``$global:X`` (and ``$script:X``: a request's script runs in the global scope) the global one.
A variable may carry a type constraint (typed parameters, ``[int]$x = ...``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tree_sitter import Node

from .convert import cast
from .errors import NetException, PSError, Unsupported
from .values import VOID

#: Automatic variables the interpreter does not emulate (reading one is Unsupported).
UNSUPPORTED_VARIABLES = frozenset(
    [
        "args",
        "input",
        "this",
        "myinvocation",
        "pscmdlet",
        "psboundparameters",
        "error",
        "host",
        "psversiontable",
        "pwd",
        "home",
        "psscriptroot",
        "pscommandpath",
        "matches",
        "stacktrace",
        "executioncontext",
        "ofs",
        "shellid",
        "psculture",
        "psuiculture",
        "foreach",
        "switch",
        "sender",
        "event",
        "profile",
    ]
)
CONSTANTS = {"true": True, "false": False, "null": None}
#: Constant, AllScope automatic variables: key -> (name, getter); e.g. ``$PID``.
Automatic = dict[str, tuple[str, Callable[[], Any]]]


@dataclass
class Var:
    """A variable's value and its type constraint (a normalised type key)."""

    value: Any
    type_key: str | None = None


@dataclass
class Param:
    """A function parameter."""

    name: str
    type_key: str | None
    default: Node | None


@dataclass
class Function:
    """A function defined by the script."""

    name: str
    params: list[Param]
    body: Node | None
    line: int


@dataclass
class Scope:
    """One scope: variables and functions; ``parent`` is the caller's scope."""

    parent: Scope | None = None
    vars: dict[str, Var] = field(default_factory=dict)
    functions: dict[str, Function] = field(default_factory=dict)


def split_name(raw: str, line: int) -> tuple[str | None, str]:
    """``$global:X`` -> ("global", "X"); ``$X`` -> (None, "X")."""
    if raw.startswith("${") or raw.startswith("@"):
        raise Unsupported(f"variable syntax {raw}", line)
    name = raw[1:] if raw.startswith("$") else raw
    if ":" in name:
        qualifier, _, rest = name.partition(":")
        q = qualifier.lower()
        if q not in ("global", "script", "local"):
            raise Unsupported(
                f"variable {raw} (only global:, script: and local: are emulated)", line
            )
        return ("global" if q == "script" else q), rest
    return None, name


class Variables:
    """The scope chain of one interpreter; ``automatic`` variables are read-only and seen
    from every scope (``$PID``)."""

    def __init__(self, automatic: Automatic | None = None) -> None:
        self.global_scope = Scope()
        self.current = self.global_scope
        self.automatic: Automatic = automatic or {}

    def lookup(self, qualifier: str | None, name: str) -> Var | None:
        """The variable ``name`` as PowerShell resolves it (None when undefined)."""
        key = name.lower()
        if qualifier == "global":
            return self.global_scope.vars.get(key)
        scope: Scope | None = self.current
        while scope is not None:
            if key in scope.vars:
                return scope.vars[key]
            if qualifier == "local":
                return None
            scope = scope.parent
        return None

    def read(self, qualifier: str | None, name: str, line: int) -> Any:
        """The value of a variable ($null when undefined, as PowerShell without StrictMode)."""
        key = name.lower()
        if qualifier is None and key in CONSTANTS:
            return CONSTANTS[key]
        if key == "psitem":
            key = "_"
        if key in UNSUPPORTED_VARIABLES:
            raise Unsupported(f"automatic variable ${name}", line)
        if key in self.automatic:
            return self.automatic[key][1]()
        var = self.lookup(qualifier, key)
        return None if var is None else var.value

    def write(
        self, qualifier: str | None, name: str, value: Any, type_key: str | None = None
    ) -> None:
        """Assign (in the current scope unless qualified); a type constraint converts."""
        key = name.lower()
        if value is VOID:
            value = None
        if key in CONSTANTS or key in self.automatic:
            if key == "null":
                return
            shown = self.automatic[key][0] if key in self.automatic else key
            raise PSError(
                NetException(
                    "System.Management.Automation.SessionStateUnauthorizedAccessException",
                    f"Cannot overwrite variable {shown} because it is read-only or constant.",
                )
            )
        scope = self.global_scope if qualifier == "global" else self.current
        var = scope.vars.get(key)
        if type_key is not None:
            scope.vars[key] = Var(cast(type_key, value), type_key)
        elif var is not None:
            var.value = cast(var.type_key, value) if var.type_key else value
        else:
            scope.vars[key] = Var(value)

    def find_function(self, name: str) -> Function | None:
        """The function ``name`` visible from the current scope."""
        scope: Scope | None = self.current
        while scope is not None:
            fn = scope.functions.get(name.lower())
            if fn is not None:
                return fn
            scope = scope.parent
        return None
