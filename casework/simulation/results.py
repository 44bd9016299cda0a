"""What a simulation run shows, read from the run's own database after the crowd is done: the
facts the engine wrote (`case_facts`: opened, due, first response, breach; `feed`: each
assignment with its queue; `assignments`: the levels a case reached; `escalations`: Escalate Now
and breach escalations), grouped by queue, tier and priority. Pure once the rows are read.

- queue wait: from opening to the assignment of the engineer who first responded (or to the
  first assignment, if nobody has responded yet);
- time to first response: from opening to the first response (S2), in wall-clock time;
- escalations to L1/L2/L3: cases that reached that level after starting lower (E2);
- Escalation Manager escalations (E3, S3): raised online or by the breach; how far up the
  ladder each went: 0 = the manager on duty acknowledged, 1 = passed on once, ...
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select

from casework.simulation.messages import CrowdSummary, Tally
from casework.store import Store
from casework.store.tables import assignments, case_facts, escalations, feed

_QUEUE = re.compile(r"queue (\S+)$")
_ESCALATION_ID = re.compile(r"^(\S+-E\d+):")
LEVELS = ("L0", "L1", "L2", "L3")


class CaseRecord(BaseModel):
    case_id: str
    queue: str
    tier: str
    priority: str
    opened_at: datetime
    due_at: datetime
    responded_at: datetime | None
    breached: bool
    queue_wait: float | None
    """Minutes from opening to the assignment of the engineer who first responded."""
    levels: list[str]


class GroupStats(BaseModel):
    queue: str
    tier: str
    priority: str
    cases: int = 0
    within_target: int = 0
    breached: int = 0
    awaiting: int = 0
    ttfr_p50: float | None = None
    ttfr_p90: float | None = None
    wait_p50: float | None = None
    wait_p90: float | None = None
    escalated_to: dict[str, int] = Field(default_factory=dict)
    manager_escalations: int = 0
    breach_escalations: int = 0
    ladder: dict[str, int] = Field(default_factory=dict)
    """How many escalations went how far: "0" acknowledged by the first manager, "1" passed on
    once, ..., "unacknowledged" never acknowledged."""


class SimulationResult(BaseModel):
    label: str
    start: datetime
    end: datetime
    groups: list[GroupStats]
    total: GroupStats
    tally: Tally
    cases: list[CaseRecord] = Field(default_factory=list, exclude=True)


def percentile(values: list[float], p: float) -> float | None:
    """Nearest rank; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def collect(
    store: Store, label: str, start: datetime, end: datetime, summary: CrowdSummary
) -> SimulationResult:
    with store.engine.connect() as conn:
        facts = [
            dict(r._mapping)
            for r in conn.execute(
                select(case_facts).where(
                    case_facts.c.opened_at >= start, case_facts.c.opened_at < end
                )
            )
        ]
        feed_rows = [
            dict(r._mapping)
            for r in conn.execute(
                select(feed.c.case_id, feed.c.seq, feed.c.at, feed.c.kind, feed.c.text)
                .where(
                    feed.c.kind.in_(
                        ["assigned", "escalation_passed_on", "escalation_unacknowledged"]
                    )
                )
                .order_by(feed.c.case_id, feed.c.seq)
            )
        ]
        levels_rows = conn.execute(
            select(assignments.c.case_id, assignments.c.level, assignments.c.assigned_at)
        ).all()
        escalation_rows = [dict(r._mapping) for r in conn.execute(select(escalations))]
    for row in feed_rows:
        row["text"] = store.feed.unseal(row["text"])
    return summarise(label, start, end, facts, feed_rows, levels_rows, escalation_rows, summary)


def _utc(at: datetime) -> datetime:
    from datetime import UTC

    return at if at.tzinfo else at.replace(tzinfo=UTC)


def summarise(
    label: str,
    start: datetime,
    end: datetime,
    facts: list[dict[str, Any]],
    feed_rows: list[dict[str, Any]],
    levels_rows: Any,
    escalation_rows: list[dict[str, Any]],
    summary: CrowdSummary,
) -> SimulationResult:
    assigned: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    passed: Counter[str] = Counter()
    unacknowledged: set[str] = set()
    for row in feed_rows:
        if row["kind"] == "assigned":
            match = _QUEUE.search(row["text"])
            assigned[row["case_id"]].append((_utc(row["at"]), match[1] if match else "?"))
        else:
            match = _ESCALATION_ID.match(row["text"])
            key = match[1] if match else row["case_id"]
            if row["kind"] == "escalation_passed_on":
                passed[key] += 1
            else:
                unacknowledged.add(key)
    levels: dict[str, list[str]] = defaultdict(list)
    for case_id, level, _ in sorted(levels_rows, key=lambda r: (r[0], _utc(r[2]))):
        if level not in levels[case_id]:
            levels[case_id].append(level)
    records = []
    for fact in facts:
        case_id = fact["case_id"]
        opened, responded = _utc(fact["opened_at"]), fact["responded_at"]
        responded = _utc(responded) if responded else None
        steps = assigned.get(case_id, [])
        chosen = steps[0] if steps else None
        if responded is not None:
            before = [s for s in steps if s[0] <= responded]
            chosen = before[-1] if before else chosen
        records.append(
            CaseRecord(
                case_id=case_id,
                queue=chosen[1] if chosen else "(never assigned)",
                tier=fact["tier"],
                priority=fact["priority"],
                opened_at=opened,
                due_at=_utc(fact["due_at"]),
                responded_at=responded,
                breached=fact["breached_at"] is not None
                or (responded is not None and responded > _utc(fact["due_at"])),
                queue_wait=(chosen[0] - opened) / timedelta(minutes=1) if chosen else None,
                levels=levels.get(case_id, []),
            )
        )
    by_case = {r.case_id: r for r in records}
    escalations_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in escalation_rows:
        if row["case_id"] in by_case:
            escalations_of[row["case_id"]].append(row)
    groups: dict[tuple[str, str, str], list[CaseRecord]] = defaultdict(list)
    for record in records:
        groups[(record.queue, record.tier, record.priority)].append(record)
    stats = [
        _stats(key, members, escalations_of, passed, unacknowledged)
        for key, members in sorted(groups.items(), key=lambda kv: _order(kv[0]))
    ]
    total = _stats(("all", "", ""), records, escalations_of, passed, unacknowledged)
    return SimulationResult(
        label=label,
        start=start,
        end=end,
        groups=stats,
        total=total,
        tally=summary.tally,
        cases=records,
    )


def _order(key: tuple[str, str, str]) -> tuple[str, int, str]:
    queue, tier, priority = key
    return (queue, 0 if tier == "PLATINUM" else 1, priority)


def _stats(
    key: tuple[str, str, str],
    members: list[CaseRecord],
    escalations_of: dict[str, list[dict[str, Any]]],
    passed: Counter[str],
    unacknowledged: set[str],
) -> GroupStats:
    queue, tier, priority = key
    ttfr = [
        (r.responded_at - r.opened_at) / timedelta(minutes=1)
        for r in members
        if r.responded_at is not None
    ]
    waits = [r.queue_wait for r in members if r.queue_wait is not None]
    escalated_to: Counter[str] = Counter()
    for r in members:
        for level in r.levels[1:]:
            escalated_to[level] += 1
    ladder: Counter[str] = Counter()
    manager = breach = 0
    for r in members:
        for row in escalations_of.get(r.case_id, []):
            if row["channel"] == "sla_breach":
                breach += 1
            else:
                manager += 1
            eid = row["escalation_id"]
            if row["acknowledged_at"] is None:
                ladder["unacknowledged"] += 1
            else:
                ladder[str(passed.get(eid, 0))] += 1
    return GroupStats(
        queue=queue,
        tier=tier,
        priority=priority,
        cases=len(members),
        within_target=sum(1 for r in members if r.responded_at is not None and not r.breached),
        breached=sum(1 for r in members if r.breached),
        awaiting=sum(1 for r in members if r.responded_at is None and not r.breached),
        ttfr_p50=percentile(ttfr, 50),
        ttfr_p90=percentile(ttfr, 90),
        wait_p50=percentile(waits, 50),
        wait_p90=percentile(waits, 90),
        escalated_to={level: escalated_to[level] for level in LEVELS if escalated_to[level]},
        manager_escalations=manager,
        breach_escalations=breach,
        ladder=dict(sorted(ladder.items())),
    )
