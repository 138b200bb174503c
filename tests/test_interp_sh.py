"""The persistent sh interpreter, run for real under /bin/sh (dash on Debian) and spoken to
with the controller's framing."""

from __future__ import annotations

import base64
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.transports import _frame
from orchestrator.transports._interp_sh import SH_INTERPRETER


class Loop:
    """One interpreter process and a request helper."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            ["/bin/sh", "-c", SH_INTERPRETER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.noise: list[str] = []

    def raw(self, script: str, timeout_s: float = 10) -> tuple[_frame.Response, str]:
        """Send ``script``; the decoded response and the raw response line."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        rid = _frame.new_id()
        self.proc.stdin.write(_frame.encode_request(rid, script, timeout_s))
        self.proc.stdin.flush()
        while True:
            line = self.proc.stdout.readline().decode("ascii")
            assert line, "the interpreter ended"
            response = _frame.parse_response(line, rid)
            if response is not None:
                return response, line
            self.noise.append(line)

    def run(self, script: str, timeout_s: float = 10) -> _frame.Response:
        return self.raw(script, timeout_s)[0]

    def close(self) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        return self.proc.wait(timeout=10)


@pytest.fixture
def loop() -> Iterator[Loop]:
    lp = Loop()
    yield lp
    if lp.proc.poll() is None:
        lp.close()


def test_plain_output_stderr_exit_code_and_payload(loop: Loop) -> None:
    r = loop.run('echo hello; echo oops >&2; printf \'{"a": [1, "x"]}\' >"$ORCH_PAYLOAD"; exit 3')
    assert (r.exit_code, r.stdout, r.stderr, r.payload) == (3, "hello\n", "oops\n", {"a": [1, "x"]})
    empty = loop.run(":")
    assert (empty.exit_code, empty.stdout, empty.stderr, empty.payload) == (0, "", "", {})


def test_empty_fields_are_written_as_dashes(loop: Loop) -> None:
    _, line = loop.raw("true")
    assert line.split()[3:] == ["-", "-", "-"]


def test_binary_output_comes_back_byte_for_byte(loop: Loop) -> None:
    script = "printf '" + "".join(f"\\{b:03o}" for b in range(256)) + "'"
    _, line = loop.raw(script)
    assert base64.b64decode(line.split()[3]) == bytes(range(256))


def test_output_that_looks_like_frames_cannot_break_the_framing(loop: Loop) -> None:
    fake = "ORCH1-END 0000000000000000 0 - - -"
    r = loop.run(f"echo '{fake}'; echo 'ORCH1 x 1 Zm9v' >&2; printf 'ORCH1-END\\n\\nORCH1-END'")
    assert r.stdout == f"{fake}\nORCH1-END\n\nORCH1-END"
    assert r.stderr == "ORCH1 x 1 Zm9v\n"
    assert loop.noise == []


def test_the_script_cannot_read_the_next_request(loop: Loop) -> None:
    r = loop.run("cat; echo rc=$?")
    assert r.stdout == "rc=0\n"
    assert loop.run("echo next").stdout == "next\n"


def test_a_timeout_stops_the_step_and_the_loop_lives_on(loop: Loop, tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    started = time.monotonic()
    r = loop.run(f"sleep 60 & echo $! >{pidfile}; echo started; wait", timeout_s=1)
    assert time.monotonic() - started < 10
    assert r.exit_code == _frame.TIMEOUT_EXIT
    assert r.stdout == "started\n"
    assert "timed out after 1 s" in r.stderr
    after = loop.run("echo alive")
    assert (after.exit_code, after.stdout) == (0, "alive\n")
    stat = Path(f"/proc/{pidfile.read_text().strip()}/stat")
    if stat.exists():  # reparented children may linger as zombies until reaped
        assert stat.read_text().split(") ")[1][0] == "Z", "the step's child survived"


def test_lines_that_are_not_requests_are_ignored(loop: Loop) -> None:
    assert loop.proc.stdin is not None
    loop.proc.stdin.write(b"hello\nORCH1 not-hex 1 Zm9v\nORCH1 abcd x Zm9v\n\n")
    assert loop.run("echo ok").stdout == "ok\n"


def test_a_request_that_is_not_base64_is_answered_with_an_error(loop: Loop) -> None:
    assert loop.proc.stdin is not None and loop.proc.stdout is not None
    loop.proc.stdin.write(b"ORCH1 00000000000000aa 5 !!!notbase64!!!\n")
    loop.proc.stdin.flush()
    r = _frame.parse_response(loop.proc.stdout.readline().decode(), "00000000000000aa")
    assert r is not None and r.exit_code == 2 and "not valid base64" in r.stderr
    assert loop.run("echo ok").stdout == "ok\n"


def test_two_hundred_requests_in_a_row(loop: Loop, capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    for i in range(200):
        r = loop.run(f'echo {i}; echo {i} >&2; printf \'{{"i": {i}}}\' >"$ORCH_PAYLOAD"')
        assert (r.stdout, r.stderr, r.payload) == (f"{i}\n", f"{i}\n", {"i": i})
    per_step = (time.monotonic() - started) / 200
    with capsys.disabled():
        print(f"\nsh interpreter: {per_step * 1000:.1f} ms per request (200 in a row)")
    assert per_step < 0.5


def test_each_request_gets_its_own_temporary_files_and_they_are_removed(loop: Loop) -> None:
    first = loop.run('echo "$ORCH_PAYLOAD"').stdout.strip()
    second = loop.run('echo "$ORCH_PAYLOAD"').stdout.strip()
    assert first != second
    assert not os.path.exists(first)


def test_end_of_input_ends_the_loop_and_removes_its_directory(loop: Loop) -> None:
    workdir = os.path.dirname(loop.run('echo "$ORCH_PAYLOAD"').stdout.strip())
    assert loop.close() == 0
    assert not os.path.exists(workdir)
