"""The Case Center web page (issue 13), served by the door beside the API: customers and
engineers sign in with their credential, see their cases (filtered by state and priority), a
case with its feed, SLA clock and what it waits for, and act on it.

Server-rendered (Jinja2 templates in `templates/`, a small hand-written stylesheet in
`static/`), plain HTML forms, no script. Every page calls the same operations as the API
(`casework.door.center`), so one path leads into the engine and U5 withholds the same items.
The actions offered are the engine's `allowed_actions` of the case view, narrowed to those a
person of this kind takes (`ROLE_ACTIONS`, a question of which forms to draw, not a rule): the
case still decides, and a refusal is shown with its reason, as the CLI prints it. How a case is
shown (the forms, the clock, what it waits for, in words) is `casework.door.presentation`;
this module is the routes.

Sign-in (`casework.door.session`): the person pastes their API key (or an OIDC access token);
the door authenticates it as the API does and keeps it in a sealed, HttpOnly, SameSite=Strict
cookie; every form carries the session's CSRF token. Nobody types who they are.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData, UploadFile

from casework.case_list import CASE_STATES
from casework.door import center
from casework.door.errors import DoorError
from casework.door.people import Identity
from casework.door.presentation import (
    DONE,
    FORMS,
    PRIORITIES,
    STATE_WORDS,
    clock_of,
    duration_words,
    may_attach,
    offered_actions,
    waits_for,
    when,
)
from casework.door.service import Door
from casework.door.session import COOKIE, SIGN_IN_COOKIE, Session, Sessions, same_token
from casework.identity.keyring import KeyRing

T = TypeVar("T")

HERE = Path(__file__).parent
FEED_PAGE_SIZE = 25
LIST_LIMIT = 100


class Page:
    def __init__(self, door: Door, ring: KeyRing) -> None:
        self.door = door
        self.sessions = Sessions(ring)
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.templates.env.globals.update(
            when=when, duration_words=duration_words, state_words=STATE_WORDS
        )

    async def signed_in(self, request: Request) -> tuple[Identity, Session] | None:
        session = self.sessions.open(request.cookies.get(COOKIE))
        if session is None:
            return None
        try:
            person = await self.door.person(session.authorization)
        except DoorError:
            return None
        return person, session

    def render(
        self,
        request: Request,
        template: str,
        status: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        return self.templates.TemplateResponse(request, template, context, status_code=status)


def _to_sign_in(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/signin?next={quote(target)}", status_code=303)


def _safe_next(value: str | None) -> str:
    """Only a path of this site (never `//elsewhere` or a URL): no open redirect."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/cases"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _field(form: FormData, name: str, default: str = "") -> str:
    """A text field of a form (`default` when it is missing or empty). A file sent in its place
    is no text: "", which the model then names as wrong, never the file's description."""
    value = form.get(name)
    if value is None:
        return default
    return (value or default) if isinstance(value, str) else ""


def form_body(action: str, form: FormData) -> dict[str, Any]:
    """An action's JSON fields from its form: lists for checkboxes, empty optionals left out."""
    body: dict[str, Any] = {}
    for f in FORMS[action].fields if action in FORMS else ():
        if f.kind == "checkboxes":
            values = [str(v) for v in form.getlist(f.name) if str(v).strip()]
            if values:
                body[f.name] = values
            continue
        value = form.get(f.name)
        if isinstance(value, str) and value.strip():
            body[f.name] = value
        elif f.required:
            body[f.name] = ""  # the model names the field: "text: must not be empty"
    return body


PAGE_BUSY_TRIES = 3
"""How often the page sends an action to a busy case (429) before saying so: a person pressed
the button once, so the door waits out a short crowd for them."""
BUSY_ON_PAGE = (
    "The case is busy with other people's changes right now, and nothing of yours was "
    "changed: send the form again in a moment."
)


async def patiently(send: Callable[[], Awaitable[T]]) -> T:
    """`send()`, sent again (under the same Idempotency-Key) while the case is busy (429), a
    few times; then DoorError 429 in a person's words."""
    for attempt in range(PAGE_BUSY_TRIES):
        try:
            return await send()
        except DoorError as e:
            if e.status != 429:
                raise
            if attempt + 1 < PAGE_BUSY_TRIES:
                await asyncio.sleep(float(e.headers.get("Retry-After", "1")))
    raise DoorError(429, BUSY_ON_PAGE)


def _form_key(form: FormData) -> str | None:
    """The Idempotency-Key the page rendered into the form: sending the same form twice (a
    double click, Back and send again) takes the action once."""
    return _field(form, "idempotency_key") or None


def mount_page(app: FastAPI, door: Door, ring: KeyRing) -> None:
    page = Page(door, ring)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.get("/", include_in_schema=False)
    async def home(request: Request) -> Response:
        if await page.signed_in(request) is None:
            return RedirectResponse("/signin", status_code=303)
        return RedirectResponse("/cases", status_code=303)

    @app.get("/signin", include_in_schema=False)
    async def sign_in_form(request: Request, next: str | None = None) -> Response:
        token = request.cookies.get(SIGN_IN_COOKIE) or _new_sign_in_token()
        if await page.signed_in(request) is not None:
            return RedirectResponse(_safe_next(next), status_code=303)
        return _sign_in_page(page, request, _safe_next(next), "", token)

    @app.post("/signin", include_in_schema=False)
    async def sign_in(request: Request) -> Response:
        form = await request.form()
        token = request.cookies.get(SIGN_IN_COOKIE) or ""
        target = _safe_next(_field(form, "next"))
        if not token or not same_token(token, _field(form, "csrf")):
            return _sign_in_page(
                page,
                request,
                target,
                "The sign-in form expired: sign in again.",
                _new_sign_in_token(),
                400,
            )
        credential = _field(form, "credential").strip()
        if not credential:
            return _sign_in_page(
                page, request, target, "Paste your API key (cw_...) to sign in.", token, 422
            )
        try:
            await door.person(f"Bearer {credential}")
        except DoorError as e:
            return _sign_in_page(page, request, target, e.message, token, e.status)
        cookie, _ = page.sessions.new(credential)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            COOKIE,
            cookie,
            max_age=8 * 3600,
            httponly=True,
            samesite="strict",
            secure=_secure(request),
            path="/",
        )
        response.delete_cookie(SIGN_IN_COOKIE, path="/signin")
        return response

    @app.post("/signout", include_in_schema=False)
    async def sign_out(request: Request) -> Response:
        who = await page.signed_in(request)
        form = await request.form()
        if who is not None and not same_token(who[1].csrf, _field(form, "csrf")):
            return HTMLResponse("the form expired: reload the page and sign out again", 400)
        response = RedirectResponse("/signin?signed_out=1", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    @app.get("/cases", include_in_schema=False)
    async def case_list(
        request: Request,
        state: str | None = None,
        priority: str | None = None,
        mine: str | None = None,
    ) -> Response:
        who = await page.signed_in(request)
        if who is None:
            return _to_sign_in(request)
        person, session = who
        state = state or None
        priority = priority or None
        error = ""
        rows: list[Any] = []
        try:
            rows = await center.list_for(
                door, person, state=state, priority=priority, limit=LIST_LIMIT
            )
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
            state=state or "",
            priority=priority or "",
            states=CASE_STATES,
            priorities=PRIORITIES,
            may_open=person.kind == "contact",
            engineer=engineer,
            mine=bool(mine),
        )

    @app.get("/cases/new", include_in_schema=False)
    async def new_case_form(request: Request) -> Response:
        who = await page.signed_in(request)
        if who is None:
            return _to_sign_in(request)
        person, session = who
        return page.render(
            request,
            "new_case.html",
            person=person,
            csrf=session.csrf,
            error="",
            values={"request_id": uuid.uuid4().hex},  # a form sent twice opens one case
            priorities=PRIORITIES,
        )

    @app.post("/cases/new", include_in_schema=False)
    async def open_from_page(request: Request) -> Response:
        who = await page.signed_in(request)
        if who is None:
            return _to_sign_in(request)
        person, session = who
        form = await request.form()
        if not same_token(session.csrf, _field(form, "csrf")):
            return HTMLResponse("the form expired: reload the page and send it again", 400)
        values = {
            k: _field(form, k).strip()
            for k in ("product", "version", "priority", "category", "description", "request_id")
        }
        body = {k: v for k, v in values.items() if v}
        for required in ("product", "version", "priority", "description"):
            body.setdefault(required, "")
        try:
            result = await center.open_for(door, person, body)
        except DoorError as e:
            return page.render(
                request,
                "new_case.html",
                status=e.status,
                person=person,
                csrf=session.csrf,
                error=e.message,
                values=values,
                priorities=PRIORITIES,
            )
        if result.case_id is None:  # P2: referred to the partner
            return page.render(
                request,
                "referred.html",
                person=person,
                csrf=session.csrf,
                result=result,
            )
        return RedirectResponse(f"/cases/{result.case_id}?done=opened", status_code=303)

    @app.get("/cases/{case}", include_in_schema=False)
    async def case_page(
        request: Request,
        case: str,
        page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
        done: str | None = None,
    ) -> Response:
        who = await page.signed_in(request)
        if who is None:
            return _to_sign_in(request)
        person, session = who
        return await _render_case(page, request, person, session, case, page_number, done, "")

    @app.post("/cases/{case}/act/{action}", include_in_schema=False)
    async def act_from_page(request: Request, case: str, action: str) -> Response:
        who = await page.signed_in(request)
        if who is None:
            return _to_sign_in(request)
        person, session = who
        form = await request.form()
        if not same_token(session.csrf, _field(form, "csrf")):
            return HTMLResponse("the form expired: reload the page and send it again", 400)
        try:
            case_id = center.case_number(case)
            if action not in FORMS:
                raise DoorError(404, f"there is no action {action!r} on this page")
            key = _form_key(form)
            body = form_body(action, form)
            await patiently(lambda: center.act_for(door, person, case_id, action, body, key))
        except DoorError as e:
            return await _render_case(
                page, request, person, session, case, 1, None, e.message, e.status
            )
        return RedirectResponse(f"/cases/{case_id}?{urlencode({'done': action})}", 303)

    @app.post("/cases/{case}/attachments", include_in_schema=False)
    async def attach_from_page(request: Request, case: str) -> Response:
        who = await page.signed_in(request)
        if who is None:
            return _to_sign_in(request)
        person, session = who
        form = await request.form()
        if not same_token(session.csrf, _field(form, "csrf")):
            return HTMLResponse("the form expired: reload the page and send it again", 400)
        upload = form.get("file")
        try:
            case_id = center.case_number(case)
            if not isinstance(upload, UploadFile) or not upload.filename:
                raise DoorError(422, "attach not sent: choose a file", ["file"])
            kind = _field(form, "kind", "log")
            key = _form_key(form)
            await patiently(
                lambda: center.attach_for(door, person, case_id, upload, kind, None, key)  # type: ignore[arg-type]
            )
        except DoorError as e:
            return await _render_case(
                page, request, person, session, case, 1, None, e.message, e.status
            )
        return RedirectResponse(f"/cases/{case_id}?done=attach", 303)

    @app.get("/cases/{case}/files/{attachment}", include_in_schema=False)
    async def download_from_page(request: Request, case: str, attachment: str) -> Response:
        who = await page.signed_in(request)
        if who is None:
            return _to_sign_in(request)
        person, session = who
        try:
            got = await center.download_for(door, person, center.case_number(case), attachment)
        except DoorError as e:
            return page.render(
                request,
                "problem.html",
                status=e.status,
                person=person,
                csrf=session.csrf,
                error=e.message,
            )
        return center.file_response(got)


def _new_sign_in_token() -> str:
    import secrets

    return secrets.token_urlsafe(24)


def _sign_in_page(
    page: Page, request: Request, target: str, error: str, token: str, status: int = 200
) -> HTMLResponse:
    response = page.render(
        request,
        "signin.html",
        status=status,
        next=target,
        error=error,
        csrf=token,
        signed_out=request.query_params.get("signed_out") == "1",
    )
    response.set_cookie(
        SIGN_IN_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/signin",
    )
    return response


async def _render_case(
    page: Page,
    request: Request,
    person: Identity,
    session: Session,
    case: str,
    page_number: int,
    done: str | None,
    error: str,
    status: int = 200,
) -> Response:
    door = page.door
    try:
        case_id = center.case_number(case)
        view = await center.show_for(door, person, case_id)
        feed = await center.feed_for(
            door, person, case_id, max(page_number, 1), FEED_PAGE_SIZE, view=view
        )
    except DoorError as e:
        return page.render(
            request,
            "problem.html",
            status=e.status,
            person=person,
            csrf=session.csrf,
            error=e.message,
        )
    pages = max(1, math.ceil(feed.total / FEED_PAGE_SIZE))
    return page.render(
        request,
        "case.html",
        status=status,
        person=person,
        csrf=session.csrf,
        view=view,
        feed=list(reversed(feed.entries)),
        feed_withheld=feed.withheld,
        page_number=feed.page,
        pages=pages,
        clock=clock_of(view),
        waits_for=waits_for(view),
        offered=offered_actions(person, view),
        may_attach=may_attach(person, view),
        form_key=uuid.uuid4().hex,
        active_escalation=next((e for e in view.escalations if e.ended_at is None), None),
        pending_approval=next((a for a in view.log_approvals if a.status == "pending"), None),
        done=DONE.get(done or "", "Case opened" if done == "opened" else ""),
        error=error,
    )
