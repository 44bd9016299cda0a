"""Running the engine: `casework up` (everything on this machine) and `casework worker`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from casework.cli.common import (
    BAD_INPUT,
    fail,
    globals_of,
    mark_temporal_used,
    run,
    temporal_address,
    unreachable,
)

if TYPE_CHECKING:
    from casework.cli.common import Globals
    from casework.engine_record import Placement
    from casework.settings import Settings

commands = typer.Typer()


@commands.command()
def up(
    ctx: typer.Context,
    port: Annotated[int, typer.Option(help="Temporal frontend (gRPC) port.")] = 7233,
    ui_port: Annotated[int, typer.Option(help="Temporal Web UI port.")] = 8233,
    api_port: Annotated[
        int, typer.Option(help="The door's port: the casework API and the UI's codec server.")
    ] = 8234,
    smtp_port: Annotated[
        int,
        typer.Option(
            help="Port of the local SMTP sink that keeps the engine's mail under <state>/mail "
            "(default 0: any free port, printed). Not started when CASEWORK_SMTP_HOST names a "
            "real server."
        ),
    ] = 0,
    state_dir: Annotated[
        Path | None, typer.Option(help="State folder (Temporal history, database, server log).")
    ] = None,
    directory: Annotated[Path | None, typer.Option(help="Directory YAML to load.")] = None,
    policy: Annotated[Path | None, typer.Option(help="SLA policy YAML (S5).")] = None,
    database: Annotated[
        str | None,
        typer.Option(
            help="The casework database URL (as the global --db-url / CASEWORK_DB_URL). "
            "Default: sqlite:///<state-dir>/casework.db; PostgreSQL: "
            "postgresql+psycopg://USER:PASSWORD@HOST:5432/DB",
        ),
    ] = None,
    metrics_port: Annotated[
        int,
        typer.Option(
            help="Prometheus metrics: casework's on this port, the Temporal SDK's on the next."
        ),
    ] = 8235,
) -> None:
    """Run the engine on this machine: Temporal dev server, worker, the door (the casework
    API), database, demo directory (with an API key for each person on first run).

    Ctrl+C stops everything it started. Cases survive a restart (state in <state>/temporal.db).
    """
    from casework import up as runner
    from casework.yamlfiles import FileRefused

    mark_temporal_used()
    g = globals_of(ctx)
    settings = g.settings(
        state_dir=state_dir, directory_file=directory, policy_file=policy, db_url=database
    )
    options = runner.UpOptions(
        settings=settings,
        database_given=bool(database or g.db_url),
        port=port,
        ui_port=ui_port,
        api_port=api_port,
        metrics_port=metrics_port,
        smtp_port=smtp_port,
    )
    try:
        code = runner.main(options)
    except FileRefused as e:
        fail(f"{e}\nNothing was started: fix the file and run `casework up` again.", BAD_INPUT)
    except runner.UpRefused as e:
        fail(str(e), e.code)
    raise typer.Exit(code)


@commands.command("worker")
def worker_command(
    ctx: typer.Context,
    join: Annotated[
        bool,
        typer.Option(
            "--join",
            help="Join the engine (`casework up`) that holds the state folder as an extra "
            "worker: serve its Temporal and task queue. Without --join a worker is refused on "
            "a folder an engine holds (one engine per state folder).",
        ),
    ] = False,
    database: Annotated[
        str | None,
        typer.Option(
            help="The casework database URL (as the global --db-url / CASEWORK_DB_URL), e.g. "
            "postgresql+psycopg://casework@db.example.com/casework. Every worker of a "
            "deployment names the same one.",
        ),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            help="Serve Prometheus metrics: casework's on this port, the Temporal SDK's on the "
            "next (CASEWORK_METRICS_HOST: the address, default 127.0.0.1). Default: "
            "CASEWORK_METRICS_PORT, else none.",
        ),
    ] = None,
    health_port: Annotated[
        int | None,
        typer.Option(
            help="Answer /livez and /readyz on this port (CASEWORK_METRICS_HOST: the address) "
            "for a process supervisor or an orchestrator. Default: CASEWORK_HEALTH_PORT, else "
            "none.",
        ),
    ] = None,
) -> None:
    """Run a worker only, against the Temporal that TEMPORAL_ADDRESS etc. name (a cluster
    or Temporal Cloud); the database and files come from the global options. Any number of
    workers may serve one task queue and one database (on one machine or many).

    On a state folder that `casework up` holds it is refused, unless --join says it is an extra
    worker of that engine: it then takes the engine's database, Temporal, namespace, task queue
    and policy from the engine's lock, and is refused if told others."""
    from casework.observability import configure_logging
    from casework.settings import environment

    told = environment()  # the flags win; the CLI refused a bad value at its start
    metrics_port = told.metrics_port if metrics_port is None else metrics_port
    health_port = told.health_port if health_port is None else health_port
    _check_ports(metrics_port, health_port)
    placed = _placement(globals_of(ctx), database, join)
    refuse_bad_files(placed.settings)
    address = placed.temporal or _address_or_fail()
    if join:
        _say_joined(placed, address)
    try:
        configure_logging()
    except ValueError as e:
        fail(str(e), BAD_INPUT)
    mark_temporal_used()
    try:
        run(_serve_worker(placed, address, join, metrics_port, health_port))
    except KeyboardInterrupt:
        pass


def _check_ports(metrics_port: int | None, health_port: int | None) -> None:
    for flag, port in (("--metrics-port", metrics_port), ("--health-port", health_port)):
        if port is not None and not 0 < port < 65535:
            fail(f"{flag} {port} is not a TCP port below 65535", BAD_INPUT)
    if metrics_port is not None and health_port in (metrics_port, metrics_port + 1):
        fail(
            f"--health-port {health_port} is one of the metrics ports ({metrics_port} and "
            f"{metrics_port + 1}): give it another",
            BAD_INPUT,
        )


def _say_joined(placed: Placement, address: str) -> None:
    from casework.redact import masked_url
    from casework.state_lock import engine_holding

    settings = placed.settings
    holder = engine_holding(settings.state_dir)
    print(
        f"joins {holder.describe() if holder else placed.source} as an extra worker "
        f"(Temporal {address}, namespace {placed.namespace}, task queue "
        f"{settings.task_queue}, database {masked_url(settings.db_url)})",
        flush=True,
    )


async def _serve_worker(
    placed: Placement,
    address: str,
    join: bool,
    metrics_port: int | None,
    health_port: int | None,
) -> None:
    import worker
    from casework.client import CaseworkError
    from casework.identity.keyring import KeyRingError
    from casework.metrics import MetricsRefused
    from casework.settings import environment

    try:
        await worker.main(
            placed.settings,
            target=placed.temporal,
            namespace=placed.namespace,
            joined=join,
            metrics_port=metrics_port,
            metrics_host=environment().metrics_host,
            health_port=health_port,
        )
    except (KeyRingError, MetricsRefused) as e:
        raise CaseworkError(str(e)) from None
    except RuntimeError as e:
        if "connect" not in str(e).lower():
            raise
        raise CaseworkError(unreachable(address)) from None


def _placement(g: Globals, database: str | None, join: bool) -> Placement:
    """Where this worker works (casework.engine_record): the engine it joins, or (alone) the
    state folder's engine record if any; refused with the reason otherwise."""
    from casework.client import CaseworkError
    from casework.engine_record import EngineMismatch, place

    try:
        return place(g.settings(db_url=database), g.told(database), "join" if join else "worker")
    except EngineMismatch as e:
        fail(str(e))
    except CaseworkError as e:
        fail(str(e), BAD_INPUT)


def _address_or_fail() -> str:
    from casework.client import CaseworkError

    try:
        return temporal_address()
    except CaseworkError as e:
        fail(str(e), BAD_INPUT)


@commands.command("api")
def api_command(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8234,
    max_upload: Annotated[
        str | None,
        typer.Option(
            help="Largest attachment the API takes, like 256MB, 10MB or 500KB. Default: "
            "CASEWORK_MAX_UPLOAD, else 256MB.",
        ),
    ] = None,
) -> None:
    """Run the Case Center alone: the casework API and its web page (the door), against the
    Temporal that TEMPORAL_ADDRESS etc. name and the database of the global options, for a
    deployment whose workers run elsewhere. It needs the engine's key ring
    (<state>/keyring.json, CASEWORK_KEYRING_FILE or CASEWORK_KEYRING), the same the workers
    load; CASEWORK_OIDC_* turn on OIDC tokens. `casework door` is the same command."""
    import asyncio

    from casework.client import CaseworkError
    from casework.settings import environment, parse_size

    if not 0 < port < 65536:
        fail(f"--port {port} is not a TCP port; use a number from 1 to 65535", BAD_INPUT)
    try:
        upload_bound = parse_size(max_upload) if max_upload else environment().max_upload
    except ValueError as e:
        fail(f"--max-upload: {e}", BAD_INPUT)
    placed = globals_of(ctx).placement()  # the state folder's engine's, if it has one
    settings = placed.settings
    try:
        temporal_address()
    except CaseworkError as e:
        fail(str(e), BAD_INPUT)
    mark_temporal_used()
    from casework.observability import configure_logging

    try:
        configure_logging()
    except ValueError as e:
        fail(str(e), BAD_INPUT)
    try:
        run(_serve_door(ctx, settings, host, port, upload_bound))
    except KeyboardInterrupt:
        pass
    except asyncio.CancelledError:
        pass


commands.command("door", hidden=True, help="The same as `casework api` (its older name).")(
    api_command
)


async def _serve_door(
    ctx: typer.Context, settings: Settings, host: str, port: int, max_upload_bytes: int
) -> None:
    import asyncio
    import signal

    from casework.attachments import AttachmentStore
    from casework.cli.common import connect, existing_store
    from casework.door.app import create_app
    from casework.door.credentials import OidcConfig
    from casework.door.serve import DoorRefused, start_door
    from casework.identity.keyring import KeyRingError, load_keyring

    try:
        oidc = OidcConfig.from_env()
        ring = load_keyring(settings.state_dir)
    except (ValueError, KeyRingError) as e:
        fail(str(e), BAD_INPUT)
    from casework.startup import announce, register_secrets

    register_secrets(ring)
    placed = globals_of(ctx).placement()
    announce(
        "casework api",
        settings,
        temporal=placed.temporal,
        namespace=placed.namespace,
        ring=ring,
        api=f"http://{host}:{port}",
        oidc=oidc.issuer if oidc else None,
    )
    store = existing_store(ctx)
    client = await connect(settings, service="casework-door")
    from worker import published_opener

    app = create_app(
        store=store,
        client=client,
        ring=ring,
        task_queue=settings.task_queue,
        # one round trip to open a case: no intake workflow (issue 30)
        opener=published_opener(client, store, settings.task_queue),
        attachments=AttachmentStore.for_settings(settings),
        oidc=oidc,
        max_upload_bytes=max_upload_bytes,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        door = await start_door(app, host, port)
    except DoorRefused as e:
        fail(str(e))
    print(
        f"casework API on {door.url} (Temporal "
        f"{globals_of().placement().temporal or temporal_address()}); Ctrl+C stops it\n"
        f"  Case Center: {door.url}/  (sign in with your API key)\n"
        f"  OpenAPI:     {door.url}/openapi.json  (browse it at {door.url}/docs)",
        flush=True,
    )
    await stop.wait()
    await door.stop()
    store.dispose()


def refuse_bad_files(settings: Settings) -> None:
    """Check the policy and directory files before starting anything (FileRefused -> exit 2)."""
    from casework.up import check_files
    from casework.yamlfiles import FileRefused

    try:
        check_files(settings)
    except FileRefused as e:
        fail(str(e), BAD_INPUT)
