"""The facts the PowerShell 2.0 rule set (tests/ps2rules.py) checks against, each with its
source: the rules' sources, the .NET Framework 4 members, System.Array's own members, the
cmdlet and parameter minimum versions (orchestrator/verbs/powershell/cmdlet_versions.json)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

VERSIONS_PATH = Path(__file__).parents[1] / "orchestrator/verbs/powershell/cmdlet_versions.json"
TARGET = (2, 0)

#: Aliases of the pipeline cmdlets whose 3.0 simplified syntax the rules check.
ALIASES = {"?": "Where-Object", "where": "Where-Object", "%": "ForEach-Object"}
ALIASES["foreach"] = "ForEach-Object"
#: Members of System.Array (.NET 2.0): reading these on an array is not member enumeration.
ARRAY_MEMBERS = {
    "count",
    "length",
    "longlength",
    "rank",
    "syncroot",
    "isreadonly",
    "isfixedsize",
    "issynchronized",
}
#: .NET Framework 4.0+ members (name -> (argument count or None for any, what it is)).
DOTNET4 = {
    "isnullorwhitespace": (None, "String.IsNullOrWhiteSpace"),
    "readlines": (None, "File.ReadLines"),
    "enumeratefiles": (None, "Directory.EnumerateFiles"),
    "enumeratedirectories": (None, "Directory.EnumerateDirectories"),
    "enumeratefilesystementries": (None, "Directory.EnumerateFileSystemEntries"),
    "hasflag": (None, "Enum.HasFlag"),
    "is64bitoperatingsystem": (None, "Environment.Is64BitOperatingSystem"),
    "is64bitprocess": (None, "Environment.Is64BitProcess"),
    "flush": (1, "FileStream.Flush(Boolean)"),
    "clear": (0, "StringBuilder.Clear"),
    "copyto": (1, "Stream.CopyTo"),
}
WN3 = "What's New in Windows PowerShell 3.0 (learn.microsoft.com, previous-versions)"
#: rule -> where the fact comes from (the cmdlet and parameter rules cite cmdlet_versions.json).
SOURCES = {
    "parse": "tree-sitter-powershell cannot parse it, so no rule can check it",
    "ordered": "about_Hash_Tables: 'Beginning in PowerShell 3.0, you can use the [ordered]'",
    "pscustomobject": "about_PSCustomObject: 'The [pscustomobject] type accelerator was added "
    "in PowerShell 3.0'",
    "in": WN3 + "; computerperformance.co.uk/powershell/powershell-3-notin",
    "shift": WN3 + " (new operators -shl, -shr)",
    "new": "What's New With PowerShell 5.0 (classes; the static new() method)",
    "psitem": WN3 + " ($PSItem)",
    "using": WN3 + " (the Using scope modifier)",
    "scriptroot": WN3 + " ($PSScriptRoot and $PSCommandPath in all scripts)",
    "methods": "MicrosoftDocs/PowerShell-Docs issue 2307: 'the v4+ .ForEach() and .Where()'",
    "class": "What's New With PowerShell 5.0 (class)",
    "enum": "What's New With PowerShell 5.0 (enum)",
    "workflow": WN3 + " (Windows PowerShell Workflow)",
    "attribute": WN3 + " (attribute arguments without a value default to $true)",
    "simplified": WN3 + " (simplified Where-Object and ForEach-Object syntax)",
    "strictmode": "Set-StrictMode help: -Version 3.0 and later name later versions",
    "redirection": "about_Redirection: streams 3-6 and * redirected 'beginning in PowerShell 3.0'",
    "scalar-count": WN3 + " (Count and Length on scalars)",
    "null-count": WN3 + " (Count and Length on scalars and $null)",
    "foreach-null": WN3 + " (foreach no longer iterates over $null)",
    "member-enum": WN3 + " (member enumeration)",
    "dotnet4": "learn.microsoft.com/dotnet/api: 'Applies to .NET Framework 4.0+' (PowerShell "
    "2.0 runs on CLR 2.0)",
    "cmdlet": "orchestrator/verbs/powershell/cmdlet_versions.json (a source per cmdlet)",
    "parameter": "orchestrator/verbs/powershell/cmdlet_versions.json (a source per parameter)",
}
SCALAR_COUNT = {"count", "length"}
#: Parameter types whose unbound value is not $null ('' , 0, $false).
NOT_NULL_TYPES = {"string", "int", "long", "double", "bool", "switch", "char", "datetime"}


@lru_cache(maxsize=1)
def versions() -> dict[str, Any]:
    """cmdlet_versions.json, with lower-case keys."""
    raw = json.loads(VERSIONS_PATH.read_text())
    return {
        "cmdlets": {k.lower(): v for k, v in raw["cmdlets"].items()},
        "parameters": {
            k.lower(): {p.lower(): e for p, e in v.items()} for k, v in raw["parameters"].items()
        },
        "common": {k.lower(): v for k, v in raw["common_parameters"].items()},
    }


def _version(text: str | None) -> tuple[int, ...] | None:
    return None if text is None else tuple(int(p) for p in text.split("."))


def too_new(entry: dict[str, Any]) -> str | None:
    """Why a cmdlet-version entry is not on 2.0, or None when it is."""
    since = _version(entry["since"])
    if since is None or entry.get("requires"):
        return f"needs {entry['requires']} (source: {entry['source']})"
    if since > TARGET:
        return f"PowerShell {entry['since']} (source: {entry['source']})"
    return None
