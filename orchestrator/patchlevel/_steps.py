"""The patch-level playbook step: probe/apply/verify of the patch-consistency and
patch-compatibility preflights, the patch-level install and the patch-level verify, for
actions that carry ``install_dir`` (see docs/patch-packages.md, "Playbook step"), on a Linux
host over SSH or a Windows host over WinRM/OpenSSH. The package file (``source``) and the
customization package (``customization``) are read by the controller; the host's state and
facts come from :func:`._remote.open_source`, the upgrade is
:func:`._remote_upgrade.remote_upgrade`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..engine._protocols import StepResult
from ..errors import FatalError, InputError, VerificationFailed
from ..plan import Action
from ..transports._protocol import Transport
from ._archive import CustomPackage, PatchPackage, open_custom, open_package
from ._check import VERDICTS, CheckReport, check_consistency
from ._compat import check_compatibility
from ._manifest import Manifest, describe
from ._names import parse_package_name
from ._remote import HostLink, open_source, services_check
from ._remote_upgrade import remote_upgrade
from ._source import RemoteSource
from ._state import InstallState, ServicesCheck, check_state
from ._upgrade import UpgradeFailed, UpgradeRefused
from ._windows import WindowsSource

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
    """One patch-level action on ``host`` (``platform`` linux or windows), reached through
    ``transport``."""

    host: str
    transport: Transport
    action: Action
    platform: str = "linux"

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

    def source(self, manifest: Manifest | None = None) -> RemoteSource | WindowsSource:
        """The installation, seen over the transport (on Windows the registry key and the
        product come from ``manifest``, else from the ``package`` name)."""
        if manifest is not None:
            identity = (manifest.product, manifest.release, manifest.build)
        else:
            try:
                name = parse_package_name(self._param("package") + ".zip")
            except InputError as exc:
                raise FatalError(f"{self.action.id}: {exc}") from None
            identity = (name.product, name.release, name.build)
        key = self.action.params.get("registry_key")
        link = HostLink(self.host, self.platform, self.transport)
        try:
            return open_source(link, self._param("install_dir"), identity, key and str(key))
        except InputError as exc:
            raise FatalError(f"{self.action.id}: {exc}") from None

    @contextmanager
    def _package(self) -> Iterator[tuple[PatchPackage, CustomPackage | None]]:
        custom: CustomPackage | None = None
        try:
            with open_package(Path(self._param("source"))) as pkg:
                if self.action.params.get("customization"):
                    custom = open_custom(Path(self._param("customization")), pkg.manifest)
                try:
                    yield pkg, custom
                finally:
                    if custom is not None:
                        custom.close()
        except InputError as exc:
            raise FatalError(f"{self.host}: {exc}") from None

    def _state(self, src: RemoteSource | WindowsSource) -> InstallState | None:
        try:
            return src.state()
        except InputError as exc:
            raise FatalError(f"{self.host}: {exc}") from None

    def _check(
        self, pkg: PatchPackage, custom: CustomPackage | None, src: RemoteSource | WindowsSource
    ) -> CheckReport:
        """The consistency check on the host's facts (one round trip for the facts)."""
        m = pkg.manifest
        try:
            recorded, _ = check_state(self._state(src), m, src.state_where)
        except InputError as exc:
            raise FatalError(f"{self.host}: {exc}") from None
        cm = custom.manifest if custom else None
        paths = sorted(set(m.paths) | set(cm.files if cm else ()))
        return check_consistency(m, src.facts(paths), recorded, cm)

    # -- the checks ----------------------------------------------------------------------
    def _consistency(self) -> str:
        fail_on = self.action.params.get("fail_on", DEFAULT_FAIL_ON)
        unknown = sorted(set(fail_on) - set(VERDICTS))
        if unknown:
            raise FatalError(f"{self.action.id}: fail_on: unknown verdict(s) {unknown}")
        with self._package() as (pkg, custom):
            src = self.source(pkg.manifest)
            report = self._check(pkg, custom, src)
        counts = ", ".join(f"{n} {v}" for v, n in report.counts().items() if n) or "consistent"
        bad = [f for f in report.findings if f.verdict in fail_on]
        summary = f"{src.where} at patch level {report.level}: {counts}"
        if bad:
            shown = "; ".join(f.lines()[0] for f in bad[:5])
            more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
            raise VerificationFailed(f"inconsistent installation {summary}: {shown}{more}")
        return summary

    def _compatibility(self) -> str:
        to = self._level()
        with self._package() as (pkg, custom):
            src = self.source(pkg.manifest)
            report = self._check(pkg, custom, src)
            if to > pkg.manifest.level:
                raise FatalError(f"level {to}: the package has levels 0..{pkg.manifest.level}")
            compat = check_compatibility(pkg.manifest, report, custom.manifest if custom else None)
        if to < report.level:
            raise VerificationFailed(
                f"{src.where} is at patch level {report.level}, above the target {to}"
            )
        if to == report.level:
            return f"{src.where} is already at patch level {to}"
        target = compat.at(to)
        if not target.compatible and self.action.params.get("force") is True:
            return (
                f"{src.where}: patch level {to} is forced; these lose their customizations: "
                + "; ".join(target.lines())
            )
        if not target.compatible:
            raise VerificationFailed(
                f"{src.where}: patch level {to} would break customizations: "
                + "; ".join(target.lines())
                + f"; compatible level(s): {describe(compat.compatible_levels) or 'none'}"
            )
        return f"{src.where}: patch level {to} is compatible"

    def _recorded(self) -> tuple[bool, str]:
        """Whether the recorded level (or version, for a full ``expect``) is the target."""
        src, to = self.source(), self._level()
        state = self._state(src)
        if state is None:
            return False, f"{src.where}: no patch level recorded (target {to})"
        expect = str(self.action.params.get("expect") or "")
        if expect.count(".") == 4:
            return state.version == expect, f"{src.where}: version {state.version}"
        return state.level == to, f"{src.where}: patch level {state.level} (target {to})"

    def _services(self, src: RemoteSource | WindowsSource) -> ServicesCheck:
        p: dict[str, Any] = dict(self.action.params)
        command = p.get("services_running_check")
        try:
            return services_check(
                src, [str(s) for s in p.get("services", [])], command and str(command)
            )
        except InputError as exc:
            raise FatalError(f"{self.action.id}: {exc} (the playbook's `services`)") from None

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
        to, force = self._level(), self.action.params.get("force") is True
        with self._package() as (pkg, custom):
            src = self.source(pkg.manifest)
            try:
                result = remote_upgrade(
                    pkg, src, to, custom=custom, force=force, services=self._services(src)
                )
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
