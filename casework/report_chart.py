"""`casework report --chart FILE.png`: the report drawn for people who would rather look than
read. matplotlib (Agg backend: no display needed) is an optional dependency, the `report`
extra: `pip install -e '.[report]'`."""

from __future__ import annotations

from pathlib import Path

from casework.domain.report import Report


class ChartUnavailable(Exception):
    """matplotlib is not installed."""


def draw_report(report: Report, path: Path) -> Path:
    """Two panels: per tier and priority, cases opened, responded within target and breached
    (S1-S3); then each escalation's time to acknowledgement in minutes (E3)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ChartUnavailable(
            "drawing a chart needs matplotlib: pip install -e '.[report]' (or pip install "
            "matplotlib), or leave out --chart"
        ) from None

    labels = [f"{line.tier}\n{line.priority}" for line in report.lines]
    series = [
        ("opened", [line.opened for line in report.lines], "#4c72b0"),
        ("within target", [line.responded_within_target for line in report.lines], "#55a868"),
        ("breached", [line.breached for line in report.lines], "#c44e52"),
    ]
    figure, (cases, escalations) = plt.subplots(2, 1, figsize=(10, 8))
    width = 0.27
    for i, (name, values, colour) in enumerate(series):
        positions = [x + (i - 1) * width for x in range(len(labels))]
        cases.bar(positions, values, width, label=name, color=colour)
    cases.set_xticks(range(len(labels)), labels)
    cases.set_ylabel("cases")
    cases.set_title(
        f"First response, cases opened {report.start:%Y-%m-%d %H:%M} to "
        f"{report.end:%Y-%m-%d %H:%M} UTC"
    )
    cases.legend()
    cases.yaxis.get_major_locator().set_params(integer=True)

    rows = report.escalations
    # an unacknowledged escalation's bar is how long it had waited by the end of the range
    minutes = [
        (
            r.seconds_to_acknowledge
            if r.seconds_to_acknowledge is not None
            else max((report.end - r.raised_at).total_seconds(), 0)
        )
        / 60
        for r in rows
    ]
    colours = ["#8172b2" if r.acknowledged_at else "#c44e52" for r in rows]
    escalations.bar([r.escalation_id for r in rows], minutes, color=colours)
    escalations.set_ylabel("minutes to acknowledge")
    summary = report.escalation_summary
    escalations.set_title(
        f"Escalations: {summary.raised} raised, {summary.unacknowledged} not acknowledged "
        "(red: waiting until the end of the range)"
    )
    escalations.tick_params(axis="x", labelrotation=30)
    if not rows:
        escalations.text(0.5, 0.5, "no escalations", ha="center", transform=escalations.transAxes)
    figure.tight_layout()
    figure.savefig(path, format="png")
    plt.close(figure)
    return path
