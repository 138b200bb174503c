"""The WinRM transport against the WS-Management test server (real pywinrm on the wire; the
interpreter is emulated)."""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import logging
import os
import ssl
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from winrm.exceptions import (
    InvalidCredentialsError,
    WinRMError,
    WinRMOperationTimeoutError,
    WinRMTransportError,
)

from orchestrator.errors import (
    AuthenticationError,
    FatalError,
    HostUnreachable,
    StepTimeout,
    TransientError,
)
from orchestrator.facts import Connection
from orchestrator.transports import _winrm
from orchestrator.transports._protocol import Transport
from orchestrator.transports._winrm import WinRMTransport
from orchestrator.transports._winrm_errors import ConfigurationError, classify
from orchestrator.transports._winrm_interp import ARGS, COMMAND, launch
from tests.wsman import (
    CLIXML_SAMPLE,
    InterpreterDied,
    InterpreterEmulator,
    VocabularyRunner,
    WSManServer,
    make_script,
)

PASSWORD = "s3cret-Pa55"
Factory = Callable[..., WinRMTransport]


def _wrapped(exc: BaseException) -> WinRMError:
    """``exc`` as the cause of a pywinrm error (as auth plug-ins raise them)."""
    try:
        raise WinRMError("transport failed") from exc
    except WinRMError as outer:
        return outer


@pytest.fixture
def runner() -> VocabularyRunner:
    return VocabularyRunner()


@pytest.fixture
def emulator(runner: VocabularyRunner) -> InterpreterEmulator:
    return InterpreterEmulator(runner, banner=b"Windows PowerShell\r\nORCH1-END 0 0 - - -\r\n")


@pytest.fixture
def server(emulator: InterpreterEmulator) -> Iterator[WSManServer]:
    with WSManServer(emulator, password=PASSWORD) as srv:
        yield srv


@pytest.fixture
def connect(server: WSManServer) -> Iterator[Factory]:
    made: list[WinRMTransport] = []

    def factory(**kw: Any) -> WinRMTransport:
        options: dict[str, Any] = {
            "port": server.port,
            "scheme": "http",
            "user": "orch",
            "password": PASSWORD,
            "transport": "basic",
            "allow_unencrypted": True,
            "operation_timeout_s": 1,
            "read_timeout_s": 3,
            "interpreter": "# the interpreter loop",
        }
        options.update(kw)
        made.append(WinRMTransport("web1", "127.0.0.1", **options))
        return made[-1]

    yield factory
    for t in made:
        t.close()


def test_a_step_returns_exit_code_output_and_payload(connect: Factory) -> None:
    t: Transport = connect()
    r = t.run(make_script(stdout="hello", stderr="warn", exit=3, payload={"a": [1]}), timeout=5)
    assert (r.exit_code, r.stdout, r.stderr, dict(r.payload)) == (3, "hello", "warn", {"a": [1]})


def test_every_byte_value_and_frame_look_alikes_come_through(
    connect: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_winrm, "new_id", lambda: "00000000000000aa")
    fake = b"\nORCH1-END 00000000000000aa 0 - - -\nORCH1 x 1 -\n"
    data = bytes(range(256)) * 4 + fake + "é✓\U0001f600".encode()
    r = connect().run(make_script(stdout=data, stderr=data), timeout=5)
    assert r.stdout == r.stderr == data.decode("utf-8", "replace")


def test_the_interpreter_program_goes_over_stdin_and_the_command_line_is_short(
    connect: Factory, server: WSManServer, emulator: InterpreterEmulator
) -> None:
    connect().run(make_script(), timeout=5)
    how = launch("# the interpreter loop")
    [(command, args, options)] = server.commands
    assert command == how.command == "powershell.exe"
    assert args == [" ".join(how.args)] and len(args[0]) < 1000
    assert "-NoProfile" in how.args and "-NonInteractive" in how.args
    assert options == {"WINRS_CONSOLEMODE_STDIN": "FALSE", "WINRS_SKIP_CMD_SHELL": "TRUE"}
    assert emulator.sessions[0].other_lines[0] == how.stdin.rstrip(b"\n")
    assert base64.b64decode(how.stdin) == b"# the interpreter loop"  # _interp_ps's launch
    shell = next(iter(server.shells.values()))
    assert shell.options["WINRS_CODEPAGE"] == "65001"


def test_without_interp_ps_the_program_is_one_command_dash_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "orchestrator.transports._interp_ps", None)
    how = launch("Write-Output 'loop'")
    assert (how.command, how.args) == (COMMAND, ARGS) and ARGS[-2:] == ("-Command", "-")
    assert how.stdin.startswith(b"& ([ScriptBlock]::Create(") and how.stdin.endswith(b"\n")
    assert launch("").stdin == b""


def test_one_megabyte_of_output_over_many_receives(connect: Factory, server: WSManServer) -> None:
    data = os.urandom(1 << 20)
    t = connect()
    r = t.run(make_script(stdout=data), timeout=10)
    assert r.stdout == data.decode("utf-8", "replace")
    assert server.counts["Receive"] >= 20


def test_a_20_kb_script_is_streamed_over_stdin(
    connect: Factory, server: WSManServer, runner: VocabularyRunner
) -> None:
    t = connect()
    for size, sends in ((20_000, 1), (300_000, 5)):
        script = make_script(echo_script=True) + "\n# " + "x" * size
        server.reset_counts()
        r = t.run(script, timeout=5)
        assert r.payload == {
            "len": len(script),
            "sha256": hashlib.sha256(script.encode()).hexdigest(),
        }
        assert runner.scripts[-1] == script
        assert server.counts["Send"] == sends
    assert all(len(" ".join(args)) < 1000 for _, args, _ in server.commands)


def test_a_step_longer_than_the_operation_timeout(connect: Factory, server: WSManServer) -> None:
    r = connect().run(make_script(sleep=2.3, stdout="done"), timeout=10)
    assert r.stdout == "done" and r.duration >= 2.3
    assert server.counts["Receive"] >= 3  # two operation timeouts, then the answer


def test_a_step_timeout_keeps_the_interpreter(connect: Factory, server: WSManServer) -> None:
    t = connect()
    with pytest.raises(StepTimeout) as caught:
        t.run(make_script(sleep=3), timeout=1)
    assert caught.value.exit_code == 124
    assert t.run(make_script(stdout="next"), timeout=5).stdout == "next"
    assert server.counts["Command"] == 1 and t.interpreter_starts == 1


def test_no_answer_by_the_deadline_is_a_timeout_and_a_new_interpreter(
    connect: Factory, server: WSManServer, emulator: InterpreterEmulator
) -> None:
    t = connect(timeout_grace_s=0.5)

    def hang(script: str, timeout: float) -> tuple[int, bytes, bytes, bytes]:
        threading.Event().wait(3)
        return 0, b"", b"", b""

    emulator.sessions.clear()
    t.run(make_script(), timeout=5)
    emulator.sessions[0].runner = hang
    emulator.sessions[0].enforce_timeout = False  # stuck: the interpreter cannot stop it
    with pytest.raises(StepTimeout):
        t.run(make_script(), timeout=1)
    assert server.counts["Signal"] == 1  # the stuck interpreter was stopped
    assert t.run(make_script(stdout="ok"), timeout=5).stdout == "ok"
    assert t.interpreter_starts == 2


def test_a_killed_shell_is_reopened_transparently(connect: Factory, server: WSManServer) -> None:
    t = connect()
    t.run(make_script(), timeout=5)
    server.kill_shell()
    assert t.run(make_script(stdout="again"), timeout=5).stdout == "again"
    server.shell_not_found_status = 400
    server.kill_shell()
    assert t.run(make_script(stdout="and again"), timeout=5).stdout == "and again"
    assert server.counts["Create"] == 3 and t.interpreter_starts == 3


def test_shells_are_recycled_when_idle_too_long(connect: Factory, server: WSManServer) -> None:
    t = connect(shell_idle_s=0.3)
    t.run(make_script(), timeout=5)
    threading.Event().wait(0.4)
    assert t.run(make_script(stdout="fresh"), timeout=5).stdout == "fresh"
    assert server.counts["Delete"] == 1 and server.counts["Create"] == 2
    assert len(server.shells) == 1


def test_a_dropped_connection_is_transient_then_recovers(
    connect: Factory, server: WSManServer
) -> None:
    t = connect()
    t.run(make_script(), timeout=5)
    server.drop_next(1)
    with pytest.raises(HostUnreachable):
        t.run(make_script(), timeout=5)
    assert t.run(make_script(stdout="back"), timeout=5).stdout == "back"
    assert server.counts["Signal"] == 1  # the abandoned interpreter was stopped
    assert server.counts["Command"] == 2


@pytest.mark.parametrize(
    ("exc", "kind", "text"),
    [
        (requests.exceptions.ConnectTimeout("connect timed out"), HostUnreachable, "connect"),
        (requests.exceptions.ReadTimeout("read timed out"), TransientError, "read timeout"),
        (_wrapped(requests.exceptions.ConnectionError("reset")), HostUnreachable, "connect"),
        (_wrapped(requests.exceptions.ReadTimeout("slow")), TransientError, "read timeout"),
        (WinRMOperationTimeoutError(), TransientError, "operation timeout"),
        (WinRMTransportError("http", 503, ""), TransientError, "HTTP 503"),
        (WinRMTransportError("http", 401, ""), AuthenticationError, "refused"),
        (InvalidCredentialsError("rejected"), AuthenticationError, "refused"),
        (WinRMTransportError("http", 404, ""), FatalError, "HTTP 404"),
        (WinRMError("requested auth method is kerberos, but ..."), FatalError, "kerberos"),
        (
            requests.exceptions.SSLError("[SSL: CERTIFICATE_VERIFY_FAILED] self-signed"),
            FatalError,
            "ca_trust_path",
        ),
    ],
)
def test_errors_are_classified(exc: BaseException, kind: type[Exception], text: str) -> None:
    err = classify(exc, host="h", endpoint="https://h:5986/wsman", doing="testing")
    assert type(err) is kind and text in str(err)


def test_secrets_are_scrubbed_from_messages() -> None:
    exc = WinRMError(f"server said: bad password {PASSWORD}")
    err = classify(exc, host="h", endpoint="e", doing="x", secrets=(PASSWORD,))
    assert PASSWORD not in str(err) and "***" in str(err)


def test_http_500_and_read_timeouts_are_transient(connect: Factory, server: WSManServer) -> None:
    t = connect(read_timeout_s=2)
    t.run(make_script(), timeout=5)
    server.fail_next(1)
    with pytest.raises(TransientError, match="HTTP 500"):
        t.run(make_script(), timeout=5)
    server.delay_s = 2.2
    with pytest.raises(TransientError, match="read timeout"):
        t.run(make_script(), timeout=5)
    server.delay_s = 0
    assert t.run(make_script(stdout="fine"), timeout=5).stdout == "fine"


def test_a_closed_port_is_host_unreachable() -> None:
    with WSManServer(InterpreterEmulator()) as srv:
        port = srv.port
    t = WinRMTransport(
        "gone",
        "127.0.0.1",
        port=port,
        scheme="http",
        user="u",
        password=PASSWORD,
        transport="basic",
        allow_unencrypted=True,
    )
    with pytest.raises(HostUnreachable, match="cannot connect"):
        t.run("", timeout=5)


def test_a_wrong_password_is_an_authentication_error_that_never_shows_it(
    connect: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    t = connect(password="Wrong-Pa55word")
    with pytest.raises(AuthenticationError) as caught:
        t.run(make_script(), timeout=5)
    text = f"{caught.value} {caught.value!r} {caught.value.output} {t!r} {caplog.text}"
    assert "Wrong-Pa55word" not in text and "credentials were refused" in text


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"scheme": "http", "transport": "ntlm"}, "http is refused"),
        ({"scheme": "https", "transport": "basic"}, "Basic authentication is refused"),
        ({"transport": "digest"}, "unknown WinRM transport"),
        ({"operation_timeout_s": 30}, "read_timeout_s must exceed"),
        ({"shell_max_age_s": 9 * 3600}, "shell_max_age_s"),
    ],
)
def test_unsafe_or_inconsistent_settings_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        WinRMTransport("h", "10.0.0.1", user="u", password=PASSWORD, **options)
    assert isinstance(caught.value, FatalError) and isinstance(caught.value, ValueError)
    if "refused" in message:
        assert "allow_unencrypted=True" in str(caught.value)


def test_defaults_are_https_on_5986_with_validation() -> None:
    conn = Connection("fe80::1", kind="winrm", user="CORP\\admin", winrm_transport="kerberos")
    t = WinRMTransport.from_connection("ex1", conn, password=PASSWORD)
    assert t.endpoint == "https://[fe80::1]:5986/wsman"
    assert PASSWORD not in repr(t)
    assert t._shell.protocol.transport.server_cert_validation == "validate"


def test_an_untrusted_certificate_is_fatal_and_says_how_to_fix_it(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    with WSManServer(InterpreterEmulator(), password=PASSWORD, ssl_context=ctx) as srv:
        options: dict[str, Any] = {
            "port": srv.port,
            "user": "orch",
            "password": PASSWORD,
            "transport": "basic",
            "allow_unencrypted": True,
            "interpreter": "",
        }
        with pytest.raises(FatalError, match="ca_trust_path") as caught:
            WinRMTransport("tls", "127.0.0.1", **options).run(make_script(), timeout=5)
        assert not isinstance(caught.value, TransientError)
        t = WinRMTransport("tls", "127.0.0.1", ca_trust_path=str(cert), **options)
        assert t.run(make_script(stdout="secure"), timeout=5).stdout == "secure"
        t.close()


def test_200_small_steps_cost_about_two_requests_each_and_one_process(
    connect: Factory, server: WSManServer
) -> None:
    t = connect()
    for i in range(200):
        assert t.run(make_script(stdout=str(i)), timeout=5).stdout == str(i)
    assert server.total / 200 <= 3
    assert server.counts["Command"] == 1 and server.counts["Create"] == 1


def test_concurrent_callers_are_serialised(connect: Factory) -> None:
    t = connect()
    results: dict[int, str] = {}

    def work(n: int) -> None:
        for i in range(10):
            results[n * 100 + i] = t.run(make_script(stdout=f"{n}-{i}"), timeout=5).stdout

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert results == {n * 100 + i: f"{n}-{i}" for n in range(4) for i in range(10)}


def test_an_interpreter_that_dies_once_falls_back_for_that_step(
    connect: Factory, server: WSManServer, runner: VocabularyRunner
) -> None:
    died: list[str] = []

    def flaky(script: str, timeout: float) -> tuple[int, bytes, bytes, bytes]:
        if "once" in script and not died:
            died.append(script)
            raise InterpreterDied(1, b"", CLIXML_SAMPLE)
        return runner(script, timeout)

    server.handler = InterpreterEmulator(flaky)
    t = connect()
    assert t.run(make_script(stdout="survived") + "\n# once", timeout=5).stdout == "survived"
    assert t.fallbacks == 1
    assert t.run(make_script(stdout="next"), timeout=5).stdout == "next"
    assert t.interpreter_starts == 2 and server.counts["Command"] == 3


def test_an_interpreter_that_always_dies_is_a_transient_error(connect: Factory) -> None:
    t = connect()
    with pytest.raises(TransientError, match="Write-Error : boom") as caught:
        t.run(make_script(die=3, stderr=CLIXML_SAMPLE), timeout=5)
    assert caught.value.exit_code == 3
    assert t.run(make_script(stdout="alive"), timeout=5).stdout == "alive"


def test_clixml_stderr_of_a_step_is_decoded(connect: Factory) -> None:
    r = connect().run(make_script(stderr=CLIXML_SAMPLE, exit=1), timeout=5)
    assert r.stderr.startswith("Write-Error : boom\nAt line:1 char:1")


def test_put_and_get_round_trip_in_chunks(
    connect: Factory, runner: VocabularyRunner, tmp_path: Path
) -> None:
    t = connect()
    for size in (0, 10, 1_300_000):
        data = os.urandom(size)
        src, back = tmp_path / f"in{size}", tmp_path / f"out{size}"
        src.write_bytes(data)
        t.put(src, f"C:\\Temp\\it's {size}.bin")
        assert runner.files[f"C:\\Temp\\it's {size}.bin"] == data
        assert not any(name.endswith(".orchpart") for name in runner.files)
        t.get(f"C:\\Temp\\it's {size}.bin", back)
        assert back.read_bytes() == data
    with pytest.raises(FatalError, match="Could not find file"):
        t.get("C:\\nope", tmp_path / "nope")
    assert not (tmp_path / "nope").exists()


def test_close_deletes_the_shell(connect: Factory, server: WSManServer) -> None:
    with connect() as t:
        t.run(make_script(), timeout=5)
    assert server.counts["Delete"] == 1 and not server.shells


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path
