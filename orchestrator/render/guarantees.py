"""The plan's ``guarantees`` in words, for the text report.

Tiers, pools, clusters and fleets are stated the way a change-advisory board reads them:
"Tier 1 (fe1, fe2, fe3) is fully installed before tier 2 starts".
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .common import as_int, clean, compress_hosts, natural_key, wrap

#: What each cluster strategy means, in one clause.
STRATEGY_WORDS: dict[str, str] = {
    "move-off": "groups leave each node before it is upgraded and never return to an older node",
    "passive-first": "the passive node is upgraded first, then the groups move onto it",
    "consolidate": "all groups gather on one node while the other is upgraded, then swap",
    "drain": "each node is drained (paused) before its upgrade and resumed after it",
    "active-first": "the active node is upgraded in place first; groups do NOT fail over",
}
MAX_BATCH_LINES = 12


def _names(value: object) -> list[str]:
    """The strings of a list (anything else dropped)."""
    return [v for v in value if isinstance(v, str)] if isinstance(value, list | tuple) else []


def _sorted_items(value: object) -> list[tuple[str, Any]]:
    """A mapping's items in natural key order (empty for anything else)."""
    if not isinstance(value, Mapping):
        return []
    return sorted(((str(k), v) for k, v in value.items()), key=lambda kv: natural_key(kv[0]))


def tier_lines(tiers: object) -> list[str]:
    """One sentence per tier."""
    rows = [_names(t) for t in tiers] if isinstance(tiers, list | tuple) else []
    lines: list[str] = []
    for i, hosts in enumerate(rows, 1):
        names = compress_hosts(hosts) if hosts else "no hosts"
        if len(rows) == 1:
            text = f"Tier 1 ({names}): a single tier, no tier ordering"
        elif i < len(rows):
            text = f"Tier {i} ({names}) is fully installed before tier {i + 1} starts"
        else:
            text = f"Tier {i} ({names}) is installed last"
        lines += wrap(text, "  ", "    ")
    return lines


def pool_line(name: str, rule: object, members: list[str]) -> list[str]:
    """The sentence for one pool."""
    spec = rule if isinstance(rule, Mapping) else {}
    mode = spec.get("mode")
    if mode == "all-at-once":
        text = f"Pool {clean(name)}: all members out together, none back before all are upgraded"
    elif mode == "rolling":
        out = as_int(spec.get("max_out"), 1)
        many = "one member" if out == 1 else f"at most {out} members"
        text = f"Pool {clean(name)}: rolling, {many} out of rotation at a time"
    else:
        text = f"Pool {clean(name)}: mode {clean(mode)}"
    lines = wrap(text, "  ", "    ")
    if members:
        lines += wrap(f"members: {compress_hosts(members)}", "    ", "      ")
    return lines


def cluster_line(name: str, rule: object) -> list[str]:
    """The sentence for one cluster, plus what its strategy means."""
    spec = rule if isinstance(rule, Mapping) else {}
    strategy = spec.get("strategy")
    parts = [f"Cluster {clean(name)}: {clean(strategy) if strategy else 'no strategy stated'}"]
    if "max_out" in spec:
        out = as_int(spec.get("max_out"))
        parts.append("one node out at a time" if out == 1 else f"at most {out} nodes out at a time")
    if isinstance(spec.get("first"), str):
        parts.append(f"first {clean(spec['first'])}")
    lines = wrap(", ".join(parts), "  ", "    ")
    if isinstance(strategy, str) and strategy in STRATEGY_WORDS:
        lines += wrap(f"({STRATEGY_WORDS[strategy]})", "    ", "     ")
    return lines


def fleet_lines(name: str, rule: object) -> list[str]:
    """The batches of one fleet, compressed; very long batch lists are summarised."""
    spec = rule if isinstance(rule, Mapping) else {}
    batches = [_names(b) for b in spec.get("batches") or [] if isinstance(b, list | tuple)]
    if not batches:
        return [f"  Fleet {clean(name)}: no batches stated"]
    count = sum(len(b) for b in batches)
    lines = [f"  Fleet {clean(name)}: {count} hosts in {len(batches)} batches, one after another"]
    for i, batch in enumerate(batches[:MAX_BATCH_LINES], 1):
        lines += wrap(f"batch {i}: {compress_hosts(batch)}", "    ", "      ")
    rest = batches[MAX_BATCH_LINES:]
    if rest:
        hosts = sum(len(b) for b in rest)
        first, last = MAX_BATCH_LINES + 1, len(batches)
        lines.append(f"    batches {first}..{last}: {hosts} more hosts")
    return lines


def render_guarantees(guarantees: Mapping[str, Any], facts: Mapping[str, Any]) -> list[str]:
    """The GUARANTEES section."""
    lines = ["", "GUARANTEES"]
    body: list[str] = []
    body += tier_lines(guarantees.get("tiers"))
    pool_facts = facts.get("pools") if isinstance(facts.get("pools"), Mapping) else {}
    for name, rule in _sorted_items(guarantees.get("pools")):
        fact = pool_facts.get(name) if isinstance(pool_facts, Mapping) else None
        members = _names(fact.get("members")) if isinstance(fact, Mapping) else []
        body += pool_line(name, rule, members)
    for name, rule in _sorted_items(guarantees.get("clusters")):
        body += cluster_line(name, rule)
    for name, rule in _sorted_items(guarantees.get("fleets")):
        body += fleet_lines(name, rule)
    known = {"tiers", "pools", "clusters", "fleets"}
    for key, value in _sorted_items({k: v for k, v in guarantees.items() if k not in known}):
        text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
        body += wrap(f"{clean(key)}: {clean(text)}", "  ", "    ")
    return lines + (body or ["  none stated"])
