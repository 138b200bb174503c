"""The emulated registry: hives HKLM and HKCU, keys (case-insensitive, with subkeys) holding
values of kind String or DWord (QWord too). Paths as the registry provider spells them:
``HKLM:\\SOFTWARE\\Name`` (``/`` accepted)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import Unsupported

_HIVES = {"hklm": "HKEY_LOCAL_MACHINE", "hkcu": "HKEY_CURRENT_USER"}
_PATH = re.compile(r"^(hklm|hkcu):(?:[\\/](.*))?$", re.I | re.S)
KINDS = ("String", "DWord", "QWord")


def is_registry_path(path: str) -> bool:
    """Does ``path`` name the registry provider (``HKLM:``, ``HKCU:``, ``Registry::``)?"""
    low = path.lower()
    return low.startswith(("hklm:", "hkcu:", "registry::"))


def parse_path(path: str) -> tuple[str, list[str]]:
    """(hive, key names) of a registry path."""
    m = _PATH.match(path)
    if m is None:
        raise Unsupported(f"registry path {path!r} (only HKLM:\\ and HKCU:\\ are emulated)")
    names = [n for n in re.split(r"[\\/]+", m.group(2) or "") if n]
    return m.group(1).lower(), names


def provider_path(path: str) -> str:
    """``HKEY_LOCAL_MACHINE\\SOFTWARE\\Name`` (for messages)."""
    hive, names = parse_path(path)
    return "\\".join([_HIVES[hive], *names])


@dataclass
class RegKey:
    """A key: its name (first spelling), subkeys and values (name -> (kind, data))."""

    name: str
    subkeys: dict[str, RegKey] = field(default_factory=dict)
    values: dict[str, tuple[str, str, int | str]] = field(default_factory=dict)

    def child(self, name: str) -> RegKey | None:
        """The subkey ``name`` (case-insensitive)."""
        return self.subkeys.get(name.lower())


class Registry:
    """The hives of the emulated machine."""

    def __init__(self) -> None:
        self.hives = {hive: RegKey(name) for hive, name in _HIVES.items()}

    def find(self, path: str) -> RegKey | None:
        """The key at ``path``, or None."""
        hive, names = parse_path(path)
        key: RegKey | None = self.hives[hive]
        for name in names:
            key = key.child(name) if key is not None else None
        return key

    def parent_exists(self, path: str) -> bool:
        """Does the key above ``path`` exist?"""
        return self._parent(*parse_path(path)) is not None

    def create(self, path: str) -> RegKey:
        """Create the key and its parents; return it."""
        hive, names = parse_path(path)
        key = self.hives[hive]
        for name in names:
            nxt = key.child(name)
            if nxt is None:
                nxt = key.subkeys[name.lower()] = RegKey(name)
            key = nxt
        return key

    def delete(self, path: str) -> None:
        """Delete the key (and everything below it)."""
        hive, names = parse_path(path)
        if not names:
            raise Unsupported("deleting a registry hive")
        parent = self._parent(hive, names)
        if parent is not None:
            parent.subkeys.pop(names[-1].lower(), None)

    def _parent(self, hive: str, names: list[str]) -> RegKey | None:
        key: RegKey | None = self.hives[hive]
        for name in names[:-1]:
            key = key.child(name) if key is not None else None
        return key

    def values(self, path: str) -> dict[str, tuple[str, int | str]] | None:
        """The values of the key (name -> (kind, data)), None when the key is missing."""
        key = self.find(path)
        if key is None:
            return None
        return {name: (kind, data) for name, kind, data in key.values.values()}

    def set(self, path: str, name: str, data: int | str, kind: str) -> None:
        """Write a value (the key must exist). DWord data is stored unsigned (0..2**32-1)."""
        if kind not in KINDS:
            raise Unsupported(f"registry value kind {kind}")
        key = self.find(path)
        if key is None:
            raise KeyError(path)
        old = key.values.get(name.lower())
        key.values[name.lower()] = (old[0] if old else name, kind, data)

    def remove_value(self, path: str, name: str) -> bool:
        """Delete a value; False when there was none."""
        key = self.find(path)
        return key is not None and key.values.pop(name.lower(), None) is not None
