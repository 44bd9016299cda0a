"""Customer escalation and the Escalation Manager ladder, from the outside (E3, E4, S3, S4).

Cases are opened and worked through the Desk on the time-skipping server with the default
policy (15 minutes to acknowledge); alerts are read from the outbox and escalations from the
shared `escalations` table of the test's database.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities import NotificationActivities
from casework import contracts
from casework.client import CaseworkError, act_on_case
from casework.contracts import Notification
from casework.domain.escalation import ladder
from casework.domain.models import CaseView
from casework.domain.sla import SlaPolicy
from casework.domain.us_citizen import WITHHELD
from casework.store import Store
from tests.conftest import (
    TEST_RING,
    Desk,
    as_person,
    engine_replayer,
    eventually,
    running,
    signed,
    time_skipping_server,
)
from tests.us_citizen_desk import CYBERDYNE, SECRET
from worker import activities_for, build_worker, opener
from workflows.case.context import URGENT


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of this module's own: the ladder skips hours of workflow time,
    and the shared server's clock stays where the other modules expect it."""
    async with time_skipping_server() as environment:
        yield environment


ACK_WINDOW = timedelta(minutes=15)
"""The default policy's `escalation_acknowledge_within`."""


def told_the_customer(store: Store, case_id: str) -> list[str]:
    return [n["subject"] for n in store.outbox.rows(case_id) if n["recipient_kind"] == "contact"]


def manager_alerts(store: Store, case_id: str) -> list[str]:
    return [
        n["recipient_id"]
        for n in store.outbox.rows(case_id)
        if n["recipient_kind"] == "escalation_manager"
    ]


async def answered_case(desk: Desk, **overrides: Any) -> CaseView:
    """A P3 case its engineer has answered: no SLA breach muddles the ladder."""
    case_id = await desk.open(priority="P3", **overrides)
    view = await desk.until(case_id, lambda v: v.state == "in_progress")
    assert view.owner is not None
    await desk.act(case_id, "respond", actor=view.owner.engineer_id, text="Looking at it")
    return await desk.view(case_id)


def expected_ladder(store: Store, view: CaseView) -> list[str]:
    [escalation] = view.escalations
    return [
        i
        for i, _ in ladder(
            store.directory.rota(), store.directory.support_director(), escalation.raised_at
        )
    ]


def with_manager(manager: str) -> Callable[[CaseView], bool]:
    return lambda v: (
        bool(v.escalations) and v.escalations[-1].ladder[v.escalations[-1].step].id == manager
    )


async def refused(desk: Desk, case_id: str, action: str, **payload: Any) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as failure:
        await desk.act(case_id, action, **payload)
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError), cause
    return cause.message


# --- Escalate Now and phone escalation take the same path (E3) ------------------------------


async def test_escalate_now_and_a_phone_escalation_give_the_same_answer(
    desk: Desk, store: Store
) -> None:
    """E3: online or by phone through Customer Care, the caller is told at once the
    escalation id and the Escalation Manager who has it; both are on the feed and recorded."""
    online = await answered_case(desk)
    phone = await answered_case(desk)

    by_web = await desk.act(
        online.case_id,
        "escalate_now",
        actor="acme-alice",
        reason="lack_of_progress",
        note="Down for two days",
    )
    by_phone = await desk.act(
        phone.case_id,
        "escalate_now",
        actor="acme-alice",
        reason="lack_of_progress",
        note="Down for two days",
        channel="phone",
        recorded_by="cc-dana",
    )

    assert by_web.escalation_id == f"{online.case_id}-E1"
    assert by_phone.escalation_id == f"{phone.case_id}-E1"
    on_duty = expected_ladder(store, await desk.view(online.case_id))[0]
    assert by_web.escalation_manager is not None and by_phone.escalation_manager is not None
    assert by_web.escalation_manager.split()[0] == on_duty
    assert by_phone.escalation_manager == by_web.escalation_manager
    assert by_web.message.replace(online.case_id, "X") == by_phone.message.replace(
        phone.case_id, "X"
    )

    web_view, phone_view = await desk.view(online.case_id), await desk.view(phone.case_id)
    assert web_view.feed[-1].kind == phone_view.feed[-1].kind == "escalate_now"
    assert web_view.feed[-1].actor == "acme-alice"
    assert phone_view.feed[-1].actor == "cc-dana", "Customer Care recorded it on the phone"
    assert "recorded by cc-dana" in phone_view.feed[-1].text

    rows = await eventually(lambda: len(store.escalations.rows()) == 2 and store.escalations.rows())
    assert sorted(r["channel"] for r in rows) == ["online", "phone"]
    assert {r["reason"] for r in rows} == {"lack_of_progress"}
    assert {r["account"] for r in rows} == {"acme"}
    assert await eventually(lambda: manager_alerts(store, online.case_id)) == [on_duty]
    assert await eventually(lambda: manager_alerts(store, phone.case_id)) == [on_duty]


async def test_the_web_ui_signal_escalates_like_the_update(desk: Desk) -> None:
    """E3/E4: the `act` signal (the Web UI's form) takes the same path."""
    case = await answered_case(desk)
    with as_person("acme-bob"):
        await desk.case(case.case_id).signal(
            "act", {"action": "escalate_now", "actor": "acme-bob", "reason": "expertise"}
        )
    view = await desk.until(case.case_id, lambda v: bool(v.escalations))
    assert view.escalations[0].escalation_id == f"{case.case_id}-E1"
    assert view.escalations[0].raised_by == "acme-bob"


# --- the acknowledgement ladder (E3) ---------------------------------------------------------


async def test_the_ladder_walks_the_rota_on_time_and_stops_when_acknowledged(
    env: WorkflowEnvironment, desk: Desk, store: Store
) -> None:
    """E3: not acknowledged within the policy's 15 minutes, the escalation goes to the next
    manager of the rota, not a moment before; once acknowledged it stays with that manager."""
    case = await answered_case(desk)
    await desk.act(case.case_id, "escalate_now", actor="acme-alice", reason="business_impact")
    steps = expected_ladder(store, await desk.view(case.case_id))
    first, second = steps[0], steps[1]

    await env.sleep(ACK_WINDOW - timedelta(seconds=5))
    view = await desk.view(case.case_id)
    assert with_manager(first)(view), "still with the manager on duty inside the window"

    await env.sleep(timedelta(seconds=10))
    view = await desk.until(case.case_id, with_manager(second))
    passed = [e for e in view.feed if e.kind == "escalation_passed_on"]
    assert len(passed) == 1 and "now with" in passed[0].text and second in passed[0].text
    assert await eventually(lambda: manager_alerts(store, case.case_id) == [first, second])

    too_late = await refused(desk, case.case_id, "acknowledge_escalation", actor=first)
    assert f"only the Escalation Manager who has {case.case_id}-E1 ({second})" in too_late

    result = await desk.act(case.case_id, "acknowledge_escalation", actor=second)
    assert result.escalation_manager is not None and result.escalation_manager.startswith(second)

    await env.sleep(ACK_WINDOW * 4)
    view = await desk.view(case.case_id)
    assert with_manager(second)(view), "an acknowledged escalation stays with its manager"
    assert [e.kind for e in view.feed].count("escalation_passed_on") == 1
    assert manager_alerts(store, case.case_id) == [first, second]
    [row] = await eventually(
        lambda: [r for r in store.escalations.rows(case.case_id) if r["acknowledged_by"]]
    )
    assert row["acknowledged_by"] == second and row["ended_at"] is None


async def test_after_the_last_manager_the_support_director_has_it(
    env: WorkflowEnvironment, desk: Desk, store: Store
) -> None:
    """E3: after the rota's last manager, the catch-all (the support director), who can
    acknowledge; the ladder then ends there, each step on the feed and alerted once."""
    case = await answered_case(desk)
    await desk.act(case.case_id, "escalate_now", actor="acme-alice", reason="other", note="x")
    steps = expected_ladder(store, await desk.view(case.case_id))
    assert steps[-1] == "dir-maya"

    await env.sleep(ACK_WINDOW * len(steps) + timedelta(minutes=1))
    view = await desk.until(
        case.case_id, lambda v: any(e.kind == "escalation_unacknowledged" for e in v.feed)
    )
    assert with_manager("dir-maya")(view)
    assert [e.kind for e in view.feed].count("escalation_passed_on") == len(steps) - 1
    assert await eventually(lambda: manager_alerts(store, case.case_id) == steps)

    await desk.act(case.case_id, "acknowledge_escalation", actor="dir-maya")
    view = await desk.view(case.case_id)
    assert view.escalations[0].acknowledged_by == "dir-maya"

    history = await desk.case(case.case_id).fetch_history()
    replayer = engine_replayer()
    await replayer.replay_workflow(history)  # the whole ladder replays deterministically


async def test_de_escalation_ends_it_and_a_new_escalation_is_possible(
    desk: Desk, store: Store
) -> None:
    """E3: the manager who has it de-escalates; the customer may escalate again later."""
    case = await answered_case(desk)
    first = await desk.act(case.case_id, "escalate_now", actor="acme-alice", reason="expertise")
    manager = (first.escalation_manager or "").split()[0]
    await desk.act(case.case_id, "acknowledge_escalation", actor=manager)
    ended = await desk.act(case.case_id, "de_escalate", actor=manager, note="engineer swapped")
    assert "de-escalated" in ended.message
    again = await desk.act(case.case_id, "escalate_now", actor="acme-bob", reason="expertise")
    assert again.escalation_id == f"{case.case_id}-E2"
    await eventually(
        lambda: (
            [r["ended_at"] is not None for r in store.escalations.rows(case.case_id)]
            == [True, False]
        )
    )


async def test_resolving_the_case_ends_the_escalation(desk: Desk, store: Store) -> None:
    """E3: an escalation stays with its manager until they de-escalate or the case is resolved."""
    case = await answered_case(desk)
    await desk.act(case.case_id, "escalate_now", actor="acme-alice", reason="lack_of_progress")
    assert case.owner is not None
    await desk.act(case.case_id, "resolve", actor=case.owner.engineer_id, resolution="Patched")
    view = await desk.until(case.case_id, lambda v: v.escalations[0].ended_at is not None)
    assert "resolved" in (view.escalations[0].ended_because or "")
    assert await eventually(
        lambda: [r["ended_at"] is not None for r in store.escalations.rows(case.case_id)] == [True]
    )


# --- priority (E4, S4) -------------------------------------------------------------------------


async def test_an_escalation_can_raise_the_priority_and_the_target_follows(
    desk: Desk,
) -> None:
    """E4/S4: Escalate Now with a higher priority changes it at once; the first-response
    target is recomputed from the opening time."""
    case_id = await desk.open(priority="P3")
    before = await desk.view(case_id)
    result = await desk.act(
        case_id, "escalate_now", actor="acme-alice", reason="business_impact", priority="P1"
    )
    assert "priority P1" in result.message
    after = await desk.view(case_id)
    assert after.priority == "P1"
    assert after.sla.due_at == before.opened_at + timedelta(minutes=15)  # Platinum P1 (S1)
    assert any(e.kind == "change_priority" and "E1" in e.text for e in after.feed)


# --- S3: the breach takes the same ladder ------------------------------------------------------


async def test_an_sla_breach_raises_an_escalation_on_the_same_ladder(
    env: WorkflowEnvironment, desk: Desk, store: Store
) -> None:
    """S3: a missed first-response target alerts the Escalation Manager on duty through the
    ladder: an escalation with channel sla_breach, acknowledged like any other."""
    case_id = await desk.open(priority="P1")  # Platinum P1: 15 minutes (S1)
    await env.sleep(timedelta(minutes=16))
    view = await desk.until(case_id, lambda v: bool(v.escalations))
    [escalation] = view.escalations
    assert escalation.channel == "sla_breach"
    assert escalation.raised_at == view.sla.breached_at
    manager = escalation.ladder[0].id
    await desk.act(case_id, "acknowledge_escalation", actor=manager)
    [row] = await eventually(
        lambda: [r for r in store.escalations.rows(case_id) if r["acknowledged_at"]]
    )
    assert row["channel"] == "sla_breach" and row["acknowledged_by"] == manager


async def test_the_breach_alert_does_not_wait_for_the_cases_writes(
    env: WorkflowEnvironment, store: Store, policy: SlaPolicy
) -> None:
    """S3, issue 30: the escalation plan alerts the first manager itself, under the key the
    case alerts that step with, so the alert lands a workflow task sooner than the case's own
    write; and it is scheduled ahead of every other activity on a backlogged engine (priority
    1 of 5). Here every notification the case writes is held back: the alert is in the outbox
    all the same, and once the case's writes go through it is there once."""
    released = threading.Event()
    notifications = NotificationActivities(store)

    def held_notify(message: Notification) -> Any:
        if not released.wait(timeout=0.2):  # never a thread held for good
            raise RuntimeError("the case's notifications are held back by this test")
        return notifications.notify(message)

    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    activities = activities_for(store, policy, writers={contracts.NOTIFY: held_notify})
    worker = build_worker(env.client, task_queue=task_queue, activities=activities, ring=TEST_RING)
    async with running(worker):
        desk = Desk(signed(env.client), task_queue, {"index_search_attributes": False})
        desk.opener = opener(env.client, activities, task_queue, clock=env.get_current_time)
        case_id = await desk.open(priority="P1")  # Platinum P1: 15 minutes (S1)
        await env.sleep(timedelta(minutes=16))
        [alert] = await eventually(lambda: manager_alerts(store, case_id))
        assert [
            n["body"] for n in store.outbox.rows(case_id) if n["recipient_kind"] == "contact"
        ] == []
        released.set()
        view = await desk.until(case_id, lambda v: bool(v.escalations))
        [escalation] = view.escalations
        assert alert == escalation.ladder[0].id
        await eventually(lambda: told_the_customer(store, case_id))  # the case's writes went
        # through, its own alert of step 0 among them
        assert manager_alerts(store, case_id) == [alert]
        assert await plan_priorities(desk, case_id) == [URGENT.priority_key]
        await desk.tidy_up()


async def plan_priorities(desk: Desk, case_id: str) -> list[int]:
    """The task-queue priority each escalation plan of the case was scheduled with."""
    history = await desk.case(case_id).fetch_history()
    return [
        e.activity_task_scheduled_event_attributes.priority.priority_key
        for e in history.events
        if e.activity_task_scheduled_event_attributes.activity_type.name
        == contracts.PLAN_ESCALATION
    ]


# --- refusals are clear and change nothing (E3) -------------------------------------------------


async def eventually_finished(desk: Desk, case_id: str) -> None:
    """Until the case workflow has completed. Not `result()`: waiting on a result lets the
    time-skipping server skip time."""
    assert await desk.until_closed(case_id) == WorkflowExecutionStatus.COMPLETED


def facts(view: CaseView) -> dict[str, Any]:
    return view.model_dump(exclude={"feed", "feed_total", "sla_remaining_seconds"})


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            {"actor": "someone-else", "reason": "expertise"},
            "only a contact of the account can do this; someone-else is not one",
        ),
        (
            {
                "actor": "acme-alice",
                "reason": "expertise",
                "channel": "phone",
                "recorded_by": "gsc-erin",
            },
            "gsc-erin is an L1 engineer: a phone escalation is recorded by a Customer Care (L0)",
        ),
        (
            {"actor": "acme-alice", "reason": "expertise", "channel": "phone"},
            "a phone escalation names the Customer Care engineer who took the call",
        ),
        (
            {"actor": "acme-alice", "reason": "impatience"},
            "reason: Input should be 'lack_of_progress', 'expertise', 'business_impact' or 'other'",
        ),
        (
            {"actor": "acme-alice", "reason": "expertise", "priority": "P3"},
            "an escalation can raise the priority only; the case is P3 already",
        ),
    ],
    ids=["not-a-contact", "not-customer-care", "phone-without-agent", "bad-reason", "not-higher"],
)
async def test_a_refused_escalation_says_why_and_changes_nothing(
    desk: Desk, store: Store, payload: dict[str, Any], expected: str
) -> None:
    """E3: a clear refusal and no escalation anywhere. A well-formed escalation the rules
    refuse is on the feed; a malformed one (no agent named for a phone call, an unknown
    reason) is rejected at the door and never enters the case's history."""
    before = await answered_case(desk)
    malformed = "Input should be" in expected or "names the Customer Care" in expected
    if malformed:
        with pytest.raises(WorkflowUpdateFailedError) as failure:
            await desk.act(before.case_id, "escalate_now", **payload)
        cause = failure.value.cause
        assert isinstance(cause, ApplicationError) and cause.type == "InvalidPayload", cause
        message = cause.message
    else:
        message = await refused(desk, before.case_id, "escalate_now", **payload)
    assert message.startswith(f"escalate_now refused on {before.case_id}: ")
    assert expected in message
    after = await desk.view(before.case_id)
    assert facts(after) == facts(before)
    if malformed:
        assert after.feed == before.feed
    else:
        assert after.feed[-1].refused and after.feed[-1].kind == "escalate_now"
    assert after.escalations == [] and store.escalations.rows(before.case_id) == []
    assert manager_alerts(store, before.case_id) == []


async def test_a_second_escalation_while_one_is_active_is_refused(desk: Desk) -> None:
    """E3: one active escalation at a time; the refusal names it and who has it."""
    case = await answered_case(desk)
    first = await desk.act(case.case_id, "escalate_now", actor="acme-alice", reason="expertise")
    message = await refused(desk, case.case_id, "escalate_now", actor="acme-bob", reason="other")
    assert f"escalation {first.escalation_id} is already active with" in message
    assert len((await desk.view(case.case_id)).escalations) == 1


async def test_a_closed_case_cannot_be_escalated(desk: Desk, store: Store) -> None:
    """E3: only an open case is escalated; the caller is told the case is closed."""
    case = await answered_case(desk)
    await desk.act(case.case_id, "close", actor="acme-alice")
    await eventually_finished(desk, case.case_id)
    with pytest.raises(CaseworkError) as failure:
        await act_on_case(
            desk.client,
            case.case_id,
            "escalate_now",
            {"actor": "acme-alice", "reason": "other"},
        )
    assert str(failure.value) == f"{case.case_id} is closed; nothing more can be done on it"
    assert store.escalations.rows(case.case_id) == []


async def test_only_the_manager_who_has_it_acknowledges(desk: Desk) -> None:
    """E3: acknowledgement and de-escalation belong to the manager the escalation is with;
    with no escalation there is nothing to acknowledge."""
    case = await answered_case(desk)
    nothing = await refused(desk, case.case_id, "acknowledge_escalation", actor="em-ines")
    assert "the case has no active escalation (E3)" in nothing
    result = await desk.act(case.case_id, "escalate_now", actor="acme-alice", reason="other")
    holder = (result.escalation_manager or "").split()[0]
    other = "em-jon" if holder == "em-ines" else "em-ines"
    message = await refused(desk, case.case_id, "de_escalate", actor=other)
    assert f"({holder}) can do this; {other} does not have it" in message
    await desk.act(case.case_id, "acknowledge_escalation", actor=holder)
    twice = await refused(desk, case.case_id, "acknowledge_escalation", actor=holder)
    assert f"was acknowledged already by {holder}" in twice


# --- U5: a restricted case's escalation keeps its note on the case ---------------------------


async def test_a_restricted_cases_escalation_note_stays_with_the_restricted_queue(
    desk: Desk, store: Store
) -> None:
    """E3/U5: a US Citizen Support customer escalates (the case may still be queued, E3 "at
    any time"); the Escalation Managers are alerted without the note, and a viewer outside
    the restricted queue sees that an escalation exists, not what the customer wrote."""
    case_id = await desk.open(**CYBERDYNE, priority="P3")
    result = await desk.act(
        case_id, "escalate_now", actor="cyberdyne-judy", reason="expertise", note=SECRET
    )
    assert result.escalation_id == f"{case_id}-E1"
    outsider = await desk.view(case_id, viewer="gsc-erin")
    [escalation] = outsider.escalations
    assert escalation.note == WITHHELD and escalation.raised_by == "[contact]"
    member = await desk.view(case_id, viewer="cyberdyne-judy")
    assert member.escalations[0].note == SECRET
    alerts = await eventually(
        lambda: [
            n for n in store.outbox.rows(case_id) if n["recipient_kind"] == "escalation_manager"
        ]
    )
    assert all(SECRET not in n["body"] for n in alerts)


# --- the ladder survives continue-as-new ------------------------------------------------------


async def test_an_escalation_keeps_its_place_on_the_ladder_across_a_roll_over(
    env: WorkflowEnvironment, store: Store, policy: SlaPolicy
) -> None:
    """E3: a busy escalated case rolls over (continue-as-new); the escalation carries on with
    the same manager and window, and is passed on once when the window ends, not twice."""
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    desk = Desk(
        signed(env.client),
        task_queue,
        {"index_search_attributes": False, "continue_as_new_after_events": 30},
    )
    async with build_worker(
        env.client, task_queue=task_queue, activities=activities_for(store, policy), ring=TEST_RING
    ):
        try:
            case = await answered_case(desk)
            assert await desk.settle(case.case_id)  # a roll-over due to the answer is done
            case = await desk.view(case.case_id)
            first_run = (await desk.case(case.case_id).describe()).run_id
            rolled = [e.kind for e in case.feed].count("continued")
            await desk.act(case.case_id, "escalate_now", actor="acme-alice", reason="expertise")
            steps = expected_ladder(store, await desk.view(case.case_id))
            for n in range(12):
                await desk.act(case.case_id, "comment", actor="acme-alice", text=f"still down {n}")
            view = await desk.until(
                case.case_id, lambda v: [e.kind for e in v.feed].count("continued") > rolled
            )
            assert (await desk.case(case.case_id).describe()).run_id != first_run
            assert with_manager(steps[0])(view)

            await env.sleep(ACK_WINDOW + timedelta(seconds=5))
            view = await desk.until(case.case_id, with_manager(steps[1]))
            assert [e.kind for e in view.feed].count("escalation_passed_on") == 1
            assert await eventually(lambda: manager_alerts(store, case.case_id) == steps[:2])
        finally:
            await desk.tidy_up()
