"""Talking to the engine from outside: the functions behind `casework` and integrations.

They speak plain Temporal (workflow ids, updates, queries), so everything here can also be done
with the `temporal` CLI or the Web UI; docs/api.md shows how.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, FailureError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from casework import search_attributes as sa
from casework.case_list import CASE_STATES as CASE_STATES
from casework.case_list import CASE_WORKFLOW as CASE_WORKFLOW
from casework.case_list import LATEST_RUNS, CaseSummary
from casework.case_list import case_list_query as case_list_query
from casework.codec.payload import in_the_clear
from casework.domain.actions import ActionResult, ViewRequest
from casework.domain.case_ids import case_id_from as check_case_id
from casework.domain.case_ids import intake_id as intake_id
from casework.domain.endings import ended_sentence
from casework.domain.models import (
    CaseView,
    Category,
    OpenCaseRequest,
    OpenCaseResult,
)
from casework.domain.presentation import as_read_at
from casework.errors import CaseworkError as CaseworkError

INTAKE_WORKFLOW = "Intake"
ROLL_OVER_ATTEMPTS = 3
"""How often an action is sent to a case whose run rolled over (continue-as-new) as the action
came: the server answers NOT_FOUND for the run that ended, and the case runs on."""

Opener = Callable[[OpenCaseRequest, dict[str, Any]], Awaitable[OpenCaseResult]]
"""An intake done in this process (`worker.opener`): the door beside a worker opens cases with
it, without an intake workflow. Raises CaseworkError for a refused request."""


def _root_message(error: BaseException) -> str:
    """The innermost failure's message: the business reason, not the wrapping."""
    cause: BaseException | None = error
    message = str(error)
    while cause is not None:
        if isinstance(cause, ApplicationError | FailureError) and cause.message:
            message = cause.message  # str() would prefix the error type
        cause = cause.__cause__
    return message


async def open_case(
    client: Client,
    request: OpenCaseRequest,
    *,
    task_queue: str,
    case_options: dict[str, Any] | None = None,
    opener: Opener | None = None,
) -> OpenCaseResult:
    """Open a case, idempotently by `request.request_id`; CaseworkError if refused. A PAR
    customer coming to us directly gets a referral to their partner instead (P2): the result
    names the partner and has no case number.

    Through the Intake workflow (`intake-<request_id>`), which any client of the namespace can
    start; with an `opener` (the door: `worker.opener` beside a worker in `casework up`,
    `worker.published_opener` in `casework api`), the same intake in this process, which
    starts the case workflow itself (issues 12, 30: one workflow a case, one round trip).
    A request sent again gets its case either way: the number is the request id's."""
    if opener is not None:
        return await opener(request, case_options or {})
    try:
        handle = await client.start_workflow(
            INTAKE_WORKFLOW,
            request,
            id=intake_id(request.request_id),
            task_queue=task_queue,
            result_type=OpenCaseResult,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            memo={"case_options": case_options or {}},
            # in the clear: the Web UI shows it without the codec (an account id is no content)
            static_summary=in_the_clear(
                f"open a case for {request.account_id} ({request.channel.value})"
            ),
            # a worker in this process (casework up) takes the intake's first task from the
            # start's answer, skipping the task queue; any other client starts it as usual
            request_eager_start=True,
        )
    except WorkflowAlreadyStartedError:
        # The intake of this request completed before: its result is the case.
        done = client.get_workflow_handle(intake_id(request.request_id), result_type=OpenCaseResult)
        return (await done.result()).model_copy(update={"created": False})
    try:
        return await handle.result()
    except WorkflowFailureError as e:
        raise CaseworkError(f"case not opened: {_root_message(e)}") from None


_ENDED_BY = {
    WorkflowExecutionStatus.COMPLETED: "closed",
    WorkflowExecutionStatus.TERMINATED: "terminated",
    WorkflowExecutionStatus.TIMED_OUT: "timed_out",
    WorkflowExecutionStatus.FAILED: "failed",
    WorkflowExecutionStatus.CANCELED: "canceled",
}


def ending_of(status: WorkflowExecutionStatus | None) -> str | None:
    """How the case's workflow ended (casework.domain.endings); None while it runs."""
    return _ENDED_BY.get(status) if status is not None else None


Clock = Callable[[], Awaitable[datetime]]
"""The reader's clock: the instant a read's time left is computed at (the wall clock; tests
on the time-skipping server pass its clock, `WorkflowEnvironment.get_current_time`)."""


async def wall_clock() -> datetime:
    return datetime.now(UTC)


async def view_case(
    client: Client, case_id: str, viewer: str, clock: Clock = wall_clock
) -> CaseView:
    """The case as `viewer` sees it (the `view` query), marked with how it ended when its
    workflow no longer runs: a terminated case still answers the query with its last state,
    so the execution status (`describe`) says whether that state is still true. Its SLA clock
    is read at `await clock()` once the case has answered (S2, U4: `as_read_at`): the query's own
    figure is as of the case's last step, however long ago that was."""
    case_id = check_case_id(case_id)
    handle = client.get_workflow_handle(case_id)
    try:
        described, view = await asyncio.gather(
            handle.describe(),
            handle.query("view", ViewRequest(viewer=viewer), result_type=CaseView),
        )
    except RPCError as e:
        if e.status is RPCStatusCode.NOT_FOUND:
            raise CaseworkError(f"there is no case {case_id}") from None
        raise
    ended = ending_of(described.status)
    if ended is not None:
        update: dict[str, Any] = {"ended": ended, "allowed_actions": []}
        if ended != "closed":  # ended from outside: the state it was left in is no longer true
            update |= {"state": ended, "last_state": view.state}
        view = view.model_copy(update=update)
    return as_read_at(view, await clock())


async def read_case(
    client: Client, case_id: str, viewer: str, clock: Clock = wall_clock
) -> CaseView:
    """U5: every read of a restricted case that is still running goes through its `read`
    update, which checks the viewer against the directory now and records a refused read on
    the case's feed. A case that ended takes no updates: the `view` query answers, read-only, as
    it does for any other case (so reading an ordinary case adds nothing to its history). The
    SLA clock is read at `await clock()`, as `view_case` reads it."""
    case_id = check_case_id(case_id)
    view = await view_case(client, case_id, viewer, clock)
    if not view.restricted or view.state == "closed" or view.ended:
        return view
    try:
        read = await client.get_workflow_handle(case_id).execute_update(
            "read", ViewRequest(viewer=viewer), result_type=CaseView
        )
        return as_read_at(read, await clock())
    except WorkflowUpdateFailedError as e:
        raise CaseworkError(_root_message(e)) from None
    except RPCError as e:
        if e.status is not RPCStatusCode.NOT_FOUND:
            raise
    return await view_case(client, case_id, viewer, clock)  # ended in between


async def act_on_case(
    client: Client,
    case_id: str,
    action: str,
    payload: dict[str, Any],
    update_id: str | None = None,
) -> ActionResult:
    """The action's result; CaseworkError with the case's refusal, or with how the case ended
    when its workflow no longer runs. `update_id`: the update's id, so that sending it again
    (after a timeout, a busy answer) is answered with its first outcome, never applied twice
    (Temporal within a run, the case across runs: `casework.domain.once`)."""
    case_id = check_case_id(case_id)
    handle = client.get_workflow_handle(case_id)
    update_id = update_id or str(uuid.uuid4())
    for attempt in range(1, ROLL_OVER_ATTEMPTS + 1):
        try:
            return await handle.execute_update(
                action, payload, id=update_id, result_type=ActionResult
            )
        except WorkflowUpdateFailedError as e:
            raise CaseworkError(_root_message(e)) from None
        except RPCError as e:
            if e.status is not RPCStatusCode.NOT_FOUND:
                raise
            status = await _status(client, case_id)
            if status is None:
                raise CaseworkError(f"there is no case {case_id}") from None
            if status is WorkflowExecutionStatus.RUNNING and attempt < ROLL_OVER_ATTEMPTS:
                # the run it reached rolled over (continue-as-new) as it came: the case goes
                # on in its next run, which answers the same update id at most once
                continue
            raise CaseworkError(ended_sentence(case_id, ending_of(status) or "closed")) from None
    raise AssertionError("unreachable")


async def _status(client: Client, case_id: str) -> WorkflowExecutionStatus | None:
    try:
        return (await client.get_workflow_handle(case_id).describe()).status
    except RPCError:
        return None


async def list_cases(client: Client, query: str, *, limit: int = 50) -> list[CaseSummary]:
    """Cases from the visibility store, newest first, each once (its latest run), as it is
    now; `query` from `case_list_query` (a query without LATEST_RUNS gets it, so `limit`
    counts cases, not runs)."""
    if LATEST_RUNS not in query:
        query = f"({query}) AND {LATEST_RUNS}"
    cases: dict[str, CaseSummary] = {}
    try:
        async for execution in client.list_workflows(query, limit=limit):
            if execution.id in cases:  # a reused id: the first row is the newest
                continue
            found = execution.typed_search_attributes
            cases[execution.id] = CaseSummary(
                case_id=execution.id,
                state=found.get(sa.CASE_STATE),
                priority=found.get(sa.CASE_PRIORITY),
                tier=found.get(sa.CASE_TIER),
                level=found.get(sa.CASE_LEVEL),
                owner=found.get(sa.CASE_OWNER) or None,
                account=found.get(sa.CASE_ACCOUNT),
                queue=found.get(sa.CASE_QUEUE),
                breached=found.get(sa.CASE_SLA_BREACHED),
                sla_due=found.get(sa.CASE_SLA_DUE),
                restricted=found.get(sa.CASE_RESTRICTED),
                security=found.get(sa.CASE_CATEGORY) == Category.SECURITY_VULNERABILITY.value,
                started_at=execution.start_time,
                ended=ending_of(execution.status),
            )
    except RPCError as e:
        if e.status is RPCStatusCode.INVALID_ARGUMENT:
            raise CaseworkError(
                f"the Temporal server refused the case query ({e.message}); are the case "
                "search attributes registered? `casework up` registers them; on another server "
                "see docs/deployment.md, step 3 (the case search attributes)"
            ) from None
        raise
    return list(cases.values())
