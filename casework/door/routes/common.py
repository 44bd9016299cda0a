"""What the API's routers share: the authenticated person, the door, the JSON body and the
Idempotency-Key header, as FastAPI dependencies (none of them adds a parameter to the OpenAPI
document but the header)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, Request

from casework.door.bodies import json_object
from casework.door.people import Identity
from casework.door.service import Door


async def json_body(request: Request) -> dict[str, Any]:
    """The body's fields; 422 for any body that is not a JSON object (casework.door.bodies)."""
    return json_object(await request.body())


async def _authenticated(request: Request) -> Identity:
    door: Door = request.app.state.door
    return await door.person(request.headers.get("authorization"))


def _door(request: Request) -> Door:
    door: Door = request.app.state.door
    return door


Person = Annotated[Identity, Depends(_authenticated)]
"""A handler's parameter: the authenticated person (401/403 before the handler runs)."""
TheDoor = Annotated[Door, Depends(_door)]
"""A handler's parameter: the app's `Door` (`create_app` keeps it in `app.state.door`)."""
IdempotencyKey = Annotated[
    str | None,
    Header(
        description="Any string of 1 to 64 letters, digits and . _ @ : - (a UUID is good), new "
        "for each action you mean to take once. Send a request again with the same key after "
        "a timeout, a 429 or a 503: the case applies it at most once (for 24 hours, and its "
        "256 newest actions) and answers with its first outcome; the same key with another "
        "request answers 422. Without one, a resend is a new action."
    ),
]
