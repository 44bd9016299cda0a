"""Case numbers as people write them, and the ids of the workflows a case request makes.

Pure, without Temporal: the CLI reads a case number before it loads anything else, the door
answers 400 with the same sentence, and the codec registers an intake's realm by its id.
"""

from __future__ import annotations

from casework.domain.models import CASE_ID_PATTERN, case_id_for
from casework.errors import CaseworkError

MAX_CASE_NUMBER_CHARS = 40
"""A case number as typed: `case-000123-esc-1` is 17 characters; nothing longer is one."""


def case_id_from(text: str) -> str:
    """`case-000123` from `123` or `case-000123` (a partner case's vendor escalation,
    `case-000123-esc-1`, as it is); CaseworkError saying how to write one otherwise."""
    case_id = text.strip()
    if len(case_id) > MAX_CASE_NUMBER_CHARS:
        shown = f"{case_id[:MAX_CASE_NUMBER_CHARS]}..."
    else:
        shown = case_id
        if case_id.isdigit():
            case_id = case_id_for(int(case_id))
        if CASE_ID_PATTERN.match(case_id):
            return case_id
    raise CaseworkError(
        f"{shown!r} is not a case number; write it like case-000123 or 123 "
        "(a vendor escalation: case-000123-esc-1)"
    )


def intake_id(request_id: str) -> str:
    """The workflow that opens the case of request `request_id` (its Idempotency-Key)."""
    return f"intake-{request_id}"
