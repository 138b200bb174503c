r"""PowerShell helpers that keep services stopped across reboots (KB 328839: antivirus,
backup, SNMP and monitoring agents stopped before an install must not come back with the
reboot of a prerequisite such as KB 831464, or they hold files and the install fails with
``FileInUse::`` lines).

``stop_services`` with ``hold_across_reboots`` records each service's start mode once, on the
host (``services/mode|<name>``, from ``HKLM:\SYSTEM\CurrentControlSet\Services\<name>\Start``:
2 Automatic, 3 Manual, 4 Disabled) and sets it to Disabled before stopping it;
``start_services`` with ``restore_start_mode`` sets the recorded mode back and forgets it
before starting (every service of ``restore_services`` when compensation narrowed
``services`` to what this run stopped, else ``services``). The name is a real service's
name (from ``Find-OrchService``), never a display name; ``Set-Service -InputObject
-StartupType`` exists since PowerShell 2.0. A delayed automatic start comes back as plain
Automatic."""

from __future__ import annotations

PS_STARTMODE = r"""
function Get-OrchStartMode {
    param([string]$Name)
    $key = 'HKLM:\SYSTEM\CurrentControlSet\Services\' + $Name
    $start = [int](Get-ItemProperty -LiteralPath $key -Name 'Start').Start
    if ($start -eq 2) { return 'Automatic' }
    if ($start -eq 4) { return 'Disabled' }
    return 'Manual'
}

function Lock-OrchServiceStart {
    param($svc)
    $key = 'mode|' + $svc.Name
    if ($null -eq (Get-OrchMark -Area 'services' -Key $key)) {
        Set-OrchMark -Area 'services' -Key $key -Value @(Get-OrchStartMode $svc.Name)
    }
    Set-Service -InputObject $svc -StartupType Disabled
}

function Test-OrchServiceHeld {
    param($Service)
    return ((Get-OrchStartMode $Service.Name) -eq 'Disabled')
}

function Restore-OrchServiceStart {
    param($svc)
    $key = 'mode|' + $svc.Name
    $mode = Get-OrchMark -Area 'services' -Key $key
    if ($null -eq $mode) { return }
    Set-Service -InputObject $svc -StartupType ([string]@($mode)[0])
    Remove-OrchMark -Area 'services' -Key $key
}

function Get-OrchRestoreList {
    param([hashtable]$P)
    $names = @(Get-OrchList -P $P -Name 'restore_services')
    if ($names.Count -eq 0) { $names = @(Get-OrchList -P $P -Name 'services') }
    return $names
}

function Test-OrchServiceRestored {
    param($Service)
    return ($null -eq (Get-OrchMark -Area 'services' -Key ('mode|' + $Service.Name)))
}
"""
