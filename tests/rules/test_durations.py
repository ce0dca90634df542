"""Durations: parsing with required units, formatting, and elapsed time across time zones."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from prbot.rules.durations import DurationError, elapsed, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("5m", timedelta(minutes=5)),
        ("12h", timedelta(hours=12)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
        ("1w2d", timedelta(days=9)),
        ("1h30m", timedelta(minutes=90)),
        ("30m1h", timedelta(minutes=90)),
        ("0s", timedelta(0)),
        (" 1d 12h ", timedelta(hours=36)),
    ],
)
def test_parse(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        ("7", "duration without a unit", "7d"),
        ("0", "duration without a unit", "0d"),
        ("1d12", "duration without a unit", "every number needs a unit"),
        ("", "empty duration", "e.g."),
        ("7x", "unknown duration unit 'x'", "units are s, m, h, d and w"),
        ("7days", "unknown duration unit 'days'", "write 7d"),
        ("3 weeks", "unknown duration unit 'weeks'", "write 3w"),
        ("2Hours", "unknown duration unit 'Hours'", "write 2h"),
        ("10ms", "unknown duration unit 'ms'", "units are"),
        ("1.5d", "fractions are not allowed", "1d12h"),
        ("-1d", "not a duration", "whole numbers"),
        ("d", "not a duration", "whole numbers"),
        ("1d1d", "unit 'd' given twice", "each unit once"),
        ("99999999999999w", "duration too long", "100 years"),
        ("5300w", "duration too long", "100 years"),
        ("٣d", "not a duration", "whole numbers"),
    ],
)
def test_errors(text: str, message: str, hint: str) -> None:
    with pytest.raises(DurationError) as info:
        parse_duration(text)
    assert message in info.value.message
    assert hint in info.value.hint


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(0), "0s"),
        (timedelta(days=9), "1w2d"),
        (timedelta(hours=36, seconds=5), "1d12h5s"),
        (timedelta(minutes=-90), "-1h30m"),
    ],
)
def test_format(value: timedelta, text: str) -> None:
    assert format_duration(value) == text


def test_format_round_trips() -> None:
    for seconds in (1, 59, 61, 3599, 86401, 7 * 86400 + 3661):
        value = timedelta(seconds=seconds)
        assert parse_duration(format_duration(value)) == value


def test_elapsed() -> None:
    now = datetime(2026, 1, 2, tzinfo=timezone.utc)
    assert elapsed(now, datetime(2026, 1, 1, tzinfo=timezone.utc)) == timedelta(days=1)
    # naive is read as UTC on either side
    assert elapsed(now, datetime(2026, 1, 1)) == timedelta(days=1)
    assert elapsed(datetime(2026, 1, 2), datetime(2026, 1, 1, tzinfo=timezone.utc)) == timedelta(
        days=1
    )
    plus2 = timezone(timedelta(hours=2))
    assert elapsed(now, datetime(2026, 1, 2, 2, 0, tzinfo=plus2)) == timedelta(0)
    assert elapsed(None, now) is None
    assert elapsed(now, None) is None
    assert elapsed(now, "2026-01-01") is None  # type: ignore[arg-type]
