"""The intake workflow: validates an open request and starts the case workflow (through an
activity, so the case has no parent: it outlives its intake by weeks).

Input: `OpenCaseRequest`. Result: `OpenCaseResult` (the case number).
P2: a PAR customer who comes to us by phone or web is referred to their partner by the intake
activity; the result then names the partner and how to reach them, with no case number, and
no case workflow is started.
Workflow id: `intake-<request_id>`, so an integration that retries an open reaches the same
intake and gets the same case; the case number itself is allocated idempotently per request.
A refused request (unknown account, a contact not on the account, unknown product) fails this
workflow with the reason, and no case is started.
Memo `case_options` (optional): extra `CaseWorkflowInput` fields for the case, e.g.
`{"index_search_attributes": false}` on a server without the case search attributes.
A start whose input (or memo) does not decode fails at once with the reason, so a stranger's
garbage never holds a request id (workflows/inputs.py).
No handlers, no timers; it ends as soon as the case workflow has started (or the referral is
recorded). PINNED (Worker Versioning, issue 28): it lives seconds, on the version it started
on. The door does the same step in its own process without this workflow, in `casework up`
(`worker.opener`, issue 12) and running alone (`worker.published_opener`, issue 30); only a
client that talks to Temporal alone opens here (it has no way to allocate a case number).
Both steps are one local activity (`intake_and_start_case`): an intake is a few database rows
and a workflow start, and a person waits for its answer (`casework open`).
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RawValue, RetryPolicy, VersioningBehavior

with workflow.unsafe.imports_passed_through():
    from casework import contracts
    from casework.domain.models import OpenCaseRequest, OpenCaseResult

from workflows.inputs import NO_INPUT, memo_or_refuse, start_input

INTAKE_TIMEOUT = timedelta(seconds=30)
INTAKE_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=30))


@workflow.defn(name="Intake", versioning_behavior=VersioningBehavior.PINNED)
class IntakeWorkflow:
    @workflow.run
    async def run(self, input: RawValue = NO_INPUT) -> OpenCaseResult:
        request = start_input(input, OpenCaseRequest)
        memo = memo_or_refuse("case_options", default={}, type_hint=dict)
        return await workflow.execute_local_activity(
            contracts.INTAKE_AND_START,
            contracts.IntakeStep(request=request, case_options=memo, at=workflow.now()),
            result_type=OpenCaseResult,
            start_to_close_timeout=INTAKE_TIMEOUT,
            retry_policy=INTAKE_RETRY,
        )
