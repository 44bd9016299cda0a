"""Starting a case workflow on Temporal itself: the outside system here is the cluster.

The intake workflow asks this activity to start the case rather than starting it as a child:
a case outlives its intake by weeks, and it should not carry a parent it never talks to.
"""

from __future__ import annotations

from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from casework.contracts import START_CASE, StartCaseRequest
from casework.domain.models import CaseWorkflowInput, OpenCaseResult
from casework.domain.presentation import summary_line_for_intake

CASE_WORKFLOW = "Case"


class CaseStarter:
    def __init__(self, client: Client) -> None:
        self.client = client

    @activity.defn(name=START_CASE)
    async def start_case(self, request: StartCaseRequest) -> OpenCaseResult:
        """Start the case workflow, id = case number; a retry finds it started (created=False)."""
        intake = request.intake
        try:
            await self.client.start_workflow(
                CASE_WORKFLOW,
                CaseWorkflowInput(intake=intake, **request.case_options),
                id=intake.case_id,
                task_queue=activity.info().task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                static_summary=summary_line_for_intake(intake),
                request_eager_start=True,  # this worker routes the new case at once
            )
        except WorkflowAlreadyStartedError:
            return OpenCaseResult(case_id=intake.case_id, created=False)
        return OpenCaseResult(case_id=intake.case_id, created=True)
