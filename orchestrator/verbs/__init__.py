"""The verbs: what each action kind does on a host, written once per dialect.

- :mod:`.powershell`: Windows PowerShell 3.0+ (every kind that reaches a host), and as
  ``powershell2`` on Windows PowerShell 2.0 the kinds of :data:`.powershell.PS2_KINDS`
  (all but the cluster and load-balancer kinds);
- :mod:`.sh`: POSIX sh on Linux hosts (the kinds in :data:`.sh.SH_KINDS`).

:data:`CATALOGUE` says which kinds each dialect implements; the transports (WinRM, SSH)
only move the rendered scripts and their answers. The quoting helpers every dialect uses
live in :mod:`orchestrator.transports._quote`.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..kinds import KNOWN_KINDS
from ._calls import ENGINE_ONLY_KINDS, STEPS, check_call
from ._dialects import Choice, choose, platform_of
from .powershell import PS2_KINDS
from .sh import SH_KINDS

#: Dialect -> the action kinds it has a verb for.
CATALOGUE: Mapping[str, frozenset[str]] = {
    "powershell": frozenset(KNOWN_KINDS) - ENGINE_ONLY_KINDS,
    "powershell2": PS2_KINDS,
    "sh": frozenset(SH_KINDS),
}


def dialects_for(kind: str) -> list[str]:
    """The dialects that implement ``kind`` (empty for a kind no host runs)."""
    return [name for name, kinds in CATALOGUE.items() if kind in kinds]


def choose_dialect(kind: str, host_facts: Mapping[str, object]) -> Choice:
    """The dialect of :data:`CATALOGUE` that runs ``kind`` on a host (see :mod:`._dialects`)."""
    return choose(kind, host_facts, CATALOGUE)


__all__ = [
    "CATALOGUE",
    "ENGINE_ONLY_KINDS",
    "STEPS",
    "Choice",
    "check_call",
    "choose_dialect",
    "dialects_for",
    "platform_of",
]
