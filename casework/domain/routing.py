"""E1 skill-based routing and the Escalation Manager on duty (S3). Pure.

A case at level L goes to an engineer of level L who has the case's product among their
skills and is on shift now; among those, the one with the fewest open cases, then by id so
that the choice is repeatable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from casework.domain.directory import Engineer, EscalationManager
from casework.domain.models import Category, IntakeResult, Level
from casework.domain.partner import partner_queue
from casework.domain.sla import clock_for
from casework.domain.us_citizen import RESTRICTED_QUEUE

PREMIUM_QUEUE = "premium"
"""A3: the queue a case is in while offered to, or worked by, the account's expert."""
QUEUE_BY_LEVEL = {Level.L0: "customer-care", Level.L1: "gsc", Level.L2: "gsc", Level.L3: "gec"}


def queue_for(level: Level) -> str:
    """Our reading of E1: L0 Customer Care, L1-L2 Global Support Center, L3 Global
    Escalation Center."""
    return QUEUE_BY_LEVEL[level]


def queue_for_case(intake: IntakeResult, level: Level) -> str:
    """E1 by level; U2: a restricted case stays in the US citizen queue at every level;
    P3: a partner case stays in its partner's queue."""
    if intake.entitlement.partner_id:
        return partner_queue(intake.entitlement.partner_id)
    return RESTRICTED_QUEUE if intake.entitlement.restricted else queue_for(level)


def assignment_key(case_id: str, level: Level, attempt: int) -> str:
    """E1: the key an assignment is recorded under: one per case, level and routing attempt,
    so a retried write (or the intake's first routing, which the case adopts) finds its row."""
    return f"{case_id}:{level.value}:{attempt}"


def required_skills(product: str, category: Category) -> list[str]:
    """E1: the case's product, and for a security vulnerability (A5) the security skill."""
    skills = [product]
    if category is Category.SECURITY_VULNERABILITY:
        skills.append("security")
    return skills


def choose_engineer(
    engineers: Sequence[Engineer],
    *,
    level: Level,
    skills: Sequence[str],
    at: datetime,
    open_cases: Mapping[str, int],
) -> Engineer | None:
    """E1: the best match, or None when nobody matching is on shift."""
    matching = [
        e
        for e in engineers
        if e.level is level and all(e.has_skill(s) for s in skills) and e.shift.covers(at)
    ]
    if not matching:
        return None
    return min(matching, key=lambda e: (open_cases.get(e.id, 0), e.id))


def manager_on_duty(rota: Sequence[EscalationManager], at: datetime) -> EscalationManager:
    """S3/E3: the first manager of the rota whose shift covers `at`; the rota's first if the
    rota has a gap (it is 24x7: somebody always answers)."""
    for manager in rota:
        if manager.shift.covers(at):
            return manager
    return rota[0]


SECURITY_FIRST_LEVEL = Level.L2
"""A5 (our reading): a security vulnerability issue skips Customer Care and L1."""


def first_level(category: Category, normal: Level = Level.L0) -> Level:
    """A5: the level a case is first routed at: for a security vulnerability issue the later
    of L2 and the normal first level; otherwise the normal first level."""
    if category is not Category.SECURITY_VULNERABILITY:
        return normal
    order = list(Level)
    return max(normal, SECURITY_FIRST_LEVEL, key=order.index)


def opening_level(intake: IntakeResult) -> Level:
    """The level a new case starts at: P4, a vendor escalation at our L3; A5, a security
    vulnerability at L2 at the earliest; otherwise L0."""
    return Level.L3 if intake.escalated_from else first_level(intake.request.category)


def routed_as_it_opens(intake: IntakeResult, at: datetime) -> bool:
    """E1: whether a case opened at `at` is routed at once, so its intake can make the first
    routing with the case's number: not when it waits for its service's hours (U4), nor when
    it is first offered to the account's premium expert (A3); those the case decides itself."""
    if intake.entitlement.premium is not None:
        return False
    return clock_for(intake.entitlement.clock).paused_reason(at) is None
