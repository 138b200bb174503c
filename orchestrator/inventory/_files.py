"""Finding and reading inventory files: format detection, directories, the sources digest.

Like Ansible: ``.yml``/``.yaml``/``.json`` files are YAML inventories, ``.ini`` files INI;
any other file is YAML if it parses as a mapping of groups, else INI. A directory inventory
is every file in it and below it, in sorted order, except hidden names, ``group_vars/``,
``host_vars/``, ``vars_plugins/`` and the extensions ansible-core (2.19+) ignores.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import Location, SchemaError, YamlSyntaxError
from ..sourcemap import read_text
from ._ini_source import read_ini_inventory
from ._model import RawInventory
from ._yaml_load import is_vault_file, load_yaml_text
from ._yaml_source import read_yaml_inventory

YAML_EXTS = (".yml", ".yaml", ".json")
IGNORED_NAMES = ("group_vars", "host_vars", "vars_plugins")
IGNORED_EXTS = (
    *(".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst"),
    *(".orig", ".cfg", ".retry"),
)


class Sources:
    """Every file read, with the SHA-256 of its bytes, relative to the inventory's base."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.digests: dict[Path, str] = {}

    def read(self, path: Path) -> str:
        """The text of ``path`` (an :class:`InputError` if unreadable), recorded as a source."""
        text = read_text(path)
        self.digests[path] = hashlib.sha256(path.read_bytes()).hexdigest()
        return text

    def paths(self) -> tuple[Path, ...]:
        """The files read, sorted."""
        return tuple(sorted(self.digests))

    def sha256(self) -> str:
        """SHA-256 over (path relative to the base, file SHA-256) of every source, sorted."""
        rows = sorted((p.relative_to(self.base).as_posix(), d) for p, d in self.digests.items())
        outer = hashlib.sha256()
        for rel, digest in rows:
            outer.update(f"{rel}\0{digest}\n".encode())
        return outer.hexdigest()


def listdir(path: Path) -> list[Path]:
    """The entries of directory ``path``, sorted (an :class:`InputError` if unreadable)."""
    try:
        return sorted(path.iterdir())
    except OSError as exc:
        raise YamlSyntaxError(
            f"cannot read directory: {exc.strerror}", Location(str(path))
        ) from None


def skipped(path: Path) -> bool:
    """True for names a directory inventory ignores."""
    name = path.name
    return name.startswith(".") or name in IGNORED_NAMES or name.endswith(IGNORED_EXTS)


def inventory_files(path: Path) -> list[Path]:
    """The inventory files ``path`` stands for (itself, or a directory's files in order)."""
    if path.is_dir():
        found: list[Path] = []
        for entry in listdir(path):
            if not skipped(entry):
                found.extend(inventory_files(entry) if entry.is_dir() else [entry])
        return found
    if path.is_file():
        return [path]
    raise YamlSyntaxError("inventory not found (no such file or directory)", Location(str(path)))


def load_data(text: str, path: Path) -> Any:
    """A YAML (or JSON) document with locations."""
    try:
        return load_yaml_text(text, str(path))
    except YamlSyntaxError:
        if path.suffix.lower() != ".json":
            raise
        try:  # JSON that YAML rejects (tabs); no line numbers then
            return json.loads(text)
        except json.JSONDecodeError as exc:
            where = Location(str(path), exc.lineno, exc.colno)
            raise YamlSyntaxError(f"JSON syntax error: {exc.msg}", where) from None


def _looks_like_yaml_inventory(data: Any) -> bool:
    return isinstance(data, Mapping) and all(
        v is None or isinstance(v, Mapping) for v in data.values()
    )


def read_inventory_file(path: Path, sources: Sources, inventory: RawInventory) -> None:
    """Parse one inventory file into ``inventory``."""
    text = sources.read(path)
    file = str(path)
    if text.startswith("#!"):
        raise SchemaError(
            "this looks like a dynamic inventory script; only static YAML/INI inventories are "
            "supported (export one with `ansible-inventory --list -y`)",
            Location(file, 1),
        )
    if is_vault_file(text):
        raise YamlSyntaxError(
            "this inventory file is encrypted with ansible-vault; only variable files "
            "(group_vars/, host_vars/) may be encrypted",
            Location(file, 1),
        )
    suffix = path.suffix.lower()
    if suffix in YAML_EXTS:
        read_yaml_inventory(load_data(text, path), file, inventory)
        return
    if suffix != ".ini":
        try:
            data = load_yaml_text(text, file)
        except YamlSyntaxError:
            data = None
        if data and _looks_like_yaml_inventory(data):
            read_yaml_inventory(data, file, inventory)
            return
    read_ini_inventory(text, file, inventory)
