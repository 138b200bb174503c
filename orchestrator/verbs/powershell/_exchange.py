"""PowerShell verb for ``upgrade_virtual_server``: the Exchange "Upgrade Virtual Server" step
run on the node that owns the virtual server after that node was upgraded.

The virtual server's version is the ``serialNumber`` of its Exchange server object in Active
Directory ("Version 6.5 (Build 7638.2: Service Pack 2)"); the node's version is the version
resource of its ``store.exe`` (see ``Get-OrchProductVersion``). The step is in effect when both
name the same build. Exchange 2003 offers the upgrade only in Cluster Administrator, so the
command is site-configured: ``upgrade_command`` (a program given the virtual server's name as
its one argument), or ``setup`` (an Exchange ``setup.exe`` run as ``/upgradeevs:<name>``), or
``%ProgramData%\\Orchestrator\\upgrade-evs.cmd``; without one the verb refuses clearly.
"""

from __future__ import annotations

PS_EXCHANGE = r"""
function ConvertTo-OrchLdapValue {
    param([string]$Value)
    $out = New-Object System.Text.StringBuilder
    foreach ($c in $Value.ToCharArray()) {
        if ('\*()'.Contains([string]$c) -or [int]$c -eq 0) {
            [void]$out.Append(('\{0:x2}' -f [int]$c))
        }
        else { [void]$out.Append($c) }
    }
    return $out.ToString()
}

function Get-OrchExchangeSerial {
    param([string]$Server)
    $rootDse = New-Object System.DirectoryServices.DirectoryEntry -ArgumentList 'LDAP://RootDSE'
    $config = [string]$rootDse.Properties['configurationNamingContext'].Value
    $root = New-Object System.DirectoryServices.DirectoryEntry -ArgumentList ('LDAP://' + $config)
    $filter = '(&(objectClass=msExchExchangeServer)(cn={0}))' -f (ConvertTo-OrchLdapValue $Server)
    $searcher = New-Object System.DirectoryServices.DirectorySearcher -ArgumentList $root, $filter
    [void]$searcher.PropertiesToLoad.Add('serialNumber')
    $hit = $searcher.FindOne()
    if ($null -eq $hit -or $hit.Properties['serialnumber'].Count -lt 1) {
        throw ("no Exchange server object '{0}' with a serialNumber in Active Directory" -f $Server)
    }
    return [string]$hit.Properties['serialnumber'][0]
}

function Get-OrchVirtualServerName {
    param([string]$Group)
    $net = Get-OrchGroup $Group | Get-ClusterResource |
        Where-Object { $_.ResourceType.Name -eq 'Network Name' } | Select-Object -First 1
    if ($net) {
        $param = $net | Get-ClusterParameter -Name 'Name'
        if ($param -and $param.Value) { return [string]$param.Value }
    }
    return $Group
}

function Get-OrchEvsState {
    param([hashtable]$P)
    $group = [string](Get-OrchRequired -P $P -Name 'group')
    $evs = Get-OrchVirtualServerName $group
    $serial = Get-OrchExchangeSerial $evs
    $node = Get-OrchProductVersion -P @{}
    $done = Test-OrchVersionMatch $serial $node.version
    $detail = "virtual server {0}: '{1}'; this node runs {2} ({3})" -f $evs, $serial,
        $node.version, $node.source
    return @{ 'evs' = $evs; 'done' = $done; 'detail' = $detail }
}

function Test-OrchUpgradeVirtualServer {
    param([hashtable]$P)
    $state = Get-OrchEvsState -P $P
    return (New-OrchProbe $state.done $state.detail)
}

function Get-OrchUpgradeCommand {
    param([hashtable]$P, [string]$Evs)
    $command = [string](Get-OrchParam -P $P -Name 'upgrade_command' -Default '')
    if ($command) { return @((Assert-OrchPath $command), (Join-OrchArguments -Arguments @($Evs))) }
    $setup = [string](Get-OrchParam -P $P -Name 'setup' -Default '')
    if ($setup) {
        return @((Assert-OrchPath $setup), (Join-OrchArguments -Arguments @('/upgradeevs:' + $Evs)))
    }
    $hook = Join-Path -Path $OrchStateRoot -ChildPath 'upgrade-evs.cmd'
    if (Test-Path -LiteralPath $hook) { return @($hook, $Evs, 'batch') }
    throw ('no command for Upgrade Exchange Virtual Server: set upgrade_command or setup ' +
        '(see docs/verbs.md), or install %ProgramData%\Orchestrator\upgrade-evs.cmd')
}

function Invoke-OrchUpgradeVirtualServer {
    param([hashtable]$P)
    $group = [string](Get-OrchRequired -P $P -Name 'group')
    $node = Resolve-OrchNode (Get-OrchTarget)
    $owner = Get-OrchOwner $group
    if ($owner -ne $node) { throw ('{0} is on {1}, not on {2}' -f $group, $owner, $node) }
    $keep = @(Get-OrchList -P $P -Name 'keep')
    if ($keep.Count -eq 0) { $keep = @('IP Address', 'Network Name', 'Physical Disk') }
    $online = @(Get-OrchGroup $group | Get-ClusterResource | Where-Object {
        [string]$_.State -ne 'Offline' -and $keep -notcontains $_.ResourceType.Name } |
        ForEach-Object { $_.Name })
    if ($online.Count -gt 0) {
        $message = 'Upgrade Virtual Server needs only {0} online; still online: {1}'
        throw ($message -f ($keep -join ', '), ($online -join ', '))
    }
    $evs = Get-OrchVirtualServerName $group
    $command = Get-OrchUpgradeCommand -P $P -Evs $evs
    if ($command.Count -eq 3) { $r = Invoke-OrchBatch -Path $command[0] -Arguments @($command[1]) }
    else { $r = Invoke-OrchProcess -FilePath $command[0] -CommandLine $command[1] }
    return (New-OrchApply -ExitCode $r.exit_code -Output $r.output)
}

function Confirm-OrchUpgradeVirtualServer {
    param([hashtable]$P)
    $state = Get-OrchEvsState -P $P
    return (New-OrchVerify $state.done $state.detail)
}
"""
