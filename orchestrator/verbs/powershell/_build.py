"""PowerShell verbs for building an ``.msp`` (docs/playbook.md, S4).

``build_prepare`` creates the folders and copies both packages; ``build_admin_image`` runs
``msiexec /a <msi> TARGETDIR=<dir> /L*v <log>`` and records the image; ``build_pcp`` copies
the SDK's ``template.pcp`` and fills its Properties, ImageFamilies, UpgradedImages and
TargetImages tables through the Windows Installer automation interface (parameterised SQL, no
value ever pasted into a query); ``build_patch`` runs ``msimsp.exe -s <pcp> -p <msp> -l <log>
-f <tmp>``. The SDK is found from ``sdk_dir``, ``%ORCH_MSI_SDK%``, or under ``Windows Kits`` /
``Microsoft SDKs``; the MSI helpers and checks live in :mod:`._msi`.
"""

from __future__ import annotations

PS_BUILD = r"""
function Get-OrchPrepareState {
    param([hashtable]$P)
    $workdir = [string](Get-OrchRequired -P $P -Name 'workdir')
    $missing = @(@(Get-OrchList -P $P -Name 'folders') |
        ForEach-Object { Join-Path -Path $workdir -ChildPath $_ } |
        Where-Object { -not (Test-Path -LiteralPath $_ -PathType Container) })
    $copy = Get-OrchParam -P $P -Name 'copy' -Default @{}
    foreach ($name in @($copy.Keys | Sort-Object)) {
        $dir = Join-Path -Path $workdir -ChildPath $name
        $target = Join-Path -Path $dir -ChildPath (Split-Path -Path $copy[$name] -Leaf)
        if (-not (Test-Path -LiteralPath $target)) { $missing += $target }
    }
    return $missing
}

function Test-OrchBuildPrepare {
    param([hashtable]$P)
    $missing = @(Get-OrchPrepareState -P $P)
    return (New-OrchProbe ($missing.Count -eq 0) ('missing: ' + ($missing -join ', ')))
}

function Invoke-OrchBuildPrepare {
    param([hashtable]$P)
    $workdir = [string](Get-OrchRequired -P $P -Name 'workdir')
    foreach ($folder in @(Get-OrchList -P $P -Name 'folders')) {
        $dir = Join-Path -Path $workdir -ChildPath $folder
        New-Item -Path $dir -ItemType Directory -Force | Out-Null
    }
    $copy = Get-OrchParam -P $P -Name 'copy' -Default @{}
    foreach ($name in @($copy.Keys | Sort-Object)) {
        $dir = Join-Path -Path $workdir -ChildPath $name
        New-Item -Path $dir -ItemType Directory -Force | Out-Null
        Copy-Item -LiteralPath ([string]$copy[$name]) -Destination $dir -Force
    }
    return (New-OrchApply -Output ('prepared ' + $workdir))
}

function Confirm-OrchBuildPrepare {
    param([hashtable]$P)
    $probe = Test-OrchBuildPrepare -P $P
    return (New-OrchVerify $probe.in_effect $probe.detail)
}

function Get-OrchAdminMsi {
    param([hashtable]$P)
    $target = [string](Get-OrchRequired -P $P -Name 'target_dir')
    $msi = [string](Get-OrchRequired -P $P -Name 'msi')
    return (Join-Path -Path $target -ChildPath (Split-Path -Path $msi -Leaf))
}

function Test-OrchBuildAdminImage {
    param([hashtable]$P)
    $msi = Get-OrchAdminMsi -P $P
    if (-not (Test-Path -LiteralPath $msi)) { return (New-OrchProbe $false ('no ' + $msi)) }
    $words = [int](Get-OrchMsiSummary -Msi $msi -Id 15)
    $ok = ($words -band 4) -and -not ($words -band 2)
    return (New-OrchProbe $ok ('{0}: word count {1}' -f $msi, $words))
}

function Invoke-OrchBuildAdminImage {
    param([hashtable]$P)
    $image = [string](Get-OrchRequired -P $P -Name 'image')
    $target = [string](Get-OrchRequired -P $P -Name 'target_dir')
    $log = [string](Get-OrchParam -P $P -Name 'log' `
        -Default (Join-Path -Path $target -ChildPath 'Admin.log'))
    New-Item -Path $target -ItemType Directory -Force | Out-Null
    $props = @{ 'properties' = @{ 'TARGETDIR' = $target } }
    $line = Format-OrchMsiCommand '/a' ([string](Get-OrchRequired -P $P -Name 'msi')) $props $log ''
    $r = Invoke-OrchProcess -FilePath 'msiexec.exe' -CommandLine $line
    if ($r.exit_code -eq 0) {
        $admin = Get-OrchAdminMsi -P $P
        Set-OrchMark -Area 'build' -Key ('image|' + $image) -Value @($target, $admin)
        $list = @(Get-OrchMark -Area 'build' -Key 'images') | Where-Object { $_ -and $_ -ne $image }
        Set-OrchMark -Area 'build' -Key 'images' -Value (@($list) + $image)
    }
    $output = ($r.output + "`n" + (Get-OrchTail -Path $log)).Trim()
    return (New-OrchApply -ExitCode $r.exit_code -Output $output)
}

function Confirm-OrchBuildAdminImage {
    param([hashtable]$P)
    $probe = Test-OrchBuildAdminImage -P $P
    return (New-OrchVerify $probe.in_effect $probe.detail)
}

function Get-OrchImageMsi {
    param([string]$Dir)
    $hit = Get-ChildItem -LiteralPath $Dir -Filter '*.msi' |
        Where-Object { -not $_.PSIsContainer } | Select-Object -First 1
    if ($null -eq $hit) { throw ('no .msi in ' + $Dir) }
    return $hit.FullName
}

function Test-OrchBuildPcp {
    param([hashtable]$P)
    $pcp = [string](Get-OrchRequired -P $P -Name 'pcp')
    if (-not (Test-Path -LiteralPath $pcp)) { return (New-OrchProbe $false ('no ' + $pcp)) }
    $db = Invoke-OrchCom (Get-OrchInstaller) 'OpenDatabase' 'InvokeMethod' @($pcp, 0)
    $sql = 'SELECT `Value` FROM `Properties` WHERE `Name` = ?'
    $guid = @(Invoke-OrchMsiQuery -Database $db -Sql $sql -Values @('PatchGUID')) |
        Select-Object -First 1
    $want = [string](Get-OrchRequired -P $P -Name 'patch_guid')
    return (New-OrchProbe ($guid -eq $want) ('{0}: PatchGUID {1}' -f $pcp, $guid))
}

function Invoke-OrchBuildPcp {
    param([hashtable]$P)
    $pcp = [string](Get-OrchRequired -P $P -Name 'pcp')
    $template = Find-OrchSdkFile -P $P -Name 'template.pcp'
    if (-not $template) { throw 'template.pcp of the Windows Installer SDK not found; set sdk_dir' }
    $family = [string](Get-OrchParam -P $P -Name 'family' -Default 'Family1')
    $output = Join-Path -Path ([string](Get-OrchRequired -P $P -Name 'output_path')) -ChildPath (
        [System.IO.Path]::GetFileNameWithoutExtension($pcp) + '.msp')
    Copy-Item -LiteralPath $template -Destination $pcp -Force
    $db = Invoke-OrchCom (Get-OrchInstaller) 'OpenDatabase' 'InvokeMethod' @($pcp, 1)
    $guid = [string](Get-OrchRequired -P $P -Name 'patch_guid')
    $rows = @(@('PatchGUID', $guid), @('PatchOutputPath', $output))
    $props = Get-OrchParam -P $P -Name 'properties' -Default @{}
    foreach ($name in @($props.Keys | Sort-Object)) { $rows += ,@($name, [string]$props[$name]) }
    foreach ($row in $rows) {
        $sql = 'INSERT INTO `Properties` (`Name`, `Value`) VALUES (?, ?)'
        Invoke-OrchMsiQuery -Database $db -Sql $sql -Values $row | Out-Null
    }
    $media = [string](Get-OrchParam -P $P -Name 'media_src_prop' -Default ($family + 'Src'))
    $disk = [int](Get-OrchParam -P $P -Name 'media_disk_id' -Default 5000)
    $sequence = [int](Get-OrchParam -P $P -Name 'file_sequence_start' -Default 5000)
    $sql = 'INSERT INTO `ImageFamilies` (`Family`, `MediaSrcPropName`, `MediaDiskId`, ' +
        '`FileSequenceStart`) VALUES (?, ?, ?, ?)'
    Invoke-OrchMsiQuery -Database $db -Values @($family, $media, $disk, $sequence) -Sql $sql |
        Out-Null
    $upgraded = Get-OrchImageMsi ([string](Get-OrchRequired -P $P -Name 'upgraded'))
    $sql = 'INSERT INTO `UpgradedImages` (`Upgraded`, `MsiPath`, `Family`) VALUES (?, ?, ?)'
    Invoke-OrchMsiQuery -Database $db -Values @('Upgraded', $upgraded, $family) -Sql $sql | Out-Null
    $target = Get-OrchImageMsi ([string](Get-OrchRequired -P $P -Name 'target'))
    $flags = [string](Get-OrchParam -P $P -Name 'product_validate_flags' -Default '0x00000922')
    $sql = 'INSERT INTO `TargetImages` (`Target`, `MsiPath`, `Upgraded`, `Order`, ' +
        '`ProductValidateFlags`, `IgnoreMissingSrcFiles`) VALUES (?, ?, ?, ?, ?, ?)'
    $values = @('Target', $target, 'Upgraded', 1, $flags, 0)
    Invoke-OrchMsiQuery -Database $db -Values $values -Sql $sql | Out-Null
    [void](Invoke-OrchCom $db 'Commit' 'InvokeMethod')
    $message = '{0} written (target {1}, upgraded {2})' -f $pcp, $target, $upgraded
    return (New-OrchApply -Output $message)
}

function Confirm-OrchBuildPcp {
    param([hashtable]$P)
    $probe = Test-OrchBuildPcp -P $P
    return (New-OrchVerify $probe.in_effect $probe.detail)
}

function Test-OrchBuildPatch {
    param([hashtable]$P)
    $msp = [string](Get-OrchRequired -P $P -Name 'msp')
    $pcp = [string](Get-OrchRequired -P $P -Name 'pcp')
    if (-not (Test-Path -LiteralPath $msp) -or -not (Test-Path -LiteralPath $pcp)) {
        return (New-OrchProbe $false ('no ' + $msp))
    }
    $built = (Get-Item -LiteralPath $msp).LastWriteTimeUtc
    $fresh = $built -gt (Get-Item -LiteralPath $pcp).LastWriteTimeUtc
    return (New-OrchProbe $fresh ('{0} built after {1}: {2}' -f $msp, $pcp, $fresh))
}

function Invoke-OrchBuildPatch {
    param([hashtable]$P)
    $msimsp = Find-OrchSdkFile -P $P -Name 'msimsp.exe'
    if (-not $msimsp) { throw 'msimsp.exe of the Windows Installer SDK not found; set sdk_dir' }
    $log = [string](Get-OrchRequired -P $P -Name 'log')
    $tmp = [string](Get-OrchRequired -P $P -Name 'tmp')
    $arguments = @('-s', [string](Get-OrchRequired -P $P -Name 'pcp'), '-p',
        [string](Get-OrchRequired -P $P -Name 'msp'), '-l', $log, '-f', $tmp)
    $line = Join-OrchArguments -Arguments $arguments
    $r = Invoke-OrchProcess -FilePath $msimsp -CommandLine $line
    $output = $r.output
    if ($r.exit_code -ne 0) { $output = ($output + "`n" + (Get-OrchTail -Path $log)).Trim() }
    return (New-OrchApply -ExitCode $r.exit_code -Output $output)
}

function Confirm-OrchBuildPatch {
    param([hashtable]$P)
    $probe = Test-OrchBuildPatch -P $P
    return (New-OrchVerify $probe.in_effect $probe.detail)
}
"""
