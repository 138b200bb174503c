"""Upgrades that died on the host: rolling one back before the next upgrade (its lock's
process is gone), and right away when the transport re-ran an upgrade whose interpreter died
(the re-run finds its own lock). See docs/patch-packages.md, "Lock, interrupted upgrades,
recovery"."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..errors import InputError
from ._remote_ops import LOCK_FILE, HeldLock, RemoteInstall, UndoPlan
from ._state import STATE_DIR, ServicesCheck, now_iso
from ._upgrade import UpgradeFailed, UpgradeRefused


@dataclass
class ListLog:
    """``install.log`` lines collected here, appended on the host later."""

    lines: list[str] = field(default_factory=list)

    def write(self, message: str) -> None:
        """One timestamped line."""
        self.lines.append(f"{now_iso()} {message}")

    def write_all(self, messages: Iterable[str]) -> None:
        """Several lines."""
        for message in messages:
            self.write(message)


def recover(source: RemoteInstall, held: HeldLock, services: ServicesCheck, log: ListLog) -> str:
    """Undo the upgrade that died on the host holding ``held`` (its process is gone); the
    services must be stopped, as for an upgrade. Returns its backup folder."""
    backup = source.join(STATE_DIR, "backups", held.ident)
    if held.plan is None:
        raise InputError(
            f"{source.host}: {source.join(STATE_DIR, LOCK_FILE)} names upgrade {held.ident}, "
            f"which left no {backup}/plan.json: check the installation and remove the lock"
        )
    plan = UndoPlan.parse(held.plan, f"{source.host}:{backup}/plan.json")
    running = services.running()
    if running:
        raise UpgradeRefused(
            f"{source.host}: upgrade {held.ident} was interrupted and must be rolled back, but "
            "the product's services are running (" + "; ".join(running) + "): stop them first"
        )
    log.write(f"upgrade {held.ident} was interrupted (its process is gone): rolling it back")
    done = source.recover(plan)
    if done.exit_code != 0:
        source.append_log(log.lines)
        raise UpgradeFailed(
            f"{source.host}: rolling back the interrupted upgrade {held.ident} failed "
            f"({done.why}); its backups are in {backup}"
        )
    log.write(f"rolled back the interrupted upgrade {held.ident}: patch level {plan.start}")
    return backup


def interrupted_now(
    source: RemoteInstall, ident: str, services: ServicesCheck, start: int, to: int, why: str
) -> None:
    """The upgrade script did not end by itself: it found a lock at its start (exit 3), or
    it was killed (a timeout, a signal). If the lock is this upgrade's own and its process is
    gone (killed; or the transport re-ran the request after the host's interpreter died
    mid-upgrade), roll the interrupted run back now; either way raise
    :class:`UpgradeFailed` saying what happened."""
    held = source.lock()
    if held is None or held.ident != ident or held.alive:
        raise UpgradeFailed(f"{source.host}: upgrade to level {to} did not complete ({why})")
    log = ListLog()
    recover(source, held, services, log)
    source.append_log(log.lines)
    raise UpgradeFailed(
        f"{source.host}: upgrade to level {to} was interrupted on the host (the process "
        f"running it died); rolled back to patch level {start}"
    )
