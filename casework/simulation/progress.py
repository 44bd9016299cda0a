"""Runs with a progress bar on stderr: one run in this process (the bar follows its simulated
day and the cases opened), several in processes of their own (the bar counts the runs done)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from casework.simulation.actors import Progress as RunProgress
from casework.simulation.replicate import run_all
from casework.simulation.results import SimulationResult
from casework.simulation.run import RunSpec, simulate


def run_with_progress(
    specs: Sequence[RunSpec], jobs: int, quiet: bool = False
) -> list[SimulationResult]:
    console = Console(stderr=True)
    if len(specs) == 1:
        return [_one(specs[0], console, quiet)]
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:.0f} of {task.total:.0f} runs"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=quiet) as bar:
        task = bar.add_task(f"simulating ({min(jobs, len(specs))} at a time)", total=len(specs))
        return run_all(specs, jobs, done=lambda _: bar.advance(task))


def _one(spec: RunSpec, console: Console, quiet: bool) -> SimulationResult:
    state = RunProgress()
    window: dict[str, datetime] = {}

    async def main() -> SimulationResult:
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("day {task.completed:.1f} of {task.total:.0f}"),
            TextColumn("{task.fields[cases]} cases"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console, transient=quiet) as bar:
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
