"""`casework report` from the outside: cases run on the time-skipping server with the S1
table, escalations raised by breaches and by Escalate Now on the ladder, then the CLI's
numbers, JSON and chart are checked against what happened (S1-S3, E3)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from casework.cli import app
from casework.domain.report import CaseFactRow, EscalationRow, Report, build_report
from casework.store import Store
from tests.conftest import Desk, eventually

GOLD = {"account_id": "globex", "contact_id": "globex-carol"}
PLATINUM = {"account_id": "acme", "contact_id": "acme-alice"}


def report(store: Store, *args: str) -> Any:
    return CliRunner().invoke(app, ["--db-url", store.url, "report", *args])


def line(data: dict[str, Any], tier: str, priority: str) -> dict[str, Any]:
    return next(x for x in data["lines"] if x["tier"] == tier and x["priority"] == priority)


async def test_the_report_counts_the_cases_that_were_run(
    env: WorkflowEnvironment, desk: Desk, store: Store, tmp_path: Path
) -> None:
    """S1-S3/E3: a Platinum P1 answered in 5 minutes (within target), a Gold P1 left
    unanswered (breached at 30m), a Gold P2 answered after its hour (breached, answered late), a
    Platinum P3 still inside its 4 hours (awaiting); a case opened two days earlier is outside
    the range. Three escalations in the range (one acknowledged, two not), one before it."""
    earlier = await desk.open(priority="P3", **GOLD)
    await desk.until(earlier, lambda v: v.state == "in_progress")
    await env.sleep(timedelta(days=2))

    platinum_p1 = await desk.open(priority="P1", **PLATINUM)
    gold_p1 = await desk.open(priority="P1", **GOLD)
    gold_p2 = await desk.open(priority="P2", **GOLD)
    platinum_p3 = await desk.open(priority="P3", contact_id="acme-bob", account_id="acme")
    opened = {}
    for case_id in (platinum_p1, gold_p1, gold_p2, platinum_p3):
        opened[case_id] = (await desk.until(case_id, lambda v: v.state == "in_progress")).opened_at
    start = min(opened.values())

    await env.sleep(timedelta(minutes=5))
    await desk.act(platinum_p1, "respond", actor="cc-dana", text="on it")
    await env.sleep(timedelta(minutes=57))
    await desk.until(gold_p2, lambda v: v.sla.breached_at is not None)
    await desk.until(gold_p1, lambda v: v.sla.breached_at is not None)
    await desk.act(gold_p2, "respond", actor="cc-dana", text="sorry for the wait")

    def facts_settled() -> bool:
        rows = {r["case_id"]: r for r in store.reporting.cases_opened(start, start + timedelta(1))}
        return (
            set(rows) == set(opened)
            and rows[gold_p2]["responded_at"] is not None
            and rows[gold_p1]["breached_at"] is not None
            and rows[platinum_p1]["responded_at"] is not None
        )

    await eventually(facts_settled)

    # E3/S3: the Gold P1's breach raised an escalation at 30m and the Gold P2's at 60m, on the
    # ladder; the customer escalates the Platinum P3 online. The manager who has the Gold P1's
    # by now acknowledges it; the other two stay unacknowledged. The earlier case's breach
    # escalation was raised two days before the range.
    await desk.act(platinum_p3, "escalate_now", actor="acme-bob", reason="lack_of_progress")
    held = await desk.until(gold_p1, lambda v: bool(v.escalations))
    manager = held.escalations[-1].manager.id
    await desk.act(gold_p1, "acknowledge_escalation", actor=manager)
    in_range = (start, start + timedelta(hours=2))

    def escalations_settled() -> bool:
        by_case = {r["case_id"]: r for r in store.escalations.raised(*in_range)}
        return (
            set(by_case) == {gold_p1, gold_p2, platinum_p3}
            and by_case[gold_p1]["acknowledged_at"] is not None
        )

    await eventually(escalations_settled)
    assert store.escalations.rows(earlier), "the earlier case's breach was escalated too"
    recorded = {r["escalation_id"]: r for r in store.escalations.raised(*in_range)}
    acknowledged = recorded[f"{gold_p1}-E1"]
    waited = (acknowledged["acknowledged_at"] - acknowledged["raised_at"]).total_seconds()
    assert acknowledged["raised_at"] == opened[gold_p1] + timedelta(minutes=30)

    window = ["--from", start.isoformat(), "--to", (start + timedelta(hours=2)).isoformat()]
    result = report(store, *window, "--output", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {k: line(data, "PLATINUM", "P1")[k] for k in ("opened", "responded_within_target")} == {
        "opened": 1,
        "responded_within_target": 1,
    }
    assert line(data, "GOLD", "P1")["breached"] == 1
    assert line(data, "GOLD", "P1")["responded_within_target"] == 0
    assert line(data, "GOLD", "P2")["breached"] == 1, "answered late is still a breach (S3)"
    assert line(data, "PLATINUM", "P3")["awaiting_response"] == 1
    assert line(data, "GOLD", "P3")["opened"] == 0, "the earlier case is outside the range"
    total = data["total"]
    assert (total["opened"], total["responded_within_target"], total["breached"]) == (4, 1, 2)
    assert total["awaiting_response"] == 1
    assert total["within_target_percent"] == round(100 / 3, 1)

    escalations = {e["escalation_id"]: e for e in data["escalations"]}
    assert set(escalations) == set(recorded)
    assert escalations[f"{gold_p1}-E1"]["seconds_to_acknowledge"] == waited
    assert escalations[f"{gold_p2}-E1"]["acknowledged_at"] is None
    assert escalations[f"{platinum_p3}-E1"]["acknowledged_at"] is None
    assert data["escalation_summary"] == {
        "raised": 3,
        "acknowledged": 1,
        "unacknowledged": 2,
        "median_seconds_to_acknowledge": waited,
        "longest_seconds_to_acknowledge": waited,
    }

    chart = tmp_path / "report.png"
    table = report(store, *window, "--chart", str(chart))
    assert table.exit_code == 0, table.output
    assert f"by {manager}" in table.output and "not acknowledged" in table.output
    total_row = next(r for r in table.output.splitlines() if "│ all" in r)
    assert [c.strip() for c in total_row.split("│")[1:-1]] == [
        "all", "all", "4", "1", "2", "1", "33.3%",
    ]  # fmt: skip
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    for case_id in (earlier, gold_p1, gold_p2):
        await desk.act(case_id, "close", actor="globex-carol")
    for case_id in (platinum_p1, platinum_p3):
        await desk.act(case_id, "close", actor="acme-alice")


def test_a_bad_range_is_refused_and_says_how_to_write_it(store: Store, tmp_path: Path) -> None:
    """Bad input: a clear error, nothing written."""
    bad = report(store, "--from", "last tuesday")
    assert bad.exit_code == 2 and "2026-11-01" in bad.output
    backwards = report(store, "--from", "2026-11-02", "--to", "2026-11-01")
    assert backwards.exit_code == 2 and "reversed" in backwards.output
    chart = tmp_path / "report.jpg"
    wrong_kind = report(store, "--from", "2026-11-01", "--chart", str(chart))
    assert wrong_kind.exit_code == 2 and "PNG" in wrong_kind.output and not chart.exists()


def test_a_date_given_to_to_includes_that_whole_day(store: Store) -> None:
    """`--to 2026-11-01` includes cases opened on the 1st until midnight."""
    opened = datetime.fromisoformat("2026-11-01T23:30:00+00:00")
    store.reporting.record_case_facts(
        {
            "case_id": "case-900001",
            "revision": 1,
            "account": "acme",
            "tier": "PLATINUM",
            "priority": "P1",
            "category": "support",
            "opened_at": opened,
            "due_at": opened + timedelta(minutes=15),
        }
    )
    result = report(store, "--from", "2026-11-01", "--to", "2026-11-01", "--output", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["total"]["opened"] == 1


def test_an_older_write_never_overwrites_a_newer_one(store: Store) -> None:
    """The facts are upserted by revision: a retried opening write arriving after the first
    response's does not undo it, and the case counts as responded within target."""
    opened = datetime.fromisoformat("2026-11-01T10:00:00+00:00")
    facts = {
        "case_id": "case-900002", "revision": 1, "account": "globex", "tier": "GOLD",
        "priority": "P1", "category": "support", "opened_at": opened,
        "due_at": opened + timedelta(minutes=30),
    }  # fmt: skip
    responded = {**facts, "revision": 3, "responded_at": opened + timedelta(minutes=1)}
    assert store.reporting.record_case_facts(responded)
    assert not store.reporting.record_case_facts(facts)
    rows = store.reporting.cases_opened(opened, opened + timedelta(days=1))
    assert rows[0]["responded_at"] == opened + timedelta(minutes=1)
    built = build_report(
        opened, opened + timedelta(days=1), [CaseFactRow.model_validate(r) for r in rows], []
    )
    assert built.total.responded_within_target == 1


# --- the chart: a month at a glance (issue 11) -------------------------------------------------

MONTH_START = datetime.fromisoformat("2026-11-01T00:00:00+00:00")


def month_of_cases_and_escalations() -> Report:
    """November: 11 Gold P1 cases, 9 breached and 2 still awaiting a first response; 3
    Platinum P2 within target. 40 Platinum P1 escalations acknowledged in 1 to 40 minutes, 5
    Gold P1 ones acknowledged in 10 minutes; 3 Gold P1 ones never acknowledged, raised weeks
    before the end of the month."""
    cases = []
    for n in range(11):
        opened = MONTH_START + timedelta(days=n, hours=3)
        cases.append(
            CaseFactRow(
                case_id=f"case-{n:06d}", account="globex", tier="GOLD", priority="P1",
                opened_at=opened, due_at=opened + timedelta(minutes=30),
                breached_at=opened + timedelta(minutes=30) if n < 9 else None,
            )
        )  # fmt: skip
    for n in range(3):
        opened = MONTH_START + timedelta(days=n + 12)
        cases.append(
            CaseFactRow(
                case_id=f"case-{n + 100:06d}", account="acme", tier="PLATINUM", priority="P2",
                opened_at=opened, due_at=opened + timedelta(hours=1),
                responded_at=opened + timedelta(minutes=20),
            )
        )  # fmt: skip

    def escalation(n: int, tier: str, priority: str, waited: float | None) -> EscalationRow:
        raised = MONTH_START + timedelta(days=n % 28, hours=n % 24)
        return EscalationRow(
            escalation_id=f"case-{n:06d}-E1", case_id=f"case-{n:06d}", account="x", tier=tier,
            priority=priority, channel="web", reason="lack_of_progress", raised_at=raised,
            acknowledged_at=None if waited is None else raised + timedelta(minutes=waited),
        )  # fmt: skip

    escalations = [escalation(n, "PLATINUM", "P1", n + 1) for n in range(40)]
    escalations += [escalation(200 + n, "GOLD", "P1", 10) for n in range(5)]
    escalations += [escalation(300 + n, "GOLD", "P1", None) for n in range(3)]
    return build_report(MONTH_START, MONTH_START + timedelta(days=30), cases, escalations)


def test_the_chart_draws_every_count_the_table_has() -> None:
    """S1-S3: per tier and priority the chart draws within target, breached and awaiting a
    first response, which add up to opened: the Gold P1 group's 2 awaiting are not hidden."""
    from casework.report_chart import report_figure

    built = month_of_cases_and_escalations()
    gold_p1 = next(x for x in built.lines if (x.tier, x.priority) == ("GOLD", "P1"))
    assert (gold_p1.opened, gold_p1.breached, gold_p1.awaiting_response) == (11, 9, 2)
    figure = report_figure(built)
    cases = figure.axes[0]
    drawn = {c.get_label(): [bar.get_height() for bar in c] for c in cases.containers}
    [awaiting] = [label for label in drawn if "awaiting" in label]
    [within] = [label for label in drawn if "within target" in label]
    [breached] = [label for label in drawn if "breached" in label]
    assert drawn[awaiting] == [x.awaiting_response for x in built.lines]
    assert drawn[within] == [x.responded_within_target for x in built.lines]
    assert drawn[breached] == [x.breached for x in built.lines]
    stacked = [sum(heights) for heights in zip(*drawn.values(), strict=True)]
    assert stacked == [x.opened for x in built.lines], "the bars add up to the cases opened"
    texts = " ".join(t.get_text() for t in cases.texts) + cases.get_title()
    assert "11 opened" in texts


def test_the_chart_draws_acknowledgement_times_as_a_distribution() -> None:
    """E3: a month of escalations is a box per tier and priority of the times of the
    acknowledged ones, not a bar per escalation; the unacknowledged ones are counted next to
    their group, never drawn as a time."""
    from casework.report_chart import report_figure

    built = month_of_cases_and_escalations()
    figure = report_figure(built)
    times = figure.axes[1]
    assert len(times.patches) < 10, "one bar per escalation"
    acknowledged = [
        r.seconds_to_acknowledge / 60 for r in built.escalations if r.seconds_to_acknowledge
    ]
    drawn = [y for line in times.lines for y in line.get_ydata()]
    drawn += [p.get_height() for p in times.patches]
    assert drawn and max(drawn) <= max(acknowledged), "an unacknowledged wait drawn as a time"
    assert 20.5 in drawn, "the Platinum P1 median (of 1..40 minutes) is drawn"
    labels = " ".join(t.get_text() for t in [*times.get_xticklabels(), *times.texts])
    assert "3 not acknowledged" in labels and "5 acknowledged" in labels, labels
    assert "40 acknowledged" in labels


def test_a_reversed_range_is_refused_naming_both_ends_as_typed(store: Store) -> None:
    """Bad input (issue 11): --to a day before --from is refused as reversed, with the two
    days the user typed, not two equal instants; nothing is reported."""
    backwards = report(store, "--from", "2026-11-02", "--to", "2026-11-01")
    assert backwards.exit_code == 2, backwards.output
    message = " ".join(backwards.output.split())
    assert "--to 2026-11-01 is before --from 2026-11-02" in message, message
    assert "swap" in message
    times = report(store, "--from", "2026-11-01T10:00", "--to", "2026-11-01T09:00")
    assert times.exit_code == 2
    assert "--to 2026-11-01T09:00 is before --from 2026-11-01T10:00" in " ".join(
        times.output.split()
    )
    same = report(store, "--from", "2026-11-01T10:00", "--to", "2026-11-01T10:00")
    assert same.exit_code == 2 and "empty" in same.output


def test_a_range_without_escalations_says_there_were_none(store: Store) -> None:
    """E3 (issue 11): no escalations is not "not acknowledged"."""
    result = report(store, "--from", "2026-11-01", "--to", "2026-11-01")
    assert result.exit_code == 0, result.output
    assert "not acknowledged" not in result.output
    assert "no escalations raised" in result.output
