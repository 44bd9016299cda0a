"""`casework simulate`: a week of support through the real engine on Temporal's time-skipping
test server, with a simulated crowd (casework.simulation); N replications with their 95%
intervals, a second roster side by side, or a search for the fewest engineers that meet the
targets. Every file is checked before anything runs; a run that goes wrong or stalls stops with
exit 3 and says why."""

from __future__ import annotations

import os
import sys
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from casework.cli.common import BAD_INPUT, REFUSED, fail, out, print_json

if TYPE_CHECKING:
    from casework.domain.directory import Directory
    from casework.domain.sla import SlaPolicy
    from casework.simulation.load import LoadFile
    from casework.simulation.results import SimulationResult
    from casework.simulation.run import RunSpec

commands = typer.Typer()
MAX_DAYS = 31
MAX_REPLICATIONS = 50
WENT_WRONG = 3
"""Exit code of a run that stopped: it went wrong, or the engine stopped moving."""


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
    replications: Annotated[
        int,
        typer.Option(
            help=f"Runs, seeds SEED to SEED+N-1 (1 to {MAX_REPLICATIONS}): each "
            "figure with its 95% interval."
        ),
    ] = 1,
    jobs: Annotated[
        int | None,
        typer.Option(help="Runs at a time, each in its own process. Default: the CPU count."),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(help="First day (YYYY-MM-DD, UTC, in the future). Default: next Monday."),
    ] = None,
    output: Annotated[SimulateOutput, typer.Option(help="table or json.")] = SimulateOutput.table,
    cases: Annotated[bool, typer.Option(help="JSON: every case's visits too.")] = False,
    chart: Annotated[Path | None, typer.Option(help="Also draw a PNG chart here.")] = None,
    compare: Annotated[
        Path | None,
        typer.Option(help="A second roster: run both on the same seeds, side by side."),
    ] = None,
    staff: Annotated[
        bool,
        typer.Option(
            help="Search the fewest engineers per shift and level that keep every "
            "priority within target (see --service-level)."
        ),
    ] = False,
    service_level: Annotated[
        float, typer.Option(help="With --staff: the share within target to keep, 0.5 to 0.99.")
    ] = 0.8,
    stall: Annotated[
        int, typer.Option(help="Seconds without any progress before the run is stopped.")
    ] = 120,
) -> None:
    """Run a week of support through the real case workflows with a simulated crowd, and show
    per tier and priority, level, queue and hour of the week the service level, waits,
    occupancy and time to resolution."""
    first_day = _check_options(days, seed, replications, jobs, start, chart, service_level, stall)
    the_policy, the_load, rosters = _read_files(directory, load, policy, compare)
    if chart is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            fail("--chart needs matplotlib: pip install -e '.[report]', or leave out --chart")
    from casework.simulation.run import RunSpec, SimulationUnavailable, test_server_binary

    try:
        test_server_binary()
    except SimulationUnavailable as e:
        fail(str(e), REFUSED)
    jobs = jobs or os.cpu_count() or 1
    template = RunSpec(
        rosters[0][1], the_policy, the_load, days, seed, stall=timedelta(seconds=stall),
        start=first_day,
    )  # fmt: skip
    if staff:
        if compare is not None:
            fail("--staff searches one roster: leave out --compare", BAD_INPUT)
        _staff(template, rosters[0][0], replications, jobs, service_level, output, cases)
    else:
        runs = _run(template, rosters, replications, jobs, output)
        _show(runs, output, chart, cases)
    answered()


def answered() -> NoReturn:
    """Exit 0 once the answer is out. At once: the run's servers are stopped and its files
    gone, and a thread of a run that is stuck (an activity the workers left behind) must not
    keep the command from ending, as the interpreter's orderly exit would."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def stopped(message: str) -> NoReturn:
    """A run that went wrong or stalled: say why, exit 3 at once. Not through the interpreter's
    orderly exit, which waits for every thread: one stuck in the run must not make the command
    hang after it has said why it stopped."""
    from rich.console import Console

    Console(stderr=True, highlight=False, soft_wrap=True).print(message, style="red", markup=False)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(WENT_WRONG)


def _check_options(
    days: int,
    seed: int,
    replications: int,
    jobs: int | None,
    start: str | None,
    chart: Path | None,
    service_level: float,
    stall: int,
) -> datetime | None:
    if not 1 <= days <= MAX_DAYS:
        fail(f"--days {days}: simulate 1 to {MAX_DAYS} days", BAD_INPUT)
    if not 0 <= seed < 2**63 - MAX_REPLICATIONS:
        fail(f"--seed {seed}: the seed is a whole number from 0 to 2**63-51", BAD_INPUT)
    if not 1 <= replications <= MAX_REPLICATIONS:
        fail(f"--replications {replications}: give 1 to {MAX_REPLICATIONS}", BAD_INPUT)
    if jobs is not None and not 1 <= jobs <= 64:
        fail(f"--jobs {jobs}: give 1 to 64 runs at a time", BAD_INPUT)
    if not 0.5 <= service_level <= 0.99:
        fail(f"--service-level {service_level}: give a share from 0.5 to 0.99", BAD_INPUT)
    if not 10 <= stall <= 3600:
        fail(f"--stall {stall}: give 10 to 3600 seconds", BAD_INPUT)
    if chart is not None and chart.suffix.lower() != ".png":
        fail(f"--chart {chart}: the chart is a PNG image; name the file like week.png", BAD_INPUT)
    if chart is not None and not chart.resolve().parent.is_dir():
        fail(f"--chart {chart}: the folder {chart.resolve().parent} does not exist", BAD_INPUT)
    if start is None:
        return None
    try:
        day = date.fromisoformat(start)
    except ValueError:
        fail(f"--start {start!r}: write the first day as YYYY-MM-DD", BAD_INPUT)
    today = datetime.now(UTC).date()
    if not today < day <= today + timedelta(days=3650):
        fail(
            f"--start {start}: give a day after today and within ten years (the engine's "
            "clock only moves forward)",
            BAD_INPUT,
        )
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _read_files(
    directory: Path, load: Path, policy: Path | None, compare: Path | None
) -> tuple[SlaPolicy, LoadFile, list[tuple[str, Directory]]]:
    from casework.domain.sla import DEFAULT_POLICY, SlaPolicy
    from casework.engine import load_directory
    from casework.simulation.load import check_against, read_load
    from casework.yamlfiles import FileRefused, load_model

    rosters: list[tuple[str, Directory]] = []
    try:
        the_policy = load_model(policy, SlaPolicy) if policy else DEFAULT_POLICY
        the_load, text = read_load(load)
        for path in [directory, *([compare] if compare else [])]:
            roster = load_directory(path, the_policy)
            check_against(the_load, text, str(load), roster)
            rosters.append((path.stem, roster))
    except FileRefused as e:
        fail(f"{e}\nNothing was simulated.", BAD_INPUT)
    if len(rosters) == 2 and rosters[0][0] == rosters[1][0]:
        rosters = [(str(directory), rosters[0][1]), (str(compare), rosters[1][1])]
    return the_policy, the_load, rosters


def _run(
    template: RunSpec,
    rosters: list[tuple[str, Directory]],
    replications: int,
    jobs: int,
    output: SimulateOutput,
) -> list[tuple[str, list[SimulationResult]]]:
    from dataclasses import replace

    from casework.cli.common import mark_temporal_used
    from casework.simulation.progress import run_with_progress
    from casework.simulation.run import SimulationFailed

    mark_temporal_used()
    specs = [
        replace(template, directory=roster, label=label, seed=template.seed + n)
        for label, roster in rosters
        for n in range(replications)
    ]
    try:
        results = run_with_progress(specs, jobs, quiet=output is SimulateOutput.json)
    except SimulationFailed as e:
        stopped(f"{e}\nNothing it measured is shown.")
    _warn_if_late(results)
    return [
        (label, results[i * replications : (i + 1) * replications])
        for i, (label, _) in enumerate(rosters)
    ]


def _warn_if_late(results: list[SimulationResult]) -> None:
    late = [r for r in results if r.timing.late_acts]
    if late:
        from rich.console import Console

        worst = max(r.timing.max_lag_seconds for r in late)
        Console(stderr=True).print(
            f"note: the machine was slow: {sum(r.timing.late_acts for r in late)} acts were sent "
            f"up to {worst:.0f} s after their instant (more than the 8 s between kinds of act), "
            "so a run again with the same seed may differ in a few cases",
            markup=False,
        )


def _show(
    runs: list[tuple[str, list[SimulationResult]]],
    output: SimulateOutput,
    chart: Path | None,
    cases: bool,
) -> None:
    from casework.simulation.report import comparison_table, result_json, summary_tables
    from casework.simulation.stats import compare, summarise

    summaries = [(label, results, summarise(results)) for label, results in runs]
    differences = compare(runs[0][1], runs[1][1]) if len(runs) == 2 else []
    if chart is not None:
        from casework.simulation.chart import draw

        try:
            draw([(label, summary) for label, _, summary in summaries], chart)
        except OSError as e:
            fail(f"cannot write the chart to {chart}: {e.strerror or e}", REFUSED)
    if output is SimulateOutput.json:
        print_json(
            {
                "rosters": [result_json(lab, res, summ, cases) for lab, res, summ in summaries],
                "comparison": [d.model_dump(mode="json") for d in differences],
            }
        )
        return
    console = out()
    for label, results, summary in summaries:
        console.print(summary_tables(label, summary, results))
        refusals = [f for r in results for f in r.tally.refusals]
        if refusals:
            console.print(f"acts of the crowd refused, e.g. {refusals[:3]}", markup=False)
    if differences:
        console.print(comparison_table(runs[0][0], runs[1][0], differences))
    if chart is not None:
        console.print(f"chart: {chart}", markup=False)


def _staff(
    template: RunSpec,
    label: str,
    replications: int,
    jobs: int,
    service_level: float,
    output: SimulateOutput,
    cases: bool,
) -> None:
    from dataclasses import replace

    from casework.cli.common import mark_temporal_used
    from casework.simulation.run import SimulationFailed
    from casework.simulation.staffing import search, staffing_table

    mark_temporal_used()
    try:
        answer = search(
            replace(template, label=label),
            replications=replications,
            jobs=jobs,
            goal=service_level,
            quiet=output is SimulateOutput.json,
            cases=cases,
        )
    except SimulationFailed as e:
        stopped(f"{e}\nNo staffing answer.")
    if output is SimulateOutput.json:
        print_json(answer.model_dump(mode="json"))
    else:
        out().print(staffing_table(answer))
