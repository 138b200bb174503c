"""The failure budget: how many failures a run tolerates before it starts nothing new.

Limits, in the terms operators use (any combination; the first one exceeded spends the
budget):

- ``max_failures``: failed *actions*, counted over the whole run;
- ``max_failed_hosts``: failed *hosts* (hosts with at least one failed action), over the
  whole run, like Cluster-Aware Updating's ``MaxFailedNodes``;
- ``max_percent``: failed hosts as a percentage of every host the run touches, like
  Ansible's ``max_fail_percentage`` (which Ansible applies per batch; here it is the run).

A limit is exceeded when the count goes *above* it (``max_failures: 0`` stops at the first
failure). With no limit given the budget is ``max_failures: 0``. Once spent, a budget stays
spent for the run: its state is journaled in the same transaction as the failure that spent
it, so a controller killed right after that failure resumes with the budget spent. Only
``resume --retry-failed`` (the operator fixed the cause) counts afresh.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InputError

#: The keys of ``execution.failure_budget`` (and of the stored options) the budget knows.
LIMIT_KEYS = ("max_failures", "max_failed_hosts", "max_percent")


@dataclass(frozen=True)
class BudgetLimits:
    """The limits in force; ``None`` means "not limited this way"."""

    max_failures: int | None = 0
    max_failed_hosts: int | None = None
    max_percent: float | None = None

    @classmethod
    def resolve(cls, plan_budget: Mapping[str, Any], overrides: Mapping[str, Any]) -> BudgetLimits:
        """The plan's ``failure_budget`` with the command line's ``overrides`` (a limit
        given on the command line replaces the plan's limits entirely)."""
        given = {k: overrides[k] for k in LIMIT_KEYS if overrides.get(k) is not None}
        source = given or {k: plan_budget[k] for k in LIMIT_KEYS if plan_budget.get(k) is not None}
        if not source:
            return cls()
        for key, value in source.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise InputError(f"failure budget {key}: expected a number >= 0, not {value!r}")
        return cls(
            max_failures=_int(source.get("max_failures")),
            max_failed_hosts=_int(source.get("max_failed_hosts")),
            max_percent=float(source["max_percent"]) if "max_percent" in source else None,
        )

    def describe(self) -> str:
        """The limits in words, e.g. ``max_failures 0`` or ``max_failed_hosts 2, 10 %``."""
        parts = []
        if self.max_failures is not None:
            parts.append(f"max_failures {self.max_failures}")
        if self.max_failed_hosts is not None:
            parts.append(f"max_failed_hosts {self.max_failed_hosts}")
        if self.max_percent is not None:
            parts.append(f"max_percent {self.max_percent:g} %")
        return ", ".join(parts)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


class Budget:
    """The run's failure count against its limits; ``hosts`` are all the run touches."""

    def __init__(self, limits: BudgetLimits, hosts: Iterable[str]) -> None:
        self.limits = limits
        self.total_hosts = len(set(hosts))
        self.failed_actions: list[str] = []
        self.failed_hosts: set[str] = set()
        self.spent = False
        self.reason = ""

    def record(self, action_id: str, host: str | None) -> bool:
        """Count a failed action; True if this failure spends the budget (first time)."""
        if action_id not in self.failed_actions:
            self.failed_actions.append(action_id)
        if host:
            self.failed_hosts.add(host)
        if self.spent:
            return False
        reason = self._exceeded()
        if reason:
            self.spent, self.reason = True, reason
        return self.spent

    def _exceeded(self) -> str:
        lim, actions, hosts = self.limits, len(self.failed_actions), len(self.failed_hosts)
        if lim.max_failures is not None and actions > lim.max_failures:
            return f"{actions} failed action(s), more than max_failures {lim.max_failures}"
        if lim.max_failed_hosts is not None and hosts > lim.max_failed_hosts:
            return f"{hosts} failed host(s), more than max_failed_hosts {lim.max_failed_hosts}"
        if lim.max_percent is not None and self.total_hosts:
            percent = 100.0 * hosts / self.total_hosts
            if percent > lim.max_percent:
                return (
                    f"{hosts} of {self.total_hosts} hosts failed ({percent:.1f} %), more than "
                    f"max_percent {lim.max_percent:g} %"
                )
        return ""

    def to_json(self) -> dict[str, Any]:
        """The state as journaled."""
        return {
            "failed_actions": list(self.failed_actions),
            "failed_hosts": sorted(self.failed_hosts),
            "spent": self.spent,
            "reason": self.reason,
        }

    def restore(
        self, state: Mapping[str, Any] | None, failed: Iterable[tuple[str, str | None]]
    ) -> None:
        """Load the journaled state, then count ``failed`` (action id, host) actions that
        the journal records as failed (a failure journaled before its budget state, by an
        older orchestrator, still counts)."""
        if state:
            self.failed_actions = [str(a) for a in state.get("failed_actions", [])]
            self.failed_hosts = {str(h) for h in state.get("failed_hosts", [])}
            self.spent = bool(state.get("spent"))
            self.reason = str(state.get("reason", ""))
        for action_id, host in failed:
            self.record(action_id, host)
