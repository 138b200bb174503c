"""An installation on a Windows host (WinRM, or OpenSSH with the PowerShell interpreter): its
level in the registry, its file facts in one round trip, its services, and the host side of
the upgrade (:mod:`._windows_ps` renders every script).

The level lives in the registry key ``HKLM:\\SOFTWARE\\<Product>`` (or the one the operator
names): ``PatchLevel`` (DWORD) plus ``Product``, ``Release``, ``Build``, ``Version``,
``Package`` and ``Updated`` (strings) written beside it. A key holding only ``PatchLevel``
(written by the vendor's own installer) is read as that level of the package's product.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError, TransientError
from ..transports._protocol import Result, Transport
from ..transports._quote import ps_value
from . import _windows_ps as ps
from ._facts import FileFact
from ._remote_ops import LOCK_FILE, HeldLock, Op, UndoPlan, UpgradeRun
from ._state import STATE_DIR, InstallState
from ._windows_ps_recover import lock_script, recover_script

#: A package's product, release and build.
Identity = tuple[str, str, int]


def default_key(product: str) -> str:
    """``HKLM:\\SOFTWARE\\<Product>``."""
    return f"HKLM:\\SOFTWARE\\{product}"


def _first(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def _checked(host: str, what: str, result: Result) -> Mapping[str, Any]:
    if result.exit_code != 0:
        why = _first(result.stderr) or f"exit {result.exit_code}"
        raise TransientError(f"{host}: {what} failed: {why}", exit_code=result.exit_code)
    return result.payload


@dataclass
class WindowsSource:
    """An installation folder on a Windows host. ``identity`` (product, release, build) is
    the package's, used when the registry key records only ``PatchLevel``."""

    host: str
    transport: Transport
    install: str
    key: str
    identity: Identity
    timeout: float = 300
    #: The key and its values as :meth:`state` last found them (for a recovery).
    registry_before: dict[str, Any] = field(default_factory=dict)
    state_file = False

    @property
    def state_where(self) -> str:
        """``HOST:<registry key>``."""
        return f"{self.host}:{self.key}"

    @property
    def where(self) -> str:
        """``HOST:DIR``."""
        return f"{self.host}:{self.install}"

    def state(self) -> InstallState | None:
        """The level recorded in the registry (one round trip; checks the folder exists)."""
        script = ps.state_script(self.install, self.key)
        doc = _checked(self.host, "reading the registry", self._run(script))
        if not doc.get("root"):
            raise InputError(f"{self.install}: not a directory on {self.host}")
        values: Mapping[str, Any] = doc.get("values") or {}
        self.registry_before = {"key": self.key, "existed": bool(doc.get("key")),
                                "values": dict(values)}  # fmt: skip
        if "PatchLevel" not in values:
            return None
        product, release, build = self.identity
        where = f"{self.host}:{self.key}"
        try:
            level = int(str(values["PatchLevel"]))
            build = int(str(values.get("Build", build)))
        except ValueError:
            raise InputError(f"{where}: PatchLevel and Build must be numbers") from None
        if level < 0:
            raise InputError(f"{where}: PatchLevel must be >= 0")
        return InstallState(
            str(values.get("Product", product)),
            str(values.get("Release", release)),
            build,
            level,
            str(values.get("Updated", "")),
            str(values.get("Package", "")),
        )

    def facts(self, paths: Iterable[str]) -> dict[str, FileFact | None]:
        """SHA-256, size and mtime of every path, one round trip."""
        rels = list(paths)
        result = self._run(ps.facts_script(self.install, rels), self.timeout)
        doc = _checked(self.host, "reading file facts", result)
        files: Mapping[str, Any] = doc.get("files") or {}
        found = {str(k).lower(): v for k, v in files.items()}
        out: dict[str, FileFact | None] = {}
        for rel in rels:
            item = found.get(rel.lower())
            try:
                out[rel] = _fact(item)
            except (IndexError, TypeError, ValueError):
                raise TransientError(f"{self.host}: malformed file facts for {rel}") from None
        return out

    # -- the host side of the upgrade (see _remote_upgrade.RemoteInstall) ----------------------
    def join(self, *parts: str) -> str:
        """A path under the installation folder."""
        return "\\".join([self.install.rstrip("\\/"), *(p.replace("/", "\\") for p in parts)])

    def state_dir(self) -> str:
        """``<install>\\.orchestrator``."""
        return self.join(STATE_DIR)

    def append_log(self, lines: Sequence[str]) -> None:
        """Append ready-made lines to ``install.log``."""
        if lines:
            result = self._run(ps.log_script(self.install, lines))
            _checked(self.host, "writing install.log", result)

    def make_dir(self, path: str) -> None:
        """Create a folder (and its parents)."""
        script = f"[IO.Directory]::CreateDirectory({ps_value(path)}) | Out-Null\n"
        _checked(self.host, f"creating {path}", self._run(script))

    def lock(self) -> HeldLock | None:
        """The upgrade lock, whether its process runs, and its ``plan.json`` (one request)."""
        script = lock_script(self.join(STATE_DIR, LOCK_FILE), self.join(STATE_DIR, "backups"))
        doc = _checked(self.host, "reading the upgrade lock", self._run(script))
        if not doc.get("lock"):
            return None
        plan = doc.get("plan")
        return HeldLock(
            str(doc.get("id") or "?"), int(doc.get("pid") or 0), bool(doc.get("alive")),
            plan if isinstance(plan, str) else None,
        )  # fmt: skip

    def recover(self, plan: UndoPlan) -> UpgradeRun:
        """``Undo-OrchPatchInterrupted`` (:mod:`._windows_ps_recover`)."""
        rows = [{"k": u.k, "kind": u.kind, "path": u.path, "existed": u.existed} for u in plan.ops]
        registry = dict(plan.registry) or {"existed": True, "values": {}}
        script = recover_script(
            self.install, self.join(STATE_DIR, "backups", plan.ident),
            self.join(STATE_DIR, LOCK_FILE), rows, self.key, registry, plan.start,
            self.join(STATE_DIR, f"staging-{plan.ident}"),
        )  # fmt: skip
        result = self._run(script, 600 + len(rows))
        return UpgradeRun(result.exit_code, [], _first(result.stderr) or f"exit {result.exit_code}")

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
        """The whole upgrade in one request (:func:`._windows_ps.upgrade_script`)."""
        values = {
            "PatchLevel": state.level,
            "Product": state.product,
            "Release": state.release,
            "Build": str(state.build),
            "Version": state.version,
            "Package": state.package,
            "Updated": state.updated,
        }
        rows = [
            {"k": k, "kind": op.kind, "path": op.path, "level": op.level, "what": op.what,
             "mtime": op.mtime}
            for k, op in enumerate(ops)
        ]  # fmt: skip
        lock = self.join(STATE_DIR, LOCK_FILE)
        script = ps.upgrade_script(
            self.install, staging, backup, rows, self.key, values, pre_log, start, lock, ident
        )
        result = self._run(script, 600 + len(ops))
        payload = result.payload
        why = str(payload.get("error") or _first(result.stderr) or f"exit {result.exit_code}")
        done = [str(line) for line in payload.get("done") or []]
        return UpgradeRun(result.exit_code, done, why)

    def _run(self, script: str, timeout: float = 120) -> Result:
        return self.transport.run(script, timeout=timeout)


def _fact(item: Any) -> FileFact | None:
    if item is None:
        return None
    if item[0] == "unreadable":
        return FileFact("", 0, 0.0, str(item[1]) or "cannot be read")
    return FileFact(str(item[0]), int(item[1]), float(item[2]))


@dataclass(frozen=True)
class WindowsServicesCheck:
    """The named Windows services (service or display names, matched exactly): running
    unless Stopped. A name no service has counts as stopped."""

    host: str
    transport: Transport
    names: tuple[str, ...]

    def running(self) -> list[str]:
        """``NAME (Status)`` for each named service that is not stopped."""
        result = self.transport.run(ps.services_script(self.names), timeout=120)
        doc = _checked(self.host, "reading the services", result)
        return [f"service {entry}" for entry in doc.get("running") or []]
