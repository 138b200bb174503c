"""Patch-level check benchmark.

Builds, in a temporary directory, a 20,000-file installation (about 200 folders, files of
0.5-8 KiB plus a few of 1-4 MiB) and a 20-level cumulative package (each level changes 150
files and adds 5), installs level 12, customizes 50 files and removes 10, then times
``orchestrator patch check`` (and ``patch compat``) end to end in a fresh process, best of
``--repeat`` runs, plus the in-process stages (open the package, gather the file facts,
classify). The files are in the page cache (just written): this is the warm-cache figure.

Usage: python bench/patch_check.py [--files N] [--levels L] [--repeat R] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from orchestrator.patchlevel import (  # noqa: E402
    InstallState,
    build_package,
    check_consistency,
    gather_facts,
    open_package,
    write_state,
)

T0 = 1072915200
DAY = 86400


def _write(path: Path, data: bytes, mtime: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))


def make_trees(root: Path, files: int, levels: int, rng: random.Random) -> dict[int, Path]:
    """Level 0 with ``files`` files; each level changes 150 and adds 5."""
    paths = [f"dir{i % 200:03d}/sub{i % 7}/file{i:05d}.dat" for i in range(files)]
    big = set(rng.sample(paths, 20))
    trees = {0: root / "level0"}
    for rel in paths:
        size = rng.randint(1 << 20, 4 << 20) if rel in big else rng.randint(512, 8192)
        _write(trees[0] / rel, rng.randbytes(size), T0)
    for n in range(1, levels + 1):
        trees[n] = root / f"level{n}"
        changed = rng.sample(paths, 150) + [f"added/level{n:02d}/new{k}.dat" for k in range(5)]
        for rel in changed:
            _write(trees[n] / rel, rng.randbytes(rng.randint(512, 8192)), T0 + n * 30 * DAY)
    return trees


def install(pkg_path: Path, inst: Path, level: int, rng: random.Random) -> None:
    """Level ``level`` as shipped, then 50 customized and 10 missing files."""
    with open_package(pkg_path) as pkg:
        m = pkg.manifest
        state = m.state(level)
        for rel, rec in state.items():
            shipped = m.changed_at(rel, level)
            assert shipped is not None
            with pkg.open_file(shipped, rel) as src:
                _write(inst / rel, src.read(), rec.timestamp)
    write_state(inst, InstallState(m.product, m.release, m.build, level))
    picked = rng.sample(sorted(state), 60)
    for rel in picked[:50]:
        _write(inst / rel, b"customized\n" + rng.randbytes(100), time.time())
    for rel in picked[50:]:
        (inst / rel).unlink()


def timed_cli(*args: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "orchestrator", *args],
        check=True,
        stdout=subprocess.DEVNULL,
        cwd=ROOT,
    )
    return time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=20_000)
    ap.add_argument("--levels", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="build in DIR and keep it")
    args = ap.parse_args()
    rng = random.Random(20261121)
    tmp = None if args.keep else tempfile.TemporaryDirectory(prefix="patch-bench-")
    root = args.keep or Path(tmp.name if tmp else ".")
    root.mkdir(parents=True, exist_ok=True)
    try:
        t = time.perf_counter()
        trees = make_trees(root / "src", args.files, args.levels, rng)
        t_trees = time.perf_counter() - t
        t = time.perf_counter()
        pkg, m = build_package(
            "MPWEB", "4.2.7", 106, trees[0], {n: trees[n] for n in trees if n}, root / "dist"
        )
        t_build = time.perf_counter() - t
        inst = root / "inst"
        install(pkg, inst, 12, rng)
        size = sum(r.size for r in m.state(12).values())
        print(
            f"installation: {len(m.state(12))} files, {size / 2**20:.0f} MiB at level 12; "
            f"package {pkg.name}: {pkg.stat().st_size / 2**20:.0f} MiB, levels 0..{m.level} "
            f"(trees {t_trees:.1f} s, build {t_build:.1f} s)"
        )
        for what in ("check", "compat"):
            runs = [
                timed_cli("patch", what, str(pkg), "--install", str(inst), "--format", "json")
                for _ in range(args.repeat)
            ]
            shown = ", ".join(f"{r:.2f}" for r in runs)
            print(f"patch {what}: {min(runs):.2f} s (best of {len(runs)}: {shown})")
        t = time.perf_counter()
        with open_package(pkg) as p:
            t_open = time.perf_counter() - t
            paths = p.manifest.paths
            for workers in (1, 0):
                t = time.perf_counter()
                facts = gather_facts(inst, paths, workers=workers or None)
                t_facts = time.perf_counter() - t
                label = "1 thread" if workers == 1 else "files >= 1 MiB on a thread pool"
                print(f"  gather facts ({label}): {t_facts:.2f} s for {len(paths)} paths")
            t = time.perf_counter()
            report = check_consistency(p.manifest, facts, 12)
            t_check = time.perf_counter() - t
        print(f"  open package + manifest: {t_open:.2f} s; classify: {t_check:.3f} s")
        print(f"  findings: {report.counts()}")
    finally:
        if tmp is not None:
            tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
