"""The PowerShell 2.0 rule set (tests/ps2rules.py): every rule rejects a sample of what it
forbids, and a clean 2.0 sample using the 2.0 way of each passes."""

from __future__ import annotations

import json

import pytest

from orchestrator.verbs.powershell import _library
from tests.ps2rules import SOURCES, VERSIONS_PATH, ps2_findings, too_new, versions

#: rule -> samples it must reject (each on its own).
REJECTED = {
    "ordered": ["$h = [ordered]@{ 'a' = 1 }", "$h = [Ordered] @{}"],
    "pscustomobject": ["$o = [pscustomobject]@{ 'a' = 1 }", "$o = [PSCustomObject] @{}"],
    "in": ["if ($a -in $b) { 1 }", "$a -notin @(1, 2)"],
    "shift": ["1 -shl 2", "$x -shr 1"],
    "new": ["$sb = [System.Text.StringBuilder]::new()", "[Text.UTF8Encoding]::new($false)"],
    "psitem": ["$a | Where-Object { $PSItem -gt 1 }"],
    "using": ["Invoke-Command -ScriptBlock { $using:x }", "${using:x}"],
    "methods": ["$a.Where({ $_ })", "$a.ForEach({ $_ })", "@(1).foreach( { 2 } )"],
    "class": ["class A { [int]$x }"],
    "enum": ["enum E { A }"],
    "workflow": ["workflow W { 'x' }"],
    "cmdlet": [
        "ConvertTo-Json -InputObject $x",
        "$x | ConvertFrom-Json",
        "Get-CimInstance -ClassName Win32_OperatingSystem",
        "Invoke-CimMethod -ClassName X -MethodName Y",
        "Invoke-RestMethod -Uri $u",
        "Invoke-WebRequest -Uri $u",
        "Get-FileHash -LiteralPath $p",
        "Get-ItemPropertyValue -LiteralPath $p -Name X",
        "New-TemporaryFile",
        "Expand-Archive -LiteralPath $z -DestinationPath $d",
        "Register-ScheduledJob -Name j -ScriptBlock { 1 }",
        "Resolve-DnsName -Name $n",
        "Get-NetIPAddress",
        "Get-ClusterGroup -Name $g",
        "Stop-NlbClusterNode -Drain",
        "Get-WinEvent -LogName System",
        "if (Get-Command -Name Get-Date) { 1 } else { Get-FileHash -LiteralPath $p }",
        "if (Get-Command -Name Get-FileHash) { 1 }\nGet-FileHash -LiteralPath $p",
    ],
    "parameter": [
        "Get-ChildItem -LiteralPath $d -Depth 2",
        "Get-ChildItem -LiteralPath $d -File",
        "Get-Content -LiteralPath $p -Raw",
        "Out-File -FilePath $p -NoNewline",
        "Set-Content -LiteralPath $p -Value 'x' -NoNewline",
        "Get-Service | ForEach-Object -PipelineVariable s { $_ }",
        "Restart-Computer -Force -Wait",
    ],
    "simplified": ["$a | Where-Object Name -eq 'x'", "$a | ? Name -eq 'x'", "$a | % Name"],
    "strictmode": [
        "Set-StrictMode -Version 3",
        "Set-StrictMode -Version 3.0",
        "Set-StrictMode -Version '5'",
    ],
    "member-enum": [
        "$n = @(Get-Service).Name",
        "function f { $list = @(Get-Service)\n$list.Name }",
    ],
    "scalar-count": ["$n = (Get-Service -Name x).Count"],
    "attribute": ["function f { param([Parameter(Mandatory)][string]$a) $a }"],
    "scriptroot": ["$here = $PSScriptRoot", "$me = $PSCommandPath"],
    "dotnet4": [
        "[string]::IsNullOrWhiteSpace($x)",
        "$fs.Flush($true)",
        "[System.IO.File]::ReadLines($p)",
        "[System.IO.Directory]::EnumerateFiles($d)",
        "$sb.Clear()",
        "[Environment]::Is64BitOperatingSystem",
    ],
    "parse": ["if ($a { 1 }"],
    "redirection": ["Get-Service *> $null", "Get-Service 3>&1", "Get-Service 4> 'C:\\v.txt'"],
    "foreach-null": [
        "function f {\n    param([string[]]$Names)\n    foreach ($n in $Names) { $n }\n}",
        "function f {\n    param($P)\n    foreach ($k in $P) { $k }\n}",
        "function f {\n    $x = Get-Service -Name a\n    foreach ($s in $x) { $s }\n}",
    ],
    "null-count": [
        "function f {\n    param([string[]]$Names)\n    if ($Names.Count -eq 0) { 1 }\n}",
        "function f {\n    param([hashtable]$P)\n    $P.Count\n}",
    ],
}

#: The 2.0 way of each of the above (and harder look-alikes): no finding.
CLEAN = r"""
function Get-Thing {
    param([Parameter(Mandatory = $true)][string]$Name, [hashtable]$P = @{})
    Set-StrictMode -Version 2.0
    $h = @{ 'a' = 1 }
    $o = New-Object PSObject -Property @{ 'a' = 1 }
    if (@(1, 2) -contains $Name) { 'in' }
    if (@(1, 2) -notcontains $Name) { 'notin' }
    $x = 1 * [math]::Pow(2, 3)
    $sb = New-Object System.Text.StringBuilder
    [void]$sb.Append('x')
    $sb.Length = 0
    $all = @(Get-Service | Where-Object { $_.Status -eq 'Running' })
    $names = @($all | ForEach-Object { $_.Name })
    $n = @(Get-Service -Name x -ErrorAction SilentlyContinue).Count
    $n = $all.Count + $all.Length
    $files = @(Get-ChildItem -LiteralPath 'C:\x' -Recurse | Where-Object { -not $_.PSIsContainer })
    $text = [System.IO.File]::ReadAllText('C:\x', [System.Text.Encoding]::Default)
    if (Get-Command -Name Get-FileHash -ErrorAction SilentlyContinue) {
        $hash = (Get-FileHash -LiteralPath 'C:\x' -Algorithm SHA256).Hash
    }
    $fs = New-Object System.IO.FileStream('C:\x', 'CreateNew', 'Write', 'None', 4096, `
        'WriteThrough')
    $fs.Flush()
    $fs.Dispose()
    $os = Get-WmiObject -Class Win32_OperatingSystem
    $s = 'ConvertTo-Json -in $PSItem [ordered] .ForEach( ::new()'
    # ConvertTo-Json, $a.Where( -in [pscustomobject]
    [string]::IsNullOrEmpty($s)
    Start-Process -FilePath 'msiexec.exe' -ArgumentList '/i' -Wait -PassThru -NoNewWindow
    Restart-Computer -Force
    Set-Content -LiteralPath 'C:\x' -Value 'x' -Encoding UTF8
    Select-Object -InputObject $names -Skip 1 -Last 2
    $item = Get-Item -LiteralPath 'C:\x'
    $item.Name
    foreach ($n in @(Get-Service)) { $n }
    $all = @(cmd.exe /c 'ver' 2>&1)
    Get-Service > 'C:\out.txt' 2>> 'C:\err.txt'
    Get-Service 2> $null
    foreach ($n in $all) { $n.Name }
    $Name.Length
    $copy = New-Object System.Collections.ArrayList
    foreach ($n in $copy) { $n }
    foreach ($k in $P.Keys) { $k }
    return $o
}

function Get-Other {
    param([string[]]$Names = @(), [string]$Text)
    foreach ($n in $Names) { $n }
    $Text.Length + $Names.Count
}
"""


@pytest.mark.parametrize(("rule", "sample"), [(r, s) for r, ss in REJECTED.items() for s in ss])
def test_each_rule_rejects_its_samples(rule: str, sample: str) -> None:
    found = ps2_findings(sample)
    assert rule in {f.rule for f in found}, (sample, [str(f) for f in found])
    assert all(f.line >= 1 and f.why and f.source for f in found)


def test_every_rule_has_a_source_and_a_rejected_sample() -> None:
    assert set(SOURCES) == set(REJECTED)


def test_a_clean_2_0_sample_passes() -> None:
    assert [str(f) for f in ps2_findings(CLEAN)] == []


def test_findings_name_the_line() -> None:
    (found,) = ps2_findings("$a = 1\n$b = 2\n$c = [ordered]@{}\n")
    assert found.line == 3 and "[ordered]" in str(found) and "line 3" in str(found)


def test_every_library_cmdlet_has_a_minimum_version_with_a_source() -> None:
    table = json.loads(VERSIONS_PATH.read_text())
    used = json.loads((VERSIONS_PATH.parent / "cmdlets.json").read_text())
    for module in used["modules"].values():
        for name in module:
            entry = table["cmdlets"][name]
            assert entry["source"], name
            assert entry["since"] is not None or entry["requires"], name
    for entry in (
        *table["cmdlets"].values(),
        *(e for p in table["parameters"].values() for e in p.values()),
        *table["common_parameters"].values(),
    ):
        assert entry["source"] and (entry["since"] is None or entry["since"][0].isdigit())
    assert too_new(versions()["cmdlets"]["start-process"]) is None
    assert "4.0" in str(too_new(versions()["cmdlets"]["get-filehash"]))
    assert "FailoverClusters" in str(too_new(versions()["cmdlets"]["move-clustergroup"]))


def test_the_full_library_is_not_2_0_clean() -> None:
    """The rule set sees the 3.0+ verbs (cluster and NLB cmdlets): it is not vacuous."""
    rules = {f.rule for f in ps2_findings(_library.PS_LIBRARY)}
    assert "cmdlet" in rules
