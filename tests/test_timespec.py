"""``--window START/END`` or ``START/DURATION``: times without an offset are UTC; durations
in the playbook's form or ISO 8601; clear errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orchestrator.errors import WindowError
from orchestrator.timespec import parse_duration, parse_window

START = datetime(2026, 11, 28, 22, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("3h", timedelta(hours=3)),
        ("4h30m", timedelta(hours=4, minutes=30)),
        ("90m", timedelta(minutes=90)),
        ("45s", timedelta(seconds=45)),
        ("PT3H", timedelta(hours=3)),
        ("pt4h30m", timedelta(hours=4, minutes=30)),
        ("P1DT2H", timedelta(days=1, hours=2)),
        ("PT0.5S", timedelta(seconds=0.5)),
    ],
)
def test_durations(text: str, length: timedelta) -> None:
    assert parse_duration(text) == length


@pytest.mark.parametrize("text", ["", "P", "PT", "P1DT", "3 hours", "h", "P1Y", "P2W", "-3h"])
def test_not_durations(text: str) -> None:
    assert parse_duration(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-28T22:00/3h",
        "2026-11-28T22:00Z/PT3H",
        "2026-11-28T22:00:00+00:00/2026-11-29T01:00:00+00:00",
        "2026-11-28T23:00+01:00/2026-11-29T01:00",  # 22:00 UTC to 01:00 UTC
    ],
)
def test_windows(text: str) -> None:
    assert parse_window(text) == (START, START + 3 * 3600)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tonight", "expected START/END or START/DURATION"),
        ("2026-11-28T22:00/", "expected START/END or START/DURATION"),
        ("/3h", "expected START/END or START/DURATION"),
        ("yesterday/3h", "the start 'yesterday' is not an ISO 8601 time"),
        ("2026-11-28T22:00/soon", "neither an ISO 8601 time nor a duration"),
        ("2026-11-28T22:00/0h", "ends before it starts"),
        ("2026-11-28T22:00/2026-11-28T21:00", "ends before it starts"),
    ],
)
def test_bad_windows(text: str, message: str) -> None:
    with pytest.raises(WindowError, match=message):
        parse_window(text)
