"""The PowerShell interpreter's host-side record of steps (see :mod:`._frame`): functions
that :mod:`._interp_ps`'s handler calls, with ``$OrchRecords`` naming the directory.

A request with a step id (:mod:`._frame`) is recorded under
``%LOCALAPPDATA%\\orchestrator\\requests`` (per user): the file ``<step>`` is created
exclusively (``FileMode.CreateNew``) with ``started <pid> <ticks>`` and flushed to disk
before the script runs (a duplicate is refused with exit 125 and not run), and the answer
line is written to ``<step>.answer`` (a temp file flushed to disk, then renamed) before it
is printed. An ask (``ORCH1-ASK <id> <step>``) answers from the record: ``finished`` with
the recorded line, ``running`` while the recorded process lives, ``gone``, or ``never``
(then ``void`` is recorded, so a late copy cannot run). The step runs inside the
interpreter process: if that process dies, so does the step (a child it started, such as
``msiexec``, may live on; the record then says ``gone``). Records older than 14 days are
removed when an interpreter starts.

Only what Windows PowerShell 3.0+ has is used (``[System.IO.File]`` and
``[System.Diagnostics.Process]`` statics, ``FileStream.Flush($true)``); the functions run
in tests/psmini (tests/test_ps_records.py). :data:`PS2_RECORDS` is the PowerShell 2.0 form:
on .NET Framework 2.0 ``Flush(Boolean)`` does not exist, so ``New-OrchRecord`` creates the
file exclusively with ``FileOptions.WriteThrough`` and writes its UTF-8 bytes through to the
disk in the same handle; the other functions are shared.
"""

from __future__ import annotations

_CREATE = r"""
function Sync-OrchFile {
    param([string]$Path)
    $fs = [System.IO.File]::Open($Path, 'Open')
    try { $fs.Flush($true) } finally { $fs.Dispose() }
}

function New-OrchRecord {
    param([string]$Path, [string]$Text)
    $fs = [System.IO.File]::Open($Path, 'CreateNew')
    $fs.Dispose()
    [System.IO.File]::WriteAllText($Path, $Text)
    Sync-OrchFile -Path $Path
}
"""
_CREATE2 = r"""
function New-OrchRecord {
    param([string]$Path, [string]$Text)
    $bytes = [System.Text.Encoding]::UTF8.GetBytes($Text)
    $fs = New-Object System.IO.FileStream -ArgumentList @($Path, 'CreateNew', 'Write', 'None',
        4096, 'WriteThrough')
    try { $fs.Write($bytes, 0, $bytes.Length); $fs.Flush() } finally { $fs.Dispose() }
}
"""
_SHARED = r"""
function Save-OrchAnswer {
    param([string]$Step, [string]$Text)
    if ($null -eq $script:OrchRecords) { return }
    $final = $script:OrchRecords + '\' + $Step + '.answer'
    $tmp = $final + '.tmp'
    try {
        if ([System.IO.File]::Exists($tmp)) { [System.IO.File]::Delete($tmp) }
        New-OrchRecord -Path $tmp -Text ($Text.Trim())
        [System.IO.File]::Move($tmp, $final)
    } catch {
        [Console]::Error.WriteLine('orchestrator: cannot record the answer of ' + $Step)
    }
}

function Get-OrchStepState {
    param([string]$Step)
    if ($null -eq $script:OrchRecords) { return 'never' }
    $rec = $script:OrchRecords + '\' + $Step
    if ([System.IO.File]::Exists($rec + '.answer')) { return 'finished' }
    try {
        New-OrchRecord -Path $rec -Text 'void'
        return 'never'
    } catch {
        $text = ''
        try { $text = [System.IO.File]::ReadAllText($rec) } catch { $text = '' }
    }
    $words = $text.Trim().Split(' ')
    if ($words[0] -eq 'void') { return 'never' }
    if ($words[0] -ne 'started' -or $words.Count -lt 2) { return 'running' }
    $alive = $false
    try {
        $proc = [System.Diagnostics.Process]::GetProcessById([int]$words[1])
        $alive = -not $proc.HasExited
    } catch {
        $alive = $false
    }
    if ($alive) { return 'running' }
    if ([System.IO.File]::Exists($rec + '.answer')) { return 'finished' }
    return 'gone'
}
"""
#: The record functions (``New-OrchRecord``, ``Save-OrchAnswer``, ``Get-OrchStepState``).
PS_RECORDS = _CREATE + _SHARED
#: The same in the PowerShell 2.0 subset.
PS2_RECORDS = _CREATE2 + _SHARED
