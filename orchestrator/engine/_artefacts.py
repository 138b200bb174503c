"""Run artefacts on disk (the report): written atomically, read back safely, rebuilt from
the journal when missing or damaged.

A report is written to a temporary file in the same directory, fsynced, renamed over the
old one and the directory fsynced, so a reader sees the old report or the new one, never a
part. The engine writes it *before* it journals the run's final status: a controller killed
in between leaves the run ``running`` (``resume`` concludes it again and writes the report).
A report that is missing or unreadable anyway (deleted, disk trouble, an older version) is
rebuilt from the journal, which holds everything it says except the simulated lab's
availability timeline: a rebuilt report says so (``rebuilt``) and has no availability.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..fsutil import write_atomic
from ..plan import plan_from_document
from ._journal import Journal
from ._records import RunRecord
from ._report import FORMAT, build_report


def report_path(journal: Journal, run_id: str) -> Path:
    """Where the report of ``run_id`` lives (``runs/<run>.report.json`` by the journal)."""
    return journal.path.parent / "runs" / f"{run_id}.report.json"


def write_report(path: Path, report: Mapping[str, Any]) -> None:
    """Write ``report`` as indented JSON, atomically."""
    write_atomic(path, json.dumps(report, indent=2, ensure_ascii=False) + "\n")


def read_report(path: Path) -> dict[str, Any] | None:
    """The report at ``path``, or None if it is missing or not a whole report."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        return None
    return doc


def rebuild_report(journal: Journal, run_id: str) -> dict[str, Any]:
    """The report of ``run_id`` made again from the journal (without the lab's timeline)."""
    plan = plan_from_document(json.loads(journal.plan_text(run_id)), f"run {run_id}")
    run = journal.run(run_id)
    doc = build_report(plan, run, journal.actions(run_id), journal.attempts(run_id), None)
    doc["rebuilt"] = True
    return doc


def final_run(run: RunRecord, status: str, summary: Mapping[str, Any], at: float) -> RunRecord:
    """``run`` as it will be once its final ``status`` and ``summary`` are journaled."""
    return replace(run, status=status, summary=dict(summary), updated_at=max(run.updated_at, at))
