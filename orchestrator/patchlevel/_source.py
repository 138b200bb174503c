"""Where an installation's facts come from: a local directory or a host over a transport.

A :class:`FactsSource` answers the two questions the checks ask: the recorded state and the
file facts of many paths (in one call; over SSH in one round trip). The pure check and
compat logic (:mod:`._check`, :mod:`._compat`) is shared by both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import InputError, TransientError
from ..transports._protocol import Transport
from ..transports._quote import sh_quote
from ._facts import FileFact, gather_facts
from ._state import STATE_DIR, STATE_FILE, InstallState, parse_state, read_state, state_path

if TYPE_CHECKING:
    from ._remote_ops import HeldLock, Op, UndoPlan, UpgradeRun


class FactsSource(Protocol):
    """An installation, seen read-only."""

    @property
    def where(self) -> str:
        """How reports name the installation (``DIR`` or ``HOST:DIR``)."""
        ...

    @property
    def state_where(self) -> str:
        """Where the level is recorded, for messages (a file, or a registry key)."""
        ...

    def state(self) -> InstallState | None:
        """The recorded state (None: nothing recorded)."""
        ...

    def facts(self, paths: Iterable[str]) -> dict[str, FileFact | None]:
        """File facts of ``paths`` (relative POSIX paths), in one call."""
        ...


@dataclass(frozen=True)
class LocalSource:
    """An installation directory on this machine."""

    install: Path

    @property
    def where(self) -> str:
        """The directory."""
        return str(self.install)

    @property
    def state_where(self) -> str:
        """The state file."""
        return str(state_path(self.install))

    def state(self) -> InstallState | None:
        """The local state file."""
        if not self.install.is_dir():
            raise InputError(f"--install {self.install}: not a directory")
        return read_state(self.install)

    def facts(self, paths: Iterable[str]) -> dict[str, FileFact | None]:
        """:func:`gather_facts`."""
        return gather_facts(self.install, paths)


class FactsTransport(Transport, Protocol):
    """A transport that also gathers file facts in one round trip (:class:`SSHTransport`)."""

    def file_facts(
        self, paths: list[str], *, timeout: float = 60
    ) -> Mapping[str, Mapping[str, Any] | None]:
        """``{path: {sha256, size, mtime} | None}``."""
        ...


def remote_read(transport: Transport, path: str, *, must_exist_dir: str = "") -> str | None:
    """The text of a remote file (None if absent), one round trip; with ``must_exist_dir``,
    an :class:`InputError` unless that directory exists."""
    q = sh_quote(path)
    check = f"[ -d {sh_quote(must_exist_dir)} ] || exit 5\n" if must_exist_dir else ""
    script = f"{check}[ -e {q} ] || exit 3\ncat -- {q} || exit 4\n"
    result = transport.run(script, timeout=60)
    if result.exit_code == 3:
        return None
    if result.exit_code == 5:
        raise InputError(f"{must_exist_dir}: not a directory on the host")
    if result.exit_code != 0:
        why = result.stderr.strip().splitlines()[-1:] or [f"exit {result.exit_code}"]
        raise InputError(f"cannot read {path} on the host: {why[0]}")
    return result.stdout


@dataclass
class RemoteSource:
    """An installation directory on a host reached over SSH (Linux, POSIX sh); also the
    host side of the remote upgrade (:class:`._remote_ops.RemoteInstall`)."""

    host: str
    transport: FactsTransport
    install: str
    timeout: float = 300
    #: The state is a file the upgrade script writes as its last op.
    state_file = True

    @property
    def where(self) -> str:
        """``HOST:DIR``."""
        return f"{self.host}:{self.install}"

    def state(self) -> InstallState | None:
        """The remote state file (one round trip; also checks the directory exists)."""
        path = str(state_path(Path(self.install)))
        text = remote_read(self.transport, path, must_exist_dir=self.install)
        return None if text is None else parse_state(text, f"{self.host}:{path}")

    def facts(self, paths: Iterable[str]) -> dict[str, FileFact | None]:
        """One ``file_facts`` round trip for every path (a file that exists but cannot be read
        has ``error`` set)."""
        rels = list(paths)
        base = self.install.rstrip("/") or "/"
        full = [f"{base}/{rel}" for rel in rels]
        try:
            found = self.transport.file_facts(full, timeout=self.timeout)
        except (IndexError, ValueError) as exc:
            raise TransientError(f"{self.host}: malformed file facts ({exc})") from None
        out: dict[str, FileFact | None] = {}
        for rel, path in zip(rels, full, strict=True):
            item = found.get(path)
            if item is None:
                out[rel] = None
                continue
            if item.get("error"):
                out[rel] = FileFact("", 0, 0.0, str(item["error"]))
                continue
            out[rel] = FileFact(str(item["sha256"]), int(item["size"]), float(item["mtime"]))
        return out

    # -- the host side of the upgrade (see _remote_ops.RemoteInstall) -----------------------
    @property
    def state_where(self) -> str:
        """``HOST:DIR/.orchestrator/patchlevel.json``."""
        return f"{self.where.rstrip('/')}/{STATE_DIR}/{STATE_FILE}"

    @property
    def registry_before(self) -> Mapping[str, Any]:
        """Nothing: the state is a file, restored like the others."""
        return {}

    def join(self, *parts: str) -> str:
        """A path under the installation directory."""
        return "/".join([self.install.rstrip("/"), *parts])

    def append_log(self, lines: Sequence[str]) -> None:
        """Append ready-made lines to ``install.log`` (one round trip)."""
        from ._remote_script import log_lines

        if lines:
            self.transport.run(log_lines(self.install.rstrip("/") or "/", list(lines)), timeout=60)

    def make_dir(self, path: str) -> None:
        """``mkdir -p``."""
        made = self.transport.run(f"mkdir -p -- {sh_quote(path)}", timeout=60)
        if made.exit_code != 0:
            raise InputError(f"cannot create {path} on {self.host}: {made.stderr.strip()}")

    def lock(self) -> HeldLock | None:
        """The lock file, whether its pid lives, and the upgrade's ``plan.json``."""
        from ._remote_ops import LOCK_FILE, HeldLock

        script = (
            f"K={sh_quote(self.join(STATE_DIR, LOCK_FILE))}\n"
            '[ -f "$K" ] || exit 3\n'
            'read -r id pid rest < "$K"\n'
            'printf \'%s %s\\n\' "${id:-?}" "${pid:-0}"\n'
            "case ${pid:-x} in *[!0-9]*) pid=0 ;; esac\n"
            'if kill -0 "$pid" 2>/dev/null || [ -d "/proc/$pid" ]; then echo alive; '
            "else echo dead; fi\n"
            "case ${id:-x} in *[!A-Za-z0-9._-]*) exit 0 ;; esac\n"
            f'cat -- {sh_quote(self.join(STATE_DIR, "backups"))}"/$id/plan.json" 2>/dev/null\n'
            "exit 0\n"
        )
        result = self.transport.run(script, timeout=60)
        if result.exit_code == 3:
            return None
        if result.exit_code != 0:
            raise TransientError(f"{self.host}: reading the upgrade lock failed")
        head, _, rest = result.stdout.partition("\n")
        flag, _, plan = rest.partition("\n")
        ident, _, pid = head.partition(" ")
        alive = flag.strip() == "alive"
        return HeldLock(ident, int(pid) if pid.isdigit() else 0, alive, plan or None)

    def recover(self, plan: UndoPlan) -> UpgradeRun:
        """Run :func:`._remote_script.recovery_script`."""
        from ._remote_ops import LOCK_FILE, UpgradeRun
        from ._remote_script import recovery_script

        backup = self.join(STATE_DIR, "backups", plan.ident)
        lock = self.join(STATE_DIR, LOCK_FILE)
        staging = self.join(STATE_DIR, f"staging-{plan.ident}")
        script = recovery_script(
            self.install, backup, lock, plan.ops, plan.folders, plan.start, staging
        )
        done = self.transport.run(script, timeout=600 + len(plan.ops))
        why = (done.stderr.strip().splitlines() or [f"exit {done.exit_code}"])[-1]
        return UpgradeRun(done.exit_code, [], why)

    def run_upgrade(
        self,
        staging: str,
        backup: str,
        ops: Sequence[Op],
        pre_log: Sequence[str],
        start: int,
        state: InstallState,
        ident: str,
    ) -> UpgradeRun:
        """ONE sh script (:func:`._remote_script.upgrade_script`); ``state`` is its last op."""
        from ._remote_ops import LOCK_FILE, UpgradeRun
        from ._remote_script import upgrade_script

        root = self.install.rstrip("/") or "/"
        lock = (self.join(STATE_DIR, LOCK_FILE), ident)
        script = upgrade_script(root, staging, backup, list(ops), list(pre_log), start, lock)
        done = self.transport.run(script, timeout=600 + len(ops))
        why = (done.stderr.strip().splitlines() or [f"exit {done.exit_code}"])[-1]
        return UpgradeRun(done.exit_code, done.stdout.splitlines(), why)
