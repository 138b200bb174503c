"""``orchestrator patch ...``: build, build-custom, inspect, check, compat, upgrade.
Parsing and printing only; the work is in the package's modules.

Exit status: 0 done; 2 bad input (a package name that does not parse, a bad manifest, a
level out of range; nothing is written); 7 an upgrade refused (services running, or
customizations would break without ``--force``; nothing changed); 1 an upgrade that failed
and was rolled back."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import InputError
from . import _render as render
from ._archive import CustomPackage, PatchPackage, open_custom, open_package
from ._build import build_custom_package, build_package
from ._check import check_consistency
from ._compat import check_compatibility
from ._manifest import Manifest
from ._names import parse_package_name
from ._remote import check_service_names, connect_host, open_source, services_check
from ._remote_upgrade import remote_upgrade
from ._source import FactsSource, LocalSource, RemoteSource
from ._state import STATE_DIR, CommandCheck, ServicesCheck, check_state
from ._txn import pending
from ._upgrade import upgrade
from ._windows import WindowsSource


def _level_arg(text: str) -> tuple[int, str]:
    number, sep, value = text.partition("=")
    if not sep or not number.strip().isdigit() or not value:
        raise argparse.ArgumentTypeError(f"{text!r}: expected N=VALUE, e.g. 3=patches/level3")
    return int(number), value


def add_parsers(sub: Any) -> None:
    """Register ``patch`` and its sub-commands on the ``orchestrator`` sub-parsers."""
    patch = sub.add_parser("patch", help="cumulative patch-level packages (build, check, upgrade)")
    psub = patch.add_subparsers(dest="patch_command", required=True, metavar="SUBCOMMAND")

    b = psub.add_parser("build", help="make a package from a base tree and per-level trees")
    _identity(b)
    b.add_argument("--base", type=Path, required=True, help="the full build (level 0) tree")
    b.add_argument(
        "--level", type=_level_arg, action="append", default=[], metavar="N=DIR",
        help="the files level N adds or changes (repeat for 1..N)",
    )  # fmt: skip
    b.add_argument(
        "--remove", type=_level_arg, action="append", default=[], metavar="N=PATH",
        help="a file level N deletes (repeatable)",
    )  # fmt: skip
    b.add_argument("--out", type=Path, default=Path("."), help="output directory (.)")

    c = psub.add_parser("build-custom", help="make a customization package")
    _identity(c)
    c.add_argument(
        "--level", type=_level_arg, action="append", default=[], metavar="N=DIR",
        help="customized files made for level N (repeatable)",
    )  # fmt: skip
    c.add_argument("--out", type=Path, default=Path("."), help="output directory (.)")

    i = psub.add_parser("inspect", help="show a package: levels, files, sizes")
    i.add_argument("package", type=Path, help="PKG.zip or PKG_custom.zip")
    i.add_argument("--format", choices=("text", "json"), default="text")
    i.add_argument("--summary", action="store_true", help="only the per-level table")

    for name, text in (
        ("check", "file consistency check (read-only, safe while the services run)"),
        ("compat", "patch level compatibility check (read-only)"),
        ("upgrade", "upgrade to a patch level (services must be stopped)"),
    ):
        p = psub.add_parser(name, help=text)
        p.add_argument("package", type=Path, help="the standard package, PKG.zip")
        p.add_argument("--install", type=Path, required=True, help="installation directory")
        p.add_argument("--custom", type=Path, help="customization package, PKG_custom.zip")
        p.add_argument("--format", choices=("text", "json"), default="text")
        p.add_argument(
            "--host",
            help="the installation is on this inventory host (Linux over SSH; Windows over "
            "WinRM or OpenSSH)",
        )
        p.add_argument(
            "-i", "--inventory", type=Path, help="the inventory file or directory (with --host)"
        )
        p.add_argument(
            "--registry-key", metavar="KEY",
            help="Windows hosts: the key holding PatchLevel (default HKLM:\\SOFTWARE\\<Product>)",
        )  # fmt: skip
        if name == "upgrade":
            p.add_argument("--to", type=int, required=True, help="the patch level to reach")
            p.add_argument(
                "--force", action="store_true", help="upgrade even if customizations break"
            )
            p.add_argument(
                "--services-running-check", metavar="CMD",
                help="command (sh; PowerShell on Windows hosts): exit 0 = services running, "
                "1 = stopped (default: live pids in <install>/.orchestrator/services.pid; on "
                "Windows hosts the --service names)",
            )  # fmt: skip
            p.add_argument(
                "--service", action="append", default=[], metavar="NAME",
                help="Windows hosts: a service (name or display name) that must be stopped "
                "(repeatable)",
            )  # fmt: skip


def _identity(p: argparse.ArgumentParser) -> None:
    p.add_argument("--product", required=True, help="product name, letters only (MPWEB)")
    p.add_argument("--release", required=True, help="release, e.g. 4.2.7")
    p.add_argument("--build", type=int, required=True, help="build number, e.g. 106")


def _levels(pairs: list[tuple[int, str]], what: str) -> dict[int, Path]:
    out: dict[int, Path] = {}
    for number, value in pairs:
        if number in out:
            raise InputError(f"--{what} {number} given twice")
        out[number] = Path(value)
    return out


def _emit(args: argparse.Namespace, text: str, doc: dict[str, Any]) -> None:
    if args.format == "json":
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        sys.stdout.write(text)


def cmd_build(args: argparse.Namespace) -> int:
    """``patch build``."""
    removed: dict[int, list[str]] = {}
    for number, path in args.remove:
        removed.setdefault(number, []).append(path)
    target, m = build_package(
        args.product, args.release, args.build, args.base, _levels(args.level, "level"),
        args.out, removed,
    )  # fmt: skip
    files = len(m.state(m.level))
    print(f"{target}: levels 0..{m.level}, {files} file(s) at level {m.level}")
    return 0


def cmd_build_custom(args: argparse.Namespace) -> int:
    """``patch build-custom``."""
    target, c = build_custom_package(
        args.product, args.release, args.build, _levels(args.level, "level"), args.out
    )
    print(f"{target}: customizations of {len(c.files)} file(s), levels up to {c.level}")
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    """``patch inspect``."""
    name = args.package.name
    if parse_package_name(args.package).custom:
        with open_custom(args.package) as cpkg:
            c = cpkg.manifest
            _emit(args, render.inspect_custom_text(name, c), render.inspect_custom_json(name, c))
        return 0
    with open_package(args.package) as pkg:
        m = pkg.manifest
        _emit(args, render.inspect_text(name, m, args.summary), render.inspect_json(name, m))
    return 0


def _source(
    args: argparse.Namespace, stack: contextlib.ExitStack, manifest: Manifest
) -> FactsSource | RemoteSource | WindowsSource:
    """The local directory, or with ``--host`` the installation on that inventory host."""
    if args.host is None:
        if args.inventory is not None:
            raise InputError("-i/--inventory needs --host HOST")
        if args.registry_key or getattr(args, "service", None):
            raise InputError("--registry-key and --service are for Windows hosts (--host)")
        return LocalSource(args.install)
    if args.inventory is None:
        raise InputError("--host needs -i/--inventory INVENTORY")
    link = connect_host(args.inventory, args.host)
    stack.callback(link.transport.close)
    check_service_names(getattr(args, "service", None) or [], link.host, link.platform)
    install = str(args.install) if link.platform == "windows" else args.install.as_posix()
    identity = (manifest.product, manifest.release, manifest.build)
    return open_source(link, install, identity, args.registry_key)


def _interrupted(src: RemoteSource | WindowsSource) -> list[Path]:
    """The backup folder of an upgrade that died on the host holding its lock (not one that
    still runs)."""
    held = src.lock()
    if held is None or held.alive:
        return []
    return [Path(src.join(STATE_DIR, "backups", held.ident))]


def _context(
    args: argparse.Namespace, pkg: PatchPackage, custom: CustomPackage | None, src: FactsSource
) -> tuple[render.Context, int | None]:
    interrupted = _interrupted(src) if isinstance(src, RemoteSource | WindowsSource) else None
    where = src.state_where
    recorded, _ = check_state(src.state(), pkg.manifest, where)
    ctx = render.Context(
        package=pkg.path.name,
        manifest=pkg.manifest,
        install=Path(src.where),
        level=recorded or 0,
        level_assumed=recorded is None,
        state_file=Path(where),
        custom=custom.path.name if custom else None,
        custom_manifest=custom.manifest if custom else None,
        interrupted=pending(args.install) if interrupted is None else interrupted,
    )
    return ctx, recorded


def _with_packages(
    args: argparse.Namespace, body: Callable[[PatchPackage, CustomPackage | None], int]
) -> int:
    with open_package(args.package) as pkg:
        custom = open_custom(args.custom, pkg.manifest) if args.custom else None
        try:
            return body(pkg, custom)
        finally:
            if custom is not None:
                custom.close()


def _checked(args: argparse.Namespace, compat: bool) -> int:
    """Gather the facts once (locally or in one round trip), run the consistency check and,
    for ``compat``, the compatibility check on it; print the report."""

    def body(pkg: PatchPackage, custom: CustomPackage | None) -> int:
        with contextlib.ExitStack() as stack:
            src = _source(args, stack, pkg.manifest)
            ctx, recorded = _context(args, pkg, custom, src)
            facts = src.facts(pkg.manifest.paths)
        cm = custom.manifest if custom else None
        check = check_consistency(pkg.manifest, facts, recorded, cm)
        if not compat:
            _emit(args, render.check_text(ctx, check), render.check_json(ctx, check))
            return 0
        report = check_compatibility(pkg.manifest, check, cm)
        _emit(args, render.compat_text(ctx, report), render.compat_json(ctx, report))
        return 0

    return _with_packages(args, body)


def cmd_check(args: argparse.Namespace) -> int:
    """``patch check``: read-only."""
    return _checked(args, compat=False)


def cmd_compat(args: argparse.Namespace) -> int:
    """``patch compat``: read-only."""
    return _checked(args, compat=True)


def cmd_upgrade(args: argparse.Namespace) -> int:
    """``patch upgrade``."""

    def body(pkg: PatchPackage, custom: CustomPackage | None) -> int:
        services: ServicesCheck | None = None
        with contextlib.ExitStack() as stack:
            src = _source(args, stack, pkg.manifest)
            if isinstance(src, RemoteSource | WindowsSource):
                remote = services_check(src, args.service, args.services_running_check)
                result = remote_upgrade(
                    pkg, src, args.to, custom=custom, force=args.force, services=remote
                )
            else:
                if args.services_running_check:
                    services = CommandCheck(args.services_running_check)
                result = upgrade(
                    pkg, args.install, args.to, custom=custom, force=args.force, services=services
                )
        m = pkg.manifest
        _emit(
            args,
            render.upgrade_text(Path(src.where), m, result),
            render.upgrade_json(Path(src.where), m, result),
        )
        return 0

    return _with_packages(args, body)


_SUB: dict[str, Callable[[argparse.Namespace], int]] = {
    "build": cmd_build,
    "build-custom": cmd_build_custom,
    "inspect": cmd_inspect,
    "check": cmd_check,
    "compat": cmd_compat,
    "upgrade": cmd_upgrade,
}


def cmd_patch(args: argparse.Namespace) -> int:
    """``orchestrator patch SUBCOMMAND``; a file that cannot be read or written is bad input
    (exit 2), never a traceback."""
    try:
        return _SUB[args.patch_command](args)
    except OSError as exc:
        what = exc.filename or "a file"
        raise InputError(f"cannot use {what}: {exc.strerror or exc}") from None


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {"patch": cmd_patch}
