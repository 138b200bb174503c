"""The steps every command shares: load inputs, plan, prove the plan safe."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .estimate import DEFAULT_FORKS
from .inventory import load_inventory
from .plan import Plan
from .planner import build_plan
from .playbook import load_playbook
from .validator import validate


@contextmanager
def no_gc_pauses() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a batch step.

    Loading, planning and rendering build hundreds of thousands of long-lived, acyclic objects;
    the collector would rescan them again and again (superlinear time on large estates) and
    find nothing to free. Reference counting still frees everything as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def plan_from_files(playbook: Path, inventory: Path, forks: int = DEFAULT_FORKS) -> Plan:
    """Load ``inventory`` and ``playbook``, plan (estimating on ``forks`` forks), and validate
    the plan before returning it.

    Raises an :class:`~orchestrator.errors.InputError` for bad input and
    :class:`~orchestrator.errors.InvariantViolation` if the plan breaks a safety rule.
    """
    with no_gc_pauses():
        inv = load_inventory(inventory)
        pb = load_playbook(playbook)
        plan = build_plan(inv.facts, pb, inv.sha256, forks)
        validate(plan)
    return plan
