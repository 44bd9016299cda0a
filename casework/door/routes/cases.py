"""Cases and their list: open one (`POST /v1/cases`), list them (`GET /v1/cases`), read one
(`GET /v1/cases/{case}`). What each does is `casework.door.center`'s; these are the routes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request

from casework.case_list import CaseFilters
from casework.domain.models import CaseView, OpenCaseResult
from casework.door import center
from casework.door.center import MAX_LISTED_CASES
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


def _limit(limit: Annotated[int, Query(ge=1, le=MAX_LISTED_CASES)] = 50) -> int:
    """A dependency of its own, so that the OpenAPI document lists it after the filters."""
    return limit


@router.get("/v1/cases")
async def cases(
    person: Person,
    door: TheDoor,
    filters: Annotated[CaseFilters, Depends()],
    limit: Annotated[int, Depends(_limit)],
) -> list[dict[str, Any]]:
    """Rows carry no content of a case (U5). A contact lists their own account's cases."""
    found = await center.list_for(door, person, filters, limit)
    return [c.model_dump(mode="json") for c in found]


@router.get("/v1/cases/{case}")
async def show(person: Person, door: TheDoor, case: str) -> CaseView:
    """U5: a running restricted case is read with its audited `read` update."""
    return await center.show_for(door, person, center.case_number(case))
