"""Routing a case to an engineer (E1): the queue by level, the restricted queue (U2, U3), the
partner's queue (P3), waiting for business hours (U4), and the first offer to a premium
account's expert (A3).

Every wait here also ends when the case is asked to move to another version (issue 28,
moves.py): the routing round ends, the case rolls over, and its next run routes again (an
offer to the premium expert stands until it expires, across the move)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from casework import contracts
    from casework.domain import sla as sla_rules
    from casework.domain.actions import Accept
    from casework.domain.durations import format_duration
    from casework.domain.lifecycle import Actor
    from casework.domain.models import (
        ActorRole,
        Assignment,
        Channel,
        Level,
        PremiumCoverage,
        PremiumOffer,
    )
    from casework.domain.presentation import summary_line
    from casework.domain.routing import PREMIUM_QUEUE, queue_for_case

from workflows.case.context import CaseContext


class Routing:
    def __init__(self, ctx: CaseContext) -> None:
        self.ctx = ctx
        options = ctx.options
        self.opening = options.opening_route if options.carried is None else None
        """E1: the first routing, made by the intake as the case opened (`activities/cases.py`);
        taken instead of asking, in the case's first workflow task only. Actions wait until it
        is taken or dropped (None), so none is judged on a case that only looks unrouted."""

    def announce_restricted_routing(self) -> None:
        """U2/U3: by phone the receiving agent routes the call to a US citizen and tells the
        customer; on the web the routing is automatic. Same outcome for both."""
        request = self.ctx.case.intake.request
        if request.channel is Channel.PHONE:
            actor = request.received_by or "customer-care"
            text = f"{actor} routed the call to the US citizen queue and told the customer so"
        else:
            actor = "routing"
            text = "routed automatically to the US citizen queue (web case)"
        self.ctx.feed.record(actor, "routed_to_us_citizen", text)
        self.ctx.feed.notify(
            "contact",
            request.contact_id,
            f"{self.ctx.case.case_id} is with US Citizen Support",
            "Your case is handled only by verified US citizen engineers, Monday to Friday "
            "9:00-17:00 in your time zone, excluding holidays.",
        )

    async def route(self) -> None:
        """E1: hand the case to a matching engineer; wait in the queue while there is none.

        No lock is held while the routing activity runs, so the customer can still comment
        on or close a queued case whatever the directory does."""
        case, feed = self.ctx.case, self.ctx.feed
        if await self._wait_for_business_hours():
            return
        if await self._offer_to_premium_expert():
            return
        result = await self._route_to(engineer_id=None)
        if self.ctx.restricted:
            case.restricted_members = result.restricted_members
        if case.state != "queued":
            return  # closed meanwhile; the assignment is released when the case finishes
        case.queue = result.queue
        if result.assignment is not None:
            self._assign(result.assignment)
            return
        retry = case.intake.entitlement.routing_retry
        if feed.last_kind() != "waiting_in_queue":
            feed.record(
                "routing",
                "waiting_in_queue",
                f"{result.reason}; trying again every {format_duration(retry)}",
            )
            feed.publish()
        try:
            await workflow.wait_condition(
                lambda: case.state != "queued" or self.ctx.move_due(), timeout=retry
            )
        except TimeoutError:
            pass

    async def _route_to(self, engineer_id: str | None) -> contracts.RouteResult:
        """E1: one routing attempt at the case's level; A3: to the premium expert when named;
        U2: within the restricted queue; P3: within the partner's queue."""
        case = self.ctx.case
        case.routing_attempts += 1
        opening, self.opening = self.opening, None
        if (
            opening is not None
            and engineer_id is None
            and case.routing_attempts == 1
            and workflow.now() == case.opened_at  # still the case's first workflow task
        ):
            return opening  # recorded by the intake under this attempt's key
        return await self.ctx.ask(
            contracts.ROUTE_CASE,
            contracts.RouteRequest(
                case_id=case.case_id,
                level=case.level,
                product=case.intake.request.product,
                category=case.intake.request.category,
                at=workflow.now(),
                attempt=case.routing_attempts,
                restricted=self.ctx.restricted,
                partner_id=case.intake.entitlement.partner_id,
                engineer_id=engineer_id,
            ),
            contracts.RouteResult,
            caller_waits=False,
        )

    async def _wait_for_business_hours(self) -> bool:
        """U4: outside the service's hours a case waits in the queue and is assigned when the
        window opens: one durable timer, no polling. True if it waited."""
        case, clock = self.ctx.case, self.ctx.clock
        closed = clock.paused_reason(workflow.now())
        if closed is None:
            return False
        self.opening = None  # the hours closed since the intake routed it: routed when open
        opens = clock.next_open(workflow.now())
        self.ctx.feed.record("routing", "waiting_for_business_hours", closed)
        self.ctx.feed.publish()
        try:
            await workflow.wait_condition(
                lambda: case.state != "queued" or self.ctx.move_due(),
                timeout=opens - workflow.now(),
            )
        except TimeoutError:
            pass
        return True

    def _assign(self, owner: Assignment) -> None:
        case, feed = self.ctx.case, self.ctx.feed
        self.ctx.lifecycle.act("assign", actor=Actor("routing", ActorRole.SYSTEM))
        case.owner = owner
        feed.record(
            "routing",
            "assigned",
            f"{owner.engineer_name} ({owner.engineer_id}), {owner.level.value}, "
            f"queue {owner.queue}",
        )
        feed.notify(
            "engineer", owner.engineer_id, f"{case.case_id} assigned to you", summary_line(case)
        )
        feed.publish()

    # --- premium coverage (A3) -------------------------------------------------------------

    async def _offer_to_premium_expert(self) -> bool:
        """A3: on its first routing, a case of an account with a designated or dedicated expert
        is offered to that expert if it is inside their business hours; it goes to normal
        routing (and the expert is told) when it is outside them or when the expert does not
        accept in time. True when this routing round is over (the expert took the case, or the
        case left the queue meanwhile)."""
        case = self.ctx.case
        premium, offer = case.intake.entitlement.premium, case.premium_offer
        if premium is None or (offer is not None and offer.status != "offered"):
            return False
        if offer is None:  # else still on offer, from before the case moved (moves.py)
            offer = self._offer(premium)
            if offer is None:
                return False
        return await self._wait_for_expert(premium, offer)

    def _offer(self, premium: PremiumCoverage) -> PremiumOffer | None:
        """A3: the offer to the expert, if inside their hours (else they are told, and None)."""
        case, feed = self.ctx.case, self.ctx.feed
        case_id, account = case.case_id, case.intake.account_name
        expert = f"{premium.offering} expert {premium.expert_name} ({premium.expert_id})"
        now = workflow.now()
        closed = sla_rules.clock_for(premium.hours).paused_reason(now)
        if closed is not None:
            case.premium_offer = PremiumOffer(
                status="out_of_hours", expert_id=premium.expert_id, at=now
            )
            feed.record("routing", "premium_out_of_hours", f"{expert} is {closed}")
            feed.notify(
                "engineer",
                premium.expert_id,
                f"{case_id} of {account} opened outside your hours",
                f"{summary_line(case)}. It was routed to the support queues.",
            )
            feed.publish()
            return None
        window = format_duration(premium.accept_within)
        offer = PremiumOffer(
            status="offered",
            expert_id=premium.expert_id,
            at=now,
            expires_at=now + premium.accept_within,
        )
        case.premium_offer = offer
        case.queue = PREMIUM_QUEUE
        feed.record("routing", "offered_to_expert", f"{expert}: accept within {window}")
        feed.notify(
            "engineer",
            premium.expert_id,
            f"{case_id} of {account} offered to you ({premium.offering})",
            f"{summary_line(case)}. Accept within {window}:"
            f" casework accept {case_id} --as {premium.expert_id}",
        )
        feed.publish()
        return offer

    async def _wait_for_expert(self, premium: PremiumCoverage, offer: PremiumOffer) -> bool:
        """A3: until the expert accepts or the offer expires; True when this routing round is
        over (the expert took the case, it left the queue, or it moves on with the offer)."""
        case, feed = self.ctx.case, self.ctx.feed
        assert offer.expires_at is not None  # an offer made is one that expires
        left = offer.expires_at - workflow.now()
        try:
            if left > timedelta(0):
                await workflow.wait_condition(
                    lambda: (
                        offer.status != "offered" or case.state != "queued" or self.ctx.move_due()
                    ),
                    timeout=left,
                )
        except TimeoutError:
            pass
        if case.state != "queued":
            return True
        if offer.status == "accepted":
            return await self._assign_premium_expert()
        if self.ctx.move_due() and workflow.now() < offer.expires_at:
            return True  # the offer stands in the case's next run
        case_id, account = case.case_id, case.intake.account_name
        expert = f"{premium.offering} expert {premium.expert_name} ({premium.expert_id})"
        window = format_duration(premium.accept_within)
        offer.status = "expired"
        feed.record(
            "routing",
            "expert_did_not_accept",
            f"{expert} did not accept within {window}; routing normally",
        )
        feed.notify(
            "engineer",
            premium.expert_id,
            f"{case_id} of {account} went to the support queues",
            f"You did not accept {case_id} within {window}; it was routed normally.",
        )
        case.queue = queue_for_case(case.intake, case.level)
        return False

    async def _assign_premium_expert(self) -> bool:
        """A3: the expert accepted: record their assignment and hand them the case."""
        case = self.ctx.case
        assert case.premium_offer is not None
        result = await self._route_to(engineer_id=case.premium_offer.expert_id)
        if case.state != "queued":
            return True
        if result.assignment is None:
            self.ctx.feed.record(
                "routing", "expert_unavailable", f"{result.reason}; routing normally"
            )
            case.queue = queue_for_case(case.intake, case.level)
            return False
        case.level = max(case.level, result.assignment.level, key=list(Level).index)
        case.queue = result.queue
        self._assign(result.assignment)
        return True

    def accept_refusal(self, action: Accept) -> str | None:
        """A3: only the expert the case is offered to, while it is on offer."""
        offer = self.ctx.case.premium_offer
        if offer is None or offer.status != "offered" or self.ctx.case.state != "queued":
            return "the case is not on offer to a premium expert now (A3)"
        if action.actor != offer.expert_id:
            return f"the case is offered to {offer.expert_id}, the account's expert, only (A3)"
        if self.ctx.move_due():  # its next run waits for the accept (moves.py)
            return (
                "the case is moving to a new version of casework this moment; accept again in "
                "a few seconds: the offer stands"
            )
        return None

    def accept(self, action: Accept, actor: Actor) -> str:
        """A3: the premium expert takes the case offered to them, within the offer's time."""
        assert self.ctx.case.premium_offer is not None  # accept_refusal said so
        self.ctx.case.premium_offer.status = "accepted"
        self.ctx.feed.record(actor.id, "accept", "accepted the case offered to them (A3)")
        return "accepted"

    async def assigned_to(self, engineer_id: str) -> bool:
        """Wait for the accepted offer's routing round; True if the case went to them."""
        case = self.ctx.case
        await workflow.wait_condition(lambda: case.owner is not None or case.state != "queued")
        return case.owner is not None and case.owner.engineer_id == engineer_id
