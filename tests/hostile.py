"""A corpus of hostile strings for the quoting tests: every kind of quote (including the
Unicode single quotes PowerShell ends a literal at), substitutions of both languages,
separators, comments, here-string markers, control characters, emoji, long strings.
NUL-free, since no shell word can carry a NUL. Also the golden plans' actions."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from orchestrator.plan import Action, plan_from_document

#: The Unicode characters PowerShell also treats as single quotes.
UNICODE_SINGLE_QUOTES = ("\u2018", "\u2019", "\u201a", "\u201b")

HOSTILE: tuple[str, ...] = (
    "",
    " ",
    "'",
    "''",
    "it's",
    "'; Remove-Item -Recurse C:\\ ; '",
    *UNICODE_SINGLE_QUOTES,
    "a\u2019; Stop-Computer; \u2018b",
    "\u2018\u2019\u201a\u201b'",
    "\u2019\u2019\u2019",
    '"',
    '""',
    '"; rm -rf / ; "',
    "`",
    "``'",
    "`$(calc)`",
    "$(Stop-Computer)",
    "$(touch /tmp/orch-pwned)",
    "${x}",
    "${env:PATH}",
    "$x",
    "$env:COMPUTERNAME",
    "$null",
    "$true",
    "@{a=1}",
    "@(1,2)",
    ";",
    "|",
    "&",
    "&&",
    "||",
    "a; rm -rf /",
    "a | Out-Null",
    "a & calc",
    "line1\nline2",
    "\n",
    "trailing newline\n",
    "\r",
    "a\r\nb",
    "\t",
    "#",
    "# comment",
    "<#",
    "#>",
    "<# block #>",
    "@'",
    "'@",
    "@'\nhere\n'@",
    "x\n'@\nStop-Computer\n@'\n",
    '@"\n$(Stop-Computer)\n"@',
    "\x01\x02\x07\x08\x0b\x0c\x1b[31mred\x1b[0m\x7f",
    "\x1f\x1e",
    "--%",
    "-Kind",
    "--",
    "-",
    "}",
    "{",
    ")",
    "(",
    "]",
    "[a-z]*?",
    "\\",
    "\\'",
    "C:\\Program Files\\Exchsrvr\\bin\\Local.map",
    "\\\\server\\share\\x.msi",
    "é ü ß ø",
    "\u00a0non-breaking\u00a0",
    "\u202eright-to-left",
    "\ufeffbom",
    "\u2028\u2029",
    "😀🚀 emoji \U0001f4a9",
    "漢字",
    "x" * 10_000,
    "'" * 3000,
    "\u2019" * 1000,
    "a=b",
    "key=value=more",
    "@id=evil",
    "*",
    "~",
    "!",
    "%PATH%",
    "^",
    "<>",
    "> /tmp/orch-pwned",
)


def canaries(path: str) -> tuple[str, ...]:
    """Strings that would create ``path`` if any shell ever executed them."""
    return (
        f"$(touch {path})",
        f"`touch {path}`",
        f"; touch {path}",
        f"' ; touch {path} ; '",
        f"'\ntouch {path}\n'",
        f'" ; touch {path} ; "',
        f"&& touch {path}",
        f"| touch {path}",
        f"${{IFS}}$(touch${{IFS}}{path})",
        f"'\\''; touch {path}; '\\''",
    )


GOLDEN = Path(__file__).parent / "golden"


@lru_cache(maxsize=1)
def golden_actions() -> tuple[Action, ...]:
    """Every action of every golden plan (the other corpus: real kinds with real params)."""
    actions: list[Action] = []
    for path in sorted(GOLDEN.glob("*.json")):
        actions += plan_from_document(json.loads(path.read_text()), str(path)).actions
    return tuple(actions)
