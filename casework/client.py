"""Talking to the engine from outside: the functions behind `casework` and integrations.

They speak plain Temporal (workflow ids, updates, queries), so everything here can also be done
with the `temporal` CLI or the Web UI; README shows how.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
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
from casework.domain.actions import ActionResult, ViewRequest
from casework.domain.endings import ENDINGS, VISIBILITY_STATUS, ended_sentence
from casework.domain.lifecycle import OPEN_STATES
from casework.domain.models import (
    CASE_ID_PATTERN,
    CaseView,
    Category,
    Lenient,
    OpenCaseRequest,
    OpenCaseResult,
    Priority,
    Tier,
)

INTAKE_WORKFLOW = "Intake"
CASE_WORKFLOW = "Case"
CASE_STATES = (*OPEN_STATES, *ENDINGS)
"""What `--state` takes: a state of a running case, or how it ended (casework.domain.endings)."""
LATEST_RUNS = "ExecutionStatus != 'ContinuedAsNew'"
"""A case that continued as new keeps a closed row per earlier run in the visibility store;
this clause leaves each case's latest run only, so a case is listed once, as it is now."""
_QUERY_SAFE = re.compile(r"^[\w.@:-]{1,64}$")


class CaseworkError(Exception):
    """A refusal or a problem the user can act on; the message says what and how."""


def intake_id(request_id: str) -> str:
    return f"intake-{request_id}"


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
) -> OpenCaseResult:
    """Open a case, idempotently by `request.request_id`; CaseworkError if refused. A PAR
    customer coming to us directly gets a referral to their partner instead (P2): the result
    names the partner and has no case number."""
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
            static_summary=f"open a case for {request.account_id} ({request.channel.value})",
        )
    except WorkflowAlreadyStartedError:
        # The intake of this request completed before: its result is the case.
        done = client.get_workflow_handle(intake_id(request.request_id), result_type=OpenCaseResult)
        return (await done.result()).model_copy(update={"created": False})
    try:
        return await handle.result()
    except WorkflowFailureError as e:
        raise CaseworkError(f"case not opened: {_root_message(e)}") from None


def check_case_id(case_id: str) -> str:
    case_id = case_id.strip()
    if case_id.isdigit():
        case_id = f"case-{int(case_id):06d}"
    if not CASE_ID_PATTERN.match(case_id):
        raise CaseworkError(
            f"{case_id!r} is not a case number; write it like case-000123 or 123 "
            "(a vendor escalation: case-000123-esc-1)"
        )
    return case_id


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


async def view_case(client: Client, case_id: str, viewer: str) -> CaseView:
    """The case as `viewer` sees it (the `view` query), marked with how it ended when its
    workflow no longer runs: a terminated case still answers the query with its last state,
    so the execution status (`describe`) says whether that state is still true."""
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
    if ended is None:
        return view
    return view.model_copy(update={"ended": ended, "allowed_actions": []})


async def read_case(client: Client, case_id: str, viewer: str) -> CaseView:
    """U5: every read of a restricted case that is still running goes through its `read`
    update, which checks the viewer against the directory now and records a refused read on
    the case's feed. A case that ended takes no updates: the `view` query answers, read-only, as
    it does for any other case (so reading an ordinary case adds nothing to its history)."""
    case_id = check_case_id(case_id)
    view = await view_case(client, case_id, viewer)
    if not view.restricted or view.state == "closed" or view.ended:
        return view
    try:
        return await client.get_workflow_handle(case_id).execute_update(
            "read", ViewRequest(viewer=viewer), result_type=CaseView
        )
    except WorkflowUpdateFailedError as e:
        raise CaseworkError(_root_message(e)) from None
    except RPCError as e:
        if e.status is not RPCStatusCode.NOT_FOUND:
            raise
    return await view_case(client, case_id, viewer)  # ended in between


async def act_on_case(
    client: Client, case_id: str, action: str, payload: dict[str, Any]
) -> ActionResult:
    """The action's result; CaseworkError with the case's refusal, or with how the case ended
    when its workflow no longer runs."""
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
            raise CaseworkError(ended_sentence(case_id, ending_of(status) or "closed")) from None
        raise


async def _status(client: Client, case_id: str) -> WorkflowExecutionStatus | None:
    try:
        return (await client.get_workflow_handle(case_id).describe()).status
    except RPCError:
        return None


class CaseSummary(Lenient):
    """One row of `casework list`: what the case's search attributes say."""

    case_id: str
    state: str | None = None
    priority: str | None = None
    tier: str | None = None
    level: str | None = None
    owner: str | None = None
    account: str | None = None
    queue: str | None = None
    breached: bool | None = None
    sla_due: datetime | None = None
    restricted: bool | None = None
    started_at: datetime | None = None
    security: bool = False
    ended: str | None = None
    """How the case's workflow ended (casework.domain.endings), None while it runs: a
    terminated case's `state` is the one it was left in."""


def _one_of(name: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    for candidate in allowed:
        if value.strip().casefold() == candidate.casefold():
            return candidate
    raise CaseworkError(f"unknown {name} {value!r}; use one of: {', '.join(allowed)}")


def case_list_query(
    *,
    state: str | None = None,
    priority: str | None = None,
    tier: str | None = None,
    breached: bool | None = None,
    account: str | None = None,
    restricted: bool | None = None,
    security: bool = False,
) -> str:
    """The visibility query for Case workflows matching the filters (the same text works in
    `temporal workflow list --query` and the Web UI). Unknown values: CaseworkError."""
    clauses = [f"WorkflowType = '{CASE_WORKFLOW}'", LATEST_RUNS]
    chosen = _one_of("state", state, CASE_STATES)
    if chosen in OPEN_STATES:  # a case left in this state by a terminated run is not in it
        clauses += [f"{sa.CASE_STATE.name} = '{chosen}'", "ExecutionStatus = 'Running'"]
    elif chosen == "closed":  # closed by the customer (E4); its workflow may still be draining
        clauses += [
            f"{sa.CASE_STATE.name} = 'closed'",
            "ExecutionStatus IN ('Running', 'Completed')",
        ]
    elif chosen is not None:  # ended from outside the case
        clauses.append(f"ExecutionStatus = '{VISIBILITY_STATUS[chosen]}'")
    filters = [
        (sa.CASE_PRIORITY.name, _one_of("priority", priority, tuple(p.value for p in Priority))),
        (sa.CASE_TIER.name, _one_of("tier", tier, tuple(t.value for t in Tier))),
    ]
    if account is not None:
        if not _QUERY_SAFE.match(account.strip()):
            raise CaseworkError(
                f"{account!r} is not an account id; ids are letters, digits and . _ @ : -"
            )
        filters.append((sa.CASE_ACCOUNT.name, account.strip()))
    clauses += [f"{name} = '{value}'" for name, value in filters if value is not None]
    if breached is not None:
        clauses.append(f"{sa.CASE_SLA_BREACHED.name} = {'true' if breached else 'false'}")
    if restricted is not None:
        clauses.append(f"{sa.CASE_RESTRICTED.name} = {'true' if restricted else 'false'}")
    if security:  # A5: the case's category flags a security vulnerability issue
        clauses.append(f"{sa.CASE_CATEGORY.name} = '{Category.SECURITY_VULNERABILITY.value}'")
    return " AND ".join(clauses)


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
                "see README, Search attributes"
            ) from None
        raise
    return list(cases.values())
