"""`GET /healthz`, the door's first liveness answer (no credential; the only one in the OpenAPI
document), beside `/livez` and `/readyz` (casework.door.health, which says what each means)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()


@router.get("/healthz")
async def healthz() -> dict[str, bool]:
    return {"ok": True}
