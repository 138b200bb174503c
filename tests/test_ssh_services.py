"""Service names over real sshd on a host "image" without systemd (issue 18).

The image is a PATH of its own: every program of the machine except ``systemctl``,
``service`` and ``rc-service`` (symlinks in ``sysbin``), and first on PATH ``flavor``, a
symlink the tests point at one service manager at a time: a stand-in SysV ``service`` that
resolves its argument as ``/etc/init.d/ARG`` exactly as Debian's does (no check of its own),
a stand-in OpenRC ``rc-service`` (``--`` ends its options), or a stand-in ``systemctl`` with
``/run/systemd/system`` present. ``ORCH_SERVICE_ROOT`` (set by sshd) puts ``/etc`` and
``/run`` of the image in a directory here. Init scripts keep their state in files.

For every path-like name (``../../tmp/x/evil.sh`` and friends) the image holds an
executable that writes a canary; no canary may appear, whatever the step or the manager.
"""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from orchestrator.engine._clock import RealClock
from orchestrator.engine._engine import Engine, EngineOptions
from orchestrator.engine._journal import Journal
from orchestrator.engine._observers import Recorder
from orchestrator.engine._retry import RetryPolicy
from orchestrator.errors import FatalError
from orchestrator.plan import Action, Plan
from orchestrator.transports._driver import TransportDriver
from orchestrator.transports._ssh import SSHTransport
from tests.hostile import HOSTILE, canaries

if TYPE_CHECKING:
    from .sshd import Sshd, SshdLab

pytest_plugins = ["tests.sshd"]

FLAVORS = ("sysv", "openrc", "systemd")
ABSENT = frozenset({"systemctl", "service", "rc-service"})

INIT_SCRIPT = """#!/bin/sh
state={state}/{name}
case $1 in
  start) echo running >"$state" ;;
  stop) echo stopped >"$state" ;;
  status) [ "$(cat "$state" 2>/dev/null)" = running ] || exit 3 ;;
  *) exit 2 ;;
esac
"""
EVIL = '#!/bin/sh\necho "$0 $*" >>{canary}\n'

# Debian's service(8): SERVICEDIR/SERVICE, no check of the name (the defect of issue 18).
SERVICE = """#!/bin/sh
printf 'service %s\\n' "$*" >>{log}
SERVICEDIR="$ORCH_SERVICE_ROOT/etc/init.d"
if [ -x "$SERVICEDIR/$1" ]; then exec "$SERVICEDIR/$1" "$2"; fi
echo "$1: unrecognized service" >&2
exit 1
"""
RC_SERVICE = """#!/bin/sh
printf 'rc-service %s\\n' "$*" >>{log}
while [ $# -gt 0 ]; do
  case $1 in
    --) shift; break ;;
    -*) echo "rc-service: unknown option $1" >&2; exit 1 ;;
    *) break ;;
  esac
done
d="$ORCH_SERVICE_ROOT/etc/init.d"
[ -x "$d/$1" ] || {{ echo " * rc-service: service \\`$1' does not exist" >&2; exit 1; }}
exec "$d/$1" "$2"
"""
SYSTEMCTL = """#!/bin/sh
printf 'systemctl %s\\n' "$*" >>{log}
cmd=$1
shift
while [ $# -gt 0 ]; do
  case $1 in --) shift; break ;; -p) shift 2 ;; -*) shift ;; *) break ;; esac
done
unit="$ORCH_SERVICE_ROOT/etc/init.d/$1"
if [ ! -x "$unit" ]; then
  [ "$cmd" = show ] && {{ echo LoadState=not-found; exit 0; }}
  exit 5
fi
case $cmd in
  show) echo LoadState=loaded ;;
  is-active) "$unit" status ;;
  is-enabled) echo enabled ;;
  start | stop) "$unit" "$cmd" ;;
  list-dependencies) echo "$1" ;;
  *) exit 1 ;;
esac
"""


class Image:
    """The host image: directories, stand-ins, init scripts, canaries."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.root = work / "root"  # ORCH_SERVICE_ROOT
        self.initd = self.root / "etc/init.d"
        self.state = work / "svc-state"
        self.canary = work / "canary"
        self.log = work / "tools.log"
        self.flavor = work / "flavor"
        for d in (
            self.initd,
            self.state,
            self.root / "etc/rc2.d",
            self.root / "etc/runlevels/default",
        ):
            d.mkdir(parents=True, exist_ok=True)
        self.sysbin = work / "sysbin"
        self.sysbin.mkdir()
        for directory in ("/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"):
            if not os.path.isdir(directory) or os.path.islink(directory):
                continue
            for name in os.listdir(directory):
                link = self.sysbin / name
                if name not in ABSENT and not link.exists() and not link.is_symlink():
                    link.symlink_to(os.path.join(directory, name))
        tools = {"sysv": ("service", SERVICE), "openrc": ("rc-service", RC_SERVICE)}
        tools["systemd"] = ("systemctl", SYSTEMCTL)
        for flavor, (name, text) in tools.items():
            (work / flavor).mkdir()
            self._exe(work / flavor / name, text.format(log=self.log))
        # an executable wherever a path-like name would lead a tool
        evil = EVIL.format(canary=self.canary)
        for path in (
            self.root / "tmp/x/evil.sh",  # ../../tmp/x/evil.sh from etc/init.d
            work / "tmp/x/evil.sh",  # ../../../tmp/x/evil.sh
            self.root / "x",  # ../../x
            self.initd / ".hidden",
            self.initd / "-x",
            self.initd / "--help",
            self.initd / "a b",
        ):
            path.parent.mkdir(parents=True, exist_ok=True)
            self._exe(path, evil)
        self.use("sysv")

    @staticmethod
    def _exe(path: Path, text: str) -> None:
        path.write_text(text)
        path.chmod(0o755)

    def use(self, flavor: str) -> None:
        """Point the image at one service manager."""
        self.flavor.unlink(missing_ok=True)
        self.flavor.symlink_to(self.work / flavor)
        run_systemd = self.root / "run/systemd/system"
        if flavor == "systemd":
            run_systemd.mkdir(parents=True, exist_ok=True)
        elif run_systemd.exists():
            run_systemd.rmdir()

    def service(self, name: str, state: str | None, enabled: bool = True) -> None:
        """An init script ``name`` (``state`` running/stopped), enabled in runlevel 2."""
        self._exe(self.initd / name, INIT_SCRIPT.format(state=self.state, name=name))
        if state:
            (self.state / name).write_text(state + "\n")
            (self.state / name).chmod(0o666)  # the init script runs as the test account
        if enabled:
            (self.root / "etc/rc2.d" / f"S01{name}").symlink_to(f"../init.d/{name}")
            (self.root / "etc/runlevels/default" / name).symlink_to(f"../../init.d/{name}")

    def state_of(self, name: str) -> str:
        path = self.state / name
        return path.read_text().strip() if path.exists() else "(none)"


@pytest.fixture(scope="module")
def image(lab: SshdLab) -> Iterator[tuple[Image, Sshd]]:
    # the test account must reach it: not under pytest's private (0700) temp dirs
    work = Path(tempfile.mkdtemp(prefix="orch-svc-", dir="/tmp"))
    work.chmod(0o755)
    img = Image(work)
    account = pwd.getpwnam(lab.account.user)
    for path in (img.state, img.work):
        os.chown(path, account.pw_uid, account.pw_gid)
    img.log.touch()
    img.log.chmod(0o666)
    env = {"ORCH_SERVICE_ROOT": str(img.root), "ORCH_STATE_DIR": str(work / "orch-state")}
    server = lab.sshd("127.0.0.5", path=f"{img.flavor}:{img.sysbin}", env=env)
    try:
        yield img, server
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


def facts() -> dict[str, Any]:
    return {"hosts": {"lx1": {"platform": "linux", "connection": {"kind": "ssh"}}}}


@pytest.fixture
def driver(image: tuple[Image, Sshd], lab: SshdLab) -> Iterator[TransportDriver]:
    img, server = image

    def connect(host: str) -> SSHTransport:
        return SSHTransport(
            host, server.address, port=server.port, user=lab.account.user,
            key_file=lab.account.key_file, known_hosts=lab.known_hosts(server),
        )  # fmt: skip

    d = TransportDriver(facts(), connect, scope="svc")
    yield d
    d.close()
    img.use("sysv")


def act(aid: str, kind: str, services: list[str], purpose: str = "interfering") -> Action:
    return Action(aid, kind, "lx1", None, {"services": services, "purpose": purpose}, (), 1, "t")


PATH_NAMES = (
    "../../tmp/x/evil.sh",
    "../../../tmp/x/evil.sh",
    "../../x",
    "/bin/sh",
    f"/{'/'.join(['..'] * 8)}/bin/sh",
    "-x",
    "--help",
    ".hidden",
    "a b",
)


@pytest.mark.parametrize("flavor", FLAVORS)
def test_path_names_never_reach_a_service_manager(
    flavor: str, image: tuple[Image, Sshd], driver: TransportDriver
) -> None:
    img, _ = image
    img.use(flavor)
    img.log.write_text("")
    for name in PATH_NAMES:
        for kind in ("stop_services", "start_services"):
            action = act(f"evil/{kind}", kind, ["cron-ok", name])
            for step in (driver.probe, lambda a: driver.apply(a, 60), driver.verify):
                with pytest.raises(FatalError, match="refused service name"):
                    step(action)
        check = Action("evil/check", "verify", "lx1", None,
                       {"check": "services-running", "services": [name]}, (), 1, "t")  # fmt: skip
        with pytest.raises(FatalError, match="refused service name"):
            driver.verify(check)
    assert not img.canary.exists(), img.canary.read_text()
    called = img.log.read_text()
    for name in PATH_NAMES:
        assert name not in called.replace("cron-ok", ""), called


def test_the_hostile_corpus_never_reaches_a_service_manager(
    image: tuple[Image, Sshd], driver: TransportDriver
) -> None:
    img, _ = image
    img.log.write_text("")
    canary = img.work / "hostile-canary"
    for name in (*HOSTILE, *canaries(str(canary))):
        if "\0" in name:
            continue
        action = act("hostile/stop", "stop_services", [name])
        with pytest.raises(FatalError, match="refused service name"):
            driver.apply(action, 60)
    assert not canary.exists() and not img.canary.exists()
    assert img.log.read_text() == "", "no service manager was called"


@pytest.mark.parametrize("flavor", FLAVORS)
def test_a_missing_service_is_skipped_and_reported(
    flavor: str, image: tuple[Image, Sshd], driver: TransportDriver
) -> None:
    img, _ = image
    img.use(flavor)
    up, down = f"up-{flavor}", f"down-{flavor}"
    img.service(up, "running")
    img.service(down, "stopped", enabled=False)
    names = [up, f"ghost-{flavor}", down]
    stop = act(f"{flavor}/stop", "stop_services", names)
    start = act(f"{flavor}/start", "start_services", names)
    assert driver.probe(stop) is False
    result = driver.apply(stop, 60)
    assert f"skipped (not installed): ghost-{flavor}" in result.output, result.output
    assert result.data["services_skipped"] == [f"ghost-{flavor}"]
    assert [s["name"] for s in result.data["services_stopped"]] == [up]
    assert result.data["services_stopped"][0]["start_mode"] == "enabled"
    assert result.data["note"] == f"skipped (not installed): ghost-{flavor}"
    assert img.state_of(up) == "stopped" and img.state_of(down) == "stopped"
    assert driver.probe(stop) is True
    driver.verify(stop)
    assert driver.probe(start) is False
    result = driver.apply(start, 60)
    assert f"started: {up}" in result.output and f"ghost-{flavor}" in result.output
    assert f"left stopped (stopped before the run): {down}" in result.output
    driver.verify(start)
    assert driver.probe(start) is True
    assert img.state_of(up) == "running", "restored"
    assert img.state_of(down) == "stopped", "left as it was found"
    product = act(f"{flavor}/product", "start_services", [f"ghost-{flavor}"], "product")
    with pytest.raises(FatalError, match=f"service ghost-{flavor} does not exist"):
        driver.apply(product, 60)
    assert not img.canary.exists()


def _run(plan: Plan, driver: TransportDriver, journal: Journal) -> str:
    run_id = journal.create_run(plan.to_json(), plan, {}, RealClock().now())
    options = EngineOptions(forks=1, policy=RetryPolicy(1, 0.1, 0.2))
    Engine(plan, run_id, journal, driver, RealClock(), Recorder(), options).run()
    return run_id


def _plan(prefix: str, services: list[str], failing: str) -> Plan:
    """stop → install (fails if ``failing`` is install) → start; or a failing preflight
    before the stop (``failing`` = preflight)."""
    chain: list[tuple[str, str, dict[str, Any]]] = []
    if failing == "preflight":
        chain.append(("pre", "preflight", {"check": "disk-space", "min_free_mb": 10**12}))
    chain += [
        ("stop", "stop_services", {"services": services, "purpose": "interfering"}),
        ("install", "install", {"package": f"app-{prefix}", "version": "1", "package_kind": "deb",
                                "command": "exit 3" if failing == "install" else "true"}),
        ("start", "start_services", {"services": services, "purpose": "interfering"}),
    ]  # fmt: skip
    actions: list[Action] = []
    for aid, kind, params in chain:
        after = (actions[-1].id,) if actions else ()
        actions.append(Action(f"{prefix}/{aid}", kind, "lx1", None, params, after, 1, "t1", aid))
    return Plan({"name": prefix}, {}, facts(), tuple(actions), {}, {})


def test_compensation_restarts_exactly_what_this_run_stopped(
    image: tuple[Image, Sshd], driver: TransportDriver, tmp_path: Path
) -> None:
    img, _ = image
    img.use("sysv")
    a, b, c = "comp-a", "comp-b", "comp-c"
    img.service(a, "running")
    img.service(b, "stopped")  # stopped before the run
    img.service(c, "running")
    # an earlier run stopped c and never put it back: the host remembers c as running
    driver.apply(act("earlier/stop", "stop_services", [c]), 60)
    assert img.state_of(c) == "stopped"
    journal = Journal(tmp_path / "journal.sqlite")
    run_id = _run(_plan("comp", [a, b, c, "ghost"], "install"), driver, journal)
    states = {aid: r.state for aid, r in journal.actions(run_id).items()}
    assert states["comp/install"] == "failed"
    assert states["compensate/comp/start"] == "done", journal.actions(run_id)
    stopped = journal.stopped_services(run_id)
    assert [(s.service, s.previous_state, s.start_mode) for s in stopped["comp/stop"]] == [
        (a, "active", "enabled")
    ]
    assert img.state_of(a) == "running", "this run stopped a: compensation started it"
    assert img.state_of(b) == "stopped", "stopped before the run: stays stopped"
    assert img.state_of(c) == "stopped", "not stopped by this run: not started"
    assert "skipped (not installed): ghost" in journal.actions(run_id)["comp/stop"].message


def test_compensation_starts_nothing_when_the_stop_never_ran(
    image: tuple[Image, Sshd], driver: TransportDriver, tmp_path: Path
) -> None:
    img, _ = image
    img.use("openrc")
    d = "never-d"
    img.service(d, "stopped")
    img.log.write_text("")
    journal = Journal(tmp_path / "journal.sqlite")
    run_id = _run(_plan("never", [d], "preflight"), driver, journal)
    records = journal.actions(run_id)
    assert records["never/pre"].state == "failed"
    assert records["never/stop"].state == "cancelled"
    assert records["compensate/never/start"].state == "skipped"
    assert records["compensate/never/start"].message == "this run stopped none of these services"
    assert img.state_of(d) == "stopped"
    assert "start" not in img.log.read_text()


def test_the_real_debian_service_command(lab: SshdLab, tmp_path: Path, request: Any) -> None:
    """Debian's own service(8) (init-system-helpers) under the production paths: a real
    /etc/init.d script is stopped and started, a missing one skipped, evil names refused."""
    real = shutil.which("service") or "/usr/sbin/service"
    if os.geteuid() != 0 or not os.access(real, os.X_OK) or os.path.isdir("/run/systemd/system"):
        pytest.skip("needs root, Debian's service(8) and no running systemd")
    work = Path(tempfile.mkdtemp(prefix="orch-svc-real-", dir="/tmp"))
    work.chmod(0o777)
    request.addfinalizer(lambda: shutil.rmtree(work, ignore_errors=True))
    name = f"orch-test-{work.name[-8:].lower()}"
    script = Path("/etc/init.d") / name
    script.write_text(INIT_SCRIPT.format(state=work, name=name))
    script.chmod(0o755)
    request.addfinalizer(lambda: script.unlink(missing_ok=True))
    (work / name).write_text("running\n")
    (work / name).chmod(0o666)
    bin_dir = work / "bin"  # the system's programs, less systemctl (no systemd here)
    bin_dir.mkdir()
    for directory in ("/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"):
        if os.path.isdir(directory) and not os.path.islink(directory):
            for tool in os.listdir(directory):
                link = bin_dir / tool
                if tool != "systemctl" and not link.exists() and not link.is_symlink():
                    link.symlink_to(os.path.join(directory, tool))
    evil = work / "x" / "evil.sh"
    evil.parent.mkdir()
    evil.write_text(EVIL.format(canary=work / "canary"))
    evil.chmod(0o755)
    server = lab.sshd("127.0.0.6", path=str(bin_dir), env={"ORCH_STATE_DIR": str(work / "st")})
    request.addfinalizer(server.stop)

    def connect(host: str) -> SSHTransport:
        return SSHTransport(
            host, server.address, port=server.port, user=lab.account.user,
            key_file=lab.account.key_file, known_hosts=lab.known_hosts(server),
        )  # fmt: skip

    driver = TransportDriver(facts(), connect, scope="real")
    request.addfinalizer(driver.close)
    relative = os.path.relpath(evil, "/etc/init.d")  # ../../tmp/orch-svc-real-…/x/evil.sh
    with pytest.raises(FatalError, match="refused service name"):
        driver.apply(act("real/evil", "stop_services", [relative]), 60)
    assert not (work / "canary").exists()
    names = [name, "orch-test-ghost-service"]
    result = driver.apply(act("real/stop", "stop_services", names), 60)
    assert result.data["services_skipped"] == ["orch-test-ghost-service"]
    assert [s["name"] for s in result.data["services_stopped"]] == [name]
    assert (work / name).read_text() == "stopped\n"
    driver.verify(act("real/stop", "stop_services", names))
    driver.apply(act("real/start", "start_services", names), 60)
    assert (work / name).read_text() == "running\n"
