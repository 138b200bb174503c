"""The SSH transport: one paramiko connection per host, a persistent sh interpreter on it.

Every :meth:`SSHTransport.run` is one request line to ONE long-lived channel that runs the
interpreter loop (:mod:`._interp_sh`, started as ``exec sh -c '<loop>'``) and one response
line back (:mod:`._frame`); the loop enforces each step's timeout itself and survives it. If
the loop's channel dies (EOF, exit) or gives no answer within ``timeout + 30`` s, it is
closed and the next call starts a new interpreter. A request without a step id (a probe, a
verify, a file fact: read-only by contract) is then sent again over a fresh ``exec_command``
channel running the loop for that request only. A request with a step id (an apply) is
never sent again: the host is asked what became of it (:mod:`._recall`), and its recorded
answer is taken, or the step is reported as never started (a transient error: a new attempt
is safe) or as of unknown outcome. Files move over one reused SFTP session.

On a Windows host running OpenSSH (``interpreter="powershell"``) the loop is the PowerShell
interpreter (:mod:`._interp_ps`): started with its short ``-EncodedCommand`` bootstrap, which
reads the interpreter program as the first stdin line, exactly as over WinRM.

Host keys are checked by default (see :mod:`._ssh_connect`). Passwords never appear in
exceptions, logs or ``repr``."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import paramiko

from ..errors import FatalError, HostUnreachable, StepError, StepTimeout, TransientError
from ._frame import TIMEOUT_EXIT, FrameError, Response, encode_ask, encode_request, new_id
from ._protocol import Result
from ._recall import after_loss, recall
from ._ssh_channel import Deadline, FramedChannel, start_command
from ._ssh_connect import Credentials, Endpoint, connect
from ._ssh_facts import FileFacts, facts_script, parse_facts

log = logging.getLogger(__name__)

#: Extra time the controller waits beyond a step's own timeout before giving up on a channel.
DEADLINE_GRACE_S = 30.0
#: An SFTP operation that waits this long for one answer from the host has failed.
SFTP_STALL_S = 120.0
_NET_ERRORS = (paramiko.SSHException, EOFError, OSError)


class SSHTransport:
    """A :class:`~orchestrator.transports._protocol.Transport` over SSH to one host.

    ``persistent=False`` skips the persistent interpreter and uses one ``exec_command``
    channel per step (the fallback path; for comparison and for hosts that drop idle
    channels). Thread-safe: calls to one host are serialised. A closed transport reconnects
    on its next call."""

    def __init__(
        self,
        host: str,
        address: str,
        *,
        port: int = 22,
        user: str,
        password: str | None = None,
        key_file: Path | None = None,
        known_hosts: Path | None = None,
        accept_new_host_keys: bool = False,
        keepalive_s: int = 15,
        connect_timeout_s: float = 10,
        interpreter: str = "sh",
        persistent: bool = True,
    ) -> None:
        self.host = host
        self._ep = Endpoint(
            host=host,
            address=address,
            port=port,
            user=user,
            known_hosts=known_hosts or Path.home() / ".ssh" / "known_hosts",
            accept_new_host_keys=accept_new_host_keys,
            connect_timeout_s=connect_timeout_s,
            keepalive_s=keepalive_s,
        )
        self._creds = Credentials(password, key_file)
        if interpreter == "powershell":  # Windows hosts running OpenSSH
            from ._interp_ps import ps_bootstrap_command, ps_interpreter_line

            self._start, self._preamble = ps_bootstrap_command(), ps_interpreter_line()
        elif interpreter == "sh":
            self._start, self._preamble = start_command(interpreter), b""
        else:
            raise ValueError(f"interpreter must be 'sh' or 'powershell', not {interpreter!r}")
        self._persistent = persistent
        self._lock = threading.RLock()
        self._client: Any = None
        self._interp: FramedChannel | None = None
        self._sftp: Any = None
        #: How many interpreters were started, and how many requests fell back to exec.
        self.interpreter_starts = 0
        self.fallbacks = 0
        #: How many lost answers were taken from the host's record instead.
        self.recalled = 0

    def __repr__(self) -> str:
        ep = self._ep
        return f"SSHTransport({self.host!r}, {ep.user}@{ep.address}:{ep.port})"

    # -- running scripts -------------------------------------------------------------------

    def run(self, script: str, *, timeout: float, step: str | None = None) -> Result:
        """Run ``script`` with ``sh`` on the host; :class:`StepTimeout` if it overruns. With
        ``step`` the host records it and it runs at most once (see the module doc)."""
        with self._lock:
            start = time.monotonic()
            resp = self._request(script, timeout, step)
            duration = time.monotonic() - start
        return self._result(resp, timeout, duration)

    def recall(self, step: str, *, timeout: float) -> Result | None:
        """What became of the request recorded as ``step`` (see the Transport protocol)."""
        with self._lock:
            start = time.monotonic()
            resp = recall(self.host, step, lambda: self._ask(step), start + timeout)
        return None if resp is None else self._result(resp, timeout, time.monotonic() - start)

    def _result(self, resp: Response, timeout: float, duration: float) -> Result:
        if resp.exit_code == TIMEOUT_EXIT:
            raise StepTimeout(
                f"{self.host}: the step overran its {timeout:g} s timeout and was stopped",
                exit_code=TIMEOUT_EXIT,
                output=resp.stderr[-2000:],
            )
        return Result(resp.exit_code, resp.stdout, resp.stderr, duration, resp.payload)

    def file_facts(self, paths: list[str], *, timeout: float = 60) -> dict[str, FileFacts | None]:
        """SHA-256, size and mtime of each path (None: missing, unreadable or not a regular
        file), in one round trip."""
        if not paths:
            return {}
        result = self.run(facts_script(paths), timeout=timeout)
        if result.exit_code != 0:
            raise TransientError(
                f"{self.host}: reading file facts failed (exit {result.exit_code})",
                exit_code=result.exit_code,
                output=result.stderr[-2000:],
            )
        return parse_facts(paths, result.stdout)

    def _request(self, script: str, timeout: float, step: str | None) -> Response:
        transport = self._connection()
        request_id = new_id()
        line = encode_request(request_id, script, timeout, step)
        if step is not None and not self._persistent:
            try:
                return self._exec_once(transport, request_id, line, timeout)
            except TransientError as exc:
                return self._lost(step, _deadline(timeout), exc.message)
        if self._persistent:
            try:
                interp = self._interpreter_channel(transport)
                interp.send(line)
                resp = interp.read_response(request_id, _deadline(timeout))
                if resp is not None:
                    return resp
                why = f"the interpreter exited ({interp.stderr_tail[-300:] or 'no message'})"
            except Deadline:
                why = f"no answer within {timeout + DEADLINE_GRACE_S:g} s"
            except FrameError as exc:
                why = f"malformed response: {exc}"
            except _NET_ERRORS as exc:
                why = f"interpreter channel failed: {exc or type(exc).__name__}"
            except BaseException:  # e.g. KeyboardInterrupt: the channel is mid-request
                self._drop_interpreter()
                raise
            self._drop_interpreter()
            if step is not None:
                return self._lost(step, _deadline(timeout), why)
            if not transport.is_active():
                raise self._failure(transport, "while running a step")
            self.fallbacks += 1
            log.warning("%s: %s; running this step over a new channel", self.host, why)
        return self._exec_once(transport, request_id, line, timeout)

    def _lost(self, step: str, deadline: float, why: str) -> Response:
        """The answer to the request recorded as ``step`` was lost: ask the host."""
        resp = after_loss(self.host, step, lambda: self._ask(step), deadline, why)
        self.recalled += 1
        return resp

    def _ask(self, step: str) -> Response:
        """One ask about ``step``, over a fresh channel running the loop for it alone."""
        transport = self._connection()
        request_id = new_id()
        return self._exec_once(transport, request_id, encode_ask(request_id, step), 30.0)

    def _exec_once(self, transport: Any, request_id: str, line: bytes, timeout: float) -> Response:
        """One request over a fresh exec channel running the loop for that request only."""
        fc: FramedChannel | None = None
        try:
            fc = FramedChannel.open(transport, self._start, self._ep.connect_timeout_s)
            fc.send(self._preamble + line)
            fc.chan.shutdown_write()
            resp = fc.read_response(request_id, _deadline(timeout))
            if resp is None:
                raise self._failure(
                    transport, f"the interpreter exited without answering: {fc.stderr_tail[-500:]}"
                )
            return resp
        except Deadline:
            raise StepTimeout(
                f"{self.host}: no answer within {timeout + DEADLINE_GRACE_S:g} s"
            ) from None
        except FrameError as exc:
            raise TransientError(f"{self.host}: malformed response: {exc}") from None
        except _NET_ERRORS as exc:
            raise self._failure(transport, f"running a step: {exc or type(exc).__name__}") from None
        finally:
            if fc is not None:
                fc.close()

    def _interpreter_channel(self, transport: Any) -> FramedChannel:
        if self._interp is not None and not self._interp.alive:
            log.info("%s: the interpreter has exited; starting a new one", self.host)
            self._drop_interpreter()
        if self._interp is None:
            self._interp = FramedChannel.open(transport, self._start, self._ep.connect_timeout_s)
            if self._preamble:
                self._interp.send(self._preamble)
            self.interpreter_starts += 1
            log.debug("%s: interpreter started", self.host)
        return self._interp

    # -- files -----------------------------------------------------------------------------

    def put(self, local: Path, remote: str) -> None:
        """Copy a local file to ``remote`` on the host (SFTP). A missing file or a refused
        path is a :class:`FatalError`; a broken connection a :class:`TransientError`."""
        if not local.is_file():
            raise FatalError(f"{self.host}: local file {local} not found")
        self._sftp_call("writing", remote, lambda s: s.put(str(local), remote))

    def get(self, remote: str, local: Path) -> None:
        """Copy ``remote`` from the host to a local file (SFTP); errors as :meth:`put`."""
        self._sftp_call("reading", remote, lambda s: s.get(remote, str(local)))

    def _sftp_call(self, verb: str, remote: str, call: Any) -> None:
        with self._lock:
            transport = self._connection()
            try:
                if self._sftp is None:
                    self._sftp = paramiko.SFTPClient.from_transport(transport)
                    self._sftp.get_channel().settimeout(SFTP_STALL_S)
                call(self._sftp)
            except (paramiko.SSHException, EOFError, TimeoutError) as exc:
                self._sftp = None
                why = exc or type(exc).__name__
                raise self._failure(transport, f"SFTP {verb} {remote}: {why}") from None
            except OSError as exc:
                if not transport.is_active():
                    raise self._failure(transport, f"SFTP {verb} {remote}") from None
                raise FatalError(
                    f"{self.host}: {verb} {remote} failed: {exc.strerror or exc}"
                ) from None

    # -- connection ------------------------------------------------------------------------

    def _connection(self) -> Any:
        """The live paramiko transport, connecting (again) if needed."""
        if self._client is not None:
            transport = self._client.get_transport()
            if transport is not None and transport.is_active():
                return transport
            log.info("%s: SSH connection lost; reconnecting", self.host)
            self._reset()
        self._client = connect(self._ep, self._creds)
        return self._client.get_transport()

    def _failure(self, transport: Any, what: str) -> StepError:
        """:class:`HostUnreachable` (and a reconnect next time) if the connection is gone,
        else :class:`TransientError`."""
        if transport.is_active():
            return TransientError(f"{self.host}: {what}")
        self._reset()
        ep = self._ep
        return HostUnreachable(f"{self.host} ({ep.address}:{ep.port}): SSH connection lost: {what}")

    def _drop_interpreter(self) -> None:
        if self._interp is not None:
            self._interp.close()
            self._interp = None

    def _reset(self) -> None:
        self._drop_interpreter()
        for thing in (self._sftp, self._client):
            if thing is not None:
                with contextlib.suppress(*_NET_ERRORS):
                    thing.close()
        self._sftp = self._client = None

    def close(self) -> None:
        """Close the interpreter, the SFTP session and the connection."""
        with self._lock:
            self._reset()

    def __enter__(self) -> SSHTransport:
        return self

    def __exit__(
        self, typ: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _deadline(timeout: float) -> float:
    return time.monotonic() + timeout + DEADLINE_GRACE_S
