"""Checks 5 and 7: per-host procedure order and the S4 build-before-apply rule.

* run-gated preflights (``params.gate == "run"``) come before every install of the plan;
* on each host: its host-gated preflights and its interfering-service stops come before its
  installs; its installs come before its interfering-service starts and its verifies;
* an install of a package that a ``build_patch`` produces (``params.output``) comes after it.
"""

from __future__ import annotations

from collections import defaultdict

from ._index import PlanIndex


def check_hosts(ix: PlanIndex) -> list[str]:
    """Run-wide and per-host ordering around installs."""
    actions, le = ix.actions, ix.reach.le
    preflights = ix.kind("preflight")
    run = [i for i in preflights if actions[i].params.get("gate") == "run"]
    out = ix.all_before(run, ix.kind("install"), "run-gated preflight")
    before: dict[str, list[int]] = defaultdict(list)
    after: dict[str, list[int]] = defaultdict(list)
    for i in preflights:
        if actions[i].params.get("gate") == "host":
            before[actions[i].host or ""].append(i)
    for kind, into in (("stop_services", before), ("start_services", after)):
        for i in ix.kind(kind):
            if actions[i].params.get("purpose", "interfering") == "interfering":
                into[actions[i].host or ""].append(i)
    for i in ix.kind("verify"):
        after[actions[i].host or ""].append(i)
    for host in dict.fromkeys(actions[i].host for i in ix.kind("install")):
        if host is None:
            continue
        installs = ix.on(host, "install")
        for b in before.get(host, ()):
            late = [i for i in installs if not le(b, i)]
            if late:
                kind = actions[b].kind
                out.append(f"host {host}: {ix.names(late)} not after {kind} {ix.name(b)}")
        for e in after.get(host, ()):
            late = [i for i in installs if not le(i, e)]
            if late:
                kind = actions[e].kind
                out.append(f"host {host}: {kind} {ix.name(e)} not after {ix.names(late)}")
    return out


def check_builds(ix: PlanIndex) -> list[str]:
    """S4: installing a built patch needs its ``build_patch`` as an ancestor."""
    builds: dict[str, list[int]] = {}
    for b in ix.kind("build_patch"):
        output = ix.param(b, "output")
        if output is not None:
            builds.setdefault(output, []).append(b)
    out: list[str] = []
    if not builds:
        return out
    for i in ix.kind("install"):
        package = ix.param(i, "package")
        for b in builds.get(package, []) if package is not None else []:
            if not ix.le(b, i):
                out.append(f"{ix.host_of(i)} installs {package!r} but is not after {ix.name(b)}")
    return out
