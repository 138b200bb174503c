"""The ``orchestrator`` command line: ``plan``, ``validate``, ``schema``, and the run
commands ``apply``, ``resume``, ``status``, ``runs``, ``report`` (:mod:`.cli_run`).

Every error the user can cause ends as one message on stderr with a non-zero exit status
(2 for bad input, 3 for a plan that breaks a safety rule, 4 for a stale plan, 5 when another
controller holds the lease, 6 for a journal that cannot be used), never as a Python
traceback, and with nothing written. A run exits 0 when done, 1 when an action failed and
75 when it stopped at a safe point and can be resumed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .errors import OrchestratorError
from .plan import Plan, load_plan

FORMATS = ("text", "json", "dot", "mermaid")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="orchestrator",
        description="Cluster-aware rolling upgrades: plan, review, apply.",
    )
    p.add_argument("--version", action="version", version=f"orchestrator {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    plan = sub.add_parser("plan", help="build, validate and show the plan for a playbook")
    plan.add_argument("playbook", type=Path, help="the playbook (YAML)")
    plan.add_argument(
        "-i", "--inventory", type=Path, required=True, help="Ansible inventory file or directory"
    )
    plan.add_argument("--format", choices=FORMATS, default="text", help="output format (text)")
    plan.add_argument("--out", type=Path, help="write to FILE instead of standard output")
    plan.add_argument(
        "--forks", type=int, default=10, help="estimate the run on N forks, as apply --forks (10)"
    )

    val = sub.add_parser("validate", help="check inputs and prove a plan's safety rules")
    val.add_argument("playbook", type=Path, nargs="?", help="the playbook (YAML)")
    val.add_argument("-i", "--inventory", type=Path, help="Ansible inventory file or directory")
    val.add_argument("--plan", type=Path, dest="plan_file", help="a saved plan file (JSON)")

    sub.add_parser("schema", help="print the playbook JSON Schema")
    from .cli_run import add_parsers

    add_parsers(sub)
    from .patchlevel import cli as patch_cli

    patch_cli.add_parsers(sub)
    return p


def _render(plan: Plan, fmt: str) -> str:
    from .render import render_dot, render_mermaid, render_text

    if fmt == "json":
        return plan.to_json()
    if fmt == "dot":
        return render_dot(plan)
    if fmt == "mermaid":
        return render_mermaid(plan)
    return render_text(plan)


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and rename: all or nothing."""
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _cmd_plan(args: argparse.Namespace) -> int:
    from .errors import InputError
    from .workflow import no_gc_pauses, plan_from_files

    if args.forks < 1:
        raise InputError("--forks must be at least 1")
    plan = plan_from_files(args.playbook, args.inventory, args.forks)
    with no_gc_pauses():
        text = _render(plan, args.format)
    if args.out:
        try:
            write_atomically(args.out, text)
        except OSError as exc:
            print(f"error: cannot write {args.out}: {exc.strerror}", file=sys.stderr)
            return 2
        print(f"plan written to {args.out} ({len(plan.actions)} actions)", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from .validator import validate
    from .workflow import plan_from_files

    if args.plan_file:
        if args.playbook or args.inventory:
            print("error: give either --plan FILE or PLAYBOOK -i INVENTORY", file=sys.stderr)
            return 2
        plan = load_plan(args.plan_file)
        validate(plan)
        print(f"{args.plan_file}: valid plan, {len(plan.actions)} actions, every rule holds")
        return 0
    if not args.playbook or not args.inventory:
        print("error: validate needs PLAYBOOK -i INVENTORY, or --plan FILE", file=sys.stderr)
        return 2
    plan = plan_from_files(args.playbook, args.inventory)
    print(f"{args.playbook}: valid, {len(plan.actions)} actions, every rule holds")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "plan":
            return _cmd_plan(args)
        if args.command == "validate":
            return _cmd_validate(args)
        if args.command == "patch":
            from .patchlevel import cli as patch_cli

            return patch_cli.COMMANDS[args.command](args)
        if args.command != "schema":
            from .cli_run import COMMANDS

            return COMMANDS[args.command](args)
        from .playbook_spec import playbook_json_schema

        sys.stdout.write(json.dumps(playbook_json_schema(), indent=2) + "\n")
        return 0
    except OrchestratorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        # Every step is journaled as it happens: like a kill, `resume` carries on. Steps still
        # running in worker threads are not waited for (os._exit does not join them).
        print("interrupted: resume the run to carry on (orchestrator resume last)",
              file=sys.stderr)  # fmt: skip
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)
    except BrokenPipeError:
        return 0
