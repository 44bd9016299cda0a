"""A long-lived, busy case continues-as-new and loses nothing (E4 Show Feed, S2/S3).

`continue_as_new_after_events=40` (a Desk case option) makes a case roll over after 40 history
events instead of waiting for the server's suggestion, so a test can drive it there quickly.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from casework import contracts
from casework.domain.models import CaseView
from casework.domain.sla import SlaPolicy
from casework.store import Store
from tests.conftest import (
    SETTLE_TIMEOUT,
    TEST_RING,
    Desk,
    RunState,
    as_person,
    engine_replayer,
    eventually,
    opened_and_settled,
    returning_worker,
    run_state,
    signed,
)
from worker import activities_for, build_worker

COMMENTS = 24


async def test_a_busy_case_rolls_over_and_keeps_its_feed_state_and_clock(
    env: WorkflowEnvironment, desk: Desk, store: Store
) -> None:
    """E4/S2/S3: two dozen comments by the customer's two contacts roll the case over at least
    twice (an owner's comment would be its first response, S2); afterwards it is a new run with
    the same case: every comment on the feed exactly once and in order, a `continued` entry per
    roll-over, the same state, owner and first-response clock; the clock that was running
    still breaches at its target (one alert), and the customer can close the case."""
    desk.case_options = {"index_search_attributes": False, "continue_as_new_after_events": 40}
    case_id = await desk.open(priority="P2")
    opened = await desk.until(case_id, lambda v: v.state == "in_progress")
    first_run = (await desk.case(case_id).describe()).run_id

    said = []
    for i in range(COMMENTS):
        actor = "acme-alice" if i % 2 == 0 else "acme-bob"
        said.append((actor, f"comment {i:02d}"))
        text = f"comment {i:02d}"
        await desk.act(case_id, "comment", actor=actor, text=text)
        # people pause between comments: the owner's message goes out meanwhile (a case rolls
        # over only once its side effects are done)
        await eventually(_sent(store, case_id, text))

    view = await desk.view(case_id)
    assert (await desk.case(case_id).describe()).run_id != first_run
    continued = [e for e in view.feed if e.kind == "continued"]
    assert len(continued) >= 2, [e.kind for e in view.feed]
    comments = [(e.actor, e.text) for e in view.feed if e.kind == "comment"]
    assert comments == said
    assert view.feed[: len(opened.feed)] == opened.feed
    assert (view.state, view.owner, view.priority, view.level) == (
        "in_progress",
        opened.owner,
        "P2",
        "L0",
    )
    assert view.sla == opened.sla
    assert view.opened_at == opened.opened_at

    now = await env.get_current_time()
    await env.sleep(opened.sla.due_at - now + timedelta(seconds=1))
    breached = await desk.until(case_id, lambda v: v.sla.breached_at is not None)
    assert breached.sla.breached_at == opened.sla.due_at == opened.opened_at + timedelta(hours=1)

    await desk.act(case_id, "respond", actor="cc-dana", text="Found it: a known HA bug")
    await desk.act(case_id, "close", actor="acme-alice")
    final = await desk.result(case_id)
    assert final.state == "closed"
    assert [(e.actor, e.text) for e in final.feed if e.kind == "comment"] == said
    assert [e.kind for e in final.feed].count("sla_breached") == 1
    alerts = [n for n in store.outbox.rows(case_id) if n["recipient_kind"] == "escalation_manager"]
    assert len(alerts) == 1


# --- a roll-over never cuts off an action in flight ------------------------------------------


def _sent(store: Store, case_id: str, body: str) -> Callable[[], bool]:
    return lambda: any(n["body"] == body for n in store.outbox.rows(case_id))


def with_held_tracker(store: Store, policy: SlaPolicy) -> tuple[list[Any], threading.Event]:
    """The real activities, with an engineering tracker that holds each filing until the
    returned event is set (at most SETTLE_TIMEOUT: a failed test does not hang its worker)."""
    real = {a.__temporal_activity_definition.name: a for a in activities_for(store, policy)}
    release = threading.Event()

    @activity.defn(name=contracts.FILE_PROBLEM_REPORT)
    def held_tracker(request: contracts.ProblemReportRequest) -> contracts.ProblemReportResult:
        release.wait(SETTLE_TIMEOUT)
        return real[contracts.FILE_PROBLEM_REPORT](request)

    held = {contracts.FILE_PROBLEM_REPORT: held_tracker}
    return [held.get(name, a) for name, a in real.items()], release


async def test_a_problem_report_filed_as_the_case_rolls_over_is_kept(
    env: WorkflowEnvironment, store: Store, policy: SlaPolicy
) -> None:
    """E2: the L3 owner files a Problem Report and the tracker holds the filing; the case is
    asked to roll over meanwhile (`roll_over`, as a promotion asks it): with nothing else to
    do, it stays on its run while the filing is in flight; once the tracker answers, the
    engineer gets the PR id and the new run is linked to it. (Asked, not past its events: a
    case past them rolls over as soon as its writes are done, which the filing cannot be
    sent to reliably before.)"""
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    desk = Desk(signed(env.client), task_queue, {"index_search_attributes": False})
    activities, release = with_held_tracker(store, policy)
    async with build_worker(
        env.client, task_queue=task_queue, activities=activities, ring=TEST_RING
    ):
        try:
            case_id = await desk.open(priority="P2")
            await desk.until(case_id, owned_by("cc-dana"))
            for owner, next_owner in [
                ("cc-dana", "gsc-erin"),
                ("gsc-erin", "gsc-grace"),
                ("gsc-grace", "gec-hugo"),
            ]:
                await desk.act(case_id, "escalate", actor=owner, reason="next level")
                await desk.until(case_id, owned_by(next_owner))
            await desk.act(case_id, "comment", actor="acme-alice", text="logs attached")
            run_before = (await desk.case(case_id).describe()).run_id

            filing = asyncio.ensure_future(
                desk.act(case_id, "file_problem_report", actor="gec-hugo", summary="HA sync bug")
            )

            def held(state: RunState | None) -> bool:
                return (
                    state is not None
                    and state.activities_pending == 1
                    and not state.task_pending
                    and not state.writes_pending
                )

            before = await eventually(
                lambda: run_state(desk.case(case_id)),
                until=held,
                what="the filing held by the tracker, the case otherwise idle",
            )
            await desk.case(case_id).signal("roll_over")
            await eventually(
                lambda: run_state(desk.case(case_id)),
                until=lambda state: held(state) and state.events > before.events,
                what="the roll-over asked and taken in a task, the filing still held",
            )
            assert (await desk.case(case_id).describe()).run_id == run_before
            release.set()
            filed = await filing
            reports = store.tracker.problem_reports(case_id)
            assert [r["id"] for r in reports] == [filed.message.split()[1].rstrip(";")]
            view = await desk.until(case_id, _rolled_over_after("file_problem_report"))
            assert view.problem_report == reports[0]["id"]
            assert (await desk.case(case_id).describe()).run_id != run_before
            assert [e.kind for e in view.feed].count("file_problem_report") == 1
        finally:
            release.set()  # a test failed before: the held filing finishes, the case settles
            await desk.tidy_up()


def owned_by(engineer_id: str):  # type: ignore[no-untyped-def]
    return lambda v: v.state == "in_progress" and v.owner and v.owner.engineer_id == engineer_id


def _rolled_over_after(kind: str):  # type: ignore[no-untyped-def]
    def check(view: CaseView) -> bool:
        kinds = [e.kind for e in view.feed]
        return kind in kinds and "continued" in kinds[kinds.index(kind) :]

    return check


async def test_a_case_asked_to_roll_over_does_so_whatever_the_signal_carries(
    env: WorkflowEnvironment, desk: Desk
) -> None:
    """Issue 28: `roll_over` (what `casework versions promote` sends) makes a case roll over
    at its next quiet point, whatever the signal carries (nothing, a stranger's JSON, two
    arguments): one new run per signal taken, its feed and state carried, nothing refused.
    Another name is still refused on the feed."""
    case_id = await desk.open(priority="P3")
    opened = await desk.until(case_id, lambda v: v.state == "in_progress")
    handle = desk.case(case_id)
    runs = [(await handle.describe()).run_id]
    for moves, args in enumerate(([], [{"actor": "mallory", "now": True}], ["one", 2]), 1):
        await handle.signal("roll_over", args=args)
        view = await desk.until(
            case_id, lambda v, n=moves: [e.kind for e in v.feed].count("continued") == n
        )
        runs.append((await handle.describe()).run_id)
        assert len(set(runs)) == len(runs) == moves + 1, "one new run per signal"
        assert view.feed[-1].text == "history rolled over; state carried"  # an unversioned worker
        assert (view.state, view.owner, view.sla) == (opened.state, opened.owner, opened.sla)
    assert view.feed[: len(opened.feed)] == opened.feed
    assert not any(e.refused for e in view.feed)
    # a run that took the signal replays as it ran
    replayer = engine_replayer()
    for run_id in runs[:3]:
        history = await desk.client.get_workflow_handle(case_id, run_id=run_id).fetch_history()
        await replayer.replay_workflow(history)
    await handle.signal("roll_out")
    refused = await desk.until(case_id, lambda v: v.feed[-1].kind == "unknown_signal")
    assert (
        "has no signal 'roll_out'; its signals are act, vendor_progress, partner_info, "
        "roll_over" in refused.feed[-1].text
    )
    assert (await handle.describe()).run_id == runs[-1]


async def test_a_case_closed_as_it_is_asked_to_roll_over_writes_its_close(
    env: WorkflowEnvironment, store: Store, policy: SlaPolicy
) -> None:
    """Issue 28: `roll_over` and the customer's close reach the case in one workflow task (its
    worker was away): the case closes, and what the close decided is written all the same (the
    close on the feed, the owner told, the assignment released) instead of being set aside for
    a next run that never comes."""
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    worker = returning_worker(env, store, policy, task_queue)
    desk = Desk(signed(env.client), task_queue, {"index_search_attributes": False})
    case_id = await opened_and_settled(desk, worker)
    handle = desk.case(case_id)
    await handle.signal("roll_over")
    with as_person("acme-alice"):
        await handle.signal("act", {"action": "close", "reason": "works now"})
    async with worker():
        assert await desk.until_closed(case_id) == WorkflowExecutionStatus.COMPLETED
        await eventually(lambda: "close" in [e["kind"] for e in store.feed.page(case_id)])
        told = await eventually(
            lambda: [n for n in store.outbox.rows(case_id) if n["subject"] == f"{case_id} closed"]
        )
    assert [n["recipient_id"] for n in told] == ["cc-dana"]


def changes_of(history: Any) -> str:
    """The patch ids a run recorded, as its TemporalChangeVersion upserts name them."""
    return " ".join(
        str(e.upsert_workflow_search_attributes_event_attributes.search_attributes)
        for e in history.events
        if e.HasField("upsert_workflow_search_attributes_event_attributes")
    )


async def test_actions_sent_as_the_case_rolls_over_are_taken_not_told_it_closed(
    env: WorkflowEnvironment, desk: Desk
) -> None:
    """E4, issue 28: a case rolls over (its history full, or asked to move to another version)
    while its customer keeps writing: an action that reaches the run as it ends is answered by
    the next run (`casework.client.act_on_case` sends it again under the same update id), never
    "the case is closed", and every comment lands once."""
    from casework.client import act_on_case

    desk.case_options = {"index_search_attributes": False, "continue_as_new_after_events": 30}
    case_id = await desk.open(priority="P3")
    await desk.until(case_id, lambda v: v.state == "in_progress")
    handle = desk.case(case_id)
    said = [f"still down {n:02d}" for n in range(40)]
    with as_person("acme-alice"):
        for wave in range(0, len(said), 10):
            await handle.signal("roll_over")
            results = await asyncio.gather(
                *(
                    act_on_case(desk.client, case_id, "comment", {"actor": "acme-alice", "text": t})
                    for t in said[wave : wave + 10]
                )
            )
            assert {r.state for r in results} == {"in_progress"}, results
    view = await desk.view(case_id)
    assert sorted(e.text for e in view.feed if e.kind == "comment") == said
    assert [e.kind for e in view.feed].count("continued") >= 2
