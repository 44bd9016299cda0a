"""Every Case Center action but a file's (`POST /v1/cases/{case}/actions/{action}`): the
actions of the catalogue (casework/domain/catalogue.py), each body described in the OpenAPI
document from its model (casework.door.routes.openapi)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from casework.domain.actions import ActionResult
from casework.door import center
from casework.door.routes.common import IdempotencyKey, Person, TheDoor, json_body
from casework.door.service import IDEMPOTENCY_HEADER

router = APIRouter()


@router.post("/v1/cases/{case}/actions/{action}")
async def act(
    person: Person,
    door: TheDoor,
    case: str,
    action: str,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> ActionResult:
    """Any Case Center action but attach: the action's fields but `actor` (who acts comes
    from the credential); Customer Care adds `on_behalf_of` for a caller (E3, U6). Safe
    to send again with the same Idempotency-Key (after a timeout, a 429 or a 503): the
    case applies it at most once and answers with its first outcome."""
    case_id = center.case_number(case)
    body = await json_body(request)
    result = await center.act_for(door, person, case_id, action, body, idempotency_key)
    if idempotency_key is not None:
        response.headers[IDEMPOTENCY_HEADER] = idempotency_key
    return result
