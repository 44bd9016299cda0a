"""The Case Center web page (issue 13), served by the door beside the API: customers and
engineers sign in with their credential, see their cases (filtered by state and priority), a
case with its feed, SLA clock and what it waits for, and act on it.

Server-rendered (Jinja2 templates in `templates/`, a small hand-written stylesheet in
`static/`), plain HTML forms, no script. Every page calls the same operations as the API
(`casework.door.center`), so one path leads into the engine and U5 withholds the same items.
The actions offered are the engine's `allowed_actions` of the case view, narrowed to those a
person of this kind takes (the catalogue's `offered_to`, a question of which forms to draw, not
a rule): the case still decides, and a refusal is shown with its reason, as the CLI prints it.
How a case is shown (the forms, the clock, what it waits for, in words) is
`casework.door.presentation`; the routes are in this package, one router each for signing in
(`signin`), the list of cases and a new one (`cases`), and one case (`case`); `base` holds
what they share; `errors` answers what went wrong as pages (issue 26), keeping a form sent after
the session ended as a draft (`casework.door.drafts`). Each person reads the page in their own
zone and, a customer, in plain words (`casework.door.words`).

Sign-in (`casework.door.session`): the person pastes their API key (or an OIDC access token);
the door authenticates it as the API does and keeps it in a sealed, HttpOnly, SameSite=Strict
cookie; every form carries the session's CSRF token. Nobody types who they are.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from casework.door.page import case, cases, signin
from casework.door.page.base import HERE, Page
from casework.door.page.case import form_body as form_body
from casework.door.page.errors import answer_with_pages
from casework.door.page.signin import safe_next as _safe_next
from casework.door.service import Door
from casework.identity.keyring import KeyRing

__all__ = ["_safe_next", "form_body", "mount_page"]


def mount_page(app: FastAPI, door: Door, ring: KeyRing) -> None:
    """The page's routes on `app`, beside the API (none of them in the OpenAPI document)."""
    app.state.page = Page(door, ring)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    answer_with_pages(app)
    for router in (signin.router, cases.router, case.router):
        app.include_router(router)
