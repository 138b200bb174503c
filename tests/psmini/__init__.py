"""psmini: a small, strict interpreter for a subset of Windows PowerShell 5.1, to test the
PowerShell the orchestrator generates without PowerShell (parsed with tree-sitter-powershell).

- :class:`WindowsHost` (:mod:`.host`, :mod:`.files`, :mod:`.fileops`, :mod:`.registry`,
  :mod:`.processes`): the emulated machine: a file system on a real directory, the registry,
  services, processes (``$PID``, ``Get-Process -Id``), a UTC clock, fault injection
  (``fail``: a catchable .NET error) and crash injection (``crash``: the PowerShell process
  dies, :class:`HostCrash`, which nothing in the script intercepts).
- :class:`Interpreter` (:mod:`.interp`, :mod:`.control`, :mod:`.functions`, :mod:`.exprs`):
  runs scripts against a host; its global scope lives on between runs.
- :class:`PatchHostRunner` (:mod:`.runner`): a ``ScriptRunner`` for the WS-Management test
  server (tests/wsman); a crash becomes the death of the persistent interpreter.
- :class:`Unsupported`: raised for anything outside the subset; nothing is silently ignored.

Where PowerShell differs from Python, PowerShell wins: the output stream (uncaptured values
are output, arrays enumerated, a function's value is $null / one object / an array), the
error model (statement- vs script-terminating errors, ``$ErrorActionPreference``,
``-ErrorAction``), case-insensitive hashtables and comparisons, conversions (``[int]`` rounds
half to even, ``$null`` passed to a .NET string parameter is ''), truthiness, dynamic scoping.

Known deviations from Windows PowerShell 5.1:

- Hashtables keep insertion order (real ones follow hash buckets): key order in JSON and in
  ``foreach ($k in $h.Keys)`` differs. Strings compare case-insensitively by lower-casing, not
  by culture rules; ``-lt``/``-gt`` on strings compare ordinally.
- Integers are Python ints: no Int32/Int64 overflow to Double; chars are one-letter strings
  (``[char]65`` is ``'A'``); string lengths and indexes count code points (``.Length`` counts
  UTF-16 units). ``-is`` with a number type psmini has no values of (``[byte]``, ``[decimal]``,
  ``[single]``...) or ``[char]`` is always false.
- Output text is each object's string form, one per line (no Format-Table layout).
- File names keep their exact case (NTFS ignores case); relative and UNC paths, and names
  ending in a dot or space, are refused. The clock and time zone are UTC.
- Non-advanced functions: an unknown named parameter or a surplus argument (which PowerShell
  silently puts in ``$args``) is Unsupported. Emulated cmdlets take only the parameters listed
  in :mod:`.cmdlets`, spelled out; prompts (Remove-Item of a non-empty folder without -Recurse)
  and uncertain behaviours (``New-Item -Force`` over an existing key) are Unsupported.
- Error messages follow .NET Framework's; a few (Get-FileHash's read error, New-Item's) are
  paraphrased.
- One interpreter process at a time: every WinRS command the runner serves shares
  ``WindowsHost.pid`` and one global scope (a crash gives both anew); processes other than
  the interpreter are bare ids in ``live_pids`` (named ``process``).
"""

from .dates import DateTime
from .errors import HostCrash, NetError, PSError, Unsupported
from .host import Service, WindowsHost
from .interp import Interpreter
from .output import render, to_json
from .runner import PatchHostRunner
from .values import Hashtable

__all__ = [
    "DateTime",
    "Hashtable",
    "HostCrash",
    "Interpreter",
    "NetError",
    "PSError",
    "PatchHostRunner",
    "Service",
    "Unsupported",
    "WindowsHost",
    "render",
    "to_json",
]
