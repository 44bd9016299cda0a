"""The load file of `casework simulate`: who opens cases when, how long engineers take, how
often cases climb the ladder and customers Escalate Now. Pure (no Temporal, no I/O beyond
reading the file).

```yaml
zone: UTC                      # the zone the hour windows below are in
arrivals:                      # Poisson streams; per_hour is the rate in each hour of the week
  - {account: acme, priority: P1, product: FortiGate, channel: web, per_hour: 0.2}
  - tier: GOLD                 # any GOLD account of the roster, one drawn per case
    priority: P3
    product: FortiManager
    channel: phone
    per_hour: {default: 0.5, "mon-fri 08-18": 3}
service:                       # one engineer's handling time per level
  L0: {distribution: exponential, mean: 20m}
  L1: {distribution: lognormal, mean: 1h, sigma: 0.8}
escalation: {L0: 0.3, L1: 0.2, L2: 0.1}   # chance the engineer escalates instead of resolving
escalate_now: {probability: 0.02, after: 2h}
escalation_managers: {acknowledge: {distribution: exponential, mean: 10m}}
triage: false
```

`check_against` refuses what the roster cannot carry (an unknown product or account, a
stream whose cases nobody on the roster could ever take) with the file's line and the reason.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator, model_validator

from casework.domain.directory import WEEKDAYS, Directory
from casework.domain.durations import Duration
from casework.domain.models import Category, Level, Priority, Strict, Tier
from casework.domain.routing import first_level, required_skills
from casework.domain.us_citizen import restricted_member_refusal
from casework.yamlfiles import FileRefused, compose, parse_model, read_text

MAX_STREAMS = 500
MAX_RATE_PER_HOUR = 1000.0
"""Cases an hour from one stream; a week at that rate is 168,000 cases, more than any run
here could carry."""
LEVELS = list(Level)
_WINDOW = re.compile(
    r"^(?P<days>[a-z]{3}(?:-[a-z]{3})?)(?:\s+(?P<start>\d{1,2})-(?P<end>\d{1,2}))?$"
)


def _positive(delta: timedelta) -> timedelta:
    if delta <= timedelta(0):
        raise ValueError("must be longer than zero")
    return delta


Probability = Annotated[float, Field(ge=0.0, le=1.0)]
MAX_WINDOWS = 50


class Distribution(Strict):
    """How long something takes: exponential with its mean, or log-normal with its mean and
    shape `sigma` (the standard deviation of the logarithm)."""

    distribution: Literal["exponential", "lognormal"] = "exponential"
    mean: Duration
    sigma: float | None = Field(default=None, gt=0.0, le=5.0)

    @field_validator("mean")
    @classmethod
    def _mean_positive(cls, mean: timedelta) -> timedelta:
        if mean > timedelta(days=30):
            raise ValueError("must be at most 30 days")
        return _positive(mean)

    @model_validator(mode="after")
    def _shape(self) -> Distribution:
        if self.distribution == "lognormal" and self.sigma is None:
            raise ValueError("a lognormal distribution needs sigma (e.g. sigma: 0.8)")
        if self.distribution == "exponential" and self.sigma is not None:
            raise ValueError("sigma is for a lognormal distribution only")
        return self


def _hour_windows(value: object) -> object:
    if isinstance(value, dict):
        for key in value:
            if key != "default" and not _WINDOW.match(str(key).strip().lower()):
                raise ValueError(
                    f"{key!r} is not an hour window; write default, mon, mon-fri or "
                    "'mon-fri 08-18' (hours 0-24 in the file's zone)"
                )
            if str(key) != "default":
                match = _WINDOW.match(str(key).strip().lower())
                assert match is not None
                for day in match["days"].split("-"):
                    if day not in WEEKDAYS:
                        raise ValueError(f"{key!r}: {day!r} is not a day; days are {WEEKDAYS}")
                if match["start"] is not None and not (
                    0 <= int(match["start"]) < int(match["end"]) <= 24
                ):
                    raise ValueError(f"{key!r}: hours must run forward, from 0 to 24")
    return value


class Stream(Strict):
    """One Poisson stream of cases: an account (or any account of a tier), a priority, a
    product, a channel, and its rate per hour (one number, or by hour window)."""

    account: str | None = None
    tier: Tier | None = None
    priority: Priority
    product: str = Field(min_length=1, max_length=200)
    channel: Literal["web", "phone"] = "web"
    category: Category = Category.SUPPORT
    per_hour: float | dict[str, float]

    @field_validator("per_hour", mode="before")
    @classmethod
    def _rates(cls, value: object) -> object:
        """Cases per hour: one number, or one per hour window; each from 0 to the bound."""
        rates = value if isinstance(value, dict) else {"": value}
        if not rates or len(rates) > MAX_WINDOWS:
            raise ValueError(f"give 1 to {MAX_WINDOWS} hour windows")
        for key, rate in rates.items():
            where = f"{key!r}: " if key else ""
            if isinstance(rate, bool) or not isinstance(rate, int | float):
                raise ValueError(f"{where}a rate is a number of cases per hour, not {rate!r}")
            if not 0 <= rate <= MAX_RATE_PER_HOUR:
                raise ValueError(
                    f"{where}a rate is cases per hour, from 0 to {MAX_RATE_PER_HOUR:g}; not {rate}"
                )
        return _hour_windows(value)

    @model_validator(mode="after")
    def _one_of_account_or_tier(self) -> Stream:
        if (self.account is None) == (self.tier is None):
            raise ValueError("give an account or a tier (any account of that tier), not both")
        return self

    def rate(self, at: datetime, zone: ZoneInfo) -> float:
        """Cases per hour at `at` (the hour window it falls in, in `zone`)."""
        if not isinstance(self.per_hour, dict):
            return float(self.per_hour)
        local = at.astimezone(zone)
        day = WEEKDAYS[local.weekday()]
        for key, rate in self.per_hour.items():
            match = _WINDOW.match(key.strip().lower())
            if match is None:
                continue
            first, _, last = match["days"].partition("-")
            days = WEEKDAYS[WEEKDAYS.index(first) : WEEKDAYS.index(last or first) + 1]
            if day not in days:
                continue
            if match["start"] is None or int(match["start"]) <= local.hour < int(match["end"]):
                return float(rate)
        return float(self.per_hour.get("default", 0.0))


class EscalateNow(Strict):
    """E3: a customer escalates online `after` this long if the case is still open, with this
    probability per case."""

    probability: Probability = 0.0
    after: Duration = timedelta(hours=2)

    @field_validator("after")
    @classmethod
    def _after_positive(cls, after: timedelta) -> timedelta:
        if after > timedelta(days=30):
            raise ValueError("must be at most 30 days")
        return _positive(after)


class Managers(Strict):
    """E3: how long an Escalation Manager takes to acknowledge an escalation alerted to them
    (longer than the policy's window, and the ladder passes it on)."""

    acknowledge: Distribution = Distribution(mean=timedelta(minutes=10))


class LoadFile(Strict):
    zone: str = "UTC"
    arrivals: list[Stream] = Field(min_length=1, max_length=MAX_STREAMS)
    service: dict[Level, Distribution]
    escalation: dict[Level, Probability] = Field(default_factory=dict)
    escalate_now: EscalateNow = EscalateNow()
    escalation_managers: Managers = Managers()
    triage: bool = Field(
        default=False,
        description="Customer Care (L0) keeps one shared queue and passes each case up "
        "(escalates it) as soon as an engineer of the next level is free; the first response "
        "is then that engineer's",
    )

    @field_validator("zone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        try:
            ZoneInfo(zone)
        except (KeyError, ValueError):
            raise ValueError(f"unknown time zone {zone!r}; write an IANA name like UTC") from None
        return zone

    @field_validator("escalation")
    @classmethod
    def _below_top(cls, escalation: dict[Level, float]) -> dict[Level, float]:
        if escalation.get(Level.L3, 0.0) > 0:
            raise ValueError("L3 is the top of the ladder (E2): it cannot escalate further")
        return escalation

    @field_validator("arrivals")
    @classmethod
    def _some_cases(cls, arrivals: list[Stream]) -> list[Stream]:
        if arrivals and all(_peak_rate(s) == 0 for s in arrivals):
            raise ValueError(
                "every rate is 0, so no case would arrive; give at least one stream a rate "
                "above 0 (cases per hour)"
            )
        return arrivals

    @model_validator(mode="after")
    def _triage_needs_a_next_level(self) -> LoadFile:
        if self.triage and any(s.category is not Category.SUPPORT for s in self.arrivals):
            raise ValueError("triage holds Customer Care's queue: security cases skip it (A5)")
        return self

    def service_for(self, level: Level) -> Distribution:
        return self.service[level]

    def escalation_for(self, level: Level) -> float:
        return self.escalation.get(level, 0.0)

    def levels_reached(self, stream: Stream) -> list[Level]:
        """The levels a stream's cases can reach: the first (E1, A5), then each next one while
        the level below escalates some of them (E2); with triage, L0 always hands up."""
        level = first_level(stream.category)
        reached = [level]
        while level is not Level.L3 and (
            self.escalation_for(level) > 0 or (self.triage and level is Level.L0)
        ):
            level = LEVELS[LEVELS.index(level) + 1]
            reached.append(level)
        return reached


def _stream_lines(text: str) -> list[int]:
    """The 1-based line of each entry of `arrivals` (the text was read by `read_load`)."""
    try:
        root = compose(text, "")
    except FileRefused:
        return []
    if getattr(root, "id", None) != "mapping":
        return []
    for key, value in root.value:
        if key.value == "arrivals" and getattr(value, "id", None) == "sequence":
            return [item.start_mark.line + 1 for item in value.value]
    return []


def _key_line(text: str, name: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith(f"{name}:"):
            return number
    return 1


def read_load(path: Path) -> tuple[LoadFile, str]:
    """The load file and its text; FileRefused with `file:line: path: reason` (a file that is
    not UTF-8 or writes a key twice included)."""
    text = read_text(path)
    return parse_model(text, LoadFile, str(path)), text


def check_against(load: LoadFile, text: str, source: str, directory: Directory) -> None:
    """Refuse, before anything runs, what the roster cannot carry: every problem with the
    file's line and the reason (FileRefused)."""
    lines = _stream_lines(text)
    problems: list[str] = []
    products = {p.casefold(): p for p in directory.products}
    accounts = {a.id: a for a in directory.accounts}
    for level in {lvl for s in load.arrivals for lvl in load.levels_reached(s)}:
        if level not in load.service:
            problems.append(
                f"{source}:{_key_line(text, 'service')}: service.{level.value}: cases reach "
                f"{level.value}, so give its service time (e.g. {level.value}: "
                "{distribution: exponential, mean: 1h})"
            )
    for index, stream in enumerate(load.arrivals):
        where = f"{source}:{lines[index] if index < len(lines) else 1}: arrivals.{index}"
        if stream.product.casefold() not in products:
            problems.append(
                f"{where}.product: unknown product {stream.product!r}; the roster's products "
                f"are {', '.join(directory.products)}"
            )
            continue
        if stream.account is not None:
            account = accounts.get(stream.account)
            if account is None:
                problems.append(
                    f"{where}.account: unknown account {stream.account!r}; the roster's "
                    f"accounts are {', '.join(accounts) or 'none'}"
                )
                continue
            chosen = [account]
        else:
            chosen = [a for a in directory.accounts if a.tier == stream.tier and a.partner is None]
            if not chosen:
                problems.append(f"{where}.tier: the roster has no direct {stream.tier} account")
                continue
        if any(a.partner is not None for a in chosen):
            problems.append(
                f"{where}.account: {stream.account} is Partner Branded Support: its partner "
                "opens its cases (P2), which the simulation does not model; leave it out"
            )
            continue
        if _peak_rate(stream) == 0:
            continue
        for account in chosen:
            gap = _nobody_for(load, stream, account.us_citizen_support, directory)
            if gap:
                problems.append(f"{where}: {gap}")
                break
    if problems:
        raise FileRefused("\n".join(problems))


def _peak_rate(stream: Stream) -> float:
    if isinstance(stream.per_hour, dict):
        return max(stream.per_hour.values())
    return float(stream.per_hour)


REFERENCE_WEEK = datetime(2026, 1, 5, tzinfo=UTC)
"""A Monday 00:00 UTC: the week whose hours the roster check walks."""


def _nobody_for(load: LoadFile, stream: Stream, restricted: bool, directory: Directory) -> str:
    """Why this stream's cases would find nobody to take them at a level they reach (E1, U2):
    nobody on the roster able to, or nobody able on shift in any hour of the week when the
    stream sends cases; '' if somebody is."""
    skills = required_skills(
        directory.product_named(stream.product) or stream.product, stream.category
    )
    members: set[str] = set()
    if restricted:
        allowed = set(directory.authorised_locations)
        members = {e.id for e in directory.engineers if not restricted_member_refusal(e, allowed)}
    zone = ZoneInfo(load.zone)
    busy_hours = [
        REFERENCE_WEEK + timedelta(hours=h, minutes=30)
        for h in range(7 * 24)
        if stream.rate(REFERENCE_WEEK + timedelta(hours=h, minutes=30), zone) > 0
    ]
    queue = "the US citizen queue" if restricted else "the {} queue"
    for level in load.levels_reached(stream):
        able = [
            e
            for e in directory.engineers
            if e.level is level
            and e.partner is None
            and all(e.has_skill(s) for s in skills)
            and (e.id in members if restricted else not e.restricted_queue_only)
        ]
        who = f"a {level.value} engineer with skills {', '.join(skills)}" + (
            " and verified US citizenship" if restricted else ""
        )
        where = queue.format(level.value)
        if not able:
            return (
                f"{where} gets these cases ({stream.product}, {stream.priority.value}) at "
                f"{level.value} but nobody on the roster can take them: add {who}"
            )
        if level is first_level(stream.category) and not any(
            e.shift.covers(at) for e in able for at in busy_hours
        ):
            return (
                f"{where} gets these cases ({stream.product}, {stream.priority.value}) but "
                f"nobody who can take them is on shift in any hour they arrive: add {who} on "
                "shift then, or change the hours"
            )
    return ""


def expected_cases(load: LoadFile, start: datetime, days: int) -> float:
    """The expected number of arrivals in the run (for the progress bar)."""
    zone = ZoneInfo(load.zone)
    total = 0.0
    for hour in range(days * 24):
        at = start + timedelta(hours=hour)
        total += sum(s.rate(at, zone) for s in load.arrivals)
    return total


def lognormal_mu(mean_seconds: float, sigma: float) -> float:
    """The log-scale location of a log-normal with this mean and shape."""
    return math.log(mean_seconds) - sigma * sigma / 2
