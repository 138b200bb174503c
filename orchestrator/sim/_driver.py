"""The simulated lab's :class:`~orchestrator.engine.Driver`.

``apply`` runs in three parts: under the lock, check preconditions and mark in-flight state
(memory only); sleep the action's duration outside the lock; under the lock again, release
the in-flight state, apply the effect and commit it in one transaction. A controller killed
while sleeping leaves nothing behind, like a command that never reached the host.

Each finished apply's result is remembered under its step id (in memory: an apply the
controller did not see finish left nothing behind, so it "never started"), for
:meth:`SimDriver.recall`. A ``lost_answer`` fault applies the step, then loses its answer
and its host-side record: the driver raises :class:`~orchestrator.errors.OutcomeUnknown`,
as the transports do when the interpreter died with the step's record saying "started"."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..engine._protocols import StepResult
from ..errors import (
    FatalError,
    HostUnreachable,
    OutcomeUnknown,
    StepTimeout,
    TransientError,
    VerificationFailed,
)
from ..plan import Action
from . import _checks, _verbs_build, _verbs_cluster, _verbs_host, _verbs_system  # noqa: F401
from ._health import host_up
from ._twin import Twin
from ._verbs import VERBS, Verb

CHECK_KINDS = frozenset({"preflight", "verify"})


class _Once:
    """Call ``fn`` at most once."""

    def __init__(self, fn: Callable[[], None] | None) -> None:
        self._fn = fn

    def __call__(self) -> None:
        fn, self._fn = self._fn, None
        if fn is not None:
            fn()


class SimDriver:
    """A driver bound to a lab; safe to call from several threads at once."""

    def __init__(self, twin: Twin) -> None:
        self._t = twin
        self._results: dict[str, StepResult] = {}

    def live_facts(self, facts: Mapping[str, Any]) -> dict[str, Any]:
        """Live nodes, group owners, pool members, and the hosts that do not answer."""
        t = self._t
        with t.lock:
            w = t.world
            unreachable = [
                h
                for h in facts.get("hosts", {})
                if h in w.hosts
                and (
                    not host_up(w, t.flight, h)
                    or any(t.take(f) for f in t.matching(None, h, "unreachable"))
                )
            ]
            clusters = {
                c: {
                    "nodes": list(w.clusters[c].nodes),
                    "groups": {g: {"owner": v.owner} for g, v in w.clusters[c].groups.items()},
                }
                for c in facts.get("clusters", {})
                if c in w.clusters
            }
            pools = {
                p: {"members": list(w.pools[p].members)}
                for p in facts.get("pools", {})
                if p in w.pools
            }
        return {"clusters": clusters, "pools": pools, "unreachable": sorted(unreachable)}

    def probe(self, action: Action) -> bool:
        """Is the action already in effect? Checks always answer False."""
        v = _verb(action)
        with self._t.lock:
            self._reach(action, v)
            return action.kind not in CHECK_KINDS and v.probe(self._t.ctx(), action)

    def verify(self, action: Action) -> None:
        """Raise VerificationFailed unless the action's effect holds."""
        v = _verb(action)
        with self._t.lock:
            self._reach(action, v)
            if action.kind in CHECK_KINDS or v.probe(self._t.ctx(), action):
                return
        raise VerificationFailed(f"{action.id}: the {action.kind} did not take effect")

    def apply(self, action: Action, timeout_s: float, step_id: str = "") -> StepResult:
        """Run the action for its (simulated) duration and apply its effect."""
        result = self._apply(action, timeout_s)
        with self._t.lock:
            if self._t.take_first(action, "lost_answer"):
                raise OutcomeUnknown(
                    f"{action.host}: the interpreter died while running the step; its record "
                    "says it started, not how it ended"
                )
            if step_id:
                self._results[step_id] = result
        return result

    def recall(self, action: Action, step_id: str) -> StepResult | None:
        """The remembered result of the apply ``step_id``, or None (it never started)."""
        with self._t.lock:
            self._reach(action, _verb(action))
            return self._results.get(step_id)

    def _apply(self, action: Action, timeout_s: float) -> StepResult:
        t, v = self._t, _verb(action)
        with t.lock:
            self._reach(action, v)
            if t.take_first(action, "transient"):
                raise TransientError(f"{action.host}: connection reset by peer")
            failure = t.take_first(action, "fail")
            if failure is not None:
                raise FatalError(failure.message)
            code, in_use = (
                t.exit_code(action) if action.kind in ("install", "uninstall") else (None, False)
            )
            reboot = t.take_first(action, "reboot") if action.kind == "reboot" else None
            release = _Once(v.begin(t.ctx(code, in_use), action) if v.begin else None)
            t.observe(action.id)
        lost = reboot is not None and reboot.reboot == "fail"
        duration = action.estimate_s * (reboot.factor if reboot and not lost else 1.0)
        try:
            if lost or duration > timeout_s:
                t.clock.sleep(timeout_s)
                self._timed_out(action, release, lost)
                raise StepTimeout(f"{action.id}: no answer after {timeout_s:g} s", output="timeout")
            t.clock.sleep(duration)
            with t.lock:
                release()
                ctx = t.ctx(code, in_use)
                try:
                    done = v.effect(ctx, action)
                except BaseException:
                    t.observe(action.id)
                    raise
                if ctx.touched:
                    t.commit(action.id, action.kind, action.host, ctx, done.summary)
                else:
                    t.observe(action.id)
                return done.result
        finally:
            with t.lock:
                release()

    def close(self) -> None:
        """Nothing to release: the lab owns the database."""

    def _timed_out(self, action: Action, release: _Once, lost: bool) -> None:
        t = self._t
        with t.lock:
            release()
            if lost and action.host:
                ctx = t.ctx()
                ctx.edit_host(action.host).down = True
                t.commit(action.id, action.kind, action.host, ctx, "rebooted and never came back")
            else:
                t.observe(action.id)

    def _reach(self, action: Action, v: Verb) -> None:
        """Raise HostUnreachable if the action's host does not answer now."""
        t, host = self._t, action.host
        if not host:
            return
        if any(t.take(f) for f in t.matching(action, host, "unreachable")):
            raise HostUnreachable(f"{host}: connection refused")
        if v.needs_host and host in t.world.hosts and not host_up(t.world, t.flight, host):
            raise HostUnreachable(f"{host}: connection refused (the host is down)")


def _verb(action: Action) -> Verb:
    if action.kind == "barrier":
        raise FatalError(f"{action.id}: a barrier is the engine's, it never reaches a driver")
    v = VERBS.get(action.kind)
    if v is None:
        raise FatalError(f"{action.id}: the simulated lab does not know kind {action.kind!r}")
    return v
