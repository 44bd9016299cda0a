"""Files on a case and the customer's approval before any log reaches product engineering.

U5: a file stays in the attachment store; the case keeps a reference. U6: the US citizen
engineer asks, an authorised contact approves (exactly the named logs, for one PR) or
declines, a durable gate reminds after one business day and expires after five (policy),
and the PR carries exactly the approved logs, checked again by the sharing activity.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from casework import contracts
    from casework.domain import sla as sla_rules
    from casework.domain.actions import ApproveLogs, Attach, DeclineLogs, RequestLogApproval
    from casework.domain.lifecycle import Actor
    from casework.domain.models import Attachment, LogApproval, UsCitizenTerms
    from casework.domain.us_citizen import pending_approval, usable_approval

from workflows.case.context import CaseContext

MAX_ATTACHMENTS = 200
"""Files one case may reference; the files themselves are in the attachment store."""
MAX_LOG_APPROVALS = 20
"""U6: requests to share logs one case may make (one is pending at a time)."""


class LogApprovals:
    def __init__(self, ctx: CaseContext) -> None:
        self.ctx = ctx

    def resume(self) -> None:
        """After a roll-over: the gates of pending requests run on."""
        for approval in self.ctx.case.log_approvals:
            if approval.status == "pending":
                self._start_gate(approval.request_id)

    async def attach(self, action: Attach, actor: Actor) -> str:
        """U5: the file stays in the attachment store; the case keeps a reference, to a file
        the store holds (nobody could open any other)."""
        case = self.ctx.case
        if len(case.attachments) >= MAX_ATTACHMENTS:
            raise self.ctx.refuse(
                "attach",
                actor.id,
                f"the case has {MAX_ATTACHMENTS} files already, the most one case keeps; "
                "put further files in an archive and attach that",
            )
        await self._check_stored(action, actor)
        self.ctx.lifecycle.act("attach", actor=actor)
        attachment = Attachment(
            id=f"att-{len(case.attachments) + 1}",
            name=action.name,
            kind=action.kind,
            sha256=action.sha256,
            size=action.size,
            uploaded_by=actor.id,
            uploaded_at=workflow.now(),
        )
        case.attachments.append(attachment)
        self.ctx.feed.record(
            actor.id,
            "attached",
            f"{attachment.id}: {attachment.name} ({attachment.kind}, {attachment.size} bytes)",
        )
        return f"attached as {attachment.id}"

    async def _check_stored(self, action: Attach, actor: Actor) -> None:
        """U5: refuse a reference to a file the attachment store does not hold (the door
        stores a file before attaching it; a raw update or a stale reference may not)."""
        try:
            status = await self.ctx.ask(
                contracts.CHECK_ATTACHMENT,
                contracts.AttachmentCheck(sha256=action.sha256),
                contracts.AttachmentStatus,
            )
        except ActivityError:
            raise self.ctx.refuse(
                "attach",
                actor.id,
                "the attachment store did not answer; nothing was attached, try again",
                kind="AttachmentStoreUnavailable",
            ) from None
        if not status.stored:
            raise self.ctx.refuse("attach", actor.id, status.reason)

    def request(self, action: RequestLogApproval, actor: Actor) -> str:
        """U6: the US citizen engineer asks before any log goes to product engineering; the
        request is a durable gate with a reminder and an expiry in business days."""
        case, feed = self.ctx.case, self.ctx.feed
        logs = {a.id: a for a in case.attachments if a.kind == "log"}
        unknown = [log for log in action.logs if log not in logs]
        if unknown:
            raise self.ctx.refuse(
                "request_log_approval",
                actor.id,
                f"{', '.join(unknown)}: not a log on this case; its logs are "
                f"{', '.join(logs) or 'none (attach them first)'}",
            )
        if not case.intake.approvers:
            raise self.ctx.refuse(
                "request_log_approval",
                actor.id,
                f"account {case.intake.request.account_id} has no contact authorised to approve "
                "sharing logs; ask the customer to name one in the directory",
            )
        if len(case.log_approvals) >= MAX_LOG_APPROVALS:
            raise self.ctx.refuse(
                "request_log_approval",
                actor.id,
                f"the case has asked {MAX_LOG_APPROVALS} times already, the most one case may; "
                "ask the customer by phone and record their answer on the case",
            )
        terms = case.intake.entitlement.us_citizen or UsCitizenTerms()
        calendar = sla_rules.calendar_of(case.intake.entitlement.clock)
        now = workflow.now()
        self.ctx.lifecycle.act("request_log_approval", actor=actor)
        approval = LogApproval(
            request_id=f"{case.case_id}-logs-{len(case.log_approvals) + 1}",
            logs=list(dict.fromkeys(action.logs)),
            note=action.note,
            requested_by=actor.id,
            requested_at=now,
            reminder_at=calendar.add(
                now, calendar.business_day * terms.approval_reminder_business_days
            ),
            expires_at=calendar.add(
                now, calendar.business_day * terms.approval_expiry_business_days
            ),
        )
        case.log_approvals.append(approval)
        names = self._log_names(approval.logs)
        feed.record(
            actor.id,
            "request_log_approval",
            f"{approval.request_id}: may we share {names} with product engineering, whose "
            f"engineers may not be US citizens? Answer by {approval.expires_at.isoformat()}. "
            f"{action.note}".strip(),
        )
        self._record_approval(approval)
        self._notify_approvers(
            f"{case.case_id}: may we share logs with engineering? ({approval.request_id})",
            f"Your US citizen engineer asks to share {names} with product engineering for this "
            f"case only. Approve or decline {approval.request_id} by "
            f"{approval.expires_at.isoformat()}. {action.note}".strip(),
        )
        self._start_gate(approval.request_id)
        expires = approval.expires_at.isoformat()
        return f"asked the customer ({approval.request_id}); it expires {expires}"

    async def answer(self, action: ApproveLogs | DeclineLogs, actor: Actor) -> str:
        """U6: an authorised contact approves exactly the named logs for one PR, or declines."""
        name = "approve_logs" if isinstance(action, ApproveLogs) else "decline_logs"
        case, feed = self.ctx.case, self.ctx.feed
        approval = pending_approval(case)
        assert approval is not None  # the lifecycle's approval_is_pending guard
        if action.request_id not in (None, approval.request_id):
            raise self.ctx.refuse(
                name, actor.id, f"the request waiting for an answer is {approval.request_id}"
            )
        status = "approved" if isinstance(action, ApproveLogs) else "declined"
        answered = approval.model_copy(
            update={"status": status, "decided_by": actor.id, "decided_at": workflow.now()}
        )
        try:  # on record before the case moves on: the sharing code checks this record
            await self.ctx.ask(contracts.RECORD_LOG_APPROVAL, self._record_of(answered), type(None))
        except ActivityError:
            raise self.ctx.refuse(
                name, actor.id, "the answer could not be recorded; nothing changed, try again"
            ) from None
        self.ctx.lifecycle.act(name, actor=actor)
        approval.status, approval.decided_by, approval.decided_at = (
            answered.status,
            answered.decided_by,
            answered.decided_at,
        )
        names = self._log_names(approval.logs)
        if status == "approved":
            feed.record(
                actor.id, name, f"{approval.request_id}: approved sharing {names}, for one PR only"
            )
            self._notify_owner(f"{case.case_id}: logs approved", f"{approval.request_id}: {names}")
            return f"approved: {names} may go to product engineering with this case's PR"
        reason = getattr(action, "reason", "")
        feed.record(actor.id, name, f"{approval.request_id}: declined. {reason}".strip())
        self._tell_customer_of_delay(approval, "you declined to share logs")
        self._notify_owner(f"{case.case_id}: logs declined", approval.request_id)
        return "declined: the case goes on without sharing logs; resolution may take longer"

    def _start_gate(self, request_id: str) -> None:
        asyncio.create_task(self._gate(request_id))

    async def _gate(self, request_id: str) -> None:
        """U6: remind the customer after one business day; expire after five (policy)."""
        case, feed = self.ctx.case, self.ctx.feed
        approval = next(a for a in case.log_approvals if a.request_id == request_id)
        while approval.status == "pending" and case.state != "closed":
            deadline = approval.expires_at if approval.reminded else approval.reminder_at
            left = deadline - workflow.now()
            if left > timedelta(0):
                try:
                    await workflow.wait_condition(
                        lambda: approval.status != "pending" or case.state == "closed",
                        timeout=left,
                    )
                    continue
                except TimeoutError:
                    pass
            if not approval.reminded:
                approval.reminded = True
                feed.record(
                    "system",
                    "approval_reminder",
                    f"{approval.request_id}: reminded the customer; it expires "
                    f"{approval.expires_at.isoformat()}",
                )
                self._notify_approvers(
                    f"Reminder: {case.case_id} waits for your answer ({approval.request_id})",
                    f"Please approve or decline sharing {self._log_names(approval.logs)} by "
                    f"{approval.expires_at.isoformat()}.",
                )
                continue
            approval.status, approval.decided_at = "expired", workflow.now()
            feed.record(
                "system",
                "approval_expired",
                f"{approval.request_id}: no answer in time; the case goes on without sharing logs",
            )
            self._record_approval(approval)
            self._tell_customer_of_delay(approval, "the request to share logs expired unanswered")
            self._notify_owner(f"{case.case_id}: log request expired", approval.request_id)
            feed.publish()

    async def share_with(self, pr_id: str) -> str:
        """U6: the PR gets exactly the approved logs, checked against the recorded approval by
        the sharing activity; without an approval, nothing is shared. A case without US
        Citizen Support shares nothing through here."""
        if not self.ctx.restricted:
            return ""
        case, feed = self.ctx.case, self.ctx.feed
        approval = usable_approval(case)
        if approval is None:
            last = case.log_approvals[-1] if case.log_approvals else None
            why = {
                "declined": "the customer declined",
                "expired": "the request to share logs expired",
            }.get(last.status if last else "", "no approval to share logs was given")
            feed.record("engineering-tracker", "pr_without_logs", f"{pr_id} carries no logs: {why}")
            return " without logs"
        logs = [a for a in case.attachments if a.id in approval.logs]
        try:
            await self.ctx.ask(
                contracts.SHARE_LOGS,
                contracts.ShareLogsRequest(
                    request_id=approval.request_id,
                    case_id=case.case_id,
                    pr_id=pr_id,
                    logs=logs,
                    at=workflow.now(),
                ),
                contracts.ShareLogsResult,
            )
        except ActivityError as e:
            reason = str(e.cause) if e.cause else "the tracker did not answer"
            feed.record(
                "engineering-tracker", "logs_not_shared", f"{pr_id}: {reason}", refused=True
            )
            return f" without logs ({reason})"
        approval.pr_id = pr_id
        names = self._log_names(approval.logs)
        feed.record(
            "engineering-tracker",
            "logs_shared",
            f"{names} attached to {pr_id} under {approval.request_id}",
        )
        return f"; {names} shared under {approval.request_id}"

    def _record_of(self, approval: LogApproval) -> contracts.ApprovalRecord:
        return contracts.ApprovalRecord(
            request_id=approval.request_id,
            case_id=self.ctx.case.case_id,
            logs=approval.logs,
            status=approval.status,
            decided_by=approval.decided_by,
            decided_at=approval.decided_at,
        )

    def _record_approval(self, approval: LogApproval) -> None:
        self.ctx.side_effect(contracts.RECORD_LOG_APPROVAL, self._record_of(approval))

    def _log_names(self, log_ids: list[str]) -> str:
        names = {a.id: a.name for a in self.ctx.case.attachments}
        return ", ".join(f"{i} ({names.get(i, '?')})" for i in log_ids)

    def _notify_approvers(self, subject: str, body: str) -> None:
        for approver in self.ctx.case.intake.approvers:
            self.ctx.feed.notify("contact", approver, subject, body)

    def _notify_owner(self, subject: str, body: str) -> None:
        if self.ctx.case.owner:
            self.ctx.feed.notify("engineer", self.ctx.case.owner.engineer_id, subject, body)

    def _tell_customer_of_delay(self, approval: LogApproval, why: str) -> None:
        """U6: declining is allowed, and the customer is told what it may cost."""
        case = self.ctx.case
        self.ctx.feed.notify(
            "contact",
            case.intake.request.contact_id,
            f"{case.case_id}: continuing without logs",
            f"{why.capitalize()} ({approval.request_id}). We go on without them; without logs, "
            "product engineering may need significantly longer to resolve your case.",
        )
