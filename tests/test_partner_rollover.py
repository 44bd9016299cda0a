"""P4 across continue-as-new: a partner case that rolls over while our escalation is open.

On a time-skipping server of this module's own: the escalation (a child of the partner case's
first run) completes after that run has continued as new, and the test server then holds a
time-skipping lock for good (see tests/conftest.py), which would stop every later test's
`env.sleep` on the shared server. The real server has no such lock."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from casework.domain.sla import SlaPolicy
from casework.store import Store
from tests.conftest import TEST_RING, Desk, signed, time_skipping_server
from tests.test_partner_cases import open_partner_case, owned_by, to_partner_l2
from worker import activities_for, build_worker


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    async with time_skipping_server() as environment:
        yield environment


async def test_a_partner_case_that_rolls_over_still_gets_the_vendors_resolution(
    env: WorkflowEnvironment, store: Store, policy: SlaPolicy
) -> None:
    """P4: a busy partner case continues as new while our escalation is open; our progress and
    resolution reach its new run (signals go to the case, not to a run), and the escalation,
    abandoned by the old run rather than killed, carries on."""
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    desk = Desk(
        signed(env.client),
        task_queue,
        {"index_search_attributes": False, "continue_as_new_after_events": 60},
    )
    async with build_worker(
        env.client, task_queue=task_queue, activities=activities_for(store, policy), ring=TEST_RING
    ):
        try:
            case_id = await open_partner_case(desk)
            await to_partner_l2(desk, case_id)
            await desk.act(case_id, "escalate", actor="nw-pia", reason="looks like a bug")
            escalation_id = f"{case_id}-esc-1"
            desk.opened.insert(0, escalation_id)
            await desk.until(escalation_id, owned_by("gec-hugo"))
            assert await desk.settle(case_id)
            first_run = (await desk.case(case_id).describe()).run_id
            rolled = [e.kind for e in (await desk.view(case_id)).feed].count("continued")
            for n in range(15):
                await desk.act(case_id, "comment", actor="soylent-sam", text=f"any news? {n}")
            await desk.until(
                case_id, lambda v: [e.kind for e in v.feed].count("continued") > rolled
            )
            assert (await desk.case(case_id).describe()).run_id != first_run
            assert (await desk.view(case_id)).state == "waiting_on_vendor"

            await desk.act(escalation_id, "resolve", actor="gec-hugo", resolution="Fixed in 7.4.4")
            back = await desk.until(case_id, owned_by("nw-pia"))
            assert back.vendor_escalations[0].status == "resolved"
            assert any(e.kind == "vendor_resolve" for e in back.feed)
            assert (await desk.until(escalation_id, lambda v: v.state == "closed")).closed_at
            await desk.act(case_id, "resolve", actor="nw-pia", resolution="Upgrade to 7.4.4")
            await desk.act(case_id, "close", actor="soylent-sam")
        finally:
            await desk.tidy_up()
