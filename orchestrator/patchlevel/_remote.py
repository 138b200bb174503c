"""Reaching an inventory host for ``patch check|compat|upgrade --host HOST -i INVENTORY``:
the installation as a facts source (:class:`._source.RemoteSource` on Linux,
:class:`._windows.WindowsSource` on Windows) and the services checks run on that host."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..service_names import service_name_problem
from ..transports._connect import transport_factory
from ..transports._protocol import Transport
from ..transports._quote import sh_quote
from ._source import RemoteSource, remote_read
from ._state import PID_FILE, STATE_DIR, ServicesCheck, parse_pids
from ._windows import Identity, WindowsServicesCheck, WindowsSource, default_key


@dataclass(frozen=True)
class HostLink:
    """A host of the inventory and its transport (nothing connected until the first call)."""

    host: str
    platform: str
    transport: Transport


def connect_host(inventory: Path, host: str) -> HostLink:
    """A transport to ``host`` of ``inventory`` (credentials as for ``apply``: the
    environment's ORCHESTRATOR_PASSWORD[_HOST] or the inventory's variables): SSH for a Linux
    host; WinRM, or OpenSSH with the PowerShell interpreter, for a Windows host."""
    from ..inventory import load_inventory

    inv = load_inventory(inventory)
    if host not in inv.facts.hosts:
        known = ", ".join(sorted(inv.facts.hosts)[:10]) or "none"
        raise InputError(f"--host {host}: not in the inventory {inventory} (hosts: {known})")
    info = inv.facts.hosts[host]
    if info.platform != "windows" and info.connection.kind != "ssh":
        raise InputError(f"--host {host}: connection {info.connection.kind!r}: use ssh")
    facts = inv.facts.to_contract([host])
    transport = transport_factory(facts, inv.host_vars)(host)
    return HostLink(host, info.platform, transport)


def open_source(
    link: HostLink, install: str, identity: Identity, registry_key: str | None = None
) -> RemoteSource | WindowsSource:
    """The installation ``install`` on the host, as the checks and the upgrade see it
    (``identity``: the package's product, release and build)."""
    if link.platform == "windows":
        key = registry_key or default_key(identity[0])
        return WindowsSource(link.host, link.transport, install, key, identity)
    if registry_key:
        raise InputError(f"--registry-key: {link.host} is a Linux host (the level is a file)")
    if not hasattr(link.transport, "file_facts"):  # pragma: no cover - ssh always has it
        raise InputError(f"--host {link.host}: the transport cannot gather file facts")
    return RemoteSource(link.host, link.transport, install)  # type: ignore[arg-type]


def check_service_names(names: Sequence[str], host: str, platform: str) -> None:
    """Refuse (exit 2) a ``--service`` that is not a service name on ``host``'s platform
    (docs/playbook.md); checked before anything runs on the host."""
    for name in names:
        problem = service_name_problem(name, platform)
        if problem:
            raise InputError(f"--service {name!r} ({host} is a {platform} host): {problem}")


def services_check(
    source: RemoteSource | WindowsSource, names: Sequence[str], command: str | None
) -> ServicesCheck:
    """How the upgrade tells whether the product's services run on the host: ``command``
    when given; on Windows the named services (required); on Linux the pid-file convention."""
    if command:
        return RemoteCommandCheck(source.transport, command)
    if isinstance(source, WindowsSource):
        if not names:
            raise InputError(
                f"{source.host} is a Windows host: name the product's services (--service "
                "NAME, repeatable; IIS is W3SVC) or give --services-running-check CMD"
            )
        return WindowsServicesCheck(source.host, source.transport, tuple(names))
    return RemotePidCheck(source.transport, source.install)


@dataclass(frozen=True)
class RemotePidCheck:
    """The pid-file convention, on the host: live pids in ``<install>/.orchestrator/
    services.pid`` (a pid of another user counts as alive, a stale one does not)."""

    transport: Transport
    install: str

    def running(self) -> list[str]:
        """``pid N`` for every listed pid alive on the host (two round trips at most)."""
        path = f"{self.install.rstrip('/')}/{STATE_DIR}/{PID_FILE}"
        text = remote_read(self.transport, path)
        if text is None:
            return []
        pids = parse_pids(text.splitlines(), path)
        if not pids:
            return []
        words = " ".join(sh_quote(str(p)) for p in pids)
        script = (
            f"for p in {words}; do\n"
            '  if kill -0 "$p" 2>/dev/null || [ -d "/proc/$p" ]; then echo "$p"; fi\n'
            "done\n"
        )
        result = self.transport.run(script, timeout=60)
        alive = result.stdout.split()
        return [f"pid {p} (listed in {path})" for p in alive]


@dataclass(frozen=True)
class RemoteCommandCheck:
    """``--services-running-check CMD`` run on the host: exit 0 = running, 1 = stopped."""

    transport: Transport
    command: str

    def running(self) -> list[str]:
        """The command's verdict (its first output line as the description)."""
        result = self.transport.run(self.command, timeout=120)
        if result.exit_code == 1:
            return []
        first = (result.stdout.strip().splitlines() or [""])[0]
        if result.exit_code == 0:
            return [f"{self.command!r} says the services run" + (f": {first}" if first else "")]
        return [f"cannot tell: {self.command!r} exited {result.exit_code} on the host"]
