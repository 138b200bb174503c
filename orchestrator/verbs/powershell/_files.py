"""PowerShell verbs for preserved files (``preserve_files``/``restore_files``, copies kept under
``%ProgramData%\\Orchestrator\\saved``), file facts (SHA-256, size, mtime of a list of
paths in one call) and ``hook`` (the playbook's ``run`` text, trusted operator input, run in a
child ``powershell.exe -EncodedCommand``; its exit code is the step's ``exit_code``)."""

from __future__ import annotations

PS_FILES = r"""
function Get-OrchFileHash {
    param([string]$Path)
    $sha = [System.Security.Cryptography.SHA256]::Create()
    $stream = [System.IO.File]::OpenRead($Path)
    try { $bytes = $sha.ComputeHash($stream) } finally { $stream.Dispose() }
    return (($bytes | ForEach-Object { $_.ToString('x2') }) -join '')
}

function Get-OrchFileFacts {
    param([string[]]$Paths = @())
    $facts = @()
    foreach ($path in $Paths) {
        if (Test-Path -LiteralPath $path -PathType Leaf) {
            $item = Get-Item -LiteralPath $path
            $facts += @{ 'path' = $path; 'exists' = $true; 'size' = $item.Length;
                'mtime' = $item.LastWriteTimeUtc.ToString('o');
                'sha256' = (Get-OrchFileHash $path) }
        } else {
            $facts += @{ 'path' = $path; 'exists' = $false }
        }
    }
    return ,$facts
}

function Get-OrchSavedCopy {
    param([string]$Path)
    $dir = Join-Path -Path $OrchStateRoot -ChildPath 'saved'
    if (-not (Test-Path -LiteralPath $dir)) {
        New-Item -Path $dir -ItemType Directory -Force | Out-Null
    }
    return (Join-Path -Path $dir -ChildPath (Get-OrchHash $Path.ToLowerInvariant()))
}

function Get-OrchLastInstall {
    $mark = Get-OrchMark -Area 'host' -Key 'last-install'
    if ($null -eq $mark -or $mark.Count -lt 1) { return [datetime]::MinValue }
    return (ConvertFrom-OrchTime $mark[0])
}

function Test-OrchPreserveFiles {
    param([hashtable]$P)
    $since = Get-OrchLastInstall
    $missing = @()
    foreach ($path in @(Get-OrchList -P $P -Name 'files')) {
        $mark = Get-OrchMark -Area 'preserved' -Key $path.ToLowerInvariant()
        $copy = Get-OrchSavedCopy $path
        if ($null -eq $mark -or -not (Test-Path -LiteralPath $copy)) { $missing += $path; continue }
        $at = ConvertFrom-OrchTime $mark[0]
        if ($at -lt $since) { $missing += $path }
    }
    if ($missing.Count -gt 0) {
        return (New-OrchProbe $false ('not saved: ' + ($missing -join ', ')))
    }
    return (New-OrchProbe $true 'every file has a copy saved since the last install')
}

function Invoke-OrchPreserveFiles {
    param([hashtable]$P)
    $saved = @()
    foreach ($path in @(Get-OrchList -P $P -Name 'files')) {
        if (-not (Test-Path -LiteralPath $path -PathType Leaf)) {
            throw ("{0} does not exist" -f $path)
        }
        $copy = Get-OrchSavedCopy $path
        Copy-Item -LiteralPath $path -Destination $copy -Force
        Set-OrchMark -Area 'preserved' -Key $path.ToLowerInvariant() `
            -Value @((Get-Date).ToUniversalTime().ToString('o'))
        $saved += $path
    }
    return (New-OrchApply -Output ('saved ' + ($saved -join ', ')))
}

function Confirm-OrchPreserveFiles {
    param([hashtable]$P)
    $probe = Test-OrchPreserveFiles -P $P
    return (New-OrchVerify $probe.in_effect $probe.detail)
}

function Test-OrchRestoreFiles {
    param([hashtable]$P)
    $differ = @()
    foreach ($path in @(Get-OrchList -P $P -Name 'files')) {
        $copy = Get-OrchSavedCopy $path
        if (-not (Test-Path -LiteralPath $copy) -or
            -not (Test-Path -LiteralPath $path -PathType Leaf)) {
            $differ += $path; continue
        }
        if ((Get-OrchFileHash $path) -ne (Get-OrchFileHash $copy)) { $differ += $path }
    }
    if ($differ.Count -gt 0) {
        return (New-OrchProbe $false ('differs from the saved copy: ' + ($differ -join ', ')))
    }
    return (New-OrchProbe $true 'every file equals its saved copy')
}

function Invoke-OrchRestoreFiles {
    param([hashtable]$P)
    $files = @(Get-OrchList -P $P -Name 'files')
    $missing = @($files | Where-Object { -not (Test-Path -LiteralPath (Get-OrchSavedCopy $_)) })
    if ($missing.Count -gt 0) { throw ('no saved copy of ' + ($missing -join ', ')) }
    foreach ($path in $files) {
        Copy-Item -LiteralPath (Get-OrchSavedCopy $path) -Destination $path -Force
    }
    $facts = Get-OrchFileFacts -Paths $files
    $result = New-OrchApply -Output ('restored ' + ($files -join ', '))
    $result['files'] = $facts
    return $result
}

function Confirm-OrchRestoreFiles {
    param([hashtable]$P)
    $probe = Test-OrchRestoreFiles -P $P
    return (New-OrchVerify $probe.in_effect $probe.detail)
}

function Get-OrchHookKey {
    param([hashtable]$P)
    $id = [string]$global:OrchContext['id']
    if (-not $id) { $id = [string](Get-OrchRequired -P $P -Name 'name') }
    $scope = [string]$global:OrchContext['scope']
    if ($scope) { return ($scope + '|' + $id) }
    return $id
}

function Test-OrchHook {
    param([hashtable]$P)
    $mark = Get-OrchMark -Area 'hooks' -Key (Get-OrchHookKey -P $P)
    if ($null -eq $mark) { return (New-OrchProbe $false 'not run yet') }
    return (New-OrchProbe $true ('ran at ' + ($mark -join ' ')))
}

function Invoke-OrchHook {
    param([hashtable]$P)
    $run = [string](Get-OrchRequired -P $P -Name 'run')
    $encoded = [Convert]::ToBase64String([System.Text.Encoding]::Unicode.GetBytes($run))
    if ($encoded.Length -gt 30000) {
        throw 'the hook text is too long for one command line (max ~11,000 characters)'
    }
    $line = '-NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand ' + $encoded
    $r = Invoke-OrchProcess -FilePath 'powershell.exe' -CommandLine $line
    if ($r.exit_code -eq 0) {
        Set-OrchMark -Area 'hooks' -Key (Get-OrchHookKey -P $P) -Value @(Get-OrchNow)
    }
    return (New-OrchApply -ExitCode $r.exit_code -Output $r.output)
}

function Confirm-OrchHook {
    param([hashtable]$P)
    $probe = Test-OrchHook -P $P
    return (New-OrchVerify $probe.in_effect $probe.detail)
}
"""
