"""What `casework simulate` prints: tables that fit a terminal of 120 columns (each figure with
its 95% interval over the replications), JSON with everything. Pure: summaries in, rich tables
and dicts out."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from casework.simulation.figures import DAYS
from casework.simulation.results import SimulationResult
from casework.simulation.stats import Difference, Estimate, FiguresEstimate, Summary

WIDTH = 120
DURATIONS = {"mean_wait", "p90_wait", "mean_resolution", "p90_resolution"}
SHARES = {"service_level", "p_wait", "occupancy"}
SHOWN_DIFFERENCES = ("service_level", "mean_wait", "p90_wait", "occupancy", "mean_resolution")


def minutes(value: float | None) -> str:
    if value is None:
        return "-"
    value = abs(value)
    if value < 60:
        return f"{value:.0f}m"
    hours, rest = divmod(round(value), 60)
    if hours < 24:
        return f"{hours}h{rest:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def shown(name: str, value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    sign = ("+" if value > 0 else "-" if value < 0 else "±") if signed else ""
    if name in DURATIONS:
        return sign + minutes(value)
    if name in SHARES:
        return f"{sign}{abs(value) * 100:.0f}%"
    if name == "cases":
        return f"{sign}{abs(value):.0f}" if value == int(value) else f"{sign}{abs(value):.1f}"
    return f"{sign}{abs(value):.1f}"


def cell(name: str, estimate: Estimate | None, signed: bool = False) -> str:
    if estimate is None or estimate.mean is None:
        return "-"
    text = shown(name, estimate.mean, signed)
    if estimate.half_width is not None:
        text += f" ±{shown(name, estimate.half_width).lstrip('±')}"
    return text


def _table(title: str, columns: Sequence[str]) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 1))
    for index, name in enumerate(columns):
        table.add_column(name, justify="left" if index == 0 else "right", no_wrap=True)
    return table


def _section(title: str, rows: list[FiguresEstimate], columns: Sequence[tuple[str, str]]) -> Table:
    table = _table(title, ["", *(label for label, _ in columns)])
    for row in rows:
        table.add_row(row.group, *(cell(name, row.figures.get(name)) for _, name in columns))
    return table


FIRST = (
    ("cases", "cases"),
    ("within target", "service_level"),
    ("mean wait", "mean_wait"),
    ("p90 wait", "p90_wait"),
    ("P(wait)", "p_wait"),
    ("to resolution", "mean_resolution"),
    ("p90", "p90_resolution"),
)
LEVEL = (
    ("engineers", "engineers"),
    ("cases", "cases"),
    ("within target", "service_level"),
    ("mean wait", "mean_wait"),
    ("p90 wait", "p90_wait"),
    ("P(wait)", "p_wait"),
    ("occupancy", "occupancy"),
)
VISIT = (
    ("cases", "cases"),
    ("within target", "service_level"),
    ("mean wait", "mean_wait"),
    ("p90 wait", "p90_wait"),
    ("P(wait)", "p_wait"),
    ("resolved: time", "mean_resolution"),
)


def summary_tables(label: str, summary: Summary, runs: Sequence[SimulationResult]) -> Group:
    first = runs[0]
    n = len(runs)
    seeds = f"seed {first.seed}" if n == 1 else f"{n} replications (seeds {summary.seeds[0]}-"
    seeds += "" if n == 1 else f"{summary.seeds[-1]}), mean ±95% interval"
    heading = (
        f"{label}: cases opened {first.start:%a %Y-%m-%d %H:%M} to {first.end:%a %Y-%m-%d %H:%M} "
        f"UTC, followed to {first.ended:%a %Y-%m-%d %H:%M}; {seeds}"
    )
    parts: list[RenderableType] = [
        Text("\n".join(textwrap.wrap(heading, WIDTH)), style="bold"),
        _section("First response (S1, S2), by tier and priority", summary.first_response, FIRST),
        _section("Each level: waits for an engineer and how busy they are", summary.levels, LEVEL),
        _section("By queue, level, tier and priority", summary.visits, VISIT),
        _section("Escalated cases (E2) and the others", summary.escalated, FIRST),
        hour_grid(summary.hours),
        Text("\n".join(textwrap.wrap(_tally_line(runs), WIDTH))),
    ]
    return Group(*parts)


def hour_grid(hours: list[FiguresEstimate], figure: str = "service_level") -> Table:
    """Service level (%) of the cases opened in each hour of the week, days down, hours
    across; '-' for an hour without cases."""
    table = Table(
        title="First response within target (%) by the hour the case opened (load's zone)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=(0, 0),
    )
    table.add_column("", no_wrap=True)
    for hour in range(24):
        table.add_column(f"{hour:02d}", justify="right", no_wrap=True, min_width=3)
    by_group = {row.group: row for row in hours}
    for day in DAYS:
        cells = []
        for hour in range(24):
            row = by_group.get(f"{day} {hour:02d}")
            value = row.figures.get(figure) if row else None
            cells.append("-" if value is None or value.mean is None else f"{value.mean * 100:.0f}")
        table.add_row(day, *cells)
    return table


def _tally_line(runs: Sequence[SimulationResult]) -> str:
    def mean(values: list[int]) -> str:
        total = sum(values) / len(values)
        return f"{total:.0f}" if len(values) == 1 else f"{total:.1f}"

    tallies = [r.tally for r in runs]
    managers = [r.managers for r in runs]
    ladder: dict[str, list[int]] = {}
    for m in managers:
        for step, count in m.ladder.items():
            ladder.setdefault(step, []).append(count)
    steps = ", ".join(
        f"{'never acknowledged' if k == 'unacknowledged' else '+' + k}: "
        f"{mean(v + [0] * (len(runs) - len(v)))}"
        for k, v in ladder.items()
    )
    per = "" if len(runs) == 1 else " (mean per replication)"
    return (
        f"Crowd{per}: {mean([t.opened for t in tallies])} cases opened, "
        f"{mean([t.escalated for t in tallies])} escalations (E2), "
        f"{mean([t.escalate_now for t in tallies])} Escalate Now (E3), "
        f"{mean([t.refused for t in tallies])} acts refused. Escalation Managers: "
        f"{mean([m.escalate_now for m in managers])} online, {mean([m.breach for m in managers])} "
        f"on breach (S3); ladder {steps or '-'}."
    )


def comparison_table(first: str, second: str, differences: list[Difference]) -> Table:
    table = _table(
        f"{first} → {second}: same load, same seeds (paired)",
        ["", "figure", first[:18], second[:18], "difference", ""],
    )
    for d in differences:
        if d.figure not in SHOWN_DIFFERENCES or d.section not in ("first_response", "levels"):
            continue
        if d.first.mean is None and d.second.mean is None:
            continue
        verdict = (
            "one replication"
            if d.inside_noise is None
            else "inside the noise"
            if d.inside_noise
            else "a real difference"
        )
        table.add_row(
            d.group,
            d.figure.replace("_", " "),
            cell(d.figure, d.first),
            cell(d.figure, d.second),
            cell(d.figure, d.difference, signed=True),
            verdict,
        )
    return table


def result_json(label: str, runs: Sequence[SimulationResult], summary: Summary, cases: bool) -> Any:
    return {
        "label": label,
        "summary": summary.model_dump(mode="json"),
        "runs": [_run_json(r, cases) for r in runs],
    }


def _run_json(result: SimulationResult, cases: bool) -> Any:
    data = result.model_dump(mode="json")
    if cases:
        data["cases"] = [c.model_dump(mode="json") for c in result.cases]
    return data
