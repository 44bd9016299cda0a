"""`casework versions`: which versions of casework run and how many open cases each holds, and
`casework versions promote BUILD [--ramp PCT]`, a rollout (issue 28, casework.versions).

Operators' commands: they talk to Temporal directly (the state folder's engine's, or
TEMPORAL_ADDRESS), in the deployment CASEWORK_DEPLOYMENT_NAME names, on CASEWORK_TASK_QUEUE."""

from __future__ import annotations

from typing import Annotated

import typer

from casework.cli.common import BAD_INPUT, connect, fail, globals_of, out, print_json, run

commands = typer.Typer(
    invoke_without_command=True,
    help="Which versions of casework run, with their open cases; promote one (a rollout).",
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@commands.callback(invoke_without_command=True)
def versions(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Each version of the deployment: current or ramping, its open cases and workflows, and
    whether its workers may shut down (neither current nor ramping, nothing open on it)."""
    if ctx.invoked_subcommand is not None:
        return
    from casework.cli import render
    from casework.versions import describe_versions

    settings = globals_of(ctx).placement().settings

    async def read() -> list:  # type: ignore[type-arg]
        return await describe_versions(await connect(settings), settings)

    rows = run(read())
    if as_json:
        print_json([r.model_dump(mode="json") for r in rows])
        return
    console = out()
    console.print(render.versions_table(rows, settings.deployment_name, settings.task_queue))
    for line in render.versions_advice(rows):
        console.print(line, markup=False)


@commands.command("promote")
def promote_command(
    ctx: typer.Context,
    build: Annotated[str, typer.Argument(help="The build id to promote, like 0.3.0.")],
    ramp: Annotated[
        float | None,
        typer.Option(
            help="Ramp: send this percentage (above 0, at most 100) of new work and of the "
            "cases asked to roll over to BUILD, the rest staying on the current version."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Make BUILD the current version (or ramp it), then ask every open case and the relay
    that run on another version to roll over onto it at their next quiet point. Start the
    workers of BUILD first; stop an old version's workers once `casework versions` says it
    may be shut down."""
    from casework.cli import render
    from casework.versions import VersionsRefused, checked_build, checked_ramp, promote

    try:
        build, ramp = checked_build(build), checked_ramp(ramp)
    except VersionsRefused as e:
        fail(str(e), BAD_INPUT)
    settings = globals_of(ctx).placement().settings

    async def rollout():  # type: ignore[no-untyped-def]
        return await promote(await connect(settings), settings, build, ramp)

    result = run(rollout())
    if as_json:
        print_json(result)
        return
    console = out()
    for line in render.promoted(result):
        console.print(line, markup=False)
    console.print(
        render.versions_table(result.versions, result.deployment_name, settings.task_queue)
    )
