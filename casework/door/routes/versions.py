"""The operators' versions routes (issue 28, casework.versions): `GET /v1/versions`, each
version of the deployment with its open cases and whether it may shut down, and
`POST /v1/versions/promote` with `{"build_id": "0.3.0"}` (and `"ramp": 10` for a ramp), a
rollout. Operators only (CASEWORK_OPERATORS, casework.door.operators), as `casework versions`
on the engine's host. A body that is not such an object is a 422 naming the field, a build no
worker polls a 409; either way nothing changed."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from temporalio.service import RPCError

from casework.door.bodies import json_object
from casework.door.errors import DoorError, invalid
from casework.door.operators import operators_only
from casework.door.people import Identity
from casework.door.routes.common import TheDoor
from casework.door.service import Door
from casework.settings import Settings
from casework.versions import (
    PromoteRequest,
    PromoteResult,
    VersionsRefused,
    VersionView,
    describe_versions,
    promote,
)

log = logging.getLogger(__name__)
router = APIRouter()
EXAMPLE = '{"build_id": "0.3.0", "ramp": 10}'

Operator = Annotated[
    Identity,
    Depends(
        operators_only("see or promote versions", "run `casework versions` on the engine's host")
    ),
]


def _settings(door: Door) -> Settings:
    """The deployment this door's workers register in (CASEWORK_DEPLOYMENT_NAME), on its
    task queue."""
    return Settings.from_env(task_queue=door.task_queue)


@router.get("/v1/versions")
async def list_versions(person: Operator, door: TheDoor) -> list[VersionView]:
    """Each version of the deployment (and the open workflows on no version yet, while there
    are any): current or ramping, its open cases and workflows, and whether its workers may
    shut down."""
    try:
        return await describe_versions(door.client, _settings(door))
    except RPCError as e:
        raise _unanswered(e) from None


@router.post("/v1/versions/promote")
async def promote_version(person: Operator, door: TheDoor, request: Request) -> PromoteResult:
    """Make `build_id` current (or ramping at `ramp` percent), then ask every open case and
    the relay on another version to roll over onto it. Its workers must be running."""
    body = json_object(await request.body(), EXAMPLE)
    try:
        asked = PromoteRequest.model_validate(body)
    except ValidationError as e:
        raise invalid(e, f"nothing promoted (send {EXAMPLE})") from None
    try:
        result = await promote(door.client, _settings(door), asked.build_id, asked.ramp)
    except VersionsRefused as e:
        raise DoorError(409, f"nothing promoted: {e}") from None
    except RPCError as e:  # before the promotion (nothing changed) or after it (promote again)
        raise _unanswered(e) from None
    log.info(
        "%s promoted %s of %s%s: %d workflows asked to roll over",
        person.id,
        result.build_id,
        result.deployment_name,
        f" (ramp {asked.ramp:g}%)" if asked.ramp is not None else "",
        result.asked,
    )
    return result


def _unanswered(error: RPCError) -> DoorError:
    return DoorError(
        503,
        f"Temporal did not answer as asked ({error.message or error}); see `GET /v1/versions` "
        "for where things stand, and send the request again",
    )
