"""Which versions of casework run, and a rollout from one to the next (issue 28).

Every worker registers a deployment version in a Temporal Worker Deployment (worker.py;
CASEWORK_DEPLOYMENT_NAME, CASEWORK_BUILD_ID). A case, an intake and the relay are PINNED to the
version whose worker started their run; new work goes to the deployment's *current* version (or,
for a share of workflow ids, to a *ramping* one). `promote` makes a version current (or ramping),
waits until the server has routed every task queue to it, then asks every open case and relay not
on it to roll over (the signal `roll_over`, workflows/case/moves.py): each continues as new at its
next quiet point and its next run starts on the promoted version. An old version *may shut
down* once it is neither current nor ramping and no open workflow of any type runs on it.

`describe_versions` counts open workflows per version from visibility: the server writes each
run's version in the search attribute `TemporalWorkerDeploymentVersion` as
`<deployment>:<build id>` (e.g. `casework:0.2.0`), and nothing for a run that has not run on a
versioned worker yet (started before versioning, or while the deployment had no current
version): those count on a row of their own (`build_id` None), while any is open.

The server calls used (temporalio's client has no high-level ones): DescribeWorkerDeployment,
SetWorkerDeploymentCurrentVersion, SetWorkerDeploymentRampingVersion (the server refuses a
version it has seen no poller of), CountWorkflowExecutions, ListWorkflowExecutions and
SignalWorkflowExecution.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator
from temporalio.api.enums.v1 import (
    RoutingConfigUpdateState,
    WorkerDeploymentVersionStatus,
)
from temporalio.api.workflowservice.v1 import (
    DescribeWorkerDeploymentRequest,
    DescribeWorkerDeploymentResponse,
    SetWorkerDeploymentCurrentVersionRequest,
    SetWorkerDeploymentRampingVersionRequest,
)
from temporalio.service import RPCError, RPCStatusCode

from casework.errors import CaseworkError
from casework.settings.fields import BUILD_ID_PATTERN, MAX_VERSION_NAME

if TYPE_CHECKING:
    from temporalio.client import Client

    from casework.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

ROLL_OVER = "roll_over"
"""The signal that asks a case or the relay to roll over onto the current version."""
CASE_WORKFLOW = "Case"
RELAY_WORKFLOW = "NotificationRelay"
ROLLED_OVER = (CASE_WORKFLOW, RELAY_WORKFLOW)
"""What `promote` asks to roll over; an intake lives seconds and ends on its version."""
SIGNALS_AT_ONCE = 16
"""Signals `promote` has in flight at once: a rollout of thousands of cases is a stream, not
a burst the frontend answers with "resource exhausted"."""
PROPAGATION_TIMEOUT = 30.0
"""Seconds to wait for the server to route every task queue to a promoted version before
asking anything to roll over (a task before that may still see the old target)."""
WORKERS_TIMEOUT = 60.0
"""Seconds a starting worker waits for the server to see its pollers (first deploy, `up`)."""
POLL_EVERY = 0.25
UNVERSIONED = "unversioned"


class VersionsRefused(CaseworkError):
    """A versions request that cannot be done as asked; the message says why and what to do."""


class VersionView(BaseModel):
    """One version of the deployment, or (`build_id` None) the open workflows of the task
    queue that run on no version yet."""

    deployment_name: str
    build_id: str | None = Field(description="None: the workflows on no version yet")
    status: str = Field(
        description="the server's: current, ramping, draining, drained, inactive; or unversioned"
    )
    current: bool
    ramping: bool
    ramp_percentage: float | None = None
    open_cases: int = Field(description="open Case workflows on this version")
    open_workflows: int = Field(description="open workflows of any type on this version")
    may_shut_down: bool = Field(
        description="neither current nor ramping, and no open workflow on it: its workers may stop"
    )
    first_seen: datetime | None = Field(
        default=None, description="when the server first saw a worker of this version"
    )

    @property
    def name(self) -> str:
        """How the CLI and the logs name it."""
        return self.build_id or UNVERSIONED


class PromoteResult(BaseModel):
    """What `promote` did."""

    deployment_name: str
    build_id: str
    current: bool = Field(description="made current (False: made ramping)")
    ramp_percentage: float | None = None
    previous_current: str | None = Field(description="the build that was current before")
    propagated: bool = Field(
        description="the server routed every task queue to it within the wait; if not, some "
        "cases may roll over onto the old version: promote again"
    )
    asked: int = Field(description="open cases and relays asked to roll over")
    cases_asked: int = 0
    gone: int = Field(default=0, description="ended or rolled over before they were asked")
    failed: int = Field(default=0, description="could not be asked (see the log); promote again")
    versions: list[VersionView] = Field(default_factory=list)


def version_value(deployment_name: str, build_id: str) -> str:
    """How the server writes a version in `TemporalWorkerDeploymentVersion`."""
    return f"{deployment_name}:{build_id}"


# --- reading -------------------------------------------------------------------------------


async def describe_versions(client: Client, settings: Settings) -> list[VersionView]:
    """Every version of the deployment (oldest first) with its open cases and workflows, and
    a row of the workflows of the task queue still on no version, while there are any."""
    name = settings.deployment_name
    described = await _describe(client, name)
    queue = _literal(settings.task_queue, "the task queue")
    unversioned = f"TaskQueue = '{queue}' AND TemporalWorkerDeploymentVersion IS NULL"
    rows: list[VersionView] = []
    counts = [_counts(client, unversioned)]
    summaries: list[Any] = []
    current = ramping = None
    percentage = 0.0
    if described is not None:
        info = described.worker_deployment_info
        routing = info.routing_config
        current = routing.current_deployment_version.build_id or None
        ramping = routing.ramping_deployment_version.build_id or None
        percentage = routing.ramping_version_percentage
        summaries = sorted(info.version_summaries, key=lambda s: s.create_time.ToDatetime())
        counts += [
            _counts(client, f"TemporalWorkerDeploymentVersion = '{_version_of(name, s)}'")
            for s in summaries
        ]
    answered = await asyncio.gather(*counts)
    cases, workflows = answered[0]
    if workflows:
        rows.append(
            VersionView(
                deployment_name=name,
                build_id=None,
                status=UNVERSIONED,
                current=False,
                ramping=False,
                open_cases=cases,
                open_workflows=workflows,
                may_shut_down=False,
            )
        )
    for summary, (cases, workflows) in zip(summaries, answered[1:], strict=True):
        build = summary.deployment_version.build_id
        is_current, is_ramping = build == current, build == ramping
        rows.append(
            VersionView(
                deployment_name=name,
                build_id=build,
                status=_status(summary.status),
                current=is_current,
                ramping=is_ramping,
                ramp_percentage=percentage if is_ramping else None,
                open_cases=cases,
                open_workflows=workflows,
                may_shut_down=not is_current and not is_ramping and workflows == 0,
                first_seen=summary.create_time.ToDatetime().astimezone()
                if summary.HasField("create_time")
                else None,
            )
        )
    return rows


async def _counts(client: Client, where: str) -> tuple[int, int]:
    """(open cases, open workflows) matching `where`."""
    running = f"ExecutionStatus = 'Running' AND {where}"
    cases, workflows = await asyncio.gather(
        client.count_workflows(f"{running} AND WorkflowType = '{CASE_WORKFLOW}'"),
        client.count_workflows(running),
    )
    return cases.count, workflows.count


async def _describe(client: Client, name: str) -> DescribeWorkerDeploymentResponse | None:
    """The deployment as the server has it; None before any worker of it has polled."""
    try:
        return await client.workflow_service.describe_worker_deployment(
            DescribeWorkerDeploymentRequest(namespace=client.namespace, deployment_name=name)
        )
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            return None
        raise


def _version_of(name: str, summary: Any) -> str:
    return version_value(name, _literal(summary.deployment_version.build_id, "a build id"))


def _status(status: WorkerDeploymentVersionStatus.ValueType) -> str:
    text = WorkerDeploymentVersionStatus.Name(status)
    return text.removeprefix("WORKER_DEPLOYMENT_VERSION_STATUS_").lower()


def _literal(value: str, what: str) -> str:
    """`value` as a visibility query's string literal; refused if it could end the literal
    (the settings' patterns never let one through; a server's answer might)."""
    if any(c in value for c in "'\"\\") or any(not c.isprintable() for c in value):
        raise VersionsRefused(f"{what} {value!r} has a quote, backslash or control character")
    return value


# --- promoting -----------------------------------------------------------------------------


def checked_build(build_id: Any) -> str:
    """A build id as an operator typed it, or VersionsRefused saying what to write."""
    if not isinstance(build_id, str) or not build_id:
        raise VersionsRefused("name the build to promote, like 0.3.0 (see `casework versions`)")
    if len(build_id) > MAX_VERSION_NAME or not re.match(BUILD_ID_PATTERN, build_id):
        shown = build_id[:MAX_VERSION_NAME] + ("..." if len(build_id) > MAX_VERSION_NAME else "")
        raise VersionsRefused(
            f"{shown!r} is not a build id: write letters, digits and . _ + - (no spaces, "
            f"no :), at most {MAX_VERSION_NAME} characters, like 0.3.0"
        )
    return build_id


def checked_ramp(ramp: Any) -> float | None:
    """A ramp as an operator typed it: a percentage above 0 and at most 100 (or None)."""
    if ramp is None:
        return None
    if isinstance(ramp, bool) or not isinstance(ramp, int | float) or not math.isfinite(ramp):
        raise VersionsRefused("the ramp is a percentage: a number above 0 and at most 100")
    if not 0 < ramp <= 100:
        raise VersionsRefused(
            f"a ramp of {ramp:g}% is out of range: give a percentage above 0 and at most 100 "
            "(to make the build current for every case, promote it without a ramp)"
        )
    return float(ramp)


class PromoteRequest(BaseModel):
    """What the door's `POST /v1/versions/promote` takes: `casework versions promote BUILD
    [--ramp PCT]` as JSON."""

    model_config = ConfigDict(extra="forbid")

    build_id: str = Field(
        description="the build to promote, like 0.3.0 (start its workers first)",
        max_length=MAX_VERSION_NAME,
        examples=["0.3.0"],
    )
    ramp: float | None = Field(
        default=None,
        description="a ramp instead: this percentage (above 0, at most 100) of new work and of "
        "the cases asked to roll over goes to the build",
        examples=[10],
    )

    @field_validator("build_id", mode="before")
    @classmethod
    def _build(cls, value: Any) -> str:
        try:
            return checked_build(value)
        except VersionsRefused as e:
            raise ValueError(str(e)) from None

    @field_validator("ramp", mode="before")
    @classmethod
    def _ramp(cls, value: Any) -> float | None:
        try:
            return checked_ramp(value)
        except VersionsRefused as e:
            raise ValueError(str(e)) from None


async def promote(
    client: Client,
    settings: Settings,
    build_id: str,
    ramp: float | None = None,
    *,
    wait_for_workers: float = 0.0,
    wait_for_routing: float = PROPAGATION_TIMEOUT,
) -> PromoteResult:
    """Make `build_id` current (or ramping at `ramp` percent), wait until the server has
    routed every task queue to it, then ask every open case and relay not on it to roll over.
    Refused (VersionsRefused, nothing changed) for a build no worker of the deployment ever
    ran, or whose workers do not poll now. `wait_for_workers`: seconds to wait for the
    server to see the build's workers (a worker promoting itself as it starts);
    `wait_for_routing`: seconds to wait for the routing to reach every task queue (past it,
    the result says `propagated=False` and the cases are asked anyway)."""
    build_id, ramp = checked_build(build_id), checked_ramp(ramp)
    name = settings.deployment_name
    described = await until_seen(client, settings, build_id, wait_for_workers)
    previous = described.worker_deployment_info.routing_config.current_deployment_version
    await retry_while_unseen(
        lambda: set_version(client, name, build_id, ramp), wait_for_workers, f"promoting {build_id}"
    )
    propagated = await until_propagated(client, name, wait_for_routing)
    asked = await roll_over_all(client, settings, version_value(name, build_id))
    return PromoteResult(
        deployment_name=name,
        build_id=build_id,
        current=ramp is None,
        ramp_percentage=ramp,
        previous_current=previous.build_id or None,
        propagated=propagated,
        **asked,
        versions=await describe_versions(client, settings),
    )


async def set_version(client: Client, name: str, build_id: str, ramp: float | None) -> None:
    if ramp is None:
        await client.workflow_service.set_worker_deployment_current_version(
            SetWorkerDeploymentCurrentVersionRequest(
                namespace=client.namespace,
                deployment_name=name,
                build_id=build_id,
                identity=client.identity,
            )
        )
        return
    await client.workflow_service.set_worker_deployment_ramping_version(
        SetWorkerDeploymentRampingVersionRequest(
            namespace=client.namespace,
            deployment_name=name,
            build_id=build_id,
            percentage=ramp,
            identity=client.identity,
        )
    )


async def until_seen(
    client: Client, settings: Settings, build_id: str, wait: float
) -> DescribeWorkerDeploymentResponse:
    """The deployment, once a worker of `build_id` has polled it (the server then knows the
    version); VersionsRefused after `wait` seconds. Whether its workers poll *now* is the
    server's to check as the version is promoted (it refuses a version it has seen no poller
    of lately)."""
    name = settings.deployment_name
    deadline = time.monotonic() + wait
    while True:
        described = await _describe(client, name)
        summaries = described.worker_deployment_info.version_summaries if described else []
        builds = [s.deployment_version.build_id for s in summaries]
        if described is not None and build_id in builds:
            return described
        if time.monotonic() >= deadline:
            break
        await asyncio.sleep(POLL_EVERY)
    known = ", ".join(builds) or "none yet"
    raise VersionsRefused(
        f"no worker of build {build_id} has ever polled deployment {name}, so it cannot be "
        f"promoted: start its workers first (CASEWORK_BUILD_ID={build_id}, or that package "
        f"version, on task queue {settings.task_queue}), then promote it. Versions the "
        f"deployment knows: {known}"
    )


async def retry_while_unseen(work: Callable[[], Awaitable[T]], wait: float, what: str) -> T:
    """`work()`, tried again for `wait` seconds while the server has not caught up with a new
    version's pollers; a refusal says what the server said."""
    started = time.monotonic()
    while True:
        try:
            return await work()
        except RPCError as e:
            waited = time.monotonic() - started
            if (e.status in _NOT_YET and waited < wait) or (
                e.status in _BUSY and waited < BUSY_WAIT
            ):
                await asyncio.sleep(POLL_EVERY)
                continue
            raise VersionsRefused(f"{what}: Temporal refused it: {e.message or e}") from None


_NOT_YET = (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION)
"""The server has not caught up with a new version's pollers: tried again for `wait` only."""
_BUSY = (
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.ABORTED,
    RPCStatusCode.CANCELLED,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.RESOURCE_EXHAUSTED,
)
"""A busy server ("operation was canceled": its deployment workflow did not answer in time,
seen on a loaded machine): setting a version is idempotent, so it is tried again for
BUSY_WAIT seconds whoever asks."""
BUSY_WAIT = 30.0


async def until_propagated(client: Client, name: str, timeout: float = PROPAGATION_TIMEOUT) -> bool:
    """Wait until the server says the routing change reached every task queue (at most
    `timeout` seconds). A busy server's answer (`_BUSY`) to one look is as good as "not yet":
    the next look asks again."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            described = await _describe(client, name)
        except RPCError as e:
            if e.status not in _BUSY:
                raise
            described = None
        state = described.worker_deployment_info.routing_config_update_state if described else 0
        if state == RoutingConfigUpdateState.ROUTING_CONFIG_UPDATE_STATE_COMPLETED:
            return True
        await asyncio.sleep(POLL_EVERY / 2)
    log.warning(
        "the routing of deployment %s had not reached every task queue in %.0f s",
        name,
        timeout,
    )
    return False


async def roll_over_all(client: Client, settings: Settings, target: str) -> dict[str, int]:
    """Ask every open case and relay of the deployment not on `target`, and of the task queue
    on no version, to roll over: each run by its id, so a run that has rolled over already is
    not asked twice ("gone"). At most SIGNALS_AT_ONCE in flight."""
    name = _literal(settings.deployment_name, "the deployment name")
    queue = _literal(settings.task_queue, "the task queue")
    types = ", ".join(f"'{t}'" for t in ROLLED_OVER)
    query = (
        f"ExecutionStatus = 'Running' AND WorkflowType IN ({types}) AND "
        f"((TemporalWorkerDeployment = '{name}' AND "
        f"TemporalWorkerDeploymentVersion != '{_literal(target, 'the version')}') OR "
        f"(TaskQueue = '{queue}' AND TemporalWorkerDeploymentVersion IS NULL))"
    )
    tally = {"asked": 0, "cases_asked": 0, "gone": 0, "failed": 0}
    gate = asyncio.Semaphore(SIGNALS_AT_ONCE)

    async def ask(workflow_id: str, run_id: str, kind: str) -> None:
        try:
            await client.get_workflow_handle(workflow_id, run_id=run_id).signal(ROLL_OVER)
        except RPCError as e:
            if e.status == RPCStatusCode.NOT_FOUND:
                tally["gone"] += 1
                return
            tally["failed"] += 1
            log.warning("could not ask %s (run %s) to roll over: %s", workflow_id, run_id, e)
            return
        finally:
            gate.release()
        tally["asked"] += 1
        tally["cases_asked"] += kind == CASE_WORKFLOW

    pending: set[asyncio.Task[None]] = set()
    async for execution in client.list_workflows(query):
        await gate.acquire()
        task = asyncio.ensure_future(ask(execution.id, execution.run_id, execution.workflow_type))
        pending.add(task)
        task.add_done_callback(pending.discard)
    if pending:
        await asyncio.gather(*pending)
    return tally
