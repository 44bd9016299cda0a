"""A flood of signals is taken over several workflow tasks, a task's share at a time (E4;
workflows/signal_budget.py): no task runs long enough for the SDK's 2 s deadlock detector, and
nothing is lost, doubled or reordered.

The worker is away while the flood lands, so its next task carries every signal at once, as
after a restart or on a worker too busy to keep up.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from casework.domain.sla import SlaPolicy
from casework.store import Store
from tests.conftest import (
    Desk,
    as_person,
    engine_replayer,
    eventually,
    opened_and_settled,
    returning_worker,
    signed,
)
from tests.test_feed_in_store import all_entries
from workflows.signal_budget import (
    NEXT_TASK_AFTER,
    SIGNAL_BYTES_A_TASK,
    SIGNALS_A_TASK,
    payload_bytes,
)

pytestmark = pytest.mark.timeout(240)

FLOOD = 2 * SIGNALS_A_TASK + 50
"""Three tasks' worth of short comments."""
TAKEN_WITHIN = 120.0
"""Real seconds for the flood to be on the feed: a task's share a second or so."""


def _flood_timers(history: Any) -> int:
    """The timers that brought a next task for the rest of a flood (their summary is
    encrypted as every payload is: known by their duration)."""
    return sum(
        1
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED
        and e.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta() == NEXT_TASK_AFTER
    )


async def test_a_flood_of_signals_is_taken_a_tasks_share_at_a_time_in_order(
    env: WorkflowEnvironment, store: Store, policy: SlaPolicy
) -> None:
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    worker = returning_worker(env, store, policy, task_queue)
    desk = Desk(signed(env.client), task_queue, {"index_search_attributes": False})
    case_id = await opened_and_settled(desk, worker)
    handle = desk.case(case_id)
    texts = [f"flood comment {n:04d}" for n in range(FLOOD)]
    with as_person("acme-alice"):
        for text in texts:  # one after another: the history keeps the order they were sent
            await handle.signal("act", {"action": "comment", "actor": "acme-alice", "text": text})

    async with worker():

        def on_the_feed() -> list[str]:
            entries = all_entries(store, case_id)
            return [e["text"] for e in entries if e["kind"] == "comment" and not e["refused"]]

        taken = await eventually(
            on_the_feed,
            TAKEN_WITHIN,
            until=lambda found: len(found) >= FLOOD,
            what="the flood on the feed",
        )
        assert taken == texts, "every comment once, in the order sent"
        result = await desk.act(case_id, "comment", actor="cc-dana", text="read them all")
        assert result.message.startswith("comment added"), result.message
        history = await handle.fetch_history()
        await desk.tidy_up()

    # all of them in one task, three tasks' shares: two waits for a next task
    assert _flood_timers(history) == math.ceil(FLOOD / SIGNALS_A_TASK) - 1 == 2
    await engine_replayer().replay_workflow(history)


async def test_a_quiet_case_never_waits(desk: Desk) -> None:
    """Below a task's share nothing changes: no timer, no wait."""
    case_id = await desk.open(priority="P3")
    await desk.until(case_id, lambda v: v.state == "in_progress")
    handle = desk.case(case_id)
    with as_person("acme-alice"):
        await asyncio.gather(
            *(
                handle.signal("act", {"action": "comment", "actor": "acme-alice", "text": f"c{n}"})
                for n in range(20)
            )
        )
    await desk.until(case_id, lambda v: sum(e.kind == "comment" for e in v.feed) == 20)
    assert _flood_timers(await handle.fetch_history()) == 0


def test_a_tasks_share_counts_the_raw_payloads_a_handler_gets() -> None:
    """The budget's size is the payloads' bytes, for a named signal's raw value and for the
    list a dynamic handler gets after its name."""
    from temporalio.api.common.v1 import Payload
    from temporalio.common import RawValue

    raw = RawValue(Payload(data=b"x" * 1000))
    assert payload_bytes([raw]) == 1000
    assert payload_bytes(["stray_name", [raw, raw]]) == 2000
    assert payload_bytes(["typed", 42]) == 0
    assert SIGNAL_BYTES_A_TASK >= 20 * 20_000, "a task takes at least 20 of the longest comments"
