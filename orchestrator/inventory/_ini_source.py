"""Ansible INI inventories: ``[group]``, ``[group:vars]``, ``[group:children]`` sections.

Host lines are ``pattern key=value ...`` (split like a shell command; inline values are read
as Python literals when they parse as one, else kept as strings, as Ansible does). Values in
``[group:vars]`` stay strings (surrounding quotes removed). Hosts before the first section
belong to ``ungrouped``. Lines starting with ``#`` or ``;`` are comments.
"""

from __future__ import annotations

import ast
import re
import shlex
import warnings
from typing import Any

from ..errors import Location, UnknownReferenceError, YamlSyntaxError
from ..schema import did_you_mean
from ._model import RawInventory, Vars
from ._ranges import expand_pattern

_SECTION = re.compile(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:[#;].*)?$")
_CHILD = re.compile(r"^([^:\]\[\s]+)\s*(?:[#;].*)?$")
_STATES = ("hosts", "vars", "children")


def parse_value(text: str) -> Any:
    """An inline host value: a Python literal (``5986``, ``True``, ``['a']``) or the string."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def read_ini_inventory(text: str, file: str, inventory: RawInventory) -> None:
    """Add the groups, hosts and vars of one INI inventory file."""
    group, state = "ungrouped", "hosts"
    vars_only: dict[str, Location] = {}  # [g:vars] seen, but g not defined (yet)
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        loc = Location(file, number)
        if not line or line[0] in "#;":
            continue
        section = _SECTION.match(line)
        if section:
            group, state = section.group(1), section.group(2) or "hosts"
            if state not in _STATES:
                hint = did_you_mean(state, _STATES)
                raise YamlSyntaxError(
                    f"section [{group}:{state}] has unknown type {state!r}{hint}; "
                    "use [group], [group:vars] or [group:children]",
                    loc,
                )
            if state == "vars" and group not in inventory.groups:
                vars_only.setdefault(group, loc)
            elif state != "vars":
                vars_only.pop(group, None)
            inventory.group(group, loc)
            continue
        if line.startswith("["):
            raise YamlSyntaxError(
                f"invalid section header {line!r}: write [group], [group:vars] or "
                "[group:children], without spaces",
                loc,
            )
        if state == "hosts":
            _host_line(inventory, group, line, loc)
        elif state == "vars":
            _vars_line(inventory, group, line, loc)
        else:
            child = _CHILD.match(line)
            if not child:
                raise YamlSyntaxError(f"invalid group name {line!r} in [{group}:children]", loc)
            inventory.add_child(group, child.group(1), loc)
            vars_only.pop(child.group(1), None)
    for name, loc in vars_only.items():
        if name not in ("all", "ungrouped"):
            raise UnknownReferenceError(
                f"section [{name}:vars] is for group {name!r}, which this file never defines "
                f"(no [{name}] or [{name}:children] section and no parent lists it)",
                loc,
            )


def _host_line(inventory: RawInventory, group: str, line: str, loc: Location) -> None:
    try:
        tokens = shlex.split(line, comments=True)
    except ValueError as exc:
        raise YamlSyntaxError(f"cannot parse host line: {exc}", loc) from None
    if not tokens:
        return
    names, port = expand_pattern(tokens[0], loc)
    values = Vars()
    if port is not None:
        values.set("ansible_port", port, loc)
    for token in tokens[1:]:
        key, sep, value = token.partition("=")
        if not sep or not key:
            raise YamlSyntaxError(f"expected key=value after the host name, got {token!r}", loc)
        values.set(key, parse_value(value), loc)
    for name in names:
        inventory.add_host(group, name, loc).vars.update(values)


def _vars_line(inventory: RawInventory, group: str, line: str, loc: Location) -> None:
    key, sep, value = line.partition("=")
    key = key.strip()
    if not sep or not key or any(c.isspace() for c in key):
        raise YamlSyntaxError(f"expected key=value in [{group}:vars], got {line!r}", loc)
    values = Vars()
    values.set(key, _unquote(value.strip()), loc)
    inventory.set_group_vars(group, values)
