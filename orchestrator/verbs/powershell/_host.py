r"""PowerShell verbs for services (with their dependents) and the load balancer (NLB, or a
site hook). A service is named by its name or, where that is unambiguous, its display name
(``Find-OrchService``); anything with ``\`` or ``/``, control characters, a leading ``-``,
``.`` or space, or more than 255 characters is refused first (``Assert-OrchServiceName``).
Files and hooks live in :mod:`._files`, installs in :mod:`._install`,
reboots in :mod:`._reboot`."""

from __future__ import annotations

PS_HOST = r"""
function Assert-OrchServiceName {
    param([string]$Name)
    $bad = $Name.Length -lt 1 -or $Name.Length -gt 255 -or
        $Name -match '[\\/\x00-\x1f\x7f]' -or $Name -match '^[-.\s]'
    if ($bad) {
        throw ("refused service name '{0}': not a service name (docs/playbook.md)" -f $Name)
    }
}

function Find-OrchService {
    param([string]$Name)
    Assert-OrchServiceName $Name
    $byDisplay = @()
    foreach ($svc in @(Get-Service)) {
        if ($svc.Name -eq $Name) { return $svc }
        if ($svc.DisplayName -eq $Name) { $byDisplay += $svc }
    }
    if ($byDisplay.Count -gt 1) {
        $names = @()
        foreach ($svc in $byDisplay) { $names += $svc.Name }
        $message = "'{0}' is the display name of several services ({1}): name one"
        throw ($message -f $Name, ($names -join ', '))
    }
    if ($byDisplay.Count -eq 1) { return $byDisplay[0] }
    return $null
}

function Get-OrchServicePlan {
    param([hashtable]$P)
    $purpose = [string](Get-OrchParam -P $P -Name 'purpose' -Default 'interfering')
    $rows = @()
    foreach ($name in @(Get-OrchList -P $P -Name 'services')) {
        $svc = Find-OrchService $name
        if ($null -eq $svc -and $purpose -ne 'interfering') {
            throw ("service '{0}' does not exist on {1}" -f $name, $env:COMPUTERNAME)
        }
        $rows += @{ 'Name' = $name; 'Service' = $svc }
    }
    return $rows
}

function Test-OrchStopServices {
    param([hashtable]$P)
    $running = @(Get-OrchServicePlan -P $P |
        Where-Object { $_.Service -and $_.Service.Status -ne 'Stopped' } |
        ForEach-Object { $_.Name })
    if ($running.Count -gt 0) {
        return (New-OrchProbe $false ('running: ' + ($running -join ', ')))
    }
    if (Get-OrchParam -P $P -Name 'hold_across_reboots' -Default $false) {
        $loose = @(Get-OrchServicePlan -P $P |
            Where-Object { $_.Service -and -not (Test-OrchServiceHeld $_.Service) } |
            ForEach-Object { $_.Name })
        if ($loose.Count -gt 0) {
            return (New-OrchProbe $false ('stopped but not disabled: ' + ($loose -join ', ')))
        }
    }
    return (New-OrchProbe $true 'all stopped (or not installed)')
}

function Invoke-OrchStopServices {
    param([hashtable]$P)
    $hold = [bool](Get-OrchParam -P $P -Name 'hold_across_reboots' -Default $false)
    $done = @()
    $stopped = @()
    $skipped = @()
    foreach ($row in @(Get-OrchServicePlan -P $P)) {
        $svc = $row.Service
        if ($null -eq $svc) {
            $done += ('{0}: skipped (not installed)' -f $row.Name)
            $skipped += $row.Name
            continue
        }
        $dependents = @($svc.DependentServices | Where-Object { $_.Status -eq 'Running' } |
            ForEach-Object { $_.Name })
        $before = Get-OrchMark -Area 'services' -Key ('before|' + $svc.Name)
        if ($svc.Status -ne 'Stopped' -or $null -eq $before) {
            Set-OrchMark -Area 'services' -Key ('before|' + $svc.Name) `
                -Value (@([string]$svc.Status) + $dependents)
        }
        if ($hold) { Lock-OrchServiceStart $svc }
        if ([string]$svc.Status -eq 'Stopped') {
            $done += ('{0}: already stopped' -f $svc.Name)
            continue
        }
        $mode = 'unknown'
        if ($svc.PSObject.Properties['StartType']) { $mode = [string]$svc.StartType }
        $previous = [string]$svc.Status
        Stop-Service -InputObject $svc -Force
        $stopped += @{ 'name' = $svc.Name; 'previous' = $previous; 'start_mode' = $mode;
            'dependents' = $dependents }
        $done += ('{0}: stopped (with {1} dependent(s))' -f $svc.Name, $dependents.Count)
    }
    $result = New-OrchApply -Output ($done -join "`n")
    $result['stopped'] = $stopped
    $result['skipped'] = $skipped
    return $result
}

function Confirm-OrchStopServices {
    param([hashtable]$P)
    $probe = Test-OrchStopServices -P $P
    return (New-OrchVerify $probe.in_effect $probe.detail)
}

function Get-OrchStartList {
    param([hashtable]$P)
    $names = @()
    foreach ($row in @(Get-OrchServicePlan -P $P)) {
        $svc = $row.Service
        if ($null -eq $svc) { continue }
        $before = Get-OrchMark -Area 'services' -Key ('before|' + $svc.Name)
        if ($null -ne $before -and $before.Count -gt 0 -and $before[0] -ne 'Running') { continue }
        $names += $svc.Name
        if ($null -ne $before) { $names += @($before | Select-Object -Skip 1) }
    }
    return ($names | Select-Object -Unique)
}

function Test-OrchStartServices {
    param([hashtable]$P)
    $down = @(Get-OrchStartList -P $P | Where-Object { (Find-OrchService $_).Status -ne 'Running' })
    if ($down.Count -gt 0) { return (New-OrchProbe $false ('not running: ' + ($down -join ', '))) }
    if (Get-OrchParam -P $P -Name 'restore_start_mode' -Default $false) {
        $held = @(Get-OrchRestoreList -P $P | Where-Object {
            $svc = Find-OrchService $_
            $svc -and -not (Test-OrchServiceRestored $svc)
        })
        if ($held.Count -gt 0) {
            return (New-OrchProbe $false ('start mode not restored: ' + ($held -join ', ')))
        }
    }
    return (New-OrchProbe $true 'all running (services that were stopped before are left so)')
}

function Invoke-OrchStartServices {
    param([hashtable]$P)
    $done = @()
    $skipped = @(Get-OrchServicePlan -P $P | Where-Object { $null -eq $_.Service } |
        ForEach-Object { $_.Name })
    $restore = [bool](Get-OrchParam -P $P -Name 'restore_start_mode' -Default $false)
    if ($restore) {
        foreach ($name in @(Get-OrchRestoreList -P $P)) {
            $svc = Find-OrchService $name
            if ($svc) { Restore-OrchServiceStart $svc }
        }
    }
    foreach ($name in @(Get-OrchStartList -P $P)) {
        $svc = Find-OrchService $name
        if ($null -eq $svc) { throw ("service '{0}' does not exist" -f $name) }
        if ($svc.Status -ne 'Running') { Start-Service -InputObject $svc }
        $done += ('{0}: running' -f $svc.Name)
    }
    foreach ($name in $skipped) { $done += ('{0}: skipped (not installed)' -f $name) }
    $result = New-OrchApply -Output ($done -join "`n")
    $result['skipped'] = $skipped
    return $result
}

function Confirm-OrchStartServices {
    param([hashtable]$P)
    $down = @()
    foreach ($row in @(Get-OrchServicePlan -P $P)) {
        if ($row.Service -and $row.Service.Status -ne 'Running') { $down += $row.Name }
    }
    foreach ($name in @(Get-OrchStartList -P $P)) {
        if ((Find-OrchService $name).Status -ne 'Running') { $down += $name }
    }
    if ($down.Count -gt 0) { return (New-OrchVerify $false ('not running: ' + ($down -join ', '))) }
    return (New-OrchVerify $true 'services running')
}

function Remove-OrchMark {
    param([string]$Area, [string]$Key)
    $path = Get-OrchStatePath -Area $Area -Key $Key
    if (Test-Path -LiteralPath $path) { Remove-Item -LiteralPath $path -Force }
}

function Get-OrchLbHook {
    param([hashtable]$P)
    $hook = [string](Get-OrchParam -P $P -Name 'lb_hook' -Default '')
    if ($hook) { return $hook }
    $default = Join-Path -Path $OrchStateRoot -ChildPath 'lb-hook.ps1'
    if (Test-Path -LiteralPath $default) { return $default }
    return ''
}

function Invoke-OrchLbHook {
    param([string]$Hook, [string]$Verb, [string]$Pool)
    if ($Hook.EndsWith('.ps1')) {
        $line = '-NoProfile -NonInteractive -ExecutionPolicy Bypass -File ' +
            (Join-OrchArguments -Arguments @($Hook, $Verb, $Pool))
        $r = Invoke-OrchProcess -FilePath 'powershell.exe' -CommandLine $line
    } else {
        $line = Join-OrchArguments -Arguments @($Verb, $Pool)
        $r = Invoke-OrchProcess -FilePath $Hook -CommandLine $line
    }
    if ($r.exit_code -ne 0) {
        $message = "load-balancer hook '{0} {1}' exited with {2}: {3}"
        throw ($message -f $Hook, $Verb, $r.exit_code, $r.output)
    }
    return $r.output.Trim()
}

function Get-OrchLbState {
    param([hashtable]$P)
    $pool = [string](Get-OrchRequired -P $P -Name 'pool')
    $hook = Get-OrchLbHook -P $P
    if ($hook) { return (Invoke-OrchLbHook -Hook $hook -Verb 'status' -Pool $pool) }
    Assert-OrchCommand 'Get-NlbClusterNode' `
        'the NetworkLoadBalancingClusters module, or set lb_hook'
    $state = [string](Get-NlbClusterNode -NodeName $env:COMPUTERNAME).State
    if ($state -like 'Converged*') { return 'in' }
    return ('out ({0})' -f $state)
}

function Test-OrchLbOut {
    param([hashtable]$P)
    $state = Get-OrchLbState -P $P
    return (New-OrchProbe ($state -like 'out*') ('rotation: ' + $state))
}

function Invoke-OrchLbOut {
    param([hashtable]$P)
    $pool = [string](Get-OrchRequired -P $P -Name 'pool')
    $hook = Get-OrchLbHook -P $P
    if ($hook) {
        return (New-OrchApply -Output (Invoke-OrchLbHook -Hook $hook -Verb 'out' -Pool $pool))
    }
    $minutes = [int](Get-OrchParam -P $P -Name 'drain_timeout_min' -Default 10)
    Stop-NlbClusterNode -Drain -Timeout $minutes | Out-Null
    return (New-OrchApply -Output ('NLB: {0} drained and stopped' -f $env:COMPUTERNAME))
}

function Confirm-OrchLbOut {
    param([hashtable]$P)
    $probe = Test-OrchLbOut -P $P
    return (New-OrchVerify $probe.in_effect $probe.detail)
}

function Test-OrchLbIn {
    param([hashtable]$P)
    $state = Get-OrchLbState -P $P
    return (New-OrchProbe ($state -eq 'in') ('rotation: ' + $state))
}

function Invoke-OrchLbIn {
    param([hashtable]$P)
    $pool = [string](Get-OrchRequired -P $P -Name 'pool')
    $hook = Get-OrchLbHook -P $P
    if ($hook) {
        return (New-OrchApply -Output (Invoke-OrchLbHook -Hook $hook -Verb 'in' -Pool $pool))
    }
    Start-NlbClusterNode | Out-Null
    $deadline = (Get-Date).AddMinutes(5)
    while ((Get-OrchLbState -P $P) -ne 'in' -and (Get-Date) -lt $deadline) {
        Start-Sleep -Seconds 2
    }
    $message = 'NLB: {0} started ({1})' -f $env:COMPUTERNAME, (Get-OrchLbState -P $P)
    return (New-OrchApply -Output $message)
}

function Confirm-OrchLbIn {
    param([hashtable]$P)
    $probe = Test-OrchLbIn -P $P
    return (New-OrchVerify $probe.in_effect $probe.detail)
}

"""
