"""`GET /v1/whoami`: who the credential belongs to, as the directory knows them now."""

from __future__ import annotations

from fastapi import APIRouter

from casework.door.people import Identity
from casework.door.routes.common import Person

router = APIRouter()


@router.get("/v1/whoami")
async def whoami(person: Person) -> Identity:
    return person
