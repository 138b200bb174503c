"""``--window START/END`` or ``START/DURATION``: times without an offset are UTC; durations
in the playbook's form or ISO 8601; clear errors."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from orchestrator.errors import SchemaError, WindowError
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


@pytest.mark.parametrize(
    "text",
    ["2026-11-28T22:00/99999999999h", "2026-11-28T22:00/P9999999999D", "9999-12-31T23:00/3h"],
)
def test_absurd_windows_are_input_errors_not_tracebacks(text: str) -> None:
    with pytest.raises(WindowError):
        parse_window(text)


def test_a_window_without_offset_is_utc_whatever_the_local_zone(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A plan's window (written by another tool, or by hand) and ``--window`` read a naive
    time the same way, as UTC, also on a controller whose time zone is not UTC; the playbook
    insists on an offset."""
    from dataclasses import replace

    from orchestrator.engine._session import plan_window
    from orchestrator.playbook import load_playbook
    from tests.enginekit import ROOT, example_plan

    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        expected = parse_window("2026-11-28T22:00/2026-11-29T06:00")
        plan = example_plan()
        naive = {**plan.extra["window"], "start": "2026-11-28T22:00", "end": "2026-11-29T06:00"}
        assert plan_window(replace(plan, extra={**plan.extra, "window": naive})) == expected
        text = (ROOT / "playbooks" / "exchange2003-sp2.yml").read_text(encoding="utf-8")
        book = tmp_path / "naive.yml"
        book.write_text(
            text.replace(
                'window: {start: "2026-11-28T22:00:00+00:00", duration: 8h}',
                'window: {start: "2026-11-28T22:00", duration: 8h}',
            ),
            encoding="utf-8",
        )
        with pytest.raises(SchemaError, match=r"window\.start"):
            load_playbook(book)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
