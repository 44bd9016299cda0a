"""What the page's routes share: the `Page` (its templates and sessions), who is signed in,
a checked form, a problem drawn as a page, and reading a form's fields."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException

from casework.door.drafts import (
    BROWSER_COOKIE,
    BROWSER_DAYS,
    Draft,
    Drafts,
    new_browser_id,
    valid_browser_id,
)
from casework.door.errors import DoorError
from casework.door.people import Identity, zone_of_person
from casework.door.presentation import STATE_WORDS, duration_words, when
from casework.door.problem_page import problem_context
from casework.door.service import Door
from casework.door.session import COOKIE, Session, Sessions, same_token
from casework.door.words import kind_words, reader_of, state_words
from casework.identity.keyring import KeyRing

T = TypeVar("T")

HERE = Path(__file__).parent.parent
"""casework/door: its `templates/` and `static/`."""


class SignInFirst(Exception):
    """Nobody is signed in: answered with a redirect to the sign-in form (and back after)."""


class FormExpired(Exception):
    """The form's CSRF token is not the session's: 400, saying what to do again."""

    def __init__(self, again: str = "send it again") -> None:
        super().__init__(f"the form expired: reload the page and {again}")


class Page:
    def __init__(self, door: Door, ring: KeyRing) -> None:
        self.door = door
        self.sessions = Sessions(ring)
        self.drafts = Drafts()
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.templates.env.globals.update(
            when=when,
            duration_words=duration_words,
            state_words=STATE_WORDS,
            kind_words=kind_words,
            state_label=lambda state, ended=None: state_words(state, ended, STATE_WORDS),
            say=lambda text: text or "",
            zone_name="UTC",
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

    async def visitor(self, request: Request) -> tuple[Identity, Session]:
        """Who is signed in; SignInFirst if nobody is. The page then speaks to them in their
        zone and, to a customer, in plain words (`casework.door.words`)."""
        who = await self.signed_in(request)
        if who is None:
            raise SignInFirst()
        request.state.visitor = who
        await self.speak_to(request, who[0])
        return who

    async def speak_to(self, request: Request, person: Identity) -> None:
        """Draw this request's pages for `person`: their zone, their words."""
        zone = await asyncio.to_thread(zone_of_person, self.door.store, person)
        request.state.reader = reader_of(person.kind, zone)

    async def form(self, request: Request, session: Session, max_files: int = 1000) -> FormData:
        """The request's form, if it carries the session's CSRF token; FormExpired if not.
        More than `max_files` files: DoorError 413, saying how many it takes."""
        try:
            form = await request.form(max_files=max_files)
        except HTTPException as e:
            if "files" not in str(e.detail).lower():
                raise
            raise DoorError(
                413, f"at most {max_files} files at once: send the others in another upload"
            ) from None
        if not same_token(session.csrf, field(form, "csrf")):
            raise FormExpired()
        return form

    def render(
        self,
        request: Request,
        template: str,
        status: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        reader = getattr(request.state, "reader", None)
        if reader is not None:
            context = {**reader.helpers(), **context}
        answer = self.templates.TemplateResponse(request, template, context, status_code=status)
        if context.get("person") is not None:
            remember_browser(request, answer)
        return answer

    def take_draft(self, request: Request, person: Identity, page: str) -> Draft | None:
        """What `person` typed on `page` in this browser before signing in again, once."""
        return self.drafts.take(request.cookies.get(BROWSER_COOKIE), person.id, page)

    def problem(
        self, request: Request, person: Identity, session: Session, error: DoorError
    ) -> HTMLResponse:
        """The page that says what went wrong and what to do, with the error's status."""
        return self.render(
            request,
            "problem.html",
            status=error.status,
            person=person,
            csrf=session.csrf,
            **problem_context(error.status, error.message),
        )


def remember_browser(request: Request, answer: Response) -> None:
    """Give this browser its id (`casework.door.drafts`) if it has none yet."""
    if valid_browser_id(request.cookies.get(BROWSER_COOKIE)) is None:
        answer.set_cookie(
            BROWSER_COOKIE,
            new_browser_id(),
            max_age=BROWSER_DAYS * 86400,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )


def to_sign_in(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/signin?next={quote(target)}", status_code=303)


def field(form: FormData, name: str, default: str = "") -> str:
    """A text field of a form (`default` when it is missing or empty). A file sent in its place
    is no text: "", which the model then names as wrong, never the file's description."""
    value = form.get(name)
    if value is None:
        return default
    return (value or default) if isinstance(value, str) else ""


def form_key(form: FormData) -> str | None:
    """The Idempotency-Key the page rendered into the form: sending the same form twice (a
    double click, Back and send again) takes the action once."""
    return field(form, "idempotency_key") or None


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


def the_page(request: Request) -> Page:
    """A route's `Page` (`mount_page` keeps it in `app.state.page`)."""
    page: Page = request.app.state.page
    return page
