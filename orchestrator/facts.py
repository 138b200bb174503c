"""The topology the planner works from: hosts, pools, clusters, model-based systems, fleets.

Pure data (frozen dataclasses), no I/O. The inventory loader builds a :class:`Facts` from
Ansible inventory files; the planner reads it; :meth:`Facts.to_contract` renders the ``facts``
section of the plan contract (``orchestrator.plan/v1``). Nothing secret is ever stored here:
passwords and keys stay in the inventory's variables and never reach a plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Platform = Literal["windows", "linux"]
PoolMode = Literal["all-at-once", "rolling"]

#: Resource types that stay online while an Exchange virtual server is upgraded (KB 328839).
KEEP_ONLINE_FOR_EVS_UPGRADE: tuple[str, ...] = ("IP Address", "Physical Disk", "Network Name")
#: The resource type Upgrade EVS needs online (KB 328839, its preconditions).
DTC_RESOURCE = "Distributed Transaction Coordinator"
#: Exchange 2000/2003 cluster resource types and the service each runs: on a cluster the
#: Exchange services are resources of the virtual server, started by the cluster on the
#: node that owns it and stopped on every other node.
CLUSTER_SERVICES: dict[str, str] = {
    "Exchange System Attendant": "MSExchangeSA",
    "Exchange Information Store Instance": "MSExchangeIS",
    "Exchange Message Transfer Agent Instance": "MSExchangeMTA",
    "Exchange Routing Service Instance": "RESvc",
}


@dataclass(frozen=True)
class Connection:
    """How to reach a host, without any secret (address, port, user, protocol options)."""

    address: str
    kind: str = "ssh"
    port: int | None = None
    user: str | None = None
    winrm_transport: str | None = None
    winrm_scheme: str | None = None
    cert_validation: bool = True
    #: The inventory's explicit consent to WinRM over http or with Basic auth.
    allow_unencrypted: bool = False
    #: The inventory's explicit consent to trust an SSH host key seen for the first time.
    accept_new_host_keys: bool = False

    def to_contract(self) -> dict[str, Any]:
        """JSON form (only the fields that are set; the consents only when given)."""
        out: dict[str, Any] = {"address": self.address, "kind": self.kind}
        for key in ("port", "user", "winrm_transport", "winrm_scheme"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if not self.cert_validation:
            out["cert_validation"] = False
        for key in ("allow_unencrypted", "accept_new_host_keys"):
            if getattr(self, key):
                out[key] = True
        return out


@dataclass(frozen=True)
class Host:
    """One managed host and what the planner needs to know about it."""

    name: str
    platform: Platform
    connection: Connection
    roles: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    pool: str | None = None
    cluster: str | None = None
    fleet: str | None = None
    system: str | None = None


@dataclass(frozen=True)
class Pool:
    """A load-balanced pool: members are taken out of / put back into rotation."""

    name: str
    members: tuple[str, ...]
    mode: PoolMode = "rolling"
    max_out: int = 1


@dataclass(frozen=True)
class Resource:
    """A cluster resource of a group, with its type (IP Address, Physical Disk, ...) and,
    for a resource that runs a Windows service, the service (a Generic Service resource's
    ``ServiceName``, or the one an Exchange resource type runs)."""

    name: str
    type: str
    service: str | None = None

    @property
    def controls(self) -> str | None:
        """The Windows service this resource starts and stops, if any: the cluster runs it
        only on the node owning the group, while the resource is online."""
        return self.service or CLUSTER_SERVICES.get(self.type)


@dataclass(frozen=True)
class ClusterGroup:
    """A cluster resource group or virtual server, with its **current** owner node."""

    name: str
    owner: str
    kind: str = "generic"
    preferred_owners: tuple[str, ...] = ()
    resources: tuple[Resource, ...] = ()
    #: The nodes that can host every resource of the group (empty: every node). A move to
    #: another node is refused by the cluster (MS-CMRP ApiMoveGroupToNode).
    possible_owners: tuple[str, ...] = ()

    @property
    def is_virtual_server(self) -> bool:
        """True for Exchange virtual servers (the groups that need "Upgrade EVS")."""
        return self.kind == "exchange-virtual-server"

    @property
    def holds_dtc(self) -> bool:
        """True if the group holds the Distributed Transaction Coordinator resource, which
        Upgrade EVS needs online (KB 328839)."""
        return any(r.type == DTC_RESOURCE for r in self.resources)

    def can_run_on(self, node: str) -> bool:
        """Whether ``node`` is one of the group's possible owners."""
        return not self.possible_owners or node in self.possible_owners


@dataclass(frozen=True)
class Cluster:
    """A failover cluster: its nodes (in inventory order) and its groups."""

    name: str
    nodes: tuple[str, ...]
    groups: tuple[ClusterGroup, ...] = ()
    kind: str = "windows-failover"

    def group(self, name: str) -> ClusterGroup:
        """The group called ``name``."""
        for g in self.groups:
            if g.name == name:
                return g
        raise KeyError(name)

    def owned_by(self, node: str) -> list[ClusterGroup]:
        """Groups whose current owner is ``node``."""
        return [g for g in self.groups if g.owner == node]


@dataclass(frozen=True)
class SoftwarePackage:
    """A software package of a virtual unit, based on a base installation (support package)."""

    name: str
    base: str


@dataclass(frozen=True)
class VirtualUnit:
    """A virtual unit of a model-based system: packages and the nodes running their instances."""

    name: str
    packages: tuple[SoftwarePackage, ...]
    nodes: tuple[str, ...]


@dataclass(frozen=True)
class System:
    """A model-based clustered system (scenario S3): nodes, base installations, virtual units."""

    name: str
    nodes: tuple[str, ...]
    units: tuple[VirtualUnit, ...]
    base_installations: tuple[str, ...]
    kind: str = "contact-center"
    admin_host: str | None = None


@dataclass(frozen=True)
class Fleet:
    """A fleet of client workstations, rolled out in batches (``serial``)."""

    name: str
    members: tuple[str, ...]
    serial: tuple[int | str, ...] = ()


@dataclass(frozen=True)
class Facts:
    """Everything the planner knows about the estate."""

    hosts: Mapping[str, Host]
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    pools: Mapping[str, Pool] = field(default_factory=dict)
    clusters: Mapping[str, Cluster] = field(default_factory=dict)
    systems: Mapping[str, System] = field(default_factory=dict)
    fleets: Mapping[str, Fleet] = field(default_factory=dict)

    def to_contract(self, touched: Iterable[str]) -> dict[str, Any]:
        """The plan contract's ``facts``: touched hosts and every pool/cluster/system/fleet
        they belong to, with the current owner of every cluster group."""
        names = sorted(set(touched))
        hosts = {n: _host_contract(self.hosts[n]) for n in names}
        used_pools = {h["pool"] for h in hosts.values()}
        used_clusters = {h["cluster"] for h in hosts.values()}
        pools = {p.name: _pool_contract(p) for p in self.pools.values() if p.name in used_pools}
        clusters = {
            c.name: _cluster_contract(c) for c in self.clusters.values() if c.name in used_clusters
        }
        out: dict[str, Any] = {"hosts": hosts, "clusters": clusters, "pools": pools}
        used_systems = {self.hosts[n].system for n in names}
        systems = {
            s.name: _system_contract(s) for s in self.systems.values() if s.name in used_systems
        }
        if systems:
            out["systems"] = systems
        used_fleets = {self.hosts[n].fleet for n in names}
        fleets = {
            f.name: {"members": list(f.members), "serial": list(f.serial)}
            for f in self.fleets.values()
            if f.name in used_fleets
        }
        if fleets:
            out["fleets"] = fleets
        return out


def _host_contract(h: Host) -> dict[str, Any]:
    return {
        "platform": h.platform,
        "roles": list(h.roles),
        "pool": h.pool,
        "cluster": h.cluster,
        "fleet": h.fleet,
        "system": h.system,
        "connection": h.connection.to_contract(),
    }


def _pool_contract(p: Pool) -> dict[str, Any]:
    return {"members": list(p.members), "mode": p.mode, "max_out": p.max_out}


def _cluster_contract(c: Cluster) -> dict[str, Any]:
    return {
        "kind": c.kind,
        "nodes": list(c.nodes),
        "groups": {
            g.name: {
                "owner": g.owner,
                "preferred_owners": list(g.preferred_owners),
                "kind": g.kind,
                "resources": [
                    {
                        "name": r.name,
                        "type": r.type,
                        **({"service": r.service} if r.service else {}),
                    }
                    for r in g.resources
                ],
                **({"possible_owners": list(g.possible_owners)} if g.possible_owners else {}),
            }
            for g in c.groups
        },
    }


def _system_contract(s: System) -> dict[str, Any]:
    return {
        "kind": s.kind,
        "nodes": list(s.nodes),
        "admin_host": s.admin_host,
        "base_installations": list(s.base_installations),
        "units": {
            u.name: {
                "nodes": list(u.nodes),
                "packages": {p.name: {"base": p.base} for p in u.packages},
            }
            for u in s.units
        },
    }
