"""Everything a case carries has a bound (E3, E4, U5, U6): past it, the action is refused with
the reason and what to do instead, on the feed, and the case goes on working. Valid input in
large amounts never wedges a case."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from casework.domain.models import CaseView
from tests.conftest import STORED_SHA, Desk
from tests.us_citizen_desk import escalate_to, open_restricted, skip_to_business_hours
from workflows.case.approvals import MAX_ATTACHMENTS, MAX_LOG_APPROVALS
from workflows.case.escalations import MAX_ESCALATIONS


async def refusal(desk: Desk, case_id: str, action: str, **payload: Any) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await desk.act(case_id, action, **payload)
    last = (await desk.view(case_id)).feed[-1]
    assert last.refused and last.kind == action
    return str(refused.value.cause)


async def answered(desk: Desk) -> CaseView:
    case_id = await desk.open(priority="P3")
    view = await desk.until(case_id, lambda v: v.state == "in_progress")
    assert view.owner is not None
    await desk.act(case_id, "respond", actor=view.owner.engineer_id, text="Looking at it")
    return view


async def test_a_case_keeps_at_most_its_bound_of_files(desk: Desk) -> None:
    """U5: files stay in the attachment store; the case keeps MAX_ATTACHMENTS references."""
    view = await answered(desk)
    for i in range(MAX_ATTACHMENTS):
        await desk.act(
            view.case_id, "attach", actor="acme-alice", name=f"f{i}.log", sha256=STORED_SHA, size=1
        )
    message = await refusal(
        desk,
        view.case_id,
        "attach",
        actor="acme-alice",
        name="one-more.log",
        sha256=STORED_SHA,
        size=1,
    )
    assert f"the case has {MAX_ATTACHMENTS} files already" in message and "archive" in message
    after = await desk.view(view.case_id)
    assert len(after.attachments) == MAX_ATTACHMENTS
    await desk.act(view.case_id, "comment", actor="acme-alice", text="still here")


async def test_a_case_is_escalated_at_most_its_bound_of_times(desk: Desk) -> None:
    """E3: one escalation is active at a time, and a case carries MAX_ESCALATIONS of them."""
    view = await answered(desk)
    for _ in range(MAX_ESCALATIONS):
        raised = await desk.act(view.case_id, "escalate_now", actor="acme-alice", reason="other")
        manager = (raised.escalation_manager or "").split(" ")[0]
        await desk.act(view.case_id, "de_escalate", actor=manager)
    message = await refusal(desk, view.case_id, "escalate_now", actor="acme-alice", reason="other")
    assert f"escalated {MAX_ESCALATIONS} times" in message and "Customer Care" in message
    assert len((await desk.view(view.case_id)).escalations) == MAX_ESCALATIONS


async def test_a_case_asks_to_share_logs_at_most_its_bound_of_times(
    env: WorkflowEnvironment, desk: Desk
) -> None:
    """U6: each request is answered (here declined) before the next; past MAX_LOG_APPROVALS
    the engineer is told to ask by phone."""
    await skip_to_business_hours(env)
    case_id = await open_restricted(desk)
    await desk.until(case_id, lambda v: v.state == "in_progress")
    await desk.act(case_id, "respond", actor="usc-kara", text="Collecting data")
    await escalate_to(desk, case_id, "L3")
    await desk.act(case_id, "attach", actor="usc-noah", name="ike.log", sha256=STORED_SHA, size=9)
    for _ in range(MAX_LOG_APPROVALS):
        await desk.act(case_id, "request_log_approval", actor="usc-noah", logs=["att-1"])
        await desk.act(case_id, "decline_logs", actor="cyberdyne-ivan")
    message = await refusal(desk, case_id, "request_log_approval", actor="usc-noah", logs=["att-1"])
    assert f"asked {MAX_LOG_APPROVALS} times already" in message and "by phone" in message
