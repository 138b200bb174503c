"""The PowerShell side of patch levels on a Windows host: :data:`PS_PATCH` (the functions
below) and the renderers of one call each. Pure: values in, script text out; every value goes
through :func:`~orchestrator.transports._quote.ps_value` (one quoting helper).

Each request is ``PS_PATCH`` plus one call, so it does not depend on the verb library being
loaded. The functions answer through ``$global:OrchPayload`` (see docs/patch-packages.md,
"Windows hosts"):

- ``Get-OrchPatchState``: does the installation folder exist; the level recorded in the
  registry key (``PatchLevel`` and the values beside it).
- ``Get-OrchPatchFacts``: SHA-256, size and mtime of every path in one call (``unreadable``
  when a file exists but cannot be read).
- ``Get-OrchPatchServices``: which of the named services (service or display name, matched
  exactly, never as a wildcard) are not stopped.
- ``Add-OrchPatchLog``: append lines to ``install.log``.
- ``Invoke-OrchPatchUpgrade``: the upgrade, all or nothing (below).

The upgrade is in :mod:`._windows_ps_upgrade`, the recovery of an interrupted one in
:mod:`._windows_ps_recover`. Only .NET static file methods touch files, so no path is ever
read as a wildcard.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..transports._quote import ps_value
from ._windows_ps_upgrade import PS_UPGRADE

#: Paths, state, facts, services, log.
PS_BASE = r"""
$ErrorActionPreference = 'Stop'

function Join-OrchPatchPath {
    param([string]$Root, [string]$Rel)
    if ($Rel -eq '') { return $Root }
    return ($Root.TrimEnd('\') + '\' + $Rel.Replace('/', '\'))
}

function Get-OrchPatchNow {
    return ([DateTime]::UtcNow.ToString('s') + 'Z')
}

function Get-OrchPatchState {
    param([string]$Root, [string]$Key)
    $values = @{}
    if (Test-Path -LiteralPath $Key) {
        $props = Get-ItemProperty -LiteralPath $Key
        foreach ($name in @('PatchLevel', 'Product', 'Release', 'Build', 'Version', 'Package',
                'Updated')) {
            $value = $props.$name
            if ($null -ne $value) { $values[$name] = [string]$value }
        }
    }
    $global:OrchPayload = @{ 'root' = [IO.Directory]::Exists($Root); 'values' = $values;
        'key' = (Test-Path -LiteralPath $Key) }
}

function Get-OrchPatchFacts {
    param([string]$Root, [string[]]$Paths)
    $files = @{}
    foreach ($rel in $Paths) {
        $full = Join-OrchPatchPath $Root $rel
        if (-not [IO.File]::Exists($full)) { $files[$rel] = $null; continue }
        try {
            $size = (New-Object IO.FileInfo -ArgumentList $full).Length
            $ticks = [IO.File]::GetLastWriteTimeUtc($full).Ticks
            $hash = (Get-FileHash -LiteralPath $full -Algorithm SHA256).Hash.ToLowerInvariant()
            $files[$rel] = @($hash, $size, (($ticks - 621355968000000000) / 10000000))
        } catch {
            $files[$rel] = @('unreadable', $_.Exception.Message)
        }
    }
    $global:OrchPayload = @{ 'files' = $files }
}

function Get-OrchPatchServices {
    param([string[]]$Names)
    $running = @()
    $all = @(Get-Service)
    foreach ($name in $Names) {
        foreach ($svc in $all) {
            if ($svc.Name -eq $name -or $svc.DisplayName -eq $name) {
                $status = [string]$svc.Status
                if ($status -ne 'Stopped') { $running += ($name + ' (' + $status + ')') }
            }
        }
    }
    $global:OrchPayload = @{ 'running' = $running }
}

function Add-OrchPatchLog {
    param([string]$Root, [string[]]$Lines)
    $log = Join-OrchPatchPath $Root 'install.log'
    foreach ($line in $Lines) { [IO.File]::AppendAllText($log, $line + [Environment]::NewLine) }
}

function Write-OrchPatchLog {
    param([string]$Root, [string]$Message)
    Add-OrchPatchLog -Root $Root -Lines @((Get-OrchPatchNow) + ' ' + $Message)
}

"""

#: The five functions and their helpers (Windows PowerShell 4.0+ for Get-FileHash).
PS_PATCH = PS_BASE + PS_UPGRADE


def call(name: str, args: Mapping[str, Any], library: str = "") -> str:
    """``PS_PATCH`` (plus ``library``) and one call of ``name``, every value quoted."""
    rendered = " ".join(f"-{key} {ps_value(value)}" for key, value in args.items())
    return f"{PS_PATCH}\n{library}\n{name} {rendered}\n"


def state_script(root: str, key: str) -> str:
    """Payload ``{root: bool, values: {PatchLevel, Product, ...: str}}``."""
    return call("Get-OrchPatchState", {"Root": root, "Key": key})


def facts_script(root: str, paths: Sequence[str]) -> str:
    """Payload ``{files: {rel: [sha256, size, mtime] | ["unreadable", why] | null}}``."""
    return call("Get-OrchPatchFacts", {"Root": root, "Paths": list(paths)})


def services_script(names: Sequence[str]) -> str:
    """Payload ``{running: ["NAME (Status)", ...]}``."""
    return call("Get-OrchPatchServices", {"Names": list(names)})


def log_script(root: str, lines: Sequence[str]) -> str:
    """Append ready-made lines to ``install.log``."""
    return call("Add-OrchPatchLog", {"Root": root, "Lines": list(lines)})


def upgrade_script(
    root: str,
    staging: str,
    backup: str,
    ops: Sequence[Mapping[str, Any]],
    key: str,
    values: Mapping[str, Any],
    log: Sequence[str],
    start: int,
    lock: str,
    ident: str,
) -> str:
    """Payload ``{ok, rolled_back, error, done: ["R k" | "A k" | "X k", ...]}``; exit 1 when
    it failed and rolled back, 2 when the rollback failed too, 3 when ``lock`` (taken as
    ``<ident> <pid>``) was already there."""
    return call(
        "Invoke-OrchPatchUpgrade",
        {
            "Root": root,
            "Staging": staging,
            "Backup": backup,
            "Ops": [dict(op) for op in ops],
            "Key": key,
            "Values": dict(values),
            "Log": list(log),
            "Start": start,
            "Lock": lock,
            "Id": ident,
        },
    )
