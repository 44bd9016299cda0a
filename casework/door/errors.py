"""The door's answers other than 2xx: `DoorError` (a status and one paragraph), answered as
`application/problem+json` (RFC 9457: `type`, `title`, `status`, `detail`, plus `error`, the same
paragraph, which `casework` prints, and `fields`, the fields a 422 names); validation errors as
the field and what to write; a casework refusal as its status (400 bad input, 404 no case, 409
refused by the case, 422 a malformed field, 503 not answering)."""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from temporalio.exceptions import ApplicationError

from casework.errors import CaseworkError

FIELD_HINTS = {
    "string_pattern_mismatch": "may contain only letters, digits and . _ @ : -",
    "string_too_short": "must not be empty",
    "extra_forbidden": "is not a field of this request",
    "missing": "is required",
}


PROBLEMS: dict[int, tuple[str, str]] = {
    400: ("bad-request", "The request is not one this API takes"),
    401: ("unauthenticated", "No valid credential"),
    403: ("forbidden", "Not allowed for this person"),
    404: ("not-found", "No such case or resource"),
    409: ("refused", "The case refused the action"),
    413: ("too-large", "The request or file is too large"),
    422: ("invalid-field", "A field of the request is not valid"),
    429: ("busy", "The case is busy: send it again shortly"),
    503: ("unavailable", "The engine did not answer in time"),
}
"""RFC 9457 problem types by status: `type` is `/problems/<slug>` (the door serves a page
that explains each), `title` the same for every problem of the type."""


class DoorError(Exception):
    """An answer other than 2xx: the status and one paragraph (the problem's `detail`);
    `fields` are the request's fields a 422 names; `headers` go with the answer (a 429's
    Retry-After, an action's Idempotency-Key)."""

    def __init__(
        self,
        status: int,
        message: str,
        fields: list[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields or []
        self.headers = headers or {}


def problem(status: int, detail: str, fields: list[str] | None = None) -> dict[str, Any]:
    """The RFC 9457 body of an error answer; `error` repeats `detail` for older clients."""
    slug, title = PROBLEMS.get(status, ("error", "The request failed"))
    body: dict[str, Any] = {
        "type": f"/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        "error": detail,
    }
    if fields:
        body["fields"] = fields
    return body


def problem_response(
    status: int,
    detail: str,
    fields: list[str] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        problem(status, detail, fields),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


PROBLEM_JSON = "application/problem+json"


def invalid(error: ValidationError | RequestValidationError, what: str) -> DoorError:
    """422 naming the fields: a body that is JSON but whose fields are not valid."""
    return DoorError(422, explain(error, what), field_names(error))


def field_names(error: ValidationError | RequestValidationError) -> list[str]:
    names = []
    for err in error.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        names.append(".".join(loc) or "request")
    return list(dict.fromkeys(names))


def explain(error: ValidationError | RequestValidationError, what: str) -> str:
    """A validation error as the field and what to write in it."""
    parts = []
    for err in error.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        where = ".".join(loc) or "the request"
        message = FIELD_HINTS.get(err["type"], str(err["msg"]).removeprefix("Value error, "))
        parts.append(f"{where}: {message}")
    return f"{what}: " + "; ".join(parts)


def refusal_type(error: BaseException) -> str | None:
    """The ApplicationError type behind a CaseworkError. `casework.client` raises it `from
    None`, which hides the cause from tracebacks but keeps it as `__context__`."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [error]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ApplicationError) and current.type:
            return current.type
        stack += [current.__cause__, current.__context__]
    return None


def case_error(error: CaseworkError) -> DoorError:
    message = str(error)
    if message.startswith("there is no case"):
        return DoorError(404, message)
    kind = refusal_type(error)
    if kind == "InvalidPayload":
        return DoorError(422, message)
    if kind == "IdempotencyKeyReused":
        return DoorError(422, message, ["Idempotency-Key"])
    if kind == "DirectoryUnavailable":
        return DoorError(503, message)
    return DoorError(409, message)
