"""From an inventory host to a transport: the plan's ``connection`` facts (address, port,
user, WinRM options, the inventory's explicit consents) plus the credentials, which come
from the inventory's variables (never from the plan) or from the environment:
``ORCHESTRATOR_PASSWORD_<HOST>`` for one host (upper case, other characters than letters
and digits as ``_``), else ``ORCHESTRATOR_PASSWORD``, else ``ansible_password`` (or the
WinRM/SSH variants) in the inventory."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..errors import InputError
from ._protocol import Transport

_PASSWORD_VARS = (
    "ansible_password",
    "ansible_winrm_password",
    "ansible_ssh_pass",
    "ansible_ssh_password",
)
_KEY_VARS = ("ansible_ssh_private_key_file", "ansible_private_key_file")
SUPPORTED = frozenset({"winrm", "ssh"})


def password_for(
    host: str, host_vars: Mapping[str, Any], env: Mapping[str, str] | None = None
) -> str | None:
    """The password for ``host``: environment first, then the inventory's variables."""
    env = os.environ if env is None else env
    own = "ORCHESTRATOR_PASSWORD_" + re.sub(r"[^A-Za-z0-9]", "_", host).upper()
    for value in (env.get(own), env.get("ORCHESTRATOR_PASSWORD")):
        if value:
            return value
    for name in _PASSWORD_VARS:
        value = host_vars.get(name)
        if isinstance(value, str) and value:
            return value
    return None


def transport_factory(
    facts: Mapping[str, Any],
    host_vars: Mapping[str, Mapping[str, Any]],
    env: Mapping[str, str] | None = None,
) -> Callable[[str], Transport]:
    """``connect(host)`` for the hosts of ``facts``."""

    def connect(host: str) -> Transport:
        info = facts.get("hosts", {}).get(host)
        if info is None:
            raise InputError(f"host {host} is not in the plan's facts")
        conn: Mapping[str, Any] = info.get("connection", {})
        kind = str(conn.get("kind", "ssh"))
        own = host_vars.get(host, {})
        password = password_for(host, own, env)
        if kind == "winrm":
            from ._interp_ps import ps_program
            from ._winrm import WinRMTransport

            if password is None:
                raise InputError(_no_password(host))
            return WinRMTransport(
                host,
                str(conn.get("address", host)),
                port=conn.get("port"),
                scheme=str(conn.get("winrm_scheme") or "https"),
                user=str(conn.get("user") or ""),
                password=password,
                transport=str(conn.get("winrm_transport") or "ntlm"),
                cert_validation=bool(conn.get("cert_validation", True)),
                allow_unencrypted=bool(conn.get("allow_unencrypted", False)),
                interpreter=ps_program((info.get("os") or {}).get("powershell")),
            )
        if kind == "ssh":
            from ._ssh import SSHTransport

            key = next((str(own[k]) for k in _KEY_VARS if own.get(k)), None)
            windows = info.get("platform") == "windows"
            return SSHTransport(
                host,
                str(conn.get("address", host)),
                port=int(conn.get("port") or 22),
                user=str(conn.get("user") or os.environ.get("USER", "root")),
                password=password,
                key_file=Path(key).expanduser() if key else None,
                accept_new_host_keys=bool(conn.get("accept_new_host_keys", False)),
                interpreter="powershell" if windows else "sh",
            )
        raise InputError(
            f"host {host}: connection {kind!r} is not supported (use winrm, ssh, or sim)"
        )

    return connect


def check_hosts(
    facts: Mapping[str, Any],
    host_vars: Mapping[str, Mapping[str, Any]],
    env: Mapping[str, str] | None = None,
) -> None:
    """Refuse, before any connection, unsafe settings (http or Basic without the inventory's
    consent) and missing credentials, naming the host."""
    from ._winrm_errors import ConfigurationError, check_settings

    for host, info in sorted(facts.get("hosts", {}).items()):
        conn: Mapping[str, Any] = info.get("connection", {})
        if conn.get("kind") != "winrm":
            continue
        scheme = str(conn.get("winrm_scheme") or "https").lower()
        auth = str(conn.get("winrm_transport") or "ntlm").lower()
        try:
            check_settings(scheme, auth, bool(conn.get("allow_unencrypted")), 20, 30, 3600, True)
        except ConfigurationError as exc:
            raise InputError(f"host {host}: {exc}") from None
        if password_for(host, host_vars.get(host, {}), env) is None:
            raise InputError(_no_password(host))


def _no_password(host: str) -> str:
    return (
        f"no password for {host}: set ORCHESTRATOR_PASSWORD (or ORCHESTRATOR_PASSWORD_"
        f"{re.sub(r'[^A-Za-z0-9]', '_', host).upper()}) or ansible_password in the inventory"
    )
