"""The first-response clock of a case, from the outside (S1-S4), on the time-skipping server.

Cases are opened through the Desk, acted on with updates and read with the `view` query; the
Escalation Manager's alert is read from the outbox (the real database of the test).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from casework.domain.escalation import ladder
from casework.domain.models import CaseView
from casework.domain.routing import manager_on_duty
from casework.store import Store
from tests.conftest import Desk, eventually

GOLD = {"account_id": "globex", "contact_id": "globex-carol"}
PLATINUM = {"account_id": "acme", "contact_id": "acme-alice"}

S1_TABLE = [
    ("GOLD", "P1", timedelta(minutes=30)),
    ("GOLD", "P2", timedelta(hours=1)),
    ("GOLD", "P3", timedelta(hours=8)),
    ("PLATINUM", "P1", timedelta(minutes=15)),
    ("PLATINUM", "P2", timedelta(hours=1)),
    ("PLATINUM", "P3", timedelta(hours=4)),
]


# --- helpers ---------------------------------------------------------------------------------


async def skip_to(env: WorkflowEnvironment, instant: datetime) -> None:
    """Move the test server's clock forward to `instant` (never backwards)."""
    now = await env.get_current_time()
    if instant > now:
        await env.sleep(instant - now)


def manager_alerts(store: Store, case_id: str) -> list[dict[str, Any]]:
    return [n for n in store.outbox.rows(case_id) if n["recipient_kind"] == "escalation_manager"]


async def open_assigned(desk: Desk, **overrides: Any) -> CaseView:
    case_id = await desk.open(**overrides)
    return await desk.until(case_id, lambda v: v.state == "in_progress")


def breached(view: CaseView) -> bool:
    return view.sla.breached_at is not None


# --- S1, every cell ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tier", "priority", "target"), S1_TABLE, ids=[f"{t}-{p}" for t, p, _ in S1_TABLE]
)
async def test_an_unanswered_case_breaches_exactly_at_its_s1_target(
    env: WorkflowEnvironment,
    desk: Desk,
    store: Store,
    tier: str,
    priority: str,
    target: timedelta,
) -> None:
    """S1/S3: with the default table, an unanswered case is not in breach a second before its
    target and is right after it; the breach is dated at the target, and the Escalation Manager
    on duty is alerted once, however long the case then stays unanswered."""
    case = await open_assigned(desk, priority=priority, **(GOLD if tier == "GOLD" else PLATINUM))
    assert case.tier == tier
    assert case.sla.target == target
    assert case.sla.due_at == case.opened_at + target

    await skip_to(env, case.opened_at + target - timedelta(seconds=1))
    before = await desk.view(case.case_id)
    assert before.sla.breached_at is None
    assert not any(e.kind == "sla_breached" for e in before.feed)
    assert manager_alerts(store, case.case_id) == []

    await env.sleep(timedelta(seconds=2))
    after = await desk.until(case.case_id, breached)
    assert after.sla.breached_at == after.sla.due_at == case.opened_at + target
    assert [e.kind for e in after.feed].count("sla_breached") == 1

    alerts = await eventually(lambda: manager_alerts(store, case.case_id))
    on_duty = manager_on_duty(store.directory.rota(), after.sla.breached_at)
    assert [a["recipient_id"] for a in alerts] == [on_duty.id]

    await env.sleep(timedelta(hours=9))
    await desk.act(case.case_id, "comment", actor=case.contact_id, text="still down")
    later = await desk.view(case.case_id)
    assert later.sla.breached_at == case.opened_at + target, "a breach is recorded for good"
    assert [e.kind for e in later.feed].count("sla_breached") == 1
    steps = ladder(
        store.directory.rota(), store.directory.support_director(), after.sla.breached_at
    )
    assert [a["recipient_id"] for a in manager_alerts(store, case.case_id)] == [
        step_id for step_id, _ in steps
    ], "S3/E3: unacknowledged, the breach walks the ladder: each rung alerted once"


# --- S2 -----------------------------------------------------------------------------------------


async def test_the_owners_first_response_stops_the_clock(
    env: WorkflowEnvironment, desk: Desk, store: Store
) -> None:
    """S2: the first response by the engineer who owns the case, before the target, stops the
    clock: the case never breaches, however long it stays open afterwards."""
    case = await open_assigned(desk, priority="P1", **PLATINUM)
    await env.sleep(timedelta(minutes=5))

    result = await desk.act(case.case_id, "respond", actor="cc-dana", text="Looking at it now")
    assert "clock stopped" in result.message
    responded = await desk.view(case.case_id)
    assert responded.sla.responded_at is not None
    assert case.opened_at < responded.sla.responded_at < case.sla.due_at
    assert responded.sla_remaining_seconds is None

    await skip_to(env, case.sla.due_at + timedelta(hours=2))
    await desk.act(case.case_id, "comment", actor="acme-alice", text="thanks")
    later = await desk.view(case.case_id)
    assert later.sla.breached_at is None
    assert later.sla.responded_at == responded.sla.responded_at
    assert not any(e.kind == "sla_breached" for e in later.feed)
    assert manager_alerts(store, case.case_id) == []


@pytest.mark.parametrize("responder", ["gsc-erin", "acme-alice"])
async def test_a_response_by_someone_else_is_refused_and_the_clock_runs_on(
    env: WorkflowEnvironment, desk: Desk, store: Store, responder: str
) -> None:
    """S2: only the engineer entitled to work the case (its owner) stops the clock; another
    engineer's or the customer's "response" is refused, and the case breaches at its target."""
    case = await open_assigned(desk, priority="P1", **PLATINUM)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await desk.act(case.case_id, "respond", actor=responder, text="I'll take it")
    assert isinstance(refused.value.cause, ApplicationError)
    assert "only the engineer who owns the case" in str(refused.value.cause)

    view = await desk.view(case.case_id)
    assert view.sla.responded_at is None
    assert view.feed[-1].refused and view.feed[-1].actor == responder

    await skip_to(env, case.sla.due_at + timedelta(seconds=1))
    after = await desk.until(case.case_id, breached)
    assert after.sla.breached_at == case.sla.due_at
    assert after.sla.responded_at is None
    await eventually(lambda: manager_alerts(store, case.case_id))


# --- S4 -----------------------------------------------------------------------------------------


async def test_raising_priority_after_the_new_target_passed_breaches_at_once(
    env: WorkflowEnvironment, desk: Desk, store: Store
) -> None:
    """S4: P3 -> P1 twenty minutes after opening a Platinum case (P1 target 15 min): the case
    is in breach at the moment of the change, and the Escalation Manager is alerted."""
    case = await open_assigned(desk, priority="P3", **PLATINUM)
    await skip_to(env, case.opened_at + timedelta(minutes=20))
    assert (await desk.view(case.case_id)).sla.breached_at is None

    result = await desk.act(
        case.case_id, "change_priority", actor="acme-alice", priority="P1", reason="outage"
    )
    assert "in breach" in result.message
    after = await desk.until(case.case_id, breached)
    change = next(e for e in after.feed if e.kind == "change_priority")
    assert after.priority == "P1"
    assert after.sla.due_at == case.opened_at + timedelta(minutes=15)
    assert after.sla.breached_at == change.at
    assert change.at >= case.opened_at + timedelta(minutes=20)
    assert len(await eventually(lambda: manager_alerts(store, case.case_id))) == 1


async def test_raising_priority_before_the_new_target_moves_the_deadline_earlier(
    env: WorkflowEnvironment, desk: Desk, store: Store
) -> None:
    """S4: P3 -> P1 five minutes after opening: the target is recomputed from the opening time
    (15 min for Platinum P1), and the breach comes at that new target, not at the P3 one."""
    case = await open_assigned(desk, priority="P3", **PLATINUM)
    await skip_to(env, case.opened_at + timedelta(minutes=5))
    await desk.act(case.case_id, "change_priority", actor="acme-alice", priority="P1")
    moved = await desk.view(case.case_id)
    new_due = case.opened_at + timedelta(minutes=15)
    assert moved.sla.due_at == new_due
    assert moved.sla.target == timedelta(minutes=15)
    assert moved.sla.breached_at is None

    await skip_to(env, new_due - timedelta(seconds=1))
    assert (await desk.view(case.case_id)).sla.breached_at is None
    await env.sleep(timedelta(seconds=2))
    after = await desk.until(case.case_id, breached)
    assert after.sla.breached_at == new_due
    assert len(await eventually(lambda: manager_alerts(store, case.case_id))) == 1


async def test_lowering_priority_cancels_the_old_deadline(
    env: WorkflowEnvironment, desk: Desk, store: Store
) -> None:
    """S4: P1 -> P3 five minutes after opening: nothing happens at the old P1 target (the stale
    timer never fires); the case breaches at the P3 target (4 h for Platinum)."""
    case = await open_assigned(desk, priority="P1", **PLATINUM)
    await skip_to(env, case.opened_at + timedelta(minutes=5))
    await desk.act(case.case_id, "change_priority", actor="cc-dana", priority="P3")
    p3_due = case.opened_at + timedelta(hours=4)
    assert (await desk.view(case.case_id)).sla.due_at == p3_due

    await skip_to(env, case.opened_at + timedelta(minutes=30))
    # a round trip through the workflow, so any timer that fired has been handled
    await desk.act(case.case_id, "comment", actor="acme-alice", text="any news?")
    quiet = await desk.view(case.case_id)
    assert quiet.sla.breached_at is None
    assert manager_alerts(store, case.case_id) == []

    await skip_to(env, p3_due - timedelta(seconds=1))
    assert (await desk.view(case.case_id)).sla.breached_at is None
    await env.sleep(timedelta(seconds=2))
    after = await desk.until(case.case_id, breached)
    assert after.sla.breached_at == p3_due
    assert [e.kind for e in after.feed].count("sla_breached") == 1
    assert len(await eventually(lambda: manager_alerts(store, case.case_id))) == 1


async def test_changing_to_the_same_priority_is_refused(desk: Desk) -> None:
    """S4/E4: a change to the priority the case already has is refused and changes nothing."""
    case = await open_assigned(desk, priority="P2", **GOLD)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await desk.act(case.case_id, "change_priority", actor="globex-carol", priority="p2")
    assert "already P2" in str(refused.value.cause)
    after = await desk.view(case.case_id)
    assert after.priority == "P2"
    assert after.sla == case.sla
    assert after.feed[-1].refused and after.feed[-1].kind == "change_priority"
