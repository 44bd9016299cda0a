"""The door's liveness and readiness (issue 27; `casework.health` says what each means):
`GET /livez` answers while the door serves at all; `GET /readyz` answers 200 only while Temporal
and the database answer, 503 (with which one failed) otherwise. No credential: a load balancer
probes them. `/healthz` stays as the old name of liveness."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from casework.health import Health

router = APIRouter(include_in_schema=False)


def _health(request: Request) -> Health:
    found = getattr(request.app.state, "health", None)
    if found is None:
        door = request.app.state.door
        found = request.app.state.health = Health(door.client, door.store)
    return found  # type: ignore[no-any-return]


@router.get("/livez")
async def livez(request: Request) -> JSONResponse:
    ok, checks = _health(request).live()
    return JSONResponse({"status": "ok" if ok else "failing", "checks": checks}, 200 if ok else 503)


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    ok, checks = await _health(request).ready()
    return JSONResponse({"status": "ok" if ok else "failing", "checks": checks}, 200 if ok else 503)
