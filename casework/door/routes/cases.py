"""Cases and their list: open one (`POST /v1/cases`), list them (`GET /v1/cases`), read one
(`GET /v1/cases/{case}`). What each does is `casework.door.center`'s; these are the routes."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from casework.case_list import CaseFilters
from casework.case_pages import MAX_CURSOR_CHARS, MAX_PAGE_SIZE, PAGE_SIZE, SEARCH_CHARS, SORTS
from casework.domain.models import CaseView, OpenCaseResult
from casework.door import center
from casework.door.listing import ListAsk, page_for
from casework.door.queue import EngineerQueue, queue_of
from casework.door.routes.common import Person, TheDoor, json_body

router = APIRouter()


@router.post("/v1/cases")
async def open_a_case(
    person: Person,
    door: TheDoor,
    request: Request,
    idempotency_key: Annotated[
        str | None,
        Header(
            description="Opening is idempotent on it: the same key with the same request "
            "answers the same case (created false); with another request, 422 naming the "
            "fields that differ. A key is the caller's own: a contact's is their account's, "
            "anyone else's their own; the same key from another account opens its own case."
        ),
    ] = None,
) -> OpenCaseResult:
    """Open a case, or (P2) be referred to your partner: then `referred_to`,
    `partner_contact` and `referral_id` are set and there is no `case_id`."""
    body = await json_body(request)
    return await center.open_for(door, person, body, idempotency_key)


def _limit(
    limit: Annotated[
        int,
        Query(
            ge=1,
            le=MAX_PAGE_SIZE,
            description=f"rows in this page, 1 to {MAX_PAGE_SIZE} (default {PAGE_SIZE})",
        ),
    ] = PAGE_SIZE,
) -> int:
    """A dependency of its own, so that the OpenAPI document lists it after the filters."""
    return limit


@router.get("/v1/cases")
async def cases(
    person: Person,
    door: TheDoor,
    response: Response,
    filters: Annotated[CaseFilters, Depends()],
    limit: Annotated[int, Depends(_limit)],
    q: Annotated[
        str | None,
        Query(
            max_length=SEARCH_CHARS,
            description="words to find in a case's number, subject or description (any case); "
            "U5: a restricted case's texts are searched for its queue's members and its "
            "account's contacts only",
        ),
    ] = None,
    sort: Annotated[
        str | None, Query(description=f"the column to sort by: {', '.join(SORTS)}")
    ] = None,
    order: Annotated[str | None, Query(description="asc or desc (default desc)")] = None,
    cursor: Annotated[
        str | None,
        Query(
            max_length=MAX_CURSOR_CHARS,
            description="the previous page's X-Next-Cursor, unchanged, with the same filters",
        ),
    ] = None,
) -> list[dict[str, Any]]:
    """A page of the cases `person` may list, newest first unless sorted otherwise. Headers:
    `X-Total-Count` (how many match), `X-Next-Cursor` and a `Link: <...>; rel="next"` while
    there are more pages. Rows carry no content of a case but its subject, which U5 withholds
    from a reader outside a restricted case's queue. A contact lists their own account's
    cases."""
    ask = ListAsk(filters=filters, sort=sort, order=order, search=q, cursor=cursor, limit=limit)
    page = await page_for(door, person, ask)
    response.headers["X-Total-Count"] = str(page.total)
    if page.next_cursor is not None:
        response.headers["X-Next-Cursor"] = page.next_cursor
        after = {**{k: v for k, v in filters.params().items() if v is not None}}
        after |= {k: v for k, v in (("q", q), ("sort", sort), ("order", order)) if v}
        after |= {"limit": str(limit), "cursor": page.next_cursor}
        response.headers["Link"] = f'</v1/cases?{urlencode(after)}>; rel="next"'
    return [c.model_dump(mode="json") for c in page.rows]


@router.get("/v1/queue")
async def queue(person: Person, door: TheDoor) -> EngineerQueue:
    """The signed-in engineer's queue (issue 26): their own cases by time to breach, read now
    (`breaching_soon`: within the hour); their team's unassigned cases; those waiting for the
    customer or for business hours. A customer (403) has none: their cases are `/v1/cases`."""
    return await queue_of(door, person)


@router.get("/v1/cases/{case}")
async def show(person: Person, door: TheDoor, case: str) -> CaseView:
    """U5: a running restricted case is read with its audited `read` update."""
    return await center.show_for(door, person, center.case_number(case))
