"""The twin's data model: hosts, failover clusters, load-balanced pools and contact-center
systems, as plain JSON-able dataclasses. Each top-level entity (one host, one cluster, one
pool, one system) is stored as one row, so a mutation rewrites only what it touched."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

RUNNING = "running"
STOPPED = "stopped"
#: Resource types Exchange keeps online for "Upgrade Exchange Virtual Server" (KB 328839).
UPGRADE_KEEP = frozenset({"IP Address", "Network Name", "Physical Disk"})


def installed_version(package: str, version: str) -> str:
    """The product version a main (non-component) install leaves: its declared version, or,
    when the playbook declares none, a label that still counts as newer than the original."""
    return version or f"{package} (version not declared)"


@dataclass
class HostState:
    """One host. ``down`` means it never came back from a reboot (persisted); a reboot in
    progress is in-flight state, kept in memory only."""

    boot_count: int = 0
    down: bool = False
    pending_reboot: bool = False
    services: dict[str, str] = field(default_factory=dict)
    product_services: list[str] = field(default_factory=list)
    #: Services that hold the installer's files while they run (antivirus, backup, SNMP,
    #: monitoring: those the playbook stops as ``interfering``).
    interfering: list[str] = field(default_factory=list)
    #: Start modes that are not ``automatic`` (the default): ``manual`` or ``disabled``; a
    #: reboot starts only the automatic services.
    start_modes: dict[str, str] = field(default_factory=dict)
    held_modes: dict[str, str] = field(default_factory=dict)  # saved by a hold, for restore
    version: str = ""
    packages: dict[str, str] = field(default_factory=dict)
    custom_files: dict[str, str] = field(default_factory=dict)
    saved_files: dict[str, str] = field(default_factory=dict)
    hooks: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    backup_age_h: float = 1.0
    disk_free_mb: int = 51200
    msi_log: str = ""
    last_install_seq: int = 0
    last_boot_seq: int = 0


@dataclass
class NodeState:
    """A cluster node: paused or not, and its Cluster service."""

    paused: bool = False
    cluster_service: str = RUNNING


@dataclass
class GroupState:
    """A cluster group (virtual server). ``version`` "" means the original version;
    ``resources`` maps resource name to type; ``offline`` lists the resources offline."""

    owner: str
    kind: str = "generic"
    version: str = ""
    preferred_owners: list[str] = field(default_factory=list)
    resources: dict[str, str] = field(default_factory=dict)
    offline: list[str] = field(default_factory=list)
    possible_owners: list[str] = field(default_factory=list)  # empty: every node
    controls: dict[str, str] = field(default_factory=dict)  # resource -> the service it runs


@dataclass
class ClusterState:
    """A failover cluster: nodes in declared order and groups."""

    nodes: dict[str, NodeState]
    groups: dict[str, GroupState]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClusterState:
        """Rebuild from :func:`asdict` output."""
        return cls(
            nodes={n: NodeState(**v) for n, v in data["nodes"].items()},
            groups={g: GroupState(**v) for g, v in data["groups"].items()},
        )


@dataclass
class PoolState:
    """A load-balanced pool: members and those in rotation."""

    mode: str
    members: list[str]
    in_rotation: list[str]


@dataclass
class SystemState:
    """A model-based contact-center system (S3). ``marks`` and ``changes`` hold mutation
    sequence numbers: ``refresh``/``apply``/``save``/``sync:<unit>`` are when those ran;
    ``base``/``model``/``any``/``unit:<unit>`` when the matching part last changed."""

    admin_host: str
    mode: str = "monitoring"
    active: dict[str, bool] = field(default_factory=dict)
    package_base: dict[str, dict[str, str]] = field(default_factory=dict)
    packages: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    bases: dict[str, list[str]] = field(default_factory=dict)
    extracted: list[str] = field(default_factory=list)
    marks: dict[str, int] = field(default_factory=dict)
    changes: dict[str, int] = field(default_factory=dict)

    def done(self, mark: str, change: str) -> bool:
        """True if ``mark`` ran after (or with nothing since) the last ``change``."""
        return self.marks.get(mark, 0) >= self.changes.get(change, 0)


Entity = HostState | ClusterState | PoolState | SystemState
_PREFIX = {"host": HostState, "cluster": ClusterState, "pool": PoolState, "system": SystemState}


@dataclass
class World:
    """Everything the lab knows, keyed by entity; ``seq`` is the last mutation's number."""

    hosts: dict[str, HostState] = field(default_factory=dict)
    clusters: dict[str, ClusterState] = field(default_factory=dict)
    pools: dict[str, PoolState] = field(default_factory=dict)
    systems: dict[str, SystemState] = field(default_factory=dict)
    seq: int = 0

    def _table(self, prefix: str) -> dict[str, Any]:
        tables: dict[str, dict[str, Any]] = {
            "host": self.hosts,
            "cluster": self.clusters,
            "pool": self.pools,
            "system": self.systems,
        }
        return tables[prefix]

    def entity_keys(self) -> list[str]:
        """Every entity key (``host:fe1``, ``cluster:exclu1``, ...)."""
        return [f"{p}:{n}" for p in _PREFIX for n in self._table(p)]

    def dump(self, key: str) -> str:
        """The JSON text stored for entity ``key``."""
        prefix, name = key.split(":", 1)
        return json.dumps(asdict(self._table(prefix)[name]), sort_keys=True)

    def load(self, key: str, text: str) -> None:
        """Put the entity stored as ``text`` under ``key``."""
        prefix, name = key.split(":", 1)
        data = json.loads(text)
        cls = _PREFIX[prefix]
        value = ClusterState.from_json(data) if cls is ClusterState else cls(**data)
        self._table(prefix)[name] = value

    def has(self, key: str) -> bool:
        """True if entity ``key`` exists."""
        prefix, name = key.split(":", 1)
        return name in self._table(prefix)

    def copy_from(self, other: World, key: str) -> None:
        """Take entity ``key`` from ``other`` (used to add newly seeded entities)."""
        prefix, name = key.split(":", 1)
        self._table(prefix)[name] = other._table(prefix)[name]


def snapshot(world: World) -> dict[str, Any]:
    """Canonical, time-free state: equal for two runs that did the same work."""
    hosts = {}
    for name, h in sorted(world.hosts.items()):
        data = asdict(h)
        del data["last_install_seq"], data["last_boot_seq"]
        hosts[name] = data
    systems = {}
    for name, s in sorted(world.systems.items()):
        data = asdict(s)
        del data["marks"], data["changes"]
        data["nodes_refreshed"] = s.done("refresh", "base")
        data["changes_applied"] = s.done("apply", "model")
        data["model_saved"] = s.done("save", "any")
        data["units_synchronized"] = {u: s.done(f"sync:{u}", f"unit:{u}") for u in sorted(s.active)}
        systems[name] = data
    clusters = {}
    for name, c in sorted(world.clusters.items()):
        data = asdict(c)
        for node, n in c.nodes.items():
            data["nodes"][node]["state"] = node_state(world, node, n)
        for gname, g in c.groups.items():
            group = data["groups"][gname]
            del group["offline"]
            group["resources"] = {
                r: {"type": t, "online": r not in g.offline} for r, t in g.resources.items()
            }
        clusters[name] = data
    return {
        "hosts": hosts,
        "clusters": clusters,
        "pools": {n: asdict(p) for n, p in sorted(world.pools.items())},
        "systems": systems,
    }


def node_state(world: World, name: str, node: NodeState, rebooting: bool = False) -> str:
    """``Down`` (host down or Cluster service stopped), ``Paused`` or ``Up``."""
    host = world.hosts.get(name)
    if rebooting or (host is not None and host.down) or node.cluster_service != RUNNING:
        return "Down"
    return "Paused" if node.paused else "Up"
