"""Durations as people write them in policy files: `15m`, `1h`, `8h`, `90s`, `1d`, `1h30m`.

ISO 8601 (`PT15M`) and plain seconds are accepted too, as pydantic reads them.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator

_PART = re.compile(r"(\d+)\s*([dhms])")
_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
MAX_TEXT = 40


def parse_duration(value: object) -> object:
    """`1h30m` -> timedelta(hours=1, minutes=30); anything else goes on to pydantic."""
    if not isinstance(value, str):
        return value
    text = value.strip().lower().replace(" ", "")
    if len(text) > MAX_TEXT:
        raise ValueError(f"{value[:MAX_TEXT]!r}... is too long to be a duration")
    try:
        if text.lstrip("-").isdigit():
            return timedelta(seconds=int(text))
        if not text or text.startswith("p"):
            return value
        parts = _PART.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            raise ValueError(
                f"{value!r} is not a duration; write it like 15m, 1h, 8h, 90s, 1d or 1h30m"
            )
        return timedelta(**{_UNITS[u]: int(n) for n, u in parts})
    except OverflowError:
        raise ValueError(f"{value!r} is longer than any duration can be") from None


def format_duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out.append(f"{seconds // size}{unit}")
            seconds %= size
    return sign + ("".join(out) or "0s")


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
