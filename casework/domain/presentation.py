"""Read paths: what a viewer is shown of a case (E4 Case Detail, Show Feed).

Every read (the `view` query, `casework show`, `casework list`) goes through `present`, with
the viewer's identity, so that need-to-know rules (U5) are enforced in one place. The case
answers as of its last step (a query's `workflow.now()` is that step's time); every reader
outside it recomputes the clock at its own instant with `as_read_at`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from casework.domain.models import CaseState, CaseView, IntakeResult, Priority, SlaState
from casework.domain.sla import STOPPED, ClockReading, ServiceClock, clock_for, read_clock
from casework.domain.validation import subject_of

RESTRICTED_SUMMARY = "details restricted (US Citizen Support)"
WEB_UI_DETAILS_CHARS = 200
"""The most of a description the Web UI's details show (its first line)."""


def present(
    case: CaseState,
    viewer: str,
    now: datetime,
    allowed_actions: list[str],
    clock: ServiceClock,
) -> CaseView:
    """The whole case; `casework.domain.us_citizen.redact` narrows it for a viewer outside
    a restricted case's queue (U5). Remaining time is service time (U4: business hours)."""
    request = case.intake.request
    reading = clock_reading(case.sla, clock, now, case.state)
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
        subject=subject_of(request.subject, request.description),
        level=case.level,
        owner=case.owner,
        queue=case.queue,
        opened_at=case.opened_at,
        sla=case.sla,
        sla_remaining_seconds=_seconds(reading.left),
        problem_report=case.problem_report,
        waiting_for=case.waiting_for,
        resolution=case.resolution,
        closed_at=case.closed_at,
        allowed_actions=allowed_actions,
        feed=case.feed,
        feed_total=case.feed_total,
        restricted=case.intake.entitlement.restricted,
        sla_paused_reason=reading.paused,
        attachments=case.attachments,
        log_approvals=case.log_approvals,
        vendor_escalations=case.vendor_escalations,
        partner_id=case.intake.entitlement.partner_id or None,
        escalated_from=case.intake.escalated_from,
        escalations=case.escalations,
        clock=case.intake.entitlement.clock,
    )


def clock_reading(
    sla: SlaState, clock: ServiceClock, now: datetime, state: str, ended: str | None = None
) -> ClockReading:
    """S2-S4: the first-response clock at `now`. It stops at the first response and at a
    breach, and with the case: closed (E4), or its workflow ended from outside."""
    if state == "closed" or ended:
        return STOPPED
    return read_clock(sla, clock, now)


def as_read_at(view: CaseView, now: datetime) -> CaseView:
    """`view` with its time left and pause computed at `now`, the reader's clock: what every
    reader (the API, the page, `casework show`) shows, never the figure the case computed at
    its last step. The case's own clock spec (U4) gives the service time; a spec that names
    no clock the case could run on leaves the case's figures as they came."""
    try:
        clock = clock_for(view.clock)
    except ValueError:
        return view
    reading = clock_reading(view.sla, clock, now, view.state, view.ended)
    return view.model_copy(
        update={
            "sla_remaining_seconds": _seconds(reading.left),
            "sla_paused_reason": reading.paused,
            "sla_read_at": now,
        }
    )


def _seconds(left: timedelta | None) -> float | None:
    return left.total_seconds() if left is not None else None


def summary_line(case: CaseState) -> str:
    """One line that says what a case is, for the Web UI's summary."""
    return summary_line_for_intake(case.intake, case.priority)


def summary_line_for_intake(intake: IntakeResult, priority: Priority | None = None) -> str:
    """U5: a restricted case's summary (seen by anyone with access to the Web UI, and sent
    to Escalation Managers) never carries its description."""
    request = intake.request
    about = RESTRICTED_SUMMARY if intake.entitlement.restricted else request.description[:80]
    return (
        f"{(priority or request.priority).value} {intake.entitlement.tier} · "
        f"{intake.account_name} · {request.product} {request.version} · {about}"
    )


def web_ui_summary(intake: IntakeResult) -> str:
    """The Web UI's one-line summary of a case (Temporal's `static_summary`), set as the case
    opens. casework leaves it unencrypted, so the UI shows it with or without the codec: it
    says what the case is, never what anyone wrote. U5: a restricted case's says only that it
    is restricted (number, priority, tier), not whose it is nor about what."""
    request = intake.request
    head = f"{intake.case_id} · {request.priority.value} {intake.entitlement.tier}"
    if intake.entitlement.restricted:
        return f"{head} · {RESTRICTED_SUMMARY}"
    return f"{head} · {intake.account_name} · {request.product} {request.version}"


def web_ui_details(intake: IntakeResult) -> str | None:
    """The Web UI's details of an ordinary case (`static_details`): its description's first
    line, encrypted like the case's other payloads (the codec decodes it for a casework
    credential). None for a restricted case (U5): nothing of its text leaves the queue."""
    if intake.entitlement.restricted:
        return None
    first = (intake.request.description.strip().splitlines() or [""])[0]
    return first[:WEB_UI_DETAILS_CHARS]


def web_ui_current_details(case: CaseState) -> str:
    """What the Web UI shows as the case's current details (`workflow.set_current_details`),
    rewritten at every step. U5: a restricted case's says its state, level, priority and tier,
    and that it is restricted: not who works it, whose it is nor what it is about."""
    if case.intake.entitlement.restricted:
        return (
            f"**{case.state}** · {case.level.value} · {case.priority.value} "
            f"{case.intake.entitlement.tier} · {RESTRICTED_SUMMARY}"
        )
    owner = case.owner.engineer_name if case.owner else "unassigned"
    return f"**{case.state}** · {case.level.value} · {owner} · {summary_line(case)}"
