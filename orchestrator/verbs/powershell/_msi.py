"""PowerShell helpers for the Windows Installer automation interface (``WindowsInstaller.Installer``
through ``InvokeMember``; SQL always parameterised), the SDK search, and the MSI checks:
``msi-sdk``, ``msi-log-clean``, ``admin-images-uncompressed`` (summary word count bit 2 clear)
and ``product-code-match`` (Property table ProductCode; revision number = package code)."""

from __future__ import annotations

PS_MSI = r"""
function Invoke-OrchCom {
    param($Object, [string]$Member, [string]$Kind, [object[]]$Arguments = @())
    $flags = [System.Reflection.BindingFlags]$Kind
    return $Object.GetType().InvokeMember($Member, $flags, $null, $Object, $Arguments)
}

function Get-OrchInstaller {
    return (New-Object -ComObject WindowsInstaller.Installer)
}

function Get-OrchMsiSummary {
    param([string]$Msi, [int]$Id)
    $info = Invoke-OrchCom (Get-OrchInstaller) 'SummaryInformation' 'GetProperty' @($Msi, 0)
    return (Invoke-OrchCom $info 'Property' 'GetProperty' @($Id))
}

function Invoke-OrchMsiQuery {
    param($Database, [string]$Sql, [object[]]$Values = @())
    $view = Invoke-OrchCom $Database 'OpenView' 'InvokeMethod' @($Sql)
    $size = [Math]::Max(1, $Values.Count)
    $record = Invoke-OrchCom (Get-OrchInstaller) 'CreateRecord' 'InvokeMethod' @($size)
    for ($i = 0; $i -lt $Values.Count; $i++) {
        if ($Values[$i] -is [int]) {
            [void](Invoke-OrchCom $record 'IntegerData' 'SetProperty' @(($i + 1), $Values[$i]))
        } else {
            $text = [string]$Values[$i]
            [void](Invoke-OrchCom $record 'StringData' 'SetProperty' @(($i + 1), $text))
        }
    }
    [void](Invoke-OrchCom $view 'Execute' 'InvokeMethod' @($record))
    $rows = @()
    if ($Sql.StartsWith('SELECT')) {
        while ($row = Invoke-OrchCom $view 'Fetch' 'InvokeMethod') {
            $rows += [string](Invoke-OrchCom $row 'StringData' 'GetProperty' @(1))
        }
    }
    [void](Invoke-OrchCom $view 'Close' 'InvokeMethod')
    return $rows
}

function Get-OrchMsiProperty {
    param([string]$Msi, [string]$Name)
    $db = Invoke-OrchCom (Get-OrchInstaller) 'OpenDatabase' 'InvokeMethod' @($Msi, 0)
    $sql = 'SELECT `Value` FROM `Property` WHERE `Property` = ?'
    $rows = @(Invoke-OrchMsiQuery -Database $db -Sql $sql -Values @($Name))
    return ($rows | Select-Object -First 1)
}

function Find-OrchSdkFile {
    param([hashtable]$P, [string]$Name)
    $roots = @([string](Get-OrchParam -P $P -Name 'sdk_dir' -Default ''), [string]$env:ORCH_MSI_SDK,
        (Join-Path -Path ${env:ProgramFiles(x86)} -ChildPath 'Windows Kits'),
        (Join-Path -Path ${env:ProgramFiles(x86)} -ChildPath 'Microsoft SDKs'),
        (Join-Path -Path $env:ProgramFiles -ChildPath 'Microsoft SDKs'))
    foreach ($root in $roots) {
        if (-not $root -or -not (Test-Path -LiteralPath $root)) { continue }
        $hit = Get-ChildItem -LiteralPath $root -Recurse -Filter $Name `
            -ErrorAction SilentlyContinue | Where-Object { -not $_.PSIsContainer } |
            Sort-Object -Property @{ Expression = { $_.FullName -match '\\x86\\' } } -Descending |
            Select-Object -First 1
        if ($hit) { return $hit.FullName }
    }
    return $null
}

function Test-OrchCheckMsiSdk {
    param([hashtable]$P)
    $missing = @(@('msimsp.exe', 'template.pcp') |
        Where-Object { -not (Find-OrchSdkFile -P $P -Name $_) })
    if ($missing.Count -gt 0) {
        $message = 'Windows Installer SDK not found (missing {0}); set sdk_dir' -f
            ($missing -join ', ')
        return (New-OrchVerify $false $message)
    }
    return (New-OrchVerify $true ('msimsp.exe: ' + (Find-OrchSdkFile -P $P -Name 'msimsp.exe')))
}

function Test-OrchCheckMsiLogClean {
    param([hashtable]$P)
    $log = [string](Get-OrchRequired -P $P -Name 'log')
    if (-not (Test-Path -LiteralPath $log)) {
        return (New-OrchVerify $false ('no installer log ' + $log))
    }
    $lines = @(Get-Content -LiteralPath $log)
    $last = $lines | Select-String -Pattern 'MainEngineThread is returning (\d+)' |
        Select-Object -Last 1
    if ($null -eq $last) { return (New-OrchVerify $false ('{0} has no final status' -f $log)) }
    $code = [int]$last.Matches[0].Groups[1].Value
    $failed = @($lines | Select-String -Pattern 'Return value 3\.')
    if (@(0, 3010, 1641) -notcontains $code -or $failed.Count -gt 0) {
        $message = '{0}: the installer returned {1} ({2} failed action(s))' -f $log, $code,
            $failed.Count
        return (New-OrchVerify $false $message)
    }
    return (New-OrchVerify $true ('{0}: the installer returned {1}' -f $log, $code))
}

function Get-OrchImages {
    param([hashtable]$P, [string[]]$Names = @())
    $paths = @(Get-OrchList -P $P -Name 'msi')
    if ($paths.Count -gt 0) { return $paths }
    if ($Names.Count -eq 0) {
        $list = Get-OrchMark -Area 'build' -Key 'images'
        if ($null -ne $list) { $Names = $list }
    }
    foreach ($name in @($Names)) {
        $mark = Get-OrchMark -Area 'build' -Key ('image|' + $name)
        if ($null -eq $mark) {
            throw ("no administrative image '{0}' was built on this host" -f $name)
        }
        $mark[1]
    }
}

function Test-OrchCheckAdminImagesUncompressed {
    param([hashtable]$P)
    $bad = @()
    foreach ($msi in @(Get-OrchImages -P $P -Names @(Get-OrchList -P $P -Name 'images'))) {
        if (-not (Test-Path -LiteralPath $msi)) { $bad += ('{0} (missing)' -f $msi); continue }
        $words = [int](Get-OrchMsiSummary -Msi $msi -Id 15)
        if ($words -band 2) { $bad += ('{0} (compressed)' -f $msi) }
    }
    if ($bad.Count -gt 0) {
        $message = 'not uncompressed administrative images: ' + ($bad -join ', ')
        return (New-OrchVerify $false $message)
    }
    return (New-OrchVerify $true 'administrative images uncompressed')
}

function Test-OrchCheckProductCodeMatch {
    param([hashtable]$P)
    $product = [string](Get-OrchRequired -P $P -Name 'product_code')
    $package = [string](Get-OrchParam -P $P -Name 'package_code' -Default '')
    $bad = @()
    $withPackage = 0
    foreach ($msi in @(Get-OrchImages -P $P -Names @())) {
        $code = Get-OrchMsiProperty -Msi $msi -Name 'ProductCode'
        if ($code -ne $product) { $bad += ('{0} has ProductCode {1}' -f $msi, $code) }
        if ($package -and [string](Get-OrchMsiSummary -Msi $msi -Id 9) -eq $package) {
            $withPackage++
        }
    }
    if ($package -and $withPackage -ne 1) {
        $bad += ('PackageCode {0} is on {1} image(s), expected 1' -f $package, $withPackage)
    }
    if ($bad.Count -gt 0) { return (New-OrchVerify $false ($bad -join '; ')) }
    return (New-OrchVerify $true ('every image has ProductCode ' + $product))
}

"""
