"""The door's webhook routes (issue 13's integrations, delivered by issue 14's relay):
`POST /v1/webhooks` (the secret in the answer, once), `GET /v1/webhooks`,
`DELETE /v1/webhooks/{id}`.

The door has no operator role of its own (the namespace's operator is whoever reaches Temporal):
these routes are for the people the deployment names in CASEWORK_OPERATORS (directory ids,
comma-separated), authenticated like everyone else; anyone else is refused with 403. A body that
is not `{url, events}` is a 422 (casework.door.bodies), as on every route that reads one."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from casework.door.bodies import json_object
from casework.door.errors import DoorError
from casework.door.operators import operators_only
from casework.door.people import Identity
from casework.door.service import Door
from casework.notify.subscriptions import subscription

EXAMPLE = '{"url": "https://hooks.example/casework", "events": ["all"]}'
router = APIRouter()

Operator = Annotated[
    Identity,
    Depends(operators_only("manage webhooks", "run `casework webhooks` on the engine's host")),
]


@router.post("/v1/webhooks", status_code=201)
async def add_webhook(person: Operator, request: Request) -> dict[str, Any]:
    door: Door = request.app.state.door
    body = json_object(await request.body(), EXAMPLE)
    url, events = body.get("url", ""), body.get("events") or ["all"]
    if not isinstance(url, str):
        raise DoorError(422, f"no webhook added: url must be a text, like {EXAMPLE}", ["url"])
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        raise DoorError(
            422,
            f"no webhook added: events must be a list of event names, like {EXAMPLE}",
            ["events"],
        )
    try:
        asked = subscription(url, events)
    except ValueError as e:
        raise DoorError(422, f"no webhook added: {e}") from None
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
        "note": "the secret is shown once: keep it to verify webhook-signature with a "
        "Standard Webhooks library (Casework-Signature comes too until 2027-06-30)",
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
