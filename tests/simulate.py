"""An independent oracle for tests: execute a plan in one linear order on a tiny state machine
and report the first moment a safety rule breaks. The validator proves rules over all orders;
this checks sampled orders step by step, so the two can catch each other's mistakes."""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

from orchestrator.kinds import SPAN_KINDS, UPGRADE_KINDS
from orchestrator.plan import Plan

SPAN = SPAN_KINDS
UPGRADE = UPGRADE_KINDS


def random_order(plan: Plan, rng: random.Random) -> list[str]:
    """A random linear extension of the plan's DAG."""
    preds = {a.id: set(a.after) for a in plan.actions}
    children: dict[str, list[str]] = defaultdict(list)
    for a in plan.actions:
        for p in a.after:
            children[p].append(a.id)
    ready = sorted(i for i, p in preds.items() if not p)
    out: list[str] = []
    while ready:
        pick = ready.pop(rng.randrange(len(ready)))
        out.append(pick)
        for c in children[pick]:
            preds[c].discard(pick)
            if not preds[c]:
                ready.append(c)
    assert len(out) == len(plan.actions), "cycle"
    return out


def run(plan: Plan, order: list[str]) -> list[str]:
    """Execute ``order``; return the list of rule breaks (empty when safe)."""
    by_id = {a.id: a for a in plan.actions}
    facts: dict[str, Any] = dict(plan.facts)
    g: dict[str, Any] = dict(plan.guarantees)
    errors: list[str] = []
    span_left: dict[str, int] = defaultdict(int)
    upgrade_left: dict[str, int] = defaultdict(int)
    installs_left_by_host: dict[str, int] = defaultdict(int)
    for a in plan.actions:
        if a.host and a.kind in SPAN:
            span_left[a.host] += 1
        if a.host and a.kind in UPGRADE:
            upgrade_left[a.host] += 1
        if a.host and a.kind == "install":
            installs_left_by_host[a.host] += 1
    started: set[str] = set()
    owner: dict[tuple[str, str], str] = {}
    been_upgraded: set[tuple[str, str]] = set()
    for cname, c in facts["clusters"].items():
        for gname, gr in c["groups"].items():
            owner[(cname, gname)] = gr["owner"]
    cluster_of = {h: v.get("cluster") for h, v in facts["hosts"].items()}
    strategy = {c: v["strategy"] for c, v in g.get("clusters", {}).items()}
    max_out = {c: v["max_out"] for c, v in g.get("clusters", {}).items()}
    pool_members = {p: set(v["members"]) for p, v in facts["pools"].items()}
    lb_out: set[str] = set()
    tier_of = {h: i for i, t in enumerate(g.get("tiers", [])) for h in t}
    tier_installs_left: dict[int, int] = defaultdict(int)
    for a in plan.actions:
        if a.kind == "install" and a.host in tier_of:
            tier_installs_left[tier_of[a.host]] += 1

    def is_out(h: str) -> bool:
        return h in started and span_left[h] > 0

    def upgraded(h: str) -> bool:
        return upgrade_left[h] == 0 and installs_left_by_host.get(h, 0) == 0

    def move(c: str, grp: str, to: str, step: str) -> None:
        key = (c, grp)
        if key in been_upgraded and not upgraded(to):
            errors.append(f"{step}: {grp} moves back onto older node {to}")
        if is_out(to):
            errors.append(f"{step}: {grp} moves onto {to} while it is out")
        owner[key] = to
        if upgraded(to) and to in started:
            been_upgraded.add(key)

    for step in order:
        a = by_id[step]
        h, c = a.host, a.cluster
        if a.kind in SPAN and h:
            started.add(h)
        if a.kind == "install" and h in tier_of:
            t = tier_of[h]
            if t > 0 and tier_installs_left[t - 1] > 0:
                errors.append(f"{step}: tier {t + 1} install before tier {t} finished")
        if a.kind in UPGRADE and h and cluster_of.get(h):
            cn = cluster_of[h]
            if strategy.get(cn) != "active-first":
                on = [gr for (cc, gr), o in owner.items() if cc == cn and o == h]
                if on:
                    errors.append(f"{step}: {a.kind} on {h} while it hosts {on}")
        if a.kind == "move_group":
            assert c is not None
            if owner[(c, a.params["group"])] != h:
                errors.append(f"{step}: moves {a.params['group']} from {h}, but it is elsewhere")
            if strategy.get(c) == "active-first":
                errors.append(f"{step}: a move under active-first")
            move(c, a.params["group"], a.params["to_node"], step)
        if a.kind == "drain_node":
            assert c is not None
            for grp in a.params["groups"]:
                move(c, grp, a.params["to_node"], step)
        if a.kind == "upgrade_virtual_server":
            assert c is not None
            if owner[(c, a.params["group"])] != h or not upgraded(str(h)):
                errors.append(f"{step}: Upgrade EVS of {a.params['group']} not on an upgraded host")
        if a.kind == "lb_out":
            lb_out.add(str(h))
        if a.kind == "install" and h:
            pool = facts["hosts"][h].get("pool")
            if pool and g["pools"].get(pool, {}).get("mode") == "all-at-once":
                missing = {m for m in pool_members[pool] if installs_left_by_host.get(m)} - lb_out
                if missing:
                    errors.append(f"{step}: pool {pool} member(s) {sorted(missing)} still serving")
        if a.kind == "lb_in" and h:
            pool = a.params["pool"]
            if g["pools"].get(pool, {}).get("mode") == "all-at-once":
                left = [m for m in pool_members[pool] if installs_left_by_host.get(m)]
                if left:
                    errors.append(f"{step}: {h} back in pool {pool} before {left} upgraded")
            lb_out.discard(h)
        # bookkeeping after the step
        if a.kind in SPAN and h:
            span_left[h] -= 1
        if a.kind in UPGRADE and h:
            upgrade_left[h] -= 1
        if a.kind == "install" and h:
            installs_left_by_host[h] -= 1
            if h in tier_of:
                tier_installs_left[tier_of[h]] -= 1
        if a.kind == "resume_node":
            assert c is not None
            for grp in a.params.get("failback_groups", []):
                move(c, grp, str(h), step)
        for cn, limit in max_out.items():
            nodes = facts["clusters"][cn]["nodes"]
            out = [n for n in nodes if is_out(n)]
            if len(out) > limit:
                errors.append(f"{step}: {len(out)} nodes of {cn} out at once: {out}")
        for pn, pg in g.get("pools", {}).items():
            if pg["mode"] == "rolling":
                out = sorted(pool_members[pn] & lb_out)
                if len(out) > pg["max_out"]:
                    errors.append(f"{step}: {len(out)} members of pool {pn} out at once")
        if errors:
            return errors
    return errors
