"""The door's webhook routes (issue 13's integrations, delivered by issue 14's relay):
`POST /v1/webhooks` (the secret in the answer, once), `GET /v1/webhooks`,
`DELETE /v1/webhooks/{id}`.

The door has no operator role of its own (the namespace's operator is whoever reaches Temporal):
these routes are for the people the deployment names in CASEWORK_OPERATORS (directory ids,
comma-separated), authenticated like everyone else; anyone else is refused with 403."""

from __future__ import annotations

import asyncio
import os
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from casework.door.errors import DoorError
from casework.door.people import Identity
from casework.door.service import Door
from casework.notify.subscriptions import subscription

OPERATORS_ENV = "CASEWORK_OPERATORS"
router = APIRouter()


def operator_ids() -> set[str]:
    return {i.strip() for i in os.environ.get(OPERATORS_ENV, "").split(",") if i.strip()}


async def _operator(request: Request) -> Identity:
    door: Door = request.app.state.door
    person = await door.person(request.headers.get("authorization"))
    if person.id not in operator_ids():
        raise DoorError(
            403,
            f"{person.id} may not manage webhooks: only the deployment's operators "
            f"({OPERATORS_ENV}) may; ask one, or run `casework webhooks` on the engine's host",
        )
    return person


Operator = Annotated[Identity, Depends(_operator)]


@router.post("/v1/webhooks", status_code=201)
async def add_webhook(person: Operator, request: Request) -> dict[str, Any]:
    door: Door = request.app.state.door
    try:
        body = await request.json()
    except ValueError:
        raise DoorError(400, "the request body is not JSON: send {url, events}") from None
    if not isinstance(body, dict):
        raise DoorError(400, "the request body must be a JSON object: {url, events}")
    try:
        asked = subscription(str(body.get("url", "")), list(body.get("events") or ["all"]))
    except (ValueError, TypeError) as e:
        raise DoorError(400, f"no webhook added: {e}") from None
    try:
        webhook_id, secret = await asyncio.to_thread(
            door.store.webhooks.add, asked.url, asked.events, person.id
        )
    except ValueError as e:
        raise DoorError(409, f"no webhook added: {e}") from None
    return {
        "id": webhook_id,
        "url": asked.url,
        "events": asked.events,
        "secret": secret,
        "note": "the secret is shown once: keep it to verify Casework-Signature",
    }


@router.get("/v1/webhooks")
async def list_webhooks(person: Operator, request: Request) -> list[dict[str, Any]]:
    door: Door = request.app.state.door
    rows = await asyncio.to_thread(door.store.webhooks.active)
    return [{**r, "created_at": r["created_at"].isoformat()} for r in rows]


@router.delete("/v1/webhooks/{webhook_id}")
async def remove_webhook(person: Operator, request: Request, webhook_id: str) -> dict[str, str]:
    door: Door = request.app.state.door
    if not await asyncio.to_thread(door.store.webhooks.remove, webhook_id):
        raise DoorError(404, f"there is no webhook {webhook_id}")
    return {"removed": webhook_id}
