"""The availability timeline: for every cluster group, pool and standalone server, when it
stopped and started serving (plan time), built from the persisted transitions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from ._state import World
from ._store import Transition


def outages(changes: list[Transition], end: float) -> list[dict[str, Any]]:
    """Intervals during which a subject did not serve; an open one ends at ``end``."""
    out: list[dict[str, Any]] = []
    down_since: float | None = None
    for t in changes:
        if not t.serving and down_since is None:
            down_since = t.at
        elif t.serving and down_since is not None:
            out.append({"start": down_since, "end": t.at, "duration_s": _round(t.at - down_since)})
            down_since = None
    if down_since is not None:
        out.append({"start": down_since, "end": None, "duration_s": _round(end - down_since)})
    return out


def build_timeline(
    start: float,
    end: float,
    transitions: list[Transition],
    world: World,
    hosts: Iterable[str] = (),
) -> dict[str, Any]:
    """The timeline document: ``start``, ``end``, ``groups``, ``pools`` and ``hosts`` (the
    standalone servers named)."""
    by_subject: dict[str, list[Transition]] = defaultdict(list)
    for t in transitions:
        by_subject[t.subject].append(t)
    groups: dict[str, Any] = {}
    for cname, c in sorted(world.clusters.items()):
        for gname, g in sorted(c.groups.items()):
            name = f"{cname}/{gname}"
            spans = outages(by_subject.get(f"group:{name}", []), end)
            groups[name] = {"kind": g.kind, "down_s": _total(spans), "outages": spans}
    pools: dict[str, Any] = {}
    for pname, p in sorted(world.pools.items()):
        spans = outages(by_subject.get(f"pool:{pname}", []), end)
        pools[pname] = {"mode": p.mode, "down_s": _total(spans), "outages": spans}
    servers: dict[str, Any] = {}
    for host in sorted(hosts):
        spans = outages(by_subject.get(f"host:{host}", []), end)
        servers[host] = {"down_s": _total(spans), "outages": spans}
    return {"start": start, "end": end, "groups": groups, "pools": pools, "hosts": servers}


def _total(spans: list[dict[str, Any]]) -> float:
    return _round(sum(float(s["duration_s"]) for s in spans))


def _round(x: float) -> float:
    return round(x, 3)
