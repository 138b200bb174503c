"""The PowerShell of the upgrade itself on a Windows host: ``Invoke-OrchPatchUpgrade`` and
its helpers (see :mod:`._windows_ps` for the whole set and the renderers).

It takes the lock ``<install>\\.orchestrator\\upgrade.lock`` (``FileMode.CreateNew``: exit
3 if it is there), then per op: folders it creates are noted in ``<Backup>\\made`` first,
the times of the folders it touches in ``<Backup>\\times``; an existing file is copied to
``files\\<k>.part`` and renamed ``files\\<k>``; the staged file is copied beside the target
(``.orch-new``, recorded before it is made), stamped, and swapped in (``File.Replace``, with
``[NullString]::Value`` as the backup name since PowerShell passes ``$null`` to a .NET string
as ``''``; ``File.Move`` for a new file); a removal is backed up first. Last the registry
values (old ones remembered). The rollback runs in ``finally``, so an error or a stop (a
timeout) undoes everything recorded so far; the lock is released unless the rollback failed.
"""

from __future__ import annotations

PS_UPGRADE = r"""
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

function Save-OrchPatchCopy {
    param([string]$Path, [string]$Saved)
    [IO.File]::Copy($Path, $Saved + '.part', $true)
    if ([IO.File]::Exists($Saved)) { [IO.File]::Delete($Saved) }
    [IO.File]::Move($Saved + '.part', $Saved)
}

function Invoke-OrchPatchUpgrade {
    param([string]$Root, [string]$Staging, [string]$Backup, [object[]]$Ops, [string]$Key,
        [hashtable]$Values, [string[]]$Log, [int]$Start, [string]$Lock, [string]$Id)
    try {
        [IO.File]::Open($Lock, [IO.FileMode]::CreateNew).Dispose()
        [IO.File]::WriteAllText($Lock, $Id + ' ' + $PID)
    } catch {
        $global:OrchPayload = @{ 'ok' = $false; 'rolled_back' = $true; 'done' = @();
            'error' = ('an upgrade is in progress or was interrupted (' + $Lock + ' exists)') }
        $global:LASTEXITCODE = 3
        return
    }
    $done = @()
    $lines = @()
    $folders = @{}
    $undo = @{ 'created' = $false; 'old' = @{}; 'set' = @() }
    $epoch = New-Object DateTime -ArgumentList 1970, 1, 1, 0, 0, 0, ([DateTimeKind]::Utc)
    $why = 'stopped before it finished (the step timed out)'
    $ok = $true
    $rolled = $true
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
                    [IO.File]::AppendAllText($Backup + '\times',
                        [string]$folders[$folder].Ticks + ' ' + $folder + [Environment]::NewLine)
                } elseif ($op['kind'] -eq 'write') {
                    [IO.File]::AppendAllText($Backup + '\made', $folder + [Environment]::NewLine)
                    [IO.Directory]::CreateDirectory($folder) | Out-Null
                    $folders[$folder] = $null
                    $done += @{ 'how' = 'folder'; 'path' = $folder }
                }
            }
            $what = ''
            if ($op['what']) { $what = ' ' + $op['what'] }
            if ($op['kind'] -eq 'remove') {
                if (-not [IO.File]::Exists($target)) { continue }
                Save-OrchPatchCopy $target $saved
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
                Save-OrchPatchCopy $target $saved
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
        $why = ''
    } catch {
        $why = [string]$_.Exception.Message
    } finally {
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
                try {
                    [IO.Directory]::SetLastWriteTimeUtc($folder, $when)
                } catch {
                    $rolled = $false
                }
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
        if ($rolled) {
            try { [IO.File]::Delete($Lock) } catch { }
        }
    }
    $global:OrchPayload = @{ 'ok' = $ok; 'rolled_back' = $rolled; 'error' = $why;
        'done' = $lines }
    if (-not $ok) {
        $global:LASTEXITCODE = 1
        if (-not $rolled) { $global:LASTEXITCODE = 2 }
    }
}
"""
