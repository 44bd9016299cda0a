"""An engineer's queue through the API (issue 26), against a real `casework api` process on the
dev server: their own cases by time to breach read now (the P1 due in 30 minutes before the P3
due in 8 hours, and marked as breaching within the hour), their team's unassigned cases, then
those waiting for the customer; a customer has no queue and is told so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from casework.store import Store
from tests.test_case_list_api import http, open_case, server  # noqa: F401  (fixtures)
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(300)


async def test_the_queue_orders_by_time_to_breach_then_unassigned_then_waiting(
    store: Store,
    http: dict[str, httpx.AsyncClient],  # noqa: F811
) -> None:
    alice, dana = http["acme-alice"], http["cc-dana"]
    later = await open_case(alice, subject="Licence question", priority="P3", description="q")
    sooner = await open_case(alice, subject="Cluster down", priority="P1", description="down")
    waits = await open_case(alice, subject="Needs logs", priority="P2", description="logs")
    now = datetime.now(UTC)
    store.case_rows.record(  # a case of Dana's team that nobody owns (the store's own row)
        {
            "case_id": "case-unowned-1",
            "revision": 1,
            "account": "globex",
            "tier": "GOLD",
            "category": "support",
            "priority": "P2",
            "state": "queued",
            "level": "L0",
            "owner": None,
            "queue": "customer-care",
            "restricted": False,
            "breached": False,
            "due_at": now + timedelta(minutes=50),
            "clock": {"kind": "24x7"},
            "opened_at": now,
            "updated_at": now,
            "subject": "Waiting for an owner",
            "description": "nobody took it",
        }
    )

    async def mine() -> list[str]:
        queue = (await dana.get("/v1/queue")).json()
        return [c["case_id"] for c in queue["mine"]]

    await eventually(
        mine,
        every=0.1,
        until=lambda cases: set(cases) >= {later, sooner, waits},
        what="Dana's cases on her queue",
    )
    answer = await dana.post(
        f"/v1/cases/{waits}/actions/request_info", json={"items": ["logs"], "text": "HA log"}
    )
    assert answer.status_code == 200, answer.text

    async def her_queue() -> dict[str, Any]:
        return dict((await dana.get("/v1/queue")).json())

    queue = await eventually(
        her_queue,
        every=0.1,
        until=lambda queue: waits in [c["case_id"] for c in queue["waiting"]],
        what=f"{waits} moved to waiting",
    )
    ordered = [c["case_id"] for c in queue["mine"] if c["case_id"] in (sooner, later)]
    assert ordered == [sooner, later]
    marks = {c["case_id"]: c["breaching_soon"] for c in queue["mine"]}
    assert marks[sooner] is True and marks[later] is False
    assert [c["case_id"] for c in queue["unassigned"]] == ["case-unowned-1"]
    assert queue["unassigned"][0]["breaching_soon"] is True
    first, second = (await dana.get("/v1/queue")).json(), (await dana.get("/v1/queue")).json()
    assert second["read_at"] > first["read_at"]  # read when asked, not at the case's last step
    left = [
        c["sla_remaining_seconds"]
        for q in (first, second)
        for c in q["mine"]
        if c["case_id"] == sooner
    ]
    assert left[1] <= left[0]


async def test_a_customer_has_no_queue_and_is_told_where_her_cases_are(
    http: dict[str, httpx.AsyncClient],  # noqa: F811
) -> None:
    answer = await http["acme-alice"].get("/v1/queue")
    assert answer.status_code == 403
    assert "Your cases" in answer.json()["detail"]
