"""`casework simulate` is right where the textbook is, and `--staff` gives the textbook's
staffing answer there: one queue, Poisson arrivals, exponential service, c engineers on shift
around the clock, first response = start of service (Customer Care triage holds the one shared
queue, casework.simulation.textbook). The real engine runs every case (intake, routing E1, the
S2 clock, the escalation E2 to L1, resolve, close), driven by the crowd.

At two points, `--staff` starts from Erlang C's answer c and tries c-1 too; each test checks:
- the answer: the fewest engineers keeping 80% of cases within target is Erlang C's c (the
  search saw c meet the goal and c-1 miss it, through the engine);
- exact: in every run (c and c-1 engineers), each case's wait equals the first-come-first-served
  M/M/c recursion on the same seeded arrival and service times, to the minute (the simulation's
  resolution);
- statistical: the run with c engineers agrees with Erlang C on P(wait) and the mean wait
  within the statistical error of a run that long (how far 99% of 1,000 replications of the same
  design stray, casework.simulation.textbook_check), and refuses Erlang C for a neighbouring
  number of engineers (c-1 or c+1): the check can tell staffings apart, so it can fail.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from casework.domain.models import Level
from casework.simulation.erlang import ErlangC, fewest_servers
from casework.simulation.plan import arrivals_for_day, service_time
from casework.simulation.run import roster_of
from casework.simulation.textbook import textbook_directory, textbook_load
from casework.simulation.textbook_check import after_warm_up, fifo_waits, spread, statistics_of
from tests.simulate_cli import casework, write_textbook

pytestmark = pytest.mark.slow  # two textbook runs through the engine: minutes of CPU

WARM_UP = 0.1
"""The share of the first cases left out: the run starts with nobody waiting."""

POINTS = [
    # (arrivals an hour, services an hour per engineer, target, Erlang C's c, days, seed)
    pytest.param(0.8, 1.0, "1h", 2, 9, 12, id="c=2 (M/M/2 rho=0.4 against M/M/1 rho=0.8)"),
    pytest.param(1.5, 1.0, "30m", 3, 5, 13, id="c=3 (M/M/3 rho=0.5 against M/M/2 rho=0.75)"),
]


def waits_in_order(run: dict[str, Any]) -> list[float]:
    """Hours from opening to first response, in case number order (= arrival order)."""
    cases = sorted(run["cases"], key=lambda c: c["case_id"])
    assert all(c["first_response"] for c in cases), "every case of the textbook run is answered"
    return [
        (datetime.fromisoformat(c["first_response"]) - datetime.fromisoformat(c["opened_at"]))
        / timedelta(hours=1)
        for c in cases
    ]


def recursion(run: dict[str, Any], arrival_rate: float, service_rate: float, c: int) -> list[float]:
    """The FIFO M/M/c waits on the run's own draws."""
    directory, load = textbook_directory(c), textbook_load(arrival_rate, service_rate)
    start, seed = datetime.fromisoformat(run["start"]), run["seed"]
    days = (datetime.fromisoformat(run["end"]) - start).days
    arrivals = [
        arrival
        for day in range(days)
        for arrival in arrivals_for_day(load, roster_of(directory), seed, day, start)
    ]
    hours = [(a.at - start) / timedelta(hours=1) for a in arrivals]
    services = [
        service_time(load, seed, f"case-{n:06d}", Level.L1, 0) / timedelta(hours=1)
        for n in range(1, len(arrivals) + 1)
    ]
    return fifo_waits(hours, services, c)


@pytest.mark.timeout(400)
@pytest.mark.parametrize(
    ("arrival_rate", "service_rate", "target", "answer", "days", "seed"), POINTS
)
def test_staff_finds_erlang_cs_answer_and_every_wait_is_the_textbooks(
    tmp_path: Path,
    arrival_rate: float,
    service_rate: float,
    target: str,
    answer: int,
    days: int,
    seed: int,
) -> None:
    hours = int(target[:-1]) / (60 if target.endswith("m") else 1)
    assert fewest_servers(arrival_rate, service_rate, hours, 0.8) == answer
    files = write_textbook(tmp_path, arrival_rate, service_rate, answer, target)
    found = casework(
        "simulate", *files, "--days", str(days), "--seed", str(seed), "--staff",
        "--cases", "--jobs", "2", "--output", "json",
    ).json()  # fmt: skip
    l1 = next(g for g in found["groups"] if g["level"] == "L1")
    assert found["met"] and l1["needed"] == answer, found["trials"]
    assert found["erlang_c"]["engineers"] == answer
    tried = {t["staffing"][l1["group"]]: t for t in found["trials"] if t["passed"] is not None}
    assert set(tried) == {answer, answer - 1}
    assert tried[answer]["passed"] and not tried[answer - 1]["passed"]

    for engineers, trial in tried.items():
        (run,) = trial["runs"]
        assert run["tally"]["refused"] == 0, run["tally"]["refusals"]
        waits = waits_in_order(run)
        assert len(waits) >= 160
        expected = recursion(run, arrival_rate, service_rate, engineers)
        assert [round(w * 60) for w in waits] == [round(w * 60) for w in expected]

    run = tried[answer]["runs"][0]
    waits = waits_in_order(run)
    p_wait, mean_wait = statistics_of(after_warm_up(waits, WARM_UP))

    def error(engineers: int) -> tuple[ErlangC, float, float]:
        textbook = ErlangC(arrival_rate, service_rate, engineers)
        expected = (textbook.probability_of_waiting, textbook.mean_wait)
        bound = spread(arrival_rate, service_rate, engineers, len(waits), WARM_UP, expected)
        return textbook, bound.p_wait, bound.mean_wait

    textbook, p_bound, mean_bound = error(answer)
    seen = (
        f"run: P(wait) {p_wait:.3f}, mean wait {mean_wait:.3f} h over {len(waits)} cases; "
        f"Erlang C {textbook.probability_of_waiting:.3f} ± {p_bound:.3f}, "
        f"{textbook.mean_wait:.3f} h ± {mean_bound:.3f}"
    )
    assert abs(p_wait - textbook.probability_of_waiting) <= p_bound, seen
    assert abs(mean_wait - textbook.mean_wait) <= mean_bound, seen
    refused = []
    for neighbour in (answer - 1, answer + 1):
        wrong, p_bound, mean_bound = error(neighbour)
        if (
            abs(p_wait - wrong.probability_of_waiting) > p_bound
            or abs(mean_wait - wrong.mean_wait) > mean_bound
        ):
            refused.append(neighbour)
    assert refused, f"{seen}; neither {answer - 1} nor {answer + 1} engineers refused"
