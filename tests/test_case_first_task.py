"""An action that reaches a case in its very first workflow task (E1): the door answers once
the case has started, before its first task has run, so the owner's first response can arrive
with the start itself. The task's handlers run before the case's `run`, on a case that has not
yet taken the routing its intake made; the action waits for it instead of being refused as if
the case were still queued. Update-with-start puts the update in that first task for certain."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio.client import WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from activities import DirectoryActivities
from casework.contracts import RouteRequest
from casework.domain.actions import ActionResult
from casework.domain.models import CaseWorkflowInput, IntakeResult
from casework.domain.routing import opening_level
from casework.domain.sla import SlaPolicy
from casework.store import Store
from tests.conftest import Desk, as_person


async def test_the_owner_s_response_in_the_case_s_first_task_is_taken(
    dev_desk: Desk, store: Store, policy: SlaPolicy
) -> None:
    directory = DirectoryActivities(store, policy)
    at = datetime.now(UTC)
    intake = directory.intake_at(dev_desk.request(), at)
    assert isinstance(intake, IntakeResult), intake
    route = directory.route_case(
        RouteRequest(
            case_id=intake.case_id,
            level=opening_level(intake),
            product=intake.request.product,
            category=intake.request.category,
            at=at,
            attempt=1,
        )
    )
    assert route.assignment is not None, route
    owner = route.assignment.engineer_id
    start = WithStartWorkflowOperation(
        "Case",
        CaseWorkflowInput(intake=intake, opening_route=route),
        id=intake.case_id,
        task_queue=dev_desk.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )
    dev_desk.opened.append(intake.case_id)
    with as_person(owner):
        answer = await dev_desk.client.execute_update_with_start_workflow(
            "respond",
            {"actor": owner, "text": "On it"},
            start_workflow_operation=start,
            result_type=ActionResult,
        )
    assert answer.state == "in_progress", answer
    view = await dev_desk.view(intake.case_id)
    assert view.sla.responded_at is not None  # S2: the first response stopped the clock
