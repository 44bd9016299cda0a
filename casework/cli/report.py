"""`casework report`: the cases opened in a time range against their targets (S1-S3), and
the escalations raised in it (E3); optionally as a PNG chart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from casework.cli.common import BAD_INPUT, REFUSED, existing_store, fail, out, print_json

commands = typer.Typer()


def report_instant(value: str, option: str, *, end_of_day: bool = False) -> datetime:
    """A report bound: an ISO date (`2026-11-01`) or date and time (`2026-11-01T09:00`, UTC
    unless it names an offset). A date given to --to means the end of that day."""
    text_value = value.strip()
    try:
        parsed = datetime.fromisoformat(text_value)
    except ValueError:
        fail(
            f"{option} {value!r} is not a date or time; write it like 2026-11-01 or "
            "2026-11-01T09:00 (UTC unless it names an offset, e.g. 2026-11-01T09:00-05:00)",
            BAD_INPUT,
        )
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if end_of_day and len(text_value) == len("2026-11-01"):
        parsed += timedelta(days=1)
    return parsed.astimezone(UTC)


def empty_range(start: str, end: str | None, since: datetime) -> str:
    """Why [--from, --to) holds no instant, in the words the user typed: reversed (swap
    them), or empty (the same instant twice)."""
    from casework.cli.render import when

    if end is None:
        return (
            f"--from {start.strip()} ({when(since)}) is in the future: the report covers cases "
            "already opened; give a --from in the past, or a --to"
        )
    if report_instant(end, "--to") < since:
        return (
            f"--to {end.strip()} is before --from {start.strip()}: the range is reversed; "
            "swap them (--from is the first day or time, --to the last)"
        )
    return (
        f"--from {start.strip()} and --to {end.strip()} are the same instant "
        f"({when(since)}): the range is empty; give a --to after --from (a date given to "
        "--to includes that whole day)"
    )


class ReportOutput(StrEnum):
    table = "table"
    json = "json"


@commands.command("report")
def report_command(
    ctx: typer.Context,
    start: Annotated[
        str,
        typer.Option(
            "--from", help="First day (or time) of the range, e.g. 2026-11-01; UTC by default."
        ),
    ],
    end: Annotated[
        str | None,
        typer.Option(
            "--to", help="Last day of the range, included (or an exact end time); default: now."
        ),
    ] = None,
    output: Annotated[ReportOutput, typer.Option(help="table or json.")] = ReportOutput.table,
    chart: Annotated[
        Path | None, typer.Option(help="Also draw the report into this PNG file.")
    ] = None,
) -> None:
    """Cases opened in a time range, by tier and priority: responded within target, breached,
    still awaiting a first response (S1-S3); and the escalations raised in it with their
    acknowledgement times (E3)."""
    from casework.cli.render import report_tables
    from casework.domain.report import CaseFactRow, EscalationRow, build_report

    since = report_instant(start, "--from")
    until = report_instant(end, "--to", end_of_day=True) if end else datetime.now(UTC)
    if until <= since:
        fail(empty_range(start, end, since), BAD_INPUT)
    if chart is not None and chart.suffix.lower() != ".png":
        fail(f"--chart {chart}: the chart is a PNG image; name the file like report.png", BAD_INPUT)
    store = existing_store(ctx)
    try:
        cases = [CaseFactRow.model_validate(r) for r in store.reporting.cases_opened(since, until)]
        raised = [EscalationRow.model_validate(r) for r in store.escalations.raised(since, until)]
    finally:
        store.dispose()
    report = build_report(since, until, cases, raised)
    if chart is not None:
        from casework.report_chart import ChartUnavailable, draw_report

        try:
            draw_report(report, chart)
        except ChartUnavailable as e:
            fail(str(e), REFUSED)
        except OSError as e:
            fail(f"cannot write the chart to {chart}: {e.strerror or e}", REFUSED)
    if output is ReportOutput.json:
        print_json(report)
        return
    for table in report_tables(report):
        out().print(table)
    if chart is not None:
        out().print(f"chart: {chart}", markup=False)
