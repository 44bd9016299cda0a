"""Errors as RFC 9457 problems: the app's handlers that turn every error into one
(`casework.door.errors` says which status means what), and `GET /problems/{slug}`, the page
each problem's `type` points to."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from casework.door.errors import PROBLEMS, DoorError, explain, field_names, problem_response

router = APIRouter()


@router.get("/problems/{slug}", response_class=HTMLResponse, include_in_schema=False)
async def problem_type(slug: str) -> HTMLResponse:
    """What each problem `type` means (RFC 9457 asks that a type URI explain itself)."""
    for status, (name, title) in PROBLEMS.items():
        if name == slug:
            return HTMLResponse(
                f"<!doctype html><title>{title}</title><h1>{status} {title}</h1>"
                "<p>The problem's <code>detail</code> says what was wrong and how to fix "
                "it. See <a href='/docs'>/docs</a>.</p>"
            )
    raise DoorError(404, f"there is no problem type {slug!r}")


async def _door_error(request: Request, error: DoorError) -> JSONResponse:
    return problem_response(error.status, error.message, error.fields, error.headers)


async def _bad_request(request: Request, error: RequestValidationError) -> JSONResponse:
    return problem_response(422, explain(error, "bad request"), field_names(error))


async def _http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
    message = str(error.detail)
    if error.status_code == 404:
        message = f"there is no {request.url.path} in this API (see /docs)"
    if error.status_code == 400:  # only the form parsers answer a bare 400 (issue 24)
        return problem_response(
            422,
            f"the request body is not a form this route takes ({message}): send "
            "multipart/form-data (a file in the field `file`) or a URL-encoded form",
        )
    return problem_response(error.status_code, message)


API_ANSWERS: dict[type[Exception], Any] = {
    DoorError: _door_error,
    RequestValidationError: _bad_request,
    StarletteHTTPException: _http_error,
}
"""Each error's problem answer; the page (casework.door.page.errors) answers its own paths with
pages and hands the API's paths to these."""


def answer_with_problems(app: FastAPI) -> None:
    """Every error of `app` answers as a problem: the door's own, a request FastAPI could not
    read, and Starlette's (no such path, a form it could not parse)."""
    for kind, handler in API_ANSWERS.items():
        app.add_exception_handler(kind, handler)
