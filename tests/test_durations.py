"""Durations as people write them in policy files (S5): `15m`, `1h`, `8h`, `90s`, `1d`, `1h30m`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import TypeAdapter, ValidationError

from casework.domain.durations import Duration, format_duration, parse_duration

DURATION = TypeAdapter(Duration)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15m", timedelta(minutes=15)),
        ("1h", timedelta(hours=1)),
        ("8h", timedelta(hours=8)),
        ("90s", timedelta(seconds=90)),
        ("1d", timedelta(days=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1H30M", timedelta(hours=1, minutes=30)),
        (" 1h 30m ", timedelta(hours=1, minutes=30)),
        ("2d4h5m6s", timedelta(days=2, hours=4, minutes=5, seconds=6)),
    ],
)
def test_policy_durations_read_as_written(text: str, expected: timedelta) -> None:
    """S5: the S1 table's targets as an operator types them."""
    assert parse_duration(text) == expected
    assert DURATION.validate_python(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT15M", timedelta(minutes=15)),
        ("PT1H30M", timedelta(minutes=90)),
        (900, timedelta(minutes=15)),
    ],
)
def test_iso_8601_and_plain_seconds_are_left_to_pydantic(text: object, expected: timedelta) -> None:
    """S5: ISO 8601 and seconds are accepted as pydantic reads them."""
    assert parse_duration(text) == text
    assert DURATION.validate_python(text) == expected


@pytest.mark.parametrize("text", ["15 minutes", "1 hour", "15x", "m15", "1h30", "h", "1.5h"])
def test_a_duration_in_words_is_refused_with_examples(text: str) -> None:
    """S5: a typo in a policy is refused with a hint, not read as something else."""
    with pytest.raises(ValueError, match="is not a duration; write it like 15m, 1h, 8h"):
        parse_duration(text)
    with pytest.raises(ValidationError):
        DURATION.validate_python(text)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(minutes=15), "15m"),
        (timedelta(hours=1), "1h"),
        (timedelta(hours=8), "8h"),
        (timedelta(seconds=90), "1m30s"),
        (timedelta(days=1, hours=2), "1d2h"),
        (timedelta(hours=1, minutes=30), "1h30m"),
        (timedelta(0), "0s"),
        (timedelta(minutes=-5), "-5m"),
    ],
)
def test_format_duration_writes_the_short_form(delta: timedelta, text: str) -> None:
    """The feed says 'no first response within 15m', not '0:15:00'."""
    assert format_duration(delta) == text


@pytest.mark.parametrize(
    "delta",
    [
        timedelta(seconds=1),
        timedelta(seconds=59),
        timedelta(minutes=15),
        timedelta(minutes=61),
        timedelta(hours=4),
        timedelta(hours=23, minutes=59, seconds=59),
        timedelta(days=3, hours=1, seconds=7),
        timedelta(days=400),
    ],
)
def test_format_then_parse_round_trips(delta: timedelta) -> None:
    """S5: what the engine writes about a target reads back as the same target."""
    assert parse_duration(format_duration(delta)) == delta


@pytest.mark.parametrize("text", ["15m", "1h", "8h", "4h", "30m", "1d", "1h30m", "2d3h4m5s"])
def test_parse_then_format_gives_the_same_text(text: str) -> None:
    assert format_duration(parse_duration(text)) == text  # type: ignore[arg-type]
