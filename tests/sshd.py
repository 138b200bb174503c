"""Real OpenSSH ``sshd`` processes for the SSH transport's tests and benchmark.

Each :class:`Sshd` listens on its own loopback address (127.0.0.2, 127.0.0.3, ...) and a free
port, with a generated ed25519 host key, a generated client key in its authorized keys, and
its pid file and logs in a temporary directory. As root the tests log in as a dedicated user
(``orchssh``, created if missing) with a password made once per machine and kept in a
root-only file; otherwise as the current user with the key only (no password tests).

If ``sshd`` is missing the tests are skipped, or fail when ``CI`` is set."""

from __future__ import annotations

import contextlib
import getpass
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import paramiko
import pytest

SSHD = Path(shutil.which("sshd") or "/usr/sbin/sshd")
TEST_USER = "orchssh"
IS_ROOT = os.geteuid() == 0


def require_sshd() -> None:
    """Skip (or fail under CI) when OpenSSH's sshd is not installed."""
    if os.access(SSHD, os.X_OK) and shutil.which("ssh-keygen"):
        return
    msg = f"OpenSSH sshd not found at {SSHD}: apt-get install -y openssh-server"
    if os.environ.get("CI"):
        pytest.fail(msg, pytrace=False)
    pytest.skip(msg)


@dataclass(frozen=True)
class Account:
    """Who the tests log in as: user, password (None if not root), client key."""

    user: str
    password: str | None
    key_file: Path


def _keygen(path: Path) -> None:
    path.unlink(missing_ok=True)
    Path(f"{path}.pub").unlink(missing_ok=True)
    cmd = ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "orch-test", "-f", str(path)]
    subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL)


def _known_password() -> str:
    """The test user's password: random once per machine, kept in a root-only file, so that
    concurrent test runs agree on it."""
    path = Path.home() / ".cache" / "orchestrator-tests" / "sshd-password"
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent)
        os.write(fd, secrets.token_urlsafe(12).encode())
        os.close(fd)
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
        os.unlink(tmp)
    return path.read_text().strip()


def make_account(workdir: Path) -> Account:
    """Generate the client key; as root, create the test user and set its password."""
    key = workdir / "client_key"
    _keygen(key)
    if not IS_ROOT:
        return Account(getpass.getuser(), None, key)
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    if subprocess.run(["id", TEST_USER], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "-m", "-s", "/bin/sh", TEST_USER], capture_output=True)
        subprocess.run(["id", TEST_USER], capture_output=True, check=True)
    password = _known_password()
    subprocess.run(["chpasswd"], input=f"{TEST_USER}:{password}", text=True, check=True)
    return Account(TEST_USER, password, key)


def free_port(address: str) -> int:
    """A TCP port that is free on ``address`` right now."""
    with socket.socket() as s:
        s.bind((address, 0))
        return int(s.getsockname()[1])


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc), children first."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out: list[int] = []
    todo = list(parents.get(pid, []))
    while todo:
        child = todo.pop()
        out.append(child)
        todo.extend(parents.get(child, []))
    return out


class Sshd:
    """One real sshd on ``address``; :meth:`start`, :meth:`stop`, :meth:`kill_connections`."""

    def __init__(
        self,
        address: str,
        account: Account,
        workdir: Path,
        path: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.address = address
        self.path = path or f"{workdir / 'bin'}:/usr/local/bin:/usr/bin:/bin"
        self.env = dict(env or {})
        self.account = account
        self.dir = workdir / f"sshd-{address}"
        self.dir.mkdir(mode=0o755, exist_ok=True)
        self.port = free_port(address)
        self.host_key = self.dir / "host_key"
        self.log = self.dir / "sshd.log"
        self.proc: subprocess.Popen[bytes] | None = None
        pub = Path(f"{account.key_file}.pub").read_text()
        (self.dir / "authorized_keys").write_text(pub)
        (self.dir / "authorized_keys").chmod(0o644)

    def _config(self) -> Path:
        lines = [
            f"ListenAddress {self.address}:{self.port}",
            f"HostKey {self.host_key}",
            f"PidFile {self.dir}/sshd.pid",
            f"AuthorizedKeysFile {self.dir}/authorized_keys",
            f"AllowUsers {self.account.user}",
            "UsePAM no",
            "PasswordAuthentication yes",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin no",
            "StrictModes no",
            "UseDNS no",
            "PrintMotd no",
            "MaxSessions 50",
            "MaxStartups 100",
            "Subsystem sftp internal-sftp",
            # programs the tests put there come first (e.g. a stand-in powershell.exe)
            "SetEnv " + " ".join(f"{k}={v}" for k, v in {"PATH": self.path, **self.env}.items()),
        ]
        path = self.dir / "sshd_config"
        path.write_text("\n".join(lines) + "\n")
        return path

    def start(self, *, new_host_key: bool = False) -> Sshd:
        """Start (again, same port) and wait until it answers with its banner."""
        if new_host_key or not self.host_key.exists():
            _keygen(self.host_key)
        with self.log.open("ab") as log:
            cmd = [str(SSHD), "-D", "-e", "-f", str(self._config())]
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited: {self.log.read_text()[-2000:]}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection((self.address, self.port), timeout=1) as s,
            ):
                if s.recv(4).startswith(b"SSH-"):
                    return self
            time.sleep(0.01)
        raise RuntimeError(f"sshd on {self.address}:{self.port} did not start")

    def kill_connections(self) -> int:
        """SIGKILL every per-connection sshd process (and the sessions under them)."""
        if self.proc is None:
            return 0
        pids = descendants(self.proc.pid)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return len(pids)

    def stop(self) -> None:
        """Kill the connections and the listener."""
        if self.proc is not None:
            self.kill_connections()
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    @property
    def fingerprint(self) -> str:
        """The host key's ``SHA256:...`` fingerprint."""
        return str(paramiko.Ed25519Key(filename=str(self.host_key)).fingerprint)

    def known_hosts_line(self) -> str:
        """This sshd's line for a known_hosts file."""
        key_type, blob = Path(f"{self.host_key}.pub").read_text().split()[:2]
        return f"[{self.address}]:{self.port} {key_type} {blob}\n"


class SshdLab:
    """A scratch directory, the test account, and the sshds started in it."""

    def __init__(self) -> None:
        require_sshd()
        self.workdir = Path(tempfile.mkdtemp(prefix="orch-sshd-"))
        self.workdir.chmod(0o755)
        self.remote = self.workdir / "remote"
        self.remote.mkdir(mode=0o1777)
        self.remote.chmod(0o1777)
        self.bin = self.workdir / "bin"  # first on the sessions' PATH
        self.bin.mkdir(mode=0o755)
        self.account = make_account(self.workdir)
        self.servers: list[Sshd] = []

    def sshd(
        self, address: str, path: str | None = None, env: Mapping[str, str] | None = None
    ) -> Sshd:
        """A started sshd on ``address``; its sessions get ``path`` as PATH (default: the
        lab's bin first, then the system's) and the variables ``env``."""
        server = Sshd(address, self.account, self.workdir, path, env)
        self.servers.append(server)
        return server.start()

    def known_hosts(self, *servers: Sshd) -> Path:
        """A fresh known_hosts file listing ``servers``."""
        path = Path(tempfile.mkstemp(prefix="known_hosts-", dir=self.workdir)[1])
        path.write_text("".join(s.known_hosts_line() for s in servers))
        return path

    def close(self) -> None:
        """Stop every sshd and remove the scratch directory."""
        for server in self.servers:
            server.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


@contextlib.contextmanager
def sshd_lab() -> Iterator[SshdLab]:
    """An :class:`SshdLab`, closed on exit."""
    lab = SshdLab()
    try:
        yield lab
    finally:
        lab.close()


@pytest.fixture(scope="module")
def lab() -> Iterator[SshdLab]:
    """The lab for one test module."""
    with sshd_lab() as the_lab:
        yield the_lab


@pytest.fixture
def start_sshd(lab: SshdLab) -> Iterator[Callable[[str], Sshd]]:
    """Start sshds for one test (``start_sshd("127.0.0.2")``); stopped after it."""
    started: list[Sshd] = []

    def start(address: str) -> Sshd:
        server = lab.sshd(address)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
