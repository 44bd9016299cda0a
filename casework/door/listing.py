"""The case list as the door answers it (issue 26): a page of the case list's rows in the store
(`casework.store.case_rows`), filtered as `casework list` filters, searched, sorted, with how
many match and the cursor to the next page; each row's time left read at the door's clock.

Why the store and not Temporal's visibility: the dev server's visibility can neither search
text nor sort by our columns, and its pages come with no count. The case writes its row with
its other side effects (workflows/case/feed.py, `take_row`). What only visibility knows is how
a workflow ended from outside (terminated, timed out): a list asking for such a state is
answered from visibility as before, and every page marks (and an open-state filter leaves
out) the cases visibility says ended so.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from temporalio.service import RPCError

from casework.case_list import (
    CASE_WORKFLOW,
    ENDED_OUTSIDE,
    LATEST_RUNS,
    CaseFilters,
    CaseSummary,
)
from casework.case_pages import (
    BadListParameter,
    CaseQuery,
    page_size_of,
    search_of,
    sort_of,
)
from casework.client import list_cases
from casework.domain.endings import VISIBILITY_STATUS
from casework.domain.models import ClockSpec, SlaState
from casework.domain.partner import partner_queue
from casework.domain.presentation import clock_reading
from casework.domain.sla import clock_for
from casework.door import center
from casework.door.errors import DoorError
from casework.door.people import Identity
from casework.door.service import Door
from casework.errors import CaseworkError

log = logging.getLogger(__name__)
ENDED_LOOKED_UP = 1_000
"""The most cases ended from outside a list marks (the newest); older ones show their last
state."""


class ListedCase(CaseSummary):
    """A row of the case list: a case's summary with its subject and its time left as read
    now (the fields are CaseSummary's, so that `casework list` reads them without the door)."""


@dataclass(frozen=True)
class ListPage:
    rows: list[ListedCase]
    total: int
    next_cursor: str | None


@dataclass(frozen=True)
class ListAsk:
    """What a reader asks of the list, as typed (checked by `page_for`)."""

    filters: CaseFilters = CaseFilters()
    sort: str | None = None
    order: str | None = None
    search: str | None = None
    cursor: str | None = None
    limit: int | None = None
    mine: bool = False


def scoped(person: Identity, filters: CaseFilters) -> tuple[CaseFilters, str | None]:
    """The filters narrowed to what `person` may list, and the queue they are held to: a
    contact their own account's cases, a partner's engineer their partner's queue (P3)."""
    if person.kind == "contact":
        if filters.account is not None and filters.account != person.account:
            raise DoorError(
                403, f"{person.id} is a contact of {person.account}: list its cases only"
            )
        return replace(filters, account=person.account), None
    if person.kind == "partner_engineer" and person.partner is not None:
        return filters, partner_queue(person.partner)
    return filters, None


async def page_for(door: Door, person: Identity, ask: ListAsk) -> ListPage:
    """One page of the list for `person`. A bad parameter: DoorError 422 naming it and what
    to write; a bad filter: 400 as `casework list` answers it."""
    filters, queue = scoped(person, ask.filters)
    try:
        sort, descending = sort_of(ask.sort, ask.order)
        size = page_size_of(ask.limit)
        search = search_of(ask.search)
        columns = filters.columns()
    except BadListParameter as e:
        raise DoorError(422, str(e), [e.field]) from None
    except CaseworkError as e:
        raise DoorError(400, str(e)) from None
    if columns["state"] in ENDED_OUTSIDE:  # only visibility knows these
        found = await center.list_for(door, person, filters, size)
        listed = [ListedCase.model_validate(r.model_dump()) for r in found]
        return ListPage(rows=listed, total=len(listed), next_cursor=None)
    ended = await ended_outside(door)
    query = CaseQuery(
        filters=filters,
        sort=sort,
        descending=descending,
        size=size,
        search=search,
        cursor=ask.cursor,
        owner=person.id if ask.mine else None,
        scope_queue=queue,
        reads_restricted=person.restricted_member or person.kind == "contact",
        leave_out=frozenset(ended) if columns["state"] is not None else frozenset(),
    )
    try:
        page = await asyncio.to_thread(door.store.case_rows.page, query)
    except BadListParameter as e:
        raise DoorError(422, str(e), [e.field]) from None
    except SQLAlchemyError:
        raise DoorError(
            503, "the case list's database is not answering; try again shortly"
        ) from None
    now = await door.clock()
    rows = [listed_case(r, now, ended.get(r["case_id"])) for r in page.rows]
    return ListPage(rows=rows, total=page.total, next_cursor=page.next_cursor)


async def ended_outside(door: Door) -> dict[str, str]:
    """The cases whose workflow an operator (or a timeout) ended, and how: visibility's."""
    statuses = ", ".join(f"'{VISIBILITY_STATUS[e]}'" for e in ENDED_OUTSIDE)
    query = (
        f"WorkflowType = '{CASE_WORKFLOW}' AND {LATEST_RUNS} AND ExecutionStatus IN ({statuses})"
    )
    try:
        found = await asyncio.wait_for(
            list_cases(door.client, query, limit=ENDED_LOOKED_UP), door.answer_timeout
        )
    except (RPCError, CaseworkError, TimeoutError) as e:  # the list still answers
        log.warning("case list: which cases ended from outside is unknown: %s", e)
        return {}
    return {c.case_id: c.ended for c in found if c.ended}


def listed_case(row: dict[str, Any], now: datetime, ended: str | None) -> ListedCase:
    """A row as the list shows it, its clock read at `now` (S2, U4)."""
    sla = SlaState(
        target=timedelta(0),
        due_at=row["due_at"],
        responded_at=row["responded_at"],
        breached_at=row["due_at"] if row["breached"] else None,
    )
    try:
        reading = clock_reading(
            sla, clock_for(ClockSpec.model_validate(row["clock"])), now, row["state"], ended
        )
        left = reading.left.total_seconds() if reading.left is not None else None
        paused = reading.paused
    except ValueError:  # a clock this casework cannot run: no figure rather than a wrong one
        left, paused = None, None
    return ListedCase(
        case_id=row["case_id"],
        state=row["state"],
        priority=row["priority"],
        tier=row["tier"],
        level=row["level"],
        owner=row["owner"],
        account=row["account"],
        queue=row["queue"],
        breached=row["breached"],
        sla_due=row["due_at"],
        restricted=row["restricted"],
        started_at=row["opened_at"],
        security=row["category"] == "security_vulnerability",
        ended=ended,
        subject=row["subject"],
        updated_at=row["updated_at"],
        sla_remaining_seconds=left,
        sla_paused_reason=paused,
        sla_read_at=now,
    )
