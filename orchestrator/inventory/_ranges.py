"""Ansible host patterns: ranges such as ``web[01:20]``, ``db-[a:f]``, ``n[1:10:2]``, ports.

A pattern may hold several ranges (``rack[1:2]-n[a:b]`` gives four hosts, the first range
varying slowest). Numeric ranges whose start has a leading zero keep the zero padding and need
an end of the same width; letter ranges use single letters. Anything else written in square
brackets is an error here (Ansible would silently keep it as a literal host name).
"""

from __future__ import annotations

import re
import string

from ..errors import Location, SchemaError

_RANGE = re.compile(r"\[([^\[\]]*)\]")


def split_port(pattern: str) -> tuple[str, int | None]:
    """Split ``name:port`` (one colon outside brackets, digits after it) into name and port."""
    depth = 0
    colons: list[int] = []
    for i, char in enumerate(pattern):
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        elif char == ":" and depth == 0:
            colons.append(i)
    if len(colons) == 1 and pattern[colons[0] + 1 :].isdigit():
        return pattern[: colons[0]], int(pattern[colons[0] + 1 :])
    return pattern, None


def _bad(pattern: str, why: str, where: Location) -> SchemaError:
    return SchemaError(f"bad host range in {pattern!r}: {why}", where)


def _sequence(pattern: str, body: str, where: Location) -> list[str]:
    """The values of one ``begin:end[:step]`` range body."""
    parts = body.split(":")
    if len(parts) not in (2, 3):
        raise _bad(pattern, f"[{body}] must be [begin:end] or [begin:end:step]", where)
    begin, end = parts[0] or "0", parts[1]
    step_text = parts[2] if len(parts) == 3 else "1"
    if not end:
        raise _bad(pattern, "the range has no end value", where)
    if not step_text.isdigit() or int(step_text) < 1:
        raise _bad(pattern, f"the step {step_text!r} must be a positive integer", where)
    step = int(step_text)
    letters = string.ascii_letters
    if len(begin) == 1 and len(end) == 1 and begin in letters and end in letters:
        first, last = letters.index(begin), letters.index(end)
        if first > last:
            raise _bad(pattern, f"begin {begin!r} comes after end {end!r}", where)
        return list(letters[first : last + 1 : step])
    if not (begin.isdigit() and end.isdigit()):
        raise _bad(
            pattern,
            f"[{body}] must use two numbers or two single letters, got {begin!r} and {end!r}",
            where,
        )
    if int(begin) > int(end):
        raise _bad(pattern, f"begin {begin} is greater than end {end}", where)
    if begin.startswith("0") and len(begin) > 1:
        if len(begin) != len(end):
            raise _bad(
                pattern,
                f"zero-padded begin {begin!r} and end {end!r} must have the same width",
                where,
            )
        width = len(begin)
        return [str(n).zfill(width) for n in range(int(begin), int(end) + 1, step)]
    return [str(n) for n in range(int(begin), int(end) + 1, step)]


def _expand(full: str, pattern: str, where: Location) -> list[str]:
    match = _RANGE.search(pattern)
    if match is None:
        if "[" in pattern or "]" in pattern:
            raise _bad(full, "unbalanced square brackets", where)
        return [pattern]
    head, tail = pattern[: match.start()], pattern[match.end() :]
    if "[" in head or "]" in head:
        raise _bad(full, "unbalanced square brackets", where)
    rests = _expand(full, tail, where)
    return [
        head + value + rest for value in _sequence(full, match.group(1), where) for rest in rests
    ]


def expand(pattern: str, where: Location) -> list[str]:
    """All host names a pattern stands for, in order (a plain name gives itself)."""
    if not pattern or any(c.isspace() for c in pattern):
        raise SchemaError(f"invalid host name {pattern!r}", where)
    return _expand(pattern, pattern, where)


def expand_pattern(pattern: str, where: Location) -> tuple[list[str], int | None]:
    """Host names of an inventory host entry (ranges expanded) and its ``:port``, if any."""
    name, port = split_port(pattern.strip())
    return expand(name, where), port
