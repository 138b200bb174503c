"""The core of the PowerShell verb library: the dispatcher ``Invoke-OrchVerb``, the payload
builders, parameter access, the host-side state the verbs keep, command-line quoting for
native programs and the one process runner.

Functions are named ``<Verb>-Orch<Kind>``: ``Test-`` for probe, ``Invoke-`` for apply and
``Confirm-`` for verify (``move_group`` → ``Test-OrchMoveGroup``); each takes ``-P`` (the
action's params). State the verbs remember on the host (the last install, services they
stopped, hooks run, preserved files, build outputs) lives under
``%ProgramData%\\Orchestrator``, one small file per key.
"""

from __future__ import annotations

PS_CORE = r"""
$OrchStateRoot = Join-Path -Path $env:ProgramData -ChildPath 'Orchestrator'
$OrchContext = @{}

function Invoke-OrchVerb {
    param(
        [Parameter(Mandatory = $true)][string]$Kind,
        [Parameter(Mandatory = $true)][string]$Step,
        [hashtable]$Params = @{},
        [hashtable]$Context = @{}
    )
    $global:LASTEXITCODE = 1
    $global:OrchPayload = $null
    $ErrorActionPreference = 'Stop'
    $prefixes = @{ 'probe' = 'Test'; 'apply' = 'Invoke'; 'verify' = 'Confirm' }
    if (-not $prefixes.ContainsKey($Step)) { throw ("unknown step '{0}'" -f $Step) }
    if ($Kind -cnotmatch '^[a-z][a-z_]*\z') { throw ("unknown action kind '{0}'" -f $Kind) }
    $name = '{0}-Orch{1}' -f $prefixes[$Step], (ConvertTo-OrchCamel $Kind)
    if (-not (Test-Path -LiteralPath ('function:' + $name))) {
        throw ("this host has no {0} verb for action kind '{1}'" -f $Step, $Kind)
    }
    $global:OrchContext = $Context
    $result = $null
    foreach ($item in @(& $name -P $Params)) {
        if ($item -is [hashtable]) { $result = $item } else { Write-Output $item }
    }
    $keys = @{ 'probe' = 'in_effect'; 'apply' = 'exit_code'; 'verify' = 'ok' }
    $required = $keys[$Step]
    if ($null -eq $result -or -not $result.ContainsKey($required)) {
        throw ("the {0} verb of '{1}' returned no result" -f $Step, $Kind)
    }
    $global:OrchPayload = $result
    $global:LASTEXITCODE = 0
}

function ConvertTo-OrchCamel {
    param([string]$Name)
    $parts = $Name -split '[-_]' | Where-Object { $_ }
    return (($parts | ForEach-Object { $_.Substring(0, 1).ToUpper() + $_.Substring(1) }) -join '')
}

function New-OrchProbe {
    param([bool]$InEffect, [string]$Detail)
    return @{ 'in_effect' = $InEffect; 'detail' = $Detail }
}

function New-OrchApply {
    param([int]$ExitCode = 0, [bool]$RebootRequired = $false, [string]$Output = '')
    return @{ 'exit_code' = $ExitCode; 'reboot_required' = $RebootRequired; 'output' = $Output }
}

function New-OrchVerify {
    param([bool]$Ok, [string]$Message)
    return @{ 'ok' = $Ok; 'message' = $Message }
}

function Get-OrchParam {
    param([hashtable]$P, [string]$Name, $Default = $null)
    if ($P.ContainsKey($Name) -and $null -ne $P[$Name]) { return $P[$Name] }
    return $Default
}

function Get-OrchRequired {
    param([hashtable]$P, [string]$Name)
    $value = Get-OrchParam -P $P -Name $Name
    if ($null -eq $value -or [string]$value -eq '') {
        throw ("parameter '{0}' is required" -f $Name)
    }
    return $value
}

function Get-OrchList {
    param([hashtable]$P, [string]$Name)
    $value = Get-OrchParam -P $P -Name $Name
    if ($null -eq $value) { return }
    return ($value | ForEach-Object { [string]$_ })
}

function Get-OrchTarget {
    $name = $global:OrchContext['host']
    if ($name) { return [string]$name }
    return $env:COMPUTERNAME
}

function Get-OrchHash {
    param([string]$Text)
    $sha = [System.Security.Cryptography.SHA256]::Create()
    $bytes = $sha.ComputeHash([System.Text.Encoding]::UTF8.GetBytes($Text))
    return (($bytes | ForEach-Object { $_.ToString('x2') }) -join '')
}

function Get-OrchStatePath {
    param([string]$Area, [string]$Key)
    $dir = Join-Path -Path $OrchStateRoot -ChildPath $Area
    if (-not (Test-Path -LiteralPath $dir)) {
        New-Item -Path $dir -ItemType Directory -Force | Out-Null
    }
    return (Join-Path -Path $dir -ChildPath (Get-OrchHash $Key))
}

function Set-OrchMark {
    param([string]$Area, [string]$Key, [string[]]$Value = @())
    $path = Get-OrchStatePath -Area $Area -Key $Key
    Set-Content -LiteralPath $path -Value (@($Key) + $Value) -Encoding UTF8
}

function Get-OrchMark {
    param([string]$Area, [string]$Key)
    $path = Get-OrchStatePath -Area $Area -Key $Key
    if (-not (Test-Path -LiteralPath $path)) { return $null }
    $lines = @(Get-Content -LiteralPath $path -Encoding UTF8)
    if ($lines.Count -lt 1 -or $lines[0] -ne $Key) { return $null }
    return ,@($lines | Select-Object -Skip 1)
}

function ConvertTo-OrchArgument {
    param([string]$Value)
    if ($Value -ne '' -and $Value -notmatch '[\s"]') { return $Value }
    $out = New-Object System.Text.StringBuilder
    [void]$out.Append('"')
    $slashes = 0
    foreach ($c in $Value.ToCharArray()) {
        if ($c -eq '\') { $slashes++; continue }
        if ($c -eq '"') { [void]$out.Append([char]'\', 2 * $slashes + 1) }
        elseif ($slashes -gt 0) { [void]$out.Append([char]'\', $slashes) }
        $slashes = 0
        [void]$out.Append($c)
    }
    [void]$out.Append([char]'\', 2 * $slashes)
    [void]$out.Append('"')
    return $out.ToString()
}

function Join-OrchArguments {
    param([string[]]$Arguments = @(), [string]$Raw = '')
    $parts = @($Arguments | ForEach-Object { ConvertTo-OrchArgument $_ })
    if ($Raw) { $parts += $Raw }
    return ($parts -join ' ')
}

function Invoke-OrchProcess {
    param([string]$FilePath, [string]$CommandLine = '', [string]$WorkingDirectory = '')
    $tmp = Join-Path -Path $OrchStateRoot -ChildPath 'tmp'
    if (-not (Test-Path -LiteralPath $tmp)) {
        New-Item -Path $tmp -ItemType Directory -Force | Out-Null
    }
    $stamp = [guid]::NewGuid().ToString('N')
    $out = Join-Path -Path $tmp -ChildPath ($stamp + '.out')
    $err = Join-Path -Path $tmp -ChildPath ($stamp + '.err')
    if (-not $WorkingDirectory) { $WorkingDirectory = $tmp }
    if ($CommandLine) {
        $proc = Start-Process -FilePath $FilePath -ArgumentList $CommandLine -Wait -PassThru `
            -NoNewWindow -WorkingDirectory $WorkingDirectory `
            -RedirectStandardOutput $out -RedirectStandardError $err
    } else {
        $proc = Start-Process -FilePath $FilePath -Wait -PassThru -NoNewWindow `
            -WorkingDirectory $WorkingDirectory -RedirectStandardOutput $out `
            -RedirectStandardError $err
    }
    $text = ''
    foreach ($file in @($out, $err)) {
        if (Test-Path -LiteralPath $file) {
            $text += [System.IO.File]::ReadAllText($file, [System.Text.Encoding]::Default)
            Remove-Item -LiteralPath $file -Force
        }
    }
    return @{ 'exit_code' = [int]$proc.ExitCode; 'output' = [string]$text }
}

function Invoke-OrchBatch {
    param([string]$Path, [string[]]$Arguments = @())
    foreach ($value in @($Path) + $Arguments) {
        if ($value -match '["%&|<>^!\r\n]') {
            $message = "cannot pass '{0}' to the batch file {1}: cmd.exe would interpret it"
            throw ($message -f $value, $Path)
        }
    }
    $quoted = @(@($Path) + $Arguments | ForEach-Object { '"' + $_ + '"' })
    $line = '/d /s /c "' + ($quoted -join ' ') + '"'
    return (Invoke-OrchProcess -FilePath 'cmd.exe' -CommandLine $line)
}

function Get-OrchNow {
    return (Get-Date).ToUniversalTime().ToString('o')
}

function ConvertFrom-OrchTime {
    param([string]$Text)
    $style = [System.Globalization.DateTimeStyles]::RoundtripKind
    return [datetime]::Parse($Text, [System.Globalization.CultureInfo]::InvariantCulture, $style)
}

function Assert-OrchCommand {
    param([string]$Name, [string]$What)
    if (-not (Get-Command -Name $Name -ErrorAction SilentlyContinue)) {
        throw ("{0} is not available on {1}: install {2}" -f $Name, $env:COMPUTERNAME, $What)
    }
}

function Get-OrchTail {
    param([string]$Path, [int]$Lines = 40)
    if (-not $Path -or -not (Test-Path -LiteralPath $Path)) { return '' }
    $all = @(Get-Content -LiteralPath $Path)
    $tail = @($all | Select-Object -Last $Lines)
    # the update log's FileInUse:: lines (KB 328839) decide a retry: keep them all
    $inUse = @($all | Select-Object -First ($all.Count - $tail.Count) |
        Where-Object { $_ -match 'FileInUse::' })
    return ((@($inUse) + @($tail)) -join "`n")
}
"""
