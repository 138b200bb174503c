"""Is the reviewed plan still the plan? Compare it with a plan made now from the same inputs
and with the live facts the driver gathers; every difference becomes one readable line."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..plan import Plan


def input_changes(reviewed: Plan, fresh: Plan) -> list[str]:
    """What changed between the reviewed plan and one planned now from the current files."""
    changes: list[str] = []
    old_pb, new_pb = reviewed.playbook, fresh.playbook
    if old_pb.get("sha256") != new_pb.get("sha256"):
        changes.append(f"the playbook {new_pb.get('path', new_pb.get('name'))} changed")
    if reviewed.inventory.get("sha256") != fresh.inventory.get("sha256"):
        changes.append("the inventory changed")
    old_hosts = set(reviewed.facts.get("hosts", {}))
    new_hosts = set(fresh.facts.get("hosts", {}))
    for host in sorted(new_hosts - old_hosts):
        changes.append(f"host {host} is new in the plan")
    for host in sorted(old_hosts - new_hosts):
        changes.append(f"host {host} is no longer in the plan")
    changes.extend(facts_changes(reviewed.facts, fresh.facts, "now declared"))
    old_ids = {a.id: a for a in reviewed.actions}
    new_ids = {a.id: a for a in fresh.actions}
    added = sorted(set(new_ids) - set(old_ids))
    removed = sorted(set(old_ids) - set(new_ids))
    altered = sorted(aid for aid in set(old_ids) & set(new_ids) if old_ids[aid] != new_ids[aid])
    if added or removed or altered:
        changes.append(
            f"the actions differ: {len(added)} added, {len(removed)} removed, "
            f"{len(altered)} changed" + _examples(added + removed + altered)
        )
    if not changes and reviewed.to_document()["fingerprint"] != fresh.to_document()["fingerprint"]:
        changes.append("the plan computed now differs from the reviewed one")
    return changes


def _examples(ids: list[str]) -> str:
    return f" (e.g. {', '.join(ids[:3])})" if ids else ""


def facts_changes(expected: Mapping[str, Any], live: Mapping[str, Any], how: str) -> list[str]:
    """Differences in cluster nodes, group owners and pool members between the facts a plan
    was made from (``expected``) and ``live`` facts; ``how`` says where the live ones come
    from (e.g. "live")."""
    changes: list[str] = []
    live_clusters = live.get("clusters", {})
    for name, cluster in sorted(expected.get("clusters", {}).items()):
        now = live_clusters.get(name)
        if now is None:
            changes.append(f"cluster {name}: not found ({how})")
            continue
        if sorted(now.get("nodes", [])) != sorted(cluster.get("nodes", [])):
            changes.append(
                f"cluster {name}: nodes are {sorted(now.get('nodes', []))} ({how}), "
                f"the plan expected {sorted(cluster.get('nodes', []))}"
            )
        for group, info in sorted(cluster.get("groups", {}).items()):
            owner = now.get("groups", {}).get(group, {}).get("owner")
            if owner != info.get("owner"):
                changes.append(
                    f"cluster {name}: group {group} is owned by {owner} ({how}), "
                    f"the plan expected {info.get('owner')}"
                )
    live_pools = live.get("pools", {})
    for name, pool in sorted(expected.get("pools", {}).items()):
        members = sorted(live_pools.get(name, {}).get("members", []))
        if members != sorted(pool.get("members", [])):
            changes.append(
                f"pool {name}: members are {members} ({how}), "
                f"the plan expected {sorted(pool.get('members', []))}"
            )
    for host in sorted(live.get("unreachable", [])):
        changes.append(f"host {host} is unreachable: its facts cannot be confirmed")
    return changes
