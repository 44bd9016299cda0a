"""The textbook queue without the engine, to judge a simulation run of it: the FIFO M/M/c
recursion on given arrival and service times (each case starts when it arrives or when the
first engineer frees up, whichever is later), and the spread of a run's P(wait) and mean wait
over many replications of the same design (rates, engineers, number of cases, warm-up): the
statistical error of a run that long, warm-up bias included. Pure."""

from __future__ import annotations

import heapq
import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

WAITED_HOURS = 30 / 3600
"""A case waited if its first response came later than this after it opened."""


def fifo_waits(arrivals: Sequence[float], services: Sequence[float], servers: int) -> list[float]:
    """Each case's wait in a first-come-first-served queue with `servers` engineers; times in
    hours, arrivals in order."""
    free = [0.0] * servers
    heapq.heapify(free)
    waits = []
    for arrived, service in zip(arrivals, services, strict=True):
        start = max(arrived, heapq.heappop(free))
        heapq.heappush(free, start + service)
        waits.append(start - arrived)
    return waits


def after_warm_up(waits: Sequence[float], warm_up: float) -> list[float]:
    return list(waits[int(len(waits) * warm_up) :])


def statistics_of(waits: Sequence[float]) -> tuple[float, float]:
    """P(wait) and the mean wait (hours)."""
    return sum(1 for w in waits if w > WAITED_HOURS) / len(waits), statistics.fmean(waits)


@dataclass(frozen=True)
class Spread:
    """How far a run's P(wait) and mean wait stray from `expected` (Erlang C's) in
    `quantile` of the replications."""

    p_wait: float
    mean_wait: float


def spread(
    arrival_rate: float,
    service_rate: float,
    servers: int,
    cases: int,
    warm_up: float,
    expected: tuple[float, float],
    replications: int = 1000,
    quantile: float = 0.99,
    seed: int = 0,
) -> Spread:
    source = random.Random(seed)
    p_errors, mean_errors = [], []
    for _ in range(replications):
        clock, arrivals = 0.0, []
        for _ in range(cases):
            clock += source.expovariate(arrival_rate)
            arrivals.append(clock)
        services = [source.expovariate(service_rate) for _ in range(cases)]
        p, mean = statistics_of(after_warm_up(fifo_waits(arrivals, services, servers), warm_up))
        p_errors.append(abs(p - expected[0]))
        mean_errors.append(abs(mean - expected[1]))
    rank = min(replications - 1, int(quantile * replications))
    return Spread(sorted(p_errors)[rank], sorted(mean_errors)[rank])
