"""What a director reads from one run, computed from each case's story (`CaseStory`: the
crowd's visits, in whole minutes, and the engine's breach flag). Pure.

- **service level**: the share of judged cases answered within target. At the first level it is
  the engine's own verdict on the first response (S1, S2: not breached); at a later level our
  reading: the engineer started on the case within the priority's target after it got there
  (E2). A case still waiting at the end and not yet late is not judged.
- **wait**: from arriving at a level (opening, or the escalation) to an engineer starting on
  it, not to its assignment (a case waits in an engineer's backlog too). A case Customer Care
  holds for triage waits at the next level, from its opening. `p_wait`: the share that waited
  at all (a minute or more).
- **time to resolution**: opening to resolution, for the cases resolved at that level.
- **occupancy**: at each level, the engineers' busy minutes over their minutes on shift.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from casework.domain.models import Level, Priority, Tier
from casework.domain.tiers import GOLD, PLATINUM
from casework.simulation.messages import SimCase, Visit
from casework.simulation.plan import Roster

LEVELS = [level.value for level in Level]
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
SHIFT_STEP = timedelta(minutes=15)
Targets = Callable[[Tier, Priority], timedelta]


class CaseStory(BaseModel):
    """One case: the crowd's record of it, with the engine's verdict on its first response."""

    case: SimCase


class Figures(BaseModel):
    """One row: a queue, level, tier and priority; a level; a priority; an hour of the week."""

    group: str
    cases: int = 0
    judged: int = 0
    within_target: int = 0
    awaiting: int = 0
    service_level: float | None = None
    mean_wait: float | None = None
    p90_wait: float | None = None
    p_wait: float | None = None
    resolved: int = 0
    mean_resolution: float | None = None
    p90_resolution: float | None = None
    occupancy: float | None = None
    engineers: float | None = None
    """Engineers on shift on average (levels only)."""


class HourFigures(BaseModel):
    day: str
    hour: int
    first_response: Figures
    occupancy: dict[str, float | None] = Field(default_factory=dict)


class Breakdown(BaseModel):
    first_response: list[Figures]
    """By tier and priority, then all: the SLA's view (S1)."""
    visits: list[Figures]
    """By queue, level, tier and priority: each level's waits, escalated cases' included."""
    levels: list[Figures]
    """By level, with occupancy."""
    escalated: list[Figures]
    """Cases that climbed (E2) against those resolved where they started."""
    hours: list[HourFigures]
    """By the hour of the week the case opened in (the load's zone)."""


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest rank; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(len(ordered) * p / 100))
    return ordered[rank - 1]


def _minutes(delta: timedelta) -> float:
    return delta / timedelta(minutes=1)


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _figures(
    group: str, judged_rows: Iterable[tuple[bool | None, float | None, float | None]]
) -> Figures:
    """Rows of (within target or None when not judged, wait or None when not started, time to
    resolution or None)."""
    rows = list(judged_rows)
    verdicts = [v for v, _, _ in rows if v is not None]
    waits = [w for _, w, _ in rows if w is not None]
    resolutions = [r for _, _, r in rows if r is not None]
    within = sum(1 for v in verdicts if v)
    return Figures(
        group=group,
        cases=len(rows),
        judged=len(verdicts),
        within_target=within,
        awaiting=len(rows) - len(verdicts),
        service_level=_round(within / len(verdicts), 4) if verdicts else None,
        mean_wait=_round(statistics.fmean(waits), 2) if waits else None,
        p90_wait=percentile(waits, 90),
        p_wait=_round(sum(1 for w in waits if w > 0) / len(waits), 4) if waits else None,
        resolved=len(resolutions),
        mean_resolution=_round(statistics.fmean(resolutions), 2) if resolutions else None,
        p90_resolution=percentile(resolutions, 90),
    )


def _first_row(story: CaseStory) -> tuple[bool | None, float | None, float | None]:
    """The first response: the engine's verdict (S1, S2), the wait until it, the resolution."""
    case = story.case
    verdict = False if case.breached else (True if case.first_response is not None else None)
    wait = (
        _minutes(case.first_response - case.opened_at) if case.first_response is not None else None
    )
    return verdict, wait, _resolution(case)


def _resolution(case: SimCase) -> float | None:
    return _minutes(case.resolved - case.opened_at) if case.resolved is not None else None


def visit_row(
    story: CaseStory, index: int, end: datetime, targets: Targets
) -> tuple[bool | None, float | None, float | None]:
    case, visit = story.case, story.case.visits[index]
    resolution = _resolution(case) if visit.outcome == "resolved" else None
    if index == 0 and visit.outcome != "passed_up":
        verdict, wait, _ = _first_row(story)
        return verdict, wait, resolution
    target = targets(case.tier, case.priority)
    if visit.started is not None:
        waited = visit.started - visit.arrived
        return waited <= target, _minutes(waited), resolution
    if end - visit.arrived > target:
        return False, None, resolution
    return None, None, resolution


def counted_visits(case: SimCase) -> list[int]:
    """The visits that wait for an engineer: not Customer Care's triage hold (its wait is
    counted at the next level)."""
    return [i for i, v in enumerate(case.visits) if v.outcome != "passed_up"]


def breakdown(
    stories: list[CaseStory],
    roster: Roster,
    start: datetime,
    end: datetime,
    zone: str,
    targets: Targets,
    ended: datetime,
) -> Breakdown:
    """The figures of one run: cases opened in [start, end), followed until `ended`."""
    by_priority: dict[str, list[tuple[bool | None, float | None, float | None]]] = defaultdict(list)
    by_visit: dict[tuple[str, str, str, str], list] = defaultdict(list)  # type: ignore[type-arg]
    by_level: dict[str, list] = defaultdict(list)  # type: ignore[type-arg]
    by_climb: dict[str, list] = defaultdict(list)  # type: ignore[type-arg]
    by_hour: dict[int, list] = defaultdict(list)  # type: ignore[type-arg]
    local = ZoneInfo(zone)
    for story in stories:
        case = story.case
        first = _first_row(story)
        by_priority[f"{case.tier} {case.priority.value}"].append(first)
        by_priority["all"].append(first)
        opened = case.opened_at.astimezone(local)
        by_hour[opened.weekday() * 24 + opened.hour].append(first)
        climbed = any(v.outcome == "escalated" for v in case.visits)
        by_climb["escalated" if climbed else "resolved where it started"].append(first)
        for index in counted_visits(case):
            visit = case.visits[index]
            row = visit_row(story, index, ended, targets)
            key = (visit.queue, visit.level.value, case.tier, case.priority.value)
            by_visit[key].append(row)
            by_level[visit.level.value].append(row)
    busy, staffed = _occupancy(stories, roster, start, end, local)
    levels = []
    for level in LEVELS:
        if level not in by_level and not staffed[level]:
            continue
        figures = _figures(level, by_level.get(level, []))
        minutes_on_shift = sum(staffed[level].values())
        figures.engineers = _round(minutes_on_shift / _minutes(end - start), 2)
        figures.occupancy = _round(
            sum(busy[level].values()) / minutes_on_shift if minutes_on_shift else None, 4
        )
        levels.append(figures)
    tiers = {t: i for i, t in enumerate((PLATINUM, GOLD))}  # then any other tier, by name
    return Breakdown(
        first_response=[
            _figures(k, v)
            for k, v in sorted(
                by_priority.items(),
                key=lambda kv: (kv[0] == "all", tiers.get(kv[0].split()[0], 9), kv[0]),
            )
        ],
        visits=[
            _figures(" ".join(k), v)
            for k, v in sorted(
                by_visit.items(),
                key=lambda kv: (LEVELS.index(kv[0][1]), kv[0][0], tiers.get(kv[0][2], 9), kv[0][3]),
            )
        ],
        levels=levels,
        escalated=[_figures(k, v) for k, v in sorted(by_climb.items())],
        hours=[
            HourFigures(
                day=DAYS[h // 24],
                hour=h % 24,
                first_response=_figures(f"{DAYS[h // 24]} {h % 24:02d}", by_hour.get(h, [])),
                occupancy={
                    level: _round(busy[level].get(h, 0.0) / staffed[level][h], 4)
                    if staffed[level].get(h)
                    else None
                    for level in LEVELS
                    if staffed[level]
                },
            )
            for h in range(7 * 24)
        ],
    )


def _occupancy(
    stories: list[CaseStory], roster: Roster, start: datetime, end: datetime, local: ZoneInfo
) -> tuple[dict[str, dict[int, float]], dict[str, dict[int, float]]]:
    """Busy and on-shift engineer-minutes per level and hour of the week, inside [start,
    end)."""
    staffed: dict[str, dict[int, float]] = {level: defaultdict(float) for level in LEVELS}
    at = start
    step = _minutes(SHIFT_STEP)
    while at < end:
        hour = _hour_of_week(at, local)
        for engineer in roster.engineers:
            if engineer.shift.covers(at):
                staffed[engineer.level.value][hour] += step
        at += SHIFT_STEP
    busy: dict[str, dict[int, float]] = {level: defaultdict(float) for level in LEVELS}
    for story in stories:
        for visit in story.case.visits:
            if visit.started is None or visit.outcome == "passed_up":
                continue
            _spread(busy[visit.level.value], visit, start, end, local)
    return busy, staffed


def _spread(
    hours: dict[int, float], visit: Visit, start: datetime, end: datetime, local: ZoneInfo
) -> None:
    """Add a visit's busy minutes, clipped to [start, end), to the hours they fall in."""
    assert visit.started is not None
    begin = max(visit.started, start)
    until = min(visit.finished or end, end)
    while begin < until:
        next_hour = begin.replace(minute=0) + timedelta(hours=1)
        piece = min(next_hour, until)
        hours[_hour_of_week(begin, local)] += _minutes(piece - begin)
        begin = piece


def _hour_of_week(at: datetime, local: ZoneInfo) -> int:
    there = at.astimezone(local)
    return there.weekday() * 24 + there.hour
