"""A partner's engineer lists their partner's cases only (issue 24, P3): before, the list gave
them every account's cases, restricted ones included, with account, owner and priority. The
API's list and the Case Center page's list say the same; `show` and the feed already refuse
another account's case (tests/test_door.py)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from casework.store import Store
from tests.conftest import Desk, eventually
from tests.door_helpers import bearer, door, key_for

pytestmark = pytest.mark.timeout(240)

PARTNER_QUEUE = "partner:northwind-it"


async def listed(http: httpx.AsyncClient, key: str, query: str = "") -> list[dict[str, str]]:
    answer = await http.get(f"/v1/cases{query}", headers=bearer(key))
    assert answer.status_code == 200, answer.text
    return list(answer.json())


async def test_a_partner_engineer_lists_their_partners_cases_only(
    store: Store, dev_desk: Desk, tmp_path: Path
) -> None:
    theirs = await dev_desk.open(
        channel="partner", partner_id="northwind-it", account_id="soylent", contact_id="soylent-sam"
    )
    ours = await dev_desk.open(account_id="acme", contact_id="acme-alice")
    restricted = await dev_desk.open(account_id="cyberdyne", contact_id="cyberdyne-judy")
    opened = {theirs, ours, restricted}
    nora, erin = key_for(store, "nw-nora"), key_for(store, "gsc-erin")
    async with door(store, dev_desk, tmp_path) as http:
        await eventually(  # visibility follows the search attributes
            lambda: listed(http, erin, "?limit=1000"),
            every=0.2,
            until=lambda rows: opened <= {r["case_id"] for r in rows},
            what="the three cases in our engineer's list",
        )
        rows = await listed(http, nora, "?limit=1000")
        assert {r["case_id"] for r in rows} & opened == {theirs}, rows
        assert {r["queue"] for r in rows} == {PARTNER_QUEUE}, rows
        assert await listed(http, nora, "?account=acme") == []
        assert {r["queue"] for r in await listed(http, nora, "?restricted=true")} <= {PARTNER_QUEUE}
        await sign_in(http, nora)
        page = await http.get("/cases")
    assert page.status_code == 200, page.text
    assert theirs in page.text and ours not in page.text and restricted not in page.text


async def sign_in(http: httpx.AsyncClient, key: str) -> None:
    form = await http.get("/signin")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token, form.text[:300]
    done = await http.post("/signin", data={"credential": key, "csrf": token.group(1)})
    assert done.status_code == 303, done.text
