"""PowerShell verbs for ``reboot``: the pending-reboot signals (component servicing, Windows
Update, pending file renames, an install's 3010), ``Restart-Computer -Force`` started detached
after ``delay_s`` seconds so the answer gets out first, and the boot time reported so the
caller can see it change (the wait is the caller's job)."""

from __future__ import annotations

PS_REBOOT = r"""
function Get-OrchBootTime {
    if (Get-Command -Name Get-CimInstance -ErrorAction SilentlyContinue) {
        return (Get-CimInstance -ClassName Win32_OperatingSystem).LastBootUpTime.ToUniversalTime()
    }
    $wmi = (Get-WmiObject -Class Win32_OperatingSystem).LastBootUpTime
    return [System.Management.ManagementDateTimeConverter]::ToDateTime($wmi).ToUniversalTime()
}

function Get-OrchRebootReasons {
    $boot = Get-OrchBootTime
    $reasons = @()
    $cbs = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending'
    if (Test-Path -LiteralPath $cbs) { $reasons += 'component servicing' }
    $wu = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired'
    if (Test-Path -LiteralPath $wu) { $reasons += 'Windows Update' }
    $sm = Get-ItemProperty -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager' `
        -Name 'PendingFileRenameOperations' -ErrorAction SilentlyContinue
    if ($sm -and $sm.PendingFileRenameOperations) { $reasons += 'pending file renames' }
    $mark = Get-OrchMark -Area 'host' -Key 'reboot-pending'
    if ($null -ne $mark -and $mark.Count -ge 1) {
        $at = ConvertFrom-OrchTime $mark[0]
        if ($boot -lt $at) { $reasons += 'an install asked for a reboot' }
    }
    return $reasons
}

function Get-OrchRebootState {
    param([hashtable]$P)
    $boot = Get-OrchBootTime
    $when = [string](Get-OrchParam -P $P -Name 'when' -Default 'if-required')
    if ($when -eq 'always') {
        $done = $boot -gt (Get-OrchLastInstall)
        $detail = 'booted at {0}, last install at {1}' -f $boot.ToString('o'),
            (Get-OrchLastInstall).ToString('o')
    } else {
        $reasons = @(Get-OrchRebootReasons)
        $done = $reasons.Count -eq 0
        $detail = 'reboot pending: ' + ($reasons -join ', ')
        if ($done) { $detail = 'no reboot pending' }
    }
    return @{ 'done' = $done; 'detail' = $detail; 'boot_time' = $boot.ToString('o') }
}

function Test-OrchReboot {
    param([hashtable]$P)
    $state = Get-OrchRebootState -P $P
    $result = New-OrchProbe $state.done $state.detail
    $result['boot_time'] = $state.boot_time
    return $result
}

function Invoke-OrchReboot {
    param([hashtable]$P)
    $before = (Get-OrchBootTime).ToString('o')
    Set-OrchMark -Area 'host' -Key 'reboot-requested' -Value @($before)
    $delay = [int](Get-OrchParam -P $P -Name 'delay_s' -Default 5)
    $text = 'Start-Sleep -Seconds {0}; Restart-Computer -Force' -f $delay
    $encoded = [Convert]::ToBase64String([System.Text.Encoding]::Unicode.GetBytes($text))
    Start-Process -FilePath 'powershell.exe' -WindowStyle Hidden `
        -ArgumentList ('-NoProfile -NonInteractive -EncodedCommand ' + $encoded) | Out-Null
    $reason = [string](Get-OrchParam -P $P -Name 'reason' -Default '')
    $message = 'Restart-Computer -Force in {0} s ({1}); booted at {2}' -f $delay, $reason, $before
    $result = New-OrchApply -Output $message
    $result['boot_time'] = $before
    return $result
}

function Confirm-OrchReboot {
    param([hashtable]$P)
    $state = Get-OrchRebootState -P $P
    $mark = Get-OrchMark -Area 'host' -Key 'reboot-requested'
    $ok = $state.done
    $message = $state.detail
    if ($null -ne $mark -and $mark.Count -ge 1 -and $mark[0] -eq $state.boot_time) {
        $ok = $false
        $message = 'the host has not restarted yet (boot time {0})' -f $state.boot_time
    }
    $result = New-OrchVerify $ok $message
    $result['boot_time'] = $state.boot_time
    return $result
}
"""
