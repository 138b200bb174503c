"""Which dialect runs an action on a host, from the host's platform facts.

A host's platform facts (``facts.hosts[<name>].os`` in the plan, declared in the inventory as
``orchestrator_platform`` or gathered live) say what it can run::

    {"version": "5.2.3790", "name": "Windows Server 2003", "service_pack": 2,
     "powershell": "2.0", "winrm": "2.0", "cluster": "cluster.exe", "nlb": "wlbs.exe",
     "pending_reboot": false, "free_disk_mb": 20480,
     "source": "declared" | "live", "gathered_at": "2026-12-02T10:00:00Z" | null}

Every field is optional. A Windows host without ``os`` is taken as today's default
(PowerShell 5.1 over WinRM, the FailoverClusters and NetworkLoadBalancingClusters modules).
``powershell``/``winrm`` are ``"none"`` when absent; ``cluster`` is ``"FailoverClusters"``,
``"cluster.exe"`` or ``"none"``; ``nlb`` is ``"NetworkLoadBalancingClusters"``,
``"wlbs.exe"``, ``"nlb.exe"`` or ``"none"``.

The dialects, in order of preference on Windows:

- ``powershell``: PowerShell 3.0+ (the full verb library);
- ``powershell2``: PowerShell 2.0, for the kinds whose verbs are written in the 2.0 subset;
- ``cmd``: cmd.exe over WinRM's cmd shell (``cluster.exe``, ``wlbs.exe``, ``sc.exe``, ...);

and ``sh`` on Linux.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..kinds import CLUSTER_KINDS, POOL_KINDS

#: Modern Windows, assumed when a Windows host declares no platform facts.
DEFAULT_WINDOWS: Mapping[str, Any] = {
    "powershell": "5.1",
    "winrm": "3.0",
    "cluster": "FailoverClusters",
    "nlb": "NetworkLoadBalancingClusters",
}
#: The tooling each dialect drives a cluster / a load balancer with.
CLUSTER_TOOLS: Mapping[str, frozenset[str]] = {
    "powershell": frozenset({"FailoverClusters"}),
    "powershell2": frozenset(),
    "cmd": frozenset({"cluster.exe"}),
}
NLB_TOOLS: Mapping[str, frozenset[str]] = {
    "powershell": frozenset({"NetworkLoadBalancingClusters"}),
    "powershell2": frozenset(),
    "cmd": frozenset({"wlbs.exe", "nlb.exe"}),
}


@dataclass(frozen=True)
class Choice:
    """The dialect that runs one action on one host, or why none can (``dialect`` None)."""

    dialect: str | None
    reason: str = ""


def platform_of(host_facts: Mapping[str, Any]) -> dict[str, Any]:
    """The host's platform facts with the defaults filled in (Windows without ``os`` is
    :data:`DEFAULT_WINDOWS`)."""
    declared = dict(host_facts.get("os") or {})
    if host_facts.get("platform", "windows") != "windows":
        return declared
    return declared or dict(DEFAULT_WINDOWS)


def _version(text: Any) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in str(text).split("."))
    except ValueError:
        return ()


def windows_dialects(os: Mapping[str, Any]) -> list[str]:
    """The dialects a Windows host with platform facts ``os`` can run, best first."""
    if str(os.get("winrm", "none")) == "none":
        return []
    out: list[str] = []
    ps = _version(os.get("powershell", "none"))
    if ps and ps >= (3,):
        out.append("powershell")
    if ps and ps >= (2,):
        out.append("powershell2")
    out.append("cmd")
    return out


def choose(
    kind: str, host_facts: Mapping[str, Any], catalogue: Mapping[str, frozenset[str]]
) -> Choice:
    """The best dialect of ``catalogue`` that implements ``kind`` on this host and whose
    cluster/NLB tooling the host has; else a Choice without dialect and the reason."""
    if host_facts.get("platform", "windows") == "linux":
        if kind in catalogue.get("sh", frozenset()):
            return Choice("sh")
        return Choice(None, f"{kind} has no sh verb")
    os = platform_of(host_facts)
    candidates = windows_dialects(os)
    if not candidates:
        return Choice(None, "not reachable over WinRM (no WinRM on this Windows)")
    for dialect in candidates:
        if kind not in catalogue.get(dialect, frozenset()):
            continue
        if kind in CLUSTER_KINDS and os.get("cluster") not in CLUSTER_TOOLS[dialect]:
            continue
        if kind in POOL_KINDS and os.get("nlb") not in NLB_TOOLS[dialect]:
            continue
        return Choice(dialect)
    return Choice(None, f"{kind} has no verb in {', '.join(candidates)} with this host's tooling")
