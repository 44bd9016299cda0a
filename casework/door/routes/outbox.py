"""What the engine told people (`GET /v1/outbox`): the outbox's newest rows, of one case or of
all the person may look at, with U5's withholding and its audit."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query

from casework.domain.us_citizen import withhold_outbox
from casework.door import center
from casework.door.people import Identity
from casework.door.routes.common import Person, TheDoor
from casework.door.service import Door

router = APIRouter()


@router.get("/v1/outbox")
async def notifications(
    person: Person,
    door: TheDoor,
    case: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    """What the engine told people (newest `limit`, of one case or all the person may look
    at): a contact sees their own account's cases, a partner's engineer what went to them;
    U5 withholds a restricted case's bodies from outsiders, and every read of them, granted
    or refused, is audited."""
    case_id = center.case_number(case) if case else None
    rows = await asyncio.to_thread(door.store.outbox.rows, case_id, limit)
    rows = await _visible_to(door, person, rows)
    members = set(await asyncio.to_thread(door.store.directory.restricted_members))
    contacts_of: dict[str, set[str]] = {}
    for account_id in {r["account_id"] for r in rows if r["restricted"] and r["account_id"]}:
        contacts_of[account_id] = await door.contacts_of(account_id)
    restricted = {(r["case_id"], r["account_id"]) for r in rows if r["restricted"]}
    withhold_outbox(rows, person.id, members, contacts_of)
    for case_of, account_id in sorted(restricted, key=str):
        withheld = any(r["withheld"] for r in rows if r["case_id"] == case_of)
        reason = f"{person.id} is not in the restricted queue" if withheld else ""
        await door.audit(person, "outbox", case_of, account_id, not withheld, reason)
    return rows


async def _visible_to(
    door: Door, person: Identity, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The rows `person` may look at: a partner's engineer what went to them, a contact their
    own account's cases' (each case's account from its realm), anyone else every row."""
    accounts: dict[str, str | None] = {}
    for c in {r["case_id"] for r in rows if r["case_id"]}:
        realm = await asyncio.to_thread(door.store.realms.lookup, c)
        accounts[c] = realm.account_id if realm else None

    def visible(row: dict[str, Any]) -> bool:
        if person.kind == "partner_engineer":
            return bool(row["recipient_id"] == person.id)
        if person.kind == "contact":
            return accounts.get(row["case_id"] or "") == person.account
        return True

    return [r for r in rows if visible(r)]
