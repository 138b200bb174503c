"""PowerShell verbs for installs and uninstalls, and the product-version helpers.

``install`` runs the package's own installer and returns its exit code untouched (1618
another install in progress, 1603 fatal, 3010/1641 success with reboot): ``msiexec /i`` for
``msi``, ``msiexec /p`` for ``msp`` (properties as ``NAME="value"``, a verbose log to
``%SystemRoot%\\Temp\\<package file>.log`` unless ``log`` is given), the ``.exe`` itself
with ``arguments`` for ``exe``/``service-pack``/``hotfix`` (``/quiet /norestart`` when a
hotfix has none), and for ``patch-level`` the archive is expanded and its installer run.
Every process goes through ``Start-Process -Wait -PassThru``. A successful install is
remembered on the host (package, version, time) for the probes of install and reboot.
"""

from __future__ import annotations

PS_INSTALL = r"""
function Get-OrchUninstallEntry {
    param([string]$ProductCode = '', [string]$DisplayName = '')
    $roots = @('HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\*',
        'HKLM:\SOFTWARE\Wow6432Node\Microsoft\Windows\CurrentVersion\Uninstall\*')
    foreach ($root in $roots) {
        foreach ($entry in @(Get-ItemProperty -Path $root -ErrorAction SilentlyContinue)) {
            if ($ProductCode -and $entry.PSChildName -eq $ProductCode) { return $entry }
            if ($DisplayName -and $entry.DisplayName -eq $DisplayName) { return $entry }
        }
    }
    return $null
}

function ConvertTo-OrchVersionParts {
    param([string]$Text)
    $m = [regex]::Match($Text, 'Version\s+(\d+)\.(\d+)\s*\(Build\s+(\d+)(?:\.(\d+))?')
    if ($m.Success) {
        return @{ 'parts' = @([int]$m.Groups[1].Value, [int]$m.Groups[2].Value,
            [int]$m.Groups[3].Value); 'display' = $true }
    }
    $m = [regex]::Match($Text, '\d+(?:\.\d+)*')
    if (-not $m.Success) { throw ("'{0}' is not a version" -f $Text) }
    return @{ 'parts' = @($m.Value.Split('.') | ForEach-Object { [long]$_ }); 'display' = $false }
}

function Test-OrchVersionMatch {
    param([string]$Expect, [string]$Actual)
    $want = (ConvertTo-OrchVersionParts $Expect).parts
    $have = (ConvertTo-OrchVersionParts $Actual).parts
    if ($have.Count -lt $want.Count) { return $false }
    for ($i = 0; $i -lt $want.Count; $i++) { if ($want[$i] -ne $have[$i]) { return $false } }
    return $true
}

function Get-OrchProductVersion {
    param([hashtable]$P)
    $file = [string](Get-OrchParam -P $P -Name 'file' -Default '')
    $registry = Get-OrchParam -P $P -Name 'registry'
    $product = [string](Get-OrchParam -P $P -Name 'product' -Default '')
    if (-not $file -and -not $registry -and -not $product) {
        $key = 'HKLM:\SOFTWARE\Microsoft\Exchange\Setup'
        $setup = Get-ItemProperty -LiteralPath $key -ErrorAction SilentlyContinue
        if ($setup -and $setup.Services) {
            $file = Join-Path -Path $setup.Services -ChildPath 'bin\store.exe'
        }
    }
    if ($file) {
        $info = (Get-Item -LiteralPath $file).VersionInfo
        $v = '{0}.{1}.{2}.{3}' -f $info.FileMajorPart, $info.FileMinorPart, $info.FileBuildPart,
            $info.FilePrivatePart
        return @{ 'version' = $v; 'source' = ('the version resource of ' + $file) }
    }
    if ($registry) {
        $key = [string]$registry['key']
        $name = [string]$registry['value']
        $item = Get-ItemProperty -LiteralPath $key -Name $name
        return @{ 'version' = [string]$item.$name; 'source' = ('{0}\{1}' -f $key, $name) }
    }
    if ($product) {
        $entry = Get-OrchUninstallEntry -DisplayName $product
        if ($null -eq $entry) {
            throw ("'{0}' is not installed on {1}" -f $product, $env:COMPUTERNAME)
        }
        $source = 'the uninstall entry of ' + $product
        return @{ 'version' = [string]$entry.DisplayVersion; 'source' = $source }
    }
    throw 'cannot tell the product version: give the check a file, registry {key, value} or product'
}

function Test-OrchInstalled {
    param([hashtable]$P)
    $package = [string](Get-OrchRequired -P $P -Name 'package')
    $version = [string](Get-OrchParam -P $P -Name 'version' -Default '')
    $kind = [string](Get-OrchParam -P $P -Name 'package_kind' -Default '')
    if ($package -match '^KB\d+$' -and (Get-HotFix -Id $package -ErrorAction SilentlyContinue)) {
        return ('{0} is installed (Get-HotFix)' -f $package)
    }
    $code = [string](Get-OrchParam -P $P -Name 'product_code' -Default '')
    if ($code) { $entry = Get-OrchUninstallEntry -ProductCode $code }
    else { $entry = Get-OrchUninstallEntry -DisplayName $package }
    if ($entry -and
        (-not $version -or (Test-OrchVersionMatch $version ([string]$entry.DisplayVersion)))) {
        return ('{0} {1} is installed' -f $entry.DisplayName, $entry.DisplayVersion)
    }
    if ($version -and @('service-pack', 'patch-level') -contains $kind) {
        try {
            $found = Get-OrchProductVersion -P $P
            if (Test-OrchVersionMatch $version $found.version) {
                return ('{0} reports {1}' -f $found.source, $found.version)
            }
        } catch { Write-Verbose $_.Exception.Message }
    }
    $mark = Get-OrchMark -Area 'installed' -Key $package
    if ($null -ne $mark -and $mark.Count -ge 2 -and $mark[0] -eq $version) {
        return ('{0} {1} was installed by the orchestrator at {2}' -f $package, $version, $mark[1])
    }
    return $null
}

function Test-OrchInstall {
    param([hashtable]$P)
    $found = Test-OrchInstalled -P $P
    if ($found) { return (New-OrchProbe $true $found) }
    return (New-OrchProbe $false 'not installed')
}

function Assert-OrchPath {
    param([string]$Path)
    if ($Path.Contains('"')) { throw ('a path cannot contain a double quote: ' + $Path) }
    return $Path
}

function Format-OrchMsiCommand {
    param([string]$Mode, [string]$Package, [hashtable]$P, [string]$Log, [string]$Extra)
    $parts = @($Mode, ('"{0}"' -f (Assert-OrchPath $Package)))
    if ($Extra -notmatch '(^|\s)[/-](q|passive)') { $parts += '/qn' }
    if ($Extra -notmatch '(^|\s)[/-]norestart') { $parts += '/norestart' }
    $props = Get-OrchParam -P $P -Name 'properties' -Default @{}
    foreach ($name in @($props.Keys | Sort-Object)) {
        if ($name -notmatch '^[A-Za-z_][A-Za-z0-9_.]*$') {
            throw ("bad msiexec property name '{0}'" -f $name)
        }
        $parts += ('{0}="{1}"' -f $name, ([string]$props[$name]).Replace('"', '""'))
    }
    $parts += @('/L*v', ('"{0}"' -f (Assert-OrchPath $Log)))
    if ($Extra) { $parts += $Extra }
    return ($parts -join ' ')
}

function Expand-OrchArchive {
    param([string]$Source)
    $packages = Join-Path -Path $OrchStateRoot -ChildPath 'packages'
    $dest = Join-Path -Path $packages -ChildPath (Get-OrchHash $Source)
    if (Test-Path -LiteralPath $dest) { Remove-Item -LiteralPath $dest -Recurse -Force }
    New-Item -Path $dest -ItemType Directory -Force | Out-Null
    if (Get-Command -Name Expand-Archive -ErrorAction SilentlyContinue) {
        Expand-Archive -LiteralPath $Source -DestinationPath $dest -Force
    } else {
        $shell = New-Object -ComObject Shell.Application
        $shell.NameSpace($dest).CopyHere($shell.NameSpace($Source).Items(), 0x14)
    }
    return $dest
}

function Get-OrchInstallCommand {
    param([hashtable]$P, [string]$Source, [string]$Kind, [string]$Log)
    $extra = [string](Get-OrchParam -P $P -Name 'arguments' -Default '')
    if ($Kind -eq 'patch-level') {
        $dir = Expand-OrchArchive -Source $Source
        $name = [string](Get-OrchParam -P $P -Name 'installer' -Default '')
        if ($name) { $candidates = @(Join-Path -Path $dir -ChildPath $name) }
        else {
            $candidates = @('setup.exe', 'install.exe', '*.msp', '*.msi') | ForEach-Object {
                Get-ChildItem -Path $dir -Filter $_ | Where-Object { -not $_.PSIsContainer } |
                    Select-Object -First 1 -ExpandProperty FullName
            }
        }
        $Source = @($candidates | Where-Object { $_ -and (Test-Path -LiteralPath $_) }) |
            Select-Object -First 1
        if (-not $Source) { throw ('no installer (setup.exe, install.exe, .msp, .msi) in ' + $dir) }
        $extension = [System.IO.Path]::GetExtension($Source).ToLower()
        $Kind = 'exe'
        if ($extension -eq '.msi') { $Kind = 'msi' }
        elseif ($extension -eq '.msp') { $Kind = 'msp' }
    }
    if ($Kind -eq 'msi') {
        return @('msiexec.exe', (Format-OrchMsiCommand '/i' $Source $P $Log $extra))
    }
    if ($Kind -eq 'msp') {
        return @('msiexec.exe', (Format-OrchMsiCommand '/p' $Source $P $Log $extra))
    }
    if ($Kind -eq 'hotfix' -and -not $extra) { $extra = '/quiet /norestart' }
    return @((Assert-OrchPath $Source), $extra)
}

function Get-OrchCodes {
    param([hashtable]$P, [string]$Name, [int[]]$Default)
    $codes = @(Get-OrchList -P $P -Name $Name | ForEach-Object { [int]$_ })
    if ($codes.Count -eq 0) { return $Default }
    return $codes
}

function Invoke-OrchInstall {
    param([hashtable]$P)
    $package = [string](Get-OrchRequired -P $P -Name 'package')
    $source = [string](Get-OrchRequired -P $P -Name 'source')
    $kind = [string](Get-OrchParam -P $P -Name 'package_kind' -Default 'exe')
    $leaf = Split-Path -Path $source -Leaf
    $default = Join-Path -Path $env:SystemRoot -ChildPath ('Temp\' + $leaf + '.log')
    $log = [string](Get-OrchParam -P $P -Name 'log' -Default $default)
    if (-not (Test-Path -LiteralPath $source)) { throw ('source not found: ' + $source) }
    $command = Get-OrchInstallCommand -P $P -Source $source -Kind $kind -Log $log
    $r = Invoke-OrchProcess -FilePath $command[0] -CommandLine $command[1]
    $code = $r.exit_code
    $success = @(0) + @(Get-OrchCodes -P $P -Name 'success_codes' -Default @(0))
    $rebootCodes = @(3010, 1641) +
        @(Get-OrchCodes -P $P -Name 'reboot_codes' -Default @(3010, 1641))
    $reboot = $rebootCodes -contains $code
    $output = $r.output
    if ($success -contains $code -or $reboot) {
        $now = (Get-Date).ToUniversalTime().ToString('o')
        $version = [string](Get-OrchParam -P $P -Name 'version' -Default '')
        Set-OrchMark -Area 'installed' -Key $package -Value @($version, $now)
        Set-OrchMark -Area 'host' -Key 'last-install' -Value @($now)
        if ($reboot -or $kind -eq 'hotfix') {
            $reboot = $true
            Set-OrchMark -Area 'host' -Key 'reboot-pending' -Value @($now)
        }
    } else {
        $output = ($output + "`n" + (Get-OrchTail -Path $log)).Trim()
    }
    return (New-OrchApply -ExitCode $code -RebootRequired $reboot -Output $output)
}

function Confirm-OrchInstall {
    param([hashtable]$P)
    $found = Test-OrchInstalled -P $P
    if ($found) { return (New-OrchVerify $true $found) }
    return (New-OrchVerify $false ('{0} is not installed' -f $P['package']))
}

function Test-OrchUninstall {
    param([hashtable]$P)
    $code = [string](Get-OrchParam -P $P -Name 'product_code' -Default '')
    $package = [string](Get-OrchRequired -P $P -Name 'package')
    if ($code) { $entry = Get-OrchUninstallEntry -ProductCode $code }
    else { $entry = Get-OrchUninstallEntry -DisplayName $package }
    if ($entry) { return (New-OrchProbe $false ('{0} is installed' -f $entry.DisplayName)) }
    return (New-OrchProbe $true ('{0} is not installed' -f $package))
}

function Invoke-OrchUninstall {
    param([hashtable]$P)
    $package = [string](Get-OrchRequired -P $P -Name 'package')
    $code = [string](Get-OrchParam -P $P -Name 'product_code' -Default '')
    $name = 'Temp\uninstall-' + (Get-OrchHash $package).Substring(0, 12) + '.log'
    $log = Join-Path -Path $env:SystemRoot -ChildPath $name
    if (-not $code) {
        $entry = Get-OrchUninstallEntry -DisplayName $package
        if ($entry -and $entry.PSChildName -match '^\{[0-9A-Fa-f-]{36}\}$') {
            $code = $entry.PSChildName
        }
    }
    if ($code) {
        if ($code -notmatch '^\{[0-9A-Fa-f-]{36}\}$') {
            throw ("'{0}' is not a product code" -f $code)
        }
        $line = Format-OrchMsiCommand '/x' $code $P $log ''
        $r = Invoke-OrchProcess -FilePath 'msiexec.exe' -CommandLine $line
    } elseif ($entry -and ($entry.QuietUninstallString -or $entry.UninstallString)) {
        $line = $entry.QuietUninstallString
        if (-not $line) { $line = $entry.UninstallString }
        $r = Invoke-OrchProcess -FilePath 'cmd.exe' -CommandLine ('/d /s /c "' + $line + '"')
    } else {
        return (New-OrchApply -ExitCode 1605 -Output ('{0} is not installed (1605)' -f $package))
    }
    $reboot = @(3010, 1641) -contains $r.exit_code
    if ($r.exit_code -eq 0 -or $reboot) {
        Remove-OrchMark -Area 'installed' -Key $package
        Set-OrchMark -Area 'host' -Key 'last-install' -Value @(Get-OrchNow)
        if ($reboot) {
            Set-OrchMark -Area 'host' -Key 'reboot-pending' -Value @(Get-OrchNow)
        }
    }
    return (New-OrchApply -ExitCode $r.exit_code -RebootRequired $reboot -Output $r.output)
}

function Confirm-OrchUninstall {
    param([hashtable]$P)
    $probe = Test-OrchUninstall -P $P
    return (New-OrchVerify $probe.in_effect $probe.detail)
}

"""
