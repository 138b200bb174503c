"""Enum types (``[IO.FileMode]``) and PowerShell's conversions to them: the enum value itself,
a member name (case-insensitive, trimmed), or a defined integer; anything else fails with
LanguagePrimitives' message. ``[DateTimeKind]`` lives in :mod:`.dotnet`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .convert import cast_error, type_name
from .errors import NetException, PSError, Unsupported
from .values import PSEnum

INVALID_CAST = "System.Management.Automation.PSInvalidCastException"


@dataclass(frozen=True)
class EnumType:
    """An enum: its full name and its members (name, value) in declaration order."""

    name: str
    members: tuple[tuple[str, int], ...]

    def member(self, label: str) -> PSEnum:
        """The member named ``label`` (case-insensitive)."""
        for name, value in self.members:
            if name.lower() == label.lower():
                return PSEnum(self.name, name, value)
        raise KeyError(label)

    def getter(self, label: str) -> Callable[[Any], PSEnum]:
        """A static property getter: ``[Type]::Label``."""
        return lambda host: self.member(label)

    def _no_value(self, shown: str) -> PSError:
        names = ",".join(n for n, _ in self.members)  # the en-US list separator
        return PSError(
            NetException(
                INVALID_CAST,
                f'Cannot convert {shown} to type "{self.name}" due to enumeration values that '
                "are not valid. Specify one of the following enumeration values and try "
                f'again. The possible enumeration values are "{names}".',
            )
        )

    def convert(self, value: Any) -> PSEnum:
        """``value`` converted to this enum as PowerShell does (casts, .NET arguments)."""
        if isinstance(value, PSEnum) and value.type_name == self.name:
            return value
        if value is None:
            raise self._no_value("null")
        if isinstance(value, int) and not isinstance(value, bool):
            for name, number in self.members:
                if number == value:
                    return PSEnum(self.name, name, number)
            raise self._no_value(f'value "{value}"')
        if isinstance(value, str):
            text = value.strip()
            if "," in text or text[:1].isdigit() or text[:1] in ("+", "-"):
                raise Unsupported(f"the string {value!r} as a {self.name}")
            try:
                return self.member(text)
            except KeyError:
                names = ", ".join(n for n, _ in self.members)
                raise cast_error(
                    value,
                    self.name,
                    f"Unable to match the identifier name {text} to a valid enumerator name. "
                    f"Specify one of the following enumerator names and try again:\r\n{names}",
                ) from None
        raise Unsupported(f"converting a {type_name(value)} to {self.name}")


FILE_MODE = EnumType(
    "System.IO.FileMode",
    (
        ("CreateNew", 1),
        ("Create", 2),
        ("Open", 3),
        ("OpenOrCreate", 4),
        ("Truncate", 5),
        ("Append", 6),
    ),
)
#: Type key -> enum, for casts (``[IO.FileMode]'Open'``) and static properties.
ENUMS = {"io.filemode": FILE_MODE}
