"""``orchestrator status`` and ``orchestrator runs``: what the journal says, for people."""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from ._journal import Journal
from ._lease import default_lease_path, leases, pid_alive
from ._records import ACTION_STATES, RunRecord


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _controller(journal: Journal, run_id: str) -> str | None:
    """``host:pid`` of the controller running ``run_id`` now, if one holds a live lease."""
    here = socket.gethostname()
    for lease in leases(default_lease_path()):
        if lease.run_id != run_id or lease.expires_at < time.time():
            continue
        if lease.holder.hostname == here and not pid_alive(lease.holder.pid):
            continue
        return str(lease.holder)
    return None


def status_document(journal: Journal, run_id: str) -> dict[str, Any]:
    """A run's state as JSON: status, the controller running it (if any), counts, running,
    failed, unknown-outcome and compensating actions."""
    run = journal.run(run_id)
    controller = _controller(journal, run_id) if run.status == "running" else None
    actions = journal.actions(run_id)
    counts = dict.fromkeys(ACTION_STATES, 0)
    for rec in actions.values():
        if not rec.action_id.startswith("compensate/"):
            counts[rec.state] += 1
    running = [a for a, r in actions.items() if r.state == "running"]
    failed = [
        {"id": a, "message": r.message, "attempts": r.attempts}
        for a, r in actions.items()
        if r.state == "failed"
    ]
    unknown = [
        {"id": a, "message": r.message, "attempts": r.attempts}
        for a, r in actions.items()
        if r.state == "unknown"
    ]
    compensations = [
        {"id": a, "state": r.state, "message": r.message}
        for a, r in actions.items()
        if a.startswith("compensate/")
    ]
    return {
        "run": run.run_id,
        "status": run.status,
        "controller": controller,
        "interrupted": run.status == "running" and controller is None,
        "playbook": run.playbook,
        "plan": run.plan_fingerprint,
        "created": _when(run.created_at),
        "updated": _when(run.updated_at),
        "counts": counts,
        "running": running,
        "failed": failed,
        "unknown": unknown,
        "compensations": compensations,
        "summary": dict(run.summary),
    }


def render_status(doc: dict[str, Any]) -> str:
    """The status document as text."""
    lines = [
        f"run {doc['run']}  {doc['status']}  ({doc['playbook']})",
        f"  plan {doc['plan']}",
        f"  created {doc['created']}, last change {doc['updated']} (plan time)",
        "  " + ", ".join(f"{k} {v}" for k, v in doc["counts"].items() if v),
    ]
    if doc["summary"].get("reason"):
        lines.append(f"  {doc['summary']['reason']}")
    if doc["controller"]:
        lines.append(f"  in progress: controller {doc['controller']} holds the lease")
    elif doc["interrupted"]:
        lines.append("  interrupted: no controller holds the lease (it was killed or crashed)")
    if doc["running"]:
        head = "were running when the controller stopped" if doc["interrupted"] else ""
        lines.append(f"  running{' (' + head + ')' if head else ''}:")
        lines.extend(f"    {a}" for a in doc["running"])
    if doc["failed"]:
        lines.append("  failed:")
        lines.extend(f"    {f['id']}: {f['message']}" for f in doc["failed"])
    if doc.get("unknown"):
        lines.append(
            "  outcome unknown (not repeated; check the host, then resume --retry-failed):"
        )
        lines.extend(f"    {f['id']}: {f['message']}" for f in doc["unknown"])
    if doc["compensations"]:
        lines.append("  put back in service:")
        lines.extend(
            f"    {c['id']}: {c['state']}{' - ' + c['message'] if c['message'] else ''}"
            for c in doc["compensations"]
        )
    if doc["interrupted"] or doc["status"] == "paused":
        lines.append(f"  continue with: orchestrator resume {doc['run']}")
    return "\n".join(lines) + "\n"


def render_runs(runs: Sequence[RunRecord]) -> str:
    """One line per run, newest first by the wall clock (CREATED is wall-clock time)."""
    if not runs:
        return "no runs yet\n"
    rows = [("RUN", "STATUS", "CREATED", "PLAYBOOK")]
    rows += [(r.run_id, r.status, _when(r.created_wall or r.created_at), r.playbook) for r in runs]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "".join(
        f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:<{widths[2]}}  {row[3]}\n"
        for row in rows
    )
