"""The parsed inventory before interpretation: groups, hosts, children and located variables.

The YAML and INI readers fill one :class:`RawInventory` (a directory inventory merges several
files into it); :meth:`RawInventory.finalize` then applies Ansible's implicit rules (``all``,
``ungrouped``, top-level groups are children of ``all``), rejects cycles in ``children`` and
computes each group's depth and recursive members.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import Location, OrderingError, SchemaError
from ..sourcemap import where as where_in

#: Ansible's variable that orders groups of the same depth (inventory-file group vars only).
PRIORITY_VAR = "ansible_group_priority"


@dataclass
class Vars:
    """Variables with the location where each one was (last) set."""

    values: dict[str, Any] = field(default_factory=dict)
    where: dict[str, Location] = field(default_factory=dict)

    @classmethod
    def of(cls, data: Mapping[Any, Any] | None, fallback: Location) -> Vars:
        """Variables of a loaded mapping (a LocMap knows the line of each key)."""
        out = cls()
        for key, value in (data or {}).items():
            loc = where_in(data, key, fallback.file)
            if loc.line is None:
                loc = fallback
            if not isinstance(key, str) or not key:
                raise SchemaError(f"variable name {key!r} must be a non-empty string", loc)
            out.set(key, value, loc)
        return out

    def set(self, key: str, value: Any, loc: Location) -> None:
        """Set one variable."""
        self.values[key] = value
        self.where[key] = loc

    def update(self, other: Vars) -> None:
        """Overlay ``other`` (later wins; dicts are replaced, not merged, like Ansible)."""
        self.values.update(other.values)
        self.where.update(other.where)

    def copy(self) -> Vars:
        """A shallow copy."""
        return Vars(dict(self.values), dict(self.where))


@dataclass
class RawGroup:
    """A group as written: direct hosts, children (with where each was added), own vars."""

    name: str
    where: Location | None = None
    hosts: dict[str, None] = field(default_factory=dict)  # an ordered set
    children: dict[str, Location | None] = field(default_factory=dict)
    vars: Vars = field(default_factory=Vars)
    priority: int = 1


@dataclass
class RawHost:
    """A host as written: where it first appeared and its inline variables."""

    name: str
    where: Location
    vars: Vars = field(default_factory=Vars)


@dataclass
class RawInventory:
    """Groups and hosts of every inventory file read, in the order first seen."""

    groups: dict[str, RawGroup] = field(default_factory=dict)
    hosts: dict[str, RawHost] = field(default_factory=dict)
    depth: dict[str, int] = field(default_factory=dict)
    members: dict[str, tuple[str, ...]] = field(default_factory=dict)
    host_groups: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def group(self, name: str, where: Location | None = None) -> RawGroup:
        """The group called ``name``, created on first use."""
        if not name or any(c.isspace() for c in name):
            raise SchemaError(f"invalid group name {name!r}", where)
        group = self.groups.get(name)
        if group is None:
            group = self.groups[name] = RawGroup(name, where)
        elif group.where is None:
            group.where = where
        return group

    def add_host(self, group: str, name: str, where: Location) -> RawHost:
        """Put host ``name`` into ``group`` (a host listed in several groups is one host)."""
        host = self.hosts.get(name)
        if host is None:
            host = self.hosts[name] = RawHost(name, where)
        self.group(group, where).hosts.setdefault(name)
        return host

    def add_child(self, parent: str, child: str, where: Location | None) -> None:
        """Make ``child`` a child group of ``parent``."""
        if parent == child:
            raise OrderingError(f"group {parent!r} cannot be a child of itself", where)
        if child == "all":
            raise OrderingError("group 'all' contains every group: it cannot be a child", where)
        self.group(child, where)
        self.group(parent, where).children.setdefault(child, where)

    def set_group_vars(self, name: str, values: Vars) -> None:
        """Overlay inline vars of a group; ``ansible_group_priority`` sets its priority."""
        group = self.group(name)
        values = values.copy()
        if PRIORITY_VAR in values.values:
            raw = values.values.pop(PRIORITY_VAR)
            loc = values.where.pop(PRIORITY_VAR)
            try:
                if isinstance(raw, bool) or not isinstance(raw, int | str):
                    raise ValueError
                group.priority = int(raw)
            except ValueError:
                raise SchemaError(f"{PRIORITY_VAR} must be an integer, got {raw!r}", loc) from None
        group.vars.update(values)

    def finalize(self) -> None:
        """Apply ``all``/``ungrouped``, reject cycles, compute depths and members."""
        self.group("all")
        self.add_child("all", "ungrouped", None)
        self._check_cycles()
        parents: dict[str, list[str]] = {name: [] for name in self.groups}
        for group in self.groups.values():
            for child in group.children:
                parents[child].append(group.name)
        for name, group_parents in parents.items():
            if name != "all" and not group_parents:
                self.groups["all"].children.setdefault(name, None)
                group_parents.append("all")
        direct: dict[str, set[str]] = {h: set() for h in self.hosts}
        for group in self.groups.values():
            for host in group.hosts:
                direct[host].add(group.name)
        ungrouped = self.groups["ungrouped"]
        for host, groups in direct.items():
            if groups - {"all", "ungrouped"}:
                ungrouped.hosts.pop(host, None)
                groups.discard("ungrouped")
            elif "ungrouped" not in groups:
                ungrouped.hosts[host] = None
                groups.add("ungrouped")
        ancestors: dict[str, set[str]] = {}

        def up(name: str) -> set[str]:
            if name not in ancestors:
                found = {name}
                for parent in parents[name]:
                    found |= up(parent)
                ancestors[name] = found
                self.depth[name] = max((self.depth[p] + 1 for p in parents[name]), default=0)
            return ancestors[name]

        for name in self.groups:
            up(name)
        for host, groups in direct.items():
            every: set[str] = {"all"}
            for name in groups:
                every |= up(name)
            self.host_groups[host] = tuple(sorted(every))
        members: dict[str, list[str]] = {name: [] for name in self.groups}
        for host in self.hosts:  # one pass, inventory order kept
            for name in self.host_groups[host]:
                members[name].append(host)
        for name, hosts in members.items():
            self.members[name] = tuple(hosts)

    def _check_cycles(self) -> None:
        state: dict[str, int] = {}  # 1: on the current path, 2: done

        def visit(name: str, path: list[str]) -> None:
            state[name] = 1
            for child, loc in self.groups[name].children.items():
                if state.get(child) == 1:
                    cycle = " -> ".join([*path[path.index(child) :], child])
                    raise OrderingError(
                        f"group {child!r} is its own descendant (children cycle: {cycle})", loc
                    )
                if child not in state:
                    visit(child, [*path, child])
            state[name] = 2

        for name in list(self.groups):
            if name not in state:
                visit(name, [name])

    def sorted_groups(self, names: list[str] | tuple[str, ...]) -> list[str]:
        """Groups in Ansible's vars order: depth (parent before child), priority, name."""
        return sorted(names, key=lambda n: (self.depth[n], self.groups[n].priority, n))
