"""An open request's Idempotency-Key is the caller's own (issue 24): before, a key another
account had used answered 422 naming which fields differed (an oracle on that account's
request) and blocked the key for its owner. Now a contact's keys are their account's and
anyone else's their own: two accounts with one key get two cases, and "differs in ..." only
ever compares a request with the caller's own earlier one. The same caller keeps the
documented behaviour: the same key and request answer the same case (created false)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from casework.store import Store
from casework.store.tables import case_numbers
from tests.conftest import Desk
from tests.door_helpers import bearer, door, key_for

pytestmark = pytest.mark.timeout(240)

HA_PROBLEM = {
    "product": "FortiGate",
    "version": "7.4.3",
    "priority": "P2",
    "description": "HA cluster fails over every few minutes",
}


async def open_with(
    http: httpx.AsyncClient, key: str, who: dict[str, str], **changes: Any
) -> httpx.Response:
    return await http.post(
        "/v1/cases", json={**HA_PROBLEM, **changes}, headers=who | {"Idempotency-Key": key}
    )


def opened(answer: httpx.Response, desk: Desk) -> tuple[str, bool]:
    assert answer.status_code == 200, answer.text
    case_id, created = answer.json()["case_id"], answer.json()["created"]
    desk.opened.append(case_id)
    return case_id, created


async def test_two_accounts_with_one_key_get_two_cases_and_learn_nothing_of_each_other(
    store: Store, desk: Desk, tmp_path: Path
) -> None:
    key = f"portal-{uuid.uuid4().hex[:12]}"
    alice, bob, carol, dana = (
        bearer(key_for(store, p)) for p in ("acme-alice", "acme-bob", "globex-carol", "cc-dana")
    )
    async with door(store, desk, tmp_path) as http:
        acme, created = opened(await open_with(http, key, alice), desk)
        assert created
        globex, created = opened(await open_with(http, key, carol), desk)
        assert created and globex != acme  # not 422 "differs in account_id, contact_id"
        again, created = opened(await open_with(http, key, carol), desk)
        assert (again, created) == (globex, False)
        other = await open_with(http, key, carol, priority="P1")  # her own earlier request
        assert other.status_code == 422, other.text
        assert other.json()["fields"] == ["priority"]
        assert f"the key {key!r} was used for another request of yours" in other.json()["detail"]
        again, created = opened(await open_with(http, key, alice), desk)
        assert (again, created) == (acme, False)  # not blocked by Globex's use of it
        # a contact's keys are their account's: Bob's request is compared with Alice's
        shared = await open_with(http, key, bob)
        assert shared.status_code == 422 and shared.json()["fields"] == ["contact_id"]
        # Customer Care's keys are the agent's own
        phone, created = opened(
            await open_with(http, key, dana, account_id="globex", contact_id="globex-carol"),
            desk,
        )
        assert created and phone not in (acme, globex)
    ids = request_ids(store)
    assert {f"acme:{key}", f"globex:{key}", f"cc-dana:{key}"} <= ids, ids


async def test_a_key_as_long_as_it_may_be_stays_within_the_request_ids_bounds(
    store: Store, desk: Desk, tmp_path: Path
) -> None:
    """An id holds 64 characters, so do the database's request ids; `acme:` and a key of 64
    do not fit and are hashed: still the caller's own, still the same case on a retry."""
    key = uuid.uuid4().hex * 2  # 64 characters, the longest Idempotency-Key
    alice = bearer(key_for(store, "acme-alice"))
    async with door(store, desk, tmp_path) as http:
        first, created = opened(await open_with(http, key, alice), desk)
        assert created
        again, created = opened(await open_with(http, key, alice), desk)
        assert (again, created) == (first, False)
        changed = await open_with(http, key, alice, priority="P3")
        assert changed.status_code == 422 and key in changed.json()["detail"], changed.text
        carol = bearer(key_for(store, "globex-carol"))
        theirs, created = opened(await open_with(http, key, carol), desk)
        assert created and theirs != first
    hashed = [i for i in request_ids(store) if i.startswith("key-")]
    assert len(hashed) == 2 and all(len(i) <= 64 for i in request_ids(store)), hashed


def request_ids(store: Store) -> set[str]:
    with store.engine.connect() as conn:
        return {r.request_id for r in conn.execute(select(case_numbers.c.request_id))}
