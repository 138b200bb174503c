"""The steps every command shares: load inputs, plan, prove the plan safe."""

from __future__ import annotations

from pathlib import Path

from .inventory import load_inventory
from .plan import Plan
from .planner import build_plan
from .playbook import load_playbook
from .validator import validate


def plan_from_files(playbook: Path, inventory: Path) -> Plan:
    """Load ``inventory`` and ``playbook``, plan, and validate the plan before returning it.

    Raises an :class:`~orchestrator.errors.InputError` for bad input and
    :class:`~orchestrator.errors.InvariantViolation` if the plan breaks a safety rule.
    """
    inv = load_inventory(inventory)
    pb = load_playbook(playbook)
    plan = build_plan(inv.facts, pb, inv.sha256)
    validate(plan)
    return plan
