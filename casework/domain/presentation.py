"""Read paths: what a viewer is shown of a case (E4 Case Detail, Show Feed).

Every read (the `view` query, `casework show`, `casework list`) goes through `present`, with
the viewer's identity, so that need-to-know rules (U5) are enforced in one place.
"""

from __future__ import annotations

from datetime import datetime

from casework.domain.models import CaseState, CaseView, IntakeResult, Priority
from casework.domain.sla import remaining


def present(case: CaseState, viewer: str, now: datetime, allowed_actions: list[str]) -> CaseView:
    request = case.intake.request
    left = remaining(case.sla, now)
    return CaseView(
        case_id=case.case_id,
        state=case.state,
        channel=request.channel,
        account_id=request.account_id,
        account_name=case.intake.account_name,
        contact_id=request.contact_id,
        tier=case.intake.entitlement.tier,
        priority=case.priority,
        category=request.category,
        product=request.product,
        version=request.version,
        description=request.description,
        level=case.level,
        owner=case.owner,
        queue=case.queue,
        opened_at=case.opened_at,
        sla=case.sla,
        sla_remaining_seconds=left.total_seconds() if left is not None else None,
        problem_report=case.problem_report,
        waiting_for=case.waiting_for,
        resolution=case.resolution,
        closed_at=case.closed_at,
        allowed_actions=allowed_actions,
        feed=case.feed,
    )


def summary_line(case: CaseState) -> str:
    """One line that says what a case is, for the Web UI's summary."""
    return summary_line_for_intake(case.intake, case.priority)


def summary_line_for_intake(intake: IntakeResult, priority: Priority | None = None) -> str:
    request = intake.request
    return (
        f"{(priority or request.priority).value} {intake.entitlement.tier.value} · "
        f"{intake.account_name} · "
        f"{request.product} {request.version} · {request.description[:80]}"
    )
