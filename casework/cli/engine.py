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
    from casework.settings import Settings

commands = typer.Typer()


@commands.command()
def up(
    ctx: typer.Context,
    port: Annotated[int, typer.Option(help="Temporal frontend (gRPC) port.")] = 7233,
    ui_port: Annotated[int, typer.Option(help="Temporal Web UI port.")] = 8233,
    state_dir: Annotated[
        Path | None, typer.Option(help="State folder (Temporal history, database, server log).")
    ] = None,
    directory: Annotated[Path | None, typer.Option(help="Directory YAML to load.")] = None,
    policy: Annotated[Path | None, typer.Option(help="SLA policy YAML (S5).")] = None,
) -> None:
    """Run the engine on this machine: Temporal dev server, worker, database, demo directory.

    Ctrl+C stops everything it started. Cases survive a restart (state in <state>/temporal.db).
    """
    from casework import up as runner
    from casework.files import FileRefused

    mark_temporal_used()
    settings = globals_of(ctx).settings(
        state_dir=state_dir, directory_file=directory, policy_file=policy
    )
    options = runner.UpOptions(settings=settings, port=port, ui_port=ui_port)
    try:
        code = runner.main(options)
    except FileRefused as e:
        fail(f"{e}\nNothing was started: fix the file and run `casework up` again.", BAD_INPUT)
    except runner.UpRefused as e:
        fail(str(e), e.code)
    raise typer.Exit(code)


@commands.command("worker")
def worker_command(ctx: typer.Context) -> None:
    """Run a worker only, against the Temporal that TEMPORAL_ADDRESS etc. name (a cluster
    or Temporal Cloud); the database and files come from the global options."""
    import logging

    import worker
    from casework.client import CaseworkError

    settings = globals_of(ctx).settings()
    try:
        refuse_bad_files(settings)
        temporal_address()
    except CaseworkError as e:
        fail(str(e), BAD_INPUT)
    logging.basicConfig(level=logging.INFO)
    mark_temporal_used()

    async def serve() -> None:
        try:
            await worker.main(settings)
        except RuntimeError as e:
            if "connect" not in str(e).lower():
                raise
            raise CaseworkError(unreachable(temporal_address())) from None

    try:
        run(serve())
    except KeyboardInterrupt:
        pass


def refuse_bad_files(settings: Settings) -> None:
    """Check the policy and directory files before starting anything (FileRefused -> exit 2)."""
    from casework.files import FileRefused
    from casework.up import check_files

    try:
        check_files(settings)
    except FileRefused as e:
        fail(str(e), BAD_INPUT)
