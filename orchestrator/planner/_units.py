"""Standalone hosts, load-balanced pools and workstation fleets within one tier."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import Location
from ..facts import Pool
from ..playbook import Playbook
from ._builder import Ids, ids
from ._host import Context, HostWork, Outage


def plan_standalone(ctx: Context, host: str, after: Ids) -> Ids:
    """A host in no pool, cluster or fleet: its whole chain; its service is down meanwhile."""
    work = HostWork(ctx, host, host)
    end = work.whole(after)
    reason = "not clustered or load-balanced: its services are down during the install"
    ctx.outages.append(Outage("host", host, None, reason, *work.core_span))
    return end


def pool_policy(pb: Playbook, pool: Pool) -> tuple[str, int, Location | None]:
    """The pool's mode and max_out: the playbook's, else the inventory's; and where written."""
    mode, max_out, where = pb.pools.get(pool.name, (pool.mode, pool.max_out, None))
    return mode, max_out or pool.max_out, where


def plan_pool(
    ctx: Context, pool: Pool, members: list[str], mode: str, max_out: int, after: Ids
) -> Ids:
    """A pool: ``all-at-once`` (all out, all upgraded, all back) or ``rolling`` in waves."""
    b = ctx.b
    work = {m: HostWork(ctx, m, f"{pool.name}/{m}") for m in members}

    def lb(m: str, kind: str, after_: Ids) -> Ids:
        verb = "Take" if kind == "lb_out" else "Return"
        prep = "out of" if kind == "lb_out" else "to"
        return b.chain(
            f"{pool.name}/{m}/{kind}",
            kind,
            after_,
            host=m,
            params={"pool": pool.name},
            title=f"{verb} {m} {prep} pool {pool.name}",
        )

    if mode == "all-at-once":
        outs = ids(*(lb(m, "lb_out", work[m].prepare(after)) for m in members))
        all_out = b.barrier(
            f"{pool.name}/all-out", f"Every member of pool {pool.name} is out", outs
        )
        done = ids(*(work[m].verify(work[m].core(all_out)) for m in members))
        upgraded = b.barrier(
            f"{pool.name}/all-upgraded", f"Every member of pool {pool.name} is upgraded", done
        )
        return ids(*(work[m].post(lb(m, "lb_in", upgraded)) for m in members))
    exit_: Ids = after
    for wave in waves(members, max_out):
        ends = [
            work[m].post(
                lb(
                    m,
                    "lb_in",
                    work[m].verify(work[m].core(lb(m, "lb_out", work[m].prepare(exit_)))),
                )
            )
            for m in wave
        ]
        exit_ = ids(*ends)
    return exit_


def waves(items: Sequence[str], size: int) -> list[list[str]]:
    """Consecutive slices of ``size`` items."""
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def batch_sizes(serial: Sequence[int | str], total: int) -> list[int]:
    """Ansible ``serial`` semantics: ints or percentages, the last value repeating."""
    if total == 0:
        return []
    if not serial:
        return [total]
    sizes: list[int] = []
    i = 0
    while sum(sizes) < total:
        spec = serial[min(i, len(serial) - 1)]
        n = max(1, total * int(spec[:-1]) // 100) if isinstance(spec, str) else int(spec)
        sizes.append(min(n, total - sum(sizes)))
        i += 1
    return sizes


def plan_fleet(
    ctx: Context, name: str, members: list[str], serial: Sequence[int | str], after: Ids
) -> tuple[Ids, list[list[str]]]:
    """A workstation fleet in batches: batch k+1 starts when batch k has finished."""
    batches: list[list[str]] = []
    start = 0
    for size in batch_sizes(serial, len(members)):
        batches.append(members[start : start + size])
        start += size
    exit_ = after
    for k, batch in enumerate(batches, 1):
        ends = ids(*(HostWork(ctx, m, f"{name}/{m}").whole(exit_) for m in batch))
        if len(batches) == 1:
            return ends, batches
        exit_ = ctx.b.barrier(
            f"{name}/batch-{k}",
            f"Fleet {name}: batch {k} of {len(batches)} done ({len(batch)} hosts)",
            ends,
        )
    return exit_, batches
