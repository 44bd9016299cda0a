"""What the page's routes share: the `Page` (its templates and sessions), who is signed in,
a checked form, a problem drawn as a page, and reading a form's fields."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from casework.door.errors import DoorError
from casework.door.people import Identity
from casework.door.presentation import STATE_WORDS, duration_words, when
from casework.door.service import Door
from casework.door.session import COOKIE, Session, Sessions, same_token
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

    async def visitor(self, request: Request) -> tuple[Identity, Session]:
        """Who is signed in; SignInFirst if nobody is."""
        who = await self.signed_in(request)
        if who is None:
            raise SignInFirst()
        return who

    async def form(self, request: Request, session: Session) -> FormData:
        """The request's form, if it carries the session's CSRF token; FormExpired if not."""
        form = await request.form()
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
        return self.templates.TemplateResponse(request, template, context, status_code=status)

    def problem(
        self, request: Request, person: Identity, session: Session, error: DoorError
    ) -> HTMLResponse:
        """The page that says what went wrong, with the error's status."""
        return self.render(
            request,
            "problem.html",
            status=error.status,
            person=person,
            csrf=session.csrf,
            error=error.message,
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
