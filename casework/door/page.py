"""The Case Center web page (issue 13), served by the door beside the API: customers and
engineers sign in with their credential, see their cases (filtered by state and priority), a
case with its feed, SLA clock and what it waits for, and act on it.

Server-rendered (Jinja2 templates in `templates/`, a small hand-written stylesheet in
`static/`), plain HTML forms, no script. Every page calls the same operations as the API
(`casework.door.center`), so one path leads into the engine and U5 withholds the same items.
The actions offered are the engine's `allowed_actions` of the case view, narrowed to those a
person of this kind takes (`ROLE_ACTIONS`, a question of which forms to draw, not a rule): the
case still decides, and a refusal is shown with its reason, as the CLI prints it.

Sign-in (`casework.door.session`): the person pastes their API key (or an OIDC access token);
the door authenticates it as the API does and keeps it in a sealed, HttpOnly, SameSite=Strict
cookie; every form carries the session's CSRF token. Nobody types who they are.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData, UploadFile

from casework.case_list import CASE_STATES
from casework.domain.actions import EscalationReasonName, InfoKind
from casework.domain.models import CaseView, Priority
from casework.door import center
from casework.door.errors import DoorError
from casework.door.people import Identity
from casework.door.service import Door
from casework.door.session import COOKIE, SIGN_IN_COOKIE, Session, Sessions, same_token
from casework.identity.keyring import KeyRing

HERE = Path(__file__).parent
FEED_PAGE_SIZE = 25
LIST_LIMIT = 100

CUSTOMER_ACTIONS = (
    "comment",
    "provide_info",
    "change_priority",
    "escalate_now",
    "approve_logs",
    "decline_logs",
    "close",
    "reopen",
)
ENGINEER_ACTIONS = (
    "respond",
    "request_info",
    "comment",
    "escalate",
    "resolve",
    "change_priority",
    "request_log_approval",
    "file_problem_report",
    "accept",
)
MANAGER_ACTIONS = ("acknowledge_escalation", "de_escalate")
ROLE_ACTIONS: dict[str, tuple[str, ...]] = {
    "contact": CUSTOMER_ACTIONS,
    "engineer": ENGINEER_ACTIONS,
    "partner_engineer": ENGINEER_ACTIONS,
    "escalation_manager": MANAGER_ACTIONS,
    "support_director": MANAGER_ACTIONS,
}
"""Which forms a person of each kind is shown, among the engine's allowed actions."""


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "text"  # text, textarea, select, checkboxes
    required: bool = False
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class ActionForm:
    label: str
    button: str
    fields: tuple[Field, ...] = ()
    tone: str = "normal"  # normal, primary, warning, danger
    hint: str = ""


_PRIORITIES = tuple(p.value for p in Priority)
_INFO_ITEMS: tuple[str, ...] = InfoKind.__args__  # type: ignore[attr-defined]
_REASONS: tuple[str, ...] = EscalationReasonName.__args__  # type: ignore[attr-defined]

FORMS: dict[str, ActionForm] = {
    "respond": ActionForm(
        "Respond to the customer",
        "Send response",
        (Field("text", "Response", "textarea", True),),
        "primary",
        "Your first response stops the SLA clock (S2).",
    ),
    "comment": ActionForm(
        "Add a comment", "Post comment", (Field("text", "Comment", "textarea", True),), "primary"
    ),
    "request_info": ActionForm(
        "Request information",
        "Ask the customer",
        (
            Field("items", "What you need", "checkboxes", True, _INFO_ITEMS),
            Field("text", "Message", "textarea"),
        ),
        hint="The case waits on the customer until they answer (E5).",
    ),
    "provide_info": ActionForm(
        "Provide the information asked for",
        "Send information",
        (Field("text", "Information", "textarea", True),),
        "primary",
    ),
    "change_priority": ActionForm(
        "Change priority",
        "Change priority",
        (
            Field("priority", "New priority", "select", True, _PRIORITIES),
            Field("reason", "Why"),
        ),
        hint="The SLA target is recomputed from the opening time (S4).",
    ),
    "escalate_now": ActionForm(
        "Escalate Now",
        "Escalate Now",
        (
            Field("reason", "Reason", "select", True, _REASONS),
            Field("priority", "Raise priority to (optional)", "select", False, ("", *_PRIORITIES)),
            Field("note", "Note for the Escalation Manager", "textarea"),
        ),
        "warning",
        "An Escalation Manager on duty takes it up (E3).",
    ),
    "approve_logs": ActionForm(
        "Approve sharing the logs",
        "Approve",
        (),
        "primary",
        "Exactly the logs named in the request go to product engineering, for this escalation "
        "only (U6).",
    ),
    "decline_logs": ActionForm(
        "Decline sharing the logs",
        "Decline",
        (Field("reason", "Why (optional)"),),
        "danger",
        "The case goes on without the logs; resolution may be significantly delayed (U6).",
    ),
    "close": ActionForm(
        "Close the case", "Close case", (Field("reason", "Why (optional)"),), "danger"
    ),
    "reopen": ActionForm(
        "Reopen the case", "Reopen", (Field("reason", "Why", "textarea", True),), "warning"
    ),
    "escalate": ActionForm(
        "Escalate to the next level",
        "Escalate",
        (Field("reason", "Reason", "textarea", True),),
        "warning",
        "The case goes back to routing one level up (E2).",
    ),
    "resolve": ActionForm(
        "Resolve", "Resolve case", (Field("resolution", "Resolution", "textarea", True),), "primary"
    ),
    "request_log_approval": ActionForm(
        "Ask the customer to approve sharing logs",
        "Request approval",
        (Field("logs", "Logs (att-N)", "checkboxes", True), Field("note", "Note")),
        hint="U6: nothing leaves without the approval of an authorised contact.",
    ),
    "file_problem_report": ActionForm(
        "File a Problem Report",
        "File PR",
        (Field("summary", "Summary", "textarea", True),),
        hint="E2: to product engineering; the case stays open and linked.",
    ),
    "accept": ActionForm("Accept this case", "Accept", (), "primary"),
    "acknowledge_escalation": ActionForm(
        "Acknowledge the escalation", "Acknowledge", (Field("note", "Note"),), "primary"
    ),
    "de_escalate": ActionForm("De-escalate", "De-escalate", (Field("note", "Note"),)),
}

DONE = {name: form.label for name, form in FORMS.items()} | {"attach": "Attach a file"}
STATE_WORDS = {
    "queued": "Queued for an engineer",
    "in_progress": "In progress",
    "waiting_on_customer": "Waiting on the customer",
    "waiting_on_vendor": "Waiting on our escalation team",
    "resolved": "Resolved",
    "closed": "Closed",
}


# --- what the templates are given ------------------------------------------------------------


def duration_words(seconds: float | None) -> str:
    if seconds is None:
        return ""
    late = seconds < 0
    left = int(math.ceil(abs(seconds) / 60))
    days, rest = divmod(left, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days}d"] if days else []
    parts += [f"{hours}h"] if hours else []
    parts += [f"{minutes}m"] if minutes or not parts else []
    text = " ".join(parts)
    return f"{text} overdue" if late else f"{text} left"


def when(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass
class Clock:
    """The SLA clock as the case page shows it (S1-S4, U4)."""

    status: str  # running, paused, met, breached
    headline: str
    detail: str = ""


def clock_of(view: CaseView) -> Clock:
    sla = view.sla
    if sla.responded_at is not None:
        late = sla.breached_at is not None
        return Clock(
            "breached" if late else "met",
            f"First response {when(sla.responded_at)}",
            "after the target: breached" if late else f"within the {_target(view)} target",
        )
    if sla.breached_at is not None:
        return Clock(
            "breached",
            f"Breached at {when(sla.breached_at)}",
            f"No first response yet; the {_target(view)} target was {when(sla.due_at)}",
        )
    if view.state in ("closed", "resolved") or view.ended:
        return Clock("met", "Clock stopped", f"the case is {view.state}")
    if view.sla_paused_reason:
        return Clock("paused", "Clock paused", view.sla_paused_reason)
    return Clock(
        "running",
        duration_words(view.sla_remaining_seconds),
        f"First response due {when(sla.due_at)} ({_target(view)} target)",
    )


def _target(view: CaseView) -> str:
    return duration_words(view.sla.target.total_seconds()).removesuffix(" left")


def waits_for(view: CaseView) -> str:
    """What the case waits for now, in words (E5, U4, U6)."""
    if view.ended:
        return f"Nothing: the case {view.ended.replace('_', ' ')}"
    pending = next((a for a in view.log_approvals if a.status == "pending"), None)
    if pending is not None:
        return (
            f"The customer's approval to share {', '.join(pending.logs)} with product "
            f"engineering (expires {when(pending.expires_at)})"
        )
    if view.state == "waiting_on_customer":
        items = ", ".join(i.replace("_", " ") for i in view.waiting_for) or "information"
        return f"The customer: {items}"
    if view.state == "queued":
        return view.sla_paused_reason or "An engineer to be assigned"
    if view.state == "waiting_on_vendor":
        return "Our escalation team (P4)"
    if view.state == "resolved":
        return "The customer to confirm and close, or reopen"
    if view.state == "closed":
        return "Nothing: the case is closed"
    owner = view.owner.engineer_name if view.owner else "the engineer"
    return f"{owner} working the case"


@dataclass
class Offered:
    name: str
    form: ActionForm
    fields: list[Field] = field(default_factory=list)


def offered_actions(person: Identity, view: CaseView) -> list[Offered]:
    """The engine's allowed actions, narrowed to the forms this person's kind has. Someone the
    case withholds its content from (U5) is offered none: they could not know what they act on,
    and the case would refuse them."""
    if view.content_withheld:
        return []
    mine = ROLE_ACTIONS.get(person.kind, ())
    allowed = set(view.allowed_actions)
    offered = []
    for name in mine:
        if name not in allowed or name not in FORMS:
            continue
        form = FORMS[name]
        fields = list(form.fields)
        if name == "request_log_approval":  # the case's own files
            fields[0] = Field(
                "logs", "Logs", "checkboxes", True, tuple(a.id for a in view.attachments)
            )
        offered.append(Offered(name, form, fields))
    return offered


def may_attach(person: Identity, view: CaseView) -> bool:
    return (
        not view.content_withheld
        and "attach" in view.allowed_actions
        and person.kind
        in (
            "contact",
            "engineer",
            "partner_engineer",
        )
    )


# --- the routes --------------------------------------------------------------------------------


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
        target = _safe_next(str(form.get("next") or ""))
        if not token or not same_token(token, str(form.get("csrf") or "")):
            return _sign_in_page(
                page,
                request,
                target,
                "The sign-in form expired: sign in again.",
                _new_sign_in_token(),
                400,
            )
        credential = str(form.get("credential") or "").strip()
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
        if who is not None and not same_token(who[1].csrf, str(form.get("csrf") or "")):
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
            priorities=_PRIORITIES,
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
            priorities=_PRIORITIES,
        )

    @app.post("/cases/new", include_in_schema=False)
    async def open_from_page(request: Request) -> Response:
        who = await page.signed_in(request)
        if who is None:
            return _to_sign_in(request)
        person, session = who
        form = await request.form()
        if not same_token(session.csrf, str(form.get("csrf") or "")):
            return HTMLResponse("the form expired: reload the page and send it again", 400)
        values = {
            k: str(form.get(k) or "").strip()
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
                priorities=_PRIORITIES,
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
        if not same_token(session.csrf, str(form.get("csrf") or "")):
            return HTMLResponse("the form expired: reload the page and send it again", 400)
        try:
            case_id = center.case_number(case)
            if action not in FORMS:
                raise DoorError(404, f"there is no action {action!r} on this page")
            await center.act_for(door, person, case_id, action, form_body(action, form))
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
        if not same_token(session.csrf, str(form.get("csrf") or "")):
            return HTMLResponse("the form expired: reload the page and send it again", 400)
        upload = form.get("file")
        try:
            case_id = center.case_number(case)
            if not isinstance(upload, UploadFile) or not upload.filename:
                raise DoorError(422, "attach not sent: choose a file", ["file"])
            kind = str(form.get("kind") or "log")
            await center.attach_for(door, person, case_id, upload, kind)  # type: ignore[arg-type]
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
        active_escalation=next((e for e in view.escalations if e.ended_at is None), None),
        pending_approval=next((a for a in view.log_approvals if a.status == "pending"), None),
        done=DONE.get(done or "", "Case opened" if done == "opened" else ""),
        error=error,
    )
