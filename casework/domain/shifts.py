"""When people work: the weekdays, the service zones customers name, and an engineer's or a
manager's shift. Pure; the directory (casework.domain.directory) and the business calendar
(casework.domain.business_calendar) use them.
"""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from casework.domain.models import Strict

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SERVICE_ZONES = {"eastern": "America/New_York", "pacific": "America/Los_Angeles"}
"""U4: the zones a customer names by word."""


def check_zone(zone: str) -> None:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {zone!r}; use an IANA name like America/New_York"
        ) from None


class Shift(Strict):
    """When someone works: weekdays and hours in a zone. `end` <= `start` spans midnight;
    `start` == `end` means the whole day."""

    zone: str = "UTC"
    days: list[str] = Field(default_factory=lambda: list(WEEKDAYS))
    start: time = time(0, 0)
    end: time = time(0, 0)

    @field_validator("zone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        check_zone(zone)
        return zone

    @field_validator("days")
    @classmethod
    def _known_days(cls, days: list[str]) -> list[str]:
        days = [d.strip().lower()[:3] for d in days]
        bad = [d for d in days if d not in WEEKDAYS]
        if bad or not days:
            raise ValueError(f"days must be among {', '.join(WEEKDAYS)}; got {bad or 'none'}")
        return days

    def covers(self, at: datetime) -> bool:
        local = at.astimezone(ZoneInfo(self.zone))
        clock = local.time().replace(tzinfo=None)
        if self.start == self.end:
            return WEEKDAYS[local.weekday()] in self.days
        if self.start < self.end:
            return WEEKDAYS[local.weekday()] in self.days and self.start <= clock < self.end
        # spans midnight: the shift belongs to the day it started on
        if clock >= self.start:
            return WEEKDAYS[local.weekday()] in self.days
        return clock < self.end and WEEKDAYS[(local.weekday() - 1) % 7] in self.days
