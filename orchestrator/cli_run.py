"""The run commands of the command line: ``apply``, ``resume``, ``status``, ``runs``,
``report``. Parsing and printing only; the work is in :mod:`orchestrator.engine`."""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from . import timespec
from .engine import _session as session
from .engine._engine import RunResult
from .engine._journal import Journal, default_journal_path
from .engine._lease import STARTING
from .engine._observers import PlainProgress
from .engine._protocols import Observer
from .engine._resume import requeue_failed
from .errors import InputError, StalePlanError, UnknownRunError, WindowError
from .plan import Plan, load_plan, plan_from_document

#: Wall seconds per plan second of a rehearsal, unless ``--time-scale`` says otherwise.
SIM_SCALE = 0.0005


def add_parsers(sub: Any) -> None:
    """Register the run commands on the ``orchestrator`` sub-parser collection."""
    ap = sub.add_parser("apply", help="run a reviewed plan (or plan, confirm and run)")
    ap.add_argument("playbook", type=Path, help="the playbook (YAML)")
    ap.add_argument("-i", "--inventory", type=Path, required=True, help="Ansible inventory")
    ap.add_argument("--plan", type=Path, dest="plan_file", help="the reviewed plan (JSON)")
    ap.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    ap.add_argument("--sim", action="store_true", help="rehearse on the simulated lab")
    ap.add_argument("--lab", type=Path, help="simulated lab file (--sim; default: one per run)")
    ap.add_argument("--faults", type=Path, help="fault injection file (--sim)")
    ap.add_argument(
        "--time-scale", type=float, help=f"wall seconds per plan second (--sim; {SIM_SCALE})"
    )
    ap.add_argument("--forks", type=int, default=10, help="actions run at once (10)")
    ap.add_argument(
        "--max-failures", type=int, help="failure budget in failed actions (default: the plan's)"
    )
    ap.add_argument("--max-failed-hosts", type=int, help="failure budget in failed hosts")
    ap.add_argument(
        "--max-percent", type=float, help="failure budget in percent of the run's hosts failed"
    )
    _common(ap)

    rp = sub.add_parser("resume", help="continue an interrupted or paused run")
    rp.add_argument("run", help="run id, a unique prefix of one, or 'last'")
    rp.add_argument(
        "--retry-failed", action="store_true", help="try failed and cancelled actions again"
    )
    rp.add_argument("--time-scale", type=float, help="wall seconds per plan second (sim)")
    _common(rp)

    st = sub.add_parser("status", help="show a run's state")
    st.add_argument("run", nargs="?", default="last", help="run id or 'last' (default)")
    st.add_argument("--json", action="store_true", help="JSON output")
    st.add_argument("--journal", type=Path, help="journal database")

    rs = sub.add_parser("runs", help="list runs")
    rs.add_argument("--journal", type=Path, help="journal database")

    rep = sub.add_parser("report", help="show a run's final report")
    rep.add_argument("run", nargs="?", default="last", help="run id or 'last' (default)")
    rep.add_argument("--format", choices=("text", "json"), default="text")
    rep.add_argument("--journal", type=Path, help="journal database")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--journal", type=Path, help="journal database (default: per-user state)")
    p.add_argument(
        "--window",
        help="maintenance window START/END or START/DURATION (ISO 8601, 3h, PT3H), "
        "overrides the plan",
    )
    p.add_argument("--progress", choices=("auto", "rich", "plain", "none"), default="auto")


def parse_window(text: str | None) -> tuple[float, float] | None:
    """``--window``: ``START/END`` or ``START/DURATION`` → epoch seconds, or None."""
    return timespec.parse_window(text) if text else None


def _observers(args: argparse.Namespace, plan: Plan, window: Any) -> list[Observer]:
    mode = args.progress
    if mode == "auto":
        mode = "rich" if sys.stderr.isatty() else "plain"
    if mode == "none":
        return []
    if mode == "plain":
        return [PlainProgress(sys.stderr)]
    from rich.console import Console

    from .engine._progress import RichProgress

    return [RichProgress(plan, Console(stderr=True), window[1] if window else None)]


def _journal(args: argparse.Namespace) -> Journal:
    return Journal(args.journal or default_journal_path())


def cmd_apply(args: argparse.Namespace) -> int:
    """``orchestrator apply``."""
    from .engine._staleness import input_changes
    from .render import render_text
    from .validator import validate
    from .workflow import plan_from_files

    _check_numbers(args)
    reviewed = load_plan(args.plan_file) if args.plan_file else None
    forks = reviewed_forks(reviewed, args.forks)
    fresh = plan_from_files(args.playbook, args.inventory, forks)
    if reviewed is not None:
        plan = reviewed
        validate(plan)
        changes = input_changes(plan, fresh)
        if changes:
            raise StalePlanError(changes)
        plan_text = args.plan_file.read_text(encoding="utf-8")
    else:
        plan, plan_text = fresh, fresh.to_json()
        if not args.yes:
            sys.stdout.write(render_text(plan))
            if not sys.stdin.isatty():
                raise InputError("apply needs confirmation: review the plan and pass --yes")
            answer = input(f"Apply {len(plan.actions)} actions? [y/N] ").strip().lower()
            if answer not in ("y", "yes"):
                print("nothing done", file=sys.stderr)
                return 1
    opts = session.SessionOptions(
        inventory=str(args.inventory),
        sim=args.sim,
        faults=str(args.faults) if args.faults else None,
        time_scale=SIM_SCALE if args.time_scale is None else args.time_scale,
        forks=args.forks,
        window=parse_window(args.window),
        max_failures=args.max_failures,
        max_failed_hosts=args.max_failed_hosts,
        max_percent=args.max_percent,
    )
    session.check_connections(plan, opts)
    faults = session.load_fault_file(plan, opts)
    journal = _journal(args)  # the first thing written: every input check is done
    if args.sim:
        lab = args.lab or session.run_dir(journal) / f"lab-{secrets.token_hex(4)}.sqlite"
        opts = replace(opts, lab=str(lab))
    window = opts.window or session.plan_window(plan)
    clock = session.make_clock(opts, window[0] if window else None)
    lease = session.new_lease(plan, opts)
    lease.acquire(STARTING)
    try:
        resources = session.open_driver(plan, opts, clock, faults)
        try:
            session.check_live_facts(plan, resources.driver)
            run_id = journal.create_run(plan_text, plan, opts.to_json(), clock.now())
            lease.acquire(run_id)  # ours already: records the run id with the lease
            print(f"run {run_id}: {len(plan.actions)} actions", file=sys.stderr)
            result, _, text = session.execute(
                plan, run_id, journal, resources, clock, opts, lease,
                _observers(args, plan, window), resumed=False,
            )  # fmt: skip
        finally:
            resources.close()
    finally:
        lease.release()
        journal.close()
    sys.stdout.write(text)
    _next_step(result, run_id)
    return session.exit_status(result)


def reviewed_forks(reviewed: Plan | None, forks: int) -> int:
    """The forks the reviewed plan's estimate assumed (``forks`` for a fresh plan or one
    that does not say); warns on stderr when ``apply --forks`` differs from them."""
    assumed = reviewed.estimate.get("forks") if reviewed is not None else None
    if not isinstance(assumed, int) or isinstance(assumed, bool) or assumed < 1:
        return forks
    if assumed != forks:
        print(
            f"warning: --forks {forks} differs from the {assumed} forks the reviewed plan's "
            "estimate and window fit assume; its timing will not hold",
            file=sys.stderr,
        )
    return assumed


def _check_numbers(args: argparse.Namespace) -> None:
    if args.forks < 1:
        raise InputError("--forks must be at least 1")
    if not args.sim:
        given = [f for f, v in (("--faults", args.faults), ("--lab", args.lab),
                                ("--time-scale", args.time_scale)) if v is not None]  # fmt: skip
        if given:
            raise InputError(
                f"{', '.join(given)} only apply to a rehearsal on the simulated lab: add --sim, "
                "or leave them out to run on the real hosts"
            )
    if args.time_scale is not None:
        _scale(args.time_scale)
    for flag, value in (("--max-failures", args.max_failures),
                        ("--max-failed-hosts", args.max_failed_hosts),
                        ("--max-percent", args.max_percent)):  # fmt: skip
        if value is not None and not 0 <= value < float("inf"):
            raise InputError(f"{flag} must be 0 or more, not {value}")


def _scale(value: float) -> float:
    if not 0 <= value < float("inf"):  # also refuses nan
        raise InputError(f"--time-scale must be a finite number >= 0, not {value}")
    return value


def _next_step(result: RunResult, run_id: str) -> None:
    if result.status == "paused":
        again = f"orchestrator resume {run_id}"
        if result.stop == "window":
            again += " --window START/END (the next window)"
        print(f"paused at a safe point: {result.reason}; continue with: {again}",
              file=sys.stderr)  # fmt: skip
    elif result.status == "failed":
        print(f"{result.reason}; fix the cause, then: orchestrator resume {run_id} --retry-failed",
              file=sys.stderr)  # fmt: skip


def cmd_resume(args: argparse.Namespace) -> int:
    """``orchestrator resume RUN``."""
    window_override = parse_window(args.window)
    journal = _existing_journal(args)
    try:
        run_id = journal.resolve(args.run)
        record = journal.run(run_id)
        if record.status == "done":
            print(f"run {run_id} is already done; nothing to do", file=sys.stderr)
            _ensure_report(journal, run_id)
            return 0
        if record.status == "failed" and not args.retry_failed:
            raise InputError(f"run {run_id} failed; fix the cause and resume with --retry-failed")
        plan = plan_from_document(json.loads(journal.plan_text(run_id)), f"run {run_id}")
        opts = session.SessionOptions.from_json(record.options)
        if window_override:
            opts = replace(opts, window=window_override)
        if args.time_scale is not None:
            if not opts.sim:
                raise InputError(
                    f"run {run_id} runs on the real hosts: --time-scale only applies to a "
                    "rehearsal on the simulated lab"
                )
            opts = replace(opts, time_scale=_scale(args.time_scale))
        faults = session.load_fault_file(plan, opts)
        window = opts.window or session.plan_window(plan)
        start = max(record.updated_at, window[0] if window else record.updated_at)
        clock = session.make_clock(opts, start)
        if window and not window_override:
            _window_left(run_id, record.summary, window, clock.now())
        lease = session.new_lease(plan, opts)
        note = lease.acquire(run_id)
        if note:
            print(note, file=sys.stderr)
        try:
            resources = session.open_driver(plan, opts, clock, faults)
            try:
                journal.update_options(run_id, opts.to_json())
                if args.retry_failed:
                    n = requeue_failed(journal, run_id, clock.now())
                    print(f"re-queued {n} failed or cancelled action(s)", file=sys.stderr)
                result, _, text = session.execute(
                    plan, run_id, journal, resources, clock, opts, lease,
                    _observers(args, plan, window), resumed=True,
                )  # fmt: skip
            finally:
                resources.close()
        finally:
            lease.release()
    finally:
        journal.close()
    sys.stdout.write(text)
    _next_step(result, run_id)
    return session.exit_status(result)


def _window_left(run_id: str, summary: Any, window: tuple[float, float], now: float) -> None:
    """Refuse to resume into a window that has ended, or that paused the run for want of
    room (it would pause again at once)."""
    end = timespec.utc_text(window[1])
    if now >= window[1]:
        why = f"its maintenance window ended at {end}"
    elif summary.get("stop") == "window":
        why = f"it paused because its maintenance window (ending {end}) had no room left"
    else:
        return
    raise WindowError(
        f"run {run_id}: {why}; give the next window: orchestrator resume {run_id} "
        "--window START/END (or START/DURATION, e.g. 2026-11-29T22:00/8h)"
    )


def _existing_journal(args: argparse.Namespace) -> Journal:
    """The journal, which must exist already (status, runs, report, resume never create one)."""
    path = args.journal or default_journal_path()
    if not path.exists():
        raise UnknownRunError(f"no journal at {path}: no run was ever applied with it")
    return Journal(path)


def cmd_status(args: argparse.Namespace) -> int:
    """``orchestrator status [RUN]``."""
    from .engine._status import render_status, status_document

    journal = _existing_journal(args)
    try:
        doc = status_document(journal, journal.resolve(args.run))
    finally:
        journal.close()
    sys.stdout.write(json.dumps(doc, indent=2) + "\n" if args.json else render_status(doc))
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    """``orchestrator runs``."""
    from .engine._status import render_runs

    path = args.journal or default_journal_path()
    if not path.exists():
        sys.stdout.write(f"no runs yet (no journal at {path})\n")
        return 0
    journal = Journal(path)
    try:
        sys.stdout.write(render_runs(journal.runs()))
    finally:
        journal.close()
    return 0


def _ensure_report(journal: Journal, run_id: str) -> dict[str, Any]:
    """The run's report; rebuilt from the journal (and written) if missing or damaged."""
    from .engine import _artefacts as artefacts

    path = artefacts.report_path(journal, run_id)
    report = artefacts.read_report(path)
    if report is None:
        report = artefacts.rebuild_report(journal, run_id)
        if journal.run(run_id).status != "running":  # a live run writes its own
            try:
                artefacts.write_report(path, report)
            except OSError as exc:
                print(f"could not save the rebuilt report {path}: {exc}", file=sys.stderr)
        print(f"report of run {run_id} rebuilt from the journal (no simulated-lab downtime)",
              file=sys.stderr)  # fmt: skip
    return report


def cmd_report(args: argparse.Namespace) -> int:
    """``orchestrator report [RUN]``: the report of the run's last session, rebuilt from the
    journal when it is missing or damaged."""
    from .engine._report import render_report

    journal = _existing_journal(args)
    try:
        run_id = journal.resolve(args.run)
        report = _ensure_report(journal, run_id)
    finally:
        journal.close()
    sys.stdout.write(json.dumps(report, indent=2) + "\n" if args.format == "json" else
                     render_report(report))  # fmt: skip
    return 0


COMMANDS = {
    "apply": cmd_apply,
    "resume": cmd_resume,
    "status": cmd_status,
    "runs": cmd_runs,
    "report": cmd_report,
}
