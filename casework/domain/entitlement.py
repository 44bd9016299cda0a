"""What a case is entitled to (A1-A3, S1, U4): the service clock its SLA runs on, US Citizen
Support's terms, premium coverage, and the entitlement intake hands the case."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

from pydantic import Field

from casework.domain.vocabulary import Lenient, Priority, Tier


class ClockSpec(Lenient):
    """Which service clock a case's SLA runs on (S2): `24x7` for the Global Support Center;
    `business_hours` (U4) in the customer's zone, without federal and vendor holidays."""

    kind: Literal["24x7", "business_hours"] = "24x7"
    zone: str | None = None
    holidays: dict[date, str] = Field(
        default_factory=dict, description="the closed days, resolved at intake (U4)"
    )


class UsCitizenTerms(Lenient):
    """U6: how long a request to share logs with engineering waits, in business days."""

    approval_reminder_business_days: int = 1
    approval_expiry_business_days: int = 5


class PremiumCoverage(Lenient):
    """A3: the account's designated (CSM-Lite, CSM) or dedicated (Resident Engineer) expert,
    their business hours as a clock (zone, weekdays, holidays resolved at intake) and how long
    they have to accept a new case."""

    offering: str
    expert_id: str
    expert_name: str
    hours: ClockSpec
    accept_within: timedelta = timedelta(minutes=15)


class Entitlement(Lenient):
    """What the account is entitled to, resolved at intake (A1-A3, S1)."""

    tier: Tier
    targets: dict[Priority, timedelta]
    clock: ClockSpec = Field(default_factory=ClockSpec)
    us_citizen: UsCitizenTerms | None = Field(
        default=None, description="U1: set when the account has US Citizen Support"
    )

    @property
    def restricted(self) -> bool:
        """U2: the account's cases go to the restricted queue."""
        return self.us_citizen is not None

    routing_retry: timedelta = timedelta(minutes=5)
    partner_id: str | None = Field(
        default=None, description="P3: a partner case, worked in this partner's queue at L0-L2"
    )
    vendor_targets: dict[Priority, timedelta] | None = Field(
        default=None, description="P4: our S1 targets, for a vendor escalation of a partner case"
    )
    premium: PremiumCoverage | None = Field(
        default=None, description="A3: set when the account has a premium expert"
    )
