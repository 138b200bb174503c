"""PowerShell verbs for the model-based hotfix kinds (S3) and ``extract_hotfix``.

The contact-center system's model is changed through the vendor's administration tool, which
has no public scripting interface of its own; the verbs call a site-provided **admin CLI**
(an adapter around the vendor tool) with one documented contract (docs/verbs.md):

    <cli> <verb> --system S [--unit U] [--package P] [--hotfix H] [--base B] [--mode M]
    <cli> query <verb> ...same options...     prints "true" or "false"
    <cli> install-dir --system S              prints the system's Install folder

``<verb>`` is the action kind with dashes (``add-hotfix-to-base``). The CLI is ``cli`` from
the params, else ``%ORCH_MODEL_CLI%``, else ``%ProgramData%\\Orchestrator\\model-cli.cmd``.
Every value is passed as its own argument, quoted with the Windows command-line rules (a
``.cmd``/``.bat`` adapter runs through ``cmd.exe``, which refuses values holding ``"%&|<>^!``).
``extract_hotfix`` needs no CLI verb: it expands the hotfix archive into
``<Install>\\hotfixes\\<hotfix>`` itself.
"""

from __future__ import annotations

from ...kinds import S3_KINDS

_HELPERS = r"""
function Get-OrchModelCli {
    param([hashtable]$P)
    $cli = [string](Get-OrchParam -P $P -Name 'cli' -Default '')
    if (-not $cli) { $cli = [string]$env:ORCH_MODEL_CLI }
    if (-not $cli) { $cli = Join-Path -Path $OrchStateRoot -ChildPath 'model-cli.cmd' }
    if (-not (Test-Path -LiteralPath $cli)) {
        throw ('the model admin CLI {0} does not exist: set params.cli or ORCH_MODEL_CLI' -f $cli)
    }
    return $cli
}

function Get-OrchModelArguments {
    param([hashtable]$P, [string[]]$Head)
    $arguments = @($Head) + @('--system', [string](Get-OrchRequired -P $P -Name 'system'))
    foreach ($name in @('unit', 'package', 'hotfix', 'base', 'mode', 'scope')) {
        $value = Get-OrchParam -P $P -Name $name
        if ($null -ne $value) { $arguments += @(('--' + $name), [string]$value) }
    }
    return $arguments
}

function Invoke-OrchModelCli {
    param([hashtable]$P, [string[]]$Head)
    $cli = Get-OrchModelCli -P $P
    $arguments = @(Get-OrchModelArguments -P $P -Head $Head)
    if ($cli.EndsWith('.cmd') -or $cli.EndsWith('.bat')) {
        return (Invoke-OrchBatch -Path $cli -Arguments $arguments)
    }
    $line = Join-OrchArguments -Arguments $arguments
    return (Invoke-OrchProcess -FilePath $cli -CommandLine $line)
}

function Test-OrchModelState {
    param([hashtable]$P, [string]$Verb)
    $r = Invoke-OrchModelCli -P $P -Head @('query', $Verb)
    if ($r.exit_code -ne 0) {
        throw ('model CLI query {0} exited with {1}: {2}' -f $Verb, $r.exit_code, $r.output)
    }
    $answer = $r.output.Trim().ToLower()
    if (@('true', 'false') -notcontains $answer) {
        throw ("model CLI query {0} answered '{1}'" -f $Verb, $answer)
    }
    return @{ 'done' = ($answer -eq 'true'); 'detail' = ('query {0}: {1}' -f $Verb, $answer) }
}

function Invoke-OrchModelVerb {
    param([hashtable]$P, [string]$Verb)
    $r = Invoke-OrchModelCli -P $P -Head @($Verb)
    return (New-OrchApply -ExitCode $r.exit_code -Output $r.output)
}

function Get-OrchHotfixDir {
    param([hashtable]$P)
    $root = [string](Get-OrchParam -P $P -Name 'install_dir' -Default '')
    if (-not $root) {
        $query = @{ 'system' = $P['system']; 'cli' = $P['cli'] }
        $r = Invoke-OrchModelCli -P $query -Head @('install-dir')
        if ($r.exit_code -ne 0) {
            throw ('model CLI install-dir exited with {0}: {1}' -f $r.exit_code, $r.output)
        }
        $root = $r.output.Trim()
    }
    $hotfix = [string](Get-OrchRequired -P $P -Name 'hotfix')
    return (Join-Path -Path (Join-Path -Path $root -ChildPath 'hotfixes') -ChildPath $hotfix)
}

function Test-OrchExtractHotfix {
    param([hashtable]$P)
    $dir = Get-OrchHotfixDir -P $P
    $files = @(Get-ChildItem -LiteralPath $dir -Recurse -ErrorAction SilentlyContinue |
        Where-Object { -not $_.PSIsContainer })
    return (New-OrchProbe ($files.Count -gt 0) ('{0}: {1} file(s)' -f $dir, $files.Count))
}

function Invoke-OrchExtractHotfix {
    param([hashtable]$P)
    $source = [string](Get-OrchRequired -P $P -Name 'source')
    if (-not (Test-Path -LiteralPath $source)) { throw ('source not found: ' + $source) }
    $dir = Get-OrchHotfixDir -P $P
    New-Item -Path $dir -ItemType Directory -Force | Out-Null
    if (Get-Command -Name Expand-Archive -ErrorAction SilentlyContinue) {
        Expand-Archive -LiteralPath $source -DestinationPath $dir -Force
    } else {
        $shell = New-Object -ComObject Shell.Application
        $shell.NameSpace($dir).CopyHere($shell.NameSpace($source).Items(), 0x14)
    }
    return (New-OrchApply -Output ('{0} extracted into {1}' -f $source, $dir))
}

function Confirm-OrchExtractHotfix {
    param([hashtable]$P)
    $probe = Test-OrchExtractHotfix -P $P
    return (New-OrchVerify $probe.in_effect $probe.detail)
}
"""

_PER_KIND = r"""
function Test-Orch{camel} {{
    param([hashtable]$P)
    $state = Test-OrchModelState -P $P -Verb '{verb}'
    return (New-OrchProbe $state.done $state.detail)
}}

function Invoke-Orch{camel} {{
    param([hashtable]$P)
    return (Invoke-OrchModelVerb -P $P -Verb '{verb}')
}}

function Confirm-Orch{camel} {{
    param([hashtable]$P)
    $state = Test-OrchModelState -P $P -Verb '{verb}'
    return (New-OrchVerify $state.done $state.detail)
}}
"""


def _camel(kind: str) -> str:
    return "".join(part.capitalize() for part in kind.split("_"))


PS_MODEL = _HELPERS + "".join(
    _PER_KIND.format(camel=_camel(kind), verb=kind.replace("_", "-")) for kind in sorted(S3_KINDS)
)
