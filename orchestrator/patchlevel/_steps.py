"""The patch-level playbook step on a Linux host over SSH: probe/apply/verify of the
patch-consistency and patch-compatibility preflights, the patch-level install and the
patch-level verify, for actions that carry ``install_dir`` (see docs/patch-packages.md,
"Playbook step"). The package file (``source``) is read by the controller; the host's facts
come from :class:`._source.RemoteSource`, the upgrade is :func:`._remote_upgrade.remote_upgrade`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..engine._protocols import StepResult
from ..errors import FatalError, InputError, VerificationFailed
from ..plan import Action
from ._archive import PatchPackage, open_package
from ._check import VERDICTS, CheckReport, check_consistency
from ._compat import check_compatibility
from ._manifest import describe
from ._remote import RemoteCommandCheck, RemotePidCheck
from ._remote_upgrade import remote_upgrade
from ._source import FactsTransport, RemoteSource
from ._state import STATE_DIR, STATE_FILE, InstallState, ServicesCheck, check_state
from ._upgrade import UpgradeFailed, UpgradeRefused

#: Consistency verdicts that fail the preflight unless its ``fail_on`` says otherwise.
DEFAULT_FAIL_ON = ("earlier-version", "unreadable")
_CHECKS = {"preflight": ("patch-consistency", "patch-compatibility"), "verify": ("patch-level",)}


def is_patch_step(action: Action) -> bool:
    """True for a patch-level step this module runs (it carries ``install_dir``)."""
    p = action.params
    if "install_dir" not in p:
        return False
    if action.kind == "install":
        return p.get("package_kind") == "patch-level"
    return p.get("check") in _CHECKS.get(action.kind, ())


@dataclass
class PatchStep:
    """One patch-level action on ``host``, reached through ``transport``."""

    host: str
    transport: FactsTransport
    action: Action

    # -- plumbing ----------------------------------------------------------------------------
    def _param(self, key: str) -> str:
        value = self.action.params.get(key)
        if value in (None, ""):
            raise FatalError(f"{self.action.id}: params.{key} is required for a patch-level step")
        return str(value)

    def _level(self) -> int:
        """The target level: ``expect``'s last component (verify), else ``level``."""
        expect = self.action.params.get("expect")
        raw = str(expect).rsplit(".", 1)[-1] if expect else self._param("level")
        try:
            return int(raw)
        except ValueError:
            raise FatalError(f"{self.action.id}: {raw!r} is not a patch level") from None

    @property
    def source(self) -> RemoteSource:
        """The installation, seen over the transport."""
        return RemoteSource(self.host, self.transport, self._param("install_dir"))

    @contextmanager
    def _package(self) -> Iterator[PatchPackage]:
        try:
            with open_package(Path(self._param("source"))) as pkg:
                yield pkg
        except InputError as exc:
            raise FatalError(f"{self.host}: {exc}") from None

    def _state(self, src: RemoteSource) -> InstallState | None:
        try:
            return src.state()
        except InputError as exc:
            raise FatalError(f"{self.host}: {exc}") from None

    def _check(self, pkg: PatchPackage, src: RemoteSource) -> CheckReport:
        """The consistency check on the host's facts (one round trip for the facts)."""
        m = pkg.manifest
        try:
            where = f"{src.where}/{STATE_DIR}/{STATE_FILE}"
            recorded, _ = check_state(self._state(src), m, where)
        except InputError as exc:
            raise FatalError(f"{self.host}: {exc}") from None
        return check_consistency(m, src.facts(m.paths), recorded)

    # -- the checks ----------------------------------------------------------------------
    def _consistency(self) -> str:
        fail_on = self.action.params.get("fail_on", DEFAULT_FAIL_ON)
        unknown = sorted(set(fail_on) - set(VERDICTS))
        if unknown:
            raise FatalError(f"{self.action.id}: fail_on: unknown verdict(s) {unknown}")
        src = self.source
        with self._package() as pkg:
            report = self._check(pkg, src)
        counts = ", ".join(f"{n} {v}" for v, n in report.counts().items() if n) or "consistent"
        bad = [f for f in report.findings if f.verdict in fail_on]
        summary = f"{src.where} at patch level {report.level}: {counts}"
        if bad:
            shown = "; ".join(f.lines()[0] for f in bad[:5])
            more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
            raise VerificationFailed(f"inconsistent installation {summary}: {shown}{more}")
        return summary

    def _compatibility(self) -> str:
        to, src = self._level(), self.source
        with self._package() as pkg:
            report = self._check(pkg, src)
            if to > pkg.manifest.level:
                raise FatalError(f"level {to}: the package has levels 0..{pkg.manifest.level}")
            compat = check_compatibility(pkg.manifest, report)
        if to < report.level:
            raise VerificationFailed(
                f"{src.where} is at patch level {report.level}, above the target {to}"
            )
        if to == report.level:
            return f"{src.where} is already at patch level {to}"
        target = compat.at(to)
        if not target.compatible:
            raise VerificationFailed(
                f"{src.where}: patch level {to} would break customizations: "
                + "; ".join(target.lines())
                + f"; compatible level(s): {describe(compat.compatible_levels) or 'none'}"
            )
        return f"{src.where}: patch level {to} is compatible"

    def _recorded(self) -> tuple[bool, str]:
        """Whether the recorded level (or version, for a full ``expect``) is the target."""
        src, to = self.source, self._level()
        state = self._state(src)
        if state is None:
            return False, f"{src.where}: no patch level recorded (target {to})"
        expect = str(self.action.params.get("expect") or "")
        if expect.count(".") == 4:
            return state.version == expect, f"{src.where}: version {state.version}"
        return state.level == to, f"{src.where}: patch level {state.level} (target {to})"

    def _services(self) -> ServicesCheck:
        command = self.action.params.get("services_running_check")
        if command:
            return RemoteCommandCheck(self.transport, str(command))
        return RemotePidCheck(self.transport, self._param("install_dir"))

    # -- probe / apply / verify ----------------------------------------------------------
    def probe(self) -> bool:
        """An install is in effect when the recorded level is the target; checks always run."""
        return self.action.kind == "install" and self._recorded()[0]

    def apply(self) -> StepResult:
        """Run the check (raising when it fails) or upgrade the installation."""
        check = self.action.params.get("check")
        if self.action.kind == "install":
            return StepResult(0, self._upgrade())
        if check == "patch-consistency":
            return StepResult(0, self._consistency())
        if check == "patch-compatibility":
            return StepResult(0, self._compatibility())
        ok, message = self._recorded()
        if not ok:
            raise VerificationFailed(message)
        return StepResult(0, message)

    def _upgrade(self) -> str:
        to, src = self._level(), self.source
        with self._package() as pkg:
            try:
                result = remote_upgrade(pkg, src, to, services=self._services())
            except (UpgradeRefused, UpgradeFailed, InputError) as exc:
                raise FatalError(str(exc)) from None
        return f"{src.where}: patch level {result.from_level} -> {result.to_level}"

    def verify(self) -> None:
        """The check holds again, or the recorded level is the target."""
        if self.action.kind in ("install", "verify"):
            ok, message = self._recorded()
            if not ok:
                raise VerificationFailed(message)
            return
        self.apply()
