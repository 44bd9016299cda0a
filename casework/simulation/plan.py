"""Seeded draws for the simulated crowd: when cases arrive, how long an engineer takes, whether
a case climbs, when a customer escalates and a manager acknowledges. Pure, and passed through
into the crowd workflow: every draw comes from its own `random.Random` seeded by the run's
seed and what is drawn (`rng(seed, "service", case_id, visit)`), so a draw never depends on the
order the engine happened to answer in, and a run repeats exactly.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from casework.domain.directory import Shift
from casework.domain.models import Category, Level, Priority, Tier
from casework.domain.routing import first_level
from casework.simulation.clock import minutes
from casework.simulation.load import Distribution, LoadFile, lognormal_mu

SHIFT_STEP = timedelta(minutes=15)
"""How finely the crowd looks for the start of an engineer's next shift (shifts start on the
quarter hour in any roster we have seen)."""


class RosterEngineer(BaseModel):
    id: str
    level: Level
    skills: list[str]
    shift: Shift
    restricted_member: bool = False
    restricted_queue_only: bool = False


class RosterAccount(BaseModel):
    id: str
    tier: Tier
    contacts: list[str]
    restricted: bool = False


class Roster(BaseModel):
    """What the crowd knows of the directory: who works when, and who the customers are."""

    engineers: list[RosterEngineer]
    accounts: list[RosterAccount]
    products: list[str]
    phone_agent: str | None = Field(
        default=None, description="the Customer Care engineer who takes phone cases"
    )

    def engineer(self, engineer_id: str) -> RosterEngineer | None:
        return next((e for e in self.engineers if e.id == engineer_id), None)


class Arrival(BaseModel):
    at: datetime
    request_id: str
    account_id: str
    contact_id: str
    tier: Tier
    priority: Priority
    product: str
    channel: str
    category: Category
    restricted: bool = False
    escalate_now_at: datetime | None = None


def rng(seed: int, *parts: object) -> random.Random:
    return random.Random(":".join(str(p) for p in (seed, *parts)))


def draw(distribution: Distribution, source: random.Random) -> timedelta:
    """A duration drawn from `distribution`, in whole minutes (at least one: the simulation's
    resolution, casework.simulation.clock)."""
    mean = distribution.mean.total_seconds()
    if distribution.distribution == "exponential":
        seconds = source.expovariate(1.0 / mean)
    else:
        assert distribution.sigma is not None
        seconds = source.lognormvariate(lognormal_mu(mean, distribution.sigma), distribution.sigma)
    return minutes(timedelta(seconds=seconds))


def _poisson(mean: float, source: random.Random) -> int:
    """Knuth's method for small means, a normal approximation beyond (never reached by a
    support queue's hourly rate)."""
    if mean <= 0:
        return 0
    if mean > 500:
        return max(0, round(source.gauss(mean, math.sqrt(mean))))
    limit, k, product = math.exp(-mean), 0, source.random()
    while product > limit:
        k += 1
        product *= source.random()
    return k


def arrivals_for_day(
    load: LoadFile, roster: Roster, seed: int, day: int, start: datetime
) -> list[Arrival]:
    """The arrivals of day `day` of the run (from `start + day`), in time order: for each
    stream and hour, a Poisson number of cases at that hour's rate, each in a minute of the hour
    drawn uniformly."""
    zone = ZoneInfo(load.zone)
    by_tier: dict[Tier, list[RosterAccount]] = {}
    for account in roster.accounts:
        by_tier.setdefault(account.tier, []).append(account)
    accounts = {a.id: a for a in roster.accounts}
    products = {p.casefold(): p for p in roster.products}
    found: list[Arrival] = []
    for index, stream in enumerate(load.arrivals):
        source = rng(seed, "arrivals", day, index)
        for hour in range(24):
            begins = start + timedelta(days=day, hours=hour)
            for _ in range(_poisson(stream.rate(begins, zone), source)):
                at = begins + timedelta(minutes=source.randrange(60))
                if stream.account is not None:
                    account = accounts[stream.account]
                else:
                    assert stream.tier is not None
                    account = source.choice(by_tier[stream.tier])
                escalates = source.random() < load.escalate_now.probability
                found.append(
                    Arrival(
                        at=at,
                        request_id=f"sim-{day}-{index}-{len(found)}",
                        account_id=account.id,
                        contact_id=source.choice(account.contacts),
                        tier=account.tier,
                        priority=stream.priority,
                        product=products.get(stream.product.casefold(), stream.product),
                        channel=stream.channel,
                        category=stream.category,
                        restricted=account.restricted,
                        escalate_now_at=at + minutes(load.escalate_now.after)
                        if escalates
                        else None,
                    )
                )
    found.sort(key=lambda a: (a.at, a.request_id))
    return found


def service_time(load: LoadFile, seed: int, case_id: str, level: Level, visit: int) -> timedelta:
    return draw(load.service_for(level), rng(seed, "service", case_id, visit))


def escalates(load: LoadFile, seed: int, case_id: str, level: Level, visit: int) -> bool:
    if level is Level.L3:
        return False
    return rng(seed, "escalates", case_id, visit).random() < load.escalation_for(level)


def acknowledge_after(load: LoadFile, seed: int, alert_key: str) -> timedelta:
    return draw(load.escalation_managers.acknowledge, rng(seed, "acknowledge", alert_key))


def next_on_shift(
    shift: Shift, at: datetime, horizon: timedelta = timedelta(days=8)
) -> datetime | None:
    """The first quarter hour from `at` that `shift` covers, within `horizon`."""
    if shift.covers(at):
        return at
    step = at.replace(second=0, microsecond=0)
    step += timedelta(minutes=15 - step.minute % 15)
    limit = at + horizon
    while step <= limit:
        if shift.covers(step):
            return step
        step += SHIFT_STEP
    return None


NEXT_LEVEL = {Level.L0: Level.L1, Level.L1: Level.L2, Level.L2: Level.L3}
PRIORITY_ORDER = {Priority.P1: 0, Priority.P2: 1, Priority.P3: 2}


def first_level_of(category: Category) -> Level:
    return first_level(category)
