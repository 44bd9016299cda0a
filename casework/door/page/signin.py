"""Signing in and out (`casework.door.session`): the person pastes their API key (or an OIDC
access token); the door authenticates it as the API does and keeps it in a sealed, HttpOnly,
SameSite=Strict cookie. Nobody types who they are."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from casework.door.errors import DoorError
from casework.door.page.base import FormExpired, Page, field, remember_browser, the_page
from casework.door.session import (
    COOKIE,
    COOKIE_GRACE_HOURS,
    SESSION_HOURS,
    SIGN_IN_COOKIE,
    same_token,
)

router = APIRouter(include_in_schema=False)
ThePage = Annotated[Page, Depends(the_page)]


def safe_next(value: str | None) -> str:
    """Only a path of this site (never `//elsewhere` or a URL): no open redirect."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/cases"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


@router.get("/")
async def home(request: Request, page: ThePage) -> Response:
    if await page.signed_in(request) is None:
        return RedirectResponse("/signin", status_code=303)
    return RedirectResponse("/cases", status_code=303)


@router.get("/signin")
async def sign_in_form(request: Request, page: ThePage, next: str | None = None) -> Response:
    token = request.cookies.get(SIGN_IN_COOKIE) or _new_sign_in_token()
    if await page.signed_in(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _sign_in_page(page, request, safe_next(next), "", token)


@router.post("/signin")
async def sign_in(request: Request, page: ThePage) -> Response:
    form = await request.form()
    token = request.cookies.get(SIGN_IN_COOKIE) or ""
    target = safe_next(field(form, "next"))
    if not token or not same_token(token, field(form, "csrf")):
        expired = "The sign-in form expired: sign in again."
        return _sign_in_page(page, request, target, expired, _new_sign_in_token(), 400)
    credential = field(form, "credential").strip()
    if not credential:
        missing = "Paste your API key (cw_...) to sign in."
        return _sign_in_page(page, request, target, missing, token, 422)
    try:
        person = await page.door.person(f"Bearer {credential}")
    except DoorError as e:
        return _sign_in_page(page, request, target, e.message, token, e.status)
    cookie, _ = page.sessions.new(credential, person.id)
    response = RedirectResponse(target, status_code=303)
    remember_browser(request, response)
    response.set_cookie(
        COOKIE,
        cookie,
        max_age=(SESSION_HOURS + COOKIE_GRACE_HOURS) * 3600,  # a draft knows whose it is
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/",
    )
    response.delete_cookie(SIGN_IN_COOKIE, path="/signin")
    return response


@router.post("/signout")
async def sign_out(request: Request, page: ThePage) -> Response:
    who = await page.signed_in(request)
    form = await request.form()
    if who is not None and not same_token(who[1].csrf, field(form, "csrf")):
        raise FormExpired("sign out again")
    response = RedirectResponse("/signin?signed_out=1", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


def _new_sign_in_token() -> str:
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
        kept=request.query_params.get("kept") == "1",
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
