"""The case list through the API (issue 26), against a real `casework api` process on the dev
server with the test's worker: each case opened through the API writes its list row, and
`GET /v1/cases` pages it with a cursor that neither loses nor repeats a case while new ones
open, says how many match, sorts, filters as `casework list` filters and searches subjects and
descriptions; U5: a restricted case's text is never matched or shown for a non-member. Runs on
SQLite, and on PostgreSQL with `--db postgres` (or `both`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from casework.case_pages import CaseQuery
from casework.domain.us_citizen import WITHHELD
from casework.store import Store
from tests.api_server import ApiServer, api_server_beside, client_for
from tests.conftest import Desk, eventually

pytestmark = pytest.mark.timeout(300)

SECRET_SUBJECT = "Bravo-7 enclave tunnel down"
SECRET = "Classified enclave firewall drops IPsec tunnel to site Bravo-7"


@pytest.fixture
def server(
    store: Store, dev_env: WorkflowEnvironment, dev_desk: Desk, tmp_path: Path
) -> Iterator[ApiServer]:
    with api_server_beside(store, dev_env, dev_desk, tmp_path) as running:
        yield running


@pytest.fixture
async def http(store: Store, server: ApiServer) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    clients: dict[str, httpx.AsyncClient] = {}

    class Clients(dict[str, httpx.AsyncClient]):
        def __missing__(self, person: str) -> httpx.AsyncClient:
            clients[person] = self[person] = client_for(store, server, person)
            return clients[person]

    yield Clients()
    for client in clients.values():
        await client.aclose()


async def open_case(client: httpx.AsyncClient, **fields: Any) -> str:
    body = {"product": "FortiGate", "version": "7.4.3", "priority": "P3"} | fields
    answer = await client.post("/v1/cases", json=body)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["case_id"])


async def listed(store: Store, count: int) -> None:
    """Until the store holds `count` list rows (each case writes its own a moment after it
    opens)."""
    await eventually(lambda: store.case_rows.page(CaseQuery(size=1)).total >= count)


async def every_page(
    client: httpx.AsyncClient, params: dict[str, str], between: Any = None
) -> list[str]:
    seen: list[str] = []
    while True:
        answer = await client.get("/v1/cases", params=params)
        assert answer.status_code == 200, answer.text
        seen += [r["case_id"] for r in answer.json()]
        cursor = answer.headers.get("x-next-cursor")
        if cursor is None:
            assert "link" not in answer.headers
            return seen
        assert 'rel="next"' in answer.headers["link"]
        params = {**params, "cursor": cursor}
        if between is not None:
            await between()


async def test_pages_sorts_and_filters_lose_no_case_while_new_ones_open(
    store: Store, http: dict[str, httpx.AsyncClient]
) -> None:
    alice = http["acme-alice"]
    subjects = [f"{word} on the edge" for word in ("delta", "alpha", "echo", "charlie", "bravo")]
    before = await asyncio.gather(
        *(
            open_case(alice, subject=s, description=f"{s}\nmore", priority=f"P{i % 3 + 1}")
            for i, s in enumerate(subjects * 2)
        )
    )
    await listed(store, len(before))
    first = await alice.get("/v1/cases", params={"limit": "3"})
    assert first.headers["x-total-count"] == str(len(before))
    later: list[str] = []

    async def open_another() -> None:
        later.append(await open_case(alice, subject="opened meanwhile", description="new"))

    params = {"limit": "3", "sort": "number", "order": "asc"}
    walked = await every_page(alice, params, between=open_another)
    assert sorted(before) == [c for c in walked if c in before], "lost or repeated"
    assert len(walked) == len(set(walked))

    await listed(store, len(before) + len(later))
    by_subject = await alice.get("/v1/cases", params={"sort": "subject", "q": "on the edge"})
    rows = by_subject.json()
    assert [r["subject"] for r in rows] == sorted(subjects * 2, reverse=True)
    assert by_subject.headers["x-total-count"] == "10"
    p1 = (await alice.get("/v1/cases", params={"priority": "P1", "limit": "200"})).json()
    assert {r["priority"] for r in p1} == {"P1"} and len(p1) == 4
    first_row = rows[0]
    assert first_row["sla_remaining_seconds"] > 0 and first_row["sla_read_at"]


async def test_search_finds_subjects_and_descriptions_and_withholds_u5(
    store: Store, http: dict[str, httpx.AsyncClient]
) -> None:
    plain = await open_case(http["acme-alice"], description="IKE phase 2 fails\nsince Monday")
    secret = await open_case(http["cyberdyne-judy"], subject=SECRET_SUBJECT, description=SECRET)
    await listed(store, 2)

    async def found(person: str, words: str) -> list[dict[str, Any]]:
        answer = await http[person].get("/v1/cases", params={"q": words})
        assert answer.status_code == 200, answer.text
        return list(answer.json())

    (row,) = await found("gsc-erin", "ike PHASE")
    assert row["case_id"] == plain and row["subject"] == "IKE phase 2 fails"  # no subject sent
    assert await found("gsc-erin", "bravo-7") == []  # a non-member never matches on U5 text
    everything = {r["case_id"]: r for r in await found("gsc-erin", "case-")}
    assert everything[secret]["subject"] == WITHHELD
    assert SECRET not in str(everything)
    (member,) = await found("usc-liam", "bravo-7")
    assert member["case_id"] == secret and member["subject"] == SECRET_SUBJECT
    (own,) = await found("cyberdyne-judy", "enclave")
    assert own["subject"] == SECRET_SUBJECT
    assert await found("acme-alice", "enclave") == []  # another account's case

    async def subject(person: str, case_id: str) -> str:
        answer = await http[person].get(f"/v1/cases/{case_id}")
        assert answer.status_code == 200, answer.text
        return str(answer.json()["subject"])

    assert await subject("acme-alice", plain) == "IKE phase 2 fails"  # the case's view too
    assert await subject("usc-liam", secret) == SECRET_SUBJECT
    assert await subject("gsc-erin", secret) == WITHHELD

    closed = await http["acme-alice"].post(f"/v1/cases/{plain}/actions/close", json={})
    assert closed.status_code == 200, closed.text

    async def closed_listed() -> bool:
        answer = await http["acme-alice"].get("/v1/cases", params={"state": "closed"})
        return [r["case_id"] for r in answer.json()] == [plain]

    await eventually(  # the case writes its row as it closes
        closed_listed, every=0.1, what=f"{plain} listed as closed"
    )


BAD_PARAMETERS = [
    ({"sort": "colour"}, "sort", "sort by one of: number, subject, priority"),
    ({"order": "upward"}, "order", "write asc or desc"),
    ({"cursor": "not-a-cursor"}, "cursor", "leave it out to start from the first page"),
    ({"limit": "0"}, "limit", ""),
]


async def test_bad_list_parameters_answer_422_saying_what_to_write(
    http: dict[str, httpx.AsyncClient],
) -> None:
    """One door for the four (each starts a `casework api` process of its own otherwise)."""
    for params, field, words in BAD_PARAMETERS:
        answer = await http["gsc-erin"].get("/v1/cases", params=params)
        assert answer.status_code == 422, (params, answer.text)
        assert field in answer.text and words in answer.text, (params, answer.text)
