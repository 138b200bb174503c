"""What a resumed run must redo: failed actions re-queued on request, and spans that
compensation put back in service reopened."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping

from ._compensation import PREFIX
from ._graph import RunGraph, span_keys
from ._journal import Journal
from ._records import FINAL_OK, ActionRecord


def requeue_failed(journal: Journal, run_id: str, at: float) -> int:
    """Set the failed, unknown (the operator checked the host) and cancelled plan actions
    of ``run_id`` back to pending (``resume --retry-failed``); returns how many.
    Compensating actions keep their record. The failure budget counts afresh (the operator
    fixed the cause)."""
    count = 0
    with journal.transaction():
        journal.clear_budget(run_id)
        for aid, rec in journal.actions(run_id).items():
            if rec.state in ("failed", "unknown", "cancelled") and not aid.startswith(PREFIX):
                journal.finish_action(run_id, aid, "pending", at, "re-queued by --retry-failed")
                count += 1
    return count


def reopen_compensated(
    graph: RunGraph,
    journal: Journal,
    run_id: str,
    records: Mapping[str, ActionRecord],
    state: MutableMapping[str, str],
    *,
    now: float,
) -> None:
    """A span that compensation put back in service (its restoring action was done by a
    ``compensate/`` action, not by the plan) is not finished: on resume every action inside
    it runs again. Probes skip what still holds (the install done before) and redo what
    compensation undid (e.g. stopping the cluster service again). Updates ``state``."""
    with journal.transaction():
        for rid, rec in records.items():
            closer = rid.removeprefix(PREFIX)
            if rid == closer or rec.state != "done" or closer not in graph.actions:
                continue
            if state[closer] in FINAL_OK:
                continue
            keys = set(span_keys(graph.actions[closer]))
            for span in graph.spans_of.get(closer, ()):
                if span.key not in keys:
                    continue
                for aid in graph.inside(span):
                    if state[aid] in FINAL_OK:
                        state[aid] = "pending"
                        message = f"re-queued: {rid} put its span back in service"
                        journal.finish_action(run_id, aid, "pending", now, message)
