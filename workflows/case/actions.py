"""The Case Center actions that move a case through its life (E2, E4, E5): comments, asking
the customer for information and getting it, escalating one level up the ladder, the Problem
Report at L3, resolving, reopening and closing.

The clock's actions (respond, change priority), the files and approvals, the Escalation
Manager's and the premium expert's have their own parts; a partner case's escalation at L2
and its comments while it waits on us go to the vendor part (P4), wired in by the workflow.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from casework import contracts
    from casework.domain.actions import (
        Close,
        Comment,
        Escalate,
        FileProblemReport,
        ProvideInfo,
        Reopen,
        RequestInfo,
        Resolve,
    )
    from casework.domain.lifecycle import Actor
    from casework.domain.models import ActorRole, Level
    from casework.domain.routing import queue_for_case

from workflows.case.context import CaseContext

ShareLogsFn = Callable[[str], Awaitable[str]]
ForwardFn = Callable[[str, str], str]
EscalateFn = Callable[[Escalate, Actor], Awaitable[str]]


class CaseActions:
    def __init__(
        self,
        ctx: CaseContext,
        *,
        share_logs: ShareLogsFn,
        escalate_to_vendor: EscalateFn,
        forward_to_vendor: ForwardFn,
    ) -> None:
        self.ctx = ctx
        self.share_logs = share_logs
        self.escalate_to_vendor = escalate_to_vendor
        self.forward_to_vendor = forward_to_vendor

    @property
    def _contact(self) -> str:
        return self.ctx.case.intake.request.contact_id

    def _tell_owner(self, subject: str, body: str) -> None:
        if self.ctx.case.owner:
            self.ctx.feed.notify("engineer", self.ctx.case.owner.engineer_id, subject, body)

    def comment(self, action: Comment, actor: Actor) -> str:
        """E4 Case Comments, from the customer or the owner; each tells the other side."""
        case, feed = self.ctx.case, self.ctx.feed
        self.ctx.lifecycle.act("comment", actor=actor)
        feed.record(actor.id, "comment", action.text)
        if actor.role is ActorRole.CONTACT:
            self._tell_owner(f"Comment on {case.case_id}", action.text)
        else:
            feed.notify("contact", self._contact, f"Comment on {case.case_id}", action.text)
        if case.state == "waiting_on_vendor" and actor.is_owner:
            return self.forward_to_vendor(actor.id, action.text)  # P4
        return "comment added"

    def request_info(self, action: RequestInfo, actor: Actor) -> str:
        """E5: the engineer asks the customer; the case says it waits on them."""
        case, feed = self.ctx.case, self.ctx.feed
        self.ctx.lifecycle.act("request_info", actor=actor)
        case.waiting_for = list(action.items)
        asked = ", ".join(i.replace("_", " ") for i in action.items)
        feed.record(
            actor.id, "request_info", f"waiting on the customer for: {asked}. {action.text}".strip()
        )
        feed.notify(
            "contact",
            self._contact,
            f"{case.case_id} needs information from you",
            f"Please send: {asked}. {action.text}".strip(),
        )
        return f"waiting on the customer for: {asked}"

    def provide_info(self, action: ProvideInfo, actor: Actor) -> str:
        """E5: the customer answers; the case is back with the engineer."""
        case = self.ctx.case
        self.ctx.lifecycle.act("provide_info", actor=actor)
        case.waiting_for = []
        self.ctx.feed.record(actor.id, "provide_info", action.text)
        self._tell_owner(f"{case.case_id}: the customer answered", action.text)
        return "information received; the case is back with the engineer"

    async def escalate(self, action: Escalate, actor: Actor) -> str:
        """E2: the owner cannot resolve it at this level: back to the queue one level up.
        P4: a partner case at L2 goes to our escalation team instead."""
        if self.ctx.lifecycle.partner_case_at_partner_top():
            return await self.escalate_to_vendor(action, actor)
        case = self.ctx.case
        self.ctx.lifecycle.act("escalate", actor=actor)
        previous = case.level
        case.level = previous.next() or Level.L3
        case.queue = queue_for_case(case.intake, case.level)
        case.owner = None
        self.ctx.feed.record(
            actor.id, "escalate", f"{previous.value} -> {case.level.value}: {action.reason}"
        )
        return f"escalated to {case.level.value}; routing to the {case.queue} queue"

    async def file_problem_report(self, action: FileProblemReport, actor: Actor) -> str:
        """E2: at L3 a Problem Report to product engineering; the case stays open and linked.
        U6: it carries exactly the logs the customer approved, if any."""
        case = self.ctx.case
        try:
            result = await self.ctx.ask(
                contracts.FILE_PROBLEM_REPORT,
                contracts.ProblemReportRequest(
                    key=f"{case.case_id}:pr",
                    case_id=case.case_id,
                    summary=action.summary,
                    filed_by=action.actor,
                    at=workflow.now(),
                ),
                contracts.ProblemReportResult,
            )
        except ActivityError:
            raise self.ctx.refuse(
                "file_problem_report",
                action.actor,
                "the engineering tracker did not answer; nothing was filed, try again",
                kind="TrackerUnavailable",
            ) from None
        pr_id = result.pr_id
        self.ctx.lifecycle.act("file_problem_report", actor=actor)
        case.problem_report = pr_id
        self.ctx.feed.record(actor.id, "file_problem_report", f"{pr_id}: {action.summary}")
        self.ctx.feed.notify(
            "contact",
            self._contact,
            f"{case.case_id} linked to {pr_id}",
            "Product engineering is working on your issue; the case stays open.",
        )
        shared = await self.share_logs(pr_id)
        return f"filed {pr_id}{shared}; the case stays open and linked to it"

    def resolve(self, action: Resolve, actor: Actor) -> str:
        case = self.ctx.case
        self.ctx.lifecycle.act("resolve", actor=actor)
        case.resolution = action.resolution
        case.waiting_for = []
        self.ctx.feed.record(actor.id, "resolve", action.resolution)
        self.ctx.feed.notify(
            "contact", self._contact, f"{case.case_id} resolved", action.resolution
        )
        return "resolved; the customer can close or reopen it"

    def reopen(self, action: Reopen, actor: Actor) -> str:
        case = self.ctx.case
        self.ctx.lifecycle.act("reopen", actor=actor)
        case.resolution = None
        self.ctx.feed.record(actor.id, "reopen", action.reason)
        self._tell_owner(f"{case.case_id} reopened", action.reason)
        return "reopened; back with the engineer"

    def close(self, action: Close, actor: Actor) -> str:
        """E4: the customer closes their case at any time."""
        self.ctx.lifecycle.act("close", actor=actor)
        self.ctx.case.closed_at = workflow.now()
        self.ctx.feed.record(actor.id, "close", action.reason or "closed by the customer")
        return "closed"
