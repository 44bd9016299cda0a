"""`casework simulate` is right where the textbook is: one queue, Poisson arrivals,
exponential service, c engineers on shift around the clock, first response = start of service
(Customer Care triage holds the one shared queue, casework.simulation.textbook). The real
engine runs every case (intake, routing E1, the S2 clock, the escalation E2 to L1, resolve,
close), driven by the crowd.

Two checks per (λ, μ, c) point:
- exact: each case's wait in the run equals the first-come-first-served M/M/c recursion on the
  same seeded arrival and service times, within the clock's drift (the time-skipping server's
  clock runs on in real time while the engine works, under a second a handoff);
- statistical: the run's P(wait) and mean wait agree with Erlang C within the statistical error
  of a run that long (how far 99% of 1,000 replications of the same design stray from Erlang C,
  casework.simulation.textbook_check), and the same run refuses Erlang C for one engineer fewer
  (more, for one engineer): the check can fail.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from casework.domain.models import Level
from casework.simulation.erlang import ErlangC
from casework.simulation.plan import arrivals_for_day, service_time
from casework.simulation.results import CaseRecord
from casework.simulation.run import RunSpec, roster_of, simulate
from casework.simulation.textbook import textbook_directory, textbook_load, textbook_policy
from casework.simulation.textbook_check import after_warm_up, fifo_waits, spread, statistics_of

WARM_UP = 0.1
"""The share of the first cases left out: the run starts with nobody waiting."""
DRIFT = timedelta(minutes=2)
"""How far a case's wait may stray from the recursion's: the clock's drift, summed along a
busy period."""

POINTS = [
    # (arrivals an hour, services an hour per engineer, engineers, days, seed)
    pytest.param(0.5, 1.0, 1, 19, 11, id="M/M/1 rho=0.5"),
    pytest.param(0.8, 1.0, 2, 12, 12, id="M/M/2 rho=0.4"),
    pytest.param(1.5, 1.0, 3, 7, 13, id="M/M/3 rho=0.5"),
]


def waits_in_order(cases: list[CaseRecord]) -> list[float]:
    """Hours from opening to first response, in case number order (= arrival order)."""
    assert all(c.responded_at for c in cases), "every case of the textbook run is answered"
    ordered = sorted(cases, key=lambda c: c.case_id)
    return [(c.responded_at - c.opened_at) / timedelta(hours=1) for c in ordered]  # type: ignore[operator]


@pytest.mark.timeout(600)
@pytest.mark.parametrize(("arrival_rate", "service_rate", "servers", "days", "seed"), POINTS)
async def test_the_textbook_queue_agrees_with_erlang_c(
    arrival_rate: float, service_rate: float, servers: int, days: int, seed: int
) -> None:
    directory, load = textbook_directory(servers), textbook_load(arrival_rate, service_rate)
    result = await simulate(RunSpec(directory, textbook_policy(), load, days=days, seed=seed))
    assert result.tally.refused == 0, result.tally.refusals
    run = waits_in_order(result.cases)

    arrivals = [
        arrival
        for day in range(days)
        for arrival in arrivals_for_day(load, roster_of(directory), seed, day, result.start)
    ]
    assert len(arrivals) == len(run) >= 200
    hours = [(a.at - result.start) / timedelta(hours=1) for a in arrivals]
    services = [
        service_time(load, seed, f"case-{n:06d}", Level.L1, 0) / timedelta(hours=1)
        for n in range(1, len(arrivals) + 1)
    ]
    recursion = fifo_waits(hours, services, servers)
    drift = max(abs(a - b) for a, b in zip(run, recursion, strict=True))
    assert drift <= DRIFT / timedelta(hours=1), f"a wait strays {drift * 3600:.0f} s"

    p_wait, mean_wait = statistics_of(after_warm_up(run, WARM_UP))
    kept = len(run) - int(len(run) * WARM_UP)

    def error(engineers: int) -> tuple[ErlangC, float, float]:
        textbook = ErlangC(arrival_rate, service_rate, engineers)
        expected = (textbook.probability_of_waiting, textbook.mean_wait)
        bound = spread(arrival_rate, service_rate, engineers, len(run), WARM_UP, expected)
        return textbook, bound.p_wait, bound.mean_wait

    textbook, p_bound, mean_bound = error(servers)
    seen = (
        f"run: P(wait) {p_wait:.3f}, mean wait {mean_wait:.3f} h over {kept} cases; Erlang C "
        f"{textbook.probability_of_waiting:.3f} ± {p_bound:.3f}, {textbook.mean_wait:.3f} h "
        f"± {mean_bound:.3f}"
    )
    assert abs(p_wait - textbook.probability_of_waiting) <= p_bound, seen
    assert abs(mean_wait - textbook.mean_wait) <= mean_bound, seen

    wrong, p_bound, mean_bound = error(servers - 1 if servers > 1 else 2)
    assert (
        abs(p_wait - wrong.probability_of_waiting) > p_bound
        or abs(mean_wait - wrong.mean_wait) > mean_bound
    ), f"{seen}; with {wrong.servers} engineers {wrong.probability_of_waiting:.3f}"
