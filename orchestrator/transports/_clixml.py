"""Readable text from PowerShell's CLIXML error stream.

When its output is redirected, ``powershell.exe`` writes errors, warnings and progress to
stderr as serialized objects: ``#< CLIXML`` then one or more ``<Objs>`` documents whose
``<S S="Error">`` strings hold the message lines. Control characters and characters outside
XML are escaped as ``_xHHHH_`` (UTF-16 code units, e.g. ``_x000D__x000A_`` for CRLF, a pair
for characters beyond the BMP, ``_x005F_`` for a literal underscore).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

MARKER = "#< CLIXML"

_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_OBJS = re.compile(r"<Objs\b.*?</Objs>", re.S)
_PREFIX = {"warning": "WARNING: ", "verbose": "VERBOSE: ", "debug": "DEBUG: "}


def unescape(text: str) -> str:
    """Undo the ``_xHHHH_`` escapes (surrogate pairs are joined, lone ones replaced)."""
    if "_x" not in text:
        return text
    units = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    return units.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def is_clixml(data: str | bytes) -> bool:
    """True if ``data`` (stderr) starts with the CLIXML marker."""
    head = data[:64].decode("utf-8", "replace") if isinstance(data, bytes) else data[:64]
    return head.lstrip("\ufeff").lstrip().startswith(MARKER)


def decode(data: str | bytes, streams: tuple[str, ...] = ("Error", "warning")) -> str:
    """The text of ``data``: for CLIXML, the strings of ``streams`` (warnings and the like
    prefixed as PowerShell shows them), progress records dropped, any text outside the
    documents kept, LF line ends, no trailing blank; anything else returned as it is (bytes
    decoded as UTF-8)."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    if not is_clixml(text):
        return text
    parts: list[str] = []
    pos = 0
    for match in _OBJS.finditer(text):
        outside = text[pos : match.start()].replace(MARKER, "").strip()
        if outside:
            parts.append(outside + "\n")
        pos = match.end()
        try:
            parts.append(_strings(match.group(0), streams))
        except ET.ParseError:
            parts.append(match.group(0))
    rest = text[pos:].replace(MARKER, "").strip()
    if rest:
        parts.append(rest + "\n")
    return "".join(parts).replace("\r\n", "\n").rstrip().lstrip("\n")


def _strings(document: str, streams: tuple[str, ...]) -> str:
    root = ET.fromstring(document)
    out: list[str] = []
    for node in root:
        if node.tag.rsplit("}", 1)[-1] != "S":
            continue
        stream = node.get("S", "")
        if stream not in streams:
            continue
        line = unescape(node.text or "")
        prefix = _PREFIX.get(stream.lower(), "")
        if stream != "Error" and not line.endswith("\n"):
            line += "\n"
        out.append(prefix + line if prefix and line.strip() else line)
    return "".join(out)
