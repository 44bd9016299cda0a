"""Helpers for the US Citizen Support tests (U1-U7): the demo account `cyberdyne` (Platinum,
flagged, Eastern), its restricted-only engineers `usc-*`, and moving the shared time-skipping
server to a chosen instant in the customer's zone.

The test server's clock starts at the real current time and only moves forward, and tests
share it: every test computes its own future instant from the server's current time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from casework.domain.business_calendar import BusinessCalendar, calendar_for, closed_days
from casework.domain.models import CaseView
from casework.store import Store
from casework.store.tables import assignments
from tests.conftest import Desk

NEW_YORK = ZoneInfo("America/New_York")
CYBERDYNE = {"account_id": "cyberdyne", "contact_id": "cyberdyne-judy"}
APPROVER = "cyberdyne-ivan"
RESTRICTED_MEMBERS = {"usc-kara", "usc-liam", "usc-maya", "usc-noah"}
MEMBER_AT = {"L0": "usc-kara", "L1": "usc-liam", "L2": "usc-maya", "L3": "usc-noah"}
NON_MEMBERS = {"cc-dana", "gsc-erin", "gsc-farid", "gsc-grace", "gec-hugo"}
SECRET = "Classified enclave firewall drops IPsec tunnel to site Bravo-7"


def eastern_calendar(around: datetime) -> BusinessCalendar:
    """The cyberdyne calendar as intake builds it (federal holidays, no vendor days)."""
    return calendar_for("eastern", closed_days(range(around.year - 1, around.year + 3)))


def local(day: date, hh: int, mm: int = 0, zone: ZoneInfo = NEW_YORK) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=zone).astimezone(UTC)


def next_weekday_at(
    after: datetime, weekday: int, hh: int, mm: int = 0, zone: ZoneInfo = NEW_YORK
) -> datetime:
    """The first local `weekday` (0 = Monday) at hh:mm strictly after `after` (+1 minute)."""
    day = (after + timedelta(minutes=1)).astimezone(zone).date()
    while True:
        candidate = local(day, hh, mm, zone)
        if day.weekday() == weekday and candidate > after + timedelta(minutes=1):
            return candidate
        day += timedelta(days=1)


async def skip_to(env: WorkflowEnvironment, instant: datetime) -> None:
    """Move the test server's clock forward to `instant` (never backwards)."""
    now = await env.get_current_time()
    assert instant > now, f"{instant} is not in the future of the test server ({now})"
    await env.sleep(instant - now)


async def skip_to_business_hours(env: WorkflowEnvironment, hh: int = 10) -> datetime:
    """The next business day at hh:00 Eastern (not a weekend, not a holiday); returns it."""
    now = await env.get_current_time()
    calendar = eastern_calendar(now)
    day = (now + timedelta(minutes=1)).astimezone(NEW_YORK).date()
    while not (calendar.is_business_day(day) and local(day, hh) > now + timedelta(minutes=1)):
        day += timedelta(days=1)
    target = local(day, hh)
    await skip_to(env, target)
    return target


def assigned_engineers(store: Store, case_id: str) -> list[str]:
    """Every engineer the routing activity ever recorded for the case, in order."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(assignments.c.engineer_id)
            .where(assignments.c.case_id == case_id)
            .order_by(assignments.c.id)
        )
        return [r.engineer_id for r in rows]


def notifications_to(store: Store, case_id: str, recipient: str) -> list[dict[str, Any]]:
    return [n for n in store.outbox.rows(case_id) if n["recipient_id"] == recipient]


def at_level(level: str) -> Callable[[CaseView], bool]:
    return lambda v: v.state == "in_progress" and v.level == level


def kinds(view: CaseView) -> list[str]:
    return [e.kind for e in view.feed]


async def open_restricted(desk: Desk, **overrides: Any) -> str:
    return await desk.open(**{**CYBERDYNE, "description": SECRET, **overrides})


async def member_view(desk: Desk, case_id: str) -> CaseView:
    return await desk.view(case_id, viewer=APPROVER)


async def until(desk: Desk, case_id: str, predicate: Callable[[CaseView], bool]) -> CaseView:
    """`Desk.until`, reading as the approver (who sees the whole case)."""
    return await desk.until(case_id, predicate, viewer=APPROVER)


async def escalate_to(desk: Desk, case_id: str, level: str) -> CaseView:
    """E2: escalate by each owner in turn until the case is assigned at `level`."""
    view = await until(desk, case_id, lambda v: v.state == "in_progress")
    while view.level != level:
        assert view.owner is not None
        target = {"L0": "L1", "L1": "L2", "L2": "L3"}[view.level]
        await desk.act(case_id, "escalate", actor=view.owner.engineer_id, reason=f"needs {target}")
        view = await until(desk, case_id, at_level(target))
    return view
