"""Opening one SSH connection with paramiko: host-key checking, authentication, and the
mapping of every failure to a :class:`~orchestrator.errors.StepError`.

Host keys are checked against an OpenSSH ``known_hosts`` file. An unknown key is refused
(:class:`UnknownHostKey`) unless new keys are accepted, in which case it is appended to that
file; a key that differs from the recorded one is always refused (:class:`HostKeyChanged`).
Both messages name the host and the fingerprint and say how to fix it. No message ever holds
a password or key material."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paramiko
from paramiko.hostkeys import HostKeyEntry

from ..errors import AuthenticationError, FatalError, HostUnreachable

log = logging.getLogger(__name__)

#: Serialises appends to known_hosts files between the transports of this process.
_KNOWN_HOSTS_LOCK = threading.Lock()


class HostKeyError(FatalError):
    """The host's SSH key cannot be trusted; nothing was sent to the host."""


class UnknownHostKey(HostKeyError):
    """The host's key is not in known_hosts and new keys are not accepted."""


class HostKeyChanged(HostKeyError):
    """The host offered a key that differs from the one recorded in known_hosts."""


def fingerprint(key: Any) -> str:
    """The OpenSSH-style ``SHA256:...`` fingerprint of a paramiko key."""
    return str(key.fingerprint)


@dataclass(frozen=True)
class Endpoint:
    """Where and as whom to connect; the secrets live in :class:`Credentials`."""

    host: str
    address: str
    port: int
    user: str
    known_hosts: Path
    accept_new_host_keys: bool
    connect_timeout_s: float
    keepalive_s: int

    @property
    def key_name(self) -> str:
        """The host's name in known_hosts (``[addr]:port`` for a port other than 22)."""
        return self.address if self.port == 22 else f"[{self.address}]:{self.port}"


class Credentials:
    """A password and/or a private key file; never shown in ``repr``."""

    __slots__ = ("key_file", "password")

    def __init__(self, password: str | None, key_file: Path | None) -> None:
        self.password = password
        self.key_file = key_file

    def __repr__(self) -> str:
        return "Credentials(***)"


class _HostKeyPolicy(paramiko.MissingHostKeyPolicy):  # type: ignore[misc]
    """Refuses an unknown key, or (accept-new) records it in known_hosts."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint

    def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
        ep = self.endpoint
        if not ep.accept_new_host_keys:
            raise UnknownHostKey(
                f"{ep.host} ({ep.address}:{ep.port}): unknown SSH host key {key.get_name()} "
                f"{fingerprint(key)}; it is not in {ep.known_hosts}. Check the fingerprint on "
                f"the host, then add it with `ssh-keyscan -p {ep.port} -t {key.get_name()} "
                f"{ep.address} >> {ep.known_hosts}`, or run with --accept-new-host-keys"
            )
        line = HostKeyEntry([hostname], key).to_line()
        with _KNOWN_HOSTS_LOCK:
            ep.known_hosts.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            with ep.known_hosts.open("a", encoding="ascii") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX)
                fh.write(line)
        client.get_host_keys().add(hostname, key.get_name(), key)
        log.warning(
            "%s: accepted new SSH host key %s %s into %s",
            ep.host,
            key.get_name(),
            fingerprint(key),
            ep.known_hosts,
        )


def _changed(ep: Endpoint, exc: Any) -> HostKeyChanged:
    got, expected = exc.key, exc.expected_key
    return HostKeyChanged(
        f"{ep.host} ({ep.address}:{ep.port}): the SSH host key has CHANGED: {ep.known_hosts} "
        f"holds {expected.get_name()} {fingerprint(expected)}, the host offered "
        f"{got.get_name()} {fingerprint(got)}. Refusing to connect (this may be an attack). "
        f"If the change is expected (host reinstalled), remove the old key with "
        f"`ssh-keygen -R '{ep.key_name}' -f {ep.known_hosts}` and add the new one with "
        f"ssh-keyscan or --accept-new-host-keys"
    )


def connect(ep: Endpoint, creds: Credentials) -> Any:
    """A connected, authenticated ``paramiko.SSHClient`` with keepalive set.

    Raises :class:`HostKeyError` or :class:`~orchestrator.errors.AuthenticationError`
    (fatal), or :class:`~orchestrator.errors.HostUnreachable` (transient)."""
    where = f"{ep.host} ({ep.user}@{ep.address}:{ep.port})"
    if creds.key_file is not None and not creds.key_file.is_file():
        raise AuthenticationError(f"{where}: SSH private key file {creds.key_file} not found")
    client = paramiko.SSHClient()
    if ep.known_hosts.exists():
        client.get_host_keys().load(str(ep.known_hosts))
    client.set_missing_host_key_policy(_HostKeyPolicy(ep))
    no_secret = creds.password is None and creds.key_file is None
    try:
        client.connect(
            ep.address,
            port=ep.port,
            username=ep.user,
            password=creds.password,
            key_filename=str(creds.key_file) if creds.key_file else None,
            timeout=ep.connect_timeout_s,
            banner_timeout=ep.connect_timeout_s,
            auth_timeout=ep.connect_timeout_s,
            channel_timeout=ep.connect_timeout_s,
            allow_agent=no_secret,
            look_for_keys=no_secret,
        )
    except HostKeyError:
        client.close()
        raise
    except paramiko.BadHostKeyException as exc:
        client.close()
        raise _changed(ep, exc) from None
    except paramiko.AuthenticationException as exc:
        client.close()
        how = " and ".join(
            what
            for what, used in (("password", creds.password), ("key", creds.key_file))
            if used is not None
        )
        raise AuthenticationError(
            f"{where}: the SSH credentials were refused ({how or 'agent/default keys'}: "
            f"{type(exc).__name__})"
        ) from None
    except TimeoutError as exc:
        client.close()
        raise HostUnreachable(f"{where}: SSH connection timed out ({exc or 'timeout'})") from None
    except (OSError, EOFError, paramiko.SSHException) as exc:
        client.close()
        raise HostUnreachable(
            f"{where}: SSH connection failed: {exc or type(exc).__name__}"
        ) from None
    transport = client.get_transport()
    if ep.keepalive_s > 0:
        transport.set_keepalive(ep.keepalive_s)
    with contextlib.suppress(OSError, AttributeError):  # small requests go out at once
        transport.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    log.debug("%s: connected", where)
    return client
