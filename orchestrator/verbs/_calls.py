"""What every dialect's renderer checks first: the step is one of the three, the kind is
known and reaches a host."""

from __future__ import annotations

from ..kinds import KNOWN_KINDS
from ..plan import Action

#: The three steps of every action.
STEPS = ("probe", "apply", "verify")
#: Kinds that never reach a host (the engine completes them itself).
ENGINE_ONLY_KINDS = frozenset({"barrier"})


def check_call(action: Action, step: str) -> None:
    """Refuse a step or kind no verb exists for (shared by every dialect's renderer)."""
    if step not in STEPS:
        raise ValueError(f"unknown step {step!r} (expected one of {', '.join(STEPS)})")
    if action.kind in ENGINE_ONLY_KINDS:
        raise ValueError(f"{action.id}: a {action.kind} never reaches a host")
    if action.kind not in KNOWN_KINDS:
        raise ValueError(f"{action.id}: unknown action kind {action.kind!r}")
