"""What a case costs Temporal (issues 12 and 24): a case does its database work as local
activities, no round trip through the task queue: its reads (routing, the checks) inside the
workflow task that needs them, its writes in the task after the one that decided them (only a
kept task's decisions are written: workflows/case/context.py, "Who may write"), so a whole
lifecycle is a handful of workflow tasks, and nothing it decided is lost: every fact reaches
the database."""

from __future__ import annotations

import json
from collections import Counter

from temporalio.api.enums.v1 import EventType

from casework import contracts
from casework.store import Store
from tests.conftest import Desk, eventually


async def shape(desk: Desk, case_id: str) -> tuple[Counter[str], Counter[str], int]:
    """Activities run through the task queue, local activities run, workflow tasks."""
    history = await desk.case(case_id).fetch_history()
    queued: Counter[str] = Counter()
    local: Counter[str] = Counter()
    tasks = 0
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            queued[event.activity_task_scheduled_event_attributes.activity_type.name] += 1
        elif event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            data = event.marker_recorded_event_attributes.details.get("data")
            if data is not None and data.payloads:
                kind = json.loads(data.payloads[0].data).get("activity_type")
                if kind:
                    local[kind] += 1
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            tasks += 1
    return queued, local, tasks


async def test_a_lifecycle_does_its_database_work_inside_its_workflow_tasks(
    desk: Desk, store: Store
) -> None:
    """Opened, routed, answered, resolved, closed: one `apply_effects` activity for what
    each task decided (once the case has settled: the opening and its assignment together,
    the close and the case's finish together), dispatched once that task is kept; no local
    activity (a query landing while one runs reorders what the case does on replay:
    tests/test_replay_under_queries.py); one workflow task to start, one per action and one
    per write; routing was done by the intake as the case opened (E1), so the case asks
    nobody; and the feed, the facts and the messages are all in the database."""
    opened = await desk.open_request(desk.request())
    assert opened.case_id and opened.owner, opened
    case_id, owner = opened.case_id, opened.owner
    view = await desk.until(case_id, lambda v: v.state == "in_progress")
    assert view.owner is not None and view.owner.engineer_id == owner
    await desk.act(case_id, "respond", actor=owner, text="looking")
    await desk.act(case_id, "resolve", actor=owner, resolution="fixed")
    await desk.act(case_id, "close", actor="acme-alice", reason="thanks")
    closed = await desk.result(case_id)
    assert closed.state == "closed"

    queued, local, tasks = await shape(desk, case_id)
    # through the task queue only the writes: opening, respond, resolve, close (what is
    # decided while one write is out goes in the next, together)
    assert set(queued) == {contracts.APPLY_EFFECTS}, f"activities: {queued}"
    assert 2 <= queued[contracts.APPLY_EFFECTS] <= 4, queued
    assert not local, f"local activities: {local}"
    # one task to start, one per action, one per write's answer, and one more at most for
    # the close's finish; fewer when an answer and an action come together
    writes = queued[contracts.APPLY_EFFECTS]
    assert 5 <= tasks <= 1 + 3 + writes + 1, f"{tasks} workflow tasks, {writes} writes"

    kinds = [entry["kind"] for entry in store.feed.page(case_id, limit=1000)]
    assert {"first_response", "resolve", "close"} <= set(kinds), kinds
    assert await eventually(lambda: store.outbox.rows(case_id))
