"""``group_vars/`` and ``host_vars/`` files, and Ansible's variable precedence.

For an entity ``NAME`` the files are ``NAME``, ``NAME.yml``, ``NAME.yaml`` or ``NAME.json``,
or a directory ``NAME/`` whose files (those extensions or none, hidden ones skipped) are merged
in sorted order. Files encrypted whole with ``ansible-vault`` are recorded as sources but not
read. Precedence, lowest first (later wins, dicts replaced, as Ansible by default):

1. inventory-file vars of ``all``, then of the host's other groups (by depth, then
   ``ansible_group_priority``, then name);
2. ``group_vars/all``, then ``group_vars/<group>`` in the same group order;
3. inventory-file host vars; 4. ``host_vars/<host>``.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import Location, SchemaError
from ._files import Sources, listdir, load_data
from ._model import RawInventory, Vars
from ._yaml_load import is_vault_file

VARS_EXTS = ("", ".yml", ".yaml", ".json")


class VarsDir:
    """One ``group_vars/`` or ``host_vars/`` directory (possibly absent)."""

    def __init__(self, path: Path, sources: Sources) -> None:
        self.path = path
        self.sources = sources
        self.entries = {p.name for p in listdir(path)} if path.is_dir() else set()

    def load(self, name: str) -> Vars:
        """The merged variables of entity ``name`` (empty if it has no file)."""
        if "/" in name or "\\" in name or name.startswith("."):
            return Vars()
        found = [self.path / (name + ext) for ext in VARS_EXTS if name + ext in self.entries]
        if len(found) > 1:
            names = ", ".join(p.name for p in found)
            raise SchemaError(
                f"{self.path.name}/ has several files for {name!r} ({names}); Ansible would read "
                "only the first of them: merge them into one file or one directory",
                Location(str(found[1])),
            )
        out = Vars()
        for path in _files_of(found[0]) if found else []:
            out.update(self._read(path))
        return out

    def _read(self, path: Path) -> Vars:
        text = self.sources.read(path)
        if is_vault_file(text):
            return Vars()
        data = load_data(text, path)
        if data is not None and not isinstance(data, dict):
            raise SchemaError(
                "a variables file must be a mapping of variable names to values",
                Location(str(path), 1),
            )
        return Vars.of(data, Location(str(path), 1))


def _files_of(path: Path) -> list[Path]:
    if not path.is_dir():
        return [path]
    found: list[Path] = []
    for entry in listdir(path):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            found.extend(_files_of(entry))
        elif entry.suffix.lower() in VARS_EXTS:
            found.append(entry)
    return found


def group_own_vars(inventory: RawInventory, files: dict[str, Vars]) -> dict[str, Vars]:
    """Each group's own vars: inline vars overlaid by its ``group_vars/`` file."""
    out: dict[str, Vars] = {}
    for name, group in inventory.groups.items():
        own = group.vars.copy()
        own.update(files[name])
        out[name] = own
    return out


def merged_host_vars(
    inventory: RawInventory, group_files: dict[str, Vars], host_files: dict[str, Vars]
) -> dict[str, Vars]:
    """Every host's variables after Ansible's precedence rules."""
    out: dict[str, Vars] = {}
    for host, raw in inventory.hosts.items():
        groups = inventory.sorted_groups([g for g in inventory.host_groups[host] if g != "all"])
        merged = inventory.groups["all"].vars.copy()
        for name in groups:
            merged.update(inventory.groups[name].vars)
        merged.update(group_files["all"])
        for name in groups:
            merged.update(group_files[name])
        merged.update(raw.vars)
        merged.update(host_files[host])
        out[host] = merged
    return out
