"""The business-hours calendar of US Citizen Support (U4, S2): pure arithmetic, no Temporal.

Dates are fixed (2026-2027 US federal holidays from the `holidays` library): Thanksgiving is
Thursday 2026-11-26, Martin Luther King Jr. Day Monday 2027-01-18; daylight saving time ends
Sunday 2026-11-01 and starts Sunday 2027-03-14, in both Eastern and Pacific.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from activities.directory import DirectoryActivities
from casework.domain.business_calendar import BusinessCalendar, calendar_for, closed_days
from casework.domain.sla import DEFAULT_POLICY, SlaPolicy, calendar_of
from casework.store import Store
from tests.conftest import activity_env_at, case_request

NEW_YORK = ZoneInfo("America/New_York")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
ZONES = {"eastern": NEW_YORK, "pacific": LOS_ANGELES}
FEDERAL = closed_days([2026, 2027])
EASTERN = calendar_for("eastern", FEDERAL)
QUARTER_HOUR = timedelta(minutes=15)
EIGHT_HOURS = timedelta(hours=8)


def at(day: date, hh: int, mm: int = 0, zone: ZoneInfo = NEW_YORK) -> datetime:
    """A local wall-clock instant, as UTC (what workflow.now() hands the calendar)."""
    return datetime.combine(day, time(hh, mm), tzinfo=zone).astimezone(UTC)


# --- the Friday-evening case -------------------------------------------------------------------


def test_friday_1655_plus_15_business_minutes_is_monday_0910() -> None:
    """U4/S2: a Platinum P1 opened Friday 16:55 Eastern gets 5 minutes on Friday and 10 on
    Monday: due Monday 9:10 Eastern; the weekend does not count."""
    friday = date(2026, 11, 20)
    due = EASTERN.add(at(friday, 16, 55), QUARTER_HOUR)
    assert due == at(date(2026, 11, 23), 9, 10)
    assert due.astimezone(NEW_YORK).strftime("%a %H:%M") == "Mon 09:10"
    assert EASTERN.elapsed(at(friday, 16, 55), due) == QUARTER_HOUR


def test_the_last_minutes_of_a_window_end_at_its_close() -> None:
    """S2: exactly the rest of the day's window is due at 17:00 that day, not the next morning."""
    friday = date(2026, 11, 20)
    assert EASTERN.add(at(friday, 16, 45), QUARTER_HOUR) == at(friday, 17, 0)
    assert EASTERN.add(at(friday, 16, 45), QUARTER_HOUR + timedelta(seconds=1)) == (
        at(date(2026, 11, 23), 9, 0) + timedelta(seconds=1)
    )


def test_a_case_opened_on_a_weekend_starts_its_clock_on_monday_at_nine() -> None:
    """U4: opened Saturday, the clock starts when the window opens."""
    saturday = date(2026, 11, 21)
    assert EASTERN.add(at(saturday, 11, 0), QUARTER_HOUR) == at(date(2026, 11, 23), 9, 15)
    assert EASTERN.add(at(saturday, 11, 0), timedelta(0)) == at(date(2026, 11, 23), 9, 0)


# --- holidays --------------------------------------------------------------------------------


def test_a_monday_holiday_pushes_the_due_time_to_tuesday() -> None:
    """U4: Friday 16:55 before Martin Luther King Jr. Day (Monday): due Tuesday 9:10."""
    assert EASTERN.holiday_name(date(2027, 1, 18)) == "Martin Luther King Jr. Day"
    assert EASTERN.add(at(date(2027, 1, 15), 16, 55), QUARTER_HOUR) == at(date(2027, 1, 19), 9, 10)


def test_thanksgiving_wednesday_evening_is_due_friday_morning() -> None:
    """U4: opened Wednesday 16:55 before Thanksgiving (Thursday, closed): due Friday 9:10; the
    Friday after Thanksgiving is not a federal holiday."""
    due = EASTERN.add(at(date(2026, 11, 25), 16, 55), QUARTER_HOUR)
    assert due == at(date(2026, 11, 27), 9, 10)
    assert not EASTERN.is_open(at(date(2026, 11, 26), 12, 0))
    assert EASTERN.is_open(at(date(2026, 11, 27), 9, 0))


def test_a_vendor_holiday_from_the_policy_closes_the_service() -> None:
    """U4: the vendor's own closed days come from the policy file, on top of the federal ones:
    with Christmas Eve a vendor holiday, Wednesday 16:55 is due Monday 9:10 (24th vendor,
    25th Christmas, then the weekend)."""
    policy = SlaPolicy.model_validate(
        {
            **DEFAULT_POLICY.model_dump(mode="json"),
            "us_citizen_support": {"vendor_holidays": ["2026-12-24"]},
        }
    )
    terms = policy.us_citizen_support
    calendar = calendar_for(
        "eastern", closed_days([2026], terms.vendor_holidays, terms.federal_holidays)
    )
    assert calendar.holiday_name(date(2026, 12, 24)) == "vendor holiday"
    assert calendar.holiday_name(date(2026, 12, 25)) == "Christmas Day"
    assert calendar.add(at(date(2026, 12, 23), 16, 55), QUARTER_HOUR) == at(
        date(2026, 12, 28), 9, 10
    )
    # without the vendor's list, Christmas Eve is an ordinary Thursday
    assert EASTERN.add(at(date(2026, 12, 23), 16, 55), QUARTER_HOUR) == at(
        date(2026, 12, 24), 9, 10
    )


def test_a_policy_without_federal_holidays_observes_only_the_vendors_days() -> None:
    """U4: `federal_holidays: false` leaves Thanksgiving an ordinary Thursday."""
    calendar = calendar_for("eastern", closed_days([2026], [date(2026, 12, 24)], False))
    assert calendar.is_open(at(date(2026, 11, 26), 10, 0))
    assert not calendar.is_open(at(date(2026, 12, 24), 10, 0))


@freeze_time("2026-11-24 15:00:00", tz_offset=0)
def test_intake_carries_the_federal_and_vendor_holidays_into_the_case(store: Store) -> None:
    """U4: intake resolves the closed days once (federal from `holidays`, vendor from the
    policy) into the case's clock, so a running case never changes its calendar."""
    policy = SlaPolicy.model_validate(
        {
            **DEFAULT_POLICY.model_dump(mode="json"),
            "us_citizen_support": {"vendor_holidays": ["2026-12-24"]},
        }
    )
    request = case_request(
        request_id="req-holidays", account_id="cyberdyne", contact_id="cyberdyne-judy"
    )
    # scheduled on a day of 2026 by the server: the case carries 2025-2028's closed days
    scheduled = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    intake = activity_env_at(scheduled).run(DirectoryActivities(store, policy).intake, request)
    clock = intake.entitlement.clock
    assert clock.kind == "business_hours"
    assert clock.zone == "America/New_York"
    assert clock.holidays[date(2026, 11, 26)] == "Thanksgiving Day"
    assert clock.holidays[date(2026, 12, 24)] == "vendor holiday"
    assert clock.holidays[date(2027, 1, 18)] == "Martin Luther King Jr. Day"
    calendar = calendar_of(clock)
    assert calendar.add(at(date(2026, 12, 23), 16, 55), QUARTER_HOUR) == at(
        date(2026, 12, 28), 9, 10
    )


# --- daylight saving time ----------------------------------------------------------------------

DST_CHANGES = [
    # (zone, Friday before, Monday after, UTC offset of 9:00 before, after)
    ("eastern", date(2026, 10, 30), date(2026, 11, 2), -4, -5),  # fall back, Nov 1
    ("eastern", date(2027, 3, 12), date(2027, 3, 15), -5, -4),  # spring forward, Mar 14
    ("pacific", date(2026, 10, 30), date(2026, 11, 2), -7, -8),
    ("pacific", date(2027, 3, 12), date(2027, 3, 15), -8, -7),
]
DST_IDS = ["eastern-november", "eastern-march", "pacific-november", "pacific-march"]


@pytest.mark.parametrize(("zone", "friday", "monday", "before", "after"), DST_CHANGES, ids=DST_IDS)
def test_nine_oclock_stays_nine_oclock_across_a_dst_change(
    zone: str, friday: date, monday: date, before: int, after: int
) -> None:
    """U4: the window is 9:00-17:00 local on both sides of the change; in UTC it moves by
    the hour the clocks moved."""
    local = ZONES[zone]
    calendar = calendar_for(zone, FEDERAL)
    for day, offset in ((friday, before), (monday, after)):
        opens, closes = calendar.window(day)
        assert opens.astimezone(local).time() == time(9, 0)
        assert closes.astimezone(local).time() == time(17, 0)
        assert opens.utcoffset() == timedelta(hours=offset)
        assert opens.astimezone(UTC).hour == 9 - offset
    assert calendar.next_open(at(friday, 17, 0, local)) == at(monday, 9, 0, local)


@pytest.mark.parametrize(("zone", "friday", "monday", "before", "after"), DST_CHANGES, ids=DST_IDS)
def test_the_clock_counts_eight_hours_a_day_across_a_dst_change(
    zone: str, friday: date, monday: date, before: int, after: int
) -> None:
    """U4/S2: whether the night of the change is 23 or 25 hours long, Friday and Monday are
    each exactly 8 business hours; Friday 16:55 + 15 min is Monday 9:10 local."""
    local = ZONES[zone]
    calendar = calendar_for(zone, FEDERAL)
    thursday = friday - timedelta(days=1)
    tuesday = monday + timedelta(days=1)
    assert calendar.elapsed(at(friday, 9, 0, local), at(monday, 17, 0, local)) == 2 * EIGHT_HOURS
    assert calendar.elapsed(at(thursday, 9, 0, local), at(tuesday, 9, 0, local)) == 3 * EIGHT_HOURS
    assert calendar.elapsed(at(friday, 17, 0, local), at(monday, 9, 0, local)) == timedelta(0)
    assert calendar.add(at(friday, 9, 0, local), EIGHT_HOURS) == at(friday, 17, 0, local)
    assert calendar.add(at(friday, 9, 0, local), 2 * EIGHT_HOURS) == at(monday, 17, 0, local)
    assert calendar.add(at(friday, 13, 0, local), EIGHT_HOURS) == at(monday, 13, 0, local)
    due = calendar.add(at(friday, 16, 55, local), QUARTER_HOUR)
    assert due == at(monday, 9, 10, local)
    assert due.astimezone(local).strftime("%a %H:%M") == "Mon 09:10"


def test_a_business_day_is_eight_hours() -> None:
    """U6: reminders and expiries count business days of one window each."""
    assert EASTERN.business_day == EIGHT_HOURS


# --- is_open, next_open, closed_reason ----------------------------------------------------------


def test_is_open_at_nine_and_closed_at_five() -> None:
    """U4: the window includes 9:00 and excludes 17:00."""
    monday = date(2026, 11, 23)
    nine, five = at(monday, 9, 0), at(monday, 17, 0)
    tick = timedelta(microseconds=1)
    assert not EASTERN.is_open(nine - tick)
    assert EASTERN.is_open(nine)
    assert EASTERN.is_open(five - tick)
    assert not EASTERN.is_open(five)
    assert not EASTERN.is_open(at(date(2026, 11, 21), 12, 0)), "Saturday"
    assert not EASTERN.is_open(at(date(2026, 11, 22), 12, 0)), "Sunday"


def test_next_open() -> None:
    """U4: when the service is open, now; else the start of the next business window."""
    monday, tuesday = date(2026, 11, 23), date(2026, 11, 24)
    assert EASTERN.next_open(at(monday, 10, 30)) == at(monday, 10, 30)
    assert EASTERN.next_open(at(monday, 9, 0)) == at(monday, 9, 0)
    assert EASTERN.next_open(at(monday, 7, 0)) == at(monday, 9, 0)
    assert EASTERN.next_open(at(monday, 17, 0)) == at(tuesday, 9, 0)
    assert EASTERN.next_open(at(date(2026, 11, 20), 17, 0)) == at(monday, 9, 0)
    assert EASTERN.next_open(at(date(2026, 11, 25), 18, 0)) == at(date(2026, 11, 27), 9, 0)


def test_closed_reason_names_the_holiday_and_when_the_service_reopens() -> None:
    """U4: the case shows why its clock is paused and until when."""
    reason = EASTERN.closed_reason(at(date(2026, 11, 26), 11, 0))
    assert reason is not None
    assert reason.startswith("holiday (Thanksgiving Day)")
    assert "opens Fri 2026-11-27 09:00 EST" in reason
    weekend = EASTERN.closed_reason(at(date(2026, 11, 21), 11, 0))
    assert weekend is not None
    assert weekend.startswith("outside business hours")
    assert "Mon, Tue, Wed, Thu, Fri 09:00-17:00 America/New_York" in weekend
    assert "opens Mon 2026-11-23 09:00 EST" in weekend
    assert EASTERN.closed_reason(at(date(2026, 11, 23), 9, 0)) is None


def test_closed_reason_shows_the_reopening_in_the_local_time_after_a_dst_change() -> None:
    """U4: on the Saturday before the spring change the reopening is 9:00 EDT, not 10:00."""
    reason = EASTERN.closed_reason(at(date(2027, 3, 13), 12, 0))
    assert reason is not None and "opens Mon 2027-03-15 09:00 EDT" in reason


def test_elapsed_is_zero_when_the_end_is_not_after_the_start() -> None:
    monday = at(date(2026, 11, 23), 10, 0)
    assert EASTERN.elapsed(monday, monday) == timedelta(0)
    assert EASTERN.elapsed(monday, monday - timedelta(hours=1)) == timedelta(0)
    with pytest.raises(ValueError, match="cannot be negative"):
        EASTERN.add(monday, -QUARTER_HOUR)


def test_an_impossible_calendar_is_refused() -> None:
    with pytest.raises(ValueError, match="open before they close"):
        BusinessCalendar(zone="America/New_York", opens=time(17, 0), closes=time(9, 0))
    with pytest.raises(ValueError, match="business days must be among"):
        BusinessCalendar(zone="America/New_York", days=("funday",))


def test_a_case_carries_the_holidays_of_the_year_the_server_opens_it(store: Store) -> None:
    """U4: the closed days follow the server's time of the intake, not this machine's clock:
    a case opened (by the server's clock) in 2036 knows Thanksgiving 2036."""
    request = case_request(
        request_id="req-holidays-2036", account_id="cyberdyne", contact_id="cyberdyne-judy"
    )
    scheduled = datetime(2036, 11, 24, 15, 0, tzinfo=UTC)
    intake = activity_env_at(scheduled).run(
        DirectoryActivities(store, DEFAULT_POLICY).intake, request
    )
    holidays = intake.entitlement.clock.holidays
    assert holidays[date(2036, 11, 27)] == "Thanksgiving Day"
    assert holidays[date(2038, 12, 24)] == "Christmas Day (observed)"
    assert min(holidays).year == 2035 and max(holidays).year == 2038
