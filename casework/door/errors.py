"""The door's answers other than 2xx: `DoorError` (a status and one paragraph for
`{"error": ...}`), validation errors as the field and what to write, and a casework refusal as
its status (400 bad input, 404 no case, 409 refused by the case, 503 not answering)."""

from __future__ import annotations

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from temporalio.exceptions import ApplicationError

from casework.errors import CaseworkError

FIELD_HINTS = {
    "string_pattern_mismatch": "may contain only letters, digits and . _ @ : -",
    "string_too_short": "must not be empty",
    "extra_forbidden": "is not a field of this request",
    "missing": "is required",
}


class DoorError(Exception):
    """An answer other than 2xx: the status and one paragraph for `{"error": ...}`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


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
        return DoorError(400, message)
    if kind == "DirectoryUnavailable":
        return DoorError(503, message)
    return DoorError(409, message)
