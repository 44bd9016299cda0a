"""What a simulation run shows, and the check that it accounts for every case.

Read when the crowd is done: the ledger (each case's story as the crowd lived it, in whole
minutes) and the facts the engine wrote in the run's own database (`case_facts`: opening, first
response, breach; `escalations` and the feed: Escalation Manager escalations and how far up the
ladder each went). The two must agree on every case (`unaccounted`), or the run went wrong.
Figures come from casework.simulation.figures.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select

from casework.simulation.clock import MAX_LAG, PHASE
from casework.simulation.figures import Breakdown, CaseStory, Targets, breakdown
from casework.simulation.messages import CrowdSummary, SimCase, Tally, Timing
from casework.simulation.plan import Roster
from casework.store import Store
from casework.store.tables import assignments, case_facts, escalations, feed

_ESCALATION_ID = re.compile(r"^(\S+-E\d+):")


class ManagerEscalations(BaseModel):
    """E3, S3: escalations raised online (Escalate Now) or by a breach, and how far up the
    ladder each went: "0" acknowledged by the manager on duty, "1" passed on once, ...,
    "unacknowledged" never acknowledged."""

    escalate_now: int = 0
    breach: int = 0
    ladder: dict[str, int] = Field(default_factory=dict)


class SimulationResult(BaseModel):
    label: str
    seed: int
    start: datetime
    end: datetime
    ended: datetime
    """When the crowd stopped following the cases (every case resolved, or the drain time)."""
    tally: Tally
    figures: Breakdown
    managers: ManagerEscalations
    cases: list[SimCase] = Field(default_factory=list, exclude=True)
    timing: Timing = Field(default_factory=Timing, exclude=True)
    """How the machine kept up: differs from run to run, so never in the answer."""


class RunWentWrong(Exception):
    """The run does not account for its cases: what it would show is not true."""


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def collect(
    store: Store,
    ledger: dict[str, SimCase],
    label: str,
    spec: tuple[int, datetime, datetime, str, Roster, Targets],
    summary: CrowdSummary,
) -> SimulationResult:
    seed, start, end, zone, roster, targets = spec
    with store.engine.connect() as conn:
        facts = {r.case_id: dict(r._mapping) for r in conn.execute(select(case_facts))}
        escalation_rows = [dict(r._mapping) for r in conn.execute(select(escalations))]
        assigned = [
            (r.case_id, r.level, r.engineer_id, _utc(r.assigned_at))
            for r in conn.execute(
                select(
                    assignments.c.case_id,
                    assignments.c.level,
                    assignments.c.engineer_id,
                    assignments.c.assigned_at,
                ).order_by(assignments.c.assigned_at, assignments.c.id)
            )
        ]
        passes = [
            store.feed.unseal(r.text)
            for r in conn.execute(select(feed.c.text).where(feed.c.kind == "escalation_passed_on"))
        ]
    problems = unaccounted(ledger, facts, summary.tally) + unheard(
        ledger, assigned, summary.ended_at
    )
    if problems:
        raise RunWentWrong(
            "the run does not account for every case, so its figures are not shown:\n  "
            + "\n  ".join(problems[:10])
            + (f"\n  ... and {len(problems) - 10} more" if len(problems) > 10 else "")
        )
    for case_id, case in ledger.items():
        case.breached = facts[case_id]["breached_at"] is not None
    stories = [CaseStory(case=case) for _, case in sorted(ledger.items())]
    return SimulationResult(
        label=label,
        seed=seed,
        start=start,
        end=end,
        ended=summary.ended_at,
        tally=summary.tally,
        figures=breakdown(stories, roster, start, end, zone, targets, summary.ended_at),
        managers=_managers(escalation_rows, passes, set(ledger)),
        cases=[s.case for s in stories],
        timing=summary.timing,
    )


def unaccounted(
    ledger: dict[str, SimCase], facts: dict[str, dict[str, Any]], tally: Tally
) -> list[str]:
    """Every case the crowd opened is one the engine has, opened and first answered when the
    crowd says (to within how far the server's clock may run on, `MAX_LAG`), and the engine has
    no other; every planned arrival was opened."""
    problems = []
    if tally.opened != tally.planned or len(ledger) != tally.opened:
        problems.append(
            f"{tally.planned} arrivals planned, {tally.opened} opened, {len(ledger)} followed"
        )
    for case_id in sorted(set(facts) - set(ledger)):
        problems.append(f"{case_id}: in the engine, never opened by the crowd")
    for case_id, case in sorted(ledger.items()):
        fact = facts.get(case_id)
        if fact is None:
            problems.append(f"{case_id}: opened by the crowd, unknown to the engine")
            continue
        sent = case.opened_at + PHASE["open"]
        if not _within(_utc(fact["opened_at"]), sent):
            problems.append(
                f"{case_id}: opened at {_utc(fact['opened_at']):%a %H:%M:%S}, planned for "
                f"{sent:%a %H:%M:%S}"
            )
        answered = _utc(fact["responded_at"]) if fact["responded_at"] else None
        if (answered is None) != (case.first_response is None):
            problems.append(
                f"{case_id}: first response {answered or 'none'} in the engine, "
                f"{case.first_response or 'none'} by the crowd"
            )
        elif answered is not None and case.first_response is not None:
            if not _within(answered, case.first_response + PHASE["start"]):
                problems.append(
                    f"{case_id}: answered at {answered:%a %H:%M:%S}, by the crowd at "
                    f"{case.first_response + PHASE['start']:%a %H:%M:%S}"
                )
    return problems


def unheard(
    ledger: dict[str, SimCase],
    assigned: list[tuple[str, str, str, datetime]],
    ended: datetime,
) -> list[str]:
    """Every assignment the engine made (E1) reached the crowd: the case's visit at that level
    names the engineer the engine last chose there. One the crowd never heard would leave a
    case nobody works on, and its figures quietly wrong."""
    latest: dict[tuple[str, str], tuple[str, datetime]] = {}
    for case_id, level, engineer, at in assigned:
        latest[(case_id, level)] = (engineer, at)
    problems = []
    for (case_id, level), (engineer, at) in sorted(latest.items()):
        case = ledger.get(case_id)
        if case is None or at > ended - MAX_LAG:
            continue
        heard = {v.engineer for v in case.visits if v.level.value == level}
        if engineer not in heard:
            problems.append(
                f"{case_id}: the engine assigned it at {level} to {engineer} at "
                f"{at:%a %H:%M:%S}; the crowd never heard"
            )
    return problems


def _within(engine: datetime, sent: datetime) -> bool:
    return timedelta(0) <= engine - sent <= MAX_LAG


def _managers(rows: list[dict[str, Any]], passes: list[str], cases: set[str]) -> ManagerEscalations:
    passed: Counter[str] = Counter()
    for text in passes:
        match = _ESCALATION_ID.match(text)
        if match:
            passed[match[1]] += 1
    ladder: Counter[str] = Counter()
    result = ManagerEscalations()
    for row in rows:
        if row["case_id"] not in cases:
            continue
        if row["channel"] == "sla_breach":
            result.breach += 1
        else:
            result.escalate_now += 1
        step = (
            "unacknowledged"
            if row["acknowledged_at"] is None
            else str(passed.get(row["escalation_id"], 0))
        )
        ladder[step] += 1
    result.ladder = dict(sorted(ladder.items()))
    return result
