"""The orchestrator's own inventory variables: their names and :mod:`orchestrator.schema` specs.

Host-level variables (``orchestrator_platform``, ``orchestrator_roles``,
``orchestrator_connection``) follow Ansible precedence; group-level structures
(``orchestrator_pool``, ``orchestrator_cluster``, ``orchestrator_system``,
``orchestrator_fleet``) are read from a group's own variables only. Any other
``orchestrator_*`` name is rejected, so a typo cannot silently drop a constraint.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from ..errors import Location, SchemaError
from ..schema import (
    AnyValue,
    Bool,
    Field,
    Int,
    ListOf,
    MapOf,
    Obj,
    OneOf,
    Spec,
    Str,
    check,
    did_you_mean,
)
from ..service_names import SERVICE_NAME, SERVICE_NAME_RULE
from ..sourcemap import LocList, LocMap
from ._model import Vars

PREFIX = "orchestrator_"
HOST_VARS = (
    "orchestrator_platform",
    "orchestrator_roles",
    "orchestrator_connection",
    "orchestrator_allow_unencrypted",
    "orchestrator_accept_new_host_keys",
)
GROUP_VARS = (
    "orchestrator_pool",
    "orchestrator_cluster",
    "orchestrator_system",
    "orchestrator_fleet",
)
KNOWN_VARS = HOST_VARS + GROUP_VARS

POOL = Obj(
    {
        "mode": Field(Str(enum=("all-at-once", "rolling")), doc="default rolling"),
        "max_out": Field(Int(minimum=1), doc="members out at once when rolling; default 1"),
    }
)
RESOURCE = Obj(
    {
        "name": Field(Str(), required=True),
        "type": Field(Str(), required=True),
        "service": Field(
            Str(pattern=SERVICE_NAME, rule=SERVICE_NAME_RULE),
            doc="the Windows service it runs (a Generic Service resource's ServiceName)",
        ),
    }
)
GROUP_KINDS = ("exchange-virtual-server", "cluster-group", "generic")
CLUSTER_GROUP = Obj(
    {
        "owner": Field(Str(), required=True, doc="the node that owns the group now"),
        "kind": Field(Str(enum=GROUP_KINDS), doc="default generic"),
        "preferred_owners": Field(ListOf(Str())),
        "possible_owners": Field(
            ListOf(Str()), doc="the nodes that can host every resource of the group; default all"
        ),
        "resources": Field(ListOf(RESOURCE)),
    }
)
CLUSTER = Obj(
    {
        "kind": Field(Str(), doc="default windows-failover"),
        "nodes": Field(ListOf(Str()), doc="explicit node order; default: the group's hosts"),
        "groups": Field(MapOf(CLUSTER_GROUP)),
    }
)
PACKAGE = OneOf([Str(), Obj({"base": Field(Str(), required=True)})])
UNIT = Obj(
    {
        "nodes": Field(ListOf(Str(), min_items=1), required=True),
        "packages": Field(MapOf(PACKAGE)),
    }
)
SYSTEM = Obj(
    {
        "kind": Field(Str(), doc="default contact-center"),
        "admin_host": Field(Str()),
        "base_installations": Field(ListOf(Str())),
        "units": Field(MapOf(UNIT)),
    }
)
FLEET = Obj({"serial": Field(AnyValue(), doc="int, 'N%' or a list of those; checked when built")})
SPECS: Mapping[str, Spec] = {
    "orchestrator_pool": POOL,
    "orchestrator_cluster": CLUSTER,
    "orchestrator_system": SYSTEM,
    "orchestrator_fleet": FLEET,
    "orchestrator_roles": OneOf([ListOf(Str()), Str()]),
    "orchestrator_platform": Str(enum=("windows", "linux")),
    "orchestrator_connection": Str(),
    "orchestrator_allow_unencrypted": Bool(),
    "orchestrator_accept_new_host_keys": Bool(),
    "ansible_group_priority": AnyValue(),
}


def check_var_names(values: Vars, level: str) -> None:
    """Reject unknown ``orchestrator_*`` names, and group structures set on a host."""
    for key, loc in values.where.items():
        if not key.startswith(PREFIX):
            continue
        if key not in KNOWN_VARS:
            raise SchemaError(f"unknown variable {key!r}{did_you_mean(key, KNOWN_VARS)}", loc)
        if level == "host" and key in GROUP_VARS:
            raise SchemaError(
                f"{key} describes a group and its hosts; set it in the group's vars "
                "(inventory file or group_vars/), not on a host",
                loc,
            )


def located(value: Any, loc: Location) -> Any:
    """``value`` with every nested mapping/list able to say where it was written.

    Values loaded from YAML already know their lines; values parsed from an INI line (or a
    one-line YAML string) are all placed at ``loc``.
    """
    if isinstance(value, LocMap | LocList):
        return value
    if isinstance(value, Mapping):
        out = LocMap((key, located(item, loc)) for key, item in value.items())
        out.file, out.line = loc.file, loc.line
        out.key_lines = {} if loc.line is None else dict.fromkeys(out, loc.line)
        return out
    if isinstance(value, list | tuple):
        seq = LocList(located(item, loc) for item in value)
        seq.file, seq.line = loc.file, loc.line
        seq.item_lines = [] if loc.line is None else [loc.line] * len(seq)
        return seq
    return value


def checked(name: str, values: Vars) -> tuple[Any, Location] | None:
    """The value of ``name`` checked against its spec, with its location (None if unset)."""
    if name not in values.values:
        return None
    value, loc = values.values[name], values.where[name]
    if isinstance(value, str) and "{{" in value:
        raise SchemaError(
            f"{name} is a Jinja template ({value!r}); the orchestrator does not evaluate "
            "templates: write the value itself",
            loc,
        )
    if name in GROUP_VARS and isinstance(value, str):
        try:  # an INI [group:vars] value: a YAML flow mapping written on one line
            value = yaml.safe_load(value)
        except yaml.YAMLError:
            raise SchemaError(f"{name} must be a mapping, got the string {value!r}", loc) from None
    if name in GROUP_VARS and value is None:
        raise SchemaError(f"{name} is empty: write {{}} to take every default", loc)
    value = located(value, loc)
    check(_narrow(SPECS[name], value), value, name, loc)
    return value, loc


def _narrow(spec: Spec, value: Any) -> Spec:
    """The option of a :class:`OneOf` with the shape of ``value`` (for precise messages)."""
    if not isinstance(spec, OneOf):
        return spec
    shaped: list[Spec]
    if isinstance(value, list):
        shaped = [o for o in spec.options if isinstance(o, ListOf)]
    elif isinstance(value, Mapping):
        shaped = [o for o in spec.options if isinstance(o, Obj | MapOf)]
    else:
        return spec
    return shaped[0] if len(shaped) == 1 else spec
