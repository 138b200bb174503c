"""The WinRM transport: pywinrm's ``Protocol`` (not ``Session``), one shell per host, and ONE
persistent PowerShell interpreter in it.

Every :meth:`WinRMTransport.run` is one Send (the request line of :mod:`._frame`) and
Receives until the response line: about 2 HTTP requests per step, no process per step, and
scripts of any length (they travel over stdin, never on a command line). Operation timeouts
during a long step are normal: Receive again until the step's deadline. When the interpreter
exits without answering, a request without a step id (read-only by contract) is sent again
to a fresh interpreter command that runs it alone, and the next call starts a new
persistent interpreter. A request with a step id (an apply) is never sent again once it may
have reached the host (its answer lost: an HTTP response that never came, the interpreter
gone, no answer by the deadline): the host is asked what became of it (:mod:`._recall`,
each ask a one-shot interpreter command, leaving the old interpreter alone while its step
may still run). A shell that is gone (reboot, expiry, service restart) is reopened
transparently when the request had not reached it.

Security: https on 5986 with certificate validation by default; plain http, and Basic
authentication, are refused unless ``allow_unencrypted=True`` is given explicitly. NTLM,
Kerberos, CredSSP and certificate authentication are pywinrm's. The password never appears
in exceptions, logs or ``repr``."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from winrm.exceptions import WinRMTransportError, WSManFaultError
from winrm.protocol import Protocol

from ..errors import StepError, StepTimeout, TransientError
from ..facts import Connection
from . import _winrm_files
from ._clixml import decode as decode_clixml
from ._clixml import is_clixml
from ._frame import TIMEOUT_EXIT, FrameError, Response, encode_ask, encode_request, new_id
from ._protocol import Result
from ._recall import after_loss, recall
from ._winrm_errors import check_settings, classify, quota_exceeded, shell_gone
from ._winrm_interp import Deadline, FramedCommand, launch
from ._winrm_shell import WinRMShell

log = logging.getLogger(__name__)

#: Extra time the controller waits beyond a step's own timeout (which the interpreter
#: enforces) before it gives up on the interpreter.
DEADLINE_GRACE_S = 30.0


class WinRMTransport:
    """A :class:`~orchestrator.transports._protocol.Transport` over WinRM to one Windows host.

    ``transport`` is the authentication (ntlm, kerberos, credssp, certificate with
    ``cert_pem``/``cert_key_pem``, or basic); ``ca_trust_path`` the CA bundle that signed the
    host's certificate; ``interpreter`` overrides the interpreter program (``""``: none);
    ``proxy`` an HTTP proxy (none by default, whatever the environment says). Thread-safe:
    calls to one host are serialised. A closed transport opens a new shell on its next call."""

    def __init__(
        self,
        host: str,
        address: str,
        *,
        port: int | None = None,
        scheme: str = "https",
        user: str,
        password: str,
        transport: str = "ntlm",
        cert_validation: bool = True,
        ca_trust_path: str | None = None,
        allow_unencrypted: bool = False,
        operation_timeout_s: int = 20,
        read_timeout_s: int = 30,
        shell_max_age_s: float = 3600,
        shell_idle_s: float = 600,
        cert_pem: str | None = None,
        cert_key_pem: str | None = None,
        interpreter: str | None = None,
        timeout_grace_s: float = DEADLINE_GRACE_S,
        proxy: str | None = None,
    ) -> None:
        scheme, transport = scheme.lower(), transport.lower()
        check_settings(
            scheme,
            transport,
            allow_unencrypted,
            operation_timeout_s,
            read_timeout_s,
            shell_max_age_s,
            bool(cert_pem and cert_key_pem),
        )
        self.host = host
        self.user = user
        self.auth = transport
        port = port or (5986 if scheme == "https" else 5985)
        netloc = f"[{address}]" if ":" in address else address
        self.endpoint = f"{scheme}://{netloc}:{port}/wsman"
        self._secrets = (password,) if password else ()
        self._grace = timeout_grace_s
        self._launch = launch(interpreter)
        ca: Any = ca_trust_path  # None: the default CA bundle, never the environment's
        try:
            protocol = Protocol(
                self.endpoint,
                transport=transport,  # type: ignore[arg-type]
                username=user,
                password=password,
                ca_trust_path=ca,
                cert_pem=cert_pem,
                cert_key_pem=cert_key_pem,
                server_cert_validation="validate" if cert_validation else "ignore",
                read_timeout_sec=read_timeout_s,
                operation_timeout_sec=operation_timeout_s,
                proxy=proxy,
            )
        except Exception as exc:
            raise self._error(exc, "setting up the connection") from None
        if scheme == "https" and not cert_validation:
            log.warning("%s: certificate validation is turned off for %s", host, self.endpoint)
        self._shell = WinRMShell(protocol, max_age_s=shell_max_age_s, idle_s=shell_idle_s)
        self._lock = threading.RLock()
        self._interp: FramedCommand | None = None
        #: Interpreters given up after a failed request, stopped once the host answers again.
        self._orphans: list[FramedCommand] = []
        #: How many persistent interpreters were started, and requests that fell back.
        self.interpreter_starts = 0
        self.fallbacks = 0
        #: How many lost answers were taken from the host's record instead.
        self.recalled = 0

    @classmethod
    def from_connection(
        cls, host: str, conn: Connection, *, password: str, **kw: Any
    ) -> WinRMTransport:
        """A transport for an inventory host's :class:`~orchestrator.facts.Connection`."""
        return cls(
            host,
            conn.address,
            port=conn.port,
            scheme=conn.winrm_scheme or "https",
            user=conn.user or "",
            password=password,
            transport=conn.winrm_transport or "ntlm",
            cert_validation=conn.cert_validation,
            **kw,
        )

    def __repr__(self) -> str:
        return f"WinRMTransport({self.host!r}, {self.endpoint}, user={self.user!r}, {self.auth})"

    def _error(self, exc: BaseException, doing: str) -> StepError:
        log.debug("%s: %s failed: %s", self.host, doing, type(exc).__name__)
        return classify(
            exc, host=self.host, endpoint=self.endpoint, doing=doing, secrets=self._secrets
        )

    # -- running scripts -------------------------------------------------------------------

    def run(self, script: str, *, timeout: float, step: str | None = None) -> Result:
        """Run ``script`` in the host's PowerShell interpreter; :class:`StepTimeout` if it
        overruns ``timeout`` seconds (the interpreter lives on). With ``step`` the host
        records it and it runs at most once (see the module doc)."""
        with self._lock:
            start = time.monotonic()
            resp = self._request(script, timeout, start + timeout + self._grace, step)
            duration = time.monotonic() - start
        return self._result(resp, timeout, duration)

    def recall(self, step: str, *, timeout: float) -> Result | None:
        """What became of the request recorded as ``step`` (see the Transport protocol)."""
        with self._lock:
            start = time.monotonic()
            resp = recall(self.host, step, lambda: self._ask(step), start + timeout)
        return None if resp is None else self._result(resp, timeout, time.monotonic() - start)

    def _result(self, resp: Response, timeout: float, duration: float) -> Result:
        stderr = decode_clixml(resp.stderr) if is_clixml(resp.stderr) else resp.stderr
        if resp.exit_code == TIMEOUT_EXIT:
            raise StepTimeout(
                f"{self.host}: the step overran its {timeout:g} s timeout and was stopped",
                exit_code=TIMEOUT_EXIT,
                output=stderr[-2000:],
            )
        return Result(resp.exit_code, resp.stdout, stderr, duration, resp.payload)

    def _request(
        self, script: str, timeout: float, deadline: float, step: str | None = None
    ) -> Response:
        request_id = new_id()
        line = encode_request(request_id, script, timeout, step)
        for attempt in (1, 2):
            interp = self._interpreter()
            try:
                interp.send(line)
                break
            except Exception as exc:
                self._drop_interpreter(signal=False)
                # A fault or a 400 is the host refusing the Send: nothing was delivered.
                refused = isinstance(exc, WSManFaultError) or (
                    isinstance(exc, WinRMTransportError) and exc.code == 400
                )
                if shell_gone(exc):
                    self._shell.forget()
                if step is not None and not refused:
                    return self._lost(step, deadline, self._error(exc, "sending a step").message)
                if attempt == 2 or not refused:
                    raise self._error(exc, "sending a step") from None
                log.info("%s: the interpreter or shell is gone; starting afresh", self.host)
        try:
            resp = self._read(interp, request_id, deadline)
        except StepError as exc:
            if step is None:
                raise
            return self._lost(step, deadline, exc.message)
        if resp is not None:
            return resp
        if step is not None:
            self._drop_interpreter(signal=True)
            return self._lost(step, deadline, f"the interpreter exited (exit {interp.exit_code})")
        why = decode_clixml(interp.stderr_tail)[-300:].strip() or "no message"
        log.warning(
            "%s: the interpreter exited (%s, exit %s); running this step in a fresh one",
            self.host,
            why,
            interp.exit_code,
        )
        self._drop_interpreter(signal=True)
        self.fallbacks += 1
        return self._one_shot(request_id, line, deadline)

    def _read(self, interp: FramedCommand, request_id: str, deadline: float) -> Response | None:
        try:
            return interp.read_response(request_id, deadline)
        except Deadline:
            self._drop_interpreter(signal=True)
            raise StepTimeout(
                f"{self.host}: no answer from the interpreter by the step's deadline"
            ) from None
        except FrameError as exc:
            self._drop_interpreter(signal=True)
            raise TransientError(f"{self.host}: malformed response: {exc}") from None
        except Exception as exc:
            self._drop_interpreter(signal=False)
            if shell_gone(exc):
                self._shell.forget()
            raise self._error(exc, "waiting for a step's output") from None

    def _lost(self, step: str, deadline: float, why: str) -> Response:
        """The answer to the request recorded as ``step`` was lost: ask the host."""
        resp = after_loss(self.host, step, lambda: self._ask(step), deadline, why)
        self.recalled += 1
        return resp

    def _ask(self, step: str) -> Response:
        """One ask about ``step`` in a one-shot interpreter command."""
        request_id = new_id()
        return self._one_shot(request_id, encode_ask(request_id, step), time.monotonic() + 60)

    def _one_shot(self, request_id: str, line: bytes, deadline: float) -> Response:
        """The request alone in a fresh interpreter command (stdin closed after it)."""
        try:
            self._shell.ensure()
            interp = FramedCommand.start(self._shell, self._launch)
            interp.send(line, end=True)
        except Exception as exc:
            raise self._error(exc, "starting an interpreter") from None
        try:
            resp = self._read(interp, request_id, deadline)
        finally:
            interp.close()
        if resp is None:
            why = decode_clixml(interp.stderr_tail)[-500:].strip() or "no message"
            raise TransientError(
                f"{self.host}: the interpreter exited (exit {interp.exit_code}) without "
                f"answering: {why}",
                exit_code=interp.exit_code,
                output=why,
            )
        return resp

    def _interpreter(self) -> FramedCommand:
        """The live persistent interpreter, opening the shell and starting it if needed."""
        for attempt in (1, 2):
            try:
                self._shell.ensure()
                if self._interp is not None and not self._interp.alive:
                    self._drop_interpreter(signal=True)
                if self._interp is None:
                    while self._orphans:
                        self._orphans.pop().close()
                    self._interp = FramedCommand.start(self._shell, self._launch)
                    self.interpreter_starts += 1
                    log.debug("%s: interpreter started", self.host)
                return self._interp
            except Exception as exc:
                if attempt == 1 and (shell_gone(exc) or quota_exceeded(exc)):
                    if quota_exceeded(exc):
                        self._shell.close(quiet=True, keep_session=True)
                    self._shell.forget()
                    self._interp = None
                    continue
                raise self._error(exc, "starting the interpreter") from None
        raise AssertionError("unreachable")

    def _drop_interpreter(self, *, signal: bool) -> None:
        """Give up the interpreter: stop it now, or (the host not answering) later."""
        interp, self._interp = self._interp, None
        if interp is not None and signal:
            interp.close()
        elif interp is not None:
            self._orphans.append(interp)

    # -- files -----------------------------------------------------------------------------

    def put(self, local: Path, remote: str) -> None:
        """Copy a local file to ``remote`` on the host (chunked base64 steps; see
        :mod:`._winrm_files` for the size/speed trade-off)."""
        with self._lock:
            _winrm_files.put(self.host, self._file_step, local, remote)

    def get(self, remote: str, local: Path) -> None:
        """Copy ``remote`` from the host to a local file (chunked base64 steps)."""
        with self._lock:
            _winrm_files.get(self.host, self._file_step, remote, local)

    def _file_step(self, script: str) -> Result:
        return self.run(script, timeout=300)

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Delete the shell (which ends the interpreter) and close the HTTP session."""
        with self._lock:
            self._interp = None
            self._orphans.clear()
            self._shell.close(quiet=True)

    def __enter__(self) -> WinRMTransport:
        return self

    def __exit__(
        self, typ: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
