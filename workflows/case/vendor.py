"""Partner Branded Support: a partner case's escalation to our L3 (P3, P4).

A partner case (`entitlement.partner_id`) is worked by its partner's engineers. At L2 its
`escalate` starts a vendor escalation: a child case workflow `<case>-esc-<n>` (parent close
policy ABANDON) at our L3 whose contact is the partner. The escalation reports to the partner
case with the signal `vendor_progress`; the partner case forwards its owner's comments with
the signal `partner_info`. The escalation closes itself once resolved, returning the
resolution; closing the partner case first withdraws an open escalation and waits for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from casework import contracts
    from casework.domain.actions import Escalate
    from casework.domain.lifecycle import Actor
    from casework.domain.models import (
        ActorRole,
        CaseWorkflowInput,
        FeedEntry,
        PartnerInfo,
        VendorEscalation,
        VendorProgress,
    )
    from casework.domain.partner import (
        PROGRESS_KINDS,
        escalation_intake,
        vendor_escalation_id_for,
    )
    from casework.domain.presentation import summary_line_for_intake
    from casework.domain.validation import RECORDED, first_error

from workflows.case.context import CALLER_DEADLINE, CaseContext

CASE_WORKFLOW = "Case"
MAX_VENDOR_ESCALATIONS = 20
"""P4: escalations to us one partner case may make (one is open at a time)."""

ActFn = Callable[[str, dict[str, Any]], Awaitable[Any]]


class VendorEscalations:
    def __init__(self, ctx: CaseContext, act: ActFn) -> None:
        self.ctx = ctx
        self.act = act
        self.children: dict[str, workflow.ChildWorkflowHandle[Any, Any]] = {}
        self._to_partner: list[VendorProgress] = []
        self._telling_partner = False

    # --- on the partner case ---------------------------------------------------------------

    async def escalate(self, action: Escalate, actor: Actor) -> str:
        """P4: the partner's L2 cannot resolve it: our escalation team takes it as a vendor
        escalation, its own case workflow at our L3, on our S1 clock, talking to the partner
        only. Only a validated partner that (still) owns the account escalates. ABANDON:
        closing or rolling over the partner case never kills our work; closing it withdraws
        the escalation explicitly (`withdraw_open`)."""
        case = self.ctx.case
        partner_id = case.intake.entitlement.partner_id
        assert partner_id is not None
        if len(case.vendor_escalations) >= MAX_VENDOR_ESCALATIONS:
            raise self.ctx.refuse(
                "escalate",
                actor.id,
                f"the case has gone to the vendor {MAX_VENDOR_ESCALATIONS} times, the most one "
                "case may; open a new case for a new problem",
            )
        try:
            status = await self.ctx.ask(
                contracts.CHECK_PARTNER,
                contracts.PartnerCheck(
                    account_id=case.intake.request.account_id, partner_id=partner_id
                ),
                contracts.PartnerStatus,
            )
        except ActivityError:
            raise self.ctx.refuse(
                "escalate",
                actor.id,
                "the directory did not answer; nothing was escalated, try again",
                kind="DirectoryUnavailable",
            ) from None
        if not status.allowed:
            raise self.ctx.refuse("escalate", actor.id, status.reason, kind="PartnerRefused")
        escalation_id = vendor_escalation_id_for(case.case_id, len(case.vendor_escalations) + 1)
        intake = escalation_intake(
            case, escalation_id, action.reason, actor.id, partner_engineers=status.engineers
        )
        self.children[escalation_id] = await workflow.start_child_workflow(
            CASE_WORKFLOW,
            CaseWorkflowInput(
                intake=intake, index_search_attributes=self.ctx.options.index_search_attributes
            ),
            id=escalation_id,
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            static_summary=summary_line_for_intake(intake),
        )
        self.ctx.lifecycle.act("escalate", actor=actor)
        case.vendor_escalations.append(
            VendorEscalation(
                escalation_id=escalation_id, reason=action.reason, opened_at=workflow.now()
            )
        )
        self.ctx.feed.record(
            actor.id, "escalate", f"L2 -> vendor L3 as {escalation_id}: {action.reason}"
        )
        return (
            f"escalated to the vendor's escalation team (L3) as {escalation_id}; "
            "the case waits on the vendor"
        )

    def forward(self, actor_id: str, text: str) -> str:
        """P4: what the partner adds while it waits goes to our escalation team."""
        escalation = self._open_escalation()
        if escalation is None:  # pragma: no cover - waiting_on_vendor has an open escalation
            return "comment added"
        self.ctx.in_background(
            asyncio.ensure_future(
                self._signal(
                    escalation.escalation_id, "partner_info", PartnerInfo(actor=actor_id, text=text)
                )
            )
        )
        return f"comment added and forwarded to {escalation.escalation_id}"

    def _open_escalation(self) -> VendorEscalation | None:
        return next((e for e in self.ctx.case.vendor_escalations if e.status == "open"), None)

    async def on_progress(self, payload: Any, actor_of: Callable[[Any], str]) -> None:
        """P4: our escalation reports to its partner case: the partner sees our progress on
        its feed; a resolution returns the case to the partner's engineer."""
        case, feed = self.ctx.case, self.ctx.feed
        try:
            progress = VendorProgress.model_validate(payload)
        except ValidationError as e:
            feed.record(actor_of(payload), "vendor_progress", f"refused: {first_error(e)}", True)
            return
        escalation = next(
            (e for e in case.vendor_escalations if e.escalation_id == progress.escalation_id),
            None,
        )
        if escalation is None:
            feed.record(
                progress.actor,
                "vendor_progress",
                f"refused: {progress.escalation_id} is not an escalation of this case",
                refused=True,
            )
            return
        async with self.ctx.lock:
            self._take_progress(escalation, progress)
        feed.publish()

    def _take_progress(self, escalation: VendorEscalation, progress: VendorProgress) -> None:
        """Signals from one sender may overtake each other: the state is the latest by the
        escalation's own sequence, and its close carries the resolution too."""
        case, feed = self.ctx.case, self.ctx.feed
        if progress.seq >= escalation.seq:
            escalation.state, escalation.seq = progress.state, progress.seq
        text = f"{escalation.escalation_id}: {progress.text}" if progress.text else ""
        feed.record(progress.actor, f"vendor_{progress.kind}", text or escalation.escalation_id)
        back_with_partner = escalation.status == "open" and progress.kind in ("resolve", "close")
        resolution = progress.text if progress.kind == "resolve" else progress.resolution
        if back_with_partner and resolution:
            escalation.status, escalation.resolution = "resolved", resolution
            self._notify_owner(f"{case.case_id}: the vendor solved the escalation", resolution)
        elif progress.kind == "close" and escalation.status == "open":
            escalation.status = "withdrawn"
        elif progress.kind == "request_info":
            self._notify_owner(f"{case.case_id}: the vendor needs information", progress.text)
        if back_with_partner and case.state == "waiting_on_vendor":
            self.ctx.lifecycle.act("vendor_resolved", actor=Actor("vendor", ActorRole.SYSTEM))

    def _notify_owner(self, subject: str, body: str) -> None:
        if self.ctx.case.owner:
            self.ctx.feed.notify("engineer", self.ctx.case.owner.engineer_id, subject, body)

    async def withdraw_open(self) -> None:
        """P4: the partner case closed while we work on its escalation: the partner withdraws
        it, and the partner case waits for it to end (a child outliving its parent would be
        abandoned work, and the test server locks time skipping on it)."""
        case = self.ctx.case
        for escalation in case.vendor_escalations:
            if escalation.status != "open":
                continue
            closed = await self._signal(
                escalation.escalation_id,
                "act",
                {
                    "action": "close",
                    "actor": case.intake.entitlement.partner_id,
                    "reason": f"the partner case {case.case_id} was closed",
                },
            )
            if not closed:
                escalation.status = "withdrawn"
                continue
            handle = self.children.get(escalation.escalation_id)
            if handle is not None:
                try:
                    await handle
                except Exception as e:  # terminated or failed: it has ended all the same
                    workflow.logger.warning("escalation %s ended: %s", escalation.escalation_id, e)
            try:
                await workflow.wait_condition(
                    lambda e=escalation: e.status != "open",  # type: ignore[misc]
                    timeout=CALLER_DEADLINE,
                )
            except TimeoutError:
                escalation.status = "withdrawn"

    # --- on the vendor escalation (our side) -----------------------------------------------

    async def on_partner_info(self, payload: Any, actor_of: Callable[[Any], str]) -> None:
        """P4: on a vendor escalation, information the partner added to its case: it answers
        our request for information when we wait on the partner, else it is a comment."""
        case, feed = self.ctx.case, self.ctx.feed
        partner_id = case.intake.request.contact_id
        if not case.intake.escalated_from:
            feed.record(
                actor_of(payload),
                "partner_info",
                "refused: this case is not a vendor escalation",
                refused=True,
            )
            return
        try:
            info = PartnerInfo.model_validate(payload, context=RECORDED)  # taken by its case
        except ValidationError as e:
            feed.record(partner_id, "partner_info", f"refused: {first_error(e)}", refused=True)
            return
        name = "provide_info" if case.state == "waiting_on_customer" else "comment"
        await self.act(name, {"actor": partner_id, "text": f"({info.actor}) {info.text}"})

    def tell_partner_case(self, entry: FeedEntry) -> None:
        """P4: the partner case sees our progress (what the partner itself said, it knows)."""
        case = self.ctx.case
        if not case.intake.escalated_from:
            return
        partner_id = case.intake.request.contact_id
        if entry.refused or entry.kind not in PROGRESS_KINDS:
            return
        if entry.actor == partner_id and entry.kind != "close":
            return
        try:
            progress = VendorProgress(
                escalation_id=case.case_id,
                kind=entry.kind,
                actor=entry.actor,
                text=entry.text,
                state=case.state,
                seq=case.feed_total,
                resolution=case.resolution,
            )
        except ValidationError:  # pragma: no cover - feed entries carry valid ids
            return
        self._to_partner.append(progress)
        if not self._telling_partner:
            self._telling_partner = True
            self.ctx.in_background(asyncio.ensure_future(self._tell_in_order()))

    async def _tell_in_order(self) -> None:
        """P4: the partner case sees our progress in the order we made it. Signals sent
        together reach the other case in any order (the server delivers each on its own), so
        each waits for the one before it: our first response never lands after our
        resolution."""
        parent = self.ctx.case.intake.escalated_from
        try:
            while self._to_partner and parent:
                await self._signal(parent, "vendor_progress", self._to_partner.pop(0))
        finally:
            self._telling_partner = False

    def answered(self) -> bool:
        """P4: a vendor escalation ends when we resolve it: the resolution returns to the
        partner case, which the partner then resolves with its customer."""
        return self.ctx.case.intake.escalated_from is not None and self.ctx.case.state == "resolved"

    def return_to_partner_case(self) -> None:
        case = self.ctx.case
        partner = Actor(case.intake.request.contact_id, ActorRole.CONTACT)
        self.ctx.lifecycle.act("close", actor=partner)
        case.closed_at = workflow.now()
        self.ctx.feed.record(
            "system", "close", f"resolution returned to partner case {case.intake.escalated_from}"
        )
        self.ctx.feed.publish()

    async def _signal(self, workflow_id: str, signal: str, arg: Any) -> bool:
        """Signal another case; False (logged) if it is gone: nothing left to tell."""
        try:
            await workflow.get_external_workflow_handle(workflow_id).signal(signal, arg)
        except Exception as e:  # the other case has closed or never existed
            workflow.logger.warning("signal %s to %s failed: %s", signal, workflow_id, e)
            return False
        return True
