"""The list of a person's cases (filtered by state and priority; an engineer's own) and the
form that opens a new one."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from casework.case_list import CASE_STATES, CaseFilters
from casework.case_pages import DEFAULT_ORDER, DEFAULT_SORT
from casework.door import center
from casework.door.errors import DoorError
from casework.door.listing import ListAsk, ListPage, page_for
from casework.door.page.base import Page, field, the_page
from casework.door.people import Identity
from casework.door.presentation import PRIORITIES
from casework.door.queue import REFRESH_SECONDS, queue_of
from casework.door.session import Session

router = APIRouter(include_in_schema=False)
ThePage = Annotated[Page, Depends(the_page)]
OPENERS = ("contact", "partner_engineer")
"""Who opens cases on the page: a customer for themselves, a partner's engineer for their
partner's customers (P3); Customer Care opens phone cases from the CLI or the API."""
FILTER_PARAMS = ("state", "priority", "tier", "breached", "account", "restricted", "security")
SORT_LABELS = (
    ("opened", "opened"),
    ("updated", "updated"),
    ("due", "first response due"),
    ("priority", "priority"),
    ("state", "state"),
    ("subject", "subject"),
    ("number", "case number"),
)
LIST_PARAMS = (*FILTER_PARAMS, "q", "sort", "order", "cursor", "limit", "mine")
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
async def case_list(request: Request, page: ThePage) -> Response:
    """Issue 26: a page of the list, its count, its sort (a column's header), its filters (as
    `casework list`'s) and its search; bad parameters are said on the page (422)."""
    person, session = await page.visitor(request)
    asked = {k: v.strip()[:300] for k, v in request.query_params.items() if k in LIST_PARAMS}
    filters = CaseFilters(
        state=asked.get("state") or None,
        priority=asked.get("priority") or None,
        tier=asked.get("tier") or None,
        breached=_flag(asked.get("breached")),
        account=asked.get("account") or None,
        restricted=_flag(asked.get("restricted")),
        security=asked.get("security") == "true",
    )
    engineer = person.kind in ("engineer", "partner_engineer")
    ask = ListAsk(
        filters=filters,
        sort=asked.get("sort") or None,
        order=asked.get("order") or None,
        search=asked.get("q") or None,
        cursor=asked.get("cursor") or None,
        limit=_number(asked.get("limit")),
        mine=engineer and bool(asked.get("mine")),
    )
    error, status = "", 200
    listed = ListPage(rows=[], total=0, next_cursor=None)
    try:
        listed = await page_for(page.door, person, ask)
    except DoorError as e:
        error, status = e.message, e.status if e.status in (400, 403, 422) else 503
    kept = {k: v for k, v in asked.items() if v and k != "cursor"}
    return page.render(
        request,
        "cases.html",
        status=status,
        person=person,
        csrf=session.csrf,
        rows=listed.rows,
        total=listed.total,
        error=error,
        asked=kept,
        filtered=any(k in kept for k in FILTER_PARAMS),
        sort=(ask.sort or DEFAULT_SORT).lower(),
        order=(ask.order or DEFAULT_ORDER).lower(),
        sort_link=lambda column: _link(kept, sort=column, order=_flip(kept, column)),
        next_link=_link(kept, cursor=listed.next_cursor) if listed.next_cursor else "",
        first_link=_link(kept) if asked.get("cursor") else "",
        states=CASE_STATES,
        priorities=PRIORITIES,
        sorts=SORT_LABELS,
        may_open=person.kind in OPENERS,
        engineer=engineer,
    )


def _flag(value: str | None) -> bool | None:
    return {"true": True, "false": False}.get((value or "").lower())


def _number(value: str | None) -> int | None:
    """A page size as typed; not a number: one out of bounds, so the page says what to write."""
    if not value:
        return None
    return int(value) if value.isdigit() and len(value) < 6 else 0


def _flip(kept: dict[str, str], column: str) -> str:
    """A column header's link: ascending first, then the other way on a second press."""
    same = kept.get("sort", DEFAULT_SORT) == column
    return "desc" if same and kept.get("order", DEFAULT_ORDER) == "asc" else "asc"


def _link(kept: dict[str, str], **changes: str | None) -> str:
    params = {**kept, **{k: v for k, v in changes.items() if v}}
    return "/cases?" + urlencode(params) if params else "/cases"


@router.get("/queue")
async def engineer_queue(request: Request, page: ThePage) -> Response:
    """Issue 26: the engineer's queue; it reloads itself every REFRESH_SECONDS (a Refresh
    header: the page sends a strict CSP and runs no script) unless asked not to (`?reload=off`,
    a link on the page). A customer is told they have none."""
    person, session = await page.visitor(request)
    reloads = request.query_params.get("reload") != "off"  # WCAG 2.2.1: it may be stopped
    error, status, found = "", 200, None
    try:
        found = await queue_of(page.door, person)
    except DoorError as e:
        error, status = e.message, e.status
    answer = page.render(
        request,
        "queue.html",
        status=status,
        person=person,
        csrf=session.csrf,
        queue=found,
        error=error,
        customer=person.kind == "contact",
        refresh=REFRESH_SECONDS,
        reloads=reloads,
    )
    if found is not None and reloads:
        answer.headers["Refresh"] = str(REFRESH_SECONDS)
    return answer


@router.get("/cases/new")
async def new_case_form(request: Request, page: ThePage) -> Response:
    person, session = await page.visitor(request)
    values = {"request_id": uuid.uuid4().hex}  # a form sent twice opens one case
    draft = page.take_draft(request, person, "/cases/new")
    if draft is not None:  # typed before the session ended: back, ready to send
        values = {k: draft.fields.get(k, "") for k in (*OPENING_FIELDS, "customer")}
    return _new_case_page(page, request, person, session, values, kept=draft is not None)


@router.post("/cases/new")
async def open_from_page(request: Request, page: ThePage) -> Response:
    person, session = await page.visitor(request)
    form = await page.form(request, session)
    values = {k: field(form, k).strip() for k in (*OPENING_FIELDS, "customer")}
    body = {k: v for k, v in values.items() if v and k != "customer"}
    if person.kind == "partner_engineer":  # P3: for one of the partner's customers
        account_id, _, contact_id = values["customer"].partition("/")
        body |= {"account_id": account_id or "", "contact_id": contact_id or ""}
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
    kept: bool = False,
) -> Response:
    customers = []
    if person.kind == "partner_engineer" and person.partner:
        accounts = partner_customers(page, person.partner)
        customers = [(a.name, [(f"{a.id}/{c.id}", c.name) for c in a.contacts]) for a in accounts]
    return page.render(
        request,
        "new_case.html",
        status=status,
        person=person,
        csrf=session.csrf,
        error=error,
        values=values,
        priorities=PRIORITIES,
        customers=customers,
        kept=kept,
    )


def partner_customers(page: Page, partner: str) -> list[Any]:
    """P3: the accounts a partner's engineer opens cases for (its PAR customers)."""
    return [a for a in page.door.store.directory.accounts() if a.partner == partner]
