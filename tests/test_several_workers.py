"""Several workers, one engine: three `casework worker` processes share one task queue and one
database on the dev server; one is killed with SIGKILL mid-stream. Every case still runs its
whole life, every breach is alerted exactly once (S3), and the outbox loses and doubles nothing.

On SQLite by default; with `--db postgres` the three workers share a PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from casework.domain.models import CaseView
from casework.store import Store
from tests.conftest import Desk, eventually, signed, target_of
from tests.worker_processes import SECONDS_POLICY, WorkerProcess, until_polling

pytestmark = pytest.mark.timeout(400)

CASES = 18
"""Cases in the stream; every third one is left unanswered past its 15 s target (S3)."""
KILL_AFTER = 6
"""Worker 1 is killed once at least this many cases are open and working, and it works on one."""
LIFE_TIMEOUT = 240.0
"""Real seconds for one case's whole life: a task or activity in flight on the killed worker
waits out its timeout on the server (an activity's start-to-close: 30 s) before another
worker takes it."""


def answered(n: int) -> bool:
    return n % 3 != 2


async def owner_of(desk: Desk, case_id: str) -> str:
    view = await desk.until(
        case_id, lambda v: v.state == "in_progress" and v.owner is not None, timeout=LIFE_TIMEOUT
    )
    assert view.owner is not None
    return view.owner.engineer_id


async def life(desk: Desk, n: int) -> tuple[str, CaseView]:
    """A P1 case of Acme (15 s target): answered at once, or only after it breached; then
    resolved and closed by the customer."""
    case_id = await desk.open(priority="P1", description=f"stream case {n}")
    owner = await owner_of(desk, case_id)
    if not answered(n):
        await desk.until(case_id, lambda v: v.sla.breached_at is not None, timeout=LIFE_TIMEOUT)
    await desk.act(case_id, "respond", actor=owner, text=f"Looking at case {n}")
    await desk.act(case_id, "resolve", actor=owner, resolution="Fixed in 7.4.4")
    await desk.act(case_id, "close", actor="acme-alice", reason="Thanks")
    return case_id, await desk.until(case_id, lambda v: v.state == "closed", timeout=LIFE_TIMEOUT)


@pytest.mark.slow  # a drill of several processes (30 s, three workers' CPU): the slow tier
async def test_three_workers_one_killed_mid_stream_lose_and_double_nothing(
    dev_env: WorkflowEnvironment, store: Store, db_url: str, tmp_path: Path
) -> None:
    queue = f"tq-{uuid.uuid4().hex[:8]}"
    policy = tmp_path / "policy.yaml"
    policy.write_text(SECONDS_POLICY)
    workers = [
        WorkerProcess.start(
            f"worker-{i}",
            folder=tmp_path,
            temporal=target_of(dev_env),
            task_queue=queue,
            db_url=db_url,
            policy=policy,
        )
        for i in (1, 2, 3)
    ]
    desk = Desk(signed(dev_env.client), queue, {})
    try:
        await until_polling(dev_env.client, queue, workers)
        lives: list[asyncio.Task[tuple[str, CaseView]]] = []
        held: list[str] = []  # the cases worker 1 had worked on when it was killed
        for n in range(CASES):
            lives.append(asyncio.ensure_future(life(desk, n)))
            # a stream, not a burst: the next customer comes once this one's case is open
            await eventually(
                lambda n=n: len(desk.opened) > n or lives[n].done(), what=f"stream case {n} open"
            )
            if not held and n + 1 >= KILL_AFTER:
                # once cases are mid-life and worker 1 holds one of them (each case stays with
                # the worker that took its first task, so the first few may all be elsewhere):
                # killed now, it leaves work of theirs
                held = await worked_on_by(dev_env, desk.opened, workers[0])
                if held:
                    workers[0].kill()
        if not held:
            held = await eventually(
                lambda: worked_on_by(dev_env, desk.opened, workers[0]),
                every=0.2,
                what="worker 1 working on one of the cases",
            )
            workers[0].kill()
        results = await asyncio.gather(*lives)
    finally:
        for w in workers:
            w.stop()
        await desk.tidy_up()

    case_ids = [case_id for case_id, _ in results]
    assert len(set(case_ids)) == CASES, "each request opened its own case"
    assert all(view.state == "closed" for _, view in results)

    # the drill meant something: the killed worker's work is in the cases' histories (any run)
    handled = await worked_on_by(dev_env, case_ids, workers[0])
    assert handled, f"the killed worker handled none; it held {held} when killed"

    facts = {f["case_id"]: f for f in store.reporting.cases_opened(*span(results))}
    for n, (case_id, _view) in enumerate(results):
        rows = store.outbox.rows(case_id)
        alerts = [r for r in rows if r["recipient_kind"] == "escalation_manager"]
        breached = facts[case_id]["breached_at"] is not None
        assert breached == (not answered(n)), (case_id, facts[case_id])
        assert len(alerts) == (1 if breached else 0), f"{case_id}: {alerts}"
        doubled = [k for k, c in Counter(message(r) for r in rows).items() if c > 1]
        assert doubled == [], f"{case_id} has notifications twice: {doubled}"
        assert feed_kinds(store, case_id) >= {"opened", "assigned", "first_response", "close"}
    outbox_shapes = Counter(
        tuple(sorted(message(r)[:2] for r in store.outbox.rows(case_id)))
        for n, case_id in enumerate(case_ids)
        if answered(n)
    )
    assert len(outbox_shapes) == 1, f"answered cases told different people: {outbox_shapes}"
    for w in workers[1:]:
        assert w.process.returncode is not None
        assert "Traceback" not in w.said(), w.said()[-3000:]


def message(row: dict[str, Any]) -> tuple[str, str, str, str]:
    return (row["recipient_kind"], row["recipient_id"], row["subject"], row["body"])


def feed_kinds(store: Store, case_id: str) -> set[str]:
    return {e["kind"] for e in store.feed.page(case_id, limit=1000)}


def span(results: list[tuple[str, CaseView]]) -> tuple[Any, Any]:
    from datetime import timedelta

    opened = [view.opened_at for _, view in results]
    return min(opened), max(opened) + timedelta(seconds=1)


async def worked_on_by(
    env: WorkflowEnvironment, case_ids: list[str], worker: WorkerProcess
) -> list[str]:
    """The cases `worker` completed a workflow task or started an activity of."""
    pid = str(worker.process.pid)
    return [
        case_id
        for case_id in list(case_ids)
        if pid in {seen.split("@")[0] for seen in (await identities(env, case_id)).split()}
    ]


async def identities(env: WorkflowEnvironment, case_id: str) -> str:
    """The identities of the workers that completed workflow tasks or started activities of
    the case, in every run of it (a case that rolled over keeps its earlier runs' work), as one
    string."""
    seen = []
    run_id: str | None = None
    while True:
        history = await env.client.get_workflow_handle(case_id, run_id=run_id).fetch_history()
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                seen.append(event.workflow_task_completed_event_attributes.identity)
            elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                seen.append(event.activity_task_started_event_attributes.identity)
        started = history.events[0].workflow_execution_started_event_attributes
        run_id = started.continued_execution_run_id or None
        if run_id is None:
            break
    return " ".join(seen)
