"""U4 on the dev server's real clock: a time zone where US Citizen Support is open right now,
for a test that needs a restricted case worked by an engineer (the approval of U6 needs the
owner at L3), whatever the hour it runs.

Any IANA zone is a valid account zone, so an `Etc/GMT±N` zone whose weekday 9:00-17:00 window
is open now serves when there is one (tests/test_cli_us_citizen.py does the same). From Friday
evening to Sunday evening UTC there is none; then the test makes a zone of its own: a
fixed-offset TZif file (RFC 8536) with an offset of up to 23:45 either way, in a folder the
test's processes add to their zone search path (PYTHONTZPATH, `zoneinfo.reset_tzpath`). That
leaves only Saturday about 16:40 to Sunday 09:00 UTC, when no offset under 24 hours reaches a
weekday's business hours: `open_zone_now` is None then.
"""

from __future__ import annotations

import os
import struct
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from casework.domain.business_calendar import BusinessCalendar, calendar_for, closed_days

MARGIN = timedelta(minutes=20)
"""The window must stay open this long: the restricted cases are worked within it."""
STEP = timedelta(minutes=15)
FOLDER = "zoneinfo"
PREFIX = "CaseworkTest"


@dataclass(frozen=True)
class OpenZone:
    name: str
    """The IANA key the account's zone is set to."""
    search_path: Path | None = None
    """The folder holding the test's own zone file, if the zone is the test's own."""

    def env(self) -> dict[str, str]:
        """What a process of the test needs in its environment to find the zone."""
        if self.search_path is None:
            return {}
        return {"PYTHONTZPATH": os.pathsep.join([str(self.search_path), *zoneinfo.TZPATH])}

    def use_here(self) -> None:
        """Let this process find the zone too (the directory checks an account's zone)."""
        if self.search_path is not None and str(self.search_path) not in zoneinfo.TZPATH:
            zoneinfo.reset_tzpath(to=[str(self.search_path), *zoneinfo.TZPATH])


def open_zone_now(folder: Path, now: datetime | None = None) -> OpenZone | None:
    """A zone whose business hours are open at `now` (default: the wall clock) and for MARGIN
    more; an `Etc/GMT±N` zone if one is, else one made under `folder/zoneinfo`."""
    now = now or datetime.now(UTC)
    holidays = closed_days(range(now.year - 1, now.year + 3))
    for hours in range(-12, 15):
        etc = "Etc/GMT" if hours == 0 else f"Etc/GMT{-hours:+d}"  # Etc/GMT-14 is UTC+14
        if _open(calendar_for(etc, holidays), now):
            return OpenZone(etc)
    limit = timedelta(hours=24)
    offset = -limit + STEP
    while offset < limit:
        name = f"{PREFIX}/UTC{'+' if offset >= timedelta(0) else '-'}{_hhmm(abs(offset))}"
        path = folder / FOLDER
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(fixed_offset_tzif(int(offset.total_seconds())))
        zone = OpenZone(name, path)
        zone.use_here()
        if _open(calendar_for(name, holidays), now):
            return zone
        target.unlink()
        offset += STEP
    return None


def _open(calendar: BusinessCalendar, now: datetime) -> bool:
    return calendar.is_open(now) and calendar.is_open(now + MARGIN)


def _hhmm(delta: timedelta) -> str:
    minutes = int(delta.total_seconds()) // 60
    return f"{minutes // 60:02d}{minutes % 60:02d}"


def fixed_offset_tzif(offset_seconds: int, abbreviation: bytes = b"TST") -> bytes:
    """A version 2 TZif file (RFC 8536) with no transitions: one local time type at
    `offset_seconds` east of UTC, and the POSIX TZ footer that says the same."""

    def block() -> bytes:
        counts = struct.pack(">6l", 0, 0, 0, 0, 1, len(abbreviation) + 1)
        local_type = struct.pack(">lBB", offset_seconds, 0, 0)
        return b"TZif2" + b"\0" * 15 + counts + local_type + abbreviation + b"\0"

    west = "-" if offset_seconds > 0 else "+"  # POSIX TZ counts hours west of UTC
    minutes = abs(offset_seconds) // 60
    footer = f"\n<{abbreviation.decode()}>{west}{minutes // 60}:{minutes % 60:02d}\n"
    return block() + block() + footer.encode()
