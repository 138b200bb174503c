"""Classification of what pywinrm and requests raise into :class:`~orchestrator.errors.StepError`
subclasses, so the engine can tell what to retry, and the refusal of unsafe settings. Messages
name the host, the endpoint and what was being done, never a password."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import requests
from winrm.exceptions import (
    AuthenticationError as WinRMAuthenticationError,
)
from winrm.exceptions import (
    WinRMError,
    WinRMOperationTimeoutError,
    WinRMTransportError,
    WSManFaultError,
)

from ..errors import AuthenticationError, FatalError, HostUnreachable, StepError, TransientError

#: WSManFault code: the Receive waited OperationTimeout without anything to report.
OPERATION_TIMEOUT = 2150858793
#: WSManFault code: the shell does not exist (expired, deleted, service restarted, reboot).
SHELL_NOT_FOUND = 2150858843
#: WMI error ERROR_WSMAN_QUOTA_MAX_OPERATIONS: the shell ran too many commands; recreate it.
QUOTA_MAX_OPERATIONS = 0x803381A6


AUTH_TRANSPORTS = ("ntlm", "kerberos", "credssp", "certificate", "basic")
#: WinRM's MaxShellRunTime; a shell never lives this long here.
MAX_SHELL_RUN_TIME_S = 8 * 3600


class ConfigurationError(FatalError, ValueError):
    """The transport's settings are refused (unsafe or inconsistent); nothing was sent."""


def check_settings(
    scheme: str,
    transport: str,
    allow_unencrypted: bool,
    op_s: int,
    read_s: int,
    max_age_s: float,
    has_cert: bool,
) -> None:
    """Refuse unsafe or inconsistent settings with a :class:`ConfigurationError`."""
    if scheme not in ("http", "https"):
        raise ConfigurationError(f"WinRM scheme must be https or http, not {scheme!r}")
    if transport not in AUTH_TRANSPORTS:
        raise ConfigurationError(
            f"unknown WinRM transport {transport!r}; use one of {', '.join(AUTH_TRANSPORTS)}"
        )
    if scheme == "http" and not allow_unencrypted:
        raise ConfigurationError(
            "WinRM over http is refused: the traffic is not protected by TLS. Use https "
            "(port 5986), or opt in explicitly with allow_unencrypted=True in the inventory"
        )
    if transport == "basic" and not allow_unencrypted:
        raise ConfigurationError(
            "WinRM Basic authentication is refused: it sends the password with every request "
            "and works only for local accounts. Use ntlm, kerberos, credssp or certificate, "
            "or opt in explicitly with allow_unencrypted=True in the inventory"
        )
    if not 1 <= op_s < read_s:
        raise ConfigurationError("read_timeout_s must exceed operation_timeout_s (>= 1 s)")
    if not 0 < max_age_s < MAX_SHELL_RUN_TIME_S:
        raise ConfigurationError(f"shell_max_age_s must be under {MAX_SHELL_RUN_TIME_S} s")
    if transport == "certificate" and not has_cert:
        raise ConfigurationError("certificate authentication needs cert_pem and cert_key_pem")


def causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and everything it wraps (causes, contexts, and the errors urllib3 and
    requests keep in ``args`` and ``reason``)."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        cur = todo.pop(0)
        if id(cur) in seen:
            continue
        seen.add(id(cur))
        yield cur
        nested = [cur.__cause__, cur.__context__, getattr(cur, "reason", None), *cur.args]
        todo += [e for e in nested if isinstance(e, BaseException)]


def http_status(exc: BaseException) -> int | None:
    """The HTTP status of a pywinrm transport error or fault, if any."""
    if isinstance(exc, WSManFaultError):
        return exc.code
    if isinstance(exc, WinRMTransportError):
        return exc.code
    return None


def fault_code(exc: BaseException) -> int | None:
    """The WSManFault code of a fault, if any."""
    return exc.wsman_fault_code if isinstance(exc, WSManFaultError) else None


def shell_gone(exc: BaseException) -> bool:
    """True if ``exc`` says the shell no longer exists (fault 2150858843, or the HTTP 400
    Windows answers for some requests on a dead shell)."""
    return fault_code(exc) == SHELL_NOT_FOUND or http_status(exc) == 400


def quota_exceeded(exc: BaseException) -> bool:
    """True if ``exc`` is the shell's operations quota (only a new shell helps)."""
    return isinstance(exc, WSManFaultError) and exc.wmierror_code == QUOTA_MAX_OPERATIONS


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every secret replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def classify(
    exc: BaseException, *, host: str, endpoint: str, doing: str, secrets: tuple[str, ...] = ()
) -> StepError:
    """The :class:`StepError` for ``exc``, raised while ``doing`` something with ``host``."""
    if isinstance(exc, StepError):
        return exc
    chain = list(causes(exc))
    where = f"{host} ({endpoint})"
    detail = scrub(f"{type(exc).__name__}: {exc}".strip(), secrets)
    if any(isinstance(e, WinRMAuthenticationError) for e in chain) or http_status(exc) == 401:
        return AuthenticationError(
            f"{where}: the credentials were refused while {doing}; check the user, the "
            "password and the auth transport (ntlm, kerberos, credssp, certificate)"
        )
    if any(_cert_failure(e) for e in chain):
        return FatalError(
            f"{where}: the server's TLS certificate could not be verified while {doing} "
            f"({detail}). Give the CA that signed it with ca_trust_path=/path/to/ca.pem "
            "(inventory: ansible_winrm_ca_trust_path) or fix the certificate's name; "
            "validation is never turned off unless cert_validation is set to false explicitly"
        )
    if any(isinstance(e, requests.exceptions.ReadTimeout) for e in chain):
        return TransientError(f"{where}: no answer within the read timeout while {doing}")
    if any(isinstance(e, requests.exceptions.ConnectionError | ConnectionError) for e in chain):
        return HostUnreachable(f"{where}: cannot connect while {doing} ({detail})")
    if any(isinstance(e, requests.exceptions.Timeout) for e in chain):
        return TransientError(f"{where}: timed out while {doing} ({detail})")
    if isinstance(exc, WinRMOperationTimeoutError):
        return TransientError(f"{where}: WinRM operation timeout while {doing}")
    status = http_status(exc)
    if shell_gone(exc):
        return TransientError(f"{where}: the remote shell is gone while {doing} ({detail})")
    if status is not None and (status >= 500 or status in (408, 429)):
        return TransientError(f"{where}: HTTP {status} while {doing} ({detail})")
    if status is not None:
        return FatalError(f"{where}: HTTP {status} while {doing} ({detail})")
    if isinstance(exc, WinRMError):
        return FatalError(f"{where}: WinRM error while {doing} ({detail})")
    if isinstance(exc, OSError):
        return HostUnreachable(f"{where}: {detail} while {doing}")
    return TransientError(f"{where}: unexpected answer while {doing} ({detail})")


def _cert_failure(exc: BaseException) -> bool:
    return isinstance(exc, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(exc)
