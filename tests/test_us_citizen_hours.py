"""Business hours of US Citizen Support (U4, S2, S3) from the outside, with time skipping.

Each test picks its own future instant from the test server's clock (which starts at the
real current time and is shared by all tests): the next ordinary Friday, the next Wednesday
before Thanksgiving, the Friday before the next daylight-saving change. At 16:55 Eastern the
service is still open, so a case opened then is assigned at once and gets 5 business minutes
on that day; a case opened after 17:00 waits in the queue until the window opens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from temporalio.testing import WorkflowEnvironment

from casework.domain.models import CaseView
from casework.store import Store
from tests.conftest import Desk, as_person, eventually
from tests.us_citizen_desk import (
    NEW_YORK,
    SECRET,
    eastern_calendar,
    kinds,
    local,
    member_view,
    next_weekday_at,
    open_restricted,
    skip_to,
    until,
)

P1_PLATINUM = timedelta(minutes=15)
SECOND = timedelta(seconds=1)


def manager_alerts(store: Store, case_id: str) -> list[dict[str, object]]:
    return [n for n in store.outbox.rows(case_id) if n["recipient_kind"] == "escalation_manager"]


def next_business_day(day: date, around: datetime) -> date:
    calendar = eastern_calendar(around)
    day += timedelta(days=1)
    while not calendar.is_business_day(day):
        day += timedelta(days=1)
    return day


async def next_ordinary_friday(env: WorkflowEnvironment) -> tuple[date, date]:
    """The next Friday (after now) that is a business day followed by a business Monday."""
    now = await env.get_current_time()
    calendar = eastern_calendar(now)
    start = next_weekday_at(now, 4, 16, 55)
    while True:
        friday = start.astimezone(NEW_YORK).date()
        monday = friday + timedelta(days=3)
        if calendar.is_business_day(friday) and next_business_day(friday, now) == monday:
            return friday, monday
        start += timedelta(days=7)


def thanksgiving(year: int) -> date:
    """The fourth Thursday of November."""
    first = date(year, 11, 1)
    return first + timedelta(days=(3 - first.weekday()) % 7 + 21)


async def next_friday_before_a_dst_change(env: WorkflowEnvironment) -> tuple[date, date]:
    """The Friday before the next change of America/New_York's UTC offset, and the Monday."""
    now = await env.get_current_time()
    day = now.astimezone(NEW_YORK).date()
    while True:
        day += timedelta(days=1)
        if local(day, 12).astimezone(NEW_YORK).utcoffset() != (
            local(day - timedelta(days=1), 12).astimezone(NEW_YORK).utcoffset()
        ):
            friday = day - timedelta(days=2)
            if local(friday, 16, 55) > now + timedelta(minutes=1):
                assert day.weekday() == 6, "US changes happen on a Sunday"
                return friday, day + timedelta(days=1)


@dataclass
class EveningCases:
    late: CaseView
    """opened at 16:55 on the last day before the break: assigned at once."""
    after_hours: CaseView
    """opened at 17:30 the same day: waits in the queue."""
    slack: timedelta
    """how long after 16:55 the late case really opened (real time passes while it opens)."""


async def open_at_the_end_of_the_day(
    env: WorkflowEnvironment, desk: Desk, day: date
) -> EveningCases:
    await skip_to(env, local(day, 16, 55))
    late_id = await open_restricted(desk, priority="P1")
    late = await until(desk, late_id, lambda v: v.state == "in_progress")
    assert late.owner is not None and late.owner.engineer_id == "usc-kara"
    assert "waiting_for_business_hours" not in kinds(late), "16:55 is inside the window"

    await skip_to(env, local(day, 17, 30))
    after_id = await open_restricted(desk, priority="P1", channel="phone", received_by="cc-dana")
    after = await until(desk, after_id, lambda v: "waiting_for_business_hours" in kinds(v))
    assert after.state == "queued" and after.owner is None
    return EveningCases(late, after, late.opened_at - local(day, 16, 55))


async def assert_waits_until_nine(
    env: WorkflowEnvironment, desk: Desk, case: CaseView, opens: date
) -> None:
    """U4: not assigned a second before 9:00 local on `opens`; assigned right at 9:00."""
    nine = local(opens, 9, 0)
    await skip_to(env, nine - SECOND)
    before = await member_view(desk, case.case_id)
    assert before.state == "queued" and before.owner is None, "assigned before the window opened"
    await env.sleep(2 * SECOND)
    after = await until(desk, case.case_id, lambda v: v.state == "in_progress")
    assigned = next(e for e in after.feed if e.kind == "assigned")
    assert nine <= assigned.at < nine + 2 * SECOND
    assert assigned.at.astimezone(NEW_YORK).strftime("%H:%M") == "09:00"
    assert after.owner is not None and after.owner.engineer_id == "usc-kara"


async def assert_breaches_exactly_at(
    env: WorkflowEnvironment, desk: Desk, store: Store, case_id: str, due: datetime
) -> None:
    """S3 on a business-hours clock: not a second before the target, right at it."""
    await skip_to(env, due - SECOND)
    before = await member_view(desk, case_id)
    assert before.sla.breached_at is None
    assert manager_alerts(store, case_id) == []
    await env.sleep(2 * SECOND)
    after = await until(desk, case_id, lambda v: v.sla.breached_at is not None)
    assert after.sla.breached_at == due
    alerts = await eventually(lambda: manager_alerts(store, case_id))
    assert len(alerts) == 1
    assert SECRET not in alerts[0]["body"], "U5: the Escalation Manager gets no description"


# --- the Friday-evening case ---------------------------------------------------------------------


async def test_a_p1_opened_friday_evening_is_due_monday_0910_and_waits_over_the_weekend(
    env: WorkflowEnvironment, desk: Desk, store: Store
) -> None:
    """U4/S2/S3: a Platinum P1 opened Friday 16:55 Eastern is due Monday 9:10 Eastern and
    breaches at exactly 9:10 if unanswered, not before; over the weekend its clock is paused
    and the case says why. Opened Friday 17:30 a case waits in the queue (feed
    `waiting_for_business_hours`), is assigned at Monday 9:00, not before, and is due 9:15."""
    friday, monday = await next_ordinary_friday(env)
    cases = await open_at_the_end_of_the_day(env, desk, friday)
    late, after_hours = cases.late, cases.after_hours
    assert late.sla.due_at == local(monday, 9, 10) + cases.slack
    assert late.sla.due_at.astimezone(NEW_YORK).strftime("%a %H:%M") == "Mon 09:10"
    assert late.sla_paused_reason is None, "the clock runs at 16:55"
    assert after_hours.sla.due_at == local(monday, 9, 15)
    waiting = next(e for e in after_hours.feed if e.kind == "waiting_for_business_hours")
    assert waiting.text.startswith("outside business hours")
    assert f"opens Mon {monday:%Y-%m-%d} 09:00" in waiting.text

    await skip_to(env, local(friday + timedelta(days=1), 12, 0))
    for case in (late, after_hours):
        weekend = await member_view(desk, case.case_id)
        assert weekend.sla_paused_reason is not None
        assert weekend.sla_paused_reason.startswith("outside business hours")
        assert f"opens Mon {monday:%Y-%m-%d} 09:00" in weekend.sla_paused_reason
        assert weekend.sla.breached_at is None
    weekend = await member_view(desk, late.case_id)
    assert weekend.sla_remaining_seconds == (timedelta(minutes=10) + cases.slack).total_seconds()

    await assert_waits_until_nine(env, desk, after_hours, monday)
    assert (await member_view(desk, late.case_id)).sla_paused_reason is None
    await assert_breaches_exactly_at(env, desk, store, late.case_id, late.sla.due_at)


async def test_a_first_response_inside_the_window_stops_the_paused_clock(
    env: WorkflowEnvironment, desk: Desk, store: Store
) -> None:
    """S2: the owner answers on Monday at 9:05; the case never breaches."""
    friday, monday = await next_ordinary_friday(env)
    await skip_to(env, local(friday, 16, 55))
    case_id = await open_restricted(desk, priority="P1")
    await until(desk, case_id, lambda v: v.state == "in_progress")
    await skip_to(env, local(monday, 9, 5))
    await desk.act(case_id, "respond", actor="usc-kara", text="On it")
    await skip_to(env, local(monday, 12, 0))
    view = await member_view(desk, case_id)
    assert view.sla.responded_at is not None and view.sla.breached_at is None
    assert manager_alerts(store, case_id) == []


# --- a holiday ----------------------------------------------------------------------------------


async def test_a_case_opened_the_day_before_thanksgiving_is_due_friday_0910(
    env: WorkflowEnvironment, desk: Desk, store: Store
) -> None:
    """U4: Thanksgiving (Thursday) is closed: a P1 opened Wednesday 16:55 is due Friday 9:10;
    on Thursday the case says the service is closed for the holiday; a case opened Wednesday
    evening is assigned on Friday at 9:00, not on Thursday."""
    now = await env.get_current_time()
    year = now.astimezone(NEW_YORK).year
    while local(thanksgiving(year) - timedelta(days=1), 16, 55) <= now + timedelta(minutes=1):
        year += 1
    holiday = thanksgiving(year)
    wednesday, friday = holiday - timedelta(days=1), holiday + timedelta(days=1)

    cases = await open_at_the_end_of_the_day(env, desk, wednesday)
    assert cases.late.sla.due_at == local(friday, 9, 10) + cases.slack
    assert cases.after_hours.sla.due_at == local(friday, 9, 15)

    await skip_to(env, local(holiday, 9, 30))
    for case in (cases.late, cases.after_hours):
        # the query shows the case as of its last step (Wednesday's close): paused till Friday
        queried = await member_view(desk, case.case_id)
        assert queried.sla_paused_reason is not None
        assert f"opens Fri {friday:%Y-%m-%d} 09:00" in queried.sla_paused_reason
        # the audited read is a step of the case, now: it names the holiday
        with as_person("usc-kara"):
            read = await desk.case(case.case_id).execute_update(
                "read", {"viewer": "usc-kara"}, result_type=CaseView
            )
        assert read.sla_paused_reason is not None
        assert read.sla_paused_reason.startswith("holiday (Thanksgiving Day)")
        assert f"opens Fri {friday:%Y-%m-%d} 09:00" in read.sla_paused_reason
    assert (await member_view(desk, cases.after_hours.case_id)).state == "queued"

    await assert_waits_until_nine(env, desk, cases.after_hours, friday)
    await assert_breaches_exactly_at(env, desk, store, cases.late.case_id, cases.late.sla.due_at)


# --- a daylight-saving change ----------------------------------------------------------------


async def test_across_a_dst_change_the_window_stays_at_nine_local(
    env: WorkflowEnvironment, desk: Desk, store: Store
) -> None:
    """U4: over the weekend of the next daylight-saving change (March or November, whichever
    comes first), a P1 opened Friday 16:55 is due Monday 9:10 local time, which is a
    different hour in UTC than on Friday; a case opened Friday evening is assigned at 9:00
    local, and the breach comes at 9:10 local."""
    friday, monday = await next_friday_before_a_dst_change(env)
    friday_offset = local(friday, 9).astimezone(NEW_YORK).utcoffset()
    monday_offset = local(monday, 9).astimezone(NEW_YORK).utcoffset()
    assert friday_offset != monday_offset

    cases = await open_at_the_end_of_the_day(env, desk, friday)
    due = cases.late.sla.due_at
    assert due == local(monday, 9, 10) + cases.slack
    assert due.astimezone(NEW_YORK).strftime("%a %H:%M") == "Mon 09:10"
    assert cases.after_hours.sla.due_at.astimezone(NEW_YORK).strftime("%a %H:%M:%S") == (
        "Mon 09:15:00"
    )
    assert monday_offset is not None and friday_offset is not None
    assert local(monday, 9).hour - local(friday, 9).hour == int(
        (friday_offset - monday_offset).total_seconds() // 3600
    ), "9:00 local moved in UTC by the hour the clocks moved"

    await assert_waits_until_nine(env, desk, cases.after_hours, monday)
    await assert_breaches_exactly_at(env, desk, store, cases.late.case_id, due)
