"""What runs "on the host" behind the test server: a :class:`CommandSession` per WinRS command,
and the two command handlers, :class:`ScriptedCommand` (fixed answers) and
:class:`InterpreterEmulator` (the persistent interpreter speaking :mod:`._frame`).

The emulated interpreter keeps the host-side record of steps (:class:`StepRecords`) as the
real one does (orchestrator/transports/_interp_ps.py): a request with a step id is recorded
"started" before it runs and its answer line after; a duplicate is refused (exit 125); an
ask line answers from the record. The record belongs to the emulator (the host), shared by
all its interpreter processes; a step whose process ended without answering is ``gone``.

A handler is ``handler(command_line, args) -> CommandSession``. A session receives stdin with
:meth:`CommandSession.on_stdin`, produces output with :meth:`~CommandSession.write_stdout` /
:meth:`~CommandSession.write_stderr` (incrementally, from any thread) and ends with
:meth:`~CommandSession.finish`; the server drains it with :meth:`~CommandSession.take`."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from orchestrator.transports._frame import (
    DUPLICATE_EXIT,
    TIMEOUT_EXIT,
    encode_response,
    parse_ask,
    parse_keyed,
)

from .runner import ScriptRunner, VocabularyRunner


class CommandSession:
    """One running command: stdin in; stdout/stderr bytes out; then one exit code."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._out = bytearray()
        self._err = bytearray()
        self._exit: int | None = None
        self.stdin = bytearray()
        self.stdin_closed = False

    # -- the command's side
    def start(self) -> None:
        """Called once the server created the command."""

    def on_stdin(self, data: bytes, end: bool) -> None:
        """A Send: ``data`` arrived on stdin; ``end`` closes stdin."""
        self.stdin += data
        self.stdin_closed = self.stdin_closed or end

    def write_stdout(self, data: bytes) -> None:
        with self._cond:
            self._out += data
            self._cond.notify_all()

    def write_stderr(self, data: bytes) -> None:
        with self._cond:
            self._err += data
            self._cond.notify_all()

    def finish(self, exit_code: int) -> None:
        """The process exited (the first exit code wins)."""
        with self._cond:
            if self._exit is None:
                self._exit = exit_code
            self._cond.notify_all()

    @property
    def finished(self) -> bool:
        return self._exit is not None

    def terminate(self) -> None:
        """A terminate Signal (or the shell went away): stop, as Windows does."""
        self.finish(-1073741510)  # STATUS_CONTROL_C_EXIT

    # -- the server's side
    def take(self, wait: float, limit: int) -> tuple[bytes, bytes, int | None] | None:
        """Up to ``limit`` bytes of output, and the exit code once everything was taken;
        None if nothing happened within ``wait`` seconds."""
        deadline = time.monotonic() + wait
        with self._cond:
            while not self._out and not self._err and self._exit is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)
            out = bytes(self._out[:limit])
            del self._out[: len(out)]
            err = bytes(self._err[: max(0, limit - len(out))])
            del self._err[: len(err)]
            done = not self._out and not self._err
            return out, err, self._exit if done else None


#: What ``powershell.exe`` writes to a redirected stderr for ``Write-Error boom`` (a progress
#: record first, as the first use of a module on a fresh profile produces).
CLIXML_SAMPLE = (
    b"#< CLIXML\r\n"
    b'<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
    b'<Obj S="progress" RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject'
    b'</T><T>System.Object</T></TN><MS><I64 N="SourceId">1</I64><PR N="Record">'
    b"<AV>Preparing modules for first use.</AV><AI>0</AI><Nil /><PI>-1</PI><PC>-1</PC>"
    b"<T>Completed</T><SR>-1</SR><SD> </SD></PR></MS></Obj>"
    b'<S S="Error">Write-Error : boom_x000D__x000A_</S>'
    b'<S S="Error">At line:1 char:1_x000D__x000A_</S>'
    b'<S S="Error">+ Write-Error boom_x000D__x000A_</S>'
    b'<S S="Error">+ ~~~~~~~~~~~~~~~~_x000D__x000A_</S>'
    b'<S S="Error">    + CategoryInfo          : NotSpecified: (:) [Write-Error], '
    b"WriteErrorException_x000D__x000A_</S>"
    b'<S S="Error">    + FullyQualifiedErrorId : '
    b"Microsoft.PowerShell.Commands.WriteErrorException_x000D__x000A_</S>"
    b'<S S="Error"> _x000D__x000A_</S></Objs>'
)


@dataclass(frozen=True)
class Reply:
    """A fixed answer: output (sent in ``pieces`` parts ``delay_s`` apart) and exit code."""

    stdout: bytes = b""
    stderr: bytes = b""
    exit_code: int = 0
    delay_s: float = 0.0
    pieces: int = 1


class _ReplySession(CommandSession):
    def __init__(self, reply: Reply) -> None:
        super().__init__()
        self.reply = reply

    def start(self) -> None:
        threading.Thread(target=self._play, daemon=True).start()

    def _play(self) -> None:
        r = self.reply
        n = max(1, r.pieces)
        for i in range(n):
            time.sleep(r.delay_s)
            lo_o, hi_o = len(r.stdout) * i // n, len(r.stdout) * (i + 1) // n
            lo_e, hi_e = len(r.stderr) * i // n, len(r.stderr) * (i + 1) // n
            self.write_stdout(r.stdout[lo_o:hi_o])
            self.write_stderr(r.stderr[lo_e:hi_e])
        self.finish(r.exit_code)


class ScriptedCommand:
    """Handler answering commands with fixed :class:`Reply` s, chosen by the first regex of
    ``rules`` that matches ``"command args"``; ``cmd /c echo X`` prints ``X``; anything else
    gets ``default``."""

    def __init__(self, rules: Sequence[tuple[str, Reply]] = (), default: Reply = Reply()) -> None:
        self.rules = [(re.compile(p, re.I | re.S), r) for p, r in rules]
        self.default = default
        self.calls: list[str] = []

    def __call__(self, command: str, args: list[str]) -> CommandSession:
        line = " ".join([command, *args])
        self.calls.append(line)
        for pattern, reply in self.rules:
            if pattern.search(line):
                return _ReplySession(reply)
        echo = re.match(r"(?is)^(?:cmd(?:\.exe)? /c )?echo (.*)$", line)
        if echo:
            return _ReplySession(Reply(stdout=echo.group(1).encode() + b"\r\n"))
        return _ReplySession(self.default)


class InterpreterDied(Exception):
    """Raised by a script runner: the interpreter process exits (the script called ``exit``)."""

    def __init__(self, exit_code: int, stdout: bytes = b"", stderr: bytes = b"") -> None:
        super().__init__(exit_code)
        self.exit_code, self.stdout, self.stderr = exit_code, stdout, stderr


@dataclass
class StepRecords:
    """The host's record of steps: who started each, the answer line of those finished."""

    started: dict[str, CommandSession | None] = field(default_factory=dict)  # None: void
    answers: dict[str, bytes] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def claim(self, step: str, session: CommandSession) -> bool:
        """Record ``step`` as started by ``session``; False if it is recorded already."""
        with self.lock:
            if step in self.started:
                return False
            self.started[step] = session
            return True

    def finish(self, step: str, line: bytes) -> None:
        with self.lock:
            self.answers[step] = line

    def state(self, step: str) -> tuple[str, str]:
        """``(state, recorded answer line)`` as an ask answers it (voiding an unknown step)."""
        with self.lock:
            if step in self.answers:
                return "finished", self.answers[step].decode("ascii").strip()
            if step not in self.started:
                self.started[step] = None
                return "never", ""
            owner = self.started[step]
            if owner is None:
                return "never", ""
            return ("gone" if owner.finished else "running"), ""


class _InterpreterSession(CommandSession):
    """Reads request lines from stdin, runs them one at a time, writes response lines; ignores
    other lines (the bootstrap); exits at the end of stdin; enforces each step's timeout."""

    def __init__(
        self, runner: ScriptRunner, banner: bytes, records: StepRecords | None = None
    ) -> None:
        super().__init__()
        self.runner, self.banner = runner, banner
        self.records = records if records is not None else StepRecords()
        self._lines: list[bytes] = []
        self._buf = bytearray()
        self._wake = threading.Condition()
        self.other_lines: list[bytes] = []
        self.requests: list[str] = []
        #: False: a step that overruns is not stopped (an interpreter stuck in native code).
        self.enforce_timeout = True

    def start(self) -> None:
        self.write_stdout(self.banner)
        threading.Thread(target=self._loop, daemon=True).start()

    def on_stdin(self, data: bytes, end: bool) -> None:
        super().on_stdin(data, end)
        with self._wake:
            self._buf += data
            *complete, rest = bytes(self._buf).split(b"\n")
            self._buf = bytearray(rest)
            self._lines += complete
            self._wake.notify_all()

    def terminate(self) -> None:
        super().terminate()
        with self._wake:
            self._wake.notify_all()

    def _next_line(self) -> bytes | None:
        with self._wake:
            while not self._lines:
                if self.stdin_closed or self.finished:
                    return None
                self._wake.wait(0.5)
            return self._lines.pop(0)

    def _ask(self, rid: str, step: str) -> None:
        state, answer = self.records.state(step)
        payload = json.dumps({"state": state, "answer": answer}).encode()
        self.write_stdout(encode_response(rid, 0, b"", b"", payload))

    def _loop(self) -> None:
        while (line := self._next_line()) is not None:
            text = line.decode("ascii", "replace")
            ask = parse_ask(text)
            if ask is not None:
                self._ask(*ask)
                continue
            request = parse_keyed(text)
            if request is None:
                self.other_lines.append(line)
                continue
            rid, timeout, script, step = request
            self.requests.append(rid)
            if step is not None and not self.records.claim(step, self):
                err = f"orchestrator: step {step} was already received by this host; not run"
                self.write_stdout(encode_response(rid, DUPLICATE_EXIT, b"", err.encode()))
                continue
            box: list[tuple[int, bytes, bytes, bytes] | InterpreterDied] = []
            worker = threading.Thread(target=self._run, args=(script, timeout, box), daemon=True)
            worker.start()
            worker.join(timeout if self.enforce_timeout else None)
            if self.finished:
                return  # terminated while the step ran: the process is gone, no answer
            if not box:
                err = f"the step was stopped after its timeout of {int(timeout)} s".encode()
                self._answer(step, encode_response(rid, TIMEOUT_EXIT, b"", err))
            elif isinstance(box[0], InterpreterDied):
                died = box[0]
                self.write_stdout(died.stdout)
                self.write_stderr(died.stderr)
                self.finish(died.exit_code)
                return
            else:
                self._answer(step, encode_response(rid, *box[0]))
        self.finish(0)

    def _answer(self, step: str | None, line: bytes) -> None:
        """Record the answer (a step's) before writing it, as the interpreter does."""
        if step is not None:
            self.records.finish(step, line)
        self.write_stdout(line)

    def _run(self, script: str, timeout: float, box: list[object]) -> None:
        try:
            box.append(self.runner(script, timeout))
        except InterpreterDied as died:
            box.append(died)
        except Exception as exc:  # a runner bug shows as the step's stderr
            box.append((1, b"", f"runner error: {exc!r}".encode(), b""))


class InterpreterEmulator:
    """Handler emulating the persistent PowerShell interpreter: every command it is asked to
    start becomes an interpreter whose steps run through ``script_runner``."""

    def __init__(self, script_runner: ScriptRunner | None = None, banner: bytes = b"") -> None:
        self.runner: ScriptRunner = script_runner or VocabularyRunner()
        self.banner = banner
        self.sessions: list[_InterpreterSession] = []
        self.calls: list[str] = []
        self.records = StepRecords()

    def __call__(self, command: str, args: list[str]) -> CommandSession:
        self.calls.append(" ".join([command, *args]))
        session = _InterpreterSession(self.runner, self.banner, self.records)
        self.sessions.append(session)
        return session


Handler = Callable[[str, list[str]], CommandSession]
