"""`casework simulate`: a week of support through the real engine on Temporal's time-skipping
test server, with a simulated crowd (casework.simulation); optionally two rosters side by side.
Every file is checked before anything runs."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from casework.cli.common import BAD_INPUT, REFUSED, fail, out, print_json

if TYPE_CHECKING:
    from casework.domain.directory import Directory
    from casework.simulation.load import LoadFile
    from casework.simulation.results import SimulationResult

commands = typer.Typer()
MAX_DAYS = 31


class SimulateOutput(StrEnum):
    table = "table"
    json = "json"


@commands.command()
def simulate(
    directory: Annotated[
        Path, typer.Option(help="The roster: a directory file (engineers with their shifts).")
    ],
    load: Annotated[
        Path,
        typer.Option(help="The load file: arrivals, service times, escalation chances."),
    ],
    policy: Annotated[
        Path | None, typer.Option(help="SLA policy file (S5). Default: the S1 table.")
    ] = None,
    days: Annotated[int, typer.Option(help=f"Days to simulate, 1 to {MAX_DAYS}.")] = 7,
    seed: Annotated[int, typer.Option(help="Seed of every draw: a run repeats exactly.")] = 1,
    output: Annotated[SimulateOutput, typer.Option(help="table or json.")] = SimulateOutput.table,
    chart: Annotated[Path | None, typer.Option(help="Also draw a PNG chart here.")] = None,
    compare: Annotated[
        Path | None,
        typer.Option(help="A second roster: run both with the same load and seed, side by side."),
    ] = None,
) -> None:
    """Run a week of support through the real case workflows with a simulated crowd, and show
    per queue, tier and priority the first responses, breaches, waits and escalations."""
    from casework.domain.sla import DEFAULT_POLICY, SlaPolicy
    from casework.engine import load_directory
    from casework.files import FileRefused, load_model
    from casework.simulation.load import check_against, read_load
    from casework.simulation.run import RunSpec, SimulationUnavailable, test_server_binary

    if not 1 <= days <= MAX_DAYS:
        fail(f"--days {days}: simulate 1 to {MAX_DAYS} days", BAD_INPUT)
    if not 0 <= seed < 2**63:
        fail(f"--seed {seed}: the seed is a whole number from 0 to 2**63-1", BAD_INPUT)
    if chart is not None and chart.suffix.lower() != ".png":
        fail(f"--chart {chart}: the chart is a PNG image; name the file like week.png", BAD_INPUT)
    if chart is not None and not chart.resolve().parent.is_dir():
        fail(f"--chart {chart}: the folder {chart.resolve().parent} does not exist", BAD_INPUT)
    rosters: list[tuple[str, Directory]] = []
    try:
        the_policy = load_model(policy, SlaPolicy) if policy else DEFAULT_POLICY
        the_load, text = read_load(load)
        for path in [directory, *([compare] if compare else [])]:
            roster = load_directory(path)
            check_against(the_load, text, str(load), roster)
            rosters.append((path.stem, roster))
    except FileRefused as e:
        fail(f"{e}\nNothing was simulated.", BAD_INPUT)
    if len(rosters) == 2 and rosters[0][0] == rosters[1][0]:
        rosters = [(str(directory), rosters[0][1]), (str(compare), rosters[1][1])]
    if chart is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            fail("--chart needs matplotlib: pip install -e '.[report]', or leave out --chart")
    try:
        test_server_binary()
    except SimulationUnavailable as e:
        fail(str(e), REFUSED)
    results = [
        _run_one(RunSpec(roster, the_policy, the_load, days, seed, label), the_load, output)
        for label, roster in rosters
    ]
    _show(results, output, chart)


def _run_one(spec: object, load: LoadFile, output: SimulateOutput) -> SimulationResult:
    import asyncio
    from datetime import datetime

    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from casework.cli.common import mark_temporal_used
    from casework.simulation.actors import Progress as RunProgress
    from casework.simulation.run import RunSpec, simulate

    assert isinstance(spec, RunSpec)
    mark_temporal_used()
    state = RunProgress()
    window: dict[str, datetime] = {}

    async def main() -> SimulationResult:
        console = Console(stderr=True)
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("day {task.completed:.1f} of {task.total:.0f}"),
            TextColumn("{task.fields[cases]} cases"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console, transient=output is SimulateOutput.json) as bar:
            task = bar.add_task(f"simulating {spec.label}", total=spec.days, cases=0)
            work = asyncio.ensure_future(
                simulate(spec, state, on_start=lambda s, e: window.update(start=s, end=e))
            )
            while not work.done():
                await asyncio.wait([work], timeout=0.25)
                if state.sim_time is not None and "start" in window:
                    done = (state.sim_time - window["start"]).total_seconds() / 86400
                    bar.update(task, completed=min(done, spec.days), cases=state.opened)
            bar.update(task, completed=spec.days, cases=state.opened)
            return work.result()

    return asyncio.run(main())


def _show(results: list[SimulationResult], output: SimulateOutput, chart: Path | None) -> None:
    from casework.simulation.report import (
        compare_table,
        comparison_json,
        result_json,
        result_table,
    )

    if chart is not None:
        from casework.simulation.chart import draw

        try:
            draw(results, chart)
        except OSError as e:
            fail(f"cannot write the chart to {chart}: {e.strerror or e}", REFUSED)
    if output is SimulateOutput.json:
        print_json(
            comparison_json(results[0], results[1])
            if len(results) == 2
            else result_json(results[0])
        )
        return
    console = out()
    for result in results:
        console.print(result_table(result))
        refusals = result.tally.refusals
        if result.tally.refused:
            console.print(
                f"{result.tally.refused} acts of the crowd were refused, e.g. {refusals[:3]}",
                markup=False,
            )
    if len(results) == 2:
        console.print(compare_table(results[0], results[1]))
    if chart is not None:
        console.print(f"chart: {chart}", markup=False)
