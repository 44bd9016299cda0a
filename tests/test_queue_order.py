"""The engineer's queue's order (issue 26), read at a given instant: a breached case still
without its first response first, then the running clocks by time left (within the hour
marked), the answered ones last; the team's unowned cases apart; a case waiting for the
customer or for its business hours (U4: a Saturday in New York) in the waiting part."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from casework.door.queue import arrange

SATURDAY_NOON_NY = datetime(2026, 12, 5, 17, 0, tzinfo=UTC)
MONDAY_NOON_NY = datetime(2026, 12, 7, 17, 0, tzinfo=UTC)
BUSINESS_HOURS = {"kind": "business_hours", "zone": "America/New_York", "holidays": {}}


def row(case_id: str, due_in: timedelta, now: datetime, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "case_id": case_id,
        "account": "acme",
        "tier": "GOLD",
        "category": "support",
        "priority": "P2",
        "state": "in_progress",
        "level": "L1",
        "owner": "gsc-erin",
        "queue": "gsc",
        "restricted": False,
        "breached": False,
        "due_at": now + due_in,
        "responded_at": None,
        "clock": {"kind": "24x7"},
        "opened_at": now - timedelta(hours=1),
        "updated_at": now,
        "subject": case_id,
    }
    return values | overrides


def test_the_queue_orders_by_breach_and_puts_the_waiting_apart() -> None:
    now = SATURDAY_NOON_NY
    rows = [
        row("later", timedelta(hours=6), now),
        row("soon", timedelta(minutes=20), now),
        row("overdue", timedelta(minutes=-5), now, breached=True),
        row("answered", timedelta(minutes=5), now, responded_at=now - timedelta(minutes=1)),
        row("unowned", timedelta(minutes=50), now, owner=None),
        row("customer", timedelta(minutes=10), now, state="waiting_on_customer"),
        row("weekend", timedelta(hours=2), now, clock=BUSINESS_HOURS),
    ]
    queue = arrange("gsc-erin", rows, now)
    assert [c.case_id for c in queue.mine] == ["overdue", "soon", "later", "answered"]
    assert [c.breaching_soon for c in queue.mine] == [True, True, False, False]
    assert [c.case_id for c in queue.unassigned] == ["unowned"]
    assert queue.unassigned[0].breaching_soon
    assert {c.case_id for c in queue.waiting} == {"customer", "weekend"}
    weekend = next(c for c in queue.waiting if c.case_id == "weekend")
    assert weekend.sla_paused_reason  # U4: its clock does not run on a Saturday


def test_a_business_hours_case_is_worked_when_its_hours_run() -> None:
    now = MONDAY_NOON_NY
    queue = arrange(
        "gsc-erin", [row("weekday", timedelta(hours=2), now, clock=BUSINESS_HOURS)], now
    )
    assert [c.case_id for c in queue.mine] == ["weekday"]
    assert queue.mine[0].sla_remaining_seconds == 2 * 3600
