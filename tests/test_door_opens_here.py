"""The door beside a worker (`casework up`) opens cases with the worker's own intake, in its
process: no intake workflow, one workflow a case (issue 12). A customer sees what the Intake
workflow gives a door of its own (`casework api`, tests/test_api.py): the case and who has
it, the same answer for the same Idempotency-Key, 422 for that key with another request, a
refusal with the intake's reason and nothing opened, and a PAR customer referred (P2)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from temporalio.service import RPCError, RPCStatusCode

from casework.client import intake_id
from casework.store import Store
from tests.conftest import Desk
from tests.door_helpers import bearer, door, key_for
from tests.us_citizen_desk import assigned_engineers

HA_PROBLEM = {
    "product": "FortiGate",
    "version": "7.4.3",
    "priority": "P2",
    "description": "HA cluster fails over every few minutes",
}


async def no_intake_workflow(desk: Desk, request_id: str) -> bool:
    with pytest.raises(RPCError) as raised:
        await desk.client.get_workflow_handle(intake_id(request_id)).describe()
    return raised.value.status is RPCStatusCode.NOT_FOUND


async def test_an_open_starts_the_case_and_its_answer_names_who_has_it(
    store: Store, desk: Desk, tmp_path: Path
) -> None:
    """E1: the case opens assigned; the same key gets the same answer (not created again);
    the key with another request is refused saying which field differs; no intake ran."""
    key = f"portal-{uuid.uuid4().hex[:10]}"
    alice = {**bearer(key_for(store, "acme-alice")), "Idempotency-Key": key}
    async with door(store, desk, tmp_path) as http:
        opened = await http.post("/v1/cases", json=HA_PROBLEM, headers=alice)
        assert opened.status_code == 200, opened.text
        case_id, owner = opened.json()["case_id"], opened.json()["owner"]
        desk.opened.append(case_id)
        assert opened.json()["created"] is True and owner
        again = await http.post("/v1/cases", json=HA_PROBLEM, headers=alice)
        other = await http.post("/v1/cases", json={**HA_PROBLEM, "priority": "P1"}, headers=alice)
    assert again.status_code == 200 and again.json() == {**opened.json(), "created": False}
    assert other.status_code == 422, other.text
    assert "differs in priority" in other.json()["error"] and other.json()["fields"] == ["priority"]
    view = await desk.until(case_id, lambda v: v.owner is not None)
    assert view.owner is not None and view.owner.engineer_id == owner
    assert view.description == HA_PROBLEM["description"]
    assert assigned_engineers(store, case_id) == [owner]
    assert await no_intake_workflow(desk, key)


async def test_a_refused_open_says_why_and_opens_nothing(
    store: Store, desk: Desk, tmp_path: Path
) -> None:
    """The intake's refusal (a product we do not support) comes back with its sentence; no
    case number is drawn, no workflow started."""
    key = f"portal-{uuid.uuid4().hex[:10]}"
    alice = {**bearer(key_for(store, "acme-alice")), "Idempotency-Key": key}
    async with door(store, desk, tmp_path) as http:
        refused = await http.post(
            "/v1/cases", json={**HA_PROBLEM, "product": "Toaster"}, headers=alice
        )
    assert refused.status_code == 409, refused.text
    assert "unknown product 'Toaster'" in refused.json()["error"]
    assert "supported products" in refused.json()["error"]
    assert store.intake.case_number_for(key) is None
    assert await no_intake_workflow(desk, key)


async def test_a_par_customer_is_referred_once_per_key(
    store: Store, desk: Desk, tmp_path: Path
) -> None:
    """P2: a Partner Branded Support customer who comes to us is told how to reach their
    partner; sent again, the same referral; no case."""
    key = f"portal-{uuid.uuid4().hex[:10]}"
    sam = {**bearer(key_for(store, "soylent-sam")), "Idempotency-Key": key}
    async with door(store, desk, tmp_path) as http:
        first = await http.post("/v1/cases", json=HA_PROBLEM, headers=sam)
        again = await http.post("/v1/cases", json=HA_PROBLEM, headers=sam)
    assert first.status_code == 200, first.text
    answer = first.json()
    assert answer["case_id"] is None and answer["referred_to"] and answer["partner_contact"]
    assert answer["created"] is True
    assert again.json() == {**answer, "created": False}
    assert await no_intake_workflow(desk, key)


async def test_one_key_sent_at_once_with_two_requests_opens_one_case(
    store: Store, desk: Desk, tmp_path: Path
) -> None:
    """E1 under a portal that double-submits: eight opens at once under one key, half of them
    with another priority. One case opens; every request like the one that opened it gets that
    case, every other one 422 naming the field; one case number is drawn for the key."""
    key = f"portal-{uuid.uuid4().hex[:10]}"
    alice = {**bearer(key_for(store, "acme-alice")), "Idempotency-Key": key}
    bodies = [HA_PROBLEM, {**HA_PROBLEM, "priority": "P1"}] * 4
    async with door(store, desk, tmp_path) as http:
        answers = await asyncio.gather(
            *(http.post("/v1/cases", json=body, headers=alice) for body in bodies)
        )
    opened = [(body, a.json()) for body, a in zip(bodies, answers, strict=True) if a.is_success]
    assert {a.status_code for a in answers} <= {200, 422}, [a.text for a in answers]
    cases = {answer["case_id"] for _, answer in opened}
    assert len(cases) == 1, cases
    assert sum(answer["created"] for _, answer in opened) == 1
    winner = next(body for body, answer in opened if answer["created"])
    for body, answer in zip(bodies, answers, strict=True):
        if body == winner:
            assert answer.status_code == 200, answer.text
        else:
            assert answer.status_code == 422, answer.text
            assert answer.json()["fields"] == ["priority"]
    (case_id,) = cases
    desk.opened.append(case_id)
    assert store.intake.case_number_for(f"acme:{key}") == int(case_id.removeprefix("case-"))
    view = await desk.until(case_id, lambda v: v.owner is not None)
    assert view.priority == winner["priority"]


async def test_a_refused_request_leaves_its_key_free(
    store: Store, desk: Desk, tmp_path: Path
) -> None:
    """A request refused (a product we do not support) opened nothing, so its key has nothing
    to be compared with: the corrected request under the same key opens the case."""
    key = f"portal-{uuid.uuid4().hex[:10]}"
    alice = {**bearer(key_for(store, "acme-alice")), "Idempotency-Key": key}
    async with door(store, desk, tmp_path) as http:
        refused = await http.post(
            "/v1/cases", json={**HA_PROBLEM, "product": "Toaster"}, headers=alice
        )
        corrected = await http.post("/v1/cases", json=HA_PROBLEM, headers=alice)
    assert refused.status_code == 409, refused.text
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["created"] is True
    desk.opened.append(corrected.json()["case_id"])
