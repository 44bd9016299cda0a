"""An engineer's queue (issue 26): the page an engineer keeps open all day, and `GET /v1/queue`.

First their own cases whose first-response clock runs, ordered by time to breach as read now
(S1-S4; a breached one that still waits for its first response comes first), those breaching
within BREACHING_SOON marked; then the cases their team's queues hold that nobody owns; then
those waiting: for the customer (E5), or for their business hours (U4: the clock is paused).
Read from the case list's rows (casework.store.case_rows), so the clock is read at the door's
instant, never at the case's last step. Customers have no queue: they are told so.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from casework.domain.models import Level
from casework.domain.partner import partner_queue
from casework.domain.routing import queue_for
from casework.domain.us_citizen import RESTRICTED_QUEUE
from casework.door.errors import DoorError
from casework.door.listing import ListedCase, ended_outside, listed_case
from casework.door.people import Identity
from casework.door.service import Door

BREACHING_SOON = timedelta(hours=1)
"""A case whose first response is due within this is marked on the queue."""
REFRESH_SECONDS = 30
"""How often the queue page reloads itself (a Refresh header: no script)."""
WAITING_STATES = ("waiting_on_customer", "resolved")
"""E5: the customer's turn (to answer, or to confirm a resolution)."""


class QueuedCase(ListedCase):
    breaching_soon: bool = False
    """S1: the first response is due within BREACHING_SOON, or overdue without one."""


class EngineerQueue(BaseModel):
    engineer: str
    read_at: datetime
    mine: list[QueuedCase]
    """Their own cases whose clock runs (or has run out), the soonest to breach first."""
    unassigned: list[QueuedCase]
    """Their team's cases nobody owns yet, the soonest to breach first."""
    waiting: list[QueuedCase]
    """Theirs and their team's unowned cases waiting for the customer or for business hours."""


def team_queues(person: Identity) -> list[str]:
    """The queues an engineer takes cases from (E1, U2, P3)."""
    if person.kind == "partner_engineer" and person.partner:
        return [partner_queue(person.partner)]
    queues = [queue_for(Level(person.level))] if person.level else []
    return queues + ([RESTRICTED_QUEUE] if person.restricted_member else [])


def no_queue(person: Identity) -> str | None:
    """Why `person` has no queue, or None."""
    if person.kind in ("engineer", "partner_engineer"):
        return None
    if person.kind == "contact":
        return (
            "The queue is where engineers see the cases they work; as a customer, your cases "
            "are on Your cases."
        )
    return (
        f"The queue lists the cases an engineer owns and their team's unassigned ones; "
        f"{person.id} owns none. Every case is on Cases."
    )


async def queue_of(door: Door, person: Identity) -> EngineerQueue:
    why = no_queue(person)
    if why is not None:
        raise DoorError(403, why)
    ended = await ended_outside(door)
    try:
        rows = await asyncio.to_thread(
            door.store.case_rows.queue,
            person.id,
            team_queues(person),
            reads_restricted=person.restricted_member,
            leave_out=frozenset(ended),
        )
    except SQLAlchemyError:
        raise DoorError(503, "the queue's database is not answering; try again shortly") from None
    return arrange(person.id, rows, await door.clock())


def arrange(engineer: str, rows: list[dict[str, Any]], now: datetime) -> EngineerQueue:
    """The queue's three parts from the rows, each ordered by time to breach at `now`."""
    mine: list[QueuedCase] = []
    unassigned: list[QueuedCase] = []
    waiting: list[QueuedCase] = []
    for row in rows:
        case = QueuedCase.model_validate(listed_case(row, now, None).model_dump())
        overdue = case.breached and row["responded_at"] is None
        left = case.sla_remaining_seconds
        soon = left is not None and left <= BREACHING_SOON.total_seconds()
        case = case.model_copy(update={"breaching_soon": overdue or soon})
        if case.state in WAITING_STATES or case.sla_paused_reason:
            waiting.append(case)
        elif case.owner == engineer:
            mine.append(case)
        else:
            unassigned.append(case)
    for part in (mine, unassigned, waiting):
        part.sort(key=_urgency)
    return EngineerQueue(
        engineer=engineer, read_at=now, mine=mine, unassigned=unassigned, waiting=waiting
    )


def _urgency(case: QueuedCase) -> tuple[int, float, str]:
    """Overdue without a first response first, then the running clocks by time left, then
    the rest (answered), oldest first."""
    opened = case.started_at.isoformat() if case.started_at else ""
    if case.breached and case.sla_remaining_seconds is None and case.breaching_soon:
        return (0, 0.0, opened)
    if case.sla_remaining_seconds is not None:
        return (1, case.sla_remaining_seconds, opened)
    return (2, 0.0, opened)
