"""A case's feed, page by page (`GET /v1/cases/{case}/feed`, E4)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from casework.door import center
from casework.door.center import FeedPage
from casework.door.routes.common import Person, TheDoor

router = APIRouter()


@router.get("/v1/cases/{case}/feed")
async def feed(
    person: Person,
    door: TheDoor,
    case: str,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1)] = 50,
) -> FeedPage:
    """Older pages come from the database; U5 withholds them from outsiders as the case
    withholds its own tail."""
    return await center.feed_for(door, person, center.case_number(case), page, page_size)
