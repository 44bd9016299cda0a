"""A case outlives its worker: the worker that opened it stops, a new one (a new Worker on the
same task queue and database, as after a deploy) picks the case up from its history and works
it to the end, including the SLA timer that fires on its watch (S2, S3)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from casework.domain.sla import SlaPolicy
from casework.store import Store
from tests.conftest import TEST_RING, Desk, signed
from worker import activities_for, build_worker


def owned_by(engineer_id: str):  # type: ignore[no-untyped-def]
    return lambda v: v.state == "in_progress" and v.owner and v.owner.engineer_id == engineer_id


async def test_a_new_worker_finishes_a_case_the_old_one_started(
    env: WorkflowEnvironment, store: Store, policy: SlaPolicy
) -> None:
    """S2/S3/E2/E4: opened, commented on and escalated under worker 1 (no cache: every task is
    a replay), then worker 1 stops; under worker 2 the unanswered case breaches at its target
    (the timer is handled by worker 2), and the case is answered, escalated and closed."""
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    desk = Desk(signed(env.client), task_queue, {"index_search_attributes": False})

    async with build_worker(
        env.client,
        task_queue=task_queue,
        activities=activities_for(store, policy),
        ring=TEST_RING,
        identity="worker-1",
        # No cache: every workflow task of worker 1 is a full replay. (A caching worker that
        # stops mid-case leaves the case's next task on its sticky queue, which the
        # time-skipping server does not hand on while it skips time.)
        max_cached_workflows=0,
    ):
        try:
            case_id = await desk.open(priority="P1")
            opened = await desk.until(case_id, owned_by("cc-dana"))
            await desk.act(case_id, "comment", actor="acme-alice", text="Both units rebooted")
            await desk.act(case_id, "escalate", actor="cc-dana", reason="needs L1")
            await desk.until(case_id, owned_by("gsc-erin"))
            # A task still in flight when worker 1 stops (the notification of the assignment,
            # on a busy machine) would hold the time-skipping server's clock: let it finish.
            assert await desk.settle(case_id), "the case did not settle"
        except BaseException:
            await desk.tidy_up()
            raise

    async with build_worker(
        env.client,
        task_queue=task_queue,
        activities=activities_for(store, policy),
        ring=TEST_RING,
        identity="worker-2",
    ):
        try:
            due = opened.sla.due_at
            now = await env.get_current_time()
            await env.sleep(due - now + timedelta(seconds=1))
            breached = await desk.until(case_id, lambda v: v.sla.breached_at is not None)
            assert breached.sla.breached_at == due == opened.opened_at + timedelta(minutes=15)
            assert breached.owner is not None and breached.owner.engineer_id == "gsc-erin"
            assert await _identity_that_handled_the_timer(desk, case_id) == "worker-2"

            await desk.act(case_id, "respond", actor="gsc-erin", text="Collecting HA diag")
            await desk.act(case_id, "escalate", actor="gsc-erin", reason="needs L2")
            await desk.until(case_id, owned_by("gsc-grace"))
            await desk.act(
                case_id, "respond", actor="gsc-grace", text="Known issue, fixed in 7.4.4"
            )
            await desk.act(case_id, "close", actor="acme-alice", reason="upgraded")
            final = await desk.result(case_id)
        finally:
            await desk.tidy_up()

    assert final.state == "closed"
    assert final.sla.breached_at == due
    assert final.sla.responded_at is not None and final.sla.responded_at > due
    kinds = [e.kind for e in final.feed if e.kind not in ("waiting_in_queue",)]
    assert kinds == [
        "opened",
        "assigned",
        "comment",
        "escalate",
        "assigned",
        "sla_breached",
        "escalated",  # S3: the breach goes up the Escalation Manager ladder (E3)
        "first_response",
        "escalate",
        "assigned",
        "respond",
        "close",
        "escalation_ended",  # E3: closing the case ends its escalation
    ]
    alerts = [n for n in store.outbox.rows(case_id) if n["recipient_kind"] == "escalation_manager"]
    assert len(alerts) == 1
    assert store.tracker.open_case_counts() == {}


async def _identity_that_handled_the_timer(desk: Desk, case_id: str) -> str:
    history = await desk.case(case_id).fetch_history()
    events = list(history.events)
    fired = next(
        i for i, e in enumerate(events) if e.event_type == EventType.EVENT_TYPE_TIMER_FIRED
    )
    completed = next(
        e for e in events[fired:] if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    )
    return completed.workflow_task_completed_event_attributes.identity
