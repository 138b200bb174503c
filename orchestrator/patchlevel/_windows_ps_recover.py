"""The PowerShell that finds and undoes an upgrade that died on a Windows host (a crash, a
killed interpreter, a timeout that stopped it): :data:`PS_RECOVER`, sent after
:data:`._windows_ps.PS_PATCH`, whose helpers it uses.

- ``Get-OrchPatchLock``: the lock ``Invoke-OrchPatchUpgrade`` takes (``<id> <pid>``), whether
  that process still runs, and the upgrade's ``plan.json`` from its backup folder.
- ``Undo-OrchPatchInterrupted``: from the backup folder and the plan, every file that existed
  gets its whole backup back (``files\\<k>`` appears only once the copy is complete), a file
  that did not exist is deleted, temporary ``.orch-new``/``.orch-restore`` files go, the
  folders listed in ``made`` are removed when empty, the folder times in ``times`` come
  back, its staging folder goes, and the registry values are put back
  (or the key removed if there was none); then the lock is released. Exit 0, or 2 with the
  lock kept when something could not be undone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._windows_ps import call

PS_RECOVER = r"""
function Get-OrchPatchLock {
    param([string]$Lock, [string]$Backups)
    if (-not [IO.File]::Exists($Lock)) { $global:OrchPayload = @{ 'lock' = $false }; return }
    $words = @(([IO.File]::ReadAllText($Lock)).Trim().Split(' '))
    $id = [string]$words[0]
    $pidText = ''
    if ($words.Count -gt 1) { $pidText = [string]$words[1] }
    $alive = $false
    $owner = 0
    if ($pidText -match '^[0-9]+$') {
        $owner = [int]$pidText
        $alive = $null -ne (Get-Process -Id $owner -ErrorAction SilentlyContinue)
    }
    $plan = $null
    if ($id -match '^[A-Za-z0-9._-]+$') {
        $file = $Backups + '\' + $id + '\plan.json'
        if ([IO.File]::Exists($file)) { $plan = [IO.File]::ReadAllText($file) }
    }
    $global:OrchPayload = @{ 'lock' = $true; 'id' = $id; 'pid' = $owner; 'alive' = $alive;
        'plan' = $plan }
}

function Undo-OrchPatchInterrupted {
    param([string]$Root, [string]$Backup, [string]$Lock, [object[]]$Ops, [string]$Key,
        [hashtable]$Registry, [int]$Start, [string]$Staging)
    $ok = $true
    try {
        if ([IO.Directory]::Exists($Staging)) {
            Remove-Item -LiteralPath $Staging -Recurse -Force
        }
    } catch {
        $ok = $false
    }
    for ($i = $Ops.Count - 1; $i -ge 0; $i--) {
        $op = $Ops[$i]
        $target = Join-OrchPatchPath $Root $op['path']
        $saved = $Backup + '\files\' + $op['k']
        try {
            if ($op['kind'] -eq 'remove') {
                if ([IO.File]::Exists($saved) -and -not [IO.File]::Exists($target)) {
                    [IO.File]::Copy($saved, $target, $false)
                    [IO.File]::SetLastWriteTimeUtc($target, [IO.File]::GetLastWriteTimeUtc($saved))
                }
            } elseif ($op['existed']) {
                if ([IO.File]::Exists($saved)) {
                    $when = [IO.File]::GetLastWriteTimeUtc($saved)
                    $back = $target + '.orch-restore'
                    [IO.File]::Copy($saved, $back, $true)
                    if ([IO.File]::Exists($target)) {
                        [IO.File]::Replace($back, $target,
                            [System.Management.Automation.Language.NullString]::Value)
                    } else {
                        [IO.File]::Move($back, $target)
                    }
                    [IO.File]::SetLastWriteTimeUtc($target, $when)
                }
            } else {
                [IO.File]::Delete($target)
            }
            [IO.File]::Delete($target + '.orch-new')
            [IO.File]::Delete($target + '.orch-restore')
        } catch {
            $ok = $false
        }
    }
    $made = $Backup + '\made'
    if ([IO.File]::Exists($made)) {
        $folders = @([IO.File]::ReadAllLines($made))
        for ($i = $folders.Count - 1; $i -ge 0; $i--) {
            $folder = [string]$folders[$i]
            if ($folder -eq '' -or -not [IO.Directory]::Exists($folder)) { continue }
            try {
                if (@([IO.Directory]::GetFileSystemEntries($folder)).Count -eq 0) {
                    [IO.Directory]::Delete($folder)
                }
            } catch {
                $ok = $false
            }
        }
    }
    $times = $Backup + '\times'
    if ([IO.File]::Exists($times)) {
        $zero = New-Object DateTime -ArgumentList 1, 1, 1, 0, 0, 0, ([DateTimeKind]::Utc)
        foreach ($line in @([IO.File]::ReadAllLines($times))) {
            $cut = $line.IndexOf(' ')
            if ($cut -lt 1) { continue }
            $folder = $line.Substring($cut + 1)
            if (-not [IO.Directory]::Exists($folder)) { continue }
            try {
                $when = $zero.AddTicks([long]$line.Substring(0, $cut))
                [IO.Directory]::SetLastWriteTimeUtc($folder, $when)
            } catch {
                $ok = $false
            }
        }
    }
    try {
        if (-not $Registry['existed']) {
            if (Test-Path -LiteralPath $Key) { Remove-Item -LiteralPath $Key -Recurse -Force }
        } else {
            $old = $Registry['values']
            foreach ($name in @('PatchLevel', 'Product', 'Release', 'Build', 'Version', 'Package',
                    'Updated')) {
                if ($old.ContainsKey($name)) {
                    if ($name -eq 'PatchLevel') {
                        New-ItemProperty -LiteralPath $Key -Name $name -Value ([int]$old[$name]) `
                            -PropertyType DWord -Force | Out-Null
                    } else {
                        $text = [string]$old[$name]
                        New-ItemProperty -LiteralPath $Key -Name $name -Value $text `
                            -PropertyType String -Force | Out-Null
                    }
                } else {
                    Remove-ItemProperty -LiteralPath $Key -Name $name -ErrorAction SilentlyContinue
                }
            }
        }
    } catch {
        $ok = $false
    }
    if ($ok) {
        Write-OrchPatchLog -Root $Root -Message ('recovered an interrupted upgrade from ' +
            $Backup + ': patch level ' + $Start + ' restored')
        [IO.File]::Delete($Lock)
    } else {
        Write-OrchPatchLog -Root $Root -Message ('recovery of the interrupted upgrade failed: ' +
            'backups kept in ' + $Backup)
        $global:LASTEXITCODE = 2
    }
}
"""


def lock_script(lock: str, backups: str) -> str:
    """Payload ``{lock: false}`` or ``{lock: true, id, pid, alive, plan: text | null}``."""
    return call("Get-OrchPatchLock", {"Lock": lock, "Backups": backups}, PS_RECOVER)


def recover_script(
    root: str,
    backup: str,
    lock: str,
    ops: Sequence[Mapping[str, Any]],
    key: str,
    registry: Mapping[str, Any],
    start: int,
    staging: str,
) -> str:
    """Undo the interrupted upgrade whose backup folder is ``backup`` (and remove its
    ``staging`` folder); exit 0 or 2."""
    return call(
        "Undo-OrchPatchInterrupted",
        {
            "Root": root,
            "Backup": backup,
            "Lock": lock,
            "Ops": [dict(op) for op in ops],
            "Key": key,
            "Registry": dict(registry),
            "Start": start,
            "Staging": staging,
        },
        PS_RECOVER,
    )
