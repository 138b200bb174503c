"""Times and durations written by people: ``--window START/END`` or ``START/DURATION``.

- A time is ISO 8601 (``2026-11-28T22:00``, ``2026-11-28T22:00+01:00``, ``…Z``); one
  without a UTC offset is UTC, in ``--window`` and in a plan's ``window`` alike (the
  controller's own time zone never counts; the playbook's ``window`` needs an offset).
- A duration is the playbook's form (``3h``, ``4h30m``, ``90m``, ``45s``) or ISO 8601
  (``PT3H``, ``PT4H30M``, ``P1DT2H``; no years, months or weeks, whose length varies).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from .errors import WindowError

_SHORT = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_ISO = re.compile(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?", re.I)


def parse_duration(text: str) -> timedelta | None:
    """``text`` as a duration, or None if it is not one (a zero duration is one, an
    absurdly long one is not)."""
    try:
        return _duration(text.strip())
    except (OverflowError, ValueError):
        return None


def _duration(text: str) -> timedelta | None:
    m = _SHORT.fullmatch(text)
    if m and text:
        h, mi, sec = (int(g) if g else 0 for g in m.groups())
        return timedelta(hours=h, minutes=mi, seconds=sec)
    m = _ISO.fullmatch(text)
    if m and text.upper() not in ("P", "PT") and not text.upper().endswith("T"):
        d, h, mi = (int(g) if g else 0 for g in m.groups()[:3])
        s = float(m.group(4) or 0)
        return timedelta(days=d, hours=h, minutes=mi, seconds=s)
    return None


def parse_time(text: str) -> datetime:
    """An ISO 8601 time, UTC when it has no offset (ValueError if it is not one)."""
    value = datetime.fromisoformat(text.strip())
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_window(text: str, option: str = "--window") -> tuple[float, float]:
    """``START/END`` or ``START/DURATION`` → (start, end) in epoch seconds; a
    :class:`~orchestrator.errors.WindowError` that says what is wrong otherwise."""
    expected = "expected START/END or START/DURATION, e.g. 2026-11-28T22:00/3h or …/PT3H"
    head, sep, tail = text.partition("/")
    if not sep or not head.strip() or not tail.strip():
        raise WindowError(f"{option} {text!r}: {expected}")
    try:
        start = parse_time(head)
    except ValueError:
        raise WindowError(
            f"{option} {text!r}: the start {head!r} is not an ISO 8601 time"
        ) from None
    length = parse_duration(tail)
    if length is not None:
        try:
            end = start + length
        except OverflowError:
            raise WindowError(f"{option} {text!r}: the window ends after the year 9999") from None
    else:
        try:
            end = parse_time(tail)
        except ValueError:
            raise WindowError(
                f"{option} {text!r}: {tail!r} is neither an ISO 8601 time nor a duration; "
                + expected
            ) from None
    if end <= start:
        raise WindowError(f"{option} {text!r}: the window ends before it starts")
    try:
        return start.timestamp(), end.timestamp()
    except (OverflowError, OSError, ValueError):
        raise WindowError(f"{option} {text!r}: a time this far out is not supported") from None


def utc_text(ts: float) -> str:
    """``2026-11-28 22:00:00 UTC``."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
