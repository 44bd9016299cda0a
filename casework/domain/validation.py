"""Turning a payload a caller sent into an action model, with a sentence that says what was
wrong and what was expected. Pure: the case workflow's update validators, its handlers and
the `act` signal all use it, so a malformed payload reads the same on every path.

Also the rule for the characters of a text field (issue 24), which the models' text types
(`casework.domain.models`: ShortText, LongText, OptionalText, OptionalLine) apply wherever a
request is validated: a one-line field (an id, a product, a version, a name, a one-line reason,
an attachment's name) takes no control character at all (C0, DEL, C1, and the Unicode line and
paragraph separators); a text (a description, a comment, a note) keeps its line breaks and tabs
and takes no other control character. What a case accepted before the rule was recorded in its
history as it was: it is read back (`RECORDED`) without the rule, so a running case still
decodes and replays."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic_core import PydanticCustomError

M = TypeVar("M", bound=BaseModel)

CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
"""What a one-line field refuses: C0 (line feed and carriage return among them), DEL, C1 (next
line among them), and the Unicode line and paragraph separators."""
TEXT_CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
"""What a text refuses: the same but tab, line feed and carriage return (a browser's text area
sends CR LF)."""
CONTROL_CHARACTER = "control_character"
"""The pydantic error type of both rules."""
RECORDED: dict[str, Any] = {"recorded": True}
"""Validation context for what a case accepted before the character rule (its history, the state
it carries): read back as it was accepted."""
_NAMES = {
    "\x00": "NUL",
    "\t": "tab",
    "\n": "line feed",
    "\r": "carriage return",
    "\x1b": "escape",
    "\x7f": "delete",
    "\x85": "next line",
    "\u2028": "line separator",
    "\u2029": "paragraph separator",
}


def _described(character: str) -> str:
    name = _NAMES.get(character, "a control character")
    return f"U+{ord(character):04X} ({name})"


def _recorded(info: ValidationInfo | None) -> bool:
    context = info.context if info is not None else None
    return isinstance(context, dict) and context.get("recorded") is True


def one_line(value: str, info: ValidationInfo) -> str:
    """A one-line field's rule (pydantic after-validator): no control character at all."""
    found = CONTROL_CHARACTERS.search(value)
    if found is None or _recorded(info):
        return value
    raise PydanticCustomError(
        CONTROL_CHARACTER,
        "must be one line without control characters; it has {character} at character "
        "{position}: remove it",
        {"character": _described(found.group()), "position": found.start() + 1},
    )


def text_lines(value: str, info: ValidationInfo) -> str:
    """A text's rule (pydantic after-validator): line breaks and tabs, no other control
    character."""
    found = TEXT_CONTROL_CHARACTERS.search(value)
    if found is None or _recorded(info):
        return value
    raise PydanticCustomError(
        CONTROL_CHARACTER,
        "has {character} at character {position}, a control character: a text takes line "
        "breaks and tabs only; remove it",
        {"character": _described(found.group()), "position": found.start() + 1},
    )


MAX_PAYLOAD_CHARS = 64_000
"""The largest action payload, as JSON: every text field is at most 20,000 characters."""


class PayloadError(ValueError):
    """The payload is not one the action takes; the message says why and what it expects."""


def read_as_recorded(model: type[BaseModel]) -> WrapValidator:
    """For a field holding what a case accepted before (a request it carries in its history
    and its state): read back without the character rule, so a case opened before the rule
    still decodes."""

    def read(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if isinstance(value, dict):
            return model.model_validate(value, context=RECORDED)
        return handler(value)

    return WrapValidator(read)


# --- the field types of the models (casework.domain.models re-exports them) ---------------

Identifier = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[\w.@:-]+$"),
]
"""An id: letters, digits and . _ @ : - (so never a control character)."""
ShortText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(one_line),
]
"""One line (a product, a version, a name): no control character."""
LongText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000),
    AfterValidator(text_lines),
]
"""A text (a description, a comment): line breaks and tabs, no other control character."""
OptionalText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=20_000),
    AfterValidator(text_lines),
]
"""A note or reason that may be left out; as long as a LongText at the most."""
OptionalLine = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=20_000),
    AfterValidator(one_line),
]
"""A one-line reason that may be left out (the Case Center's one-line inputs): no control
character, as a ShortText."""


SUBJECT_CHARS = 120
"""The longest subject: a line a list shows whole."""
Subject = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=SUBJECT_CHARS),
    AfterValidator(one_line),
]
"""A case's subject (issue 26): one short line, no control character."""


def subject_of(subject: str | None, description: str) -> str:
    """The subject a case shows: its own, or (an integration that sent none, a case opened
    before subjects) its description's first non-blank line, cut to SUBJECT_CHARS."""
    if subject:
        return subject
    for line in description.splitlines():
        line = CONTROL_CHARACTERS.sub(" ", line).strip()
        if line:
            return line if len(line) <= SUBJECT_CHARS else line[: SUBJECT_CHARS - 1] + "…"
    return ""


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
    a value out of range (a control character in a text among them), or larger than
    MAX_PAYLOAD_CHARS. The same on every path: an update's validator, the case's handlers, the
    `act` signal, the door."""
    example = example_of(model)
    if not isinstance(payload, dict):
        raise PayloadError(f"the payload must be a JSON object like {example}")
    try:
        size = len(json.dumps(payload, default=str, ensure_ascii=False))
    except (TypeError, ValueError, RecursionError):  # a cycle, or nested past Python's limit
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
