"""The casework worker: runs the case and intake workflows and their activities.

Worker Versioning (issue 28): a worker of `casework up`, `casework worker` and this module's
`main` registers its deployment version (CASEWORK_DEPLOYMENT_NAME, CASEWORK_BUILD_ID: the
package's version by default) unless CASEWORK_WORKER_VERSIONING=off; the first worker of a
deployment without a current version makes its own current (casework.versions.first_deploy).
A worker built in-process (tests) is unversioned unless given `version`.

`build_worker` is shared by `casework up`, tests and this module's `main`, which connects with
the SDK's environment configuration (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
TEMPORAL_TLS_*, TEMPORAL_PROFILE and the config file), so the same worker runs against the
embedded dev server, a self-hosted cluster or Temporal Cloud.

    python worker.py [--join]   # or: casework worker [--join]
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import temporalio.activity
from sqlalchemy.exc import DBAPIError
from temporalio.client import Client
from temporalio.client import Interceptor as ClientInterceptor
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.envconfig import ClientConfig
from temporalio.exceptions import ApplicationError
from temporalio.runtime import Runtime
from temporalio.worker import Interceptor, Worker, WorkerDeploymentConfig
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities import (
    AttachmentActivities,
    DirectoryActivities,
    LogSharingActivities,
    NotificationActivities,
    TrackerActivities,
)
from activities.cases import CaseStarter
from activities.effects import EffectActivities
from activities.escalation import EscalationActivities
from activities.feed import FeedActivities
from activities.ports import IntakeStore, WorkerStore
from activities.relay import RelayActivities
from activities.reporting import ReportingActivities
from casework import contracts
from casework.attachments import AttachmentStore
from casework.client import CaseworkError, Opener
from casework.collector import tune_for_worker
from casework.contracts import IntakeStep
from casework.converter import converter_for
from casework.deployment import first_deploy, running_as, worker_version
from casework.domain.models import OpenCaseRequest, OpenCaseResult
from casework.domain.sla import SlaPolicy
from casework.engine import load_policy, open_store
from casework.health import serve_worker_health
from casework.identity.interceptors import PrincipalCheck, with_encrypted_headers
from casework.identity.keyring import KeyRing, load_keyring
from casework.metrics import METRICS_HOST, serve_worker_metrics
from casework.metrics import check_ports as check_metrics_ports
from casework.notify.config import RelayConfig, RelayConfigError, for_joiner
from casework.notify.waker import RelayWaker
from casework.observability import ActivityLog, configure_logging, tracing_interceptors
from casework.sandbox import ShortcutRunner
from casework.settings import Settings, SettingsRefused, environment
from casework.sharing import EagerWhenAlone
from casework.startup import announce, register_secrets
from workflows.case import CaseWorkflow
from workflows.intake import IntakeWorkflow
from workflows.relay import NotificationRelay
from workflows.signal_budget import SignalBudget
from workflows.unversioned import UNVERSIONED_WORKFLOWS

WORKFLOWS = [CaseWorkflow, IntakeWorkflow, NotificationRelay]
"""As a versioned worker registers them (each PINNED); an unversioned one registers their
twins (workflows.unversioned)."""
WORKFLOW_RUNNER = ShortcutRunner(
    SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules("workflows", "casework")
    )
)
"""The sandbox, with casework's own modules passed through: they are imported once per worker
instead of once per case (a new case cost 13% of the worker's CPU re-importing its workflow's
parts, and each cached case held its own copy of them). The sandbox still refuses
non-deterministic calls at run time (`datetime.now()`, I/O) in them; what passing through gives
up is a fresh module per run, so workflow modules keep no module-level mutable state (none
does: constants and classes only). `ShortcutRunner` answers the sandbox's per-payload context
lookups outside it (`casework.sandbox`)."""
ACTIVITY_THREADS = 16


def activities_for(
    store: WorkerStore,
    policy: SlaPolicy,
    *,
    attachments: AttachmentStore | None = None,
    relay: RelayConfig | None = None,
    waker: RelayWaker | None = None,
    writers: Mapping[str, Callable[[Any], Any]] | None = None,
) -> list:
    """The activities of a worker over `store`. `attachments`: the engine's attachment store,
    where a case checks a file it is asked to attach (U5); without one, every attach is
    refused, saying so. `relay`: this worker delivers the outbox (issue 14) with this
    configuration; `waker`: new outbox rows are sent at once, from this process when it has
    `relay` (issue 30), else by waking the relay (without one, the relay polls).
    `writers`: stand-ins for some of the side effects a case batches (`apply_effects`), by
    activity name (`casework simulate` listens to notify and release_case). Publishes `policy`
    to the store as the newest the workers run under (`published_opener`, issue 30)."""
    store.policies.publish(policy, datetime.now(UTC))  # a door running alone opens under it
    directory = DirectoryActivities(store, policy)
    notifications = NotificationActivities(store, waker)
    tracker = TrackerActivities(store)
    sharing = LogSharingActivities(store)
    escalation = EscalationActivities(store, policy, notify=notifications.notify)
    reporting = ReportingActivities(store)
    feed = FeedActivities(store, waker, relay.public_url if relay else None)
    table: dict[str, Callable[[Any], Any]] = {
        contracts.NOTIFY: notifications.notify,
        contracts.RECORD_FEED: feed.record_feed,
        contracts.RECORD_CASE_FACTS: reporting.record_case_facts,
        contracts.RECORD_CASE_ROW: reporting.record_case_row,
        contracts.RECORD_ESCALATION: escalation.record_escalation,
        contracts.RECORD_LOG_APPROVAL: sharing.record_log_approval,
        contracts.RELEASE_CASE: directory.release_case,
        contracts.ALERT_ESCALATION_MANAGER: notifications.alert_escalation_manager,
    }
    effects = EffectActivities(table | dict(writers or {}))
    delivery = RelayActivities(store, relay) if relay is not None else None
    if delivery is not None and waker is not None:
        waker.deliver_here(delivery.round_here, delivery.idle_here)  # sent here (issue 30)
    return [
        directory.intake,
        directory.route_case,
        directory.release_case,
        notifications.notify,
        notifications.alert_escalation_manager,
        tracker.file_problem_report,
        directory.check_viewer,
        directory.check_partner,
        sharing.record_log_approval,
        sharing.share_logs_with_problem_report,
        escalation.plan_escalation,
        escalation.record_escalation,
        reporting.record_case_facts,
        reporting.record_case_row,
        feed.record_feed,
        effects.apply_effects,
        AttachmentActivities(attachments).check_attachment,
        *([delivery.deliver_due] if delivery is not None else []),
    ]


def build_worker(
    client: Client,
    *,
    task_queue: str,
    activities: list,  # type: ignore[type-arg]
    ring: KeyRing,
    executor: ThreadPoolExecutor | None = None,
    version: WorkerDeploymentVersion | None = None,
    **options,  # type: ignore[no-untyped-def]
) -> Worker:
    """The one place a casework worker is assembled. The activity that starts case workflows
    uses this worker's own client. `ring` verifies the door's tokens (casework.identity):
    every worker of a deployment loads the same ring. `version`: the deployment version this
    worker registers (Worker Versioning, issue 28; `casework.versions.worker_version`);
    None: an unversioned worker."""
    tune_for_worker()
    client = with_encrypted_headers(client)  # the door's tokens arrive encrypted
    starter = _starter(client, activities, task_queue)
    if version is not None:
        options["deployment_config"] = WorkerDeploymentConfig(
            version=version,
            use_worker_versioning=True,
            default_versioning_behavior=VersioningBehavior.PINNED,
        )
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS if version is not None else UNVERSIONED_WORKFLOWS,
        workflow_runner=options.pop("workflow_runner", WORKFLOW_RUNNER),
        activities=[*activities, starter.start_case, starter.intake_and_start],
        activity_executor=executor or ThreadPoolExecutor(ACTIVITY_THREADS),
        # no more activity tasks taken than threads to run them: the rest wait at the server,
        # where task-queue priority orders them (a breach's escalation plan first), not in
        # this process's thread queue, first come first served
        max_concurrent_activities=options.pop(
            "max_concurrent_activities", executor._max_workers if executor else ACTIVITY_THREADS
        ),
        interceptors=[
            *workflow_interceptors(ring),
            ActivityLog(),
            *options.pop("interceptors", []),
        ],
        **options,
    )


def workflow_interceptors(ring: KeyRing) -> list[Interceptor]:
    """What every signal and update passes before a workflow's handler, in this order (a
    replayer needs the same): a task's share of signals (workflows/signal_budget.py), then
    the caller's credential (casework.identity.interceptors)."""
    return [SignalBudget(), PrincipalCheck(ring)]


def opener(
    client: Client,
    activities: list,  # type: ignore[type-arg]
    task_queue: str,
    clock: Callable[[], Awaitable[datetime]] | None = None,
) -> Opener:
    """The intake of `activities` done in this process, for the door beside this worker
    (`casework up`): a case opens without an intake workflow (one workflow a case, issue 12),
    the case workflow started on `task_queue` with this process's `client` (its first task
    taken eagerly by the worker here). Answers as the intake workflow would: a refusal is a
    CaseworkError with the intake's reason; a database that does not answer, one the door
    turns into 503. `clock`: the time the first routing is made for (the wall clock; tests
    on the time-skipping server pass its clock)."""
    starter = _starter(client, activities, task_queue)

    async def open_here(request: OpenCaseRequest, case_options: dict[str, Any]) -> OpenCaseResult:
        at = await clock() if clock is not None else datetime.now(UTC)
        step = IntakeStep(request=request, case_options=case_options, at=at)
        try:
            return await starter.open(step, task_queue)
        except ApplicationError as e:
            raise CaseworkError(f"case not opened: {e.message}") from None
        except DBAPIError as e:
            raise _database_down(e) from None

    return open_here


def _database_down(e: DBAPIError) -> CaseworkError:
    """A database that does not answer: the door answers 503 (its cause's type)."""
    error = CaseworkError(
        "case not opened: the engine's database did not answer "
        f"({type(e.orig).__name__}); send the request again shortly"
    )
    error.__cause__ = ApplicationError(str(e.orig), type="DirectoryUnavailable")
    return error


def published_opener(client: Client, store: IntakeStore, task_queue: str) -> Opener:
    """The intake for a door that runs alone (`casework api`, issue 30): a case opens in one
    round trip to Temporal (the case workflow's start), with no intake workflow. The door runs
    the intake's checks, number and first routing against the engine's database, as a worker's
    intake does, and decides the entitlement under the SLA policy the newest worker published
    there as it started (`store.policies`), read at each opening: never under a copy of the
    door's own, which could be older than the workers'. Before any worker has started on the
    database, a request is answered 503 and opens nothing. The case's first task goes to the
    task queue's workers (no eager start: no worker runs here)."""

    async def open_alone(request: OpenCaseRequest, case_options: dict[str, Any]) -> OpenCaseResult:
        step = IntakeStep(request=request, case_options=case_options, at=datetime.now(UTC))
        try:
            policy = await asyncio.to_thread(store.policies.current)  # once an opening
            if policy is None:
                cause = ApplicationError("no published policy", type="DirectoryUnavailable")
                raise CaseworkError(
                    "case not opened: no casework worker has started on this engine's database "
                    "yet, so the SLA policy to open it under is not known; start a worker "
                    "(`casework worker`) and send the request again"
                ) from cause
            directory = DirectoryActivities(store, policy)
            starter = CaseStarter(
                client, intake=directory.intake_at, route=directory.route_case, eager=_never
            )
            return await starter.open(step, task_queue)
        except ApplicationError as e:
            raise CaseworkError(f"case not opened: {e.message}") from None
        except DBAPIError as e:
            raise _database_down(e) from None

    return open_alone


async def _never() -> bool:
    return False


def _starter(client: Client, activities: list, task_queue: str) -> CaseStarter:  # type: ignore[type-arg]
    directory = getattr(_activity_named(activities, contracts.INTAKE), "__self__", None)
    return CaseStarter(  # the intake's DirectoryActivities, for `intake_at`
        client,
        intake=directory.intake_at if directory is not None else None,
        route=_activity_named(activities, contracts.ROUTE_CASE),
        eager=EagerWhenAlone(client, task_queue),  # others on the queue share the cases
    )


def _activity_named(activities: list, name: str) -> Any:  # type: ignore[type-arg]
    """The worker's activity of that name: an intake's one step runs `intake`, then
    `route_case` for the case's first routing."""
    for candidate in activities:
        definition = temporalio.activity._Definition.from_callable(candidate)
        if definition is not None and definition.name == name:
            return candidate
    return None


async def connect(
    profile: str | None = None,
    settings: Settings | None = None,
    *,
    engine: bool = False,
    target: str | None = None,
    runtime: Runtime | None = None,
    interceptors: Sequence[ClientInterceptor] = (),
    namespace: str | None = None,
) -> Client:
    """Connect as the SDK's environment configuration says; localhost:7233 by default, `target`
    and `namespace` if given (the state folder's engine's, casework.engine_record). Payloads are
    encrypted with the deployment's key ring (casework.codec), which only the engine
    (`engine=True`) makes if there is none yet. `runtime`: one exporting the SDK's metrics
    (casework.metrics); `interceptors`: tracing (casework.observability)."""
    config = ClientConfig.load_client_connect_config(profile=profile)
    if target:
        config["target_host"] = target
    if namespace:
        config["namespace"] = namespace
    config.setdefault("target_host", "localhost:7233")
    converter = converter_for(settings or Settings.from_env(), create_ring=engine)
    return await Client.connect(
        **config, data_converter=converter, runtime=runtime, interceptors=interceptors
    )


async def main(
    settings: Settings | None = None,
    target: str | None = None,
    metrics_port: int | None = None,
    metrics_host: str = METRICS_HOST,
    *,
    namespace: str | None = None,
    joined: bool = False,
    health_port: int | None = None,
) -> None:
    """A worker of a deployment: it loads the deployment's key ring (CASEWORK_KEYRING,
    CASEWORK_KEYRING_FILE or <state>/keyring.json) and never makes one, since a worker with a
    ring of its own could neither read the door's payloads nor verify its tokens. `target`,
    `namespace`: the Temporal address and namespace, when not the environment's (the state
    folder's engine's, casework.engine_record); `joined`: an extra worker of `casework up`.
    `metrics_port`: casework's metrics on it, the SDK's on the next (casework.metrics);
    `health_port`: /livez and /readyz (casework.health). Traces go over OTLP when
    OTEL_EXPORTER_OTLP_ENDPOINT is set (casework.observability)."""
    settings = settings or Settings.from_env()
    _check_ports(metrics_host, metrics_port, health_port)
    relay = _relay_config(settings, joined)
    ring = load_keyring(settings.state_dir)
    register_secrets(ring, relay)
    version = worker_version(settings)
    announce(
        "casework worker",
        settings,
        temporal=target,
        namespace=namespace,
        ring=ring,
        relay=relay,
        joined=joined,
        metrics_port=metrics_port,
        health_port=health_port,
        deployment_version=running_as(settings),
    )
    store = open_store(settings, create_ring=False)
    policy = load_policy(settings)
    runtime = serve_worker_metrics(store, metrics_port, metrics_host)
    client = await connect(
        settings=settings,
        target=target,
        namespace=namespace,
        runtime=runtime,
        interceptors=tracing_interceptors("casework-worker"),
    )
    attachments = AttachmentStore.for_settings(settings)
    loop = asyncio.get_running_loop()
    waker = RelayWaker(client, settings.task_queue, loop)
    worker = build_worker(
        client,
        task_queue=settings.task_queue,
        activities=activities_for(store, policy, attachments=attachments, relay=relay, waker=waker),
        ring=ring,
        version=version,
    )
    if health_port is not None:
        serve_worker_health(client, store, lambda: worker.is_running, health_port, metrics_host)
    await _run_worker(worker, client, waker, settings, version)


def _check_ports(host: str, metrics_port: int | None, health_port: int | None) -> None:
    """Refuse, before anything starts, a port this worker could not serve on (the metrics port
    and the one after it for the SDK's, the health port: casework.metrics.check_ports)."""
    for port in (metrics_port, health_port):
        if port is not None:
            check_metrics_ports(host, port, pair=port == metrics_port)


def _relay_config(settings: Settings, joined: bool) -> RelayConfig:
    """The outbox relay's configuration: a worker joining `casework up` mails through the
    engine's sink (its state folder); any other, as the environment says. A bad one stops the
    worker before anything starts, saying why."""
    try:
        return for_joiner(settings.state_dir) if joined else RelayConfig.from_env()
    except RelayConfigError as e:
        raise SystemExit(str(e)) from None


async def _run_worker(
    worker: Worker,
    client: Client,
    waker: RelayWaker,
    settings: Settings,
    version: WorkerDeploymentVersion | None,
) -> None:
    """Run `worker` until it stops: the relay is woken at once (rows queued while no worker
    ran go out now) and a versioned worker checks its deployment's current version."""
    logging.info(
        "casework worker on task queue %s, deployment version %s",
        settings.task_queue,
        running_as(settings),
    )
    running = asyncio.ensure_future(worker.run())
    await waker.wake_now()  # the relay runs (rows queued while no worker ran go out now)
    if version is not None:  # a first deploy needs no operator (casework.versions)
        deploying = asyncio.ensure_future(first_deploy(client, settings))
        deploying.add_done_callback(_said)
    await running


def _said(done: asyncio.Future[str]) -> None:
    """Log what `first_deploy` did (or why it could not)."""
    if done.cancelled():
        return
    error = done.exception()
    if error is not None:
        logging.warning("the worker's version was not checked: %s", error)
        return
    logging.info("%s", done.result())


def cli() -> None:
    """`python worker.py [--join]`, as `casework worker`: it finds the state folder's engine as
    every casework process does (casework.engine_record), or is refused saying why."""
    import argparse

    from casework.engine_record import EngineMismatch, Told, place

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--join",
        action="store_true",
        help="join the engine (`casework up`) holding the state folder as an extra worker",
    )
    join = parser.parse_args().join
    try:  # every CASEWORK_* variable checked before anything starts (casework.settings)
        env = environment()
    except SettingsRefused as e:
        raise SystemExit(str(e)) from None
    settings = Settings.from_env()
    config = ClientConfig.load_client_connect_config()
    told = Told(
        database=env.db_url,
        temporal=str(config["target_host"]) if config.get("target_host") else None,
        namespace=str(config["namespace"]) if config.get("namespace") else None,
        task_queue=env.given("task_queue"),
        policy=str(env.policy) if env.policy else None,
    )
    try:
        placed = place(settings, told, "join" if join else "worker")
    except EngineMismatch as e:
        raise SystemExit(str(e)) from None
    configure_logging()
    asyncio.run(
        main(placed.settings, target=placed.temporal, namespace=placed.namespace, joined=join)
    )


if __name__ == "__main__":
    cli()
