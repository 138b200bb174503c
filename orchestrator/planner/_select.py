"""Resolving playbook selectors (hosts, groups, ``role:NAME``) and tiers against the facts."""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import OrderingError, TopologyError, UnknownReferenceError
from ..facts import Facts
from ..playbook import Playbook, Ref
from ..schema import did_you_mean


def resolve(ref: Ref, facts: Facts) -> list[str]:
    """Hosts named by one selector, in inventory order."""
    name = ref.name
    if name in facts.hosts:
        return [name]
    if name in facts.groups:
        return list(facts.groups[name])
    if name.startswith("role:"):
        role = name[5:]
        hosts = [h.name for h in facts.hosts.values() if role in h.roles]
        if not hosts:
            roles = sorted({r for h in facts.hosts.values() for r in h.roles})
            raise UnknownReferenceError(
                f"no host has the role {role!r}{did_you_mean(role, roles)}", ref.where
            )
        return hosts
    choices = [*facts.hosts, *facts.groups]
    raise UnknownReferenceError(
        f"unknown host or group {name!r}{did_you_mean(name, choices)}", ref.where
    )


def resolve_all(refs: Iterable[Ref], facts: Facts) -> list[str]:
    """Hosts named by several selectors: de-duplicated, in inventory order."""
    wanted = {h for r in refs for h in resolve(r, facts)}
    return [h for h in facts.hosts if h in wanted]


def compute_tiers(pb: Playbook, facts: Facts, targets: list[str]) -> tuple[list[list[str]], str]:
    """The ordered tiers of targets, and how they were chosen (for the plan's notes)."""
    target_set = set(targets)
    if not pb.tiers:
        fronts = [h for h in targets if "frontend" in facts.hosts[h].roles]
        if fronts and len(fronts) < len(targets):
            rest = [h for h in targets if h not in set(fronts)]
            return [fronts, rest], "tiers derived from roles: front-ends before back-ends"
        return [list(targets)], "one tier: no tiers declared"
    tiers: list[list[str]] = []
    seen: dict[str, tuple[int, Ref]] = {}
    for i, tier in enumerate(pb.tiers):
        members: list[str] = []
        for ref in tier:
            for h in resolve(ref, facts):
                if h not in target_set:
                    continue
                if h in seen and seen[h][0] != i:
                    j, first = seen[h]
                    raise OrderingError(
                        f"cycle in declared ordering: {h} is in tier {j + 1} (line "
                        f"{first.where.line}) and in tier {i + 1}, which would need tier "
                        f"{min(i, j) + 1} both before and after tier {max(i, j) + 1}",
                        ref.where,
                    )
                if h not in seen:
                    seen[h] = (i, ref)
                    members.append(h)
        tiers.append(members)
    missing = [h for h in targets if h not in seen]
    if missing:
        raise TopologyError(
            f"target(s) {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''} are in no "
            "tier: list every target in `tiers` (or leave `tiers` out)",
            pb.tiers[0][0].where,
        )
    order = {h: i for i, h in enumerate(facts.hosts)}
    tiers = [sorted(t, key=order.__getitem__) for t in tiers]
    _check_units_within_tiers(pb, facts, tiers)
    return [t for t in tiers if t], "declared in the playbook"


def _check_units_within_tiers(pb: Playbook, facts: Facts, tiers: list[list[str]]) -> None:
    tier_of = {h: i for i, t in enumerate(tiers) for h in t}
    for attr in ("cluster", "pool", "fleet"):
        split: dict[str, set[int]] = {}
        for h, i in tier_of.items():
            unit = getattr(facts.hosts[h], attr)
            if unit is not None:
                split.setdefault(unit, set()).add(i)
        for unit, where_tiers in sorted(split.items()):
            if len(where_tiers) > 1:
                nums = ", ".join(str(i + 1) for i in sorted(where_tiers))
                raise TopologyError(
                    f"{attr} {unit!r} is split across tiers {nums}: keep a {attr} in one tier",
                    pb.tiers[0][0].where,
                )
