"""What a run shows and how it knows it is true (pure, no server): waits run to the start of
service, occupancy is busy over staffed time, each figure over replications has its interval and
a comparison says what is noise; a case the crowd and the engine do not agree on, a clock that
jumps, stop the run; the tables fit 120 columns; `--staff`'s rosters and its Erlang C answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console

from casework.domain.directory import Directory
from casework.domain.models import Level, Priority, Tier
from casework.domain.sla import DEFAULT_POLICY
from casework.domain.tiers import PLATINUM
from casework.simulation.clock import MARGIN, MAX_LAG, PHASE
from casework.simulation.crowd_rules import jumped, note_lag
from casework.simulation.figures import CaseStory, breakdown
from casework.simulation.messages import SimCase, Tally, Timing, Visit
from casework.simulation.plan import Roster, RosterEngineer
from casework.simulation.report import summary_tables
from casework.simulation.results import ManagerEscalations, SimulationResult, unaccounted
from casework.simulation.run import RunSpec
from casework.simulation.staffing import Groups, textbook_answer
from casework.simulation.stats import compare, estimate, summarise
from casework.simulation.textbook import textbook_directory, textbook_load, textbook_policy

MONDAY = datetime(2026, 11, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)


def case(
    n: int, opened: datetime, visits: list[Visit], priority: Priority = Priority.P3, **more: object
) -> SimCase:
    first = next((v.started for v in visits if v.outcome != "passed_up"), None)
    return SimCase(
        case_id=f"case-{n:06d}",
        account_id="acme",
        contact_id="acme-alice",
        tier=PLATINUM,
        priority=priority,
        level=visits[-1].level,
        opened_at=opened,
        product="FortiGate",
        visits=visits,
        first_response=first,
        **more,  # type: ignore[arg-type]
    )


def roster(*levels: Level) -> Roster:
    from casework.domain.directory import Shift

    return Roster(
        engineers=[
            RosterEngineer(id=f"e{i}", level=level, skills=["FortiGate"], shift=Shift())
            for i, level in enumerate(levels)
        ],
        accounts=[],
        products=["FortiGate"],
    )


def figures_of(cases: list[SimCase], staff: Roster, days: int = 1):  # type: ignore[no-untyped-def]
    end = MONDAY + timedelta(days=days)

    def target(tier: Tier, priority: Priority) -> timedelta:
        return DEFAULT_POLICY.targets_for(tier)[priority]

    return breakdown([CaseStory(case=c) for c in cases], staff, MONDAY, end, "UTC", target, end)


def test_a_wait_runs_to_the_start_of_service_not_to_the_assignment() -> None:
    """Assigned at once, started three hours later (behind other work in the engineer's
    backlog): that is a three-hour wait, and later than P3 Platinum's four hours is not."""
    at = MONDAY + 9 * HOUR
    late = case(
        1,
        at,
        [
            Visit(level=Level.L0, queue="customer-care", arrived=at, assigned=at, engineer="e0",
                  started=at + 3 * HOUR, finished=at + 4 * HOUR, outcome="escalated"),
            Visit(level=Level.L1, queue="gsc", arrived=at + 4 * HOUR, assigned=at + 4 * HOUR,
                  started=at + 9 * HOUR, finished=at + 10 * HOUR, outcome="resolved"),
        ],
        resolved=at + 10 * HOUR,
    )  # fmt: skip
    at_once = case(
        2,
        at,
        [Visit(level=Level.L0, queue="customer-care", arrived=at, started=at,
               finished=at + HOUR, outcome="resolved")],
        resolved=at + HOUR,
    )  # fmt: skip
    shown = figures_of([late, at_once], roster(Level.L0, Level.L1))
    every = {f.group: f for f in shown.first_response}["all"]
    assert (every.mean_wait, every.p_wait, every.service_level) == (90.0, 0.5, 1.0)
    assert every.mean_resolution == (600 + 60) / 2
    levels = {f.group: f for f in shown.levels}
    assert levels["L1"].mean_wait == 300 and levels["L1"].service_level == 0.0  # 5 h > 4 h
    escalated = {f.group: f for f in shown.escalated}
    assert escalated["escalated"].cases == 1 and escalated["escalated"].mean_resolution == 600
    visits = {f.group: f for f in shown.visits}
    assert visits["gsc L1 PLATINUM P3"].mean_resolution == 600  # resolved there
    assert visits["customer-care L0 PLATINUM P3"].resolved == 1


def test_the_first_response_is_judged_by_the_engine_and_a_triage_hold_waits_at_the_next_level() -> (
    None
):
    at = MONDAY + 2 * HOUR
    held = case(
        1,
        at,
        [
            Visit(level=Level.L0, queue="customer-care", arrived=at, started=at, finished=at,
                  outcome="passed_up"),
            Visit(level=Level.L1, queue="gsc", arrived=at, started=at + 2 * HOUR,
                  finished=at + 3 * HOUR, outcome="resolved"),
        ],
        breached=True,
        resolved=at + 3 * HOUR,
    )  # fmt: skip
    shown = figures_of([held], roster(Level.L0, Level.L1))
    every = {f.group: f for f in shown.first_response}["all"]
    assert every.service_level == 0.0 and every.mean_wait == 120  # the engine said: breached
    levels = {f.group: f for f in shown.levels}
    assert levels["L0"].cases == 0 and levels["L1"].mean_wait == 120
    hour = next(h for h in shown.hours if h.day == "Mon" and h.hour == 2)
    assert hour.first_response.cases == 1 and hour.first_response.service_level == 0.0


def test_occupancy_is_the_busy_share_of_the_time_on_shift() -> None:
    at = MONDAY + 6 * HOUR
    busy = case(
        1,
        at,
        [Visit(level=Level.L1, queue="gsc", arrived=at, started=at, finished=at + 6 * HOUR,
               outcome="resolved")],
        resolved=at + 6 * HOUR,
    )  # fmt: skip
    shown = figures_of([busy], roster(Level.L1, Level.L1))
    l1 = {f.group: f for f in shown.levels}["L1"]
    assert l1.engineers == 2.0 and l1.occupancy == 0.125  # 6 h of 48 engineer-hours
    hour = next(h for h in shown.hours if h.day == "Mon" and h.hour == 7)
    assert hour.occupancy["L1"] == 0.5  # one of two engineers, the whole hour


def result_with(levels: list[float], seed: int) -> SimulationResult:
    at = MONDAY + HOUR
    cases = [
        case(n, at, [Visit(level=Level.L0, queue="customer-care", arrived=at,
                           started=at + timedelta(minutes=w), finished=at + 2 * HOUR,
                           outcome="resolved")], resolved=at + 2 * HOUR)
        for n, w in enumerate(levels, start=1)
    ]  # fmt: skip
    return SimulationResult(
        label="r",
        seed=seed,
        start=MONDAY,
        end=MONDAY + timedelta(days=1),
        ended=MONDAY + timedelta(days=1),
        tally=Tally(opened=len(cases), planned=len(cases)),
        figures=figures_of(cases, roster(Level.L0)),
        managers=ManagerEscalations(),
        cases=cases,
    )


def test_each_figure_over_replications_has_its_95_percent_interval() -> None:
    assert estimate([0.8, 0.9, 1.0]).model_dump() == {"mean": 0.9, "half_width": 0.2484, "n": 3}
    assert estimate([0.5]).half_width is None and estimate([None, None]).mean is None
    runs = [result_with([0, 10, 20], 1), result_with([0, 20, 40], 2), result_with([0, 30, 60], 3)]
    every = {r.group: r.figures for r in summarise(runs).first_response}["all"]
    assert every["mean_wait"].mean == 20 and every["mean_wait"].half_width == pytest.approx(
        24.84, abs=0.01
    )


def test_a_comparison_says_which_differences_are_inside_the_noise() -> None:
    first = [result_with([0, 10, 20], 1), result_with([0, 20, 40], 2), result_with([5, 30, 60], 3)]
    noisy = [result_with([0, 12, 20], 1), result_with([0, 18, 40], 2), result_with([5, 30, 60], 3)]
    faster = [result_with([0, 5, 15], 1), result_with([0, 15, 35], 2), result_with([5, 25, 55], 3)]
    by = {(d.group, d.figure): d for d in compare(first, noisy)}
    assert by[("all", "mean_wait")].inside_noise is True
    by = {(d.group, d.figure): d for d in compare(first, faster)}
    change = by[("all", "mean_wait")]
    assert change.inside_noise is False and change.difference.mean == pytest.approx(-3.33, 0.01)


def test_the_tables_with_intervals_fit_120_columns() -> None:
    runs = [result_with([0, 10, 20], 1), result_with([0, 20, 40], 2)]
    console = Console(width=400, record=True)
    console.print(summary_tables("a-long-roster-name", summarise(runs), runs))
    lines = console.export_text().splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 120, max(lines, key=len)
    assert any("±" in line for line in lines)


def test_a_case_the_crowd_and_the_engine_do_not_agree_on_is_named() -> None:
    at = MONDAY + HOUR
    visits = [Visit(level=Level.L0, queue="customer-care", arrived=at, started=at)]
    crowd = {"case-000001": case(1, at, visits), "case-000002": case(2, at, visits)}
    fact = {
        "opened_at": at + PHASE["open"] + timedelta(seconds=1),
        "responded_at": at + PHASE["start"],
    }
    facts = {
        "case-000001": fact,
        "case-000002": {**fact, "opened_at": at + timedelta(minutes=20)},
        "case-000003": fact,
    }
    tally = Tally(planned=3, opened=2)
    assert unaccounted(crowd, facts, tally) == [
        "3 arrivals planned, 2 opened, 2 followed",
        "case-000003: in the engine, never opened by the crowd",
        "case-000002: opened at Mon 01:20:00, planned for Mon 01:00:08",
    ]
    assert unaccounted({"case-000001": crowd["case-000001"]}, {"case-000001": fact}, Tally(
        planned=1, opened=1)) == []  # fmt: skip


def test_a_clock_that_runs_far_past_an_act_or_moves_more_than_an_act_took_stops_the_run() -> None:
    timing = Timing()
    assert note_lag(timing, timedelta(seconds=3)) == ""
    assert note_lag(timing, MARGIN + timedelta(seconds=1)) == ""
    assert (timing.acts, timing.late_acts) == (2, 1)  # slow, not wrong: said, not stopped
    assert "jumped 1 day, 0:00:00" in note_lag(timing, timedelta(days=1))
    assert note_lag(Timing(), MAX_LAG) == ""
    assert jumped(timedelta(seconds=40), 30.0) == ""
    assert "moved 0:30:00 in an act that took 2.0 s" in jumped(timedelta(minutes=30), 2.0)


def test_staffing_rosters_copy_the_groups_own_engineers(directory: Directory) -> None:
    groups = Groups(directory)
    l1 = [k for k in groups.keys if k.startswith("L1") and "US citizen" not in k]
    assert l1, groups.keys
    index = groups.keys.index(l1[0])
    bigger = list(groups.roster)
    bigger[index] += 2
    grown = groups.directory_for(tuple(bigger))
    ids = [e.id for e in grown.engineers]
    assert len(ids) == len(set(ids)) == len(directory.engineers) + 2
    copies = [e for e in grown.engineers if "-x" in e.id]
    assert {e.level for e in copies} == {Level.L1}
    originals = {e.id: e for e in directory.engineers}
    for copy in copies:
        assert copy.shift == originals[copy.id.rsplit("-x", 1)[0]].shift


def test_staff_gives_erlang_cs_answer_beside_its_own_where_the_textbook_applies() -> None:
    spec = RunSpec(textbook_directory(3), textbook_policy(), textbook_load(2.5, 1.0), 1, 1)
    policy = textbook_policy(target=HOUR)
    answer = textbook_answer(
        RunSpec(spec.directory, policy, spec.load, 1, 1), Groups(spec.directory), 0.8
    )
    assert answer is not None and answer.engineers == 4 and answer.target_minutes == 60
    customers_escalate = spec.load.escalate_now.model_copy(update={"probability": 0.1})
    with_escalations = spec.load.model_copy(update={"escalate_now": customers_escalate})
    assert (
        textbook_answer(
            RunSpec(spec.directory, policy, with_escalations, 1, 1), Groups(spec.directory), 0.8
        )
        is None
    )
