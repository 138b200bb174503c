"""The PowerShell side of patch levels on a Windows host: :data:`PS_PATCH` (five functions)
and the renderers of one call each. Pure: values in, script text out; every value goes
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

The upgrade, per op in order: create missing folders (remembered); copy an existing file to
``<Backup>\\files\\<k>``; copy the staged file ``<Staging>\\<k>`` to ``<file>.orch-new`` in
the same folder, stamp its mtime, and swap it in (``[IO.File]::Replace`` over an existing
file, ``[IO.File]::Move`` for a new one); removals are backed up first. Then the registry
values are written (``PatchLevel`` as a DWORD), the old ones remembered. On any failure it
replays backwards: old registry values, backed-up files (content and mtime), created files and
folders deleted, folder mtimes put back; ``ok`` false and ``$LASTEXITCODE`` 1 (2 when the
rollback itself failed; the backups stay). Only .NET static file methods are used, so no path
is ever read as a wildcard. The staging folder is removed at the end either way. Every file the
upgrade creates (``<file>.orch-new`` too) and every file it is about to swap is recorded before
the step that touches it, so a failure at any point rolls back completely. ``File.Replace`` gets
``[NullString]::Value`` as its backup name: PowerShell passes ``$null`` to a .NET string
parameter as ``''``, which ``File.Replace`` rejects ("The path is not of a legal form.").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..transports._quote import ps_value

#: The five functions (Windows PowerShell 4.0+ for Get-FileHash).
PS_PATCH = r"""
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
    $global:OrchPayload = @{ 'root' = [IO.Directory]::Exists($Root); 'values' = $values }
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

function Set-OrchPatchRegistry {
    param([string]$Key, [hashtable]$Values, [hashtable]$Undo)
    if (-not (Test-Path -LiteralPath $Key)) {
        New-Item -Path $Key -Force | Out-Null
        $Undo['created'] = $true
    } else {
        $props = Get-ItemProperty -LiteralPath $Key
        foreach ($name in $Values.Keys) {
            $value = $props.$name
            if ($null -ne $value) { $Undo['old'][$name] = $value }
        }
    }
    foreach ($name in $Values.Keys) {
        $Undo['set'] += $name
        $type = 'String'
        if ($name -eq 'PatchLevel') { $type = 'DWord' }
        New-ItemProperty -LiteralPath $Key -Name $name -Value $Values[$name] `
            -PropertyType $type -Force | Out-Null
    }
}

function Undo-OrchPatchRegistry {
    param([string]$Key, [hashtable]$Undo)
    if ($Undo['created']) {
        if (Test-Path -LiteralPath $Key) { Remove-Item -LiteralPath $Key -Recurse -Force }
        return
    }
    foreach ($name in $Undo['set']) {
        if ($Undo['old'].ContainsKey($name)) {
            $type = 'String'
            if ($name -eq 'PatchLevel') { $type = 'DWord' }
            New-ItemProperty -LiteralPath $Key -Name $name -Value $Undo['old'][$name] `
                -PropertyType $type -Force | Out-Null
        } else {
            Remove-ItemProperty -LiteralPath $Key -Name $name -ErrorAction SilentlyContinue
        }
    }
}

function Undo-OrchPatchFiles {
    param([object[]]$Done, [string]$Backup)
    $ok = $true
    for ($i = $Done.Count - 1; $i -ge 0; $i--) {
        $step = $Done[$i]
        try {
            $path = $step['path']
            if ($step['how'] -eq 'folder') {
                [IO.Directory]::Delete($path)
            } elseif ($step['how'] -eq 'added') {
                [IO.File]::Delete($path)
            } elseif ($step['how'] -eq 'removed') {
                $when = [IO.File]::GetLastWriteTimeUtc($step['saved'])
                [IO.File]::Copy($step['saved'], $path, $false)
                [IO.File]::SetLastWriteTimeUtc($path, $when)
            } else {
                $when = [IO.File]::GetLastWriteTimeUtc($step['saved'])
                $back = $path + '.orch-restore'
                [IO.File]::Copy($step['saved'], $back, $true)
                [IO.File]::Replace($back, $path,
                    [System.Management.Automation.Language.NullString]::Value)
                [IO.File]::SetLastWriteTimeUtc($path, $when)
            }
        } catch {
            $ok = $false
        }
    }
    return $ok
}

function Invoke-OrchPatchUpgrade {
    param([string]$Root, [string]$Staging, [string]$Backup, [object[]]$Ops, [string]$Key,
        [hashtable]$Values, [string[]]$Log, [int]$Start)
    $done = @()
    $lines = @()
    $folders = @{}
    $undo = @{ 'created' = $false; 'old' = @{}; 'set' = @() }
    $epoch = New-Object DateTime -ArgumentList 1970, 1, 1, 0, 0, 0, ([DateTimeKind]::Utc)
    $why = ''
    try {
        [IO.Directory]::CreateDirectory($Backup + '\files') | Out-Null
        Add-OrchPatchLog -Root $Root -Lines $Log
        Write-OrchPatchLog -Root $Root -Message ('backup of replaced files: ' + $Backup)
        foreach ($op in $Ops) {
            $k = [int]$op['k']
            $target = Join-OrchPatchPath $Root $op['path']
            $saved = $Backup + '\files\' + $k
            $parts = @($op['path'].Split('/'))
            $folder = $Root
            for ($j = 0; $j -lt $parts.Count; $j++) {
                if ($j -gt 0) { $folder = Join-OrchPatchPath $folder $parts[$j - 1] }
                if ($folders.ContainsKey($folder)) { continue }
                if ([IO.Directory]::Exists($folder)) {
                    $folders[$folder] = [IO.Directory]::GetLastWriteTimeUtc($folder)
                } elseif ($op['kind'] -eq 'write') {
                    [IO.Directory]::CreateDirectory($folder) | Out-Null
                    $folders[$folder] = $null
                    $done += @{ 'how' = 'folder'; 'path' = $folder }
                }
            }
            $what = ''
            if ($op['what']) { $what = ' ' + $op['what'] }
            if ($op['kind'] -eq 'remove') {
                if (-not [IO.File]::Exists($target)) { continue }
                [IO.File]::Copy($target, $saved, $true)
                [IO.File]::Delete($target)
                $done += @{ 'how' = 'removed'; 'path' = $target; 'saved' = $saved }
                $lines += ('X ' + $k)
                Write-OrchPatchLog -Root $Root -Message ('level ' + $op['level'] + ': removed ' +
                    $op['path'])
                continue
            }
            $new = $target + '.orch-new'
            $done += @{ 'how' = 'added'; 'path' = $new }
            [IO.File]::Copy($Staging + '\' + $k, $new, $true)
            [IO.File]::SetLastWriteTimeUtc($new, $epoch.AddSeconds([double]$op['mtime']))
            if ([IO.File]::Exists($target)) {
                [IO.File]::Copy($target, $saved, $true)
                $done += @{ 'how' = 'replaced'; 'path' = $target; 'saved' = $saved }
                [IO.File]::Replace($new, $target,
                    [System.Management.Automation.Language.NullString]::Value)
                [IO.File]::SetLastWriteTimeUtc($target, $epoch.AddSeconds([double]$op['mtime']))
                $lines += ('R ' + $k)
                $verb = 'replaced'
            } else {
                [IO.File]::Move($new, $target)
                $done += @{ 'how' = 'added'; 'path' = $target }
                $lines += ('A ' + $k)
                $verb = 'added'
            }
            Write-OrchPatchLog -Root $Root -Message ('level ' + $op['level'] + ': ' + $verb + ' ' +
                $op['path'] + $what)
        }
        Set-OrchPatchRegistry -Key $Key -Values $Values -Undo $undo
    } catch {
        $why = [string]$_.Exception.Message
    }
    $ok = $true
    $rolled = $true
    if ($why -ne '') {
        $ok = $false
        try {
            Write-OrchPatchLog -Root $Root -Message ('failed: ' + $why +
                '; rolling back to patch level ' + $Start)
        } catch {
        }
        try { Undo-OrchPatchRegistry -Key $Key -Undo $undo } catch { $rolled = $false }
        if (-not (Undo-OrchPatchFiles -Done $done -Backup $Backup)) { $rolled = $false }
        foreach ($folder in @($folders.Keys)) {
            $when = $folders[$folder]
            if ($null -eq $when) { continue }
            try { [IO.Directory]::SetLastWriteTimeUtc($folder, $when) } catch { $rolled = $false }
        }
        try {
            if ($rolled) {
                Write-OrchPatchLog -Root $Root -Message ('rolled back: every file restored; ' +
                    'patch level ' + $Start + ' kept')
            } else {
                Write-OrchPatchLog -Root $Root -Message ('rollback failed: backups kept in ' +
                    $Backup)
            }
        } catch {
        }
    }
    try {
        if ([IO.Directory]::Exists($Staging)) {
            Remove-Item -LiteralPath $Staging -Recurse -Force
        }
    } catch {
    }
    $global:OrchPayload = @{ 'ok' = $ok; 'rolled_back' = $rolled; 'error' = $why;
        'done' = $lines }
    if (-not $ok) {
        $global:LASTEXITCODE = 1
        if (-not $rolled) { $global:LASTEXITCODE = 2 }
    }
}
"""


def _call(name: str, args: Mapping[str, Any]) -> str:
    rendered = " ".join(f"-{key} {ps_value(value)}" for key, value in args.items())
    return f"{PS_PATCH}\n{name} {rendered}\n"


def state_script(root: str, key: str) -> str:
    """Payload ``{root: bool, values: {PatchLevel, Product, ...: str}}``."""
    return _call("Get-OrchPatchState", {"Root": root, "Key": key})


def facts_script(root: str, paths: Sequence[str]) -> str:
    """Payload ``{files: {rel: [sha256, size, mtime] | ["unreadable", why] | null}}``."""
    return _call("Get-OrchPatchFacts", {"Root": root, "Paths": list(paths)})


def services_script(names: Sequence[str]) -> str:
    """Payload ``{running: ["NAME (Status)", ...]}``."""
    return _call("Get-OrchPatchServices", {"Names": list(names)})


def log_script(root: str, lines: Sequence[str]) -> str:
    """Append ready-made lines to ``install.log``."""
    return _call("Add-OrchPatchLog", {"Root": root, "Lines": list(lines)})


def upgrade_script(
    root: str,
    staging: str,
    backup: str,
    ops: Sequence[Mapping[str, Any]],
    key: str,
    values: Mapping[str, Any],
    log: Sequence[str],
    start: int,
) -> str:
    """Payload ``{ok, rolled_back, error, done: ["R k" | "A k" | "X k", ...]}``; exit 1 when
    it failed and rolled back, 2 when the rollback failed too."""
    return _call(
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
        },
    )
