"""A WS-Management (WinRS) test server that the real pywinrm client talks to.

A threading HTTP server on 127.0.0.1 (ephemeral port, optional TLS) answering POSTs to
``/wsman`` with Basic authentication, and implementing the shell operations: Create, Command,
Send, Receive (blocking up to the request's OperationTimeout, then the Windows timeout
fault), Signal and Delete. What a command does is up to a handler (see :mod:`.commands`).
Counters and fault knobs let tests see and break the conversation."""

from __future__ import annotations

import base64
import socket
import ssl
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from . import soap
from .commands import CommandSession, Handler


@dataclass
class Shell:
    """A WinRS shell: its Create options and its running commands."""

    shell_id: str
    options: dict[str, str]
    commands: dict[str, CommandSession] = field(default_factory=dict)
    last_used: float = field(default_factory=time.monotonic)


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    lost: bool = False  # processed, then the connection is closed without it


class WSManServer:
    """The server. ``handler`` starts commands; knobs are plain attributes or methods."""

    def __init__(
        self,
        handler: Handler,
        *,
        user: str = "orch",
        password: str = "s3cret",
        max_receive_bytes: int = 64 * 1024,
        shell_idle_s: float | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.handler = handler
        self.user, self.password = user, password
        self.max_receive_bytes = max_receive_bytes
        self.shell_idle_s = shell_idle_s
        self.delay_s = 0.0
        self.shell_not_found_status = 500
        self.counts: Counter[str] = Counter()
        self.shells: dict[str, Shell] = {}
        self.commands: list[tuple[str, list[str], dict[str, str]]] = []
        self._drop: list[bool] = []  # one entry per request to drop: True = after processing
        self._lose_answers = 0
        self._fail: list[int] = []
        self._lock = threading.Lock()
        self._httpd = _HTTPServer(self)
        if ssl_context is not None:
            self._httpd.socket = ssl_context.wrap_socket(self._httpd.socket, server_side=True)
        self.scheme = "https" if ssl_context else "http"
        self._thread: threading.Thread | None = None

    # -- lifecycle
    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}/wsman"

    def start(self) -> WSManServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.kill_shell()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> WSManServer:
        return self.start()

    def __exit__(
        self, typ: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- counters and knobs
    @property
    def total(self) -> int:
        """Requests received (every HTTP request, whatever its fate)."""
        return sum(self.counts.values())

    def reset_counts(self) -> None:
        self.counts.clear()

    def drop_next(self, n: int = 1, *, after_processing: bool = False) -> None:
        """Close the connection without answering the next ``n`` requests (before or after
        acting on them)."""
        self._drop += [after_processing] * n

    def lose_answers(self, n: int = 1) -> None:
        """The next ``n`` Receives whose output carries an answer line (``ORCH1-END``) are
        processed (the output is taken from the command), then the connection is closed
        without the response: the command ran, its answer is lost."""
        with self._lock:
            self._lose_answers += n

    def fail_next(self, n: int = 1, status: int = 500) -> None:
        """Answer the next ``n`` requests with ``status`` and an empty body, doing nothing."""
        self._fail += [status] * n

    def kill_shell(self, shell_id: str | None = None) -> None:
        """Forget one shell (or all): the next request on it gets "shell not found"."""
        with self._lock:
            ids = [shell_id] if shell_id else list(self.shells)
            for sid in ids:
                shell = self.shells.pop(sid, None)
                for session in shell.commands.values() if shell else ():
                    session.terminate()

    # -- the conversation
    def _authorized(self, header: str | None) -> bool:
        expected = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return header == f"Basic {expected}"

    def respond(self, auth: str | None, body: bytes) -> Reply | None:
        """The reply to one POST to /wsman, or None to drop the connection."""
        try:
            req = soap.parse_request(body)
            action = req.action
        except ValueError:
            req, action = None, "invalid"
        with self._lock:
            self.counts[action] += 1
            drop = self._drop.pop(0) if self._drop else None
            fail = self._fail.pop(0) if self._fail else None
            self._expire_idle()
        if drop is False:
            return None
        if fail is not None:
            return Reply(fail, b"")
        if not self._authorized(auth):
            return Reply(401, b"", {"WWW-Authenticate": 'Basic realm="WSMAN"'})
        if req is None:
            return Reply(400, b"")
        reply = self._dispatch(req)
        if self.delay_s:
            time.sleep(self.delay_s)
        return None if drop or reply.lost else reply

    def _expire_idle(self) -> None:
        if self.shell_idle_s is None:
            return
        now = time.monotonic()
        for sid, shell in list(self.shells.items()):
            if now - shell.last_used > self.shell_idle_s:
                del self.shells[sid]
                for session in shell.commands.values():
                    session.terminate()

    def _dispatch(self, req: soap.Request) -> Reply:
        if req.action == "Create":
            sid = str(uuid.uuid4()).upper()
            with self._lock:
                self.shells[sid] = Shell(sid, dict(req.options))
            return Reply(200, soap.create_response(req, sid, self.url, self.user))
        with self._lock:
            shell = self.shells.get(req.shell_id or "")
            if shell is not None:
                shell.last_used = time.monotonic()
        if shell is None:
            body = soap.shell_not_found_fault(req.message_id, req.shell_id or "")
            return Reply(self.shell_not_found_status, body)
        method = getattr(self, f"_on_{req.action.lower()}", None)
        if method is None:
            return Reply(500, soap.fault(req.message_id, 2150858817, f"bad action {req.action}"))
        try:
            return method(req, shell)  # type: ignore[no-any-return]
        finally:
            shell.last_used = time.monotonic()

    def _command_of(self, shell: Shell, command_id: str | None) -> CommandSession | None:
        return shell.commands.get(command_id or "")

    def _unknown_command(self, req: soap.Request) -> Reply:
        msg = "The parameter is incorrect: the CommandId is not valid for this shell."
        return Reply(500, soap.fault(req.message_id, soap.INVALID_PARAMETER, msg))

    def _on_command(self, req: soap.Request, shell: Shell) -> Reply:
        command = req.body.findtext("rsp:CommandLine/rsp:Command", "", soap.NS) or ""
        args = [a.text or "" for a in req.body.findall("rsp:CommandLine/rsp:Arguments", soap.NS)]
        self.commands.append((command, args, dict(req.options)))
        session = self.handler(command, args)
        cid = str(uuid.uuid4()).upper()
        shell.commands[cid] = session
        session.start()
        return Reply(200, soap.command_response(req, cid))

    def _on_send(self, req: soap.Request, shell: Shell) -> Reply:
        stream = req.find("rsp:Send/rsp:Stream")
        session = self._command_of(shell, stream.get("CommandId") if stream is not None else None)
        if stream is None or session is None:
            return self._unknown_command(req)
        data = base64.b64decode(stream.text or "")
        session.on_stdin(data, stream.get("End", "false").lower() == "true")
        return Reply(200, soap.empty_response(req, "SendResponse"))

    def _on_receive(self, req: soap.Request, shell: Shell) -> Reply:
        desired = req.find("rsp:Receive/rsp:DesiredStream")
        cid = desired.get("CommandId") if desired is not None else None
        session = self._command_of(shell, cid)
        if session is None or cid is None:
            return self._unknown_command(req)
        got = session.take(req.operation_timeout, self.max_receive_bytes)
        if got is None:
            return Reply(500, soap.timeout_fault(req.message_id))
        reply = Reply(200, soap.receive_response(req, cid, *got))
        with self._lock:
            if self._lose_answers and b"ORCH1-END " in got[0]:
                self._lose_answers -= 1
                reply.lost = True
        return reply

    def _on_signal(self, req: soap.Request, shell: Shell) -> Reply:
        signal = req.find("rsp:Signal")
        cid = signal.get("CommandId") if signal is not None else None
        session = shell.commands.pop(cid or "", None)
        if session is None:
            return self._unknown_command(req)
        session.terminate()
        return Reply(200, soap.empty_response(req, "SignalResponse"))

    def _on_delete(self, req: soap.Request, shell: Shell) -> Reply:
        self.kill_shell(shell.shell_id)
        return Reply(200, soap.empty_response(req, ""))


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, app: WSManServer) -> None:
        self.app = app
        super().__init__(("127.0.0.1", 0), _RequestHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: dropped and refused connections are part of the tests."""


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 256 * 1024  # one write per response (no Nagle/delayed-ACK stalls)
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.rstrip("/") != "/wsman":
            self._send(Reply(404, b""))
            return
        reply = self.server.app.respond(self.headers.get("Authorization"), body)
        if reply is None:
            self.close_connection = True
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        ctype = "application/soap+xml;charset=UTF-8" if reply.body else "text/plain"
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(reply.body)))
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(reply.body)
