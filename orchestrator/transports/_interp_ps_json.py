"""A JSON writer for Windows PowerShell 2.0, which has no ``ConvertTo-Json`` (3.0): the
interpreter's 2.0 form (:data:`._interp_ps.PS2_INTERPRETER`) writes ``$OrchPayload`` with it.

``ConvertTo-OrchJson -Value $v -Depth 8`` writes what the verbs put in a payload the way
``ConvertTo-Json -Depth 8 -Compress`` does: ``$null`` as ``null``; booleans; integers and
decimals as PowerShell prints them (invariant culture; enums as their number); doubles as
PowerShell prints them (15 significant digits, where ``ConvertTo-Json`` keeps 17), NaN and
infinities as ``null`` (JSON has no spelling for them); strings and chars as JSON strings;
dictionaries as objects (keys as strings, in their enumeration order); other collections as
arrays; anything else, and any collection nested more than ``-Depth`` levels below the top
one, as its string form (``ConvertTo-Json``'s rule).

Strings: ``\\`` and ``"`` are escaped and the 32 control characters written ``\\u00XX``; every
other character stays as it is (the answer is UTF-8, where .NET's encoder turns a lone
surrogate into U+FFFD, as it does for ``ConvertTo-Json``'s text). A string without a control
character costs two ``Replace`` calls. The text is in the PowerShell 2.0 subset
(tests/ps2rules.py) and round-trips hostile strings through Python's ``json`` in tests/psmini
(tests/test_ps2_interp.py).
"""

from __future__ import annotations

#: ``ConvertTo-OrchJson`` and its helpers (PowerShell 2.0 subset).
PS2_JSON = r"""
$OrchJsonControls = @()
for ($code = 0; $code -lt 32; $code++) {
    $OrchJsonControls += ,@([string][char]$code, ('\u{0:x4}' -f $code))
}

function ConvertTo-OrchJsonString {
    param([string]$Text)
    $t = $Text.Replace('\', '\\').Replace('"', '\"')
    if ($t -match '[\x00-\x1f]') {
        foreach ($pair in $script:OrchJsonControls) {
            if ($t.Contains($pair[0])) { $t = $t.Replace($pair[0], $pair[1]) }
        }
    }
    return ('"' + $t + '"')
}

function ConvertTo-OrchJson {
    param($Value, [int]$Depth = 8, [int]$Level = 0)
    if ($null -eq $Value) { return 'null' }
    if ($Value -is [bool]) {
        if ($Value) { return 'true' }
        return 'false'
    }
    if ($Value -is [string] -or $Value -is [char]) { return (ConvertTo-OrchJsonString $Value) }
    if ($Value -is [System.Enum]) { return [string][long]$Value }
    if ($Value -is [int] -or $Value -is [long] -or $Value -is [byte] -or $Value -is [sbyte] -or
        $Value -is [int16] -or $Value -is [uint16] -or $Value -is [uint32] -or
        $Value -is [uint64] -or $Value -is [decimal] -or $Value -is [single]) {
        return [string]$Value
    }
    if ($Value -is [double]) {
        $text = [string]$Value
        if ($text -match '^-?(NaN|Infinity)$') { return 'null' }
        return $text
    }
    $nested = $Value -is [System.Collections.IEnumerable]
    if ($nested -and $Level -gt $Depth) { return (ConvertTo-OrchJsonString ([string]$Value)) }
    $next = $Level + 1
    $parts = @()
    if ($Value -is [System.Collections.IDictionary]) {
        foreach ($key in @($Value.Keys)) {
            $item = ConvertTo-OrchJson -Value $Value[$key] -Depth $Depth -Level $next
            $parts += ((ConvertTo-OrchJsonString ([string]$key)) + ':' + $item)
        }
        return ('{' + ($parts -join ',') + '}')
    }
    if ($nested) {
        foreach ($item in @($Value)) {
            $parts += (ConvertTo-OrchJson -Value $item -Depth $Depth -Level $next)
        }
        return ('[' + ($parts -join ',') + ']')
    }
    return (ConvertTo-OrchJsonString ([string]$Value))
}
"""
