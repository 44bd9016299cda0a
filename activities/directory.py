"""Activities over the directory: intake (A1-A3, S1) and skill-based routing (E1)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.ports import IntakeStore
from casework.contracts import (
    CHECK_PARTNER,
    CHECK_VIEWER,
    INTAKE,
    RELEASE_CASE,
    ROUTE_CASE,
    PartnerCheck,
    PartnerStatus,
    ReleaseRequest,
    RouteRequest,
    RouteResult,
    ViewerCheck,
    ViewerStatus,
)
from casework.domain.business_calendar import closed_days
from casework.domain.directory import Account, Contact, premium_expert_refusal
from casework.domain.models import (
    Assignment,
    Channel,
    ClockSpec,
    Entitlement,
    IntakeResult,
    OpenCaseRequest,
    PremiumCoverage,
    Referral,
    UsCitizenTerms,
    case_id_for,
)
from casework.domain.partner import engineers_for, partner_queue, partner_refusal
from casework.domain.routing import (
    PREMIUM_QUEUE,
    assignment_key,
    choose_engineer,
    queue_for,
    required_skills,
)
from casework.domain.sla import SlaPolicy
from casework.domain.us_citizen import RESTRICTED_QUEUE, restricted_member_refusal

DIRECT_CHANNELS = (Channel.PHONE, Channel.WEB)
"""P2: the ways a customer reaches us directly; a PAR customer doing so is referred."""

HOLIDAY_YEARS_AHEAD = 2
"""A restricted case carries the holidays of the year it opens and the next two (U4)."""


def refuse(kind: str, message: str) -> ApplicationError:
    """A business refusal: never retried, shown to the caller as it is."""
    return ApplicationError(message, type=kind, non_retryable=True)


class DirectoryActivities:
    def __init__(self, store: IntakeStore, policy: SlaPolicy) -> None:
        self.store = store
        self.policy = policy

    @activity.defn(name=INTAKE)
    def intake(self, request: OpenCaseRequest) -> IntakeResult | Referral:
        """Check the account, contact and product; allocate the case number (idempotent by
        request id); resolve the entitlement (tier and S1 targets from the loaded policy).
        P2: a PAR customer who comes to us directly is referred to their partner instead."""
        return self.intake_at(request, _opening_time())

    def intake_at(self, request: OpenCaseRequest, at: datetime) -> IntakeResult | Referral:
        """`intake` for a case opening at `at` (U4: the years of holidays it carries), for an
        intake's one step and the door beside the worker (`activities/cases.py`)."""
        account = self.store.directory.account(request.account_id)
        if account is None:
            raise refuse(
                "UnknownAccount",
                f"unknown account {request.account_id!r}: check the account id "
                "(`casework directory accounts` lists them)",
            )
        contact = next((c for c in account.contacts if c.id == request.contact_id), None)
        if contact is None:
            raise refuse(
                "UnknownContact",
                f"{request.contact_id!r} is not a contact of account {account.id} "
                f"({account.name}); its contacts are: {', '.join(c.id for c in account.contacts)}",
            )
        if account.partner is not None and request.channel in DIRECT_CHANNELS:
            return self._refer(request, account, contact, account.partner)
        rules = self.policy.tier_rules()
        if not rules.sells(account.tier):  # A1: loaded under another policy, or an older one
            raise refuse(
                "TierNotSold",
                f"the {account.tier} tier of account {account.id} ({account.name}) is not sold "
                f"under this engine's SLA policy, which sells {', '.join(rules.terms)}: ask "
                "your support administrator to move the account to one of those in the "
                f"directory, or to give {account.tier} first-response targets in the policy",
            )
        partner_name = None
        if request.channel is Channel.PARTNER:
            partner_name = self._partner_opening(request, account)
        products = self.store.directory.product_names()
        product = next((p for p in products if p.casefold() == request.product.casefold()), None)
        if product is None:
            raise refuse(
                "UnknownProduct",
                f"unknown product {request.product!r}; supported products: {', '.join(products)}",
            )
        number, _ = self.store.intake.allocate_case_number(request.request_id, _now())
        # U5: before the case exists, so the codec encrypts its first payload with the right key
        self.store.realms.register(case_id_for(number), account.id, account.us_citizen_support)
        return IntakeResult(
            case_id=case_id_for(number),
            request=request.model_copy(update={"product": product}),
            account_name=account.name,
            contact_name=contact.name,
            account_contacts=[c.id for c in account.contacts],
            entitlement=self._with_premium(
                account, request, self._entitlement(account, at, request)
            ),
            partner_name=partner_name,
            approvers=[c.id for c in account.contacts if c.approver],
            restricted_members=self.store.directory.restricted_members()
            if account.us_citizen_support
            else [],
        )

    def _refer(
        self, request: OpenCaseRequest, account: Account, contact: Contact, partner_id: str
    ) -> Referral:
        """P2: record the referral (one per request id) and tell the customer how to reach
        their partner; no case number, no case, no engineer of ours."""
        partner = self.store.directory.partner(partner_id)
        if partner is None:  # the directory refuses this on load; an older database may not
            raise refuse(
                "UnknownPartner",
                f"account {account.id} is Partner Branded Support through {partner_id!r}, which "
                "is not in the directory: load a directory that names the partner",
            )
        row, created = self.store.intake.record_referral(
            request.request_id, account.id, contact.id, partner.id, request.channel.value, _now()
        )
        referral = Referral(
            referral_id=row["referral_id"],
            request_id=request.request_id,
            account_id=account.id,
            contact_id=contact.id,
            partner_id=partner.id,
            partner_name=partner.name,
            partner_contact=partner.channels(),
            channel=request.channel,
            at=row["at"],
            created=created,
        )
        self.store.outbox.add(
            f"referral:{referral.referral_id}",
            case_id=None,
            recipient_kind="contact",
            recipient_id=contact.id,
            address=self.store.directory.contact_address(contact.id),
            subject=f"Your support is delivered by {partner.name}",
            body=(
                f"Hello {contact.name}, {account.name} has Partner Branded Support through "
                f"{partner.name}, who opens and works your support cases (and escalates to us "
                f"when needed). Please contact {partner.name}: {referral.partner_contact}. "
                f"We have not opened a case for this request ({referral.referral_id})."
            ),
            created_at=referral.at,
        )
        return referral

    def _partner_opening(self, request: OpenCaseRequest, account: Account) -> str:
        """P1/P4: only a validated partner that owns the account opens its cases."""
        assert request.partner_id is not None  # OpenCaseRequest: channel partner names it
        partner = self.store.directory.partner(request.partner_id)
        reason = partner_refusal(request.partner_id, partner, account)
        if reason or partner is None:
            raise refuse("PartnerRefused", reason or "unknown partner")
        return partner.name

    def _entitlement(
        self, account: Account, at: datetime, request: OpenCaseRequest | None = None
    ) -> Entitlement:
        """A1-A3, S1; U1/U4: a US Citizen Support account runs on its business hours.
        P3: a partner case runs on the policy's partner targets, and carries our S1 targets for
        its vendor escalation (P4)."""
        if request is not None and request.channel is Channel.PARTNER:
            return Entitlement(
                tier=account.tier,
                targets=self.policy.partner_targets_for(account.tier),
                routing_retry=self.policy.routing_retry,
                partner_id=request.partner_id,
                vendor_targets=self.policy.targets_for(account.tier),
            )
        entitlement = Entitlement(
            tier=account.tier,
            targets=self.policy.targets_for(account.tier),
            routing_retry=self.policy.routing_retry,
        )
        if not account.us_citizen_support:
            return entitlement
        terms = self.policy.us_citizen_support
        return entitlement.model_copy(
            update={
                "clock": self._business_hours(account.zone, at.date()),
                "us_citizen": UsCitizenTerms(
                    approval_reminder_business_days=terms.approval_reminder_business_days,
                    approval_expiry_business_days=terms.approval_expiry_business_days,
                ),
            }
        )

    def _business_hours(self, zone: str | None, today: date) -> ClockSpec:
        """U4, A3: weekdays 9-17 in `zone`, closed on the vendor's and federal holidays from
        last year to HOLIDAY_YEARS_AHEAD years ahead: the same clock for a US Citizen Support
        case and a premium expert's hours, carried into the case as data."""
        terms = self.policy.us_citizen_support
        return ClockSpec(
            kind="business_hours",
            zone=zone,
            holidays=closed_days(
                range(today.year - 1, today.year + HOLIDAY_YEARS_AHEAD + 1),
                terms.vendor_holidays,
                terms.federal_holidays,
            ),
        )

    def _with_premium(
        self, account: Account, request: OpenCaseRequest, entitlement: Entitlement
    ) -> Entitlement:
        """A3: the premium expert of an account whose tier may buy the offering (the policy's
        `tiers`; the default policy's: Platinum), with their business hours (their zone,
        weekdays 9-17, the vendor's holidays) carried into the case as data. Not offered a
        case they cannot work: without the case's skills (E1, A5), or when the account's cases
        may not go to them (`premium_expert_refusal`: P3, U2 win)."""
        premium = account.premium
        rules = self.policy.tier_rules()
        if premium is None or rules.may_not_buy(account.id, account.tier, premium.offering):
            return entitlement  # refused on load: the policy may have changed since
        expert = self.store.directory.engineer(premium.expert)
        if expert is None or expert.zone is None:  # refused on load; an older database may not
            return entitlement
        skills = required_skills(request.product, request.category)
        if not all(expert.has_skill(s) for s in skills):
            return entitlement
        if premium_expert_refusal(account, expert, self.store.directory.authorised_locations()):
            return entitlement  # refused on load and on `account us-citizen`; older databases
        return entitlement.model_copy(
            update={
                "premium": PremiumCoverage(
                    offering=premium.offering_name,
                    expert_id=expert.id,
                    expert_name=expert.name,
                    hours=self._business_hours(expert.zone, _now().date()),
                    accept_within=self.policy.premium_accept_within,
                )
            }
        )

    def _assign_expert(self, request: RouteRequest, engineer_id: str) -> RouteResult:
        """A3: the premium expert accepted the case: record their assignment."""
        expert = self.store.directory.engineer(engineer_id)
        if expert is None:
            return RouteResult(
                assignment=None,
                queue=PREMIUM_QUEUE,
                reason=f"the expert {engineer_id} is no longer in the directory",
            )
        self.store.tracker.record_assignment(
            assignment_key(request.case_id, request.level, request.attempt),
            request.case_id,
            expert.id,
            expert.level.value,
            request.at,
        )
        return RouteResult(
            assignment=Assignment(
                engineer_id=expert.id,
                engineer_name=expert.name,
                level=expert.level,
                queue=PREMIUM_QUEUE,
            ),
            queue=PREMIUM_QUEUE,
        )

    @activity.defn(name=ROUTE_CASE)
    def route_case(self, request: RouteRequest) -> RouteResult:
        """E1: pick an engineer of the case's level with its skills, on shift at `request.at`,
        and record the assignment (idempotent per case, level and attempt)."""
        if request.engineer_id is not None:
            return self._assign_expert(request, request.engineer_id)
        skills = required_skills(request.product, request.category)
        engineers = self.store.directory.engineers()
        members: list[str] = []
        queue = queue_for(request.level)
        if request.restricted:
            # U2: only the restricted queue's members, at every level; nobody else, ever.
            queue = RESTRICTED_QUEUE
            members = self.store.directory.restricted_members()
            engineers = [e for e in engineers if e.id in members]
        else:
            engineers = [e for e in engineers if not e.restricted_queue_only]
        # P3: a partner case is worked by its partner's engineers only, in its queue; our
        # cases (and vendor escalations) never go to a partner's engineer.
        engineers = engineers_for(engineers, request.partner_id)
        if request.partner_id is not None:
            queue = partner_queue(request.partner_id)
        engineer = choose_engineer(
            engineers,
            level=request.level,
            skills=skills,
            at=request.at,
            open_cases=self.store.tracker.open_case_counts(),
        )
        if engineer is None:
            who = "verified US citizen " if request.restricted else ""
            if request.partner_id is not None:
                who = f"{request.partner_id} "
            return RouteResult(
                assignment=None,
                queue=queue,
                reason=(
                    f"no {who}{request.level.value} engineer with skills {', '.join(skills)} "
                    "is on shift"
                ),
                restricted_members=members,
            )
        chosen_id = self.store.tracker.record_assignment(
            assignment_key(request.case_id, request.level, request.attempt),
            request.case_id,
            engineer.id,
            request.level.value,
            request.at,
        )
        chosen = engineer  # a retried attempt finds the engineer it recorded the first time
        if chosen_id != engineer.id:
            chosen = self.store.directory.engineer(chosen_id) or engineer
        return RouteResult(
            assignment=Assignment(
                engineer_id=chosen.id, engineer_name=chosen.name, level=chosen.level, queue=queue
            ),
            queue=queue,
            restricted_members=members,
        )

    @activity.defn(name=CHECK_VIEWER)
    def check_viewer(self, check: ViewerCheck) -> ViewerStatus:
        """U5: whether `viewer` is a member of the restricted queue now (verified citizenship,
        authorised location), with the reason when not."""
        members = self.store.directory.restricted_members()
        if check.viewer in members:
            return ViewerStatus(member=True, restricted_members=members)
        engineer = self.store.directory.engineer(check.viewer)
        reason = (
            restricted_member_refusal(engineer, self.store.directory.authorised_locations())
            if engineer
            else f"{check.viewer} is not an engineer of the restricted queue"
        )
        return ViewerStatus(member=False, reason=reason or "", restricted_members=members)

    @activity.defn(name=CHECK_PARTNER)
    def check_partner(self, check: PartnerCheck) -> PartnerStatus:
        """P1/P4: the partner escalating a case must still be a validated Support Now partner
        that owns the account (the directory may have changed since the case opened)."""
        account = self.store.directory.account(check.account_id)
        partner = self.store.directory.partner(check.partner_id)
        if account is None:
            return PartnerStatus(allowed=False, reason=f"unknown account {check.account_id!r}")
        reason = partner_refusal(check.partner_id, partner, account)
        engineers = engineers_for(self.store.directory.engineers(), check.partner_id)
        return PartnerStatus(
            allowed=reason is None,
            reason=reason or "",
            partner_name=partner.name if partner else "",
            engineers=[e.id for e in engineers],
        )

    @activity.defn(name=RELEASE_CASE)
    def release_case(self, request: ReleaseRequest) -> int:
        """The case is closed: its engineer's load goes down."""
        return self.store.tracker.release_assignments(request.case_id, request.at)


def _now() -> datetime:
    return datetime.now(UTC)


def _opening_time() -> datetime:
    """U4: when the server scheduled this intake, which is the case's opening time as its
    workflows see it. In production that is the wall clock; on a time-skipping test server it
    may be years ahead, and the holidays a case carries must be those of its own years."""
    return activity.info().scheduled_time.astimezone(UTC)
