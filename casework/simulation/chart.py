"""`casework simulate --chart FILE.png`: per queue, tier and priority, the cases split into
within target, breached and awaiting a first response, and the first-response p50/p90; with
`--compare`, the two rosters side by side. matplotlib (Agg), the `report` extra."""

from __future__ import annotations

from pathlib import Path

from casework.report_chart import ChartUnavailable
from casework.simulation.report import paired
from casework.simulation.results import GroupStats, SimulationResult

PARTS = (
    ("within target", "within_target", "#55a868"),
    ("breached", "breached", "#c44e52"),
    ("awaiting", "awaiting", "#dd8452"),
)


def draw(results: list[SimulationResult], path: Path) -> Path:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ChartUnavailable(
            "drawing a chart needs matplotlib: pip install -e '.[report]', or leave out --chart"
        ) from None
    if len(results) == 2:
        rows = [(k, [a, b]) for k, a, b in paired(results[0], results[1]) if k != "all"]
    else:
        rows = [(f"{g.queue} {g.tier} {g.priority}", [g]) for g in results[0].groups]
    labels = [k for k, _ in rows]
    runs = len(results)
    width = 0.8 / runs
    figure, (cases_axes, times_axes) = plt.subplots(
        2, 1, figsize=(max(8, 1.2 * len(labels) * runs), 9)
    )
    for r in range(runs):
        offsets = [i + (r - (runs - 1) / 2) * width for i in range(len(labels))]
        bottom = [0.0] * len(labels)
        for name, field, colour in PARTS:
            values = [float(getattr(g[r], field)) if g[r] else 0.0 for _, g in rows]
            cases_axes.bar(
                offsets,
                values,
                width,
                bottom=bottom,
                color=colour,
                label=name if r == 0 else None,
                hatch="//" if r == 1 else None,
                edgecolor="white",
            )
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        p50 = [_hours(g[r], "ttfr_p50") for _, g in rows]
        p90 = [_hours(g[r], "ttfr_p90") for _, g in rows]
        times_axes.bar(
            offsets,
            p90,
            width,
            color="#8172b3",
            alpha=0.45,
            label=f"p90 {results[r].label}",
            hatch="//" if r == 1 else None,
        )
        times_axes.bar(offsets, p50, width * 0.5, color="#4c72b0", label=f"p50 {results[r].label}")
    for axes in (cases_axes, times_axes):
        axes.set_xticks(range(len(labels)))
        axes.set_xticklabels(labels, rotation=30, ha="right", fontsize=8)
        axes.legend(fontsize=8)
    title = " vs ".join(r.label for r in results)
    cases_axes.set_title(f"Cases by first response ({title}; hatched: the second)")
    cases_axes.set_ylabel("cases")
    times_axes.set_title("Time to first response")
    times_axes.set_ylabel("hours")
    figure.tight_layout()
    try:
        figure.savefig(path, format="png")
    finally:
        plt.close(figure)
    return path


def _hours(stats: GroupStats | None, field: str) -> float:
    value = getattr(stats, field) if stats else None
    return (value or 0.0) / 60
