"""The inventory loader: Ansible inventories (YAML or INI) plus the orchestrator's topology.

:func:`load_inventory` reads an inventory file or directory, with its ``group_vars/`` and
``host_vars/``, applies Ansible's variable precedence, and builds the :class:`Facts` the
planner works from. Credentials stay in :attr:`Inventory.host_vars` and never reach the facts.
See ``docs/inventory.md`` for the format.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..facts import Facts
from ._files import Sources, inventory_files, read_inventory_file
from ._hosts import SECRET_SUFFIXES, SECRET_VARS, is_secret_var
from ._model import RawInventory
from ._specs import GROUP_VARS, HOST_VARS, check_var_names
from ._topology import build_facts
from ._vars import VarsDir, group_own_vars, merged_host_vars
from ._yaml_load import VaultValue

__all__ = [
    "GROUP_VARS",
    "HOST_VARS",
    "SECRET_SUFFIXES",
    "SECRET_VARS",
    "Inventory",
    "VaultValue",
    "is_secret_var",
    "load_inventory",
]


@dataclass(frozen=True)
class Inventory:
    """A loaded inventory: the facts, every host's merged variables, and what was read."""

    facts: Facts
    #: Merged variables per host. May hold secrets: never serialize or print them.
    host_vars: Mapping[str, Mapping[str, Any]] = field(repr=False)
    #: Every file read (inventory files, group_vars/ and host_vars/ files), sorted.
    sources: tuple[Path, ...]
    #: SHA-256 (hex) over (path relative to the inventory, file SHA-256) of every source.
    sha256: str


def load_inventory(path: Path) -> Inventory:
    """Load an inventory file or directory; bad input raises an :class:`InputError`."""
    path = Path(path)
    base = path if path.is_dir() else path.parent
    sources = Sources(base)
    raw = RawInventory()
    for file in inventory_files(path):
        read_inventory_file(file, sources, raw)
    raw.finalize()
    group_dir = VarsDir(base / "group_vars", sources)
    host_dir = VarsDir(base / "host_vars", sources)
    group_files = {name: group_dir.load(name) for name in raw.groups}
    host_files = {name: host_dir.load(name) for name in raw.hosts}
    for group in raw.groups.values():
        check_var_names(group.vars, "group")
        check_var_names(group_files[group.name], "group")
    for host in raw.hosts.values():
        check_var_names(host.vars, "host")
        check_var_names(host_files[host.name], "host")
    merged = merged_host_vars(raw, group_files, host_files)
    facts = build_facts(raw, merged, group_own_vars(raw, group_files))
    host_vars = {name: MappingProxyType(dict(v.values)) for name, v in merged.items()}
    return Inventory(facts, MappingProxyType(host_vars), sources.paths(), sources.sha256())
