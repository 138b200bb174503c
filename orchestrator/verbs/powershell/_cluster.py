"""PowerShell verbs for Windows failover clusters (the FailoverClusters module, Windows
Server 2008 R2 and later; ``-Drain``/``-Failback`` need 2012 and are emulated with group moves
before): drain/resume a node, move a group, stop/start the Cluster service, take a group's
resources offline/online, the Exchange "Upgrade Virtual Server" step, and the
``cluster-healthy`` and ``failover`` checks.

Every verb runs on the node named by the action's ``host`` and addresses the local cluster;
inventory names are matched to cluster node names exactly or by their first DNS label.
Failures are the cmdlets' own errors (5070 paused node, 5050 node down, c1037b44 Exchange
version), raised as terminating errors with the cmdlet's message.
"""

from __future__ import annotations

PS_CLUSTER = r"""
function Resolve-OrchNode {
    param([string]$Name)
    Assert-OrchCommand 'Get-ClusterNode' 'the FailoverClusters module (Failover Clustering tools)'
    $nodes = @(Get-ClusterNode)
    foreach ($n in $nodes) { if ($n.Name -eq $Name) { return [string]$n.Name } }
    $short = $Name.Split('.')[0]
    foreach ($n in $nodes) { if ($n.Name -eq $short) { return [string]$n.Name } }
    $names = ($nodes | ForEach-Object { $_.Name }) -join ', '
    throw ("'{0}' is not a node of this cluster (nodes: {1})" -f $Name, $names)
}

function Get-OrchGroup {
    param([string]$Name)
    $group = Get-ClusterGroup | Where-Object { $_.Name -eq $Name } | Select-Object -First 1
    if ($null -eq $group) { throw ("the cluster has no group '{0}'" -f $Name) }
    return $group
}

function Get-OrchOwner {
    param([string]$Group)
    return [string](Get-OrchGroup $Group).OwnerNode.Name
}

function Move-OrchGroup {
    param([string]$Group, [string]$Node)
    if ((Get-OrchOwner $Group) -eq $Node) { return ('{0} already on {1}' -f $Group, $Node) }
    Move-ClusterGroup -Name $Group -Node $Node -Wait 600 | Out-Null
    return ('{0} moved to {1}' -f $Group, $Node)
}

function Test-OrchDrainNode {
    param([hashtable]$P)
    $node = Resolve-OrchNode (Get-OrchTarget)
    $state = [string](Get-ClusterNode -Name $node).State
    $still = @(Get-OrchList -P $P -Name 'groups' | Where-Object { (Get-OrchOwner $_) -eq $node })
    $done = $state -eq 'Paused' -and $still.Count -eq 0
    $detail = '{0} is {1}; groups still on it: {2}' -f $node, $state, ($still -join ', ')
    return (New-OrchProbe $done $detail)
}

function Invoke-OrchDrainNode {
    param([hashtable]$P)
    $node = Resolve-OrchNode (Get-OrchTarget)
    $groups = @(Get-OrchList -P $P -Name 'groups')
    $notes = @()
    if ($groups.Count -gt 0) {
        $to = Resolve-OrchNode ([string](Get-OrchRequired -P $P -Name 'to_node'))
        foreach ($group in $groups) { $notes += (Move-OrchGroup -Group $group -Node $to) }
    }
    if ([string](Get-ClusterNode -Name $node).State -eq 'Paused') {
        $notes += ('{0} was already paused' -f $node)
    } elseif ((Get-Command -Name Suspend-ClusterNode).Parameters.ContainsKey('Drain')) {
        Suspend-ClusterNode -Name $node -Drain -Wait | Out-Null
    } else {
        Suspend-ClusterNode -Name $node | Out-Null
    }
    $notes += ('{0} paused' -f $node)
    return (New-OrchApply -Output ($notes -join "`n"))
}

function Confirm-OrchDrainNode {
    param([hashtable]$P)
    $probe = Test-OrchDrainNode -P $P
    return (New-OrchVerify $probe.in_effect $probe.detail)
}

function Get-OrchFailbackGroups {
    param([hashtable]$P)
    if (-not (Get-OrchParam -P $P -Name 'failback' -Default $false)) { return }
    return (Get-OrchList -P $P -Name 'failback_groups')
}

function Test-OrchResumeNode {
    param([hashtable]$P)
    $node = Resolve-OrchNode (Get-OrchTarget)
    $state = [string](Get-ClusterNode -Name $node).State
    $away = @(Get-OrchFailbackGroups -P $P | Where-Object { (Get-OrchOwner $_) -ne $node })
    $done = $state -eq 'Up' -and $away.Count -eq 0
    $detail = '{0} is {1}; groups not back: {2}' -f $node, $state, ($away -join ', ')
    return (New-OrchProbe $done $detail)
}

function Invoke-OrchResumeNode {
    param([hashtable]$P)
    $node = Resolve-OrchNode (Get-OrchTarget)
    $failback = [bool](Get-OrchParam -P $P -Name 'failback' -Default $false)
    if ([string](Get-ClusterNode -Name $node).State -eq 'Paused') {
        if ((Get-Command -Name Resume-ClusterNode).Parameters.ContainsKey('Failback')) {
            if ($failback) { Resume-ClusterNode -Name $node -Failback Immediate | Out-Null }
            else { Resume-ClusterNode -Name $node -Failback NoFailback | Out-Null }
        } else {
            Resume-ClusterNode -Name $node | Out-Null
        }
    }
    $notes = @('{0} resumed' -f $node)
    foreach ($group in @(Get-OrchFailbackGroups -P $P)) {
        $notes += (Move-OrchGroup -Group $group -Node $node)
    }
    return (New-OrchApply -Output ($notes -join "`n"))
}

function Confirm-OrchResumeNode {
    param([hashtable]$P)
    $probe = Test-OrchResumeNode -P $P
    return (New-OrchVerify $probe.in_effect $probe.detail)
}

function Test-OrchMoveGroup {
    param([hashtable]$P)
    $group = [string](Get-OrchRequired -P $P -Name 'group')
    $to = Resolve-OrchNode ([string](Get-OrchRequired -P $P -Name 'to_node'))
    $owner = Get-OrchOwner $group
    return (New-OrchProbe ($owner -eq $to) ('{0} is on {1}' -f $group, $owner))
}

function Invoke-OrchMoveGroup {
    param([hashtable]$P)
    $group = [string](Get-OrchRequired -P $P -Name 'group')
    $to = Resolve-OrchNode ([string](Get-OrchRequired -P $P -Name 'to_node'))
    return (New-OrchApply -Output (Move-OrchGroup -Group $group -Node $to))
}

function Confirm-OrchMoveGroup {
    param([hashtable]$P)
    $probe = Test-OrchMoveGroup -P $P
    return (New-OrchVerify $probe.in_effect $probe.detail)
}

function Get-OrchClusSvc {
    $svc = Get-Service -Name 'ClusSvc' -ErrorAction SilentlyContinue
    if ($null -eq $svc) {
        throw ('the Cluster service (ClusSvc) is not installed on ' + $env:COMPUTERNAME)
    }
    return $svc
}

function Test-OrchStopClusterService {
    param([hashtable]$P)
    $svc = Get-OrchClusSvc
    return (New-OrchProbe ($svc.Status -eq 'Stopped') ('ClusSvc is ' + $svc.Status))
}

function Invoke-OrchStopClusterService {
    param([hashtable]$P)
    $svc = Get-OrchClusSvc
    if ($svc.Status -ne 'Stopped') {
        Stop-ClusterNode -Name (Resolve-OrchNode $env:COMPUTERNAME) | Out-Null
        $svc.WaitForStatus('Stopped', [TimeSpan]::FromMinutes(10))
    }
    Set-Service -Name 'ClusSvc' -StartupType Manual
    $message = 'Cluster service stopped (startup Manual until start_cluster_service)'
    return (New-OrchApply -Output $message)
}

function Confirm-OrchStopClusterService {
    param([hashtable]$P)
    $probe = Test-OrchStopClusterService -P $P
    return (New-OrchVerify $probe.in_effect $probe.detail)
}

function Test-OrchStartClusterService {
    param([hashtable]$P)
    $svc = Get-OrchClusSvc
    if ($svc.Status -ne 'Running') { return (New-OrchProbe $false ('ClusSvc is ' + $svc.Status)) }
    $state = [string](Get-ClusterNode -Name (Resolve-OrchNode $env:COMPUTERNAME)).State
    return (New-OrchProbe ($state -ne 'Down' -and $state -ne 'Joining') ('node is ' + $state))
}

function Invoke-OrchStartClusterService {
    param([hashtable]$P)
    Set-Service -Name 'ClusSvc' -StartupType Automatic
    Start-Service -Name 'ClusSvc'
    $deadline = (Get-Date).AddMinutes(10)
    while (-not (Test-OrchStartClusterService -P $P).in_effect -and (Get-Date) -lt $deadline) {
        Start-Sleep -Seconds 3
    }
    return (New-OrchApply -Output (Test-OrchStartClusterService -P $P).detail)
}

function Confirm-OrchStartClusterService {
    param([hashtable]$P)
    $probe = Test-OrchStartClusterService -P $P
    return (New-OrchVerify $probe.in_effect $probe.detail)
}

function Get-OrchResources {
    param([hashtable]$P)
    $group = [string](Get-OrchRequired -P $P -Name 'group')
    return @(Get-OrchGroup $group | Get-ClusterResource)
}

function Get-OrchToOffline {
    param([hashtable]$P)
    $keep = @(Get-OrchList -P $P -Name 'keep')
    return @(Get-OrchResources -P $P | Where-Object { $keep -notcontains $_.ResourceType.Name })
}

function Test-OrchResourcesOffline {
    param([hashtable]$P)
    $online = @(Get-OrchToOffline -P $P | Where-Object { [string]$_.State -ne 'Offline' } |
        ForEach-Object { $_.Name })
    return (New-OrchProbe ($online.Count -eq 0) ('still online: ' + ($online -join ', ')))
}

function Invoke-OrchResourcesOffline {
    param([hashtable]$P)
    $names = @()
    foreach ($res in @(Get-OrchToOffline -P $P)) {
        if ([string]$res.State -ne 'Offline') {
            Stop-ClusterResource -Name $res.Name -Wait 300 | Out-Null
            $names += $res.Name
        }
    }
    return (New-OrchApply -Output ('offline: ' + ($names -join ', ')))
}

function Confirm-OrchResourcesOffline {
    param([hashtable]$P)
    $probe = Test-OrchResourcesOffline -P $P
    return (New-OrchVerify $probe.in_effect $probe.detail)
}

function Test-OrchResourcesOnline {
    param([hashtable]$P)
    $offline = @(Get-OrchResources -P $P | Where-Object { [string]$_.State -ne 'Online' } |
        ForEach-Object { $_.Name })
    return (New-OrchProbe ($offline.Count -eq 0) ('not online: ' + ($offline -join ', ')))
}

function Invoke-OrchResourcesOnline {
    param([hashtable]$P)
    $group = [string](Get-OrchRequired -P $P -Name 'group')
    Start-ClusterGroup -Name $group -Wait 600 | Out-Null
    foreach ($res in @(Get-OrchResources -P $P | Where-Object { [string]$_.State -ne 'Online' })) {
        Start-ClusterResource -Name $res.Name -Wait 300 | Out-Null
    }
    return (New-OrchApply -Output ('{0} online on {1}' -f $group, (Get-OrchOwner $group)))
}

function Confirm-OrchResourcesOnline {
    param([hashtable]$P)
    $probe = Test-OrchResourcesOnline -P $P
    return (New-OrchVerify $probe.in_effect $probe.detail)
}

function Test-OrchCheckClusterHealthy {
    param([hashtable]$P)
    Assert-OrchCommand 'Get-ClusterNode' 'the FailoverClusters module (Failover Clustering tools)'
    $bad = @()
    $nodes = @(Get-OrchList -P $P -Name 'nodes')
    if ($nodes.Count -eq 0) { $nodes = @(Get-ClusterNode | ForEach-Object { $_.Name }) }
    foreach ($name in $nodes) {
        $state = [string](Get-ClusterNode -Name (Resolve-OrchNode $name)).State
        if ($state -ne 'Up') { $bad += ('{0} is {1}' -f $name, $state) }
    }
    $owners = Get-OrchParam -P $P -Name 'owners' -Default @{}
    foreach ($group in @($owners.Keys | Sort-Object)) {
        $now = Get-OrchOwner $group
        if ($now -ne (Resolve-OrchNode ([string]$owners[$group]))) {
            $bad += ('{0} is on {1}, expected on {2}' -f $group, $now, $owners[$group])
        }
    }
    if ($bad.Count -gt 0) {
        return (New-OrchVerify $false ('cluster not healthy: ' + ($bad -join '; ')))
    }
    return (New-OrchVerify $true 'every node Up, every group on its expected owner')
}

function Test-OrchCheckFailover {
    param([hashtable]$P)
    Assert-OrchCommand 'Get-ClusterNode' 'the FailoverClusters module (Failover Clustering tools)'
    $nodes = @(Get-ClusterNode)
    $bad = @($nodes | Where-Object { [string]$_.State -ne 'Up' } |
        ForEach-Object { '{0} is {1}' -f $_.Name, $_.State })
    $groups = @(Get-OrchList -P $P -Name 'groups')
    if ($groups.Count -eq 0) { $groups = @(Get-ClusterGroup | ForEach-Object { $_.Name }) }
    foreach ($name in $groups) {
        $group = Get-OrchGroup $name
        if ([string]$group.State -ne 'Online') { $bad += ('{0} is {1}' -f $name, $group.State) }
        foreach ($res in @($group | Get-ClusterResource)) {
            $list = Get-ClusterOwnerNode -Resource $res.Name
            $owners = @($list.OwnerNodes | ForEach-Object { $_.Name })
            if ($owners.Count -eq 0) { continue }
            $missing = @($nodes | Where-Object { $owners -notcontains $_.Name } |
                ForEach-Object { $_.Name })
            if ($missing.Count -gt 0) {
                $bad += ('{0}: {1} cannot move to {2}' -f $name, $res.Name, ($missing -join ', '))
            }
        }
    }
    if ($bad.Count -gt 0) {
        return (New-OrchVerify $false ('failover not possible: ' + ($bad -join '; ')))
    }
    return (New-OrchVerify $true 'every node Up; every group online and allowed on every node')
}
"""
