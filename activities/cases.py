"""Starting a case workflow on Temporal itself: the outside system here is the cluster.

The intake workflow asks this activity to start the case rather than starting it as a child:
a case outlives its intake by weeks, and it should not carry a parent it never talks to.
An intake (workflows/intake.py) asks once, `intake_and_start_case`: the
directory's checks and the case number (the `intake` activity's work, in a thread), the
case's first routing (E1), then the start; one local activity instead of three (issue 12).
The door beside a worker runs the same `CaseStarter.open` in its own process, with no intake
workflow at all (`worker.opener`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from casework.codec.payload import in_the_clear
from casework.contracts import (
    INTAKE_AND_START,
    START_CASE,
    IntakeStep,
    RouteRequest,
    StartCaseRequest,
)
from casework.domain.models import (
    CaseWorkflowInput,
    IntakeResult,
    OpenCaseRequest,
    OpenCaseResult,
    Referral,
    RouteResult,
)
from casework.domain.presentation import web_ui_details, web_ui_summary
from casework.domain.routing import opening_level, routed_as_it_opens

CASE_WORKFLOW = "Case"

IntakeFn = Callable[[OpenCaseRequest, datetime], IntakeResult | Referral]
RouteFn = Callable[[RouteRequest], RouteResult]


class CaseStarter:
    def __init__(
        self,
        client: Client,
        intake: IntakeFn | None = None,
        route: RouteFn | None = None,
        eager: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        """`intake`: the worker's intake (DirectoryActivities.intake_at), which an opening runs
        first; `route`: its `route_case` activity, for the case's first routing (E1); `eager`:
        whether a start may hand the case's first task to this worker (casework.sharing;
        default: always)."""
        self.client = client
        self.intake = intake
        self.route = route
        self.eager = eager

    @activity.defn(name=START_CASE)
    async def start_case(self, request: StartCaseRequest) -> OpenCaseResult:
        """Start the case workflow, id = case number; a retry finds it started (created=False)."""
        return await self.start(request, activity.info().task_queue)

    @activity.defn(name=INTAKE_AND_START)
    async def intake_and_start(self, step: IntakeStep) -> OpenCaseResult:
        """The intake's checks and number (refusals as the `intake` activity raises them),
        the case's first routing, then the case's start; P2: a referral starts nothing.
        Idempotent as each is: by request id, by the routing attempt's key, by case number."""
        return await self.open(step, activity.info().task_queue)

    async def open(self, step: IntakeStep, task_queue: str) -> OpenCaseResult:
        """An intake's work, for the intake's activity or for the door of the same process
        (`casework.client.open_case` with an opener, `worker.opener`)."""
        if self.intake is None:
            raise ApplicationError(
                "this worker was built without the intake activity; build it with "
                "worker.activities_for(...) so it can open cases",
                type="WorkerMisconfigured",
                non_retryable=True,
            )
        at = step.at or _scheduled()
        answer = await asyncio.to_thread(self.intake, step.request, at)
        if isinstance(answer, Referral):
            return OpenCaseResult.referred(answer)
        route = None
        if self.route is not None and step.at is not None and routed_as_it_opens(answer, at):
            route = await asyncio.to_thread(self.route, _first_routing(answer, at))
        return await self.start(
            StartCaseRequest(intake=answer, case_options=step.case_options, opening_route=route),
            task_queue,
        )

    async def start(self, request: StartCaseRequest, task_queue: str) -> OpenCaseResult:
        intake = request.intake
        try:
            await self.client.start_workflow(
                CASE_WORKFLOW,
                CaseWorkflowInput(
                    intake=intake, opening_route=request.opening_route, **request.case_options
                ),
                id=intake.case_id,
                task_queue=task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                # the Web UI's: the summary in the clear (no restricted text), the details
                # encrypted in the case's realm, like its other payloads
                static_summary=in_the_clear(web_ui_summary(intake)),
                static_details=web_ui_details(intake),
                # this worker routes the new case at once, unless others share the queue
                request_eager_start=await self.eager() if self.eager is not None else True,
            )
            created = True
        except WorkflowAlreadyStartedError:
            created = False  # a retry: its routing found the assignment the first one recorded
        route = request.opening_route
        owner = route.assignment.engineer_id if route and route.assignment else None
        return OpenCaseResult(case_id=intake.case_id, created=created, owner=owner)


def _scheduled() -> datetime:
    """When the server scheduled this activity: an intake that sent no time opens then."""
    return activity.info().scheduled_time.astimezone(UTC)


def _first_routing(intake: IntakeResult, at: datetime) -> RouteRequest:
    """E1: the case's first routing attempt, as the case itself would ask it (routing.py):
    recorded under the same key, so the case never routes twice for it."""
    return RouteRequest(
        case_id=intake.case_id,
        level=opening_level(intake),
        product=intake.request.product,
        category=intake.request.category,
        at=at,
        attempt=1,
        restricted=intake.entitlement.restricted,
        partner_id=intake.entitlement.partner_id,
    )
