"""Exactly once on the wire: the id of every apply a host receives, which kinds have a probe
that can be trusted after a lost answer, and which earlier apply a retry or a resume must
ask the host about before doing anything else.

Every apply (and compensating apply) carries a *step id*, unique per run, action, attempt
and step. The host's interpreter records "started" before the work and the answer after it
(:mod:`orchestrator.transports._frame`), so a controller that lost the answer asks the host
what became of that id instead of sending the step again: finished → its recorded result is
taken; never started → a new attempt is safe; started and its process gone → the outcome
is unknown. Then a kind with a trusted probe is probed again; any other kind is stopped
as ``unknown`` for the operator (docs/engine.md, "Exactly once")."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from ..plan import Action
from ._records import AttemptRecord

#: Kinds whose probe cannot tell a step that ran from one that did not (after a lost
#: answer): a hook's probe only knows the marker written after the hook succeeded.
UNTRUSTED_KINDS = frozenset({"hook"})
#: Package kinds installed by an arbitrary executable: their probe is the orchestrator's
#: own success marker (or the installer's own idea of "installed"), not a transaction.
EXE_PACKAGE_KINDS = frozenset({"exe", "service-pack", "hotfix"})
_INSTALLER_KINDS = frozenset({"install", "uninstall"})


def step_id(run_id: str, action_id: str, attempt: int, step: str) -> str:
    """The id the host records one apply under: 32 lowercase hex digits."""
    text = f"{run_id}\0{action_id}\0{attempt}\0{step}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def probe_trusted(action: Action) -> bool:
    """True if ``action``'s probe, run again after a lost answer, tells reliably whether the
    apply took effect (so the engine may re-probe and, if not in effect, apply again)."""
    if action.kind in UNTRUSTED_KINDS:
        return False
    if action.kind in _INSTALLER_KINDS:
        p = action.params
        if p.get("install_dir"):  # patch levels: a transaction of their own, with recovery
            return True
        if p.get("command") or p.get("package_kind") in EXE_PACKAGE_KINDS:
            return False
    return True


def in_doubt(
    attempts: Sequence[AttemptRecord], run_id: str, action_id: str, step: str
) -> str | None:
    """The step id of the journaled apply of ``action_id`` whose answer never arrived, if any:
    its attempt's probe said "not in effect" and no answer followed (the controller was
    killed), or it ended with a transient error (the answer may have been lost), or a recall
    of it could not reach the host."""
    doubt: str | None = None
    for rec in attempts:
        if rec.action_id != action_id:
            continue
        if rec.step == "probe":
            doubt = step_id(run_id, action_id, rec.attempt, step) if rec.outcome == "no" else None
        elif rec.step == "recall":
            doubt = doubt if rec.outcome == "transient" else None
        elif rec.step in ("apply", "compensate"):
            doubt = (
                step_id(run_id, action_id, rec.attempt, step)
                if rec.outcome == "transient"
                else None
            )
        else:
            doubt = None
    return doubt
