"""Group structures (pools, clusters, systems, fleets) and merged host vars → :class:`Facts`.

A structure is read from the group's own variables (inline vars overlaid by its
``group_vars/`` file; not inherited by child groups) and its members are the group's hosts,
children's hosts included, in inventory order. Every contradiction is an :class:`InputError`
naming the file and line where the offending value was written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import Location, SchemaError, TopologyError, UnknownReferenceError
from ..facts import (
    Cluster,
    ClusterGroup,
    Facts,
    Fleet,
    Host,
    Pool,
    PoolMode,
    Resource,
    SoftwarePackage,
    System,
    VirtualUnit,
)
from ..schema import did_you_mean
from ..sourcemap import where
from ._hosts import connection, platform, roles
from ._model import RawInventory, Vars
from ._specs import checked

KINDS = {
    "orchestrator_pool": "pool",
    "orchestrator_cluster": "cluster",
    "orchestrator_system": "system",
    "orchestrator_fleet": "fleet",
}


def _names(names: Sequence[str]) -> str:
    return ", ".join(names) if names else "none"


def _require(name: str, choices: Sequence[str], message: str, loc: Location) -> None:
    """A :class:`TopologyError` ``message (choices)`` unless ``name`` is one of ``choices``."""
    if name not in choices:
        hint = did_you_mean(name, choices)
        raise TopologyError(f"{message} ({_names(choices)}){hint}", loc)


def _empty(kind: str, group: str, loc: Location) -> TopologyError:
    return TopologyError(f"{kind} {group!r} has no hosts: put its hosts into group {group!r}", loc)


def _pool(group: str, members: tuple[str, ...], value: Mapping[str, Any], loc: Location) -> Pool:
    if not members:
        raise _empty("pool", group, loc)
    mode: PoolMode = "all-at-once" if value.get("mode") == "all-at-once" else "rolling"
    return Pool(group, members, mode, int(value.get("max_out", 1)))


def _cluster(group: str, members: tuple[str, ...], value: Any, loc: Location) -> Cluster:
    nodes = members
    if "nodes" in value:
        explicit = value["nodes"]
        for i, node in enumerate(explicit):
            at = where(explicit, i, loc.file)
            message = f"cluster {group!r}: node {node!r} is not a host of group {group!r}"
            _require(node, members, message, at)
            if node in explicit[:i]:
                raise TopologyError(f"cluster {group!r}: node {node!r} is listed twice", at)
        missing = [m for m in members if m not in explicit]
        if missing:
            raise TopologyError(
                f"cluster {group!r}: 'nodes' must list every host of group {group!r}; "
                f"missing {_names(missing)}",
                where(value, "nodes", loc.file),
            )
        nodes = tuple(explicit)
    if len(nodes) < 2:
        raise TopologyError(
            f"cluster {group!r} has {len(nodes)} node(s) ({_names(nodes)}); a failover cluster "
            f"needs at least 2: put its nodes into group {group!r}",
            loc,
        )
    groups = []
    for name, spec in value.get("groups", {}).items():
        what = f"cluster {group!r}, group {name!r}:"
        message = f"{what} owner {spec['owner']!r} is not a node of the cluster"
        _require(spec["owner"], nodes, message, where(spec, "owner", loc.file))
        preferred = spec.get("preferred_owners", [])
        for i, node in enumerate(preferred):
            message = f"{what} preferred owner {node!r} is not a node of the cluster"
            _require(node, nodes, message, where(preferred, i, loc.file))
        possible = spec.get("possible_owners", [])
        for i, node in enumerate(possible):
            message = f"{what} possible owner {node!r} is not a node of the cluster"
            _require(node, nodes, message, where(possible, i, loc.file))
        if possible and spec["owner"] not in possible:
            raise TopologyError(
                f"{what} its owner {spec['owner']!r} is not one of its possible owners "
                f"({_names(possible)})",
                where(spec, "possible_owners", loc.file),
            )
        resources = tuple(
            Resource(r["name"], r["type"], r.get("service")) for r in spec.get("resources", [])
        )
        kind = spec.get("kind", "generic")
        groups.append(
            ClusterGroup(name, spec["owner"], kind, tuple(preferred), resources, tuple(possible))
        )
    return Cluster(group, nodes, tuple(groups), value.get("kind", "windows-failover"))


def _system(
    group: str, members: tuple[str, ...], value: Any, loc: Location, hosts: Sequence[str]
) -> System:
    if not members:
        raise _empty("system", group, loc)
    admin = value.get("admin_host")
    if admin is not None and admin not in hosts:
        raise UnknownReferenceError(
            f"system {group!r}: admin_host {admin!r} is not a host of the inventory"
            f"{did_you_mean(admin, hosts)}",
            where(value, "admin_host", loc.file),
        )
    bases = tuple(value.get("base_installations", []))
    units = []
    for name, unit in value.get("units", {}).items():
        for i, node in enumerate(unit["nodes"]):
            message = f"system {group!r}, unit {name!r}: node {node!r} is not a node of the system"
            _require(node, members, message, where(unit["nodes"], i, loc.file))
        packages = []
        for package, spec in unit.get("packages", {}).items():
            base = spec if isinstance(spec, str) else spec["base"]
            if base not in bases:
                raise UnknownReferenceError(
                    f"system {group!r} unit {name!r} package {package!r}: base {base!r} is not "
                    f"one of base_installations ({_names(bases)}){did_you_mean(base, bases)}",
                    where(unit["packages"], package, loc.file),
                )
            packages.append(SoftwarePackage(package, base))
        units.append(VirtualUnit(name, tuple(packages), tuple(unit["nodes"])))
    kind = value.get("kind", "contact-center")
    return System(group, members, tuple(units), bases, kind, admin)


def _serial_step(group: str, step: Any, at: Location) -> int | str:
    """One batch size: a positive integer (digits accepted) or a percentage ``1%``-``100%``."""
    text = str(step).strip() if isinstance(step, str | int) and not isinstance(step, bool) else ""
    if text.isdigit() and int(text) >= 1:
        return int(text)
    if text.endswith("%") and text[:-1].isdigit() and 1 <= int(text[:-1]) <= 100:
        return text
    raise SchemaError(
        f"fleet {group!r}: serial step {step!r} must be a positive integer or a percentage "
        "from '1%' to '100%'",
        at,
    )


def _fleet(group: str, members: tuple[str, ...], value: Any, loc: Location) -> Fleet:
    if not members:
        raise _empty("fleet", group, loc)
    raw = value.get("serial", [])
    if isinstance(raw, list):
        serial = [_serial_step(group, s, where(raw, i, loc.file)) for i, s in enumerate(raw)]
    else:
        serial = [_serial_step(group, raw, where(value, "serial", loc.file))]
    return Fleet(group, members, tuple(serial))


def build_facts(
    inventory: RawInventory, host_vars: Mapping[str, Vars], own_vars: Mapping[str, Vars]
) -> Facts:
    """The :class:`Facts` of a finalized inventory."""
    hosts = list(inventory.hosts)
    placed: dict[tuple[str, str], tuple[str, Location]] = {}  # (kind, host) → (group, where)
    structures: dict[str, dict[str, Any]] = {kind: {} for kind in KINDS.values()}
    for group in sorted(inventory.groups):
        members = inventory.members[group]
        for var, kind in KINDS.items():
            found = checked(var, own_vars[group])
            if found is None:
                continue
            value, loc = found
            if kind == "pool":
                built: Any = _pool(group, members, value, loc)
            elif kind == "cluster":
                built = _cluster(group, members, value, loc)
            elif kind == "system":
                built = _system(group, members, value, loc, hosts)
            else:
                built = _fleet(group, members, value, loc)
            structures[kind][group] = built
            for host in members:
                if (kind, host) in placed:
                    first, first_loc = placed[(kind, host)]
                    raise TopologyError(
                        f"host {host!r} is in two {kind}s: {first!r} (declared at {first_loc}) "
                        f"and {group!r}; a host belongs to at most one {kind}",
                        loc,
                    )
                placed[(kind, host)] = (group, loc)

    def owner(kind: str, host: str) -> str | None:
        return placed[(kind, host)][0] if (kind, host) in placed else None

    facts_hosts = {
        name: Host(
            name=name,
            platform=platform(host_vars[name]),
            connection=connection(name, host_vars[name]),
            roles=roles(host_vars[name]),
            groups=inventory.host_groups[name],
            pool=owner("pool", name),
            cluster=owner("cluster", name),
            fleet=owner("fleet", name),
            system=owner("system", name),
        )
        for name in hosts
    }
    return Facts(
        hosts=facts_hosts,
        groups={name: inventory.members[name] for name in sorted(inventory.groups)},
        pools=structures["pool"],
        clusters=structures["cluster"],
        systems=structures["system"],
        fleets=structures["fleet"],
    )
