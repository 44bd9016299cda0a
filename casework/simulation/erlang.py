"""Erlang C: the textbook M/M/c queue (Poisson arrivals at rate `arrival_rate`, exponential
service at rate `service_rate` per engineer, `servers` engineers sharing one FIFO queue).
Pure; rates in any one unit of time (per hour, say), waits in the same unit.

The probability of waiting is computed with the Erlang B recursion (no factorials, so it holds
for hundreds of servers): B(0) = 1, B(k) = a·B(k-1) / (k + a·B(k-1)), a = λ/μ; then
C = B / (1 - ρ(1 - B)) with ρ = a / c. The mean wait of all cases is C / (cμ - λ).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class ErlangC:
    arrival_rate: float
    service_rate: float
    servers: int

    def __post_init__(self) -> None:
        if self.arrival_rate <= 0 or self.service_rate <= 0 or self.servers < 1:
            raise ValueError("arrival and service rates must be positive, servers at least 1")
        if self.utilisation >= 1:
            raise ValueError(
                f"utilisation {self.utilisation:.2f} >= 1: the queue grows without bound"
            )

    @property
    def offered_load(self) -> float:
        return self.arrival_rate / self.service_rate

    @property
    def utilisation(self) -> float:
        return self.offered_load / self.servers

    @property
    def probability_of_waiting(self) -> float:
        a, blocking = self.offered_load, 1.0
        for k in range(1, self.servers + 1):
            blocking = a * blocking / (k + a * blocking)
        return blocking / (1 - self.utilisation * (1 - blocking))

    @property
    def mean_wait(self) -> float:
        """Mean wait in the queue over all cases (those that wait and those that do not)."""
        return self.probability_of_waiting / (self.servers * self.service_rate - self.arrival_rate)

    def wait_exceeds(self, t: float) -> float:
        """P(wait > t) = C·exp(-(cμ - λ)t)."""
        return self.probability_of_waiting * math.exp(
            -(self.servers * self.service_rate - self.arrival_rate) * t
        )

    def service_level(self, target: float) -> float:
        """The share of cases whose wait is at most `target`: 1 - P(wait > target)."""
        return 1 - self.wait_exceeds(target)


MAX_SERVERS = 10_000


def fewest_servers(arrival_rate: float, service_rate: float, target: float, goal: float) -> int:
    """The textbook's staffing answer: the fewest engineers for which at least `goal` of the
    cases wait at most `target` (the unit of the rates)."""
    servers = math.floor(arrival_rate / service_rate) + 1
    while ErlangC(arrival_rate, service_rate, servers).service_level(target) < goal:
        servers += 1
        if servers > MAX_SERVERS:
            raise ValueError(f"more than {MAX_SERVERS} engineers: check the rates")
    return servers
