"""Partner Branded Support (P1-P4): who may open and escalate a partner case, where it is
worked, and what of our escalation the partner sees. Pure: no Temporal, no I/O.

A partner case (channel `partner`) is worked by the partner's own engineers at L0-L2 in the
partner's queue (P3). At L2 the partner escalates to our L3 (P4): a vendor escalation, its own
case workflow with id `<case>-esc-<n>`, whose "customer" is the partner.
"""

from __future__ import annotations

from collections.abc import Sequence

from casework.domain.directory import Account, Engineer, Partner
from casework.domain.models import CaseState, CaseView, Entitlement, IntakeResult

PARTNER_QUEUE_PREFIX = "partner:"

PROGRESS_KINDS = frozenset(
    {
        "opened",
        "assigned",
        "first_response",
        "respond",
        "comment",
        "request_info",
        "provide_info",
        "file_problem_report",
        "change_priority",
        "sla_breached",
        "resolve",
        "close",
    }
)
"""P4: what the partner case sees of our work on its escalation (no refusals, no routing
noise)."""


ACTIONS_ON_ITS_ESCALATION = ("escalate_now",)
"""E3/P4: what a partner's engineers do on the partner's vendor escalation, where the partner
is our customer: Escalate Now (the lifecycle's `actor_is_customer`). The rest of their work
goes through the partner case (a comment there answers us)."""


def escalated_for(view: CaseView) -> str | None:
    """P4: the partner a vendor escalation is for (its contact: our customer there), whose
    engineers see it; None for any other case."""
    return view.contact_id if view.escalated_from else None


def partner_queue(partner_id: str) -> str:
    """P3: a partner's cases wait in the partner's own queue, never in ours."""
    return f"{PARTNER_QUEUE_PREFIX}{partner_id}"


def engineers_for(engineers: Sequence[Engineer], partner_id: str | None) -> list[Engineer]:
    """P3: a partner case goes only to that partner's engineers; our cases (and our L3 work on
    a vendor escalation) never go to a partner's engineer."""
    return [e for e in engineers if e.partner == partner_id]


def vendor_escalation_id_for(case_id: str, number: int) -> str:
    """P4: the vendor escalation's workflow id: deterministic, one per escalation."""
    return f"{case_id}-esc-{number}"


def partner_refusal(partner_id: str, partner: Partner | None, account: Account) -> str | None:
    """P1/P4: why `partner_id` may not open or escalate a case of `account`, or None.
    Only a validated Support Now partner that owns the account may."""
    if partner is None:
        return (
            f"unknown partner {partner_id!r}: check the partner id (the directory's partners "
            "are listed by `casework directory accounts`)"
        )
    if not partner.support_now_validated:
        return (
            f"partner {partner.id} is not a validated member of the Support Now program: it "
            "cannot open or escalate Partner Branded Support cases (P1)"
        )
    if account.partner is None:
        return (
            f"account {account.id} is supported by us directly, not through a partner: "
            f"{partner.id} cannot open or escalate its cases (P4); open it by phone or web"
        )
    if account.partner != partner.id:
        return (
            f"account {account.id} is Partner Branded Support through {account.partner}, not "
            f"{partner.id}: only the partner that owns the account can open or escalate its "
            "cases (P4)"
        )
    return None


def escalation_intake(
    case: CaseState,
    escalation_id: str,
    reason: str,
    escalated_by: str,
    partner_engineers: Sequence[str] = (),
) -> IntakeResult:
    """P4: the facts our escalation starts from. Its "customer" is the partner (we talk to the
    partner only, never to the partner's customer), whose engineers speak for it there (E3:
    they Escalate Now); its clock is our S1 table for the account's tier; it starts at our
    L3."""
    intake = case.intake
    entitlement = intake.entitlement
    partner_id = entitlement.partner_id
    assert partner_id is not None  # only a partner case escalates to the vendor
    request = intake.request.model_copy(
        update={
            "request_id": escalation_id,
            "contact_id": partner_id,
            "priority": case.priority,
            "description": (
                f"Escalated by {escalated_by} of {intake.partner_name or partner_id} from partner "
                f"case {case.case_id}: {reason}\n\nThe customer's report: "
                f"{intake.request.description}"
            )[:20_000],
        }
    )
    return IntakeResult(
        case_id=escalation_id,
        request=request,
        account_name=intake.account_name,
        contact_name=intake.partner_name or partner_id,
        account_contacts=[partner_id],
        entitlement=Entitlement(
            tier=entitlement.tier,
            targets=entitlement.vendor_targets or entitlement.targets,
            routing_retry=entitlement.routing_retry,
        ),
        escalated_from=case.case_id,
        partner_name=intake.partner_name,
        partner_engineers=list(partner_engineers),
    )
