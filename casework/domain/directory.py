"""The directory: accounts and their contacts, products, engineers, the Escalation Manager rota.

Pure models and checks; `casework.yamlfiles` reads the YAML and `casework.store` keeps it in the
database. A directory that breaks a rule is refused whole, with the place and the reason.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Annotated, Literal

from pydantic import (
    EmailStr,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from casework.domain.channels import Channels, channels_refusal
from casework.domain.models import Identifier, Level, ShortText, Strict, Tier
from casework.domain.shifts import SERVICE_ZONES as SERVICE_ZONES
from casework.domain.shifts import WEEKDAYS as WEEKDAYS
from casework.domain.shifts import Shift as Shift
from casework.domain.shifts import check_zone
from casework.domain.tiers import PREMIUM_OFFERINGS, rules_of
from casework.domain.us_citizen import restricted_member_refusal
from casework.domain.vocabulary import refused_at


class Contact(Strict):
    id: Identifier
    name: ShortText
    email: EmailStr | None = None
    phone: ShortText | None = None
    approver: bool = Field(
        default=False,
        description="U6: authorised to approve or decline sharing logs with engineering",
    )
    notify: Channels | None = Field(
        default=None, description="how notifications reach them (issue 14); default: email"
    )
    zone: str | None = Field(
        default=None,
        description="the zone the Case Center shows their times in: eastern, pacific or an "
        "IANA name (default UTC)",
    )

    @field_validator("zone")
    @classmethod
    def _reading_zone(cls, zone: str | None) -> str | None:
        if zone is None:
            return None
        zone = SERVICE_ZONES.get(zone.strip().lower(), zone.strip())
        check_zone(zone)
        return zone

    @model_validator(mode="after")
    def _channels_fit(self) -> Contact:
        refusal = channels_refusal("contact", self.id, self.email, self.notify)
        if refusal:
            raise ValueError(refusal)
        return self


class Premium(Strict):
    """A3: CSM-Lite and CSM give a Platinum account a designated subject-matter expert,
    Resident Engineer a dedicated one; the expert works in their business hours."""

    offering: Literal["csm_lite", "csm", "resident_engineer"]
    expert: Identifier = Field(description="the engineer id of the designated expert")

    @property
    def offering_name(self) -> str:
        return PREMIUM_OFFERINGS[self.offering]


class Account(Strict):
    id: Identifier
    name: ShortText
    tier: Tier
    users: int = Field(ge=1)
    contacts: list[Contact] = Field(min_length=1)
    us_citizen_support: bool = Field(
        default=False, description="U1: the account bought the US Citizen Support add-on"
    )
    zone: str | None = Field(
        default=None,
        description="U4: the customer's zone for business hours: eastern, pacific or an IANA name",
    )
    partner: Identifier | None = Field(
        default=None,
        description="A4/P1: bought as Partner Branded Support through this Support Now partner",
    )
    premium: Premium | None = Field(
        default=None, description="A3: CSM-Lite, CSM or Resident Engineer and its expert"
    )

    @field_validator("zone")
    @classmethod
    def _service_zone(cls, zone: str | None) -> str | None:
        if zone is None:
            return None
        zone = SERVICE_ZONES.get(zone.strip().lower(), zone.strip())
        check_zone(zone)
        return zone

    @model_validator(mode="after")
    def _fits_its_tier(self, info: ValidationInfo) -> Account:
        """A1: the account's tier is one the policy sells (refused at its `tier` line), to
        accounts of at least the tier's users. A3/U1: what the account buys beyond the Global
        Support Center (US Citizen Support, a premium expert) is among its tier's premium
        offerings (the default policy's: Platinum's). Checked against the policy a directory
        is loaded under (casework.domain.tiers.under); an account read back from the
        database is not checked again (`LOADED`)."""
        rules = rules_of(info)
        if rules is None:
            return self
        if not rules.sells(self.tier):
            raise refused_at("Account", ("tier",), rules.not_sold(self.id, self.tier), self.tier)
        refusal = rules.too_few_users(self.id, self.tier, self.users)
        if refusal is None and self.us_citizen_support:
            refusal = rules.may_not_buy(self.id, self.tier, "us_citizen_support")
        if refusal:
            raise ValueError(refusal)
        if self.premium is not None:
            refusal = rules.may_not_buy(self.id, self.tier, self.premium.offering)
            if refusal:
                raise refused_at("Account", ("premium",), refusal, self.premium.offering)
        return self

    @model_validator(mode="after")
    def _us_citizen_support_has_a_zone(self) -> Account:
        """U1/U4: US Citizen Support runs in the customer's business hours: its zone."""
        if self.us_citizen_support and self.zone is None:
            raise ValueError(
                f"account {self.id}: US Citizen Support runs in the customer's business hours; "
                "give the account a zone: eastern or pacific (U4)"
            )
        return self


def premium_expert_refusal(
    account: Account, expert: Engineer, authorised_locations: Collection[str]
) -> str | None:
    """A3: why `expert` may not be `account`'s premium expert, or None. The expert is offered
    the account's cases, so they must be someone those cases may be routed to: a partner's
    engineer works only that partner's cases and a PAR account's cases only go to its
    partner's engineers (P3); a US Citizen Support account's cases go only to members of the
    restricted queue, and a restricted-queue-only engineer works nothing else (U2, U7)."""
    offering = account.premium.offering_name if account.premium else "premium"
    role = f"the {offering} expert of {account.id}"
    if expert.partner is not None and expert.partner != account.partner:
        whose = (
            "an account we support directly"
            if account.partner is None
            else f"Partner Branded Support through {account.partner}"
        )
        return (
            f"engineer {expert.id} works for partner {expert.partner}, only on its partner cases "
            f"(P3), so cannot be {role}, which is {whose}: name one of our engineers (A3)"
        )
    if account.partner is not None and expert.partner != account.partner:
        return (
            f"account {account.id} is Partner Branded Support through {account.partner}: its "
            f"cases are worked only by {account.partner}'s engineers (P3), so {expert.id} "
            f"cannot be {role} (A3)"
        )
    if account.us_citizen_support:
        not_a_member = restricted_member_refusal(expert, authorised_locations)
        if not_a_member is not None:
            return (
                f"account {account.id} has US Citizen Support: its cases go only to members of "
                f"the restricted queue (U2), and {not_a_member}; {expert.id} cannot be {role}: "
                "name a member of the restricted queue (A3)"
            )
    elif expert.restricted_queue_only:
        return (
            f"engineer {expert.id} works only the US citizen restricted queue (U2) and account "
            f"{account.id} has no US Citizen Support, so {expert.id} cannot be {role}: name an "
            "engineer who works other accounts' cases (A3)"
        )
    return None


WebAddress = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^https?://\S+$")]


class Partner(Strict):
    """A4/P1: a partner that may sell Partner Branded Support (PAR) if it is a validated
    member of the Support Now program; its channels are how its customers reach it (P2)."""

    id: Identifier
    name: ShortText
    email: EmailStr | None = None
    phone: ShortText | None = None
    url: WebAddress | None = None
    support_now_validated: bool = Field(
        default=False, description="P1: validated to deliver L0-L2 support and to sell PAR"
    )
    notify: Channels | None = Field(
        default=None, description="how notifications reach them (issue 14); default: email"
    )

    @model_validator(mode="after")
    def _channels_fit(self) -> Partner:
        refusal = channels_refusal("partner", self.id, self.email, self.notify)
        if refusal:
            raise ValueError(refusal)
        return self

    @model_validator(mode="after")
    def _reachable(self) -> Partner:
        """P2: a referred customer is told how to reach the partner."""
        if not (self.email or self.phone or self.url):
            raise ValueError(
                f"partner {self.id} has no contact channel: give it an email, a phone or a url "
                "(P2: referred customers are told how to reach their partner)"
            )
        return self

    def channels(self) -> str:
        """How a customer reaches the partner, as one line."""
        found = [("email", self.email), ("phone", self.phone), ("web", self.url)]
        return ", ".join(f"{kind} {value}" for kind, value in found if value)


class CitizenshipProof(Strict):
    """U2: verified proof of US citizenship: a US passport, or a US birth certificate together
    with a government-issued photo ID."""

    proof: Literal["us_passport", "us_birth_certificate"]
    photo_id: ShortText | None = Field(
        default=None, description="the government-issued photo ID shown with a birth certificate"
    )
    verified_by: Identifier
    verified_on: date

    @model_validator(mode="after")
    def _birth_certificate_needs_photo_id(self) -> CitizenshipProof:
        if self.proof == "us_birth_certificate" and not self.photo_id:
            raise ValueError(
                "a US birth certificate proves citizenship only together with a "
                "government-issued photo ID: add photo_id (e.g. state driver license) (U2)"
            )
        return self


class Engineer(Strict):
    id: Identifier
    name: ShortText
    level: Level
    skills: list[ShortText] = Field(min_length=1)
    shift: Shift = Field(default_factory=Shift)
    email: EmailStr | None = None
    citizenship: CitizenshipProof | None = None
    work_location: Identifier | None = Field(
        default=None, description="U7: the vendor location the engineer works from"
    )
    restricted_queue_only: bool = Field(
        default=False, description="works only the US citizen restricted queue (U2)"
    )
    partner: Identifier | None = Field(
        default=None,
        description="P3: a partner's engineer (L0-L2), who works only that partner's cases",
    )
    zone: str | None = Field(
        default=None,
        description="A3: a premium expert's zone for business hours: eastern, pacific or IANA",
    )
    notify: Channels | None = Field(
        default=None, description="how notifications reach them (issue 14); default: email"
    )

    @model_validator(mode="after")
    def _channels_fit(self) -> Engineer:
        refusal = channels_refusal("engineer", self.id, self.email, self.notify)
        if refusal:
            raise ValueError(refusal)
        return self

    @field_validator("zone")
    @classmethod
    def _expert_zone(cls, zone: str | None) -> str | None:
        if zone is None:
            return None
        zone = SERVICE_ZONES.get(zone.strip().lower(), zone.strip())
        check_zone(zone)
        return zone

    def has_skill(self, skill: str) -> bool:
        return skill.casefold() in {s.casefold() for s in self.skills}


class EscalationManager(Strict):
    id: Identifier
    name: ShortText
    email: EmailStr | None = None
    phone: ShortText | None = None
    shift: Shift = Field(default_factory=Shift)
    notify: Channels | None = Field(
        default=None, description="how notifications reach them (issue 14); default: email"
    )

    @model_validator(mode="after")
    def _channels_fit(self) -> EscalationManager:
        refusal = channels_refusal("escalation_manager", self.id, self.email, self.notify)
        if refusal:
            raise ValueError(refusal)
        return self


class SupportDirector(Strict):
    """E3/S3: the catch-all of the escalation ladder, after the rota's last manager."""

    id: Identifier
    name: ShortText
    email: EmailStr | None = None
    phone: ShortText | None = None
    notify: Channels | None = Field(
        default=None, description="how notifications reach them (issue 14); default: email"
    )

    @model_validator(mode="after")
    def _channels_fit(self) -> SupportDirector:
        refusal = channels_refusal("support_director", self.id, self.email, self.notify)
        if refusal:
            raise ValueError(refusal)
        return self


class Directory(Strict):
    products: list[ShortText] = Field(min_length=1)
    accounts: list[Account] = Field(default_factory=list)
    engineers: list[Engineer] = Field(default_factory=list)
    escalation_managers: list[EscalationManager] = Field(
        min_length=1, description="the rota, in order; S3 alerts go to the one on duty"
    )
    authorised_locations: list[Identifier] = Field(
        default_factory=list,
        description="U7: the vendor locations from which restricted cases may be worked",
    )
    partners: list[Partner] = Field(
        default_factory=list, description="A4/P1: Support Now partners that may own PAR accounts"
    )
    support_director: SupportDirector | None = Field(
        default=None,
        description="E3/S3: the escalation ladder's catch-all after the rota's last manager",
    )

    @model_validator(mode="after")
    def _ids_unique_and_skills_known(self) -> Directory:
        seen: dict[str, str] = {}
        people: list[tuple[str, str, tuple[str | int, ...]]] = []
        for i, a in enumerate(self.accounts):
            people.append(("account", a.id, ("accounts", i, "id")))
            people += [
                ("contact", c.id, ("accounts", i, "contacts", j, "id"))
                for j, c in enumerate(a.contacts)
            ]
        people += [("engineer", e.id, ("engineers", i, "id")) for i, e in enumerate(self.engineers)]
        people += [
            ("escalation manager", m.id, ("escalation_managers", i, "id"))
            for i, m in enumerate(self.escalation_managers)
        ]
        people += [("partner", p.id, ("partners", i, "id")) for i, p in enumerate(self.partners)]
        if self.support_director is not None:
            people.append(
                ("support director", self.support_director.id, ("support_director", "id"))
            )
        for kind, ident, where in people:
            if ident in seen:
                # Raised with the second occurrence's location, so that a refused directory
                # file names the line of the duplicate (casework.yamlfiles), not the file's top.
                reason = f"id '{ident}' is used twice ({seen[ident]} and {kind}); ids are unique"
                raise refused_at("Directory", where, reason, ident)
            seen[ident] = kind
        return self

    @model_validator(mode="after")
    def _par_accounts_have_validated_partners(self) -> Directory:
        """P1: a PAR account names a partner of the directory that is a validated member of
        the Support Now program. Refused at the account's `partner` line."""
        partners = {p.id: p for p in self.partners}
        for i, account in enumerate(self.accounts):
            if account.partner is None:
                continue
            partner = partners.get(account.partner)
            if partner is None:
                known = ", ".join(partners) or "none"
                reason = (
                    f"account {account.id} names partner {account.partner}, which is not among "
                    f"the directory's partners (known: {known}) (A4)"
                )
            elif not partner.support_now_validated:
                reason = (
                    f"partner {partner.id} is not a validated member of the Support Now program "
                    "and cannot own PAR accounts (P1)"
                )
            else:
                continue
            raise refused_at("Directory", ("accounts", i, "partner"), reason, account.partner)
        return self

    @model_validator(mode="after")
    def _partner_engineers_work_l0_to_l2_for_a_known_partner(self) -> Directory:
        """P3: a partner's engineers deliver L0-L2 for a partner of the directory; L3 is ours
        (P4). Refused at the engineer's `partner` or `level` line."""
        partners = {p.id for p in self.partners}
        for i, engineer in enumerate(self.engineers):
            if engineer.partner is None:
                continue
            if engineer.partner not in partners:
                field, reason = (
                    "partner",
                    f"engineer {engineer.id} works for partner {engineer.partner}, which is not "
                    f"among the directory's partners (known: {', '.join(partners) or 'none'})",
                )
            elif engineer.level is Level.L3:
                field, reason = (
                    "level",
                    f"engineer {engineer.id} of partner {engineer.partner} is L3: partners "
                    "deliver L0-L2 and escalate to our L3 (P3, P4); make it L0, L1 or L2",
                )
            else:
                continue
            given = getattr(engineer, field)
            raise refused_at("Directory", ("engineers", i, field), reason, given)
        return self

    @model_validator(mode="after")
    def _premium_experts_are_ours_with_a_zone(self) -> Directory:
        """A3: a premium account's expert is an engineer of this directory to whom the engine
        may route the account's cases (P3, U2: `premium_expert_refusal`), with a zone (their
        business hours). Refused at the account's `premium.expert` line."""
        engineers = {e.id: e for e in self.engineers}
        for i, account in enumerate(self.accounts):
            if account.premium is None:
                continue
            expert = engineers.get(account.premium.expert)
            if expert is None:
                reason: str | None = (
                    f"account {account.id}: the {account.premium.offering_name} expert "
                    f"{account.premium.expert} is not among the directory's engineers (A3)"
                )
            else:
                reason = premium_expert_refusal(account, expert, self.authorised_locations)
            if reason is None and expert is not None and expert.zone is None:
                reason = (
                    f"engineer {expert.id}, the {account.premium.offering_name} expert of "
                    f"{account.id}, has no zone: give them one (eastern, pacific or an IANA "
                    "name) for their business hours (A3)"
                )
            if reason is None:
                continue
            where = ("accounts", i, "premium", "expert")
            raise refused_at("Directory", where, reason, account.premium.expert)
        return self

    def product_named(self, name: str) -> str | None:
        for product in self.products:
            if product.casefold() == name.casefold():
                return product
        return None
