"""Checks 2, 3 and 8: tiers, load-balanced pools and fleet batches.

* tiers / batches: every ``install`` of group *i+1* has every ``install`` of group *i* as an
  ancestor (consecutive groups that have installs are compared);
* pools: each member is out of rotation (``lb_out`` .. ``lb_in``) around its install and
  reboots; ``all-at-once`` pools go out together and come back together; ``rolling`` pools
  never have more than ``max_out`` members out on any execution order.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from ._index import PlanIndex, mapping, str_list
from ._spans import Span, overlap_violation


def check_tiers(ix: PlanIndex) -> list[str]:
    """Tier order of installs (``guarantees.tiers``)."""
    tiers = ix.guarantees.get("tiers")
    if tiers is None:
        return []
    if not isinstance(tiers, list):
        return ["guarantees.tiers must be a list of host lists"]
    return _ordered_groups(ix, tiers, "tier")


def check_fleets(ix: PlanIndex) -> list[str]:
    """Batch order of installs in each fleet (``guarantees.fleets``)."""
    out: list[str] = []
    for name, spec in mapping(ix.guarantees.get("fleets")).items():
        batches = mapping(spec).get("batches")
        if not isinstance(batches, list):
            out.append(f"guarantees.fleets[{name!r}].batches must be a list of host lists")
            continue
        out += _ordered_groups(ix, batches, f"fleet {name!r} batch")
    return out


def _ordered_groups(ix: PlanIndex, groups: Sequence[Any], label: str) -> list[str]:
    out: list[str] = []
    hosts = mapping(ix.facts.get("hosts"))
    with_installs: list[tuple[int, list[int]]] = []
    for n, group in enumerate(groups, 1):
        names = str_list(group)
        out += [f"{label} {n} names unknown host {h!r}" for h in names if h not in hosts]
        installs = sorted(i for h in dict.fromkeys(names) for i in ix.on(h, "install"))
        if installs:
            with_installs.append((n, installs))
    for (i, before), (j, after) in pairwise(with_installs):
        rule = f"{label} {j} install must come after every {label} {i} install"
        out += ix.all_before(before, after, rule)
    return out


def check_pools(ix: PlanIndex) -> list[str]:
    """Pool rules (``guarantees.pools``), members taken from ``facts.pools``."""
    out: list[str] = []
    facts_pools = mapping(ix.facts.get("pools"))
    for name, raw in mapping(ix.guarantees.get("pools")).items():
        spec, pool = mapping(raw), mapping(facts_pools.get(name))
        if not pool:
            out.append(f"pool {name!r} has a guarantee but is not in facts.pools")
            continue
        members = str_list(pool.get("members"))
        mode = spec.get("mode", pool.get("mode"))
        spans = [_member(ix, name, m, out) for m in members]
        if mode == "all-at-once":
            outs = [o for s in spans for o in s.starts]
            ins = [e for s in spans for e in s.ends]
            work = sorted(i for m in members for i in ix.on(m, "install", "reboot"))
            installs = [i for i in work if ix.actions[i].kind == "install"]
            out += ix.all_before(outs, installs, f"pool {name!r} (all-at-once) install")
            out += ix.all_before(work, ins, f"pool {name!r} (all-at-once) lb_in")
        elif mode == "rolling":
            max_out = spec.get("max_out", pool.get("max_out", 1))
            if not isinstance(max_out, int) or max_out < 1:
                out.append(f"pool {name!r}: max_out must be a positive integer, not {max_out!r}")
                continue
            active = [s for s in spans if s.starts or s.ends]
            msg = overlap_violation(ix, f"pool {name!r} (rolling)", active, max_out)
            if msg:
                out.append(msg)
        else:
            out.append(f"pool {name!r}: unknown mode {mode!r}")
    return out


def _member(ix: PlanIndex, pool: str, member: str, out: list[str]) -> Span:
    """The member's span; reports installs/reboots not inside an lb_out .. lb_in."""

    def mine(i: int) -> bool:
        return ix.param(i, "pool") in (None, pool)

    outs = tuple(i for i in ix.on(member, "lb_out") if mine(i))
    ins = tuple(i for i in ix.on(member, "lb_in") if mine(i))
    for i in ix.on(member, "install", "reboot"):
        if ix.actions[i].kind == "install" and not ix.reach.le_any(outs, i):
            out.append(
                f"pool {pool!r}: {ix.host_of(i)} is not after an lb_out of {member}"
                + (f" ({ix.names(outs)})" if outs else " (there is none)")
            )
        if not any(ix.le(i, e) for e in ins):
            out.append(
                f"pool {pool!r}: {ix.host_of(i)} is not before an lb_in of {member}"
                + (f" ({ix.names(ins)})" if ins else " (there is none)")
            )
    return Span(member, outs, ins)
