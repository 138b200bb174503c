"""Helpers shared by the renderers: safe text, natural sort, host-list compression, labels.

Everything a plan carries is untrusted (names come from inventories and playbooks written by
others), so every string a renderer prints goes through :func:`clean` first: control and
format characters become visible escapes and never reach a terminal or a parser raw.
"""

from __future__ import annotations

import json
import re
import textwrap
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from ..kinds import CLUSTER_KINDS, POOL_KINDS
from ..plan import Action

#: Unicode categories printed as escapes: controls, format (bidi overrides), surrogates, separators.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_DIGITS = re.compile(r"([0-9]+)")
_NUMBERED = re.compile(r"^(.*?)([0-9]+)$", re.DOTALL)

#: Kind families, used for graph shapes and colours.
FAMILIES: dict[str, frozenset[str]] = {
    "cluster": CLUSTER_KINDS,
    "pool": POOL_KINDS,
    "change": frozenset({"install", "uninstall", "reboot"}),
    "check": frozenset({"preflight", "verify"}),
    "barrier": frozenset({"barrier"}),
}


def clean(value: object) -> str:
    """``value`` as one printable line: control/format characters become visible escapes."""
    text = value if isinstance(value, str) else str(value)
    out: list[str] = []
    for ch in text:
        if ch in _NAMED_ESCAPES:
            out.append(_NAMED_ESCAPES[ch])
        elif unicodedata.category(ch) in _UNSAFE_CATEGORIES:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def family(kind: str) -> str:
    """The kind family of ``kind``: cluster, pool, change, check, barrier or other."""
    for name, kinds in FAMILIES.items():
        if kind in kinds:
            return name
    return "other"


def natural_key(name: str) -> tuple[Any, ...]:
    """Sort key putting ``ws2`` before ``ws10`` (text and number parts alternate)."""
    parts = _DIGITS.split(name)
    return tuple((int(p), p) if i % 2 else p for i, p in enumerate(parts))


def natural_sorted(names: Iterable[str]) -> list[str]:
    """Distinct ``names`` in natural order."""
    return sorted(set(names), key=natural_key)


def _follows(prev: str, cur: str) -> bool:
    """True when ``cur`` is the host numbered right after ``prev`` (same prefix and width)."""
    a, b = _NUMBERED.match(prev), _NUMBERED.match(cur)
    if a is None or b is None or a.group(1) != b.group(1):
        return False
    na, nb = a.group(2), b.group(2)
    if int(nb) != int(na) + 1:
        return False
    padded = na.startswith("0") or nb.startswith("0")
    return len(na) == len(nb) or not padded


def compress_hosts(names: Iterable[str], min_run: int = 4) -> str:
    """Host names, natural order, runs of ``min_run`` or more numbered names as ``a..b``:
    ``ws001..ws050 (50 hosts)``; a short list stays ``fe1, fe2, fe3``."""
    ordered = natural_sorted(names)
    runs: list[list[str]] = []
    for name in ordered:
        if runs and _follows(runs[-1][-1], name):
            runs[-1].append(name)
        else:
            runs.append([name])
    parts: list[str] = []
    ranged = False
    for run in runs:
        if len(run) >= min_run:
            parts.append(f"{clean(run[0])}..{clean(run[-1])}")
            ranged = True
        else:
            parts.extend(clean(n) for n in run)
    text = ", ".join(parts)
    if ranged or len(ordered) > 5:
        text += f" ({len(ordered)} hosts)"
    return text


def format_value(value: object) -> str:
    """A parameter value in short text form (lists comma-joined, mappings as JSON)."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, list | tuple):
        return ",".join(format_value(v) for v in value)
    if isinstance(value, Mapping):
        return clean(json.dumps(value, sort_keys=True, ensure_ascii=False, default=str))
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    return clean(value)


def format_params(params: Mapping[str, Any]) -> str:
    """``key=value`` pairs in key order."""
    return " ".join(f"{clean(k)}={format_value(params[k])}" for k in sorted(params, key=str))


def kind_and_params(action: Action) -> str:
    """``install package=X version=Y``: the fallback when an action has no title."""
    params = format_params(action.params) if isinstance(action.params, Mapping) else ""
    return f"{clean(action.kind)} {params}".rstrip()


def text_label(action: Action) -> str:
    """What the text report calls an action: its title, else its kind and params."""
    return clean(action.title) if action.title else kind_and_params(action)


def graph_label(action: Action) -> str:
    """What a graph node shows: the action's title, else its id (not yet escaped)."""
    return action.title or action.id


def short_hash(value: object, length: int = 12) -> str:
    """The first ``length`` hex digits of a ``sha256:<hex>`` or bare hex string."""
    if not isinstance(value, str) or not value:
        return "unknown"
    text = value.removeprefix("sha256:")
    return clean(text[:length])


def tplus(seconds: int) -> str:
    """``T+hh:mm:ss`` offset from the run's start."""
    h, rem = divmod(max(0, int(seconds)), 3600)
    m, s = divmod(rem, 60)
    return f"T+{h:02d}:{m:02d}:{s:02d}"


def as_int(value: object, default: int = 0) -> int:
    """``value`` as an int when it is a number (bools excluded), else ``default``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return int(value)


def phases_of(extra: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The plan's ``phases`` as ``(name, title)`` pairs, malformed entries skipped."""
    raw = extra.get("phases")
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, Mapping) and isinstance(item.get("name"), str):
            name = item["name"]
            if name not in seen:
                seen.add(name)
                title = item.get("title")
                out.append((name, title if isinstance(title, str) and title else name))
    return out


def wrap(text: str, indent: str, subsequent: str, width: int = 100) -> list[str]:
    """``text`` wrapped to ``width`` columns, never breaking a word or a host name."""
    wrapper = textwrap.TextWrapper(
        width=width,
        initial_indent=indent,
        subsequent_indent=subsequent,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return wrapper.wrap(text) or [indent.rstrip()]
