"""What workflows ask of activities: the activity names and their one-model-in, one-model-out
contracts. Workflows call activities by these names, so tests can register stand-ins under the
same names and workflows never import an activity's I/O code.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import Field

from casework.domain.models import (
    Attachment,
    Category,
    EscalationStep,
    Identifier,
    IntakeResult,
    Lenient,
    Level,
    OpenCaseRequest,
    RouteResult,
    Strict,
)
from casework.domain.report import EscalationRow

INTAKE = "intake"
ROUTE_CASE = "route_case"
RELEASE_CASE = "release_case"
NOTIFY = "notify"
ALERT_ESCALATION_MANAGER = "alert_escalation_manager"
FILE_PROBLEM_REPORT = "file_problem_report"
CHECK_VIEWER = "check_viewer"
START_CASE = "start_case"
INTAKE_AND_START = "intake_and_start_case"
RECORD_LOG_APPROVAL = "record_log_approval"
SHARE_LOGS = "share_logs_with_problem_report"
CHECK_PARTNER = "check_partner"
RECORD_CASE_FACTS = "record_case_facts"
RECORD_CASE_ROW = "record_case_row"
RECORD_FEED = "record_feed"
CHECK_ATTACHMENT = "check_attachment"


class StartCaseRequest(Strict):
    """Start the case workflow for a validated intake."""

    intake: IntakeResult
    case_options: dict[str, Any] = Field(default_factory=dict)
    opening_route: RouteResult | None = Field(
        default=None, description="E1: the case's first routing, made as it opened"
    )


class IntakeStep(Strict):
    """An intake's both steps in one: check the request and allocate its number, then start
    the case (INTAKE_AND_START)."""

    request: OpenCaseRequest
    case_options: dict[str, Any] = Field(default_factory=dict)
    at: datetime | None = Field(
        default=None,
        description="the intake's workflow time: the case's first routing is made for it "
        "(E1); an intake that sends none leaves the routing to the case",
    )


class RouteRequest(Strict):
    case_id: str
    level: Level
    product: str
    category: Category
    at: datetime
    attempt: int
    restricted: bool = False
    partner_id: str | None = None
    engineer_id: str | None = Field(
        default=None, description="A3: assign this engineer (the premium expert who accepted)"
    )


class ViewerCheck(Strict):
    """U5: is this viewer a member of the restricted queue right now?"""

    viewer: str


class ViewerStatus(Lenient):
    member: bool
    reason: str = ""
    restricted_members: list[str] = Field(default_factory=list)


class AttachmentCheck(Strict):
    """U5: does the attachment store hold the file a case is about to reference?"""

    sha256: str


class AttachmentStatus(Lenient):
    stored: bool
    reason: str = ""


class ApprovalRecord(Strict):
    """U6: the customer's answer, recorded where the sharing code checks it."""

    request_id: str
    case_id: str
    logs: list[str]
    status: str
    decided_by: str | None = None
    decided_at: datetime | None = None


class ShareLogsRequest(Strict):
    """U6: attach approved logs to a PR."""

    request_id: str
    case_id: str
    pr_id: str
    logs: list[Attachment]
    at: datetime


class ShareLogsResult(Lenient):
    shared: list[str]


class ReleaseRequest(Strict):
    case_id: str
    at: datetime


class Notification(Strict):
    """One message to a person, queued in the outbox under an idempotency key. U5: about a US
    Citizen Support case (`restricted`, with the case's account): its body is then shown only
    to the restricted queue's members and that account's contacts."""

    key: str
    case_id: str
    recipient_kind: str
    recipient_id: Identifier
    subject: str
    body: str
    at: datetime
    restricted: bool = False
    account_id: str | None = None


class NotificationResult(Lenient):
    queued: bool
    address: str | None = None


class ManagerAlert(Strict):
    """S3: alert the Escalation Manager on duty. U5: `restricted` and `account_id` as for a
    `Notification`."""

    key: str
    case_id: str
    subject: str
    body: str
    at: datetime
    restricted: bool = False
    account_id: str | None = None


class ManagerAlertResult(Lenient):
    manager_id: str
    manager_name: str
    queued: bool


class ProblemReportRequest(Strict):
    key: str
    case_id: str
    summary: str
    filed_by: str
    at: datetime


class ProblemReportResult(Lenient):
    pr_id: str


class PartnerCheck(Strict):
    """P1/P4: may this partner (still) escalate this account's case to us?"""

    account_id: str
    partner_id: str


class PartnerStatus(Lenient):
    allowed: bool
    reason: str = ""
    partner_name: str = ""
    engineers: list[str] = Field(
        default_factory=list, description="P4/E3: the partner's engineers, for its escalation"
    )


# --- escalations (E3, S3) -------------------------------------------------------------------

PLAN_ESCALATION = "plan_escalation"
RECORD_ESCALATION = "record_escalation"


class EscalationAlert(Strict):
    """What the first alert of a new escalation says, but for its recipient (the plan's)."""

    key: str
    escalation_id: str
    reason: str
    note: str = ""
    summary: str
    restricted: bool = False
    account_id: str | None = None


class EscalationPlanRequest(Strict):
    """E3/S3: who gets a new escalation; `recorded_by` (phone) must be Customer Care (L0)."""

    case_id: str
    at: datetime
    recorded_by: str | None = None
    alert: EscalationAlert | None = None
    """S3: alert the ladder's first manager in the same activity (the breach alert), so it
    lands one round trip sooner; the case's own alert of that step, under the same key, is
    then a no-op."""


class EscalationPlan(Lenient):
    """The ladder from the manager on duty to the catch-all, and the acknowledgement window
    from the loaded policy."""

    ladder: list[EscalationStep]
    acknowledge_within: timedelta
    has_catch_all: bool = True


class EscalationRecord(EscalationRow):
    """One row of the shared `escalations` table, as the case knows it now: the row the report
    reads (`EscalationRow`), checked strictly as an activity input."""

    model_config = Strict.model_config


class CaseFacts(Strict):
    """What `casework report` needs of one case (S1-S3), upserted by case id; a higher
    `revision` (the feed's length when written) wins over a retried older write."""

    case_id: str
    revision: int
    account: str
    tier: str
    priority: str
    category: str
    opened_at: datetime
    due_at: datetime
    responded_at: datetime | None = None
    breached_at: datetime | None = None


class CaseRow(Strict):
    """The case list's row of one case (issue 26), upserted by case id; a higher `revision`
    wins. `subject` and `description` ride on the first write of each run only (None: keep
    the row's); U5: the store seals a restricted case's."""

    case_id: str
    revision: int
    account: str
    tier: str
    category: str
    priority: str
    state: str
    level: str
    owner: str | None = None
    queue: str
    restricted: bool
    breached: bool
    due_at: datetime
    responded_at: datetime | None = None
    clock: dict[str, Any]
    opened_at: datetime
    updated_at: datetime
    subject: str | None = None
    description: str | None = None


# --- the case feed (E4) -------------------------------------------------------------------


class FeedRow(Strict):
    """One entry of a case's feed, at its position `seq` (0-based) in that feed."""

    seq: int = Field(ge=0)
    at: datetime
    actor: str
    kind: str
    text: str = ""
    refused: bool = False


class FeedBatch(Strict):
    """Entries to append to a case's feed; those already recorded at their seq are kept."""

    case_id: str
    entries: list[FeedRow]
    restricted: bool = False
    """U5: the case is a US Citizen Support case: its entries' texts are sealed at rest."""
    account_id: str | None = None


# --- side effects, batched (issue 12) -------------------------------------------------------

APPLY_EFFECTS = "apply_effects"
BATCHED_EFFECTS = (
    NOTIFY,
    RECORD_FEED,
    RECORD_CASE_FACTS,
    RECORD_CASE_ROW,
    RECORD_ESCALATION,
    RECORD_LOG_APPROVAL,
    RELEASE_CASE,
    ALERT_ESCALATION_MANAGER,
)
"""The fire-and-forget writes a case may batch: each is idempotent on its own key (outbox key,
feed seq, facts revision, escalation id, approval request id, the case's assignments), so a
retried batch repeats nothing. Written by a later task of the case than the one that decided
them, so that only what a kept task decided is written (workflows/case/context.py, "Who may
write")."""
EFFECTS_PER_BATCH = 200
EFFECT_BATCH_CHARS = 200_000
"""A batch's bounds: its payload stays below Temporal's 256 KB warning."""


class Effect(Strict):
    """One side effect: the activity that would have written it alone, and its input."""

    activity: str = Field(json_schema_extra={"enum": list(BATCHED_EFFECTS)})
    arg: dict[str, Any]


class EffectBatch(Strict):
    """What one workflow task of a case decided to write, in the order it decided it."""

    case_id: str
    effects: list[Effect] = Field(min_length=1, max_length=EFFECTS_PER_BATCH)
