"""Talking to the engine from outside: the functions behind `casework` and integrations.

They speak plain Temporal (workflow ids, updates, queries), so everything here can also be done
with the `temporal` CLI or the Web UI; README shows how.
"""

from __future__ import annotations

from typing import Any

from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, FailureError
from temporalio.service import RPCError, RPCStatusCode

from casework.domain.models import (
    CASE_ID_PATTERN,
    ActionResult,
    CaseView,
    OpenCaseRequest,
    OpenCaseResult,
    ViewRequest,
)

INTAKE_WORKFLOW = "Intake"


class CaseworkError(Exception):
    """A refusal or a problem the user can act on; the message says what and how."""


def intake_id(request_id: str) -> str:
    return f"intake-{request_id}"


def _root_message(error: BaseException) -> str:
    """The innermost failure's message: the business reason, not the wrapping."""
    cause: BaseException | None = error
    message = str(error)
    while cause is not None:
        if isinstance(cause, ApplicationError | FailureError) and str(cause):
            message = str(cause)
        cause = cause.__cause__
    return message


async def open_case(
    client: Client,
    request: OpenCaseRequest,
    *,
    task_queue: str,
    case_options: dict[str, Any] | None = None,
) -> OpenCaseResult:
    """Open a case, idempotently by `request.request_id`; CaseworkError if refused."""
    handle = await client.start_workflow(
        INTAKE_WORKFLOW,
        request,
        id=intake_id(request.request_id),
        task_queue=task_queue,
        result_type=OpenCaseResult,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        memo={"case_options": case_options or {}},
        static_summary=f"open a case for {request.account_id} ({request.channel.value})",
    )
    try:
        return await handle.result()
    except WorkflowFailureError as e:
        raise CaseworkError(f"case not opened: {_root_message(e)}") from None


def check_case_id(case_id: str) -> str:
    case_id = case_id.strip()
    if case_id.isdigit():
        case_id = f"case-{int(case_id):06d}"
    if not CASE_ID_PATTERN.match(case_id):
        raise CaseworkError(f"{case_id!r} is not a case number; write it like case-000123 or 123")
    return case_id


async def view_case(client: Client, case_id: str, viewer: str) -> CaseView:
    case_id = check_case_id(case_id)
    try:
        return await client.get_workflow_handle(case_id).query(
            "view", ViewRequest(viewer=viewer), result_type=CaseView
        )
    except RPCError as e:
        if e.status is RPCStatusCode.NOT_FOUND:
            raise CaseworkError(f"there is no case {case_id}") from None
        raise


async def act_on_case(
    client: Client, case_id: str, action: str, payload: dict[str, Any]
) -> ActionResult:
    case_id = check_case_id(case_id)
    handle = client.get_workflow_handle(case_id)
    try:
        return await handle.execute_update(action, payload, result_type=ActionResult)
    except WorkflowUpdateFailedError as e:
        raise CaseworkError(_root_message(e)) from None
    except RPCError as e:
        if e.status is RPCStatusCode.NOT_FOUND:
            status = await _status(client, case_id)
            if status is None:
                raise CaseworkError(f"there is no case {case_id}") from None
            raise CaseworkError(f"{case_id} is closed; nothing more can be done on it") from None
        raise


async def _status(client: Client, case_id: str) -> WorkflowExecutionStatus | None:
    try:
        return (await client.get_workflow_handle(case_id).describe()).status
    except RPCError:
        return None
