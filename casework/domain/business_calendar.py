"""Business hours (U4): Monday to Friday, 9:00 to 17:00 in the customer's zone, excluding the
vendor's observed holidays. Pure and deterministic, so workflows may use it (passed through).

Each day's window is placed in the zone separately, so daylight-saving changes never move the
window: 9:00 Eastern is 14:00 UTC in winter and 13:00 UTC in summer, and the clock counts
exactly eight hours of service on either side of a change.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays

from casework.domain.shifts import SERVICE_ZONES, WEEKDAYS

MAX_DAYS_SCANNED = 3 * 366
"""A target never needs more than this many calendar days; guards against an empty calendar."""


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def closed_days(
    years: Iterable[int], vendor_holidays: Iterable[date] = (), federal_holidays: bool = True
) -> dict[date, str]:
    """The observed holidays of `years`: US federal ones (with their observed days) from the
    `holidays` library, and the vendor's own. Resolved once, outside workflow code, and carried
    as data, so a running case never changes its calendar (nor its history) when the library
    or the policy file does."""
    days: dict[date, str] = {}
    if federal_holidays:
        days.update(holidays.country_holidays("US", years=sorted(set(years)), observed=True))
    days.update({day: "vendor holiday" for day in vendor_holidays})
    return dict(sorted(days.items()))


@dataclass(frozen=True)
class BusinessCalendar:
    zone: str
    opens: time = time(9, 0)
    closes: time = time(17, 0)
    days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    holidays: Mapping[date, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.opens >= self.closes:
            raise ValueError(
                f"business hours must open before they close ({self.opens}-{self.closes})"
            )
        unknown = [d for d in self.days if d not in WEEKDAYS]
        if unknown or not self.days:
            raise ValueError(f"business days must be among {', '.join(WEEKDAYS)}; got {unknown}")
        _zone(self.zone)

    # --- days -----------------------------------------------------------------------------

    def holiday_name(self, day: date) -> str | None:
        return self.holidays.get(day)

    def is_business_day(self, day: date) -> bool:
        return WEEKDAYS[day.weekday()] in self.days and self.holiday_name(day) is None

    @property
    def business_day(self) -> timedelta:
        """The length of one business day's window (U6 counts reminders in business days)."""
        return datetime.combine(date.min, self.closes) - datetime.combine(date.min, self.opens)

    def window(self, day: date) -> tuple[datetime, datetime]:
        """The day's service window as aware datetimes in the zone (DST-correct)."""
        zone = _zone(self.zone)
        return (
            datetime.combine(day, self.opens, tzinfo=zone),
            datetime.combine(day, self.closes, tzinfo=zone),
        )

    def _windows_from(self, at: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Business windows that end after `at`, in order."""
        day = at.astimezone(_zone(self.zone)).date()
        for offset in range(MAX_DAYS_SCANNED):
            current = day + timedelta(days=offset)
            if not self.is_business_day(current):
                continue
            opens, closes = self.window(current)
            if closes > at:
                yield opens, closes
        raise ValueError(f"no business day within {MAX_DAYS_SCANNED} days of {at.isoformat()}")

    # --- instants -------------------------------------------------------------------------

    def is_open(self, at: datetime) -> bool:
        opens, closes = next(self._windows_from(at))
        return opens <= at < closes

    def next_open(self, at: datetime) -> datetime:
        """`at` itself when the service is open, else when it next opens."""
        opens, _ = next(self._windows_from(at))
        return max(opens, at)

    def next_change(self, at: datetime) -> datetime:
        """When the service next opens (closed at `at`) or closes (open at `at`)."""
        opens, closes = next(self._windows_from(at))
        return closes if opens <= at else opens

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The instant at which `duration` of business time has passed since `start` (S2)."""
        if duration < timedelta(0):
            raise ValueError("a business-time duration cannot be negative")
        left = duration
        for opens, closes in self._windows_from(start):
            begin = max(opens, start)
            available = closes - begin
            if left <= available:
                return begin + left
            left -= available
        raise AssertionError("unreachable")  # pragma: no cover

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Business time between two instants (zero when `end` is not after `start`)."""
        total = timedelta(0)
        if end <= start:
            return total
        for opens, closes in self._windows_from(start):
            if opens >= end:
                break
            total += min(closes, end) - max(opens, start)
        return total

    def closed_reason(self, at: datetime) -> str | None:
        """Why the service is closed at `at` (None when open), and when it opens."""
        if self.is_open(at):
            return None
        local = at.astimezone(_zone(self.zone))
        holiday = self.holiday_name(local.date())
        reopen = self.next_open(at).astimezone(_zone(self.zone))
        why = f"holiday ({holiday})" if holiday else "outside business hours"
        return (
            f"{why}: {', '.join(d.title() for d in self.days)} "
            f"{self.opens:%H:%M}-{self.closes:%H:%M} {self.zone}; "
            f"opens {reopen:%a %Y-%m-%d %H:%M %Z}"
        )


def calendar_for(zone: str, holidays: Mapping[date, str] | None = None) -> BusinessCalendar:
    """Business hours in `zone` (eastern, pacific or an IANA name), closed on `holidays`."""
    return BusinessCalendar(zone=SERVICE_ZONES.get(zone.lower(), zone), holidays=holidays or {})
