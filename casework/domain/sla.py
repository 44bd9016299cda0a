"""Service levels: the first-response targets (S1, S5) and the clock they run on (S2-S4).

Pure. The workflow asks this module when a case is due and whether it is in breach; it never
does the arithmetic itself, so a business-hours clock (U4) slots in as another `ServiceClock`.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Protocol

from pydantic import AfterValidator, Field, field_validator, model_validator

from casework.domain.business_calendar import BusinessCalendar, calendar_for
from casework.domain.durations import Duration, format_duration
from casework.domain.models import ClockSpec, Priority, SlaState, Strict, Tier


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
line of the bad target or the incomplete tier (`casework.files`)."""


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
    """S5: the targets are data. `first_response_targets[tier][priority]`."""

    first_response_targets: dict[Tier, TargetRow]
    routing_retry: PositiveDuration = Field(
        default=timedelta(minutes=5),
        description="how long a case waits in its queue before routing is tried again",
    )
    us_citizen_support: UsCitizenSupportPolicy = Field(default_factory=UsCitizenSupportPolicy)
    partner_targets: dict[Tier, TargetRow] | None = Field(
        default=None,
        description="P3: first-response targets of partner cases; the S1 table when absent",
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

    @field_validator("first_response_targets")
    @classmethod
    def _every_tier(
        cls, table: dict[Tier, dict[Priority, timedelta]]
    ) -> dict[Tier, dict[Priority, timedelta]]:
        for tier in Tier:
            if tier not in table:
                raise ValueError(f"no targets for tier {tier.value}; every tier needs P1, P2, P3")
        return table

    def targets_for(self, tier: Tier) -> dict[Priority, timedelta]:
        return dict(self.first_response_targets[tier])

    def partner_targets_for(self, tier: Tier) -> dict[Priority, timedelta]:
        """P3: a partner case's targets: `partner_targets` for its tier, else the S1 table."""
        table = self.partner_targets or {}
        return dict(table.get(tier) or self.first_response_targets[tier])


DEFAULT_POLICY = SlaPolicy(
    first_response_targets={
        Tier.GOLD: {
            Priority.P1: timedelta(minutes=30),
            Priority.P2: timedelta(hours=1),
            Priority.P3: timedelta(hours=8),
        },
        Tier.PLATINUM: {
            Priority.P1: timedelta(minutes=15),
            Priority.P2: timedelta(hours=1),
            Priority.P3: timedelta(hours=4),
        },
    }
)
"""S1, as the service description states it."""


def start_clock(opened_at: datetime, target: timedelta, clock: ServiceClock) -> SlaState:
    """S2: the clock starts when the case is opened."""
    return SlaState(target=target, due_at=clock.due(opened_at, target), clock=clock.name)


def retarget(
    sla: SlaState, opened_at: datetime, target: timedelta, clock: ServiceClock | None = None
) -> SlaState:
    """S4: the target is recomputed from the opening time under the new priority."""
    clock = clock or AroundTheClock()
    return sla.model_copy(update={"target": target, "due_at": clock.due(opened_at, target)})


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
