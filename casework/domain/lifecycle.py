"""The life of a support case as a state machine: states are nouns, events are verbs.

Pure: no Temporal, no I/O. The case workflow builds one `CaseLifecycle` bound to its
`CaseState` (the machine writes `state` on it) and asks it, before acting, whether an action
is allowed now and for this actor (`refusal`). Every guard is a named predicate with a
sentence that tells the caller what was wrong (`GUARD_REFUSALS`).

    queued --assign--> in_progress --request_info--> waiting_on_customer
      ^                  |   ^  \\                        |
      +----escalate------+   |   +--resolve--> resolved <-+ resolve
                             +-----provide_info----------+
    any open state --close (by the customer, E4)--> closed
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from statemachine import State, StateMachine

from casework.domain.endings import OPEN_STATES as OPEN_STATES  # one list of the open states
from casework.domain.models import ActorRole, CaseState, Level, Priority

CALLER_GUARDS = frozenset(
    {
        "actor_is_system",
        "actor_is_owner",
        "actor_is_contact",
        "actor_is_customer",
        "actor_is_party",
        "actor_is_approver",
        "priority_differs",
        "actor_has_escalation",
    }
)

SYSTEM_EVENTS = frozenset({"assign", "vendor_resolved"})
"""Transitions only the engine takes (routing; P4 the vendor's answer): never offered."""


@dataclass(frozen=True)
class Actor:
    """Who is acting, as the case sees them."""

    id: str
    role: ActorRole
    is_owner: bool = False
    is_approver: bool = False
    has_escalation: bool = False


_ESCALATE_NOW = ["actor_is_customer", "not_a_partner_case", "no_active_escalation"]
_ACKNOWLEDGE = ["escalation_is_active", "actor_has_escalation", "escalation_unacknowledged"]
_DE_ESCALATE = ["escalation_is_active", "actor_has_escalation"]


class CaseLifecycle(StateMachine):
    queued = State(initial=True, value="queued")
    in_progress = State(value="in_progress")
    waiting_on_customer = State(value="waiting_on_customer")
    resolved = State(value="resolved")
    closed = State(final=True, value="closed")
    # P4: a partner case escalated to our L3 waits on us, as a case waits on its customer.
    waiting_on_vendor = State(value="waiting_on_vendor")

    # E1: routing hands the case to an engineer.
    assign = queued.to(in_progress, cond="actor_is_system")
    # E2: the owner cannot resolve the case at this level; back to the queue one level up.
    # P4: at L2, a partner case goes to our L3 instead, as a vendor escalation.
    escalate = in_progress.to(
        waiting_on_vendor, cond=["actor_is_owner", "partner_case_at_partner_top"]
    ) | in_progress.to(queued, cond=["actor_is_owner", "below_top_level"])
    # P4: our escalation team solved it; the partner case is back with the partner's engineer.
    vendor_resolved = waiting_on_vendor.to(in_progress, cond="actor_is_system")
    # E2: at L3 the owner files a Problem Report; the case stays open and linked to it.
    file_problem_report = in_progress.to.itself(
        cond=["actor_is_owner", "at_top_level", "no_problem_report_yet", "no_pending_approval"]
    )
    # U6: before any log goes to product engineering, the owner asks the customer ...
    request_log_approval = in_progress.to.itself(
        cond=[
            "actor_is_owner",
            "case_is_restricted",
            "at_top_level",
            "no_problem_report_yet",
            "no_pending_approval",
        ]
    )
    # ... and an authorised contact answers, whatever the case is doing meanwhile.
    approve_logs = (
        queued.to.itself(cond=["actor_is_approver", "approval_is_pending"])
        | in_progress.to.itself(cond=["actor_is_approver", "approval_is_pending"])
        | waiting_on_customer.to.itself(cond=["actor_is_approver", "approval_is_pending"])
    )
    decline_logs = (
        queued.to.itself(cond=["actor_is_approver", "approval_is_pending"])
        | in_progress.to.itself(cond=["actor_is_approver", "approval_is_pending"])
        | waiting_on_customer.to.itself(cond=["actor_is_approver", "approval_is_pending"])
    )
    # E5/U5: customers and the owner attach files (logs, configuration) by reference.
    attach = (
        queued.to.itself(cond="actor_is_party")
        | in_progress.to.itself(cond="actor_is_party")
        | waiting_on_customer.to.itself(cond="actor_is_party")
        | resolved.to.itself(cond="actor_is_party")
    )
    # S2: the assigned engineer answers the customer. The first thing the owner tells the
    # customer, this or any act that tells them something (sla.FIRST_RESPONSE_ACTIONS: a
    # request for information, a comment, the resolution, ...), stops the clock.
    respond = in_progress.to.itself(cond="actor_is_owner") | waiting_on_customer.to.itself(
        cond="actor_is_owner"
    )
    # E5: waiting on the customer, and back.
    request_info = in_progress.to(waiting_on_customer, cond="actor_is_owner")
    provide_info = waiting_on_customer.to(in_progress, cond="actor_is_contact")
    # E4: Case Comments, from the customer or the owner, in any open state.
    comment = (
        queued.to.itself(cond="actor_is_party")
        | in_progress.to.itself(cond="actor_is_party")
        | waiting_on_customer.to.itself(cond="actor_is_party")
        | resolved.to.itself(cond="actor_is_party")
        | waiting_on_vendor.to.itself(cond="actor_is_party")
    )
    # E4/S4: Change Priority.
    change_priority = (
        queued.to.itself(cond=["actor_is_party", "priority_differs"])
        | in_progress.to.itself(cond=["actor_is_party", "priority_differs"])
        | waiting_on_customer.to.itself(cond=["actor_is_party", "priority_differs"])
    )
    resolve = in_progress.to(resolved, cond="actor_is_owner") | waiting_on_customer.to(
        resolved, cond="actor_is_owner"
    )
    reopen = resolved.to(in_progress, cond="actor_is_contact")
    # E4: the customer can close their own case at any time.
    close = (
        queued.to(closed, cond="actor_is_contact")
        | in_progress.to(closed, cond="actor_is_contact")
        | waiting_on_customer.to(closed, cond="actor_is_contact")
        | resolved.to(closed, cond="actor_is_contact")
        | waiting_on_vendor.to(closed, cond="actor_is_contact")
    )

    # E3: the customer escalates an open case (online or by phone through Customer Care): a
    # contact, or on a vendor escalation an engineer of its partner (P4); the Escalation
    # Manager who has it acknowledges it and, when done, de-escalates it.
    escalate_now = (
        queued.to.itself(cond=_ESCALATE_NOW)
        | in_progress.to.itself(cond=_ESCALATE_NOW)
        | waiting_on_customer.to.itself(cond=_ESCALATE_NOW)
    )
    acknowledge_escalation = (
        queued.to.itself(cond=_ACKNOWLEDGE)
        | in_progress.to.itself(cond=_ACKNOWLEDGE)
        | waiting_on_customer.to.itself(cond=_ACKNOWLEDGE)
    )
    de_escalate = (
        queued.to.itself(cond=_DE_ESCALATE)
        | in_progress.to.itself(cond=_DE_ESCALATE)
        | waiting_on_customer.to.itself(cond=_DE_ESCALATE)
    )

    def __init__(self, case: CaseState) -> None:
        super().__init__(model=case, state_field="state")

    # --- named guards ---------------------------------------------------------------------

    def actor_is_system(self, actor: Actor, **_: Any) -> bool:
        return actor.role is ActorRole.SYSTEM

    def actor_is_owner(self, actor: Actor, **_: Any) -> bool:
        return actor.role is ActorRole.ENGINEER and actor.is_owner

    def actor_is_contact(self, actor: Actor, **_: Any) -> bool:
        return actor.role is ActorRole.CONTACT

    def actor_is_customer(self, actor: Actor, **_: Any) -> bool:
        """E3/P4: whoever the case is for: a contact of the account; on a vendor escalation,
        where the partner is our customer, an engineer of that partner."""
        return actor.role in (ActorRole.CONTACT, ActorRole.PARTNER_ENGINEER)

    def actor_is_party(self, actor: Actor, **_: Any) -> bool:
        return self.actor_is_contact(actor) or self.actor_is_owner(actor)

    def actor_is_approver(self, actor: Actor, **_: Any) -> bool:
        return actor.role is ActorRole.CONTACT and actor.is_approver

    def actor_has_escalation(self, actor: Actor, **_: Any) -> bool:
        """E3: the Escalation Manager the active escalation is with now."""
        return actor.role is ActorRole.ESCALATION_MANAGER and actor.has_escalation

    def not_a_partner_case(self, **_: Any) -> bool:
        """P2/P4: a PAR customer escalates with their partner, who escalates to us."""
        return self.model.intake.entitlement.partner_id is None

    def no_active_escalation(self, **_: Any) -> bool:
        return self.model.active_escalation is None

    def escalation_is_active(self, **_: Any) -> bool:
        return not self.no_active_escalation()

    def escalation_unacknowledged(self, **_: Any) -> bool:
        active = self.model.active_escalation
        return active is not None and active.acknowledged_at is None

    def case_is_restricted(self, **_: Any) -> bool:
        return bool(self.model.intake.entitlement.restricted)

    def no_pending_approval(self, **_: Any) -> bool:
        return not any(a.status == "pending" for a in self.model.log_approvals)

    def approval_is_pending(self, **_: Any) -> bool:
        return not self.no_pending_approval()

    def partner_case_at_partner_top(self, **_: Any) -> bool:
        """P3/P4: a partner delivers L0-L2; past L2 its case goes to our escalation team."""
        return bool(self.model.intake.entitlement.partner_id) and self.model.level is Level.L2

    def below_top_level(self, **_: Any) -> bool:
        return self.model.level is not Level.L3

    def at_top_level(self, **_: Any) -> bool:
        return self.model.level is Level.L3

    def no_problem_report_yet(self, **_: Any) -> bool:
        return self.model.problem_report is None

    def priority_differs(self, priority: Priority | None = None, **_: Any) -> bool:
        return priority is not None and priority != self.model.priority

    # --- asking before acting -------------------------------------------------------------

    def refusal(self, event: str, **kwargs: Any) -> str | None:
        """Why `event` may not happen now, in a sentence; None when it may."""
        state = self.current_state_value
        transitions = [t for t in self.states_map[state].transitions if t.event == event]
        if not transitions:
            allowed = ", ".join(self.allowed_now()) or "nothing"
            return (
                f"{event.replace('_', ' ')} is not possible while the case is "
                f"{state.replace('_', ' ')}; allowed now: {allowed}"
            )
        for transition in transitions:
            failed = [str(c) for c in transition.cond if not getattr(self, str(c))(**kwargs)]
            if not failed:
                return None
        return GUARD_REFUSALS[failed[0]].format(
            case=self.model, customer=self.customer_words(), **kwargs
        )

    def customer_words(self) -> str:
        """Who the case is for, in a refusal: a contact of its account; on a vendor escalation
        (P4), an engineer of the partner, our customer there."""
        if self.model.intake.escalated_from is None:
            return "a contact of the account"
        return (
            f"an engineer of {self.model.intake.request.contact_id}, the partner this "
            "escalation to us is for (P4),"
        )

    def allowed_now(self) -> list[str]:
        """Events with a transition from the current state whose guards about the case hold
        (guards about the caller and its payload, CALLER_GUARDS, are not evaluated)."""
        state = self.states_map[self.current_state_value]
        return sorted(
            {
                t.event
                for t in state.transitions
                if t.event not in SYSTEM_EVENTS
                and all(getattr(self, str(c))() for c in t.cond if str(c) not in CALLER_GUARDS)
            }
        )

    def act(self, event: str, **kwargs: Any) -> None:
        """Take the transition; call `refusal` first, this raises if the guards say no."""
        self.send(event, **kwargs)


GUARD_REFUSALS: dict[str, str] = {
    "actor_is_system": "only the routing engine assigns cases",
    "actor_is_owner": (
        "only the engineer who owns the case can do this; {actor.id} is not the owner"
    ),
    "actor_is_contact": "only a contact of the account can do this; {actor.id} is not one",
    "actor_is_customer": "only {customer} can do this; {actor.id} is not one",
    "actor_is_party": (
        "only a contact of the account or the engineer who owns the case can do this; "
        "{actor.id} is neither"
    ),
    "below_top_level": (
        "the case is already at L3: file a Problem Report to product engineering instead (E2)"
    ),
    "at_top_level": (
        "a Problem Report is filed at L3 only; the case is at {case.level}: escalate it first (E2)"
    ),
    "no_problem_report_yet": "the case is already linked to {case.problem_report}",
    "priority_differs": "the case is already {case.priority}",
    "actor_is_approver": (
        "only a contact the account authorised to approve sharing logs can answer (U6); "
        "{actor.id} is not one"
    ),
    "case_is_restricted": (
        "log-sharing approval is part of US Citizen Support; this account does not have it"
    ),
    "no_pending_approval": (
        "the customer has not yet answered the request to share logs with engineering (U6): "
        "wait for the answer or its expiry"
    ),
    "approval_is_pending": "there is no request to share logs waiting for an answer",
    "partner_case_at_partner_top": (
        "only a partner case at L2 goes to the vendor's escalation team (P4)"
    ),
    "not_a_partner_case": (
        "this is a Partner Branded Support case: the partner works it and escalates to our "
        "escalation team on the customer's behalf; escalate with your partner (P2, P4)"
    ),
    "no_active_escalation": (
        "escalation {case.active_escalation.escalation_id} is already active with "
        "{case.active_escalation.manager.name} ({case.active_escalation.manager.id}); "
        "they will be in touch (E3)"
    ),
    "escalation_is_active": "the case has no active escalation (E3)",
    "actor_has_escalation": (
        "only the Escalation Manager who has {case.active_escalation.escalation_id} "
        "({case.active_escalation.manager.id}) can do this; {actor.id} does not have it (E3)"
    ),
    "escalation_unacknowledged": (
        "{case.active_escalation.escalation_id} was acknowledged already by "
        "{case.active_escalation.acknowledged_by} (E3)"
    ),
}
