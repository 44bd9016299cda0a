"""The page's answers to what went wrong (issue 26), as pages: nobody signed in (to the sign-in
page, keeping a form that was being sent as a draft), a form older than the session (kept as a
draft too), and every error on a page's path (`casework.door.problem_page`: an unknown address,
a bad parameter, a method the address does not take, a refusal, a file too large). The API's
paths keep their problem+json answers (`casework.door.routes.problems`)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException

from casework.door.drafts import BROWSER_COOKIE
from casework.door.errors import DoorError, explain
from casework.door.page.base import FormExpired, SignInFirst, the_page, to_sign_in
from casework.door.problem_page import is_page_path, problem_context
from casework.door.routes.problems import API_ANSWERS
from casework.door.session import COOKIE

_FORMS = (
    (re.compile(r"/cases/new"), None),
    (re.compile(r"/cases/([A-Za-z0-9_.-]{1,80})/act/([a-z_]{1,40})"), 2),
    (re.compile(r"/cases/([A-Za-z0-9_.-]{1,80})/attachments"), "attach"),
)


def form_of(path: str) -> tuple[str, str] | None:
    """The page a form sent to `path` is on, and which form it is; None for anything else."""
    for pattern, name in _FORMS:
        found = pattern.fullmatch(path)
        if found is None:
            continue
        if name is None:
            return "/cases/new", "open"
        if isinstance(name, int):
            return f"/cases/{found[1]}", found[name]
        return f"/cases/{found[1]}", name
    return None


async def keep_draft(request: Request, owner: str | None) -> str | None:
    """Keep the form being sent as `owner`'s draft in this browser; the page to go back to, or
    None if nothing was kept."""
    target = form_of(request.url.path) if request.method == "POST" else None
    if target is None or not owner:
        return None
    try:
        form: FormData = await request.form()
    except Exception:  # an unreadable or oversized body keeps nothing; the answer says why
        return None
    fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    kept = the_page(request).drafts.keep(
        request.cookies.get(BROWSER_COOKIE), owner, target[0], target[1], fields
    )
    return target[0] if kept else None


async def _sign_in_first(request: Request, error: SignInFirst) -> Response:
    """To the sign-in page, and back after. A form sent after the session ended is kept for the
    person whose session it was: signing in again brings it back filled."""
    page = the_page(request)
    ended = page.sessions.open(request.cookies.get(COOKIE), expired_too=True)
    back = await keep_draft(request, ended.person if ended else None)
    if back is not None:
        return RedirectResponse(f"/signin?next={quote(back)}&kept=1", status_code=303)
    if request.method != "GET":
        target = form_of(request.url.path)
        return RedirectResponse(f"/signin?next={quote(target[0] if target else '/cases')}", 303)
    return to_sign_in(request)


async def _form_expired(request: Request, error: FormExpired) -> Response:
    """The form was drawn under another session: nothing is done, what was typed is kept for
    the person signed in now, and the page says how to get it back."""
    visitor = getattr(request.state, "visitor", None)
    back = await keep_draft(request, visitor[0].id if visitor else None)
    message = str(error)
    if back is not None:
        message = (
            "The form expired (it was drawn before your current session), so nothing was sent. "
            "What you typed is "
            f"kept: open {back} and it is back in the form, ready to send."
        )
    return await page_error(request, 400, message, back=back)


async def page_error(
    request: Request,
    status: int,
    message: str,
    headers: dict[str, str] | None = None,
    back: str | None = None,
) -> Response:
    """The problem page, with the signed-in person (if anyone is) in its header."""
    page = the_page(request)
    visitor = getattr(request.state, "visitor", None)
    if visitor is None:
        visitor = await page.signed_in(request)
        if visitor is not None:
            await page.speak_to(request, visitor[0])
    person, session = visitor if visitor else (None, None)
    context: dict[str, Any] = problem_context(status, message)
    answer = page.render(
        request,
        "problem.html",
        status=status,
        person=person,
        csrf=session.csrf if session else "",
        back=back,
        **context,
    )
    for name, value in (headers or {}).items():
        answer.headers[name] = value
    return answer


async def _door_error(request: Request, error: DoorError) -> Response:
    if not is_page_path(request.url.path):
        return await API_ANSWERS[DoorError](request, error)
    return await page_error(request, error.status, error.message, error.headers)


async def _bad_request(request: Request, error: RequestValidationError) -> Response:
    if not is_page_path(request.url.path):
        return await API_ANSWERS[RequestValidationError](request, error)
    return await page_error(request, 400, explain(error, "this address has a bad parameter"))


async def _http_error(request: Request, error: StarletteHTTPException) -> Response:
    path = request.url.path
    if not is_page_path(path):
        return await API_ANSWERS[StarletteHTTPException](request, error)
    status = error.status_code
    if status == 404:
        message = f"There is no page at {path}."
    elif status == 405:
        message = f"{path} takes a form sent from its page ({request.method} is not one)."
    elif status == 400:  # only the form parsers answer a bare 400 (as the API's, a 422)
        status = 422
        message = f"The form could not be read ({error.detail}): send it again from its page."
    else:
        message = str(error.detail)
    return await page_error(request, status, message)


def answer_with_pages(app: FastAPI) -> None:
    """The page's handlers, over the API's (which still answer the API's paths)."""
    app.add_exception_handler(SignInFirst, _sign_in_first)  # type: ignore[arg-type]
    app.add_exception_handler(FormExpired, _form_expired)  # type: ignore[arg-type]
    app.add_exception_handler(DoorError, _door_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _bad_request)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
