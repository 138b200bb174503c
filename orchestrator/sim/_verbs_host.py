"""Host verbs: services, load-balancer rotation, installs (the Windows Installer mutex and
its exit codes), reboots, preserved files and hooks."""

from __future__ import annotations

from ..engine._protocols import StepResult
from ..errors import FatalError, TransientError
from ..plan import Action
from ._health import host_up
from ._state import RUNNING, STOPPED, HostState, installed_version
from ._verbs import Ctx, Done, Effect, Probe, Release, find_host, host_of, strings, verb

ERROR_INSTALL_ALREADY_RUNNING = 1618
ERROR_INSTALL_FAILURE = 1603
ERROR_UNKNOWN_PRODUCT = 1605
ERROR_INSTALL_SOURCE_ABSENT = 1612
ERROR_PATCH_PACKAGE_OPEN_FAILED = 1635
REBOOT_KINDS = frozenset({"service-pack", "hotfix"})


def already_running(host: str) -> TransientError:
    """msiexec's 1618: another installation holds the Windows Installer mutex."""
    return TransientError(
        f"{host}: another installation is in progress (1618)",
        exit_code=ERROR_INSTALL_ALREADY_RUNNING,
        output="MSI (s): Another installation is in progress. "
        "Complete that installation before proceeding with this install.",
    )


def _restore_list(a: Action) -> list[str]:
    """The services whose start mode a ``restore_start_mode`` start puts back: all the
    stop held (``restore_services``, when compensation narrowed ``services``)."""
    return strings(a, "restore_services") or strings(a, "services")


def _services_probe(state: str) -> Probe:
    def probe(ctx: Ctx, a: Action) -> bool:
        h = find_host(ctx, a)
        if state == RUNNING and a.params.get("restore_start_mode"):
            held = _restore_list(a)
            if any(s in h.held_modes for s in held):
                return False
        hold = state == STOPPED and bool(a.params.get("hold_across_reboots"))
        if hold and any(h.start_modes.get(s) != "disabled" for s in strings(a, "services")):
            return False
        return all(h.services.get(s) == state for s in strings(a, "services"))

    return probe


def _services_effect(state: str) -> Effect:
    def effect(ctx: Ctx, a: Action) -> Done:
        h = ctx.edit_host(host_of(a))
        # what a stop changed, as the real verbs report it (compensation starts only these)
        changed = [
            {"name": s, "previous": "active", "start_mode": "", "dependents": []}
            for s in strings(a, "services")
            if h.services.get(s) != state
        ]
        for s in strings(a, "services"):
            h.services[s] = state
            if state == STOPPED and a.params.get("hold_across_reboots"):
                h.held_modes.setdefault(s, h.start_modes.get(s, "automatic"))
                h.start_modes[s] = "disabled"
        if state == RUNNING and a.params.get("restore_start_mode"):
            for s in _restore_list(a):
                if s in h.held_modes:
                    _set_mode(h, s, h.held_modes.pop(s))
        text = f"{state} {', '.join(strings(a, 'services'))}"
        data = {"services_stopped": changed} if state == STOPPED else {}
        return Done(text, StepResult(data=data))

    return effect


def _set_mode(h: HostState, service: str, mode: str) -> None:
    if mode == "automatic":
        h.start_modes.pop(service, None)
    else:
        h.start_modes[service] = mode


for _kind, _state in (("stop_services", STOPPED), ("start_services", RUNNING)):
    verb(_kind, _services_probe(_state))(_services_effect(_state))


def _pool(ctx: Ctx, a: Action) -> str:
    pool = str(a.params.get("pool", ""))
    p = ctx.world.pools.get(pool)
    if p is None or host_of(a) not in p.members:
        raise FatalError(f"{a.id}: {a.host} is not a member of pool {pool!r}")
    return pool


def _in_rotation(ctx: Ctx, a: Action) -> bool:
    return host_of(a) in ctx.world.pools[_pool(ctx, a)].in_rotation


@verb("lb_out", lambda ctx, a: not _in_rotation(ctx, a), needs_host=False)
def _lb_out(ctx: Ctx, a: Action) -> Done:
    p = ctx.edit_pool(_pool(ctx, a))
    p.in_rotation = [m for m in p.in_rotation if m != a.host]
    return Done(f"out of rotation in {a.params['pool']}")


def _lb_in_begin(ctx: Ctx, a: Action) -> Release | None:
    if not host_up(ctx.world, ctx.flight, host_of(a)):
        raise FatalError(f"{a.id}: {a.host} is down; the load balancer keeps it out of rotation")
    return None


@verb("lb_in", _in_rotation, begin=_lb_in_begin, needs_host=False)
def _lb_in(ctx: Ctx, a: Action) -> Done:
    _lb_in_begin(ctx, a)
    p = ctx.edit_pool(_pool(ctx, a))
    rotation = set(p.in_rotation) | {host_of(a)}
    p.in_rotation = [m for m in p.members if m in rotation]
    return Done(f"back in rotation in {a.params['pool']}")


def _install_probe(ctx: Ctx, a: Action) -> bool:
    h = find_host(ctx, a)
    package, version = str(a.params.get("package", "")), str(a.params.get("version") or "")
    return h.packages.get(package) == version if version else package in h.packages


def _installer_begin(ctx: Ctx, a: Action) -> Release | None:
    host = host_of(a)
    if ctx.flight.installing[host] or ctx.exit_code == ERROR_INSTALL_ALREADY_RUNNING:
        raise already_running(host)
    if a.kind == "install":
        _check_install(ctx, a)
    ctx.flight.installing[host] += 1

    def release() -> None:
        ctx.flight.installing[host] -= 1
        if ctx.flight.installing[host] <= 0:
            del ctx.flight.installing[host]

    return release


def _check_install(ctx: Ctx, a: Action) -> None:
    source = str(a.params.get("source", ""))
    built = ctx.index.build_source(source)
    if built is not None and built[1] not in ctx.world.hosts[built[0]].files:
        msp = a.params.get("package_kind") == "msp"
        code = ERROR_PATCH_PACKAGE_OPEN_FAILED if msp else ERROR_INSTALL_SOURCE_ABSENT
        raise FatalError(f"{a.id}: source not found: {source}", exit_code=code)
    h = find_host(ctx, a)
    if a.params.get("package_kind") == "patch-level":
        running = [s for s in h.product_services if h.services.get(s) == RUNNING]
        if running:
            raise FatalError(
                f"{a.id}: a patch-level upgrade needs the product's services stopped; "
                f"running: {', '.join(running)}"
            )


def exit_outcome(ctx: Ctx, a: Action) -> tuple[int, bool]:
    """``(exit code, reboot required)`` of an install/uninstall, or the error it raises."""
    p = a.params
    reboot_codes = {int(c) for c in p.get("reboot_codes") or []}
    success = {0, *(int(c) for c in p.get("success_codes") or [])}
    kind = str(p.get("package_kind", ""))
    code = ctx.exit_code
    if code is None:
        code = 3010 if 3010 in reboot_codes and kind in REBOOT_KINDS else 0
    if code in success:
        return code, kind == "hotfix" and a.kind == "install"
    if code in (3010, 1641) or code in reboot_codes:
        return code, True
    if code == ERROR_INSTALL_ALREADY_RUNNING:
        raise already_running(host_of(a))
    if code == ERROR_INSTALL_FAILURE:
        raise FatalError(
            f"{a.id}: fatal error during installation (1603)",
            exit_code=code,
            output="Fatal error during installation",
        )
    raise FatalError(f"{a.id}: the installer exited with code {code}", exit_code=code)


def _held_files(ctx: Ctx, a: Action) -> Done | None:
    """KB 328839: an interfering service that runs holds the installer's files; setup fails
    (1603) and its log lists them as ``FileInUse::`` lines. The exit code and the log come
    back as the real verb returns them, for the engine to judge (nothing changed)."""
    h = find_host(ctx, a)
    held = [s for s in h.interfering if h.services.get(s) == RUNNING]
    if held:
        files = [f"C:\\held\\by\\{s}" for s in held]
    elif ctx.exit_code == ERROR_INSTALL_FAILURE and ctx.files_in_use:  # an injected fault
        files = [
            r"C:\Program Files\Exchsrvr\bin\store.exe",
            r"C:\Program Files\Exchsrvr\bin\mad.exe",
        ]
    else:
        return None
    log = "".join(f"FileInUse:: Added to Filelist: {f}\n" for f in files)
    return Done("files in use: " + ", ".join(files), StepResult(ERROR_INSTALL_FAILURE, log))


@verb("install", _install_probe, begin=_installer_begin)
def _install(ctx: Ctx, a: Action) -> Done:
    busy = _held_files(ctx, a)
    if busy is not None:
        return busy
    code, reboot = exit_outcome(ctx, a)
    h = ctx.edit_host(host_of(a))
    package, version = str(a.params["package"]), str(a.params.get("version") or "")
    h.packages[package] = version
    if not a.params.get("component"):
        h.version = installed_version(package, version)
    for path in h.custom_files:
        h.custom_files[path] = "standard"
    _after_installer(ctx, h, reboot)
    text = f"installed {package} {version}".rstrip() + ("; reboot required" if reboot else "")
    return Done(text, StepResult(code, text, {"reboot_required": reboot}))


@verb("uninstall", lambda ctx, a: str(a.params["package"]) not in find_host(ctx, a).packages,
      begin=_installer_begin)  # fmt: skip
def _uninstall(ctx: Ctx, a: Action) -> Done:
    package = str(a.params["package"])
    if package not in find_host(ctx, a).packages:
        raise FatalError(
            f"{a.id}: {package} is not installed (1605)", exit_code=ERROR_UNKNOWN_PRODUCT
        )
    code, reboot = exit_outcome(ctx, a)
    h = ctx.edit_host(host_of(a))
    del h.packages[package]
    _after_installer(ctx, h, reboot)
    text = f"removed {package}" + ("; reboot required" if reboot else "")
    return Done(text, StepResult(code, text, {"reboot_required": reboot}))


def _after_installer(ctx: Ctx, h: HostState, reboot: bool) -> None:
    h.pending_reboot = h.pending_reboot or reboot
    h.last_install_seq = ctx.seq
    h.msi_log = "clean"


def _reboot_probe(ctx: Ctx, a: Action) -> bool:
    h = find_host(ctx, a)
    if a.params.get("when") == "if-required":
        return not h.pending_reboot
    return h.last_boot_seq > h.last_install_seq


def _reboot_begin(ctx: Ctx, a: Action) -> Release | None:
    host = host_of(a)
    ctx.flight.rebooting.add(host)
    return lambda: ctx.flight.rebooting.discard(host)


@verb("reboot", _reboot_probe, begin=_reboot_begin)
def _reboot(ctx: Ctx, a: Action) -> Done:
    h = ctx.edit_host(host_of(a))
    h.boot_count += 1
    h.pending_reboot = False
    h.last_boot_seq = ctx.seq
    for s in h.services:  # only the automatic ones (a disabled or manual service stays down)
        if h.start_modes.get(s, "automatic") == "automatic":
            h.services[s] = RUNNING
    return Done(f"rebooted (boot {h.boot_count}); automatic services started")


@verb("preserve_files", lambda ctx, a: all(
    f in find_host(ctx, a).saved_files for f in strings(a, "files")))  # fmt: skip
def _preserve(ctx: Ctx, a: Action) -> Done:
    h = ctx.edit_host(host_of(a))
    for f in strings(a, "files"):
        h.saved_files[f] = h.custom_files.get(f, "standard")
    return Done(f"saved {', '.join(strings(a, 'files'))}")


def _restored(ctx: Ctx, a: Action) -> bool:
    h = find_host(ctx, a)
    return all(
        f in h.saved_files and h.custom_files.get(f) == h.saved_files[f]
        for f in strings(a, "files")
    )


@verb("restore_files", _restored)
def _restore(ctx: Ctx, a: Action) -> Done:
    missing = [f for f in strings(a, "files") if f not in find_host(ctx, a).saved_files]
    if missing:
        raise FatalError(f"{a.id}: no saved copy of {', '.join(missing)}")
    h = ctx.edit_host(host_of(a))
    for f in strings(a, "files"):
        h.custom_files[f] = h.saved_files[f]
    return Done(f"restored {', '.join(strings(a, 'files'))}")


@verb("hook", lambda ctx, a: str(a.params.get("name", a.id)) in find_host(ctx, a).hooks)
def _hook(ctx: Ctx, a: Action) -> Done:
    name = str(a.params.get("name", a.id))
    ctx.edit_host(host_of(a)).hooks.append(name)
    return Done(f"hook {name!r} ran")
