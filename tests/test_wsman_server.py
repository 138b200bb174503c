"""The WS-Management test server, driven by the real pywinrm ``Protocol`` (and ``Session``)."""

from __future__ import annotations

import base64
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
import requests
import winrm
from winrm.exceptions import (
    InvalidCredentialsError,
    WinRMOperationTimeoutError,
    WinRMTransportError,
    WSManFaultError,
)
from winrm.protocol import Protocol

from orchestrator.transports._frame import encode_request, new_id, parse_response
from tests.wsman import (
    CLIXML_SAMPLE,
    CommandSession,
    InterpreterEmulator,
    Reply,
    ScriptedCommand,
    WSManServer,
    make_script,
    soap,
)


class Cat(CommandSession):
    """Echoes stdin to stdout; exits 0 at the end of stdin."""

    def on_stdin(self, data: bytes, end: bool) -> None:
        self.write_stdout(data)
        if end:
            self.finish(0)


def _handler(command: str, args: list[str]) -> CommandSession:
    if command == "cat":
        return Cat()
    return SCRIPTED(command, args)


SCRIPTED = ScriptedCommand(
    [
        ("^big", Reply(stdout=bytes(range(256)) * 800, pieces=4, delay_s=0.02)),
        ("^slow", Reply(stdout=b"late", delay_s=1.5)),
        ("^fail", Reply(stderr=b"nope", exit_code=7)),
        ("-encodedcommand", Reply(stdout=b"ok\r\n", stderr=CLIXML_SAMPLE, exit_code=1)),
    ]
)


@pytest.fixture
def server() -> Iterator[WSManServer]:
    with WSManServer(_handler, max_receive_bytes=16 * 1024) as srv:
        yield srv


def _protocol(server: WSManServer, password: str = "s3cret", read_s: int = 3) -> Protocol:
    return Protocol(
        server.url,
        transport="basic",
        username="orch",
        password=password,
        operation_timeout_sec=1,
        read_timeout_sec=read_s,
        ca_trust_path=None,  # type: ignore[arg-type]
    )


def _recording(p: Protocol) -> list[bytes]:
    """Record every raw response body pywinrm receives."""
    seen: list[bytes] = []
    send = p.transport.send_message

    def wrapper(message: str | bytes) -> bytes:
        body = send(message)
        seen.append(body)
        return body

    p.transport.send_message = wrapper  # type: ignore[method-assign]
    return seen


def test_a_command_runs_through_the_whole_shell_lifecycle(server: WSManServer) -> None:
    p = _protocol(server)
    shell = p.open_shell(codepage=65001, noprofile=True)
    assert server.shells[shell].options == {"WINRS_NOPROFILE": "TRUE", "WINRS_CODEPAGE": "65001"}
    cid = p.run_command(shell, "cmd /c echo hello")
    assert p.get_command_output(shell, cid) == (b"hello\r\n", b"", 0)
    p.cleanup_command(shell, cid)  # asserts RelatesTo == MessageID
    p.close_shell(shell)  # likewise
    assert not server.shells
    assert dict(server.counts) == {
        "Create": 1,
        "Command": 1,
        "Receive": 1,
        "Signal": 1,
        "Delete": 1,
    }


def test_create_answers_the_shell_id_as_selector_and_in_rsp_shell(server: WSManServer) -> None:
    raw = _recording(p := _protocol(server))
    shell = p.open_shell()
    root = ET.fromstring(raw[0])
    assert root.findtext(".//rsp:Shell/rsp:ShellId", None, soap.NS) == shell
    assert root.find(".//w:Selector[@Name='ShellId']", soap.NS) is not None


def test_output_comes_over_several_receives_with_exactly_one_done(server: WSManServer) -> None:
    p = _protocol(server)
    raw = _recording(p)
    shell = p.open_shell()
    cid = p.run_command(shell, "big")
    out, err, code = p.get_command_output(shell, cid)
    assert (out, err, code) == (bytes(range(256)) * 800, b"", 0)
    receives = raw[2:]
    assert len(receives) >= 204800 // (16 * 1024)
    done = [
        sum(
            1
            for node in ET.fromstring(body).iter()
            if node.get("State", "").endswith("CommandState/Done")
        )
        for body in receives
    ]
    assert done[-1] == 1 and sum(done) == 1


def test_stdin_chunks_arrive_in_order_and_end_closes_it(server: WSManServer) -> None:
    p = _protocol(server)
    shell = p.open_shell()
    cid = p.run_command(shell, "cat")
    for piece in (b"one ", bytes(range(256)), b" three"):
        p.send_command_input(shell, cid, piece)
    p.send_command_input(shell, cid, b"", end=True)
    assert p.get_command_output(shell, cid) == (b"one " + bytes(range(256)) + b" three", b"", 0)
    assert server.counts["Send"] == 4


def test_an_idle_receive_answers_the_operation_timeout_fault(server: WSManServer) -> None:
    p = _protocol(server)
    shell = p.open_shell()
    cid = p.run_command(shell, "slow")
    start = time.monotonic()
    with pytest.raises(WinRMOperationTimeoutError):
        p.get_command_output_raw(shell, cid)
    assert 0.9 < time.monotonic() - start < 2
    assert p.get_command_output(shell, cid) == (b"late", b"", 0)  # retries silently


def test_an_unknown_shell_is_the_shell_not_found_fault(server: WSManServer) -> None:
    p = _protocol(server)
    shell = p.open_shell()
    server.kill_shell(shell)
    with pytest.raises(WSManFaultError) as caught:
        p.run_command(shell, "cmd /c echo x")
    assert caught.value.wsman_fault_code == soap.SHELL_NOT_FOUND
    assert caught.value.code == 500
    assert "shell was not found" in caught.value.reason


def test_shells_expire_after_their_idle_time() -> None:
    with WSManServer(_handler, shell_idle_s=0.2) as srv:
        p = _protocol(srv)
        shell = p.open_shell()
        time.sleep(0.3)
        with pytest.raises(WSManFaultError):
            p.run_command(shell, "cmd /c echo x")


def test_missing_or_wrong_credentials_get_401(server: WSManServer) -> None:
    with pytest.raises(InvalidCredentialsError):
        _protocol(server, password="wrong").open_shell()
    answer = requests.post(server.url, data=b"<x/>", timeout=3)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == 'Basic realm="WSMAN"'
    assert server.counts["invalid"] == 1


def test_fault_knobs_drop_fail_and_delay(server: WSManServer) -> None:
    p = _protocol(server, read_s=2)
    server.drop_next(1)
    with pytest.raises(requests.exceptions.ConnectionError):
        p.open_shell()
    server.fail_next(1, status=503)
    with pytest.raises(WinRMTransportError) as caught:
        p.open_shell()
    assert caught.value.code == 503
    assert not server.shells  # neither request was acted on
    server.drop_next(1, after_processing=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        p.open_shell()
    assert len(server.shells) == 1  # acted on, answer lost
    server.delay_s = 2.2
    with pytest.raises(requests.exceptions.ReadTimeout):
        p.open_shell()
    assert server.counts["Create"] == 4 and server.total == 4


def test_pywinrm_run_ps_gets_the_scripted_answer_and_cleans_clixml(server: WSManServer) -> None:
    session = winrm.Session(
        server.url,
        auth=("orch", "s3cret"),
        transport="basic",
        operation_timeout_sec=1,
        read_timeout_sec=3,
        ca_trust_path=None,
    )
    result = session.run_ps("Write-Output ok; Write-Error boom")
    assert (result.status_code, result.std_out) == (1, b"ok\r\n")
    assert result.std_err.startswith(b"Write-Error : boom\nAt line:1 char:1")
    assert server.commands[-1][0].startswith("powershell -encodedcommand ")


def test_the_interpreter_emulator_answers_frames_and_ignores_other_lines() -> None:
    emulator = InterpreterEmulator(banner=b"Windows PowerShell\r\n")
    with WSManServer(emulator) as srv:
        p = _protocol(srv)
        shell = p.open_shell()
        cid = p.run_command(shell, "powershell.exe", ["-Command", "-"])
        rid = new_id()
        script = make_script(stdout=b"\x00\xff", exit=4, payload={"k": [1]})
        p.send_command_input(shell, cid, b"bootstrap line\n" + encode_request(rid, script, 5))
        buf = b""
        while b"ORCH1-END" not in buf:
            buf += p.get_command_output_raw(shell, cid)[0]
        line = buf.split(b"\n")[1].decode()
        resp = parse_response(line, rid)
        assert resp is not None and (resp.exit_code, resp.payload) == (4, {"k": [1]})
        assert base64.b64decode(line.split()[3]) == b"\x00\xff"
        p.send_command_input(shell, cid, b"", end=True)
        assert p.get_command_output(shell, cid)[2] == 0  # exits at the end of stdin
        assert emulator.sessions[0].other_lines == [b"bootstrap line"]
