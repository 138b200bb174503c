"""The SSH transport against real OpenSSH sshd processes on 127.0.0.2 and 127.0.0.3."""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from orchestrator.errors import (
    AuthenticationError,
    FatalError,
    HostUnreachable,
    StepError,
    StepTimeout,
    TransientError,
)
from orchestrator.transports import _ssh
from orchestrator.transports._protocol import Result
from orchestrator.transports._ssh import SSHTransport
from orchestrator.transports._ssh_connect import HostKeyChanged, UnknownHostKey

if TYPE_CHECKING:
    from .sshd import Sshd, SshdLab

pytest_plugins = ["tests.sshd"]

#: Prints the pid of the interpreter loop: the step's ancestor whose parent is sshd.
LOOP_PID = r"""p=$$
while [ "$p" -gt 1 ]; do
  pp=$(sed 's/.*) //' /proc/$p/stat | cut -d' ' -f2)
  case $(cat /proc/$pp/comm) in sshd*) echo "$p"; exit 0;; esac
  p=$pp
done
exit 1
"""

StartSshd = Callable[[str], "Sshd"]


def transport(lab: SshdLab, server: Sshd, **kw: object) -> SSHTransport:
    """A key-authenticated transport that knows ``server``'s host key."""
    options: dict[str, object] = {
        "user": lab.account.user,
        "key_file": lab.account.key_file,
        "known_hosts": lab.known_hosts(server),
    }
    options.update(kw)
    return SSHTransport(f"host-{server.address}", server.address, port=server.port, **options)  # type: ignore[arg-type]


@pytest.fixture
def ssh(lab: SshdLab, start_sshd: StartSshd) -> Iterator[SSHTransport]:
    """A transport to a fresh sshd on 127.0.0.2."""
    with transport(lab, start_sshd("127.0.0.2")) as t:
        yield t


def wait_for(cond: Callable[[], bool], timeout: float = 10) -> None:
    """Poll ``cond`` until it holds."""
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


# -- run -------------------------------------------------------------------------------------


def test_stdout_stderr_exit_code_and_payload(ssh: SSHTransport) -> None:
    r = ssh.run(
        'echo out; echo err >&2; printf \'{"ok": true, "n": 2}\' > "$ORCH_PAYLOAD"; exit 3',
        timeout=10,
    )
    assert (r.exit_code, r.stdout, r.stderr) == (3, "out\n", "err\n")
    assert r.payload == {"ok": True, "n": 2}
    assert 0 < r.duration < 5
    assert ssh.run("true", timeout=10).exit_code == 0
    assert ssh.run("exit 255", timeout=10).exit_code == 255


def test_binary_large_and_unicode_output(ssh: SSHTransport) -> None:
    assert ssh.run(r"printf 'a\000b\377c'", timeout=10).stdout == "a\x00b\ufffdc"
    big = ssh.run("head -c 1048576 /dev/zero | tr '\\0' x", timeout=30).stdout
    assert big == "x" * 1048576
    text = "héllo ✓ 日本語 'quoted' \"double\" $HOME `tick`"
    r = ssh.run(f"cat <<'EOF'\n{text}\nEOF\necho 'ß' >&2", timeout=10)
    assert (r.stdout, r.stderr) == (text + "\n", "ß\n")


def test_timeout_raises_and_the_same_interpreter_answers_next(ssh: SSHTransport) -> None:
    pid = ssh.run(LOOP_PID, timeout=10).stdout
    start = time.monotonic()
    with pytest.raises(StepTimeout) as caught:
        ssh.run("sleep 20", timeout=1)
    assert time.monotonic() - start < 5 and caught.value.exit_code == 124
    assert ssh.run(LOOP_PID, timeout=10).stdout == pid
    assert (ssh.interpreter_starts, ssh.fallbacks) == (1, 0)


@pytest.mark.parametrize("signal", ["TERM", "KILL"])
def test_killed_interpreter_falls_back_then_a_new_one_starts(
    ssh: SSHTransport, lab: SshdLab, signal: str
) -> None:
    first = ssh.run(LOOP_PID, timeout=10).stdout.strip()
    marker = lab.remote / f"killed-{os.getpid()}-{time.monotonic_ns()}"
    # Kills its own interpreter the first time; the fallback channel runs it again. (After a
    # KILL the channel closes only when the step's watchdog ends: keep the timeout short.)
    script = f"if [ ! -e {marker} ]; then touch {marker}; kill -{signal} {first}; sleep 2; fi"
    assert ssh.run(script + "; echo done", timeout=1).stdout == "done\n"
    assert ssh.fallbacks == 1
    second = ssh.run(LOOP_PID, timeout=10).stdout.strip()
    assert second and second != first
    assert ssh.interpreter_starts == 2
    # An interpreter that died between calls is simply replaced.
    ssh.run(f"(sleep 0.2; kill -{signal} {second}) >/dev/null 2>&1 &", timeout=10)
    wait_for(lambda: not Path(f"/proc/{second}").exists())
    third = ssh.run(LOOP_PID, timeout=10).stdout.strip()
    assert third not in (first, second)
    assert ssh.interpreter_starts == 3


def test_one_channel_per_step_mode(lab: SshdLab, start_sshd: StartSshd) -> None:
    with transport(lab, start_sshd("127.0.0.2"), persistent=False) as t:
        pids = {t.run(LOOP_PID, timeout=10).stdout for _ in range(3)}
        assert len(pids) == 3 and t.interpreter_starts == 0
        with pytest.raises(StepTimeout):
            t.run("sleep 20", timeout=1)


def test_no_answer_by_the_deadline_falls_back_then_times_out(
    ssh: SSHTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_ssh, "DEADLINE_GRACE_S", 0.3)
    first = ssh.run(LOOP_PID, timeout=10).stdout
    start = time.monotonic()
    with pytest.raises(StepTimeout, match=r"no answer within 1\.3 s"):
        ssh.run("trap '' TERM; sleep 8", timeout=1)  # the loop's TERM cannot stop it
    assert time.monotonic() - start < 5 and ssh.fallbacks == 1
    assert ssh.run(LOOP_PID, timeout=10).stdout != first


# -- authentication and host keys ------------------------------------------------------------


def test_password_auth_and_wrong_password(
    lab: SshdLab, start_sshd: StartSshd, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    if lab.account.password is None:
        pytest.skip("password logins need root (sshd reads /etc/shadow)")
    server = start_sshd("127.0.0.2")
    with transport(lab, server, key_file=None, password=lab.account.password) as t:
        assert t.run("id -un", timeout=10).stdout.strip() == lab.account.user
    wrong = "not-the-Password-42"
    t = transport(lab, server, key_file=None, password=wrong)
    with pytest.raises(AuthenticationError) as caught:
        t.run("true", timeout=10)
    assert isinstance(caught.value, FatalError)
    assert wrong not in str(caught.value) and wrong not in repr(t)
    assert lab.account.password not in caplog.text and wrong not in caplog.text


def test_refused_and_silent_ports_are_unreachable() -> None:
    with socket.socket() as closed, socket.socket() as silent:
        closed.bind(("127.0.0.2", 0))  # bound, not listening: connections are refused
        silent.bind(("127.0.0.3", 0))
        silent.listen()  # accepts TCP connections, never says a word
        refused = SSHTransport("h", "127.0.0.2", port=closed.getsockname()[1], user="u")
        with pytest.raises(HostUnreachable, match=r"127\.0\.0\.2"):
            refused.run("true", timeout=10)
        port = silent.getsockname()[1]
        t = SSHTransport("h", "127.0.0.3", port=port, user="u", connect_timeout_s=0.5)
        start = time.monotonic()
        with pytest.raises(HostUnreachable):
            t.run("true", timeout=10)
        assert time.monotonic() - start < 5


def test_unknown_host_key_is_refused_by_default(
    lab: SshdLab, start_sshd: StartSshd, tmp_path: Path
) -> None:
    server = start_sshd("127.0.0.2")
    with pytest.raises(UnknownHostKey) as caught:
        transport(lab, server, known_hosts=tmp_path / "known_hosts").run("true", timeout=10)
    msg = str(caught.value)
    assert isinstance(caught.value, FatalError)
    assert server.fingerprint in msg and f"host-{server.address}" in msg
    assert "ssh-keyscan" in msg and "--accept-new-host-keys" in msg


def test_accept_new_saves_the_key_and_a_changed_key_is_refused(
    lab: SshdLab, start_sshd: StartSshd, tmp_path: Path
) -> None:
    server = start_sshd("127.0.0.2")
    known = tmp_path / "ssh" / "known_hosts"
    with transport(lab, server, known_hosts=known, accept_new_host_keys=True) as t:
        t.run("true", timeout=10)
    assert f"[{server.address}]:{server.port} ssh-ed25519 " in known.read_text()
    with transport(lab, server, known_hosts=known) as t:  # default policy: now known
        t.run("true", timeout=10)
    old = server.fingerprint
    server.stop()
    server.start(new_host_key=True)
    for accept in (False, True):
        t = transport(lab, server, known_hosts=known, accept_new_host_keys=accept)
        with pytest.raises(HostKeyChanged) as caught:
            t.run("true", timeout=10)
        assert old in str(caught.value) and server.fingerprint in str(caught.value)
        assert "ssh-keygen -R" in str(caught.value)


# -- connection loss, threads, several hosts ---------------------------------------------------


def test_dropped_connection_is_transient_and_reconnects(
    lab: SshdLab, start_sshd: StartSshd
) -> None:
    server = start_sshd("127.0.0.2")
    started = lab.remote / f"started-{time.monotonic_ns()}"
    errors: list[BaseException] = []
    with transport(lab, server) as t:
        t.run("true", timeout=10)

        def step() -> None:
            try:
                t.run(f"touch {started}; sleep 5", timeout=20)
            except StepError as exc:
                errors.append(exc)

        worker = threading.Thread(target=step)
        worker.start()
        wait_for(started.exists)
        server.stop()
        worker.join(timeout=10)
        assert not worker.is_alive()
        assert len(errors) == 1 and isinstance(errors[0], TransientError), errors
        with pytest.raises(HostUnreachable):  # sshd is down: refused
            t.run("true", timeout=10)
        server.start()
        assert t.run("echo back", timeout=10).stdout == "back\n"


def test_two_threads_share_one_transport(ssh: SSHTransport) -> None:
    outputs: dict[int, list[str]] = {0: [], 1: []}

    def work(n: int) -> None:
        for i in range(15):
            outputs[n].append(ssh.run(f"echo {n}-{i}", timeout=10).stdout.strip())

    threads = [threading.Thread(target=work, args=(n,)) for n in outputs]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for n, got in outputs.items():
        assert got == [f"{n}-{i}" for i in range(15)]
    assert ssh.interpreter_starts == 1


def test_several_hosts_at_once(lab: SshdLab, start_sshd: StartSshd) -> None:
    servers = [start_sshd("127.0.0.2"), start_sshd("127.0.0.3")]
    seen: dict[str, str] = {}

    def work(server: Sshd) -> None:
        with transport(lab, server) as t:
            for _ in range(5):
                seen[server.address] = t.run("echo $SSH_CONNECTION", timeout=10).stdout

    threads = [threading.Thread(target=work, args=(s,)) for s in servers]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for s in servers:
        assert seen[s.address].split()[2:] == [s.address, str(s.port)]


# -- files -----------------------------------------------------------------------------------


def test_put_get_round_trip(ssh: SSHTransport, lab: SshdLab, tmp_path: Path) -> None:
    data = os.urandom(300_000)
    local = tmp_path / "in.bin"
    local.write_bytes(data)
    remote = str(lab.remote / f"copy-{time.monotonic_ns()}.bin")
    ssh.put(local, remote)
    session = ssh._sftp
    ssh.get(remote, tmp_path / "out.bin")
    assert session is not None and ssh._sftp is session  # one SFTP session, reused
    assert (tmp_path / "out.bin").read_bytes() == data
    assert ssh.run(f"wc -c < {remote}", timeout=10).stdout.strip() == "300000"
    with pytest.raises(FatalError):
        ssh.get(str(lab.remote / "missing"), tmp_path / "x")
    with pytest.raises(FatalError):
        ssh.put(tmp_path / "missing", remote)


def test_file_facts_of_100_files_in_one_call(
    ssh: SSHTransport, lab: SshdLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = lab.remote / f"facts-{time.monotonic_ns()}"
    folder.mkdir()
    names = [f"f{i:03d}" for i in range(97)] + ["with space", "new\nline", "quote'd"]
    for i, name in enumerate(names):
        (folder / name).write_bytes(os.urandom(i * 37))
    secret = folder / "secret"
    secret.write_bytes(b"root only")
    secret.chmod(0o600)  # the test account cannot read it
    paths = [str(folder / n) for n in names] + [str(folder / "missing"), str(folder), str(secret)]
    calls: list[str] = []
    real_run = ssh.run

    def counting_run(script: str, *, timeout: float) -> Result:
        calls.append(script)
        return real_run(script, timeout=timeout)

    monkeypatch.setattr(ssh, "run", counting_run)
    facts = ssh.file_facts(paths)
    assert len(calls) == 1
    assert facts[str(folder / "missing")] is None and facts[str(folder)] is None
    assert facts[str(secret)] == {"error": "permission denied"}
    for name in names:
        path = folder / name
        got = facts[str(path)]
        assert got is not None
        assert got["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert (got["size"], got["mtime"]) == (path.stat().st_size, int(path.stat().st_mtime))
    assert ssh.file_facts([]) == {}
