"""How sure a run is: each figure over N replications (N seeds) as a mean with its 95%
interval, and two rosters compared on the same seeds (common random numbers: the same
arrivals, service times and escalations for both), each difference with its interval and
whether it is inside the noise. Pure.

The interval is Student's t over the replications' values: each replication is one
independent week, so the spread between weeks is the error (a queue's cases within one week
are not independent, which is why the figure of one run has no interval).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from pydantic import BaseModel

from casework.simulation.figures import Breakdown, Figures
from casework.simulation.results import SimulationResult

T975 = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
]  # fmt: skip
"""Student's t, 97.5th percentile, for 1 to 30 degrees of freedom."""
FIGURES = (
    "cases",
    "service_level",
    "mean_wait",
    "p90_wait",
    "p_wait",
    "mean_resolution",
    "p90_resolution",
    "occupancy",
    "engineers",
)


def t975(degrees: int) -> float:
    if degrees < 1:
        raise ValueError("an interval needs two values or more")
    return T975[degrees - 1] if degrees <= len(T975) else 1.96 + 2.4 / degrees


class Estimate(BaseModel):
    """A figure over the replications that have it: mean, and the half-width of its 95%
    interval (None with fewer than two values)."""

    mean: float | None = None
    half_width: float | None = None
    n: int = 0

    @property
    def low(self) -> float | None:
        if self.mean is None or self.half_width is None:
            return None
        return self.mean - self.half_width

    def covers_zero(self) -> bool | None:
        if self.mean is None or self.half_width is None:
            return None
        return abs(self.mean) <= self.half_width


def estimate(values: Sequence[float | None]) -> Estimate:
    kept = [v for v in values if v is not None]
    if not kept:
        return Estimate()
    mean = statistics.fmean(kept)
    if len(kept) < 2:
        return Estimate(mean=round(mean, 4), n=1)
    spread = t975(len(kept) - 1) * statistics.stdev(kept) / math.sqrt(len(kept))
    return Estimate(mean=round(mean, 4), half_width=round(spread, 4), n=len(kept))


class FiguresEstimate(BaseModel):
    group: str
    figures: dict[str, Estimate]


class Summary(BaseModel):
    """The figures of N replications: the same sections as one run's `Breakdown`."""

    seeds: list[int]
    first_response: list[FiguresEstimate]
    visits: list[FiguresEstimate]
    levels: list[FiguresEstimate]
    escalated: list[FiguresEstimate]
    hours: list[FiguresEstimate]
    """Each hour of the week's first response; `occupancy L1` and so on per level."""


def _rows(breakdown: Breakdown, section: str) -> dict[str, dict[str, float | None]]:
    if section == "hours":
        rows = {}
        for hour in breakdown.hours:
            values: dict[str, float | None] = _values(hour.first_response)
            for level, occupancy in hour.occupancy.items():
                values[f"occupancy {level}"] = occupancy
            rows[hour.first_response.group] = values
        return rows
    return {f.group: _values(f) for f in getattr(breakdown, section)}


def _values(figures: Figures) -> dict[str, float | None]:
    values = {name: getattr(figures, name) for name in FIGURES}
    return {name: None if v is None else float(v) for name, v in values.items()}


def _sections(results: Sequence[SimulationResult]) -> dict[str, list[FiguresEstimate]]:
    out: dict[str, list[FiguresEstimate]] = {}
    for section in ("first_response", "visits", "levels", "escalated", "hours"):
        per_run = [_rows(r.figures, section) for r in results]
        groups: list[str] = []
        for rows in per_run:
            groups.extend(g for g in rows if g not in groups)
        out[section] = []
        for group in groups:
            names: list[str] = []
            for rows in per_run:
                names.extend(n for n in rows.get(group, {}) if n not in names)
            out[section].append(
                FiguresEstimate(
                    group=group,
                    figures={
                        name: estimate([_value(rows, group, name) for rows in per_run])
                        for name in names
                    },
                )
            )
    return out


def _value(rows: dict[str, dict[str, float | None]], group: str, name: str) -> float | None:
    """A group a replication lacks had no cases there: 0 cases, no rate."""
    if group not in rows:
        return 0.0 if name == "cases" else None
    return rows[group].get(name)


def summarise(results: Sequence[SimulationResult]) -> Summary:
    return Summary(seeds=[r.seed for r in results], **_sections(results))  # type: ignore[arg-type]


class Difference(BaseModel):
    """One figure of one group, second roster minus first, paired by seed."""

    section: str
    group: str
    figure: str
    first: Estimate
    second: Estimate
    difference: Estimate
    inside_noise: bool | None
    """The difference's interval covers zero (None: one replication, no interval)."""


def compare(
    first: Sequence[SimulationResult],
    second: Sequence[SimulationResult],
    sections: Sequence[str] = ("first_response", "levels", "visits", "escalated"),
) -> list[Difference]:
    out = []
    for section in sections:
        a_runs = [_rows(r.figures, section) for r in first]
        b_runs = [_rows(r.figures, section) for r in second]
        groups: list[str] = []
        for rows in [*a_runs, *b_runs]:
            groups.extend(g for g in rows if g not in groups)
        for group in groups:
            for name in FIGURES:
                out.extend(_difference(section, group, name, a_runs, b_runs))
    return out


def _difference(
    section: str,
    group: str,
    name: str,
    a_runs: list[dict[str, dict[str, float | None]]],
    b_runs: list[dict[str, dict[str, float | None]]],
) -> list[Difference]:
    a = [_value(rows, group, name) for rows in a_runs]
    b = [_value(rows, group, name) for rows in b_runs]
    if all(v is None for v in a + b):
        return []
    paired = [y - x for x, y in zip(a, b, strict=True) if x is not None and y is not None]
    change = estimate(paired)
    return [
        Difference(
            section=section,
            group=group,
            figure=name,
            first=estimate(a),
            second=estimate(b),
            difference=change,
            inside_noise=change.covers_zero(),
        )
    ]
