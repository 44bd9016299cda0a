"""`casework simulate --chart FILE.png`: per tier and priority, the share answered within
target (S1) and the mean and p90 wait for the first response, each with its 95% interval over
the replications; with `--compare`, the two rosters side by side. matplotlib (Agg), the
`report` extra."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from casework.report_chart import ChartUnavailable
from casework.simulation.stats import Estimate, Summary

COLOURS = ("#4c72b0", "#dd8452")


def draw(summaries: Sequence[tuple[str, Summary]], path: Path) -> Path:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ChartUnavailable(
            "drawing a chart needs matplotlib: pip install -e '.[report]', or leave out --chart"
        ) from None
    groups: list[str] = []
    for _, summary in summaries:
        groups.extend(r.group for r in summary.first_response if r.group not in groups)
    runs = len(summaries)
    width = 0.8 / runs
    figure, (level_axes, wait_axes) = plt.subplots(2, 1, figsize=(max(8, 1.3 * len(groups)), 9))
    for r, (label, summary) in enumerate(summaries):
        rows = {row.group: row.figures for row in summary.first_response}
        offsets = [i + (r - (runs - 1) / 2) * width for i in range(len(groups))]

        def series(name: str, scale: float) -> tuple[list[float], list[float]]:
            values = [rows.get(g, {}).get(name) or Estimate() for g in groups]  # noqa: B023
            return (
                [(v.mean or 0.0) * scale for v in values],
                [(v.half_width or 0.0) * scale for v in values],
            )

        level, level_error = series("service_level", 100)
        level_axes.bar(
            offsets, level, width, yerr=level_error, color=COLOURS[r % 2], label=label, capsize=3
        )
        p90, p90_error = series("p90_wait", 1 / 60)
        mean, mean_error = series("mean_wait", 1 / 60)
        wait_axes.bar(
            offsets, p90, width, yerr=p90_error, color=COLOURS[r % 2], alpha=0.4, capsize=3,
            label=f"p90 {label}",
        )  # fmt: skip
        wait_axes.bar(
            offsets, mean, width * 0.5, yerr=mean_error, color=COLOURS[r % 2], capsize=3,
            label=f"mean {label}",
        )  # fmt: skip
    for axes in (level_axes, wait_axes):
        axes.set_xticks(range(len(groups)))
        axes.set_xticklabels(groups, rotation=30, ha="right", fontsize=8)
        axes.legend(fontsize=8)
    level_axes.set_title("First response within target (S1), 95% interval")
    level_axes.set_ylabel("% of cases")
    level_axes.set_ylim(0, 105)
    wait_axes.set_title("Wait for the first response")
    wait_axes.set_ylabel("hours")
    figure.tight_layout()
    try:
        figure.savefig(path, format="png")
    finally:
        plt.close(figure)
    return path
