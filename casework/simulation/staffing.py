"""`casework simulate --staff`: the fewest engineers per shift and level that keep every
priority within target for `goal` of the cases (a workforce tool's number), found by running
the real engine on rosters with engineers added and taken away.

The roster's engineers fall into groups: a level, a shift, and whether they work only the US
citizen queue (U2). A group is judged at its level, on the visits that arrived there while it was
on shift: for each priority, the share within target (casework.simulation.figures: the first
response by the engine's verdict, S1; a later level by the wait for an engineer) must be at
least `goal`, averaged over the replications (a priority with fewer than `MIN_JUDGED` such
visits over all of them is too rare to judge and does not count). The search:

1. the roster as it is, and each group with one engineer fewer, at once (in parallel);
2. while some group misses the goal, one more engineer in each group that misses it;
3. while taking one engineer from some group keeps every group within the goal, the one that
   leaves the most room, again and again.

Every roster is run on the same seeds (the same arrivals and draws), so rosters differ only by
their engineers. An added engineer is a copy of the group's own (skills, shift, citizenship).
Where the textbook applies (one queue held by triage, one level around the clock, Poisson
arrivals, exponential service, no escalation beyond it) Erlang C's answer is given beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from pydantic import BaseModel, Field
from rich import box
from rich.console import Group as RenderGroup
from rich.table import Table
from rich.text import Text

from casework.domain.directory import Directory, Engineer, Shift
from casework.domain.models import Level
from casework.domain.us_citizen import RESTRICTED_QUEUE
from casework.simulation.erlang import fewest_servers
from casework.simulation.figures import CaseStory, counted_visits, visit_row
from casework.simulation.load import check_against
from casework.simulation.progress import run_with_progress
from casework.simulation.results import SimulationResult
from casework.simulation.run import RunSpec
from casework.simulation.stats import Estimate, estimate
from casework.yamlfiles import FileRefused

MIN_JUDGED = 10
MAX_ROUNDS = 40
MAX_EXTRA = 50
"""Engineers a group may grow by before the search gives up."""
Staffing = tuple[int, ...]


class GroupAnswer(BaseModel):
    group: str
    level: Level
    shift: str
    us_citizen_queue: bool
    roster: int
    needed: int
    service_level: dict[str, Estimate] = Field(default_factory=dict)
    """Per priority, at the answer's staffing."""


class Trial(BaseModel):
    staffing: dict[str, int]
    passed: bool | None
    """None: the roster cannot carry the load at all (nobody able at some level)."""
    missed: list[str] = Field(default_factory=list)
    service_level: dict[str, dict[str, Estimate]] = Field(default_factory=dict)
    """Per group and priority: the share within target, over the replications."""
    runs: list[dict[str, Any]] = Field(default_factory=list)
    """With `--cases`: each run's figures and cases."""


class TextbookAnswer(BaseModel):
    group: str
    engineers: int
    arrivals_per_hour: float
    services_per_hour: float
    target_minutes: float


class StaffingAnswer(BaseModel):
    label: str
    goal: float
    days: int
    seeds: list[int]
    met: bool
    groups: list[GroupAnswer]
    trials: list[Trial]
    erlang_c: TextbookAnswer | None = None


def shift_label(shift: Shift) -> str:
    days = "every day" if len(shift.days) == 7 else ",".join(shift.days)
    hours = "all day" if shift.start == shift.end else f"{shift.start:%H:%M}-{shift.end:%H:%M}"
    return f"{days} {hours} {shift.zone}"


class Groups:
    """The roster's engineers by level, shift and queue, and rosters with other counts."""

    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        self.members: dict[str, list[Engineer]] = {}
        for engineer in directory.engineers:
            if engineer.partner is not None:
                continue
            us = " US citizen queue" if engineer.restricted_queue_only else ""
            key = f"{engineer.level.value} {shift_label(engineer.shift)}{us}"
            self.members.setdefault(key, []).append(engineer)
        self.keys = sorted(self.members, key=lambda k: (k[:2], k))
        self.roster: Staffing = tuple(len(self.members[k]) for k in self.keys)

    def directory_for(self, staffing: Staffing) -> Directory:
        engineers = [e for e in self.directory.engineers if e.partner is not None]
        for key, count in zip(self.keys, staffing, strict=True):
            own = self.members[key]
            for n in range(count):
                model = own[n % len(own)]
                if n < len(own):
                    engineers.append(model)
                else:
                    engineers.append(
                        model.model_copy(
                            update={"id": f"{model.id}-x{n}", "name": f"{model.name} ({n + 1})"}
                        )
                    )
        return self.directory.model_copy(update={"engineers": engineers})

    def named(self, staffing: Staffing) -> dict[str, int]:
        return dict(zip(self.keys, staffing, strict=True))


def _verdicts(
    results: Sequence[SimulationResult], groups: Groups, spec: RunSpec, key: str
) -> dict[str, Estimate]:
    """Per priority, the share within target of the visits at the group's level that arrived
    while it was on shift, over the replications."""
    engineers = groups.members[key]
    level, shift, us = engineers[0].level, engineers[0].shift, engineers[0].restricted_queue_only
    per_priority: dict[str, list[float | None]] = {}
    judged: dict[str, int] = {}
    for result in results:
        counts: dict[str, list[int]] = {}
        for case in result.cases:
            for index in counted_visits(case):
                visit = case.visits[index]
                if visit.level is not level or (visit.queue == RESTRICTED_QUEUE) != us:
                    continue
                if not shift.covers(visit.arrived):
                    continue
                verdict, _, _ = visit_row(CaseStory(case=case), index, result.ended, _target(spec))
                if verdict is None:
                    continue
                tally = counts.setdefault(case.priority.value, [0, 0])
                tally[0] += int(verdict)
                tally[1] += 1
        for priority in ("P1", "P2", "P3"):
            within, total = counts.get(priority, [0, 0])
            per_priority.setdefault(priority, []).append(within / total if total else None)
            judged[priority] = judged.get(priority, 0) + total
    return {p: estimate(v) for p, v in per_priority.items() if judged[p] >= MIN_JUDGED}


def _target(spec: RunSpec):  # type: ignore[no-untyped-def]
    def target(tier, priority):  # type: ignore[no-untyped-def]
        return spec.policy.targets_for(tier)[priority]

    return target


class Search:
    def __init__(
        self, spec: RunSpec, replications: int, jobs: int, goal: float, quiet: bool, cases: bool
    ) -> None:
        self.spec, self.goal, self.jobs, self.quiet, self.cases = spec, goal, jobs, quiet, cases
        self.seeds = [spec.seed + n for n in range(replications)]
        self.groups = Groups(spec.directory)
        self.known: dict[Staffing, tuple[bool | None, dict[str, dict[str, Estimate]]]] = {}
        self.trials: list[Trial] = []

    def feasible(self, staffing: Staffing) -> bool:
        try:
            check_against(self.spec.load, "", "load", self.groups.directory_for(staffing))
        except FileRefused:
            return False
        return True

    def evaluate(self, candidates: Sequence[Staffing]) -> None:
        todo = [c for c in dict.fromkeys(candidates) if c not in self.known]
        runnable = []
        for staffing in todo:
            if self.feasible(staffing):
                runnable.append(staffing)
            else:
                self.known[staffing] = (None, {})
                self.trials.append(Trial(staffing=self.groups.named(staffing), passed=None))
        specs = [
            replace(
                self.spec,
                directory=self.groups.directory_for(staffing),
                seed=seed,
                label=f"{self.spec.label} {list(staffing)}",
            )
            for staffing in runnable
            for seed in self.seeds
        ]
        results = run_with_progress(specs, self.jobs, quiet=self.quiet) if specs else []
        n = len(self.seeds)
        for i, staffing in enumerate(runnable):
            runs = results[i * n : (i + 1) * n]
            verdicts = {
                key: _verdicts(runs, self.groups, self.spec, key) for key in self.groups.keys
            }
            missed = [
                f"{key} {priority} {value.mean * 100:.0f}%"
                for key, per in verdicts.items()
                for priority, value in per.items()
                if value.mean is not None and value.mean < self.goal
            ]
            self.known[staffing] = (not missed, verdicts)
            self.trials.append(
                Trial(
                    staffing=self.groups.named(staffing),
                    passed=not missed,
                    missed=missed,
                    service_level=verdicts,
                    runs=[_run_json(r) for r in runs] if self.cases else [],
                )
            )

    def passed(self, staffing: Staffing) -> bool | None:
        return self.known[staffing][0]

    def room(self, staffing: Staffing) -> float:
        """How far the tightest group and priority stays above the goal."""
        values = [
            v.mean
            for per in self.known[staffing][1].values()
            for v in per.values()
            if v.mean is not None
        ]
        return min(values, default=1.0) - self.goal

    def fewer(self, staffing: Staffing) -> list[Staffing]:
        return [
            staffing[:i] + (staffing[i] - 1,) + staffing[i + 1 :]
            for i in range(len(staffing))
            if staffing[i] > 0
        ]

    def more(self, staffing: Staffing) -> Staffing:
        verdicts = self.known[staffing][1]
        return tuple(
            count + (1 if any((v.mean or 0) < self.goal for v in verdicts[key].values()) else 0)
            for key, count in zip(self.groups.keys, staffing, strict=True)
        )


def _run_json(result: SimulationResult) -> dict[str, Any]:
    data = result.model_dump(mode="json")
    data["cases"] = [c.model_dump(mode="json") for c in result.cases]
    return data


def search(
    spec: RunSpec,
    replications: int,
    jobs: int,
    goal: float,
    quiet: bool = False,
    cases: bool = False,
) -> StaffingAnswer:
    run = Search(spec, replications, jobs, goal, quiet, cases)
    current = run.groups.roster
    run.evaluate([current, *run.fewer(current)])
    rounds = 0
    limit = tuple(c + MAX_EXTRA for c in current)
    while run.passed(current) is False and rounds < MAX_ROUNDS:
        bigger = run.more(current)
        if bigger == current or any(b > m for b, m in zip(bigger, limit, strict=True)):
            break
        current, rounds = bigger, rounds + 1
        run.evaluate([current])
    met = bool(run.passed(current))
    while met and rounds < MAX_ROUNDS:
        candidates = run.fewer(current)
        run.evaluate(candidates)
        passing = [c for c in candidates if run.passed(c)]
        if not passing:
            break
        current, rounds = max(passing, key=lambda c: (run.room(c), c)), rounds + 1
    return _answer(run, current, met)


def _answer(run: Search, staffing: Staffing, met: bool) -> StaffingAnswer:
    verdicts = run.known[staffing][1]
    groups = []
    for key, roster, needed in zip(run.groups.keys, run.groups.roster, staffing, strict=True):
        model = run.groups.members[key][0]
        groups.append(
            GroupAnswer(
                group=key,
                level=model.level,
                shift=shift_label(model.shift),
                us_citizen_queue=model.restricted_queue_only,
                roster=roster,
                needed=needed,
                service_level=verdicts.get(key, {}),
            )
        )
    return StaffingAnswer(
        label=run.spec.label,
        goal=run.goal,
        days=run.spec.days,
        seeds=run.seeds,
        met=met,
        groups=groups,
        trials=run.trials,
        erlang_c=textbook_answer(run.spec, run.groups, run.goal),
    )


def textbook_answer(spec: RunSpec, groups: Groups, goal: float) -> TextbookAnswer | None:
    """Erlang C's answer when the roster and load are the textbook's queue (see the module)."""
    load = spec.load
    if not load.triage or len(load.arrivals) != 1 or load.escalate_now.probability > 0:
        return None
    stream = load.arrivals[0]
    service = load.service.get(Level.L1)
    if service is None or service.distribution != "exponential" or load.escalation_for(Level.L1):
        return None
    if isinstance(stream.per_hour, dict) or stream.per_hour <= 0:
        return None
    l1 = [k for k in groups.keys if groups.members[k][0].level is Level.L1]
    if len(l1) != 1 or shift_label(groups.members[l1[0]][0].shift) != shift_label(Shift()):
        return None
    account = next((a for a in spec.directory.accounts if a.id == stream.account), None)
    tier = account.tier if account is not None else stream.tier
    assert tier is not None
    target = spec.policy.targets_for(tier)[stream.priority]
    services = 3600 / service.mean.total_seconds()
    hours = target.total_seconds() / 3600
    if stream.per_hour >= 1000 * services:
        return None
    return TextbookAnswer(
        group=l1[0],
        engineers=fewest_servers(stream.per_hour, services, hours, goal),
        arrivals_per_hour=stream.per_hour,
        services_per_hour=services,
        target_minutes=target.total_seconds() / 60,
    )


def staffing_table(answer: StaffingAnswer) -> RenderGroup:
    runs = len(answer.seeds)
    title = (
        f"{answer.label}: the fewest engineers per level and shift keeping P1/P2/P3 within "
        f"target for {answer.goal * 100:.0f}% of cases ({answer.days} days, {runs} "
        f"replication{'s' if runs > 1 else ''} per roster, {len(answer.trials)} rosters tried)"
    )
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 1))
    for name in ("level and shift", "roster", "needed", "P1", "P2", "P3"):
        table.add_column(
            name, no_wrap=True, justify="left" if name.startswith("level") else "right"
        )
    for group in answer.groups:
        cells = []
        for priority in ("P1", "P2", "P3"):
            value = group.service_level.get(priority)
            if value is None or value.mean is None:
                cells.append("-")
                continue
            spread = "" if value.half_width is None else f" ±{value.half_width * 100:.0f}"
            cells.append(f"{value.mean * 100:.0f}%{spread}")
        table.add_row(group.group[:60], str(group.roster), str(group.needed), *cells)
    lines: list[Table | Text] = [table]
    if not answer.met:
        lines.append(Text("No roster tried met the goal: see the trials in --output json."))
    if answer.erlang_c is not None:
        e = answer.erlang_c
        lines.append(
            Text(
                f"Erlang C (the textbook queue: {e.arrivals_per_hour:g} cases an hour, "
                f"{e.services_per_hour:g} an hour per engineer, target {e.target_minutes:g} min): "
                f"{e.engineers} engineers for {e.group}."
            )
        )
    return RenderGroup(*lines)
