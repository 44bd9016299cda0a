"""`casework api` running alone opens a case in one round trip to Temporal (issue 30): no
intake workflow, the case workflow started with the entitlement decided under the SLA policy
the engine's newest worker published (never a copy of the door's own), and nothing opened
before any worker has told the database which policy it runs (S1, S5, A1)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import TypeAdapter
from sqlalchemy import delete
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from casework.domain.case_ids import intake_id
from casework.domain.models import Priority
from casework.store import Store
from casework.store.tables import policies
from tests.api_server import ApiServer, api_server_beside, client_for
from tests.conftest import Desk

pytestmark = pytest.mark.timeout(240)

PROBLEM = {
    "product": "FortiGate",
    "version": "7.4.3",
    "priority": "P2",
    "description": "VPN tunnels drop after the upgrade",
}


@pytest.fixture
def server(
    store: Store, dev_env: WorkflowEnvironment, dev_desk: Desk, tmp_path: Path
) -> Iterator[ApiServer]:
    with api_server_beside(store, dev_env, dev_desk, tmp_path) as running:
        yield running


async def test_the_door_alone_opens_a_case_without_an_intake_workflow(
    store: Store, server: ApiServer, dev_env: WorkflowEnvironment, dev_desk: Desk
) -> None:
    key = f"portal-{uuid.uuid4().hex[:10]}"
    async with client_for(store, server, "acme-alice") as alice:
        opened = await alice.post("/v1/cases", json=PROBLEM, headers={"Idempotency-Key": key})
        assert opened.status_code == 200, opened.text
        case_id = opened.json()["case_id"]
        dev_desk.opened.append(case_id)
        again = await alice.post("/v1/cases", json=PROBLEM, headers={"Idempotency-Key": key})
        assert again.json() == {**opened.json(), "created": False}, again.text

    with pytest.raises(RPCError) as no_intake:
        await dev_env.client.get_workflow_handle(intake_id(f"acme:{key}")).describe()
    assert no_intake.value.status is RPCStatusCode.NOT_FOUND
    view = await dev_desk.until(case_id, lambda v: v.owner is not None)  # routed (E1)
    assert view.account_id == "acme" and view.state != "closed"


async def test_a_case_opens_under_the_policy_the_newest_worker_published(
    store: Store, server: ApiServer, dev_desk: Desk
) -> None:
    """S5: a worker started later with a new policy (the account's tier's P2 target changed):
    the door's next opening takes the new target at once, without a restart."""
    running = store.policies.current()
    assert running is not None, "the test's worker published its policy as it started"
    tier = store.directory.account("acme").tier  # type: ignore[union-attr]
    new_target = timedelta(hours=3, minutes=17)
    rows = dict(running.first_response_targets)
    rows[tier] = {**rows[tier], Priority.P2: new_target}
    newer = running.model_copy(update={"first_response_targets": rows})
    store.policies.publish(newer, datetime.now(UTC))

    async with client_for(store, server, "acme-alice") as alice:
        opened = await alice.post("/v1/cases", json=PROBLEM)
        assert opened.status_code == 200, opened.text
        case_id = opened.json()["case_id"]
        dev_desk.opened.append(case_id)
        view = (await alice.get(f"/v1/cases/{case_id}")).json()
    assert TypeAdapter(timedelta).validate_python(view["sla"]["target"]) == new_target


async def test_no_case_opens_before_a_worker_has_published_its_policy(
    store: Store, server: ApiServer
) -> None:
    with store.engine.begin() as conn:  # a database no worker has started on yet
        conn.execute(delete(policies))
    key = f"portal-{uuid.uuid4().hex[:10]}"
    async with client_for(store, server, "acme-alice") as alice:
        refused = await alice.post("/v1/cases", json=PROBLEM, headers={"Idempotency-Key": key})
    assert refused.status_code == 503, refused.text
    assert "start a worker" in refused.json()["detail"]
    assert store.intake.case_number_for(f"acme:{key}") is None  # nothing opened, no number


async def test_an_action_sent_the_moment_a_case_opens_is_taken(
    store: Store, server: ApiServer, dev_desk: Desk
) -> None:
    """E1: the door answers once the case has started, before its first workflow task has run;
    the owner's first response, sent at once, reaches the case in that first task, whose
    handlers run before the case has taken its opening routing. It is taken, not refused as
    if the case were still queued."""
    async with client_for(store, server, "acme-alice") as alice:
        opened = await asyncio.gather(*(alice.post("/v1/cases", json=PROBLEM) for _ in range(8)))
    cases = [answer.json() for answer in opened]
    assert all(answer.status_code == 200 for answer in opened), [a.text for a in opened]
    dev_desk.opened.extend(case["case_id"] for case in cases)
    owners = {case["owner"] for case in cases}
    assert None not in owners, cases  # E1: routed as they opened
    people = {owner: client_for(store, server, owner) for owner in owners}
    try:
        answers = await asyncio.gather(
            *(
                people[case["owner"]].post(
                    f"/v1/cases/{case['case_id']}/actions/respond", json={"text": "On it"}
                )
                for case in cases
            )
        )
    finally:
        for person in people.values():
            await person.aclose()
    assert [a.status_code for a in answers] == [200] * len(cases), [a.text for a in answers]
