"""`casework simulate` is right where the textbook is: one queue, Poisson arrivals,
exponential service, c engineers on shift around the clock, first response = start of service
(Customer Care triage holds the one shared queue, casework.simulation.textbook). The real
engine runs each case (intake, routing E1, the S2 clock, escalation E2 to L1); the share of
cases that waited and their mean wait must agree with Erlang C within the run's statistical
error, and must not agree with Erlang C for one engineer fewer (more, for one): the check
can fail.

The statistical error is by batch means: the cases after a warm-up, in arrival order, cut into
BATCHES batches; the error of the mean is the batches' standard deviation over sqrt(BATCHES),
and agreement is within Z of them (Student's t, 99%), plus the clock's drift (the
time-skipping server's clock runs on in real time while the engine works: well under a second
a case)."""

from __future__ import annotations

import statistics
from datetime import timedelta

import pytest

from casework.simulation.erlang import ErlangC
from casework.simulation.results import CaseRecord
from casework.simulation.run import RunSpec, simulate
from casework.simulation.textbook import textbook_directory, textbook_load, textbook_policy

BATCHES = 6
Z = 4.03
"""Student's t for BATCHES - 1 = 5 degrees of freedom, 99% two-sided: so few batches estimate
the error loosely, and the bound says so."""
WARM_UP = 0.1
"""The share of the first cases left out: the run starts with nobody waiting."""
WAITED = timedelta(seconds=30)
"""A case waited if its first response came later than this after it opened (the clock's
drift while the engine works is well under it)."""
DRIFT_HOURS = 1 / 3600
"""At most a second of drift per case in the mean wait."""

POINTS = [
    # (arrivals an hour, services an hour per engineer, engineers, days, seed)
    pytest.param(0.5, 1.0, 1, 19, 11, id="M/M/1 rho=0.5"),
    pytest.param(0.8, 1.0, 2, 12, 12, id="M/M/2 rho=0.4"),
    pytest.param(1.5, 1.0, 3, 7, 13, id="M/M/3 rho=0.5"),
]


def waits(cases: list[CaseRecord]) -> list[float]:
    """Hours from opening to first response, in arrival order, after the warm-up."""
    answered = sorted((c for c in cases if c.responded_at), key=lambda c: c.opened_at)
    assert len(answered) == len(cases), "every case of the textbook run gets its response"
    hours = [(c.responded_at - c.opened_at) / timedelta(hours=1) for c in answered]  # type: ignore[operator]
    return hours[int(len(hours) * WARM_UP) :]


def batch_mean_and_error(values: list[float]) -> tuple[float, float]:
    size = len(values) // BATCHES
    means = [statistics.fmean(values[i * size : (i + 1) * size]) for i in range(BATCHES)]
    return statistics.fmean(values[: size * BATCHES]), statistics.stdev(means) / BATCHES**0.5


def agrees(simulated: float, error: float, predicted: float, slack: float = 0.0) -> bool:
    return abs(simulated - predicted) <= Z * error + slack


@pytest.mark.timeout(600)
@pytest.mark.parametrize(("arrival_rate", "service_rate", "servers", "days", "seed"), POINTS)
async def test_the_textbook_queue_agrees_with_erlang_c(
    arrival_rate: float, service_rate: float, servers: int, days: int, seed: int
) -> None:
    result = await simulate(
        RunSpec(
            textbook_directory(servers),
            textbook_policy(),
            textbook_load(arrival_rate, service_rate),
            days=days,
            seed=seed,
        )
    )
    assert result.tally.refused == 0, result.tally.refusals
    hours = waits(result.cases)
    assert len(hours) >= 180, f"too few cases for a check: {len(hours)}"
    waited = [1.0 if h > WAITED / timedelta(hours=1) else 0.0 for h in hours]
    p_wait, p_error = batch_mean_and_error(waited)
    mean_wait, wait_error = batch_mean_and_error(hours)
    textbook = ErlangC(arrival_rate, service_rate, servers)
    seen = (
        f"simulated P(wait) {p_wait:.3f} ± {p_error:.3f}, mean wait {mean_wait:.3f} h "
        f"± {wait_error:.3f} over {len(hours)} cases; Erlang C: "
        f"{textbook.probability_of_waiting:.3f}, {textbook.mean_wait:.3f} h"
    )
    assert agrees(p_wait, p_error, textbook.probability_of_waiting), seen
    assert agrees(mean_wait, wait_error, textbook.mean_wait, DRIFT_HOURS), seen
    # The check can fail: the textbook with one engineer fewer (more, for one engineer)
    # predicts other waits, and the same run refuses it on P(wait) or on the mean wait.
    wrong = ErlangC(arrival_rate, service_rate, servers - 1 if servers > 1 else 2)
    assert not (
        agrees(p_wait, p_error, wrong.probability_of_waiting)
        and agrees(mean_wait, wait_error, wrong.mean_wait, DRIFT_HOURS)
    ), f"{seen}; with {wrong.servers} engineers: {wrong.probability_of_waiting:.3f}, " + (
        f"{wrong.mean_wait:.3f} h"
    )
