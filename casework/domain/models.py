"""The vocabulary of a support case: pydantic models shared by the CLI, workflows and activities.

Every workflow, activity, signal, update and query takes one of these models in and gives one
out (STYLE.md). New fields always get defaults so that old histories still decode.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    RootModel,
    field_validator,
    model_validator,
)

# What a case is entitled to (casework.domain.entitlement): imported from here as before.
from casework.domain.entitlement import ClockSpec as ClockSpec
from casework.domain.entitlement import Entitlement as Entitlement
from casework.domain.entitlement import PremiumCoverage as PremiumCoverage
from casework.domain.entitlement import UsCitizenTerms as UsCitizenTerms
from casework.domain.once import RememberedAction, TakenToken

# The field types live with their character rule; the models' modules import them from here.
from casework.domain.validation import Identifier as Identifier
from casework.domain.validation import LongText as LongText
from casework.domain.validation import OptionalLine as OptionalLine
from casework.domain.validation import OptionalText as OptionalText
from casework.domain.validation import ShortText as ShortText
from casework.domain.validation import Subject as Subject
from casework.domain.validation import read_as_recorded

# The vocabulary (casework.domain.vocabulary): every module imports it from here.
from casework.domain.vocabulary import CASE_ID_PATTERN as CASE_ID_PATTERN
from casework.domain.vocabulary import ActorRole as ActorRole
from casework.domain.vocabulary import Category as Category
from casework.domain.vocabulary import Channel as Channel
from casework.domain.vocabulary import Lenient as Lenient
from casework.domain.vocabulary import Level as Level
from casework.domain.vocabulary import Priority as Priority
from casework.domain.vocabulary import Strict as Strict
from casework.domain.vocabulary import Tier as Tier
from casework.domain.vocabulary import case_id_for as case_id_for

# --- intake -------------------------------------------------------------------------------


class OpenCaseRequest(Strict):
    """What an integration (web portal, phone system) or `casework open` sends to open a case.

    `request_id` makes opening idempotent: a retry with the same id gets the same case.
    """

    request_id: Identifier
    channel: Channel
    account_id: Identifier
    contact_id: Identifier
    product: ShortText
    version: ShortText
    priority: Priority
    category: Category = Category.SUPPORT
    description: LongText
    subject: Subject | None = None  # absent: the description's first line (subject_of)
    received_by: Identifier | None = Field(
        default=None, description="the Customer Care agent who took a phone call"
    )
    partner_id: Identifier | None = Field(
        default=None, description="P3: the partner opening the case (channel partner only)"
    )

    @model_validator(mode="after")
    def _partner_channel_names_the_partner(self) -> OpenCaseRequest:
        """P3/P4: a partner case says which partner opens it; only a partner case does."""
        if self.channel is Channel.PARTNER and self.partner_id is None:
            raise ValueError(
                "channel partner needs partner_id: the Support Now partner opening the case"
            )
        if self.channel is not Channel.PARTNER and self.partner_id is not None:
            raise ValueError(
                f"partner_id is for channel partner only; this request's channel is "
                f"{self.channel.value}"
            )
        return self

    @field_validator("priority", mode="before")
    @classmethod
    def _priority_hint(cls, v: object) -> object:
        if isinstance(v, str) and v.strip().upper() in {"P1", "P2", "P3"}:
            return v.strip().upper()
        if isinstance(v, str):
            raise ValueError(f"priority must be P1, P2 or P3, not {v!r}")
        return v


class IntakeResult(Lenient):
    """The validated facts a case starts from; produced by the intake activity."""

    case_id: str
    request: Annotated[OpenCaseRequest, read_as_recorded(OpenCaseRequest)]
    account_name: str
    contact_name: str
    account_contacts: list[str]
    entitlement: Entitlement
    approvers: list[str] = Field(
        default_factory=list, description="U6: contacts authorised to approve sharing logs"
    )
    restricted_members: list[str] = Field(
        default_factory=list, description="U2: the restricted queue's members at intake"
    )
    escalated_from: str | None = Field(
        default=None,
        description="P4: set on a vendor escalation: the partner case it was escalated from",
    )
    partner_name: str | None = Field(default=None, description="P3/P4: the partner's name")
    partner_engineers: list[str] = Field(default_factory=list)
    """P4/E3: on a vendor escalation, the partner's engineers when it escalated (Escalate Now)."""


class Referral(Lenient):
    """P2: a PAR customer who opened a case with us directly, referred to their partner.
    Produced by the intake activity instead of an `IntakeResult`: no case number, no case."""

    referral_id: str
    request_id: str
    account_id: str
    contact_id: str
    partner_id: str
    partner_name: str
    partner_contact: str = Field(description="how to reach the partner: its channels, one line")
    channel: Channel
    at: datetime
    created: bool = True


class IntakeAnswer(RootModel[IntakeResult | Referral]):
    """What the intake activity answers: the facts a case starts from, or a referral (P2).
    A history recorded before referrals holds a plain `IntakeResult`, which decodes as one."""


class OpenCaseResult(Lenient):
    """The case opened for a request, or (P2) the partner a PAR customer was referred to, with
    no case number."""

    case_id: str | None = None
    created: bool = True
    referred_to: str | None = Field(default=None, description="P2: the partner's name")
    referral_id: str | None = None
    partner_contact: str | None = Field(default=None, description="P2: how to reach the partner")
    owner: str | None = Field(
        default=None,
        description="E1: the engineer the case was assigned to as it opened; none when it "
        "waits (business hours, a premium expert's offer, nobody on shift) or was opened before",
    )

    @classmethod
    def referred(cls, referral: Referral) -> OpenCaseResult:
        """P2: the answer to a PAR customer who came to us directly: their partner, no case."""
        return cls(
            created=referral.created,
            referred_to=referral.partner_name,
            referral_id=referral.referral_id,
            partner_contact=referral.partner_contact,
        )


# --- the case as it lives in the workflow --------------------------------------------------


class FeedEntry(Lenient):
    """E4 Show Feed: every event with its time and actor. `seq` is its place in the case's
    whole feed (0-based), kept in the database; the case carries only a tail."""

    seq: int | None = None
    at: datetime
    actor: str
    kind: str
    text: str = ""
    refused: bool = False


class SlaState(Lenient):
    """S1-S4: the first-response clock of a case."""

    target: timedelta
    due_at: datetime
    responded_at: datetime | None = None
    breached_at: datetime | None = None
    breach_alerted: bool = False
    clock: str = "24x7"
    paused_reason: str | None = None


class Attachment(Lenient):
    """A file on the case, kept outside workflow history (U5): the engine holds a reference."""

    id: str
    name: str
    kind: Literal["log", "configuration", "other"] = "log"
    sha256: str
    size: int
    uploaded_by: str
    uploaded_at: datetime


class LogApproval(Lenient):
    """U6: a request to share named logs with product engineering, and the customer's answer."""

    request_id: str
    logs: list[str]
    note: str = ""
    requested_by: str
    requested_at: datetime
    reminder_at: datetime
    expires_at: datetime
    reminded: bool = False
    status: Literal["pending", "approved", "declined", "expired"] = "pending"
    decided_by: str | None = None
    decided_at: datetime | None = None
    pr_id: str | None = None


class VendorEscalation(Lenient):
    """P4: a partner case's escalation to our L3, run as its own (child) case workflow."""

    escalation_id: str
    reason: str
    opened_at: datetime
    status: Literal["open", "resolved", "withdrawn"] = "open"
    state: str = "queued"
    resolution: str | None = None
    seq: int = 0


class VendorProgress(Strict):
    """P4: what a vendor escalation tells its partner case (signal `vendor_progress`)."""

    escalation_id: Identifier
    kind: ShortText
    actor: Identifier
    text: str = ""
    state: ShortText
    seq: int = Field(default=0, description="the escalation's feed position: signals may overtake")
    resolution: str | None = Field(default=None, description="the escalation's resolution, if any")


class PartnerInfo(Strict):
    """P4: information the partner adds to its case, forwarded to the vendor escalation."""

    actor: Identifier
    text: LongText


class PremiumOffer(Lenient):
    """A3: a new case offered to the account's expert: `offered` until they accept
    (`accepted`) or the time runs out (`expired`); `out_of_hours` when it was opened outside
    their business hours. Anything but `accepted` falls back to normal routing."""

    status: Literal["offered", "accepted", "expired", "out_of_hours"]
    expert_id: str
    at: datetime
    expires_at: datetime | None = None


class Assignment(Lenient):
    engineer_id: str
    engineer_name: str
    level: Level
    queue: str


class RouteResult(Lenient):
    """E1: the assignment, or None with the reason when nobody matching is on shift."""

    assignment: Assignment | None
    queue: str
    reason: str = ""
    restricted_members: list[str] = Field(default_factory=list)


class EscalationStep(Lenient):
    """E3: one rung of an escalation's ladder: a manager of the rota or the support director."""

    id: str
    name: str


class Escalation(Lenient):
    """E3/S3: an escalation of the case and where it stands on the Escalation Manager ladder."""

    escalation_id: str
    channel: str
    reason: str
    note: str = ""
    raised_by: str
    recorded_by: str | None = None
    raised_at: datetime
    ladder: list[EscalationStep]
    step: int = 0
    step_due_at: datetime | None = None
    acknowledge_within: timedelta
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    ended_at: datetime | None = None
    ended_because: str | None = None

    @property
    def manager(self) -> EscalationStep:
        return self.ladder[self.step]

    @property
    def active(self) -> bool:
        return self.ended_at is None


class DeferredEffect(Lenient):
    """A side effect decided while the case was rolling over, started by its next run."""

    activity: str
    arg: dict[str, Any]


class CaseState(Lenient):
    """Everything a case knows; carried whole across continue-as-new."""

    case_id: str
    intake: IntakeResult
    state: str = "queued"
    priority: Priority
    level: Level = Level.L0
    opened_at: datetime
    owner: Assignment | None = None
    queue: str = "gsc"
    sla: SlaState
    problem_report: str | None = None
    waiting_for: list[str] = Field(default_factory=list)
    feed: list[FeedEntry] = Field(
        default_factory=list, description="the feed's tail; the whole feed is in the database"
    )
    feed_total: int = Field(default=0, description="entries ever recorded: the next seq")
    feed_saved: int = Field(default=0, description="entries before this seq are in the database")
    deferred: list[DeferredEffect] = Field(
        default_factory=list, description="side effects the next run starts (see roll-over)"
    )
    closed_at: datetime | None = None
    resolution: str | None = None
    routing_attempts: int = 0
    restricted_members: list[str] = Field(default_factory=list)
    attachments: list[Attachment] = Field(default_factory=list)
    log_approvals: list[LogApproval] = Field(default_factory=list)
    vendor_escalations: list[VendorEscalation] = Field(default_factory=list)
    escalations: list[Escalation] = Field(default_factory=list)
    taken_tokens: list[TakenToken] = Field(
        default_factory=list, description="ONE_TIME_TOKENS: tokens taken, until they expire"
    )
    remembered_actions: list[RememberedAction] = Field(
        default_factory=list, description="REMEMBERED_ACTIONS: recent updates' outcomes"
    )

    @property
    def active_escalation(self) -> Escalation | None:
        """E3: at most one escalation is active at a time."""
        last = self.escalations[-1] if self.escalations else None
        return last if last is not None and last.active else None

    premium_offer: PremiumOffer | None = Field(
        default=None, description="A3: the first routing's offer to the account's expert"
    )

    @model_validator(mode="after")
    def _number_the_feed(self) -> CaseState:
        """A state carried by an older run holds its whole feed, unnumbered: number it."""
        self.feed_total = max(self.feed_total, len(self.feed))
        first = self.feed_total - len(self.feed)
        for i, entry in enumerate(self.feed):
            if entry.seq is None:
                entry.seq = first + i
        return self


class CaseWorkflowInput(Lenient):
    """Input of the case workflow: the intake facts on a first run, the whole state after
    continue-as-new."""

    intake: IntakeResult
    carried: CaseState | None = None
    opening_route: RouteResult | None = Field(
        default=None,
        description="E1: the first routing, made by the intake as the case opened; the case "
        "takes it in its first workflow task instead of asking (`routing.py`)",
    )
    index_search_attributes: bool = True
    continue_as_new_after_events: int | None = None
    previous_build: str | None = None
    """Issue 28: the build the previous run ran on (None: unversioned, or a first run)."""


class CaseView(Lenient):
    """E4 Case Detail, as shown to one viewer."""

    case_id: str
    state: str
    channel: Channel
    account_id: str
    account_name: str
    contact_id: str
    tier: Tier
    priority: Priority
    category: Category
    product: str
    version: str
    description: str
    subject: str = ""
    level: Level
    owner: Assignment | None
    queue: str
    opened_at: datetime
    sla: SlaState
    sla_remaining_seconds: float | None = Field(
        description="S2, U4: service time left to the first response's due time, at "
        "`sla_read_at` (zero once due; None once the clock has stopped)"
    )
    problem_report: str | None
    waiting_for: list[str]
    resolution: str | None
    closed_at: datetime | None
    allowed_actions: list[str]
    feed: list[FeedEntry]
    feed_total: int = Field(default=0, description="entries in the whole feed; `feed` is its tail")
    restricted: bool = False
    clock: ClockSpec = Field(default_factory=ClockSpec)
    content_withheld: bool = False
    sla_paused_reason: str | None = None
    sla_read_at: datetime | None = Field(
        default=None,
        description="when the clock was read: the reader's (the door's) instant; None in the "
        "case's own answer (`view` query, `read` update), as of its last step",
    )
    attachments: list[Attachment] = Field(default_factory=list)
    log_approvals: list[LogApproval] = Field(default_factory=list)
    vendor_escalations: list[VendorEscalation] = Field(default_factory=list)
    partner_id: str | None = None
    escalated_from: str | None = None
    escalations: list[Escalation] = Field(default_factory=list)
    ended: str | None = Field(
        default=None,
        description="how the case's workflow ended (casework.domain.endings), None while it "
        "runs; set by the reader from the execution status. A case ended from outside says so "
        "in `state` too; `last_state` is the state it was left in (its query still answers it)",
    )
    last_state: str | None = None
