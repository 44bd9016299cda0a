"""`casework report`: what happened to the cases opened in a time range, and to the
escalations raised in it. Pure: rows in (from `casework.store`), numbers out.

Our reading of the counts (S1-S3):
- *opened*: cases whose opening time is in the range;
- *responded within target*: the first response (the owner's first word to the customer of
  any kind, `casework.domain.sla.FIRST_RESPONSE_ACTIONS`) came and the case never breached
  (S2/S3);
- *breached*: the case missed its first-response target (S3), responded later or not;
- *awaiting response*: neither responded nor breached when the report was made.
An escalation (E3) counts in the range in which it was raised; its acknowledgement time is
from raised to acknowledged.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from statistics import median

from pydantic import Field

from casework.domain.durations import format_duration
from casework.domain.models import Lenient, Priority, Tier
from casework.domain.tiers import S1_RULES


class CaseFactRow(Lenient):
    """One case, as the `case_facts` table keeps it."""

    case_id: str
    account: str
    tier: Tier
    priority: Priority
    category: str = "support"
    opened_at: datetime
    due_at: datetime
    responded_at: datetime | None = None
    breached_at: datetime | None = None

    @property
    def within_target(self) -> bool:
        return self.responded_at is not None and self.breached_at is None


class EscalationRow(Lenient):
    """One escalation, as the shared `escalations` table keeps it (E3/S3)."""

    escalation_id: str
    case_id: str
    account: str
    tier: str
    priority: str
    channel: str
    reason: str
    raised_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    ended_at: datetime | None = None

    @property
    def time_to_acknowledge(self) -> timedelta | None:
        return None if self.acknowledged_at is None else self.acknowledged_at - self.raised_at


class ResponseLine(Lenient):
    """S1-S3 for one tier and priority (or all of them: tier and priority None)."""

    tier: Tier | None
    priority: Priority | None
    opened: int = 0
    responded_within_target: int = 0
    breached: int = 0
    awaiting_response: int = 0
    within_target_percent: float | None = Field(
        default=None, description="of the cases that responded or breached; None if none did"
    )


class EscalationLine(Lenient):
    escalation_id: str
    case_id: str
    tier: str
    priority: str
    channel: str
    raised_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    seconds_to_acknowledge: float | None


class EscalationSummary(Lenient):
    raised: int = 0
    acknowledged: int = 0
    unacknowledged: int = 0
    median_seconds_to_acknowledge: float | None = None
    longest_seconds_to_acknowledge: float | None = None


class Report(Lenient):
    start: datetime
    end: datetime
    lines: list[ResponseLine]
    total: ResponseLine
    escalations: list[EscalationLine]
    escalation_summary: EscalationSummary


def _line(tier: Tier | None, priority: Priority | None, cases: list[CaseFactRow]) -> ResponseLine:
    within = sum(1 for c in cases if c.within_target)
    breached = sum(1 for c in cases if c.breached_at is not None)
    decided = within + breached
    return ResponseLine(
        tier=tier,
        priority=priority,
        opened=len(cases),
        responded_within_target=within,
        breached=breached,
        awaiting_response=len(cases) - decided,
        within_target_percent=round(100 * within / decided, 1) if decided else None,
    )


def build_report(
    start: datetime,
    end: datetime,
    cases: list[CaseFactRow],
    escalations: list[EscalationRow],
    tiers: Sequence[str] = tuple(S1_RULES.terms),
) -> Report:
    """The report for [start, end): one line per tier and priority (every priority of each
    of `tiers`, zeros included, so that a quiet week reads as such; then those of any other
    tier a case was opened on), a total, and every escalation raised in the range."""
    cases = [c for c in cases if start <= c.opened_at < end]
    escalations = [e for e in escalations if start <= e.raised_at < end]
    every = list(dict.fromkeys([*tiers, *sorted({c.tier for c in cases} - set(tiers))]))
    lines = [
        _line(tier, priority, [c for c in cases if c.tier == tier and c.priority is priority])
        for tier in every
        for priority in Priority
    ]
    rows = [
        EscalationLine(
            escalation_id=e.escalation_id,
            case_id=e.case_id,
            tier=e.tier,
            priority=e.priority,
            channel=e.channel,
            raised_at=e.raised_at,
            acknowledged_at=e.acknowledged_at,
            acknowledged_by=e.acknowledged_by,
            seconds_to_acknowledge=_seconds(e.time_to_acknowledge),
        )
        for e in escalations
    ]
    waits = [r.seconds_to_acknowledge for r in rows if r.seconds_to_acknowledge is not None]
    summary = EscalationSummary(
        raised=len(rows),
        acknowledged=len(waits),
        unacknowledged=len(rows) - len(waits),
        median_seconds_to_acknowledge=median(waits) if waits else None,
        longest_seconds_to_acknowledge=max(waits) if waits else None,
    )
    return Report(
        start=start,
        end=end,
        lines=lines,
        total=_line(None, None, cases),
        escalations=rows,
        escalation_summary=summary,
    )


class AcknowledgementGroup(Lenient):
    """E3: the escalations of one tier and priority: how long each acknowledged one took,
    and how many were not acknowledged (they have no time to acknowledge, only a count)."""

    tier: str
    priority: str
    seconds_to_acknowledge: list[float] = Field(default_factory=list)
    unacknowledged: int = 0

    @property
    def acknowledged(self) -> int:
        return len(self.seconds_to_acknowledge)


def acknowledgement_groups(report: Report) -> list[AcknowledgementGroup]:
    """E3: the report's escalations by tier and priority, in the table's order (its lines,
    empty ones included, so a chart lines up with the case counts), then any other tier and
    priority an escalation carries."""
    groups = {
        (line.tier, line.priority.value): AcknowledgementGroup(
            tier=line.tier, priority=line.priority.value
        )
        for line in report.lines
        if line.tier is not None and line.priority is not None
    }
    for row in report.escalations:
        group = groups.setdefault(
            (row.tier, row.priority), AcknowledgementGroup(tier=row.tier, priority=row.priority)
        )
        if row.seconds_to_acknowledge is None:
            group.unacknowledged += 1
        else:
            group.seconds_to_acknowledge.append(row.seconds_to_acknowledge)
    return list(groups.values())


def _seconds(delta: timedelta | None) -> float | None:
    return None if delta is None else delta.total_seconds()


def wait_text(seconds: float | None) -> str:
    """An acknowledgement time for people: `4m`, `1h 30m`, or `not acknowledged`."""
    if seconds is None:
        return "not acknowledged"
    return format_duration(timedelta(seconds=round(seconds)))
