"""PowerShell ``preflight`` and ``verify`` actions: read-only checks. Probe is always "not in
effect" (a check always runs); apply runs the check and throws ``check '<name>' failed:
<why>`` when it does not hold; verify runs it again and answers ``ok``/``message``.

Each check is ``Test-OrchCheck<Name>`` returning ``@{ ok; message }``. The host-level ones
live here; the cluster checks in :mod:`._cluster`, the MSI build checks in
:mod:`._build`. An unknown check name is an error, never a pass.
"""

from __future__ import annotations

PS_CHECKS = r"""
function Invoke-OrchCheck {
    param([hashtable]$P)
    $check = [string](Get-OrchRequired -P $P -Name 'check')
    $name = 'Test-OrchCheck' + (ConvertTo-OrchCamel $check)
    if ($check -cnotmatch '^[a-z][a-z0-9-]*\z' -or
        -not (Test-Path -LiteralPath ('function:' + $name))) {
        throw ("unknown check '{0}'" -f $check)
    }
    return (& $name -P $P)
}

function Invoke-OrchCheckStep {
    param([hashtable]$P)
    $r = Invoke-OrchCheck -P $P
    if (-not $r.ok) { throw ("check '{0}' failed: {1}" -f $P['check'], $r.message) }
    return (New-OrchApply -Output $r.message)
}

function Test-OrchPreflight {
    param([hashtable]$P)
    return (New-OrchProbe $false 'a check always runs')
}

function Invoke-OrchPreflight {
    param([hashtable]$P)
    return (Invoke-OrchCheckStep -P $P)
}

function Confirm-OrchPreflight {
    param([hashtable]$P)
    return (Invoke-OrchCheck -P $P)
}

function Test-OrchVerify {
    param([hashtable]$P)
    return (New-OrchProbe $false 'a check always runs')
}

function Invoke-OrchVerify {
    param([hashtable]$P)
    return (Invoke-OrchCheckStep -P $P)
}

function Confirm-OrchVerify {
    param([hashtable]$P)
    return (Invoke-OrchCheck -P $P)
}

function Get-OrchBackupTime {
    param([hashtable]$P)
    $marker = [string](Get-OrchParam -P $P -Name 'marker' -Default '')
    if ($marker) {
        if (-not (Test-Path -LiteralPath $marker)) {
            return @{ 'when' = $null; 'source' = ('no marker ' + $marker) }
        }
        $when = (Get-Item -LiteralPath $marker).LastWriteTimeUtc
        return @{ 'when' = $when; 'source' = ('marker ' + $marker) }
    }
    if (Get-Command -Name Get-WBSummary -ErrorAction SilentlyContinue) {
        $summary = Get-WBSummary
        $last = $summary.LastSuccessfulBackupTime
        if ($last -and $last.Year -gt 1900) {
            return @{ 'when' = $last.ToUniversalTime(); 'source' = 'Windows Server Backup' }
        }
    }
    if ([Environment]::OSVersion.Version.Major -ge 6) {  # Get-WinEvent needs Vista/2008+
        $log = @{ 'LogName' = 'Microsoft-Windows-Backup'; 'Id' = 4 }
        $record = Get-WinEvent -FilterHashtable $log -MaxEvents 1 -ErrorAction SilentlyContinue
        if ($record) {
            $when = $record.TimeCreated.ToUniversalTime()
            return @{ 'when' = $when; 'source' = 'the Backup event log' }
        }
    }
    $why = 'no backup evidence (set params.marker to the file your backup job writes)'
    return @{ 'when' = $null; 'source' = $why }
}

function Test-OrchCheckBackup {
    param([hashtable]$P)
    $limit = [double](Get-OrchParam -P $P -Name 'max_age_hours' -Default 24)
    $now = (Get-Date).ToUniversalTime()
    $found = Get-OrchBackupTime -P $P
    if ($null -eq $found.when) {
        return (New-OrchVerify $false ('{0}: {1}' -f $env:COMPUTERNAME, $found.source))
    }
    $age = ($now - $found.when).TotalHours
    if ($age -gt $limit) {
        $message = 'the last backup ({0}) is {1:N1} h old (max {2})' -f $found.source, $age, $limit
        return (New-OrchVerify $false $message)
    }
    $notes = @('backup {0:N1} h old ({1})' -f $age, $found.source)
    if ((Get-OrchParam -P $P -Name 'databases' -Default $false) -and
        (Get-Command -Name Get-MailboxDatabase -ErrorAction SilentlyContinue)) {
        foreach ($db in @(Get-MailboxDatabase -Server $env:COMPUTERNAME -Status)) {
            $full = $db.LastFullBackup
            if (-not $full -or ($now - $full.ToUniversalTime()).TotalHours -gt $limit) {
                $message = 'database {0}: no full backup within {1} h' -f $db.Name, $limit
                return (New-OrchVerify $false $message)
            }
        }
        $notes += 'every mailbox database backed up'
    }
    return (New-OrchVerify $true ($notes -join '; '))
}

function Test-OrchCheckDiskSpace {
    param([hashtable]$P)
    $path = [string](Get-OrchParam -P $P -Name 'path' -Default ($env:SystemDrive + '\'))
    $need = [long](Get-OrchParam -P $P -Name 'min_free_mb' -Default 0)
    $drive = New-Object System.IO.DriveInfo -ArgumentList ([System.IO.Path]::GetPathRoot($path))
    $free = [long][math]::Floor($drive.AvailableFreeSpace / 1048576)
    if ($free -lt $need) {
        return (New-OrchVerify $false ('{0} has {1} MB free, {2} MB needed' -f $path, $free, $need))
    }
    return (New-OrchVerify $true ('{0} MB free on {1}' -f $free, $drive.Name))
}

function Test-OrchCheckNoInstallerRunning {
    param([hashtable]$P)
    $busy = $false
    try {
        $mutex = [System.Threading.Mutex]::OpenExisting('Global\_MSIExecute')
        $mutex.Dispose()
        $busy = $true
    } catch [System.Threading.WaitHandleCannotBeOpenedException] {
        $busy = $false
    } catch [System.UnauthorizedAccessException] {
        $busy = $true
    }
    if ($busy) {
        return (New-OrchVerify $false 'an installation is in progress (Global\_MSIExecute is held)')
    }
    return (New-OrchVerify $true 'no installer running')
}

function Test-OrchCheckAcknowledged {
    param([hashtable]$P)
    $statement = [string](Get-OrchParam -P $P -Name 'statement' -Default '')
    return (New-OrchVerify $true ('acknowledged by the operator: ' + $statement))
}

function Test-OrchCheckVersion {
    param([hashtable]$P)
    $expect = [string](Get-OrchRequired -P $P -Name 'expect')
    $found = Get-OrchProductVersion -P $P
    if (Test-OrchVersionMatch $expect $found.version) {
        return (New-OrchVerify $true ('{0} reports {1}' -f $found.source, $found.version))
    }
    $message = '{0} reports {1}, expected {2}' -f $found.source, $found.version, $expect
    return (New-OrchVerify $false $message)
}

function Test-OrchCheckPatchLevel {
    param([hashtable]$P)
    $expect = (ConvertTo-OrchVersionParts ([string](Get-OrchRequired -P $P -Name 'expect'))).parts
    $found = Get-OrchProductVersion -P $P
    $have = (ConvertTo-OrchVersionParts $found.version).parts
    if (($have -join '.') -eq ($expect -join '.')) {
        return (New-OrchVerify $true ('{0} reports level {1}' -f $found.source, $found.version))
    }
    $message = '{0} reports {1}, expected {2}' -f $found.source, $found.version, ($expect -join '.')
    return (New-OrchVerify $false $message)
}

function Test-OrchCheckPatchCompatibility {
    param([hashtable]$P)
    $level = [long](Get-OrchRequired -P $P -Name 'level')
    $found = Get-OrchProductVersion -P $P
    $have = (ConvertTo-OrchVersionParts $found.version).parts
    $current = 0
    if ($have.Count -ge 5) { $current = [long]$have[4] }
    if ($current -gt $level) {
        $message = '{0} is at level {1}; level {2} would be a downgrade' -f $found.source, $current,
            $level
        return (New-OrchVerify $false $message)
    }
    $message = '{0} is at {1}; level {2} applies on top' -f $found.source, $found.version, $level
    return (New-OrchVerify $true $message)
}

function Test-OrchCheckPatchConsistency {
    param([hashtable]$P)
    $reasons = @(Get-OrchRebootReasons)
    if ($reasons.Count -gt 0) {
        $message = 'a previous change is not complete (reboot pending: {0})' -f
            ($reasons -join ', ')
        return (New-OrchVerify $false $message)
    }
    $found = Get-OrchProductVersion -P $P
    $message = 'no pending reboot; {0} reports {1}' -f $found.source, $found.version
    return (New-OrchVerify $true $message)
}

function Test-OrchCheckServicesRunning {
    param([hashtable]$P)
    $down = @()
    foreach ($name in @(Get-OrchList -P $P -Name 'services')) {
        $svc = Find-OrchService $name
        if ($null -eq $svc) { $down += ('{0} (not installed)' -f $name) }
        elseif ($svc.Status -ne 'Running') { $down += ('{0} ({1})' -f $name, $svc.Status) }
    }
    if ($down.Count -gt 0) { return (New-OrchVerify $false ('not running: ' + ($down -join ', '))) }
    return (New-OrchVerify $true 'services running')
}
"""
