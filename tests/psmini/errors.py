"""Errors of the mini interpreter.

- :class:`Unsupported`: the script left the supported subset (a test must fail loudly; the
  runner answers exit 99).
- :class:`PSError`: a PowerShell error (terminating when raised), carrying a .NET exception
  object (:class:`NetException`); ``try``/``catch`` catches only these.
- :class:`NetError`: raised by emulated .NET code; the call site wraps it the way PowerShell
  does (``Exception calling "Copy" with "3" argument(s): "..."``).
- :class:`ReturnFlow`, :class:`BreakFlow`, :class:`ContinueFlow`: flow-control signals.
- :class:`HostCrash`: the machine's PowerShell process was killed (a ``BaseException``: no
  ``catch``, no ``finally`` runs; it leaves :meth:`Interpreter.run`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

RUNTIME = "System.Management.Automation.RuntimeException"
METHOD_INVOCATION = "System.Management.Automation.MethodInvocationException"
GET_VALUE_INVOCATION = "System.Management.Automation.GetValueInvocationException"
BINDING = "System.Management.Automation.ParameterBindingException"
ITEM_NOT_FOUND = "System.Management.Automation.ItemNotFoundException"


class Unsupported(Exception):
    """Something outside the supported subset of PowerShell (node type, command, method...)."""

    def __init__(self, what: str, line: int | None = None) -> None:
        self.what = what
        self.line = line
        super().__init__(f"{what} (line {line})" if line else what)


class HostCrash(BaseException):
    """The interpreter process died at an injected point (``WindowsHost.crash``)."""

    def __init__(self, method: str, path: str) -> None:
        super().__init__(f"the PowerShell process died in {method} on {path!r}")
        self.method, self.path = method, path


class Timeout(Exception):
    """The request ran past its deadline (the runner answers exit 124)."""


@dataclass
class NetException:
    """A .NET exception object: the full name of its type, its message, its inner exception."""

    type_name: str
    message: str
    inner: NetException | None = None

    def ps_string(self) -> str:
        """``[string]$exception`` (``Type: message``, without a stack trace)."""
        return f"{self.type_name}: {self.message}"


class NetError(Exception):
    """An exception thrown by emulated .NET code (wrapped by the caller)."""

    def __init__(self, type_name: str, message: str) -> None:
        super().__init__(message)
        self.type_name = type_name
        self.message = message

    def exception(self) -> NetException:
        """The .NET exception object."""
        return NetException(self.type_name, self.message)


class PSError(Exception):
    """A PowerShell error. ``script_terminating``: ``throw`` or an error escalated by
    ``-ErrorAction Stop``; otherwise statement-terminating (a .NET method exception, a binding
    error), which ends the whole script only inside ``try`` or with ``$ErrorActionPreference``
    Stop."""

    def __init__(
        self,
        exception: NetException,
        *,
        command: str | None = None,
        script_terminating: bool = False,
        target: Any = None,
    ) -> None:
        super().__init__(exception.message)
        self.exception = exception
        self.command = command
        self.script_terminating = script_terminating
        self.target = target
        #: Raised by ``throw`` (which ``$ErrorActionPreference`` SilentlyContinue would hide).
        self.thrown = False

    @property
    def message(self) -> str:
        """The message of the error record (its exception's)."""
        return self.exception.message

    def formatted(self) -> str:
        """``Command : message`` as the interpreter's stderr shows a record."""
        return f"{self.command} : {self.message}" if self.command else self.message

    def inner_message(self) -> str:
        """What the interpreter reports for an uncaught error (Get-OrchInnerMessage):
        method-invocation wrappers are unwrapped to the .NET exception's message."""
        ex = self.exception
        while ex.type_name == METHOD_INVOCATION and ex.inner is not None:
            ex = ex.inner
        if ex is self.exception:
            return self.formatted()
        return ex.message


def runtime_error(message: str, type_name: str = RUNTIME) -> PSError:
    """A statement-terminating runtime error (``RuntimeException`` unless told)."""
    return PSError(NetException(type_name, message))


def method_error(name: str, argc: int, err: NetError) -> PSError:
    """A .NET method's exception as PowerShell reports it."""
    inner = err.exception()
    message = f'Exception calling "{name}" with "{argc}" argument(s): "{inner.message}"'
    return PSError(NetException(METHOD_INVOCATION, message, inner))


def getter_error(name: str, err: NetError) -> PSError:
    """A .NET property getter's exception as PowerShell reports it."""
    inner = err.exception()
    message = f'Exception getting "{name}": "{inner.message}"'
    return PSError(NetException(GET_VALUE_INVOCATION, message, inner))


class ReturnFlow(Exception):
    """``return`` (its value was already written to the output)."""


class BreakFlow(Exception):
    """``break`` (innermost loop)."""


class ContinueFlow(Exception):
    """``continue`` (innermost loop)."""
