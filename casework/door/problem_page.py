"""Errors a person meets on the Case Center page, as pages (issue 26): every error a browser can
reach (an unknown address, a bad parameter, a refused action, a busy case, an expired form, a
missing case, a forbidden one, a file too large) is an HTML page that says what happened and
what to do next, while the API's routes keep answering `application/problem+json`.

Which answer a path gets is decided by the path alone (`is_page_path`): the API, its problem
types, the codec, health and metrics are machines' addresses; every other path is the page's.
Pure rendering, no engine: `casework.door.bounds` answers an oversized upload from here before
any route runs, and `casework.door.page.errors` draws the page with the signed-in person.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse

TEMPLATES = Path(__file__).parent / "templates"
MACHINE_ROOTS = frozenset(
    {"v1", "codec", "healthz", "problems", "openapi.json", "docs", "redoc", "metrics"}
)
"""The first segment of every path that answers machines (problem+json, never a page)."""

HEADLINES: dict[int, str] = {
    400: "That request could not be read",
    401: "Please sign in",
    403: "That is not yours to see",
    404: "That page or case does not exist",
    405: "That address takes a form, not a visit",
    409: "The case did not take that action",
    413: "That is too large to send",
    422: "Something in that request needs fixing",
    429: "The case is busy right now",
    503: "The support engine is not answering",
}
WHAT_TO_DO: dict[int, str] = {
    400: "Go back, check what you typed or chose, and send it again.",
    401: "Sign in again with your API key; what you were doing is kept for you.",
    403: "If you think you should see it, ask the person who manages your account's support.",
    404: "Check the address, or go back to your cases and pick it from the list.",
    405: "Go back to the page the form is on and send it from there.",
    409: "The reason is above; the case's page shows what you can do now.",
    413: "Send a smaller file (compress it, or split a log), or fewer files at once.",
    422: "Correct what is named above and send it again.",
    429: "Nothing of yours was changed: wait a moment and send it again.",
    503: "Nothing was changed: try again in a minute. If it goes on, tell your support team.",
}


def is_page_path(path: str) -> bool:
    """A path of the page (an error there is a page), not of the API or another machine's."""
    return path.strip("/").split("/", 1)[0] not in MACHINE_ROOTS


def headline(status: int) -> str:
    return HEADLINES.get(status, "Something went wrong")


def what_to_do(status: int) -> str:
    return WHAT_TO_DO.get(status, "Go back to your cases and try again.")


def problem_context(status: int, message: str) -> dict[str, Any]:
    """What `problem.html` shows: the headline, what happened, what to do."""
    return {
        "code": status,
        "headline": headline(status),
        "error": message,
        "todo": what_to_do(status),
    }


_ENV = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape())
_ENV.globals.update(say=lambda text: text or "", zone_name="UTC")


def problem_page(status: int, message: str, headers: dict[str, str] | None = None) -> HTMLResponse:
    """The problem page without a person (before any route ran: nobody is known yet)."""
    html = _ENV.get_template("problem.html").render(person=None, **problem_context(status, message))
    return HTMLResponse(html, status_code=status, headers=headers)
