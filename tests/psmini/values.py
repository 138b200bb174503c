"""The PowerShell values that are not plain Python ones.

Plain values: ``None`` ($null), ``bool``, ``int`` (Int32/Int64), ``float`` (Double), ``str``,
``list`` (object[]; arrays are reference types, so lists are shared, never copied).
Here: :data:`VOID` (AutomationNull: "no output"), :data:`NULL_STRING`, :class:`Hashtable`,
:class:`KeysView` (``$h.Keys``: a live view), :class:`PSObject`, :class:`PSEnum`,
:class:`PSType` (a type literal used as a value) and :class:`ErrorRecord` (``$_``).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .errors import NetError, NetException, PSError, runtime_error


class _Void:
    def __repr__(self) -> str:
        return "VOID"


#: AutomationNull.Value: what a void method or an empty command "returns" (writes nothing).
VOID: Any = _Void()


class _NullString:
    def __repr__(self) -> str:
        return "NULL_STRING"


#: ``[System.Management.Automation.Language.NullString]::Value``: a real null for a .NET
#: string parameter (a plain $null becomes '').
NULL_STRING: Any = _NullString()


def _norm(key: Any) -> Hashable:
    if key is None:
        raise runtime_error("Index operation failed; the array index evaluated to null.")
    if isinstance(key, str):
        return ("s", key.lower())
    if isinstance(key, bool | int | float):
        return (type(key).__name__, key)
    return ("o", id(key))


class Hashtable:
    """``@{}``: string keys compare case-insensitively; insertion order is kept (the first
    spelling of a key stays). Every change bumps :attr:`version` (live enumerations fail)."""

    def __init__(self) -> None:
        self._d: dict[Hashable, list[Any]] = {}
        self.version = 0

    def __len__(self) -> int:
        return len(self._d)

    def contains(self, key: Any) -> bool:
        """ContainsKey."""
        return _norm(key) in self._d

    def get(self, key: Any) -> Any:
        """``$h[key]``: $null when missing."""
        entry = self._d.get(_norm(key))
        return None if entry is None else entry[1]

    def set(self, key: Any, value: Any) -> None:
        """``$h[key] = value``."""
        k = _norm(key)
        if k in self._d:
            self._d[k][1] = value
        else:
            self._d[k] = [key, value]
        self.version += 1

    def add(self, key: Any, value: Any) -> None:
        """``Add``: fails if the key exists."""
        k = _norm(key)
        if k in self._d:
            old = self._d[k][0]
            raise NetError(
                "System.ArgumentException",
                f"Item has already been added. Key in dictionary: '{old}'  "
                f"Key being added: '{key}'",
            )
        self.set(key, value)

    def remove(self, key: Any) -> None:
        """``Remove`` (no error when missing)."""
        if self._d.pop(_norm(key), None) is not None:
            self.version += 1

    def clear(self) -> None:
        """``Clear``."""
        self._d.clear()
        self.version += 1

    def keys(self) -> list[Any]:
        """The keys, in insertion order (a snapshot)."""
        return [e[0] for e in self._d.values()]

    def values(self) -> list[Any]:
        """The values, in insertion order (a snapshot)."""
        return [e[1] for e in self._d.values()]

    def items(self) -> list[tuple[Any, Any]]:
        """(key, value) pairs, in insertion order (a snapshot)."""
        return [(e[0], e[1]) for e in self._d.values()]

    def copy(self) -> Hashtable:
        """A shallow copy (``Clone``)."""
        new = Hashtable()
        for k, v in self.items():
            new.set(k, v)
        return new

    def ps_string(self) -> str:
        """``[string]$h``."""
        return "System.Collections.Hashtable"


@dataclass
class KeysView:
    """``$h.Keys`` / ``$h.Values``: a live view; enumerating it while the table changes fails
    like .NET ("Collection was modified")."""

    table: Hashtable
    of_values: bool = False

    def snapshot(self) -> list[Any]:
        """The current keys (or values)."""
        return self.table.values() if self.of_values else self.table.keys()

    def iterate(self) -> Iterator[Any]:
        """Enumerate, failing if the table changes in between."""
        version = self.table.version
        for item in self.snapshot():
            if self.table.version != version:
                break
            yield item
        if self.table.version != version:
            raise runtime_error(
                "Collection was modified; enumeration operation may not execute.",
                "System.InvalidOperationException",
            )


@dataclass(frozen=True)
class PSEnum:
    """An enum value (``[DateTimeKind]::Utc``, a service's Status)."""

    type_name: str
    name: str
    value: int

    def ps_string(self) -> str:
        """``[string]$enum``: its name."""
        return self.name


@dataclass(frozen=True)
class PSType:
    """A type literal used as a value (``-is [string]``); ``key`` is normalised."""

    key: str
    text: str


Getter = Callable[[], Any]
Method = Callable[[list[Any]], Any]


@dataclass
class PSObject:
    """An object with properties. ``custom``: a PSCustomObject (an unknown property reads as
    $null); otherwise an emulated .NET object whose unknown members are Unsupported.
    ``getters`` compute a property (and may raise :class:`NetError`)."""

    type_name: str
    props: dict[str, Any] = field(default_factory=dict)
    custom: bool = False
    getters: dict[str, Getter] = field(default_factory=dict)
    methods: dict[str, Method] = field(default_factory=dict)
    text: str | None = None

    def find(self, name: str) -> tuple[bool, Any, Getter | None]:
        """(found, value, getter) for the property ``name`` (case-insensitive)."""
        low = name.lower()
        for key, value in self.props.items():
            if key.lower() == low:
                return True, value, None
        for key, getter in self.getters.items():
            if key.lower() == low:
                return True, None, getter
        return False, None, None

    def set(self, name: str, value: Any) -> bool:
        """Set an existing property; False when there is none."""
        for key in self.props:
            if key.lower() == name.lower():
                self.props[key] = value
                return True
        return False

    def method(self, name: str) -> Method | None:
        """The method ``name`` (case-insensitive), if emulated."""
        return next((m for k, m in self.methods.items() if k.lower() == name.lower()), None)

    def ps_string(self) -> str:
        """``[string]$obj``: ``@{a=1; b=2}`` for a PSCustomObject, else its ToString()."""
        if self.text is not None:
            return self.text
        if self.custom:
            from .convert import to_string

            return "@{" + "; ".join(f"{k}={to_string(v)}" for k, v in self.props.items()) + "}"
        return self.type_name


@dataclass
class ErrorRecord:
    """``$_`` in a catch block."""

    error: PSError

    @property
    def exception(self) -> NetException:
        """``$_.Exception``."""
        return self.error.exception

    def ps_string(self) -> str:
        """``[string]$_``: the message."""
        return self.error.message
