"""What `casework simulate` prints: a table per run (or two runs side by side with
`--compare`), JSON for tools. Pure: results in, rich tables and dicts out."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from casework.simulation.results import GroupStats, SimulationResult


def minutes(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 1:
        return f"{value * 60:.0f}s"
    if value < 60:
        return f"{value:.0f}m"
    hours, rest = divmod(round(value), 60)
    if hours < 24:
        return f"{hours}h{rest:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def _group(stats: GroupStats) -> str:
    if stats.queue == "all":
        return "all"
    return f"{stats.queue} {stats.tier} {stats.priority}"


def _levels(stats: GroupStats) -> str:
    return " ".join(f"{k}:{v}" for k, v in stats.escalated_to.items()) or "-"


def _ladder(stats: GroupStats) -> str:
    if not stats.ladder:
        return "-"
    parts = []
    for step, count in stats.ladder.items():
        label = "never ack" if step == "unacknowledged" else f"+{step}"
        parts.append(f"{label}:{count}")
    return " ".join(parts)


def result_table(result: SimulationResult) -> Table:
    table = Table(
        title=f"{result.label}: cases opened {result.start:%a %Y-%m-%d %H:%M} to "
        f"{result.end:%a %Y-%m-%d %H:%M} UTC",
        title_justify="left",
    )
    for name, justify in (
        ("queue tier priority", "left"),
        ("cases", "right"),
        ("within target", "right"),
        ("breached", "right"),
        ("awaiting", "right"),
        ("first response p50", "right"),
        ("p90", "right"),
        ("queue wait p50", "right"),
        ("p90", "right"),
        ("escalated to", "left"),
        ("EM: Escalate Now / breach", "right"),
        ("ladder (+steps passed on)", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for stats in [*result.groups, result.total]:
        table.add_row(
            _group(stats),
            str(stats.cases),
            str(stats.within_target),
            str(stats.breached),
            str(stats.awaiting),
            minutes(stats.ttfr_p50),
            minutes(stats.ttfr_p90),
            minutes(stats.wait_p50),
            minutes(stats.wait_p90),
            _levels(stats),
            f"{stats.manager_escalations} / {stats.breach_escalations}",
            _ladder(stats),
            end_section=stats is result.groups[-1] if result.groups else False,
        )
    return table


def _delta(a: float | int | None, b: float | int | None, as_minutes: bool = False) -> str:
    show = minutes if as_minutes else (lambda v: "-" if v is None else str(v))
    if a is None or b is None:
        return f"{show(a)} → {show(b)}"  # type: ignore[operator]
    diff = b - a
    if as_minutes and abs(diff) < 1 / 60:
        diff = 0  # the server's clock runs on while the engine works: sub-second, not a change
    sign = "+" if diff > 0 else ("-" if diff < 0 else "±")
    change = minutes(abs(diff)) if as_minutes else str(abs(diff))
    return f"{show(a)} → {show(b)} ({sign}{change})"  # type: ignore[operator]


def compare_table(first: SimulationResult, second: SimulationResult) -> Table:
    table = Table(
        title=f"{first.label} → {second.label} (same load, same seed)", title_justify="left"
    )
    for name in (
        "queue tier priority",
        "cases",
        "breached",
        "first response p50",
        "first response p90",
        "queue wait p90",
        "EM escalations",
    ):
        table.add_column(name)
    for key, a, b in paired(first, second):
        table.add_row(
            key,
            _delta(a.cases if a else 0, b.cases if b else 0),
            _delta(a.breached if a else 0, b.breached if b else 0),
            _delta(a.ttfr_p50 if a else None, b.ttfr_p50 if b else None, as_minutes=True),
            _delta(a.ttfr_p90 if a else None, b.ttfr_p90 if b else None, as_minutes=True),
            _delta(a.wait_p90 if a else None, b.wait_p90 if b else None, as_minutes=True),
            _delta(
                (a.manager_escalations + a.breach_escalations) if a else 0,
                (b.manager_escalations + b.breach_escalations) if b else 0,
            ),
        )
    return table


def paired(
    first: SimulationResult, second: SimulationResult
) -> list[tuple[str, GroupStats | None, GroupStats | None]]:
    """The groups of both runs, matched by queue, tier and priority (a group only one run
    has is paired with None); the totals last."""
    a = {_group(g): g for g in first.groups}
    b = {_group(g): g for g in second.groups}
    keys = list(a) + [k for k in b if k not in a]
    rows: list[tuple[str, GroupStats | None, GroupStats | None]] = [
        (k, a.get(k), b.get(k)) for k in keys
    ]
    rows.append(("all", first.total, second.total))
    return rows


def result_json(result: SimulationResult) -> dict[str, Any]:
    return result.model_dump(mode="json")


def comparison_json(first: SimulationResult, second: SimulationResult) -> dict[str, Any]:
    return {
        "runs": [result_json(first), result_json(second)],
        "difference": [
            {
                "group": key,
                "breached": (b.breached if b else 0) - (a.breached if a else 0),
                "cases": (b.cases if b else 0) - (a.cases if a else 0),
                "ttfr_p90_minutes": (b.ttfr_p90 - a.ttfr_p90)
                if a and b and a.ttfr_p90 is not None and b.ttfr_p90 is not None
                else None,
            }
            for key, a, b in paired(first, second)
        ],
    }
