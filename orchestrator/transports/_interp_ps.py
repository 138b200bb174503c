"""The persistent PowerShell interpreter: the loop a Windows host runs on the other end of
the WinRM shell, speaking the framing of :mod:`._frame`.

**Bootstrap.** The transport starts :func:`ps_bootstrap_command` (``powershell.exe -NoProfile
-NonInteractive -ExecutionPolicy Bypass -EncodedCommand <PS_BOOTSTRAP>``), a one-line
bootstrap short enough for any command line, and writes :func:`ps_interpreter_line` as the
first line of its stdin: the loop below, base64 of UTF-8. The bootstrap reads that line,
decodes it and dot-sources it. From then on stdin carries request lines and stdout answers.

**Requests.** Each request runs in a fresh ``[powershell]::Create()`` on the interpreter's
runspace, whose global scope holds the verb library: a request whose script starts with
:data:`LIBRARY_MARKER` (``PS_LIBRARY`` does) is remembered and replayed into a new runspace if
the old one has to be abandoned (a step that ignored Stop). Before each request
``$OrchPayload`` is cleared and ``$LASTEXITCODE`` set to 0. The answer carries:

- stdout: the success stream through ``Out-String -Width 4096`` (plus ``Write-Host`` text,
  the Information stream, on PowerShell 5+);
- stderr: the error stream as plain text (``Command : message``, never CLIXML), warnings as
  ``WARNING: ...``, and the message of a terminating error;
- exit code: 124 after a timeout (the pipeline is stopped and the loop lives on), 1 on a
  terminating error, else ``$LASTEXITCODE`` as the script left it (0 if unset). A top-level
  ``exit N`` in a hosted runspace does not reach ``$LASTEXITCODE``; scripts set
  ``$global:LASTEXITCODE`` or throw instead (the verb library never calls ``exit``);
- payload: ``$OrchPayload`` through ``ConvertTo-Json -Depth 8 -Compress``.

**Records.** A request with a step id is recorded on the host before and after it runs,
and an ask answers from that record (:mod:`._interp_ps_records`).

Everything is UTF-8 (``[Console]::OutputEncoding``), every answer is one line, flushed.
:func:`PS_ONE_SHOT` is the same handler run once in a fresh ``powershell.exe`` (when the
persistent interpreter died): its text goes through the same bootstrap.

**PowerShell 2.0** (Windows Server 2003 with WMF 2.0): :data:`PS2_INTERPRETER` is the same
loop in the 2.0 subset (tests/ps2rules.py). Three parts differ: the payload is written by
``ConvertTo-OrchJson`` (:mod:`._interp_ps_json`; ``ConvertTo-Json`` is 3.0), the records are
written through to disk with ``FileOptions.WriteThrough`` (``Flush($true)`` is .NET 4, see
:mod:`._interp_ps_records`), and the pipeline runs with the non-generic ``BeginInvoke()``, a
second pipeline element collecting the output into a list so that the output of a step that
fails or times out is still reported. :func:`ps_program` picks the form from the host's
declared or gathered ``powershell`` platform fact; the bootstrap is the same for both.
"""

from __future__ import annotations

import base64

from ._frame import encode_request
from ._interp_ps_json import PS2_JSON
from ._interp_ps_records import PS2_RECORDS, PS_RECORDS
from ._quote import ps_quote

#: First line of a script the interpreter keeps and replays into a fresh runspace.
LIBRARY_MARKER = "# orchestrator verb library"
#: The request id :func:`PS_ONE_SHOT` answers with unless told otherwise.
ONE_SHOT_ID = "0" * 16

PS_BOOTSTRAP = (
    "$ErrorActionPreference = 'Stop'; "
    "$l = [Console]::In.ReadLine(); "
    ". ([ScriptBlock]::Create([Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($l))))"
)

_HANDLER_TEMPLATE = r"""
$ErrorActionPreference = 'Stop'
$OrchUtf8 = New-Object System.Text.UTF8Encoding -ArgumentList $false
[Console]::OutputEncoding = $OrchUtf8
$OrchLibrary = $null
$OrchRunspace = $null
$OrchRecords = [Environment]::GetFolderPath('LocalApplicationData')
$OrchRecords = $OrchRecords + '\orchestrator\requests'
try {
    [void][System.IO.Directory]::CreateDirectory($OrchRecords)
    $old = [DateTime]::UtcNow.AddDays(-14)
    foreach ($f in [System.IO.Directory]::GetFiles($OrchRecords)) {
        if ([System.IO.File]::GetLastWriteTimeUtc($f) -lt $old) { [System.IO.File]::Delete($f) }
    }
} catch {
    $OrchRecords = $null
}

function Write-OrchAsk {
    param([string]$Id, [string]$Step)
    $state = Get-OrchStepState -Step $Step
    $line = ''
    if ($state -eq 'finished') {
        $path = $script:OrchRecords + '\' + $Step + '.answer'
        $line = [System.IO.File]::ReadAllText($path).Trim()
    }
    $payload = '{"state": "' + $state + '", "answer": "' + $line + '"}'
    Write-OrchAnswer -Id $Id -Code 0 -Out '' -Err '' -Payload $payload
}

function ConvertTo-OrchField {
    param([string]$Text)
    if ([string]::IsNullOrEmpty($Text)) { return '-' }
    return [Convert]::ToBase64String($OrchUtf8.GetBytes($Text))
}

function Write-OrchAnswer {
    param([string]$Id, [int]$Code, [string]$Out, [string]$Err, [string]$Payload,
        [string]$Step = '')
    $fields = @('ORCH1-END', $Id, [string]$Code, (ConvertTo-OrchField $Out),
        (ConvertTo-OrchField $Err), (ConvertTo-OrchField $Payload))
    $text = ($fields -join ' ') + "`n"
    if ($Step) { Save-OrchAnswer -Step $Step -Text $text }
    [Console]::Out.Write($text)
    [Console]::Out.Flush()
}

function New-OrchRunspace {
    $iss = [System.Management.Automation.Runspaces.InitialSessionState]::CreateDefault()
    $rs = [System.Management.Automation.Runspaces.RunspaceFactory]::CreateRunspace($iss)
    $rs.Open()
    if ($null -ne $script:OrchLibrary) {
        $ps = [PowerShell]::Create()
        $ps.Runspace = $rs
        [void]$ps.AddScript($script:OrchLibrary)
        [void]$ps.Invoke()
        $ps.Dispose()
    }
    return $rs
}

function Format-OrchError {
    param($Record)
    $text = $Record.ToString()
    $info = $Record.InvocationInfo
    if ($null -ne $info -and $null -ne $info.MyCommand -and $info.MyCommand.Name) {
        $text = '{0} : {1}' -f $info.MyCommand.Name, $text
    }
    return $text
}

function Get-OrchInnerMessage {
    param($Exception)
    $ex = $Exception
    $wrapper = [System.Management.Automation.MethodInvocationException]
    while ($ex -is $wrapper -and $ex.InnerException) {
        $ex = $ex.InnerException
    }
    if ($ex -is [System.Management.Automation.IContainsErrorRecord] -and $ex.ErrorRecord) {
        return (Format-OrchError $ex.ErrorRecord)
    }
    return $ex.Message
}

function Invoke-OrchRequest {
    param([string]$Id, [int]$Timeout, [string]$Script, [string]$Step = '')
    if ($Step) {
        try {
            if ($null -eq $script:OrchRecords) { throw 'no record directory' }
            $started = 'started {0} {1}' -f $PID, [DateTime]::UtcNow.Ticks
            New-OrchRecord -Path ($script:OrchRecords + '\' + $Step) -Text $started
        } catch {
            $why = 'orchestrator: step {0} was already received by this host, or cannot be recorded'
            $message = ($why -f $Step) + "; not run`n"
            Write-OrchAnswer -Id $Id -Code 125 -Out '' -Err $message -Payload ''
            return
        }
    }
    if ($Script.StartsWith('# orchestrator verb library')) { $script:OrchLibrary = $Script }
    if ($null -eq $script:OrchRunspace -or
        [string]$script:OrchRunspace.RunspaceStateInfo.State -ne 'Opened') {
        $script:OrchRunspace = New-OrchRunspace
    }
    $rs = $script:OrchRunspace
    $rs.SessionStateProxy.SetVariable('OrchPayload', $null)
    $rs.SessionStateProxy.SetVariable('LASTEXITCODE', 0)
    $ps = [PowerShell]::Create()
    $ps.Runspace = $rs
    [void]$ps.AddScript($Script)
    __PREPARE__
    $err = New-Object System.Collections.Generic.List[string]
    $code = 0
    __BEGIN__
    if (-not $async.AsyncWaitHandle.WaitOne([TimeSpan]::FromSeconds($Timeout))) {
        $code = 124
        $stop = $ps.BeginStop($null, $null)
        if (-not $stop.AsyncWaitHandle.WaitOne([TimeSpan]::FromSeconds(30))) {
            $err.Add('orchestrator: the step ignored Stop; its runspace was abandoned')
            [void]$rs.CloseAsync()
            $script:OrchRunspace = $null
        }
        $err.Add(('orchestrator: timed out after {0} s; the step was stopped' -f $Timeout))
    } else {
        try {
            [void]$ps.EndInvoke($async)
        } catch {
            $code = 1
            $err.Add((Get-OrchInnerMessage $_.Exception))
        }
    }
    $text = New-Object System.Text.StringBuilder
    if ($outputs.Count -gt 0) { [void]$text.Append(($outputs | Out-String -Width 4096)) }
    if ($null -ne $ps.Streams.PSObject.Properties['Information']) {
        foreach ($record in $ps.Streams.Information) { [void]$text.AppendLine([string]$record) }
    }
    $lines = New-Object System.Collections.Generic.List[string]
    foreach ($record in $ps.Streams.Error) { $lines.Add((Format-OrchError $record)) }
    foreach ($record in $ps.Streams.Warning) { $lines.Add('WARNING: ' + $record.Message) }
    foreach ($line in $err) { $lines.Add($line) }
    $payload = ''
    if ($null -ne $script:OrchRunspace) {
        if ($code -eq 0) {
            $last = $rs.SessionStateProxy.GetVariable('LASTEXITCODE')
            if ($last -is [int]) { $code = $last }
        }
        $value = $rs.SessionStateProxy.GetVariable('OrchPayload')
        if ($null -ne $value) {
            try {
                $payload = __PAYLOAD__
            } catch {
                $lines.Add('orchestrator: $OrchPayload is not serialisable: ' +
                    $_.Exception.Message)
            }
        }
    }
    $ps.Dispose()
    $errText = ''
    if ($lines.Count -gt 0) { $errText = ($lines -join "`n") + "`n" }
    Write-OrchAnswer -Id $Id -Code $code -Out $text.ToString() -Err $errText -Payload $payload `
        -Step $Step
}

function Invoke-OrchLine {
    param([string]$Line)
    $parts = $Line.Trim().Split(' ')
    if ($parts.Count -eq 3 -and $parts[0] -eq 'ORCH1-ASK' -and $parts[1] -match '^[0-9a-f]+$' -and
        $parts[2] -match '^[0-9a-f]{32}$') {
        Write-OrchAsk -Id $parts[1] -Step $parts[2]
        return
    }
    if (($parts.Count -ne 4 -and $parts.Count -ne 5) -or $parts[0] -ne 'ORCH1' -or
        $parts[1] -notmatch '^[0-9a-f]+$') {
        return
    }
    $step = ''
    if ($parts.Count -eq 5) {
        if ($parts[4] -notmatch '^[0-9a-f]{32}$') { return }
        $step = $parts[4]
    }
    $timeout = 0
    if (-not [int]::TryParse($parts[2], [ref]$timeout)) { return }
    try {
        $text = ''
        if ($parts[3] -ne '-') {
            $text = $OrchUtf8.GetString([Convert]::FromBase64String($parts[3]))
        }
    } catch {
        $message = "orchestrator: the request is not valid base64`n"
        Write-OrchAnswer -Id $parts[1] -Code 2 -Out '' -Err $message -Payload ''
        return
    }
    try {
        Invoke-OrchRequest -Id $parts[1] -Timeout $timeout -Script $text -Step $step
    } catch {
        $script:OrchRunspace = $null
        $message = 'orchestrator: ' + $_.Exception.Message + "`n"
        Write-OrchAnswer -Id $parts[1] -Code 1 -Out '' -Err $message -Payload '' -Step $step
    }
}
"""
#: Windows PowerShell 3.0+: the generic ``BeginInvoke(input, output)`` collects the output
#: (kept when the step fails or times out) and ``ConvertTo-Json`` writes the payload.
_INVOKE = (
    """$inputs = New-Object 'System.Management.Automation.PSDataCollection[psobject]'
    $inputs.Complete()
    $outputs = New-Object 'System.Management.Automation.PSDataCollection[psobject]'""",
    "$async = $ps.BeginInvoke($inputs, $outputs)",
)
#: Windows PowerShell 2.0: a second pipeline element collects the output into a list (kept
#: when the step fails or times out) and the non-generic ``BeginInvoke()`` runs the pipeline;
#: ``ConvertTo-OrchJson`` (:mod:`._interp_ps_json`) writes the payload.
_INVOKE2 = (
    """$outputs = New-Object System.Collections.ArrayList
    $rs.SessionStateProxy.SetVariable('OrchRequestOutput', $outputs)
    [void]$ps.AddScript('process { [void]$OrchRequestOutput.Add($_) }')""",
    "$async = $ps.BeginInvoke()",
)


def _handler(records: str, invoke: tuple[str, str], payload: str) -> str:
    prepare, begin = invoke
    text = _HANDLER_TEMPLATE.replace("__PREPARE__", prepare).replace("__BEGIN__", begin)
    return records + text.replace("__PAYLOAD__", payload)


_HANDLER = _handler(PS_RECORDS, _INVOKE, "ConvertTo-Json -InputObject $value -Depth 8 -Compress")
_HANDLER2 = _handler(PS2_RECORDS + PS2_JSON, _INVOKE2, "ConvertTo-OrchJson -Value $value -Depth 8")

_LOOP = r"""
while ($true) {
    $line = [Console]::In.ReadLine()
    if ($null -eq $line) { break }
    Invoke-OrchLine -Line $line
}
"""

#: The interpreter loop (PowerShell 3.0+; Windows PowerShell 5.1 recommended).
PS_INTERPRETER = _HANDLER + _LOOP
#: The same loop in the PowerShell 2.0 subset (Windows Server 2003 with WMF 2.0).
PS2_INTERPRETER = _HANDLER2 + _LOOP


def ps_program(powershell: str | None) -> str:
    """The interpreter for a host whose PowerShell version is ``powershell`` (its platform
    fact, e.g. ``"2.0"``; None when not declared): :data:`PS2_INTERPRETER` for 2.x,
    :data:`PS_INTERPRETER` otherwise."""
    return PS2_INTERPRETER if str(powershell or "").split(".")[0] == "2" else PS_INTERPRETER


def ps_bootstrap_command() -> str:
    """The command line that starts the interpreter (it then reads :func:`ps_interpreter_line`)."""
    encoded = base64.b64encode(PS_BOOTSTRAP.encode("utf-16-le")).decode("ascii")
    return (
        "powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass "
        f"-EncodedCommand {encoded}"
    )


def ps_interpreter_line(program: str = PS_INTERPRETER) -> bytes:
    """The first stdin line for the bootstrap: ``program`` as base64 of UTF-8."""
    return base64.b64encode(program.encode()) + b"\n"


def PS_ONE_SHOT(
    script: str, request_id: str = ONE_SHOT_ID, timeout_s: float = 3600, version2: bool = False
) -> str:
    """A program that answers one request for ``script`` and ends: the fallback run in a fresh
    ``powershell.exe`` (through the bootstrap) when the persistent interpreter died. It prints
    exactly one ``ORCH1-END <request_id> ...`` line. ``version2``: the PowerShell 2.0 form."""
    line = encode_request(request_id, script, timeout_s).decode("ascii").strip()
    handler = _HANDLER2 if version2 else _HANDLER
    return handler + f"\nInvoke-OrchLine -Line {ps_quote(line)}\n"
