"""The first-response clock of a case (S2-S4): one durable timer to the target, moved at once
by a priority change, paused outside business hours (U4), stopped by the owner's first word to
the customer (a response, or since FIRST_WORD_TO_CUSTOMER any act that tells the customer
something), and a breach recorded for good and escalated (S3)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from casework import contracts
    from casework.domain import sla as sla_rules
    from casework.domain.actions import ChangePriority, Respond
    from casework.domain.durations import format_duration
    from casework.domain.lifecycle import Actor
    from casework.domain.models import ActorRole, CaseState, IntakeResult
    from casework.domain.presentation import summary_line
    from casework.domain.routing import opening_level, queue_for_case

from workflows.case.context import CaseContext
from workflows.case.patches import ESCALATE_SLA_BREACH, WAKE_AT_WINDOW_CHANGES

BreachEscalation = Callable[[datetime], Coroutine[Any, Any, None]]


class FirstResponseClock:
    def __init__(
        self, ctx: CaseContext, escalate_breach: BreachEscalation, any_word: bool = False
    ) -> None:
        self.ctx = ctx
        self.escalate_breach = escalate_breach
        self.any_word = any_word
        """FIRST_WORD_TO_CUSTOMER (patches.py): any act that tells the customer something
        stops the clock, not only `respond`; set by the workflow when the run starts."""

    def announce_opening(self) -> None:
        """S2: the case is open and its clock runs: on the feed, and the customer is told
        when an engineer will respond."""
        case, feed = self.ctx.case, self.ctx.feed
        request = case.intake.request
        feed.record(
            request.received_by or request.contact_id,
            "opened",
            f"{request.channel.value} case for {case.intake.account_name}: "
            f"{request.product} {request.version}, {case.priority.value}; first response due "
            f"{case.sla.due_at.isoformat()}",
        )
        feed.notify(
            "contact",
            request.contact_id,
            f"{case.case_id} opened",
            f"We have your case {case.case_id} ({case.priority.value}). "
            f"An engineer will respond by {case.sla.due_at.isoformat()}.",
        )

    async def watch(self) -> None:
        """S2/S3/S4: breach at the target, not a moment before; a moved target moves the timer
        in the same workflow task, so a stale timer never fires a breach that no longer applies.

        U4: a business-hours clock also wakes the case when its window opens or closes, since a
        query sees the time of the case's last workflow task: without the wake-up, a case
        viewed on Saturday would show its clock running as it was at Friday 16:55."""
        case, clock = self.ctx.case, self.ctx.clock
        while sla_rules.is_running(case.sla) and case.state != "closed":
            due = case.sla.due_at
            left = due - workflow.now()
            timed_out = False
            if left > timedelta(0):
                change = clock.next_change(workflow.now())
                wake = left
                if change is not None and self.ctx.patched(WAKE_AT_WINDOW_CHANGES):
                    wake = min(left, change - workflow.now())
                try:
                    await workflow.wait_condition(self._changed_since(due), timeout=wake)
                    continue
                except TimeoutError:
                    if wake < left:
                        continue
                    timed_out = True
            if sla_rules.is_breached_at(case.sla, workflow.now()):
                self._breach(at=due if timed_out else workflow.now())

    def _changed_since(self, due: datetime) -> Callable[[], bool]:
        """Wakes the watcher when the clock stops, the case closes, or the target moves (S4)."""
        case = self.ctx.case
        return lambda: (
            not sla_rules.is_running(case.sla) or case.state == "closed" or case.sla.due_at != due
        )

    def _breach(self, at: datetime) -> None:
        """S3: recorded on the case for good; the Escalation Managers alerted at once."""
        case, feed = self.ctx.case, self.ctx.feed
        case.sla.breached_at = at
        feed.record(
            "sla",
            "sla_breached",
            f"no first response within {format_duration(case.sla.target)} "
            f"({case.priority.value}, {case.intake.entitlement.tier})",
        )
        feed.publish()
        feed.record_facts()
        if self.ctx.patched(ESCALATE_SLA_BREACH):
            # Kept with the side effects, so a roll-over or the close waits for it.
            self.ctx.in_background(asyncio.ensure_future(self.escalate_breach(at)))
            case.sla.breach_alerted = True
            return
        self.ctx.side_effect(
            contracts.ALERT_ESCALATION_MANAGER,
            contracts.ManagerAlert(
                key=f"{case.case_id}:sla-breach",
                case_id=case.case_id,
                subject=f"SLA breach on {case.case_id}",
                body=f"First-response target missed. {summary_line(case)}",
                at=workflow.now(),
                restricted=self.ctx.restricted,
                account_id=case.intake.request.account_id,
            ),
        )
        case.sla.breach_alerted = True

    # --- actions ---------------------------------------------------------------------------

    def respond(self, action: Respond, actor: Actor) -> str:
        """S2: the owner answers the customer; the first word to them stops the clock."""
        case, feed = self.ctx.case, self.ctx.feed
        self.ctx.lifecycle.act("respond", actor=actor)
        if case.sla.responded_at is None:
            case.sla.responded_at = workflow.now()
            feed.record(actor.id, "first_response", action.text)
            feed.record_facts()
            message = "first response recorded; the SLA clock stopped"
        else:
            feed.record(actor.id, "respond", action.text)
            message = "response recorded"
        feed.notify(
            "contact", case.intake.request.contact_id, f"Update on {case.case_id}", action.text
        )
        return message

    def after(self, name: str, actor: Actor) -> str:
        """S2: after the action `name` was taken: if it was the owner's first word to the
        customer (`sla_rules.is_first_response`), the clock stops now; what to add to the
        action's answer. `respond` stops it itself, and so did nothing else before
        FIRST_WORD_TO_CUSTOMER."""
        case = self.ctx.case
        by_owner = actor.role is ActorRole.ENGINEER and actor.is_owner
        if not self.any_word or not sla_rules.is_first_response(name, by_owner, case.sla):
            return ""
        case.sla.responded_at = workflow.now()
        self.ctx.feed.record(
            actor.id,
            "first_response",
            f"{name.replace('_', ' ')}: the first word to the customer stops the SLA clock (S2)",
        )
        self.ctx.feed.record_facts()
        return "; first response: the SLA clock stopped"

    def change_priority_action(self, action: ChangePriority, actor: Actor) -> str:
        """E4 Change Priority, by a contact or the owner."""
        self.ctx.lifecycle.act("change_priority", actor=actor, priority=action.priority)
        return self.change_priority(actor.id, action)

    def change_priority(self, actor_id: str, action: ChangePriority) -> str:
        """S4: the target is recomputed from the opening time under the new priority; if it has
        passed already the case is in breach now (the watcher sees it in this task)."""
        case, feed = self.ctx.case, self.ctx.feed
        previous = case.priority
        case.priority = action.priority
        target = case.intake.entitlement.targets[action.priority]
        case.sla = sla_rules.retarget(case.sla, case.opened_at, target, self.ctx.clock)
        reason = f": {action.reason}" if action.reason else ""
        feed.record(
            actor_id,
            "change_priority",
            f"{previous.value} -> {action.priority.value}{reason}; first response due "
            f"{case.sla.due_at.isoformat()}",
        )
        feed.record_facts()
        if case.owner:
            feed.notify(
                "engineer",
                case.owner.engineer_id,
                f"{case.case_id} is now {action.priority.value}",
                summary_line(case),
            )
        if sla_rules.is_running(case.sla) and case.sla.due_at <= workflow.now():
            return f"priority {action.priority.value}; its target has passed: the case is in breach"
        return f"priority {action.priority.value}; first response due {case.sla.due_at.isoformat()}"


def opened_case(intake: IntakeResult) -> CaseState:
    """A new case, as it opens: at its opening level and queue (E1), its clock started (S2)."""
    now = workflow.now()
    priority = intake.request.priority
    level = opening_level(intake)
    clock = sla_rules.clock_for(intake.entitlement.clock)
    return CaseState(
        case_id=intake.case_id,
        intake=intake,
        priority=priority,
        level=level,
        queue=queue_for_case(intake, level),
        opened_at=now,
        sla=sla_rules.start_clock(now, intake.entitlement.targets[priority], clock),
    )
