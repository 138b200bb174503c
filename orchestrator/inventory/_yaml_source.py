"""Ansible YAML (and JSON) inventories: groups with ``hosts``, ``vars`` and ``children``.

Every top-level key is a group (``all`` included); groups other than ``all`` end up as
children of ``all`` when nothing else claims them (see :meth:`RawInventory.finalize`). Hosts
are written ``name:`` or ``name: {vars}``; the name may be a range pattern or carry ``:port``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import Location, SchemaError
from ..schema import did_you_mean
from ..sourcemap import where as where_in
from ._model import RawInventory, Vars
from ._ranges import expand_pattern

GROUP_KEYS = ("hosts", "vars", "children")


def _name(value: Any, what: str, loc: Location) -> str:
    if value is None or isinstance(value, bool | float) or not isinstance(value, str | int):
        raise SchemaError(f"{what} {value!r} must be a name", loc)
    return str(value)


def _mapping(value: Any, what: str, loc: Location) -> Mapping[Any, Any]:
    """``value`` as a mapping (``None`` is an empty one), else a :class:`SchemaError`."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        kind = "a list" if isinstance(value, list) else repr(value)
        raise SchemaError(f"{what} must be a mapping, got {kind}", loc)
    return value


def read_yaml_inventory(data: Any, file: str, inventory: RawInventory) -> None:
    """Add the groups and hosts of one loaded YAML inventory document."""
    top = _mapping(data, "a YAML inventory", Location(file, 1))
    if "plugin" in top:
        raise SchemaError(
            "this is the configuration of a dynamic inventory plugin; only static inventories "
            "are supported (export one with `ansible-inventory --list -y`)",
            where_in(top, "plugin", file),
        )
    for key, body in top.items():
        loc = where_in(top, key, file)
        name = _name(key, "group name", loc)
        inventory.group(name, loc)
        _read_group(inventory, name, body, loc)


def _read_group(inventory: RawInventory, name: str, body: Any, loc: Location) -> None:
    group = _mapping(body, f"group {name!r}", loc)
    for key in group:
        if key not in GROUP_KEYS:
            hint = did_you_mean(str(key), GROUP_KEYS)
            raise SchemaError(
                f"unknown key {key!r} in group {name!r}{hint}; a group has "
                "'hosts', 'vars' and 'children' (a host belongs under 'hosts')",
                where_in(group, key, loc.file),
            )
    hosts = _mapping(
        group.get("hosts"), f"'hosts' of group {name!r}", where_in(group, "hosts", loc.file)
    )
    for pattern, host_vars in hosts.items():
        host_loc = where_in(hosts, pattern, loc.file)
        names, port = expand_pattern(_name(pattern, "host name", host_loc), host_loc)
        values = Vars()
        if port is not None:
            values.set("ansible_port", port, host_loc)
        what = f"the variables of host {pattern!r}"
        values.update(Vars.of(_mapping(host_vars, what, host_loc), host_loc))
        for host in names:
            inventory.add_host(name, host, host_loc).vars.update(values)
    if group.get("vars") is not None:
        vars_loc = where_in(group, "vars", loc.file)
        what = f"'vars' of group {name!r}"
        inventory.set_group_vars(name, Vars.of(_mapping(group["vars"], what, vars_loc), vars_loc))
    children_loc = where_in(group, "children", loc.file)
    children = _mapping(group.get("children"), f"'children' of group {name!r}", children_loc)
    for key, child_body in children.items():
        child_loc = where_in(children, key, loc.file)
        child = _name(key, "group name", child_loc)
        inventory.add_child(name, child, child_loc)
        _read_group(inventory, child, child_body, child_loc)
