"""Turning a payload a caller sent into an action model, with a sentence that says what was
wrong and what was expected. Pure: the case workflow's update validators, its handlers and
the `act` signal all use it, so a malformed payload reads the same on every path."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

MAX_PAYLOAD_CHARS = 64_000
"""The largest action payload, as JSON: every text field is at most 20,000 characters."""


class PayloadError(ValueError):
    """The payload is not one the action takes; the message says why and what it expects."""


def first_error(error: ValidationError, most: int = 3) -> str:
    """What was wrong, field by field (the first `most` problems), without quoting values."""
    parts = []
    for err in error.errors()[:most]:
        where = ".".join(str(p) for p in err["loc"]) or "payload"
        parts.append(f"{where}: {err['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


def example_of(model: type[BaseModel]) -> str:
    """`{"actor": ..., "text": ...}`: the fields a caller must send."""
    fields = model.model_fields
    named = [f for f, info in fields.items() if info.is_required()] or list(fields)[:1]
    return "{" + ", ".join(f'"{f}": ...' for f in named) + "}"


def parse_payload(model: type[M], payload: Any) -> M:
    """The payload as `model`, or PayloadError: not a JSON object, unknown or missing fields,
    a value out of range, or larger than MAX_PAYLOAD_CHARS."""
    example = example_of(model)
    if not isinstance(payload, dict):
        raise PayloadError(f"the payload must be a JSON object like {example}")
    try:
        size = len(json.dumps(payload, default=str, ensure_ascii=False))
    except (TypeError, ValueError):
        raise PayloadError(f"the payload must be a JSON object like {example}") from None
    if size > MAX_PAYLOAD_CHARS:
        raise PayloadError(
            f"the payload is {size:,} characters; an action takes at most "
            f"{MAX_PAYLOAD_CHARS:,}: shorten the text or attach it as a file"
        )
    try:
        return model.model_validate(payload)
    except ValidationError as e:
        raise PayloadError(f"{first_error(e)} (expected {example})") from None


def actor_id_of(payload: Any) -> str:
    """Who a malformed payload says it is from, for the refusal on the feed."""
    actor = payload.get("actor") if isinstance(payload, dict) else None
    return actor.strip()[:64] if isinstance(actor, str) and actor.strip() else "unknown"
