"""A host's merged variables → platform, roles and :class:`~orchestrator.facts.Connection`.

Only the connection's public parts reach the facts (address, port, user, protocol options).
Credentials (:func:`is_secret_var`) stay in the inventory's variables and are never required:
the transports take them from the environment or a prompt.
"""

from __future__ import annotations

from typing import Any

from ..errors import SchemaError
from ..facts import Connection, Platform
from ._model import Vars
from ._specs import checked
from ._yaml_load import VaultValue

#: Variables that hold credentials (besides any name with a :data:`SECRET_SUFFIXES` ending).
SECRET_VARS = frozenset(
    {
        "ansible_password",
        "ansible_ssh_pass",
        "ansible_ssh_password",
        "ansible_become_password",
        "ansible_become_pass",
        "ansible_winrm_password",
        "ansible_ssh_private_key_file",
        "ansible_private_key_file",
    }
)
SECRET_SUFFIXES = ("_password", "_passwd", "_secret", "_token")
WINDOWS_CONNECTIONS = ("winrm", "psrp")
WINDOWS_SHELLS = ("powershell", "cmd")


def is_secret_var(name: str, value: Any = None) -> bool:
    """True for a variable that holds (or points to) a credential, or a vault value."""
    lowered = name.lower()
    return (
        lowered in SECRET_VARS or lowered.endswith(SECRET_SUFFIXES) or isinstance(value, VaultValue)
    )


def _text(values: Vars, *names: str) -> str | None:
    """The first of ``names`` that is set, as a plain (non-template) string."""
    for name in names:
        if name not in values.values:
            continue
        value, loc = values.values[name], values.where[name]
        if isinstance(value, VaultValue):
            raise SchemaError(f"{name} cannot be vault-encrypted: it is not a secret", loc)
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise SchemaError(f"{name} must be a string, got {value!r}", loc)
        text = str(value)
        if "{{" in text:
            raise SchemaError(
                f"{name} is a Jinja template ({text!r}); the orchestrator does not evaluate "
                "templates: write the value itself",
                loc,
            )
        return text
    return None


def _port(values: Vars) -> int | None:
    for name in ("ansible_port", "ansible_ssh_port"):
        if name not in values.values:
            continue
        value, loc = values.values[name], values.where[name]
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
            raise SchemaError(f"{name} must be a port number (1-65535), got {value!r}", loc)
        return value
    return None


def _cert_validation(values: Vars) -> bool:
    name = "ansible_winrm_server_cert_validation"
    text = _text(values, name)
    if text is None or text.lower() == "validate":
        return True
    if text.lower() == "ignore":
        return False
    raise SchemaError(f"{name} must be 'validate' or 'ignore', got {text!r}", values.where[name])


def _short(kind: str | None) -> str | None:
    """``ansible.builtin.winrm`` → ``winrm``."""
    return kind.rsplit(".", 1)[-1] if kind else kind


def connection(name: str, values: Vars) -> Connection:
    """How to reach host ``name`` (address defaults to the inventory name, kind to ssh)."""
    transport = values.values.get("ansible_winrm_transport")
    if isinstance(transport, list) and all(isinstance(t, str) for t in transport):
        winrm_transport: str | None = ",".join(transport)
    else:
        winrm_transport = _text(values, "ansible_winrm_transport")
    scheme = _text(values, "ansible_winrm_scheme")
    if scheme is not None and scheme not in ("http", "https"):
        where = values.where["ansible_winrm_scheme"]
        raise SchemaError(f"ansible_winrm_scheme must be 'http' or 'https', got {scheme!r}", where)
    kind = _text(values, "orchestrator_connection") or _short(_text(values, "ansible_connection"))
    return Connection(
        address=_text(values, "ansible_host", "ansible_ssh_host") or name,
        kind=kind or "ssh",
        port=_port(values),
        user=_text(values, "ansible_user", "ansible_ssh_user"),
        winrm_transport=winrm_transport,
        winrm_scheme=scheme,
        cert_validation=_cert_validation(values),
        allow_unencrypted=_consent("orchestrator_allow_unencrypted", values),
        accept_new_host_keys=_consent("orchestrator_accept_new_host_keys", values),
    )


def _consent(name: str, values: Vars) -> bool:
    found = checked(name, values)
    return bool(found and found[0])


def platform(values: Vars) -> Platform:
    """``orchestrator_platform``, else windows for WinRM/PSRP or a PowerShell/cmd shell."""
    found = checked("orchestrator_platform", values)
    if found is not None:
        return "windows" if found[0] == "windows" else "linux"
    kind = _short(_text(values, "ansible_connection"))
    shell = _short(_text(values, "ansible_shell_type"))
    return "windows" if kind in WINDOWS_CONNECTIONS or shell in WINDOWS_SHELLS else "linux"


def roles(values: Vars) -> tuple[str, ...]:
    """``orchestrator_roles``: a list, or a comma-separated string (INI), duplicates dropped."""
    found = checked("orchestrator_roles", values)
    if found is None:
        return ()
    value = found[0]
    items = value.split(",") if isinstance(value, str) else value
    return tuple(dict.fromkeys(item.strip() for item in items if item.strip()))
