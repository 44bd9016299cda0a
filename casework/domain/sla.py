"""Service levels: the first-response targets (S1, S5) and the clock they run on (S2-S4).

Pure. The workflow asks this module when a case is due and whether it is in breach; it never
does the arithmetic itself, so a business-hours clock (U4) slots in as another `ServiceClock`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Protocol

from pydantic import AfterValidator, Field, model_validator

from casework.domain.business_calendar import BusinessCalendar, calendar_for
from casework.domain.catalogue import CATALOGUE
from casework.domain.durations import Duration, format_duration
from casework.domain.models import ClockSpec, Priority, SlaState, Strict, Tier
from casework.domain.tiers import (
    GOLD,
    MAX_TIERS,
    PLATINUM,
    PLATINUM_TERMS,
    UNSTATED_TERMS,
    TierRules,
    TierTerms,
)
from casework.domain.vocabulary import refused_at


class ServiceClock(Protocol):
    """How service time passes for a queue. `name` is stored on the case's SLA."""

    name: str

    def due(self, start: datetime, target: timedelta) -> datetime:
        """The instant at which `target` of service time has passed since `start`."""
        ...

    def paused_reason(self, at: datetime) -> str | None:
        """Why the clock is not running at `at`, or None when it runs."""
        ...

    def next_open(self, at: datetime) -> datetime:
        """`at` when the clock runs, else when it next starts running."""
        ...

    def service_time(self, start: datetime, end: datetime) -> timedelta:
        """Service time between two instants (zero when `end` is not after `start`)."""
        ...

    def next_change(self, at: datetime) -> datetime | None:
        """When the clock next starts or stops running after `at`; None if it never stops."""
        ...


class AroundTheClock:
    """S2: a 24x7 queue's clock runs around the clock (A2)."""

    name = "24x7"

    def due(self, start: datetime, target: timedelta) -> datetime:
        return start + target

    def paused_reason(self, at: datetime) -> str | None:
        return None

    def next_open(self, at: datetime) -> datetime:
        return at

    def service_time(self, start: datetime, end: datetime) -> timedelta:
        return max(end - start, timedelta(0))

    def next_change(self, at: datetime) -> datetime | None:
        return None


class BusinessHoursClock:
    """S2/U4: a business-hours service's clock runs only inside its windows."""

    name = "business_hours"

    def __init__(self, calendar: BusinessCalendar) -> None:
        self.calendar = calendar

    def due(self, start: datetime, target: timedelta) -> datetime:
        return self.calendar.add(start, target)

    def paused_reason(self, at: datetime) -> str | None:
        return self.calendar.closed_reason(at)

    def next_open(self, at: datetime) -> datetime:
        return self.calendar.next_open(at)

    def service_time(self, start: datetime, end: datetime) -> timedelta:
        return self.calendar.elapsed(start, end)

    def next_change(self, at: datetime) -> datetime | None:
        return self.calendar.next_change(at)


def calendar_of(spec: ClockSpec) -> BusinessCalendar:
    if spec.zone is None:
        raise ValueError("a business-hours clock needs the customer's zone")
    return calendar_for(spec.zone, spec.holidays)


def clock_for(spec: ClockSpec) -> ServiceClock:
    """The service clock an entitlement names (S2)."""
    if spec.kind == BusinessHoursClock.name:
        return BusinessHoursClock(calendar_of(spec))
    return AroundTheClock()


def _positive(delta: timedelta) -> timedelta:
    if delta <= timedelta(0):
        raise ValueError(f"must be a positive duration, not {format_duration(delta)}")
    return delta


def _every_priority(row: dict[Priority, timedelta]) -> dict[Priority, timedelta]:
    missing = [p.value for p in Priority if p not in row]
    if missing:
        raise ValueError(f"no target for {', '.join(missing)}; every tier needs P1, P2, P3")
    return row


PositiveDuration = Annotated[Duration, AfterValidator(_positive)]
TargetRow = Annotated[dict[Priority, PositiveDuration], AfterValidator(_every_priority)]
"""One tier's targets. Checked value by value, so that a refused policy file points at the
line of the bad target or the incomplete tier (`casework.yamlfiles`)."""


class UsCitizenSupportPolicy(Strict):
    """U4/U6: the add-on's calendar and its log-sharing approval gate."""

    federal_holidays: bool = Field(
        default=True, description="observe US federal holidays (the `holidays` library)"
    )
    vendor_holidays: list[date] = Field(
        default_factory=list, description="the vendor's own closed days, as YYYY-MM-DD"
    )
    approval_reminder_business_days: int = Field(default=1, ge=1, le=30)
    approval_expiry_business_days: int = Field(default=5, ge=1, le=60)

    @model_validator(mode="after")
    def _reminder_before_expiry(self) -> UsCitizenSupportPolicy:
        if self.approval_reminder_business_days >= self.approval_expiry_business_days:
            raise ValueError(
                "approval_reminder_business_days must be fewer than "
                "approval_expiry_business_days: the customer is reminded before the request expires"
            )
        return self


class SlaPolicy(Strict):
    """S5: the targets are data. `first_response_targets[tier][priority]`; the tiers named
    there are the tiers sold (A1), and `tiers` says what each is sold to and may buy (A1, A3;
    casework.domain.tiers)."""

    first_response_targets: dict[Tier, TargetRow] = Field(
        max_length=MAX_TIERS,
        description="S1: each tier sold, with its targets; a tier not named is not sold",
    )
    routing_retry: PositiveDuration = Field(
        default=timedelta(minutes=5),
        description="how long a case waits in its queue before routing is tried again",
    )
    us_citizen_support: UsCitizenSupportPolicy = Field(default_factory=UsCitizenSupportPolicy)
    partner_targets: dict[Tier, TargetRow] | None = Field(
        default=None,
        max_length=MAX_TIERS,
        description="P3: first-response targets of partner cases; the S1 table when absent",
    )
    tiers: dict[Tier, TierTerms] = Field(
        default_factory=dict,
        max_length=MAX_TIERS,
        description="A1/A3: what a sold tier is sold to (min_users) and the premium offerings "
        "it may buy; a tier not named: PLATINUM as S1 sells it (250 users, every premium "
        "offering), any other to any account with none",
    )
    escalation_acknowledge_within: PositiveDuration = Field(
        default=timedelta(minutes=15),
        description="E3: how long an Escalation Manager has to acknowledge before the next one",
    )
    premium_accept_within: PositiveDuration = Field(
        default=timedelta(minutes=15),
        description="A3: how long a premium expert has to accept a new case before it is "
        "routed normally",
    )

    @model_validator(mode="after")
    def _terms_of_sold_tiers(self) -> SlaPolicy:
        """A tier's terms and partner targets go with its targets: a tier is sold with them.
        Refused at the line of the tier that has none."""
        sold = self.first_response_targets
        if not sold:
            reason = (
                "names no tier, so the policy sells nothing: give it at least one tier with "
                "P1, P2, P3 (S1)"
            )
            raise refused_at("SlaPolicy", ("first_response_targets",), reason, sold)
        for field in ("tiers", "partner_targets"):
            for tier in getattr(self, field) or {}:
                if tier not in sold:
                    reason = (
                        f"{tier} has no first_response_targets, so it is not sold: give it "
                        f"first_response_targets.{tier}, or remove {field}.{tier}"
                    )
                    raise refused_at("SlaPolicy", (field, tier), reason, tier)
        return self

    def tier_rules(self) -> TierRules:
        """A1, A3: the tiers this policy sells, with their terms."""
        return TierRules({tier: self.terms_for(tier) for tier in self.first_response_targets})

    def terms_for(self, tier: Tier) -> TierTerms:
        return self.tiers.get(tier) or UNSTATED_TERMS.get(tier) or TierTerms()

    def targets_for(self, tier: Tier) -> dict[Priority, timedelta]:
        """S1: the tier's targets; ValueError for a tier this policy does not sell."""
        if tier not in self.first_response_targets:
            raise ValueError(
                f"the SLA policy does not sell {tier} (it sells "
                f"{', '.join(self.first_response_targets)})"
            )
        return dict(self.first_response_targets[tier])

    def partner_targets_for(self, tier: Tier) -> dict[Priority, timedelta]:
        """P3: a partner case's targets: `partner_targets` for its tier, else the S1 table."""
        table = self.partner_targets or {}
        return dict(table.get(tier) or self.targets_for(tier))


DEFAULT_POLICY = SlaPolicy(
    first_response_targets={
        GOLD: {
            Priority.P1: timedelta(minutes=30),
            Priority.P2: timedelta(hours=1),
            Priority.P3: timedelta(hours=8),
        },
        PLATINUM: {
            Priority.P1: timedelta(minutes=15),
            Priority.P2: timedelta(hours=1),
            Priority.P3: timedelta(hours=4),
        },
    },
    tiers={PLATINUM: PLATINUM_TERMS},
)
"""S1, as the service description states it; A1 and A3 for Platinum."""


def policy_with(
    targets: Mapping[str, Mapping[str, Any] | None] | None = None,
    *,
    every_tier: Mapping[str, Any] | None = None,
    **settings: Any,
) -> SlaPolicy:
    """A policy made in code (tests, benchmarks, scripts, the simulator's textbook): the
    default policy with changes, validated as a policy file is (S5). Durations as a file
    writes them ("2s", "1h") or timedeltas.

    `targets`: rows by tier, each merged priority by priority over the default policy's row
    of that tier (a tier it does not sell needs all three); None for a tier: a policy that
    does not sell it. `every_tier`: priorities set in every tier's row, after `targets`.
    `settings`: any other setting of the policy (`routing_retry="5s"`, `tiers={...}`)."""
    rows: dict[str, dict[str, Any]] = {
        tier: {p.value: t for p, t in row.items()}
        for tier, row in DEFAULT_POLICY.first_response_targets.items()
    }
    for tier, row in (targets or {}).items():
        if row is None:
            rows.pop(tier, None)
        else:
            rows[tier] = {**rows.get(tier, {}), **{str(p): t for p, t in row.items()}}
    for row in rows.values():
        row.update({str(p): t for p, t in (every_tier or {}).items()})
    terms = {t: terms for t, terms in DEFAULT_POLICY.tiers.items() if t in rows}
    return SlaPolicy.model_validate({"first_response_targets": rows, "tiers": terms, **settings})


def start_clock(opened_at: datetime, target: timedelta, clock: ServiceClock) -> SlaState:
    """S2: the clock starts when the case is opened."""
    return SlaState(target=target, due_at=clock.due(opened_at, target), clock=clock.name)


def retarget(
    sla: SlaState, opened_at: datetime, target: timedelta, clock: ServiceClock | None = None
) -> SlaState:
    """S4: the target is recomputed from the opening time under the new priority."""
    clock = clock or AroundTheClock()
    return sla.model_copy(update={"target": target, "due_at": clock.due(opened_at, target)})


FIRST_RESPONSE_ACTIONS = frozenset(a.name for a in CATALOGUE if a.tells_customer)
"""S2, our reading: the first response is the first thing the engineer who owns the case says
to the customer, of any kind: a response, a request for information, a comment, a request to
share logs, a Problem Report they are told of, or the resolution itself (as Zendesk's first
reply time and Salesforce's first-response milestone count the first public reply). What the
customer is not told does not count: a file attached, a note to the next level with an
escalation (E2), a priority change. The catalogue says which actions tell the customer."""


def is_first_response(action: str, by_owner: bool, sla: SlaState) -> bool:
    """S2: whether `action`, taken now, is the case's first response: the owning engineer's
    first act that tells the customer something (FIRST_RESPONSE_ACTIONS)."""
    return by_owner and action in FIRST_RESPONSE_ACTIONS and sla.responded_at is None


def is_running(sla: SlaState) -> bool:
    """The clock runs until the first response; a breach is recorded once (S3)."""
    return sla.responded_at is None and sla.breached_at is None


def is_breached_at(sla: SlaState, now: datetime) -> bool:
    """S3: at the target, not a moment before, an unanswered case is in breach."""
    return sla.responded_at is None and now >= sla.due_at


def remaining(sla: SlaState, now: datetime) -> timedelta | None:
    """Time left on a running clock; None once it has stopped."""
    if not is_running(sla):
        return None
    return max(sla.due_at - now, timedelta(0))


@dataclass(frozen=True)
class ClockReading:
    """S2-S4, U4: a case's first-response clock as read at one instant."""

    left: timedelta | None
    """Service time left until the due instant (zero once it has passed); None when the clock
    does not run (answered, breached, or the case stopped)."""
    paused: str | None
    """Why a running clock is paused at that instant (U4: outside the service's hours)."""


STOPPED = ClockReading(left=None, paused=None)


def read_clock(sla: SlaState, clock: ServiceClock, now: datetime) -> ClockReading:
    """The clock as it reads at `now`: computed from the due instant and `now`, never a figure
    kept from an earlier moment (a case's own answer is as of its last step). On a
    business-hours clock (U4) the time left is service time, so outside the hours it stays
    what it was at closing, and the clock says it is paused."""
    if not is_running(sla):
        return STOPPED
    return ClockReading(left=clock.service_time(now, sla.due_at), paused=clock.paused_reason(now))
