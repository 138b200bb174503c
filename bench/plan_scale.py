"""Planner scale benchmark: load, plan, validate and write JSON for generated estates.

Usage: python bench/plan_scale.py [--repeat N] [SIZES...]   (default: 3 runs of 5000 10000 20000)

Each run is a fresh subprocess, so that its peak memory (max RSS) is its own. Each size runs
N times and the fastest run is reported (timing noise on a shared machine only ever adds
time); the spread of the totals is printed too. The
estate is built from 14-host cells: a load-balanced pool of 4 front-ends (all-at-once and
rolling alternately), 4 standalone back-ends, a 2-node cluster (1 group) and a 4-node cluster
(2 virtual servers + the cluster group), in two tiers, written as a YAML Ansible inventory.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CELL = 14

PLAYBOOK = """\
name: scale benchmark
package: {name: Fix 1.2, kind: hotfix, source: '\\\\\\\\files\\\\fix.exe', version: "1.2"}
targets: [all]
tiers: [[frontends], [backends, clusters]]
cluster_default: {strategy: move-off}
preflight:
  - {check: backup}
  - {check: no-installer-running, gate: host}
interfering_services: [SNMP]
verify: [{check: version, params: {expect: "1.2"}}]
"""


def write_estate(hosts: int, directory: Path) -> tuple[Path, Path]:
    """Write an inventory with about ``hosts`` hosts, and the playbook; return both paths."""
    cells = max(1, hosts // CELL)
    lines = ["all:", "  vars:", "    ansible_connection: winrm", "  children:"]
    fe, be, cl = ["    frontends:", "      children:"], ["    backends:", "      hosts:"], []
    cl += ["    clusters:", "      children:"]
    for c in range(cells):
        mode = "all-at-once" if c % 2 == 0 else "rolling"
        fe += [f"        pool{c}:", "          hosts:"]
        fe += [f"            fe{c}-{i}:" for i in range(4)]
        fe += ["          vars:", f"            orchestrator_pool: {{mode: {mode}}}"]
        be += [f"        be{c}-{i}:" for i in range(4)]
        cl += [f"        c2n{c}:", "          hosts:"]
        cl += [f"            c2n{c}-{i}:" for i in range(2)]
        cl += ["          vars:", "            orchestrator_cluster:", "              groups:"]
        cl += [f"                g{c}: {{owner: c2n{c}-0}}"]
        cl += [f"        c4n{c}:", "          hosts:"]
        cl += [f"            c4n{c}-{i}:" for i in range(4)]
        cl += ["          vars:", "            orchestrator_cluster:", "              groups:"]
        cl += [
            f"                EVS{c}a: {{owner: c4n{c}-0, kind: exchange-virtual-server}}",
            f"                EVS{c}b: {{owner: c4n{c}-1, kind: exchange-virtual-server}}",
            f"                CG{c}: {{owner: c4n{c}-0, kind: cluster-group}}",
        ]
    inv = directory / "hosts.yml"
    inv.write_text("\n".join(lines + fe + be + cl) + "\n")
    pb = directory / "playbook.yml"
    pb.write_text(PLAYBOOK)
    return inv, pb


def measure(hosts: int) -> dict[str, float]:
    """Time each stage for one size (run inside the child process)."""
    from orchestrator.inventory import load_inventory
    from orchestrator.planner import build_plan
    from orchestrator.playbook import load_playbook
    from orchestrator.validator import validate
    from orchestrator.workflow import no_gc_pauses

    with tempfile.TemporaryDirectory() as tmp, no_gc_pauses():  # as `orchestrator plan` does
        inv_path, pb_path = write_estate(hosts, Path(tmp))
        t0 = time.perf_counter()
        inv = load_inventory(inv_path)
        pb = load_playbook(pb_path)
        t1 = time.perf_counter()
        plan = build_plan(inv.facts, pb, inv.sha256)
        t2 = time.perf_counter()
        validate(plan)
        t3 = time.perf_counter()
        (Path(tmp) / "plan.json").write_text(plan.to_json())
        t4 = time.perf_counter()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "hosts": len(inv.facts.hosts),
        "actions": len(plan.actions),
        "load_s": t1 - t0,
        "plan_s": t2 - t1,
        "validate_s": t3 - t2,
        "json_s": t4 - t3,
        "total_s": t4 - t0,
        "peak_rss_mb": rss_mb,
    }


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        print(json.dumps(measure(int(argv[1]))))
        return 0
    repeat = 3
    if argv[:1] == ["--repeat"]:
        repeat, argv = int(argv[1]), argv[2:]
    sizes = [int(a) for a in argv] or [5000, 10000, 20000]
    rows = []
    for size in sizes:
        runs = []
        for _ in range(repeat):
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(size)],
                check=True,
                capture_output=True,
                text=True,
            )
            runs.append(json.loads(out.stdout))
        best = min(runs, key=lambda r: r["total_s"])
        best["spread"] = [r["total_s"] for r in runs]
        rows.append(best)
    cols = ["load", "plan", "valid.", "json", "total"]
    head = f"{'hosts':>6} {'actions':>8} " + " ".join(f"{c:>7}" for c in cols) + f" {'peak MB':>8}"
    print(f"best of {repeat} runs per size")
    print(head)
    for r in rows:
        print(
            f"{r['hosts']:>6} {r['actions']:>8} {r['load_s']:>6.2f}s {r['plan_s']:>6.2f}s "
            f"{r['validate_s']:>6.2f}s {r['json_s']:>6.2f}s {r['total_s']:>6.2f}s "
            f"{r['peak_rss_mb']:>8.0f}   runs: {', '.join(f'{t:.2f}' for t in r['spread'])}"
        )
    small = min(rows, key=lambda r: r["hosts"])
    large = max(rows, key=lambda r: r["hosts"])
    if small is not large:
        ratio = large["total_s"] / small["total_s"]
        print(
            f"total time ratio {large['hosts']}/{small['hosts']} hosts: {ratio:.2f} (target <= 4.5)"
        )
    ten = [r for r in rows if 9000 <= r["hosts"] <= 11000]
    if ten:
        print(f"10k hosts: {ten[0]['total_s']:.2f}s (target <= 3 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
