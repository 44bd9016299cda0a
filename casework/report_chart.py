"""`casework report --chart FILE.png`: the report drawn for a support manager to read at a
glance, for a day or a month. matplotlib (Agg backend: no display needed) is an optional
dependency, the `report` extra: `pip install -e '.[report]'`.

Two panels, both by tier and priority in the table's order:
- first response (S1-S3): one stacked bar per group, responded within target + breached +
  awaiting a first response = opened, each part labelled with its count;
- acknowledgement (E3): a box plot of the minutes the acknowledged escalations took (the
  spread of a month, not a bar per escalation), each group's counts under it; escalations
  nobody acknowledged have no time to acknowledge, so they are counted, never drawn as one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from casework.domain.report import Report, acknowledgement_groups, wait_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

CASE_PARTS = (
    ("responded within target", "responded_within_target", "#55a868"),
    ("breached (S3)", "breached", "#c44e52"),
    ("awaiting first response", "awaiting_response", "#dd8452"),
)
"""The table's counts of a group, bottom to top of its bar; together they are `opened`."""


class ChartUnavailable(Exception):
    """matplotlib is not installed."""


def draw_report(report: Report, path: Path) -> Path:
    """Draw the report into a PNG file at `path`."""
    figure = report_figure(report)
    try:
        figure.savefig(path, format="png")
    finally:
        import matplotlib.pyplot as plt

        plt.close(figure)
    return path


def report_figure(report: Report) -> Figure:
    """The report's figure (for `draw_report`, and for tests to read what is drawn)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ChartUnavailable(
            "drawing a chart needs matplotlib: pip install -e '.[report]' (or pip install "
            "matplotlib), or leave out --chart"
        ) from None

    figure, (cases, times) = plt.subplots(2, 1, figsize=(11, 9))
    _draw_first_response(cases, report)
    _draw_acknowledgement(times, report)
    figure.tight_layout()
    return figure


def _draw_first_response(axes: Axes, report: Report) -> None:
    """S1-S3: per tier and priority, a bar of the cases opened, split by what happened."""
    from matplotlib.ticker import MaxNLocator

    lines = report.lines
    positions = list(range(len(lines)))
    bottoms = [0] * len(lines)
    for label, field, colour in CASE_PARTS:
        values = [getattr(line, field) for line in lines]
        bars = axes.bar(positions, values, 0.6, bottom=bottoms, label=label, color=colour)
        axes.bar_label(bars, labels=[str(v) if v else "" for v in values], label_type="center")
        bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    for x, line in zip(positions, lines, strict=True):
        percent = line.within_target_percent
        above = f"{line.opened} opened" + ("" if percent is None else f"\n{percent:g}% in target")
        axes.annotate(
            above, (x, line.opened), xytext=(0, 3), textcoords="offset points", ha="center"
        )
    axes.set_xticks(positions, [f"{line.tier} {line.priority}" for line in lines])
    axes.set_ylabel("cases opened")
    axes.set_ylim(0, max(max(bottoms, default=0) * 1.3, 1))
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    total = report.total
    axes.set_title(
        f"First response, cases opened {report.start:%Y-%m-%d %H:%M} to "
        f"{report.end:%Y-%m-%d %H:%M} UTC\n{total.opened} opened: "
        f"{total.responded_within_target} within target, {total.breached} breached, "
        f"{total.awaiting_response} awaiting a first response",
        loc="left",
    )
    axes.legend(loc="upper right")


def _draw_acknowledgement(axes: Axes, report: Report) -> None:
    """E3: per tier and priority, the spread of minutes to acknowledge; the unacknowledged
    are counted under their group, in red, and not drawn."""
    groups = acknowledgement_groups(report)
    positions = list(range(len(groups)))
    drawn = [(x, g) for x, g in zip(positions, groups, strict=True) if g.acknowledged]
    if drawn:
        axes.boxplot(
            [[s / 60 for s in g.seconds_to_acknowledge] for _, g in drawn],
            positions=[x for x, _ in drawn],
            widths=0.5,
            showfliers=True,
            medianprops={"color": "#4c72b0", "linewidth": 2},
        )
    labels = []
    for g in groups:
        label = f"{g.tier} {g.priority}\n{g.acknowledged} acknowledged"
        if g.unacknowledged:
            label += f"\n{g.unacknowledged} not acknowledged"
        labels.append(label)
    axes.set_xticks(positions, labels)
    for tick, g in zip(axes.get_xticklabels(), groups, strict=True):
        if g.unacknowledged:
            tick.set_color("#c44e52")
    axes.set_xlim(-0.5, len(groups) - 0.5)
    axes.set_ylim(bottom=0)
    axes.set_ylabel("minutes to acknowledge\n(acknowledged escalations)")
    summary = report.escalation_summary
    if summary.raised:
        title = (
            f"Time to acknowledge escalations (E3): {summary.raised} raised, "
            f"{summary.acknowledged} acknowledged (median "
            f"{wait_text(summary.median_seconds_to_acknowledge)}, longest "
            f"{wait_text(summary.longest_seconds_to_acknowledge)})\n{summary.unacknowledged} "
            "not acknowledged: counted under their group, not drawn (they have no time)"
        )
        if not summary.acknowledged:
            title = (
                f"Time to acknowledge escalations (E3): {summary.raised} raised, none "
                "acknowledged\n(counted under their group, not drawn: they have no time)"
            )
    else:
        title = "Time to acknowledge escalations (E3): none raised in the range"
        axes.text(0.5, 0.5, "no escalations", ha="center", transform=axes.transAxes)
    axes.set_title(title, loc="left")
