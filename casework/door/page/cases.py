"""The list of a person's cases (filtered by state and priority; an engineer's own) and the
form that opens a new one."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from casework.case_list import CASE_STATES, CaseFilters
from casework.door import center
from casework.door.errors import DoorError
from casework.door.page.base import Page, field, the_page
from casework.door.people import Identity
from casework.door.presentation import PRIORITIES
from casework.door.session import Session

router = APIRouter(include_in_schema=False)
ThePage = Annotated[Page, Depends(the_page)]
LIST_LIMIT = 100
OPENING_FIELDS = (
    "product",
    "version",
    "priority",
    "category",
    "subject",
    "description",
    "request_id",
)
REQUIRED_TO_OPEN = ("product", "version", "priority", "subject", "description")


@router.get("/cases")
async def case_list(
    request: Request,
    page: ThePage,
    state: str | None = None,
    priority: str | None = None,
    mine: str | None = None,
) -> Response:
    person, session = await page.visitor(request)
    filters = CaseFilters(state=state or None, priority=priority or None)
    error = ""
    rows: list[Any] = []
    try:
        rows = await center.list_for(page.door, person, filters, LIST_LIMIT)
    except DoorError as e:
        error = e.message
    engineer = person.kind in ("engineer", "partner_engineer")
    if engineer and mine:  # the cases the engineer owns now
        rows = [r for r in rows if r.owner == person.id]
    return page.render(
        request,
        "cases.html",
        status=200 if not error else 400,
        person=person,
        csrf=session.csrf,
        rows=rows,
        error=error,
        state=filters.state or "",
        priority=filters.priority or "",
        states=CASE_STATES,
        priorities=PRIORITIES,
        may_open=person.kind == "contact",
        engineer=engineer,
        mine=bool(mine),
    )


@router.get("/cases/new")
async def new_case_form(request: Request, page: ThePage) -> Response:
    person, session = await page.visitor(request)
    values = {"request_id": uuid.uuid4().hex}  # a form sent twice opens one case
    return _new_case_page(page, request, person, session, values)


@router.post("/cases/new")
async def open_from_page(request: Request, page: ThePage) -> Response:
    person, session = await page.visitor(request)
    form = await page.form(request, session)
    values = {k: field(form, k).strip() for k in OPENING_FIELDS}
    body = {k: v for k, v in values.items() if v}
    for required in REQUIRED_TO_OPEN:
        body.setdefault(required, "")
    try:
        result = await center.open_for(page.door, person, body)
    except DoorError as e:
        return _new_case_page(page, request, person, session, values, e.message, e.status)
    if result.case_id is None:  # P2: referred to the partner
        return page.render(
            request, "referred.html", person=person, csrf=session.csrf, result=result
        )
    return RedirectResponse(f"/cases/{result.case_id}?done=opened", status_code=303)


def _new_case_page(
    page: Page,
    request: Request,
    person: Identity,
    session: Session,
    values: dict[str, str],
    error: str = "",
    status: int = 200,
) -> Response:
    return page.render(
        request,
        "new_case.html",
        status=status,
        person=person,
        csrf=session.csrf,
        error=error,
        values=values,
        priorities=PRIORITIES,
    )
