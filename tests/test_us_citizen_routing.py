"""The restricted queue (U2, U3), from the outside: cases of the flagged account `cyberdyne`
opened by phone and on the web, during business hours (U4), on the time-skipping server."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from casework.domain.directory import Directory
from casework.domain.us_citizen import RESTRICTED_QUEUE
from casework.store import Store
from tests.conftest import Desk, eventually
from tests.us_citizen_desk import (
    MEMBER_AT,
    RESTRICTED_MEMBERS,
    assigned_engineers,
    escalate_to,
    kinds,
    notifications_to,
    open_restricted,
    skip_to_business_hours,
    until,
)


@pytest.mark.parametrize(
    ("channel", "received_by", "router"),
    [("web", None, "routing"), ("phone", "cc-dana", "cc-dana")],
)
async def test_every_case_of_a_flagged_account_goes_to_the_restricted_queue_at_every_level(
    env: WorkflowEnvironment,
    desk: Desk,
    store: Store,
    channel: str,
    received_by: str | None,
    router: str,
) -> None:
    """U2/U3: by phone or on the web, the case lands in queue `us-citizen` and is assigned only
    to its members, at L0 and after each escalation at L1, L2 and L3, although cc-dana, gsc-*
    and gec-hugo have the skills and are on shift. By phone the receiving agent is on the feed
    routing the call; on the web the routing is automatic. Either way the customer is told."""
    await skip_to_business_hours(env)
    case_id = await open_restricted(desk, channel=channel, received_by=received_by)
    view = await until(desk, case_id, lambda v: v.state == "in_progress")
    assert view.restricted and view.queue == RESTRICTED_QUEUE
    assert view.owner is not None
    assert (view.owner.engineer_id, view.owner.queue) == ("usc-kara", RESTRICTED_QUEUE)

    routed = next(e for e in view.feed if e.kind == "routed_to_us_citizen")
    assert routed.actor == router
    if channel == "phone":
        assert (
            routed.text
            == "cc-dana routed the call to the US citizen queue and told the customer so"
        )
    else:
        assert routed.text == "routed automatically to the US citizen queue (web case)"
    assert kinds(view)[:3] == ["opened", "routed_to_us_citizen", "assigned"]
    told = await eventually(
        lambda: [
            n
            for n in notifications_to(store, case_id, "cyberdyne-judy")
            if "US Citizen Support" in n["subject"]
        ]
    )
    assert "only by verified US citizen engineers" in told[0]["body"]

    for level in ("L1", "L2", "L3"):
        view = await escalate_to(desk, case_id, level)
        assert view.queue == RESTRICTED_QUEUE
        assert view.owner is not None
        assert (view.owner.engineer_id, view.owner.queue) == (MEMBER_AT[level], RESTRICTED_QUEUE)
        escalated = [e for e in view.feed if e.kind == "escalate"][-1]
        assert escalated.text.endswith(f"-> {level}: needs {level}")

    assert assigned_engineers(store, case_id) == ["usc-kara", "usc-liam", "usc-maya", "usc-noah"]
    assert set(assigned_engineers(store, case_id)) <= RESTRICTED_MEMBERS
    assigned_in_feed = [e.text for e in view.feed if e.kind == "assigned"]
    assert all("queue us-citizen" in text for text in assigned_in_feed)
    engineers_told = {
        n["recipient_id"] for n in store.outbox.rows(case_id) if n["recipient_kind"] == "engineer"
    }
    assert engineers_told <= RESTRICTED_MEMBERS


async def test_phone_and_web_cases_end_up_the_same(env: WorkflowEnvironment, desk: Desk) -> None:
    """U3: the outcome is the same for both channels: queue, owner, clock and entitlement."""
    await skip_to_business_hours(env)
    web = await open_restricted(desk, channel="web")
    phone = await open_restricted(desk, channel="phone", received_by="cc-dana")
    a = await until(desk, web, lambda v: v.state == "in_progress")
    b = await until(desk, phone, lambda v: v.state == "in_progress")
    assert a.queue == b.queue == RESTRICTED_QUEUE
    assert a.owner is not None and b.owner is not None
    assert a.owner.engineer_id in RESTRICTED_MEMBERS and b.owner.engineer_id in RESTRICTED_MEMBERS
    assert a.clock == b.clock and a.clock.kind == "business_hours"
    assert a.sla.target == b.sla.target == timedelta(minutes=15)


async def test_without_an_eligible_member_the_case_waits_and_nobody_else_gets_it(
    env: WorkflowEnvironment, desk: Desk, store: Store, directory: Directory
) -> None:
    """U2: when no engineer of the restricted queue is eligible (here: nobody's citizenship is
    verified any more), the case waits in the queue, retrying, and is never assigned to one of
    the unverified engineers who have the skills and are on shift. Once a member is verified
    again, the next routing attempt assigns the case to them."""
    unverified = [
        e.model_copy(update={"citizenship": None}) if e.id in RESTRICTED_MEMBERS else e
        for e in directory.engineers
    ]
    store.directory.replace(directory.model_copy(update={"engineers": unverified}))
    assert store.directory.restricted_members() == []

    await skip_to_business_hours(env)
    case_id = await open_restricted(desk, channel="phone", received_by="cc-dana")
    waiting = await until(desk, case_id, lambda v: "waiting_in_queue" in kinds(v))
    reason = next(e.text for e in waiting.feed if e.kind == "waiting_in_queue")
    assert reason.startswith("no verified US citizen L0 engineer with skills FortiGate")
    assert waiting.queue == RESTRICTED_QUEUE

    await env.sleep(timedelta(hours=1))  # a dozen routing retries (every 5 minutes)
    still = await until(desk, case_id, lambda v: v.state == "queued")
    assert still.owner is None
    assert "assigned" not in kinds(still)
    assert assigned_engineers(store, case_id) == []

    store.directory.replace(directory)
    await env.sleep(timedelta(minutes=5))
    view = await until(desk, case_id, lambda v: v.state == "in_progress")
    assert view.owner is not None and view.owner.engineer_id == "usc-kara"
    assert assigned_engineers(store, case_id) == ["usc-kara"]
