"""Customer escalation (E3) and the Escalation Manager ladder (E3, S3). Pure.

An escalation goes first to the Escalation Manager on duty, then, each time nobody acknowledges
within the policy's window, to the next manager of the rota (wrapping round, each manager
once), and after the last of them to the catch-all: the support director. Without a support
director in the directory the ladder ends with the rota's last manager.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from casework.domain.directory import EscalationManager, SupportDirector
from casework.domain.durations import format_duration
from casework.domain.models import Priority
from casework.domain.routing import manager_on_duty

PRIORITY_ORDER = (Priority.P3, Priority.P2, Priority.P1)


class EscalationReason(StrEnum):
    """E3: why the customer escalates."""

    LACK_OF_PROGRESS = "lack_of_progress"
    EXPERTISE = "expertise"
    BUSINESS_IMPACT = "business_impact"
    OTHER = "other"


class EscalationChannel(StrEnum):
    """E3: online (Escalate Now), by phone through Customer Care; S3: a breach."""

    ONLINE = "online"
    PHONE = "phone"
    SLA_BREACH = "sla_breach"


SLA_BREACH_REASON = "missed_first_response"
"""S3: the reason recorded for an escalation the SLA breach raised."""


def ladder(
    rota: Sequence[EscalationManager], director: SupportDirector | None, at: datetime
) -> list[tuple[str, str]]:
    """E3/S3: who gets the escalation, in order, as (id, name): the manager on duty at `at`,
    the rest of the rota after them (wrapping round), then the support director."""
    if not rota:
        raise ValueError("the directory has no Escalation Managers")
    first = rota.index(manager_on_duty(rota, at))
    steps = [(m.id, m.name) for m in [*rota[first:], *rota[:first]]]
    if director is not None:
        steps.append((director.id, director.name))
    return steps


def is_higher(requested: Priority, current: Priority) -> bool:
    """E4: an escalation may raise the priority (P3 < P2 < P1), never lower it."""
    return PRIORITY_ORDER.index(requested) > PRIORITY_ORDER.index(current)


def escalation_id_for(case_id: str, number: int) -> str:
    """`<case_id>-E<n>`, n from 1 (the shared escalations table's key)."""
    return f"{case_id}-E{number}"


def alert_text(
    *,
    case_id: str,
    escalation_id: str,
    reason: str,
    note: str,
    summary: str,
    acknowledge_within: timedelta,
) -> tuple[str, str]:
    """E3/S3: the subject and body of the alert to the manager an escalation is with. The
    case sends it at every step; the breach's first alert is also written by the activity that
    plans the ladder, under the same key, so the same words must come from both. U5: `note` is
    empty for a restricted case and `summary` carries no content."""
    body = (
        f"{reason.replace('_', ' ')}: {note} {summary}. Acknowledge within "
        f"{format_duration(acknowledge_within)}: on the case's Case Center page or with "
        f"`casework acknowledge {case_id}`, signed in as yourself."
    )
    return f"Escalation {escalation_id} on {case_id}", " ".join(body.split(" ")).strip()
