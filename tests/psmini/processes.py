"""Processes of the emulated machine: ``Get-Process -Id`` and
``[System.Diagnostics.Process]::GetProcessById`` over ``WindowsHost.live_pids``. The
interpreter itself is ``WindowsHost.pid`` (``$PID``), named ``powershell``; any other live
process is named ``process``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .binding import binding_error
from .cmdbase import Context, hit
from .convert import to_integer
from .errors import NetError, PSError, Unsupported
from .values import PSObject

if TYPE_CHECKING:
    from .host import WindowsHost

NOT_FOUND = "Microsoft.PowerShell.Commands.ProcessCommandException"


def process_object(h: WindowsHost, pid: int) -> PSObject:
    """A System.Diagnostics.Process: Id, ProcessName (and its alias Name), HasExited."""
    name = "powershell" if pid == h.pid else "process"
    return PSObject(
        "System.Diagnostics.Process",
        {"Id": pid, "ProcessName": name, "Name": name},
        getters={"HasExited": lambda: pid not in h.live_pids},
        text=f"System.Diagnostics.Process ({name})",
    )


def _the_id(b: dict[str, Any]) -> int:
    """The one process id bound to ``-Id`` (an Int32[] parameter)."""
    if "Id" not in b:
        raise Unsupported("Get-Process without -Id")
    value = b["Id"]
    if isinstance(value, list):
        if not value:
            raise binding_error(
                "Get-Process",
                "Cannot bind argument to parameter 'Id' because it is an empty array.",
            )
        if len(value) > 1:
            raise Unsupported("Get-Process with several ids")
        value = value[0]
    if value is None:
        raise binding_error(
            "Get-Process", "Cannot bind argument to parameter 'Id' because it is null."
        )
    try:
        return to_integer(value, 32)
    except PSError as exc:
        raise binding_error("Get-Process", f"Cannot bind parameter 'Id'. {exc.message}") from None


def get_process(ctx: Context, b: dict[str, Any]) -> list[Any]:
    """``Get-Process -Id N``: the process, or a (non-terminating) ProcessCommandException."""
    pid = _the_id(b)
    if not hit(ctx, "Get-Process", str(pid), b):
        return []
    if pid not in ctx.host.live_pids:
        message = f"Cannot find a process with the process identifier {pid}."
        ctx.cmdlet_error("Get-Process", message, b, NOT_FOUND)
        return []
    return [process_object(ctx.host, pid)]


def get_process_by_id(h: WindowsHost, a: list[Any]) -> PSObject:
    """``[Diagnostics.Process]::GetProcessById(id)``: ArgumentException when not running."""
    pid = a[0]
    h.hit("GetProcessById", str(pid), "Process.GetProcessById")
    if pid not in h.live_pids:
        raise NetError("System.ArgumentException", f"Process with an Id of {pid} is not running.")
    return process_object(h, pid)
