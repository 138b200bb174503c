"""The POSIX sh verb library for Linux hosts and the renderer of one call.

:data:`SH_LIBRARY` defines ``orch_verb`` and one function per supported kind and step
(``orch_<kind>_<step>``). Each request runs in a fresh ``sh`` (see
:mod:`orchestrator.transports._interp_sh`), so the script of a request is the library
followed by the call (:func:`sh_script`); dash parses the library in well under a
millisecond. :func:`render_sh` is the call alone: ``orch_verb KIND STEP @id=... @host=...
key=value ...``, one ``sh_quote``d word per argument (:mod:`orchestrator.transports._quote`);
lists become repeated ``key=item`` words, booleans ``true``/``false``, and ``None`` is left
out. Kinds and checks that exist only on Windows are refused here, at render time, with a
:class:`ValueError`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ...plan import Action
from ...transports._quote import sh_quote
from .._calls import check_call
from ._core import SH_CORE
from ._host import SH_HOST
from ._pkg import SH_PKG
from ._services import SH_SERVICES

#: The whole sh verb library (POSIX sh; dash-compatible).
SH_LIBRARY = "".join(
    ("# orchestrator sh verb library (see docs/verbs.md)\n", SH_CORE, SH_HOST, SH_SERVICES, SH_PKG)
)

#: The kinds a Linux host can run.
SH_KINDS = frozenset(
    {
        "preflight",
        "verify",
        "stop_services",
        "start_services",
        "lb_out",
        "lb_in",
        "install",
        "uninstall",
        "reboot",
        "preserve_files",
        "restore_files",
        "hook",
    }
)
#: The checks a Linux host can run (``preflight`` and ``verify``).
SH_CHECKS = frozenset(
    {"disk-space", "no-installer-running", "services-running", "version", "backup", "acknowledged"}
)
#: Package kinds that need an explicit ``command`` on Linux.
WINDOWS_PACKAGE_KINDS = frozenset({"msi", "msp", "exe", "service-pack", "hotfix", "patch-level"})

_KEY = re.compile(r"[a-z_][a-z0-9_]*\Z")


def _words(key: str, value: Any) -> list[str]:
    if not _KEY.match(key):
        raise ValueError(f"parameter name {key!r} cannot be passed to a sh verb")
    if value is None:
        return []
    if isinstance(value, bool):
        return [f"{key}={'true' if value else 'false'}"]
    if isinstance(value, int | float | str):
        return [f"{key}={value}"]
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        out: list[str] = []
        for item in value:
            nested = isinstance(item, Sequence) and not isinstance(item, str)
            if nested or isinstance(item, Mapping):
                raise ValueError(f"parameter {key!r}: nested values cannot be passed to a sh verb")
            out += _words(key, item)
        return out
    raise ValueError(f"parameter {key!r}: a {type(value).__name__} cannot be passed to a sh verb")


def _check_linux(action: Action, step: str) -> None:
    check_call(action, step)
    if action.kind not in SH_KINDS:
        raise ValueError(f"{action.id}: {action.kind} exists only on Windows hosts")
    p = action.params
    if action.kind in ("preflight", "verify") and p.get("check") not in SH_CHECKS:
        raise ValueError(f"{action.id}: the check {p.get('check')!r} exists only on Windows hosts")
    windows_package = p.get("package_kind") in WINDOWS_PACKAGE_KINDS | {None}
    if action.kind == "install" and not p.get("command") and windows_package:
        raise ValueError(
            f"{action.id}: package kind {p.get('package_kind')!r} is a Windows installer; "
            "on Linux give params.command or package_kind deb/rpm"
        )


def sh_args(action: Action, step: str, scope: str = "") -> list[str]:
    """The argument words of ``orch_verb`` for one step of ``action`` on a Linux host
    (``scope`` as for :func:`~orchestrator.verbs.powershell.render_ps`)."""
    _check_linux(action, step)
    words = [action.kind, step, f"@id={action.id}"]
    if scope:
        words.append(f"@scope={scope}")
    if action.host is not None:
        words.append(f"@host={action.host}")
    for key, value in action.params.items():
        words += _words(key, value)
    return words


def render_sh(action: Action, step: str, scope: str = "") -> str:
    """The call for one step of ``action`` on a Linux host (the library not included)."""
    return "orch_verb " + " ".join(sh_quote(w) for w in sh_args(action, step, scope)) + "\n"


def sh_script(action: Action, step: str, scope: str = "") -> str:
    """Library and call: the whole script of one request."""
    return SH_LIBRARY + "\n" + render_sh(action, step, scope)


def render_sh_file_facts(paths: Sequence[str]) -> str:
    """A call whose payload is ``{"files": [{path, exists, size, sha256, mtime}, ...]}``."""
    return "orch_file_facts_payload " + " ".join(sh_quote(p) for p in paths) + "\n"
