"""Customer escalation and the Escalation Manager ladder (E3), which an SLA breach climbs too
(S3).

A contact escalates online (Escalate Now) or by phone through Customer Care; the answer names
the escalation and its manager at once. Each step of the ladder is a durable timer (the
policy's acknowledgement window); unacknowledged, the escalation passes to the next manager
of the rota and, after the last, to the support director. Only the manager who has it
acknowledges or de-escalates; it ends when the case is resolved or closed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from casework import contracts
    from casework.domain.actions import (
        AcknowledgeEscalation,
        ChangePriority,
        DeEscalate,
        EscalateNow,
    )
    from casework.domain.durations import format_duration
    from casework.domain.escalation import (
        SLA_BREACH_REASON,
        alert_text,
        escalation_id_for,
        is_higher,
    )
    from casework.domain.lifecycle import Actor
    from casework.domain.models import Escalation
    from casework.domain.presentation import summary_line

from workflows.case.context import CaseContext

MAX_ESCALATIONS = 20
"""E3: escalations one case may carry (one is active at a time)."""

ChangePriorityFn = Callable[[str, ChangePriority], str]


class EscalationLadder:
    def __init__(self, ctx: CaseContext, change_priority: ChangePriorityFn) -> None:
        self.ctx = ctx
        self.change_priority = change_priority

    def resume(self) -> None:
        """After a roll-over: the ladders of active escalations climb on."""
        for escalation in self.ctx.case.escalations:
            if escalation.active:
                self._start_ladder(escalation.escalation_id)

    def answer_for(self) -> dict[str, str]:
        """E3: the caller of an escalation action learns its id and who has it."""
        if not self.ctx.case.escalations:
            return {}
        escalation = self.ctx.case.escalations[-1]
        manager = escalation.manager
        return {
            "escalation_id": escalation.escalation_id,
            "escalation_manager": f"{manager.id} ({manager.name})",
        }

    # --- actions ---------------------------------------------------------------------------

    async def escalate_now(self, action: EscalateNow, actor: Actor) -> str:
        """E3: the same path online and by phone; E4/S4: it may raise the priority."""
        case = self.ctx.case
        if action.priority is not None and not is_higher(action.priority, case.priority):
            raise self.ctx.refuse(
                "escalate_now",
                actor.id,
                f"an escalation can raise the priority only; the case is {case.priority.value} "
                f"already: leave the priority out or ask for a higher one",
            )
        if len(case.escalations) >= MAX_ESCALATIONS:
            raise self.ctx.refuse(
                "escalate_now",
                actor.id,
                f"the case has been escalated {MAX_ESCALATIONS} times, the most one case "
                "keeps; call Customer Care, who will reach the Escalation Manager on duty",
            )
        try:
            plan = await self.ctx.ask(
                contracts.PLAN_ESCALATION,
                contracts.EscalationPlanRequest(
                    case_id=case.case_id, at=workflow.now(), recorded_by=action.recorded_by
                ),
                contracts.EscalationPlan,
            )
        except ActivityError as e:
            refused = isinstance(e.cause, ApplicationError) and e.cause.non_retryable
            reason = (
                str(e.cause.message)
                if refused and isinstance(e.cause, ApplicationError)
                else "the directory did not answer; nothing changed, try again"
            )
            raise self.ctx.refuse("escalate_now", actor.id, reason) from None
        self.ctx.lifecycle.act("escalate_now", actor=actor)
        escalation = self._open(
            plan,
            channel=action.channel,
            reason=action.reason,
            note=action.note,
            raised_by=actor.id,
            recorded_by=action.recorded_by,
        )
        raised = ""
        if action.priority is not None:
            change = ChangePriority(
                actor=actor.id,
                priority=action.priority,
                reason=f"raised with {escalation.escalation_id}",
            )
            raised = f"; {self.change_priority(actor.id, change)}"
        self._record_row(escalation)  # after a raise: the report sees the new priority
        manager = escalation.manager
        return (
            f"{escalation.escalation_id} is with Escalation Manager {manager.name} "
            f"({manager.id}){raised}"
        )

    def acknowledge(self, action: AcknowledgeEscalation, actor: Actor) -> str:
        """E3: the manager who has it acknowledges; it stays with them from then on."""
        case, feed = self.ctx.case, self.ctx.feed
        escalation = case.active_escalation
        assert escalation is not None  # the lifecycle's escalation_is_active guard
        self.ctx.lifecycle.act("acknowledge_escalation", actor=actor)
        note = f" {action.note}"
        escalation.acknowledged_at, escalation.acknowledged_by = workflow.now(), actor.id
        escalation.step_due_at = None
        feed.record(
            actor.id,
            "acknowledge_escalation",
            f"{escalation.escalation_id}: acknowledged by {escalation.manager.name}; it "
            f"stays with them until they de-escalate or the case is resolved.{note}".rstrip(),
        )
        self._record_row(escalation)
        feed.notify(
            "contact",
            case.intake.request.contact_id,
            f"{case.case_id}: {escalation.manager.name} has your escalation",
            f"Escalation Manager {escalation.manager.name} acknowledged "
            f"{escalation.escalation_id} and is working with the team on your case.",
        )
        return f"{escalation.escalation_id} acknowledged; it stays with you"

    def de_escalate(self, action: DeEscalate, actor: Actor) -> str:
        escalation = self.ctx.case.active_escalation
        assert escalation is not None  # the lifecycle's escalation_is_active guard
        self.ctx.lifecycle.act("de_escalate", actor=actor)
        self._end(escalation, actor.id, f"de-escalated. {action.note}".rstrip())
        return f"{escalation.escalation_id} de-escalated"

    # --- S3: a breach climbs the same ladder -----------------------------------------------

    async def escalate_breach(self, at: datetime) -> None:
        """S3: a breach alerts the Escalation Managers through the same ladder as E3; if the
        case is escalated already, its manager is told of the breach."""
        case, feed = self.ctx.case, self.ctx.feed
        async with self.ctx.lock:
            if case.state in ("resolved", "closed"):
                return
            partner_id = case.intake.entitlement.partner_id
            if partner_id is not None:
                # P3: a partner case runs on the partner's targets, worked by its engineers:
                # the breach is the partner's to handle, not our Escalation Managers'.
                feed.record("sla", "breach_told_to_partner", f"{partner_id} was told")
                feed.notify(
                    "partner",
                    partner_id,
                    f"SLA breach on {case.case_id}",
                    f"Your first-response target was missed. {summary_line(case)}",
                )
                return
            active = case.active_escalation
            if active is not None:
                feed.record(
                    "sla",
                    "breach_added_to_escalation",
                    f"{active.escalation_id} is active with {active.manager.name}; told them",
                )
                feed.notify(
                    "escalation_manager",
                    active.manager.id,
                    f"SLA breach on {case.case_id}",
                    f"First-response target missed. {summary_line(case)}",
                )
                return
            note = f"no first response within {format_duration(case.sla.target)}"
            escalation_id = escalation_id_for(case.case_id, len(case.escalations) + 1)
            first_alert = contracts.EscalationAlert(  # S3: written with the plan (issue 30)
                key=f"{escalation_id}:step-0",
                escalation_id=escalation_id,
                reason=SLA_BREACH_REASON,
                note="" if self.ctx.restricted else note,
                summary=summary_line(case),
                restricted=self.ctx.restricted,
                account_id=case.intake.request.account_id,
            )
            try:  # `_open` alerts the first manager again, under the key the plan used: a no-op
                plan = await self.ctx.ask(
                    contracts.PLAN_ESCALATION,
                    contracts.EscalationPlanRequest(case_id=case.case_id, at=at, alert=first_alert),
                    contracts.EscalationPlan,
                    caller_waits=False,
                )
            except ActivityError as e:  # the directory refused: say so, never wedge the case
                feed.record("sla", "escalation_failed", str(e.cause or e), refused=True)
                return
            escalation = self._open(
                plan,
                channel="sla_breach",
                reason=SLA_BREACH_REASON,
                note=note,
                raised_by="sla",
                recorded_by=None,
                raised_at=at,
            )
            self._record_row(escalation)
        feed.publish()

    # --- the ladder ------------------------------------------------------------------------

    def _open(
        self,
        plan: contracts.EscalationPlan,
        *,
        channel: str,
        reason: str,
        note: str,
        raised_by: str,
        recorded_by: str | None,
        raised_at: datetime | None = None,
    ) -> Escalation:
        """E3/S3: the escalation goes to the first manager of its ladder, durably. The caller
        records it in the database once its priority is settled."""
        case, feed = self.ctx.case, self.ctx.feed
        now = workflow.now()
        escalation = Escalation(
            escalation_id=escalation_id_for(case.case_id, len(case.escalations) + 1),
            channel=channel,
            reason=reason,
            note=note,
            raised_by=raised_by,
            recorded_by=recorded_by,
            raised_at=raised_at or now,
            ladder=plan.ladder,
            step_due_at=now + plan.acknowledge_within,
            acknowledge_within=plan.acknowledge_within,
        )
        case.escalations.append(escalation)
        how = {
            "online": "online (Escalate Now)",
            "phone": f"by phone, recorded by {recorded_by}",
            "sla_breach": "by the SLA breach (S3)",
        }[channel]
        feed.record(
            recorded_by or raised_by,
            "escalate_now" if channel != "sla_breach" else "escalated",
            f"{escalation.escalation_id} {how}: {reason.replace('_', ' ')}. "
            f"{escalation.manager.name} ({escalation.manager.id}) is alerted and acknowledges "
            f"within {format_duration(plan.acknowledge_within)}. {note}".strip(),
        )
        self._alert_step(escalation)
        feed.notify(
            "contact",
            case.intake.request.contact_id,
            f"{case.case_id} escalated ({escalation.escalation_id})",
            f"Escalation Manager {escalation.manager.name} has your escalation "
            f"{escalation.escalation_id}.",
        )
        self._start_ladder(escalation.escalation_id)
        feed.publish_escalation()
        return escalation

    def _start_ladder(self, escalation_id: str) -> None:
        asyncio.create_task(self._climb(escalation_id))

    async def _climb(self, escalation_id: str) -> None:
        """E3: unacknowledged within the window, the escalation goes to the next manager of
        the rota, after the last one to the support director; each step a durable timer, on
        the feed and alerted once (idempotency key per step). It ends when its manager
        de-escalates or the case is resolved or closed."""
        case = self.ctx.case
        escalation = next(e for e in case.escalations if e.escalation_id == escalation_id)

        def settled() -> bool:
            return (
                not escalation.active
                or escalation.acknowledged_at is not None
                or case.state in ("resolved", "closed")
            )

        while escalation.active and case.state not in ("resolved", "closed"):
            due = escalation.step_due_at
            if escalation.acknowledged_at is not None or due is None:
                await workflow.wait_condition(
                    lambda: not escalation.active or case.state in ("resolved", "closed")
                )
                continue
            left = due - workflow.now()
            if left > timedelta(0):
                try:
                    await workflow.wait_condition(settled, timeout=left)
                    continue
                except TimeoutError:
                    pass
            self._pass_on(escalation)
        if escalation.active:
            self._end(escalation, "system", f"the case was {case.state}")

    def _pass_on(self, escalation: Escalation) -> None:
        """E3: nobody acknowledged in time: the next rung of the ladder."""
        feed = self.ctx.feed
        missed = escalation.manager
        window = format_duration(escalation.acknowledge_within)
        if escalation.step + 1 >= len(escalation.ladder):
            escalation.step_due_at = None
            feed.record(
                "escalation-ladder",
                "escalation_unacknowledged",
                f"{escalation.escalation_id}: {missed.name} ({missed.id}) did not acknowledge "
                f"within {window}; the ladder ends with them and it stays theirs",
            )
            feed.publish()
            return
        escalation.step += 1
        escalation.step_due_at = workflow.now() + escalation.acknowledge_within
        feed.record(
            "escalation-ladder",
            "escalation_passed_on",
            f"{escalation.escalation_id}: {missed.name} ({missed.id}) did not acknowledge within "
            f"{window}; now with {escalation.manager.name} ({escalation.manager.id})",
        )
        self._alert_step(escalation)
        feed.publish()

    def _alert_step(self, escalation: Escalation) -> None:
        """Alert the manager the escalation is with, once per step (E3, S3). U5: a restricted
        case's note stays on the case (the summary line carries no content either)."""
        case = self.ctx.case
        subject, body = alert_text(
            case_id=case.case_id,
            escalation_id=escalation.escalation_id,
            reason=escalation.reason,
            note="" if self.ctx.restricted else escalation.note,
            summary=summary_line(case),
            acknowledge_within=escalation.acknowledge_within,
        )
        self.ctx.feed.notify(
            "escalation_manager",
            escalation.manager.id,
            subject,
            body,
            key=f"{escalation.escalation_id}:step-{escalation.step}",
        )

    def _end(self, escalation: Escalation, actor: str, why: str) -> None:
        escalation.ended_at, escalation.ended_because, escalation.step_due_at = (
            workflow.now(),
            why,
            None,
        )
        self.ctx.feed.record(actor, "escalation_ended", f"{escalation.escalation_id}: {why}")
        self._record_row(escalation)
        self.ctx.feed.publish()
        self.ctx.feed.publish_escalation()

    def _record_row(self, escalation: Escalation) -> None:
        """The shared `escalations` table that `casework report` counts."""
        case = self.ctx.case
        self.ctx.side_effect(
            contracts.RECORD_ESCALATION,
            contracts.EscalationRecord(
                escalation_id=escalation.escalation_id,
                case_id=case.case_id,
                account=case.intake.request.account_id,
                tier=case.intake.entitlement.tier,
                priority=case.priority.value,
                channel=escalation.channel,
                reason=escalation.reason,
                raised_at=escalation.raised_at,
                acknowledged_at=escalation.acknowledged_at,
                acknowledged_by=escalation.acknowledged_by,
                ended_at=escalation.ended_at,
            ),
        )
