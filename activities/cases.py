"""Starting a case workflow on Temporal itself: the outside system here is the cluster.

The intake workflow asks this activity to start the case rather than starting it as a child:
a case outlives its intake by weeks, and it should not carry a parent it never talks to.
Since ONE_STEP (workflows/intake.py) an intake asks once, `intake_and_start_case`: the
directory's checks and the case number (the `intake` activity's work, in a thread), then the
start; one local activity instead of two (issue 12: an open waited for each in turn).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from casework.contracts import INTAKE_AND_START, START_CASE, IntakeStep, StartCaseRequest
from casework.domain.models import (
    CaseWorkflowInput,
    IntakeResult,
    OpenCaseRequest,
    OpenCaseResult,
    Referral,
)
from casework.domain.presentation import summary_line_for_intake

CASE_WORKFLOW = "Case"

IntakeFn = Callable[[OpenCaseRequest], IntakeResult | Referral]


class CaseStarter:
    def __init__(self, client: Client, intake: IntakeFn | None = None) -> None:
        """`intake`: the worker's `intake` activity (DirectoryActivities.intake), which
        `intake_and_start` runs first."""
        self.client = client
        self.intake = intake

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

    @activity.defn(name=INTAKE_AND_START)
    async def intake_and_start(self, step: IntakeStep) -> OpenCaseResult:
        """The intake's checks and number (refusals as the `intake` activity raises them),
        then the case's start; P2: a referral starts nothing. Idempotent as both are: by
        request id, and by case number."""
        if self.intake is None:
            raise ApplicationError(
                "this worker was built without the intake activity; build it with "
                "worker.activities_for(...) so it can open cases",
                type="WorkerMisconfigured",
                non_retryable=True,
            )
        answer = await asyncio.to_thread(self.intake, step.request)
        if isinstance(answer, Referral):
            return OpenCaseResult.referred(answer)
        return await self.start_case(
            StartCaseRequest(intake=answer, case_options=step.case_options)
        )
