"""The case workflow: one per support case, from intake to close. Workflow id = case number.

Input: `CaseWorkflowInput` (the intake facts; the whole `CaseState` after continue-as-new).
Result: the final `CaseView` once the customer closes the case.

Updates, one per Case Center action (E4), each taking the action's JSON and answering an
`ActionResult`, or failing with `ActionRefused` / `InvalidPayload` and a sentence that says
what was wrong (the refusal is on the feed, the case unchanged):
    respond, comment, request_info, provide_info, escalate, file_problem_report,
    change_priority, resolve, close, reopen
E3: `escalate_now` (a contact, online or by phone through Customer Care; answers with the
escalation id and its Escalation Manager), `acknowledge_escalation` and `de_escalate` (the
manager who has it). Each escalation walks the rota on a durable timer per step (the policy's
acknowledgement window) until acknowledged; S3 breaches raise one on the same ladder.
Signal `act`: the same actions as `{"action": "<name>", ...}`, fire-and-forget, for the Web
UI's signal form; refusals land on the feed.
Query `view`: `{"viewer": "<id>"}` -> `CaseView`.

Timers: the first-response clock (S2/S3, moved at once by a priority change, S4); the routing
retry while no matching engineer is on shift (E1).
Continue-as-new: when the server suggests it (or after `continue_as_new_after_events`), once
all handlers have finished, with the whole state and feed.

Partner cases (P3, P4): a partner case (`entitlement.partner_id`) is routed to its partner's
engineers in `partner:<id>`. At L2 its `escalate` starts a vendor escalation: a child case
workflow `<case>-esc-<n>` (parent close policy ABANDON) at our L3 whose contact is the partner.
The escalation reports to the partner case with the signal `vendor_progress`
(`VendorProgress`); the partner case forwards its owner's comments with the signal
`partner_info` (`PartnerInfo`). The escalation closes itself once resolved, returning the
resolution; closing the partner case first withdraws (closes) an open escalation and waits for
it to end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from casework import contracts
    from casework import search_attributes as sa
    from casework.domain import sla as sla_rules
    from casework.domain.durations import format_duration
    from casework.domain.escalation import SLA_BREACH_REASON, escalation_id_for, is_higher
    from casework.domain.lifecycle import Actor, CaseLifecycle
    from casework.domain.models import (
        ACTION_MODELS,
        ESCALATION_ACTIONS,
        Accept,
        AcknowledgeEscalation,
        ActionBase,
        ActionResult,
        ActorRole,
        ApproveLogs,
        Assignment,
        Attach,
        Attachment,
        CaseState,
        CaseView,
        CaseWorkflowInput,
        ChangePriority,
        Channel,
        DeclineLogs,
        DeEscalate,
        Escalate,
        EscalateNow,
        Escalation,
        FeedEntry,
        FileProblemReport,
        IntakeResult,
        Level,
        LogApproval,
        PartnerInfo,
        PremiumOffer,
        ProvideInfo,
        RequestInfo,
        RequestLogApproval,
        Resolve,
        UsCitizenTerms,
        VendorEscalation,
        VendorProgress,
        ViewRequest,
    )
    from casework.domain.partner import (
        PROGRESS_KINDS,
        escalation_intake,
        partner_queue,
        vendor_escalation_id_for,
    )
    from casework.domain.presentation import present, summary_line, summary_line_for_intake
    from casework.domain.routing import PREMIUM_QUEUE, first_level, queue_for
    from casework.domain.us_citizen import (
        RESTRICTED_QUEUE,
        may_see_content,
        pending_approval,
        redact,
        usable_approval,
    )

SIDE_EFFECT_TIMEOUT = timedelta(seconds=30)
"""start-to-close of one notification, routing or release attempt."""
SIDE_EFFECT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
)
"""Background side effects retry until the database answers: a case never forgets them."""
FILE_AND_APPROVAL_ACTIONS = frozenset(
    {"attach", "request_log_approval", "approve_logs", "decline_logs"}
)
WAKE_AT_WINDOW_CHANGES = "wake-at-business-window-changes"
"""Patch id: business-hours cases started before it did not wake at window changes."""
ESCALATE_SLA_BREACH = "sla-breach-escalation-ladder"
"""Patch id: cases before it alerted the manager on duty once on a breach, without a ladder."""
CASE_FACTS = "record-case-facts"
"""Patch id: cases started before it kept no facts for `casework report`."""
CALLER_DEADLINE = timedelta(minutes=1)
"""How long a caller waiting on an update (filing a PR) waits for the tracker before a refusal."""


def _first_error(error: ValidationError) -> str:
    parts = []
    for err in error.errors():
        where = ".".join(str(p) for p in err["loc"]) or "payload"
        parts.append(f"{where}: {err['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


@workflow.defn(name="Case")
class CaseWorkflow:
    @workflow.init
    def __init__(self, input: CaseWorkflowInput) -> None:
        self.options = input
        self.case: CaseState = input.carried or self._new_case(input.intake)
        self.lifecycle = CaseLifecycle(self.case)
        if input.carried is None:
            self.case.restricted_members = list(input.intake.restricted_members)
        self.lock = asyncio.Lock()
        self.pending: list[asyncio.Future[Any]] = []
        self.escalations: dict[str, workflow.ChildWorkflowHandle[Any, Any]] = {}

    # --- the story of a case -------------------------------------------------------------

    @workflow.run
    async def run(self, input: CaseWorkflowInput) -> CaseView:
        if input.carried is None:
            self._announce_opening()
            self._record_facts()
        else:
            self._record("system", "continued", "history rolled over; state and feed carried whole")
        self._publish()
        clock = asyncio.create_task(self._watch_first_response())
        for approval in self.case.log_approvals:
            if approval.status == "pending":
                self._start_gate(approval.request_id)
        for escalation in self.case.escalations:
            if escalation.active:
                self._start_ladder(escalation.escalation_id)

        while self.case.state != "closed":
            if self.case.state == "queued":
                await self._route()
                continue
            await workflow.wait_condition(
                lambda: (
                    self.case.state in ("queued", "closed")
                    or self._time_to_roll_over()
                    or self._escalation_answered()
                )
            )
            if self._escalation_answered():
                await self._drain()  # the resolution reaches the partner case before the close
                if self._escalation_answered():
                    self._return_to_partner_case()
                continue
            if self.case.state != "closed" and self._time_to_roll_over():
                await self._roll_over(clock)

        clock.cancel()
        await self._finish()
        return self._view("system")

    def _announce_opening(self) -> None:
        request = self.case.intake.request
        self._record(
            request.received_by or request.contact_id,
            "opened",
            f"{request.channel.value} case for {self.case.intake.account_name}: "
            f"{request.product} {request.version}, {self.case.priority.value}; first response due "
            f"{self.case.sla.due_at.isoformat()}",
        )
        self._notify(
            "contact",
            request.contact_id,
            f"{self.case.case_id} opened",
            f"We have your case {self.case.case_id} ({self.case.priority.value}). "
            f"An engineer will respond by {self.case.sla.due_at.isoformat()}.",
        )
        if self._restricted:
            self._announce_restricted_routing()

    def _announce_restricted_routing(self) -> None:
        """U2/U3: by phone the receiving agent routes the call to a US citizen and tells the
        customer; on the web the routing is automatic. Same outcome for both."""
        request = self.case.intake.request
        if request.channel is Channel.PHONE:
            actor = request.received_by or "customer-care"
            text = f"{actor} routed the call to the US citizen queue and told the customer so"
        else:
            actor = "routing"
            text = "routed automatically to the US citizen queue (web case)"
        self._record(actor, "routed_to_us_citizen", text)
        self._notify(
            "contact",
            request.contact_id,
            f"{self.case.case_id} is with US Citizen Support",
            "Your case is handled only by verified US citizen engineers, Monday to Friday "
            "9:00-17:00 in your time zone, excluding holidays.",
        )

    async def _route(self) -> None:
        """E1: hand the case to a matching engineer; wait in the queue while there is none.

        No lock is held while the routing activity runs, so the customer can still comment
        on or close a queued case whatever the directory does."""
        if await self._wait_for_business_hours():
            return
        if await self._offer_to_premium_expert():
            return
        result = await self._route_to(engineer_id=None)
        if self._restricted:
            self.case.restricted_members = result.restricted_members
        if self.case.state != "queued":
            return  # closed meanwhile; the assignment is released when the case finishes
        self.case.queue = result.queue
        if result.assignment is not None:
            self._assign(result.assignment)
            return
        retry = self.case.intake.entitlement.routing_retry
        if self._last_feed_kind() != "waiting_in_queue":
            self._record(
                "routing",
                "waiting_in_queue",
                f"{result.reason}; trying again every {format_duration(retry)}",
            )
            self._publish()
        try:
            await workflow.wait_condition(lambda: self.case.state != "queued", timeout=retry)
        except TimeoutError:
            pass

    async def _route_to(self, engineer_id: str | None) -> contracts.RouteResult:
        """E1: one routing attempt at the case's level; A3: to the premium expert when named;
        U2: within the restricted queue; P3: within the partner's queue."""
        self.case.routing_attempts += 1
        return await workflow.execute_activity(
            contracts.ROUTE_CASE,
            contracts.RouteRequest(
                case_id=self.case.case_id,
                level=self.case.level,
                product=self.case.intake.request.product,
                category=self.case.intake.request.category,
                at=workflow.now(),
                attempt=self.case.routing_attempts,
                restricted=self._restricted,
                partner_id=self.case.intake.entitlement.partner_id,
                engineer_id=engineer_id,
            ),
            result_type=contracts.RouteResult,
            start_to_close_timeout=SIDE_EFFECT_TIMEOUT,
            retry_policy=SIDE_EFFECT_RETRY,
        )

    async def _wait_for_business_hours(self) -> bool:
        """U4: outside the service's hours a case waits in the queue and is assigned when the
        window opens: one durable timer, no polling. True if it waited."""
        clock = self._clock(self.case.intake)
        closed = clock.paused_reason(workflow.now())
        if closed is None:
            return False
        opens = clock.next_open(workflow.now())
        self._record("routing", "waiting_for_business_hours", closed)
        self._publish()
        try:
            await workflow.wait_condition(
                lambda: self.case.state != "queued", timeout=opens - workflow.now()
            )
        except TimeoutError:
            pass
        return True

    def _assign(self, owner: Assignment) -> None:
        self.lifecycle.act("assign", actor=Actor("routing", ActorRole.SYSTEM))
        self.case.owner = owner
        self._record(
            "routing",
            "assigned",
            f"{owner.engineer_name} ({owner.engineer_id}), {owner.level.value}, "
            f"queue {owner.queue}",
        )
        self._notify(
            "engineer",
            owner.engineer_id,
            f"{self.case.case_id} assigned to you",
            summary_line(self.case),
        )
        self._publish()

    async def _watch_first_response(self) -> None:
        """S2/S3/S4: breach at the target, not a moment before; a moved target moves the timer
        in the same workflow task, so a stale timer never fires a breach that no longer applies.

        U4: a business-hours clock also wakes the case when its window opens or closes, since a
        query sees the time of the case's last workflow task: without the wake-up, a case
        viewed on Saturday would show its clock running as it was at Friday 16:55."""
        clock = self._clock(self.case.intake)
        while sla_rules.is_running(self.case.sla) and self.case.state != "closed":
            due = self.case.sla.due_at
            left = due - workflow.now()
            timed_out = False
            if left > timedelta(0):
                change = clock.next_change(workflow.now())
                wake = left
                if change is not None and workflow.patched(WAKE_AT_WINDOW_CHANGES):
                    wake = min(left, change - workflow.now())
                try:
                    await workflow.wait_condition(self._clock_changed_since(due), timeout=wake)
                    continue
                except TimeoutError:
                    if wake < left:
                        continue
                    timed_out = True
            if sla_rules.is_breached_at(self.case.sla, workflow.now()):
                self._breach(at=due if timed_out else workflow.now())

    def _clock_changed_since(self, due: datetime) -> Callable[[], bool]:
        """Wakes the watcher when the clock stops, the case closes, or the target moves (S4)."""
        return lambda: (
            not sla_rules.is_running(self.case.sla)
            or self.case.state == "closed"
            or self.case.sla.due_at != due
        )

    def _breach(self, at: datetime) -> None:
        """S3: recorded on the case for good; the Escalation Manager on duty alerted once."""
        self.case.sla.breached_at = at
        self._record(
            "sla",
            "sla_breached",
            f"no first response within {format_duration(self.case.sla.target)} "
            f"({self.case.priority.value}, {self.case.intake.entitlement.tier.value})",
        )
        self._publish()
        self._record_facts()
        if workflow.patched(ESCALATE_SLA_BREACH):
            # Kept with the side effects, so a roll-over or the close waits for it.
            self.pending.append(asyncio.create_task(self._escalate_breach(at)))
            self.case.sla.breach_alerted = True
            return
        self._side_effect(
            contracts.ALERT_ESCALATION_MANAGER,
            contracts.ManagerAlert(
                key=f"{self.case.case_id}:sla-breach",
                case_id=self.case.case_id,
                subject=f"SLA breach on {self.case.case_id}",
                body=f"First-response target missed. {summary_line(self.case)}",
                at=workflow.now(),
            ),
        )
        self.case.sla.breach_alerted = True

    async def _finish(self) -> None:
        await self._withdraw_open_escalations()
        self._side_effect(
            contracts.RELEASE_CASE,
            contracts.ReleaseRequest(case_id=self.case.case_id, at=workflow.now()),
        )
        if self.case.owner:
            self._notify(
                "engineer",
                self.case.owner.engineer_id,
                f"{self.case.case_id} closed",
                self._closing_notice(),
            )
        self._publish()
        await self._drain()
        await workflow.wait_condition(workflow.all_handlers_finished)

    def _closing_notice(self) -> str:
        """What the owning engineer is told at the close: the customer closed it, or (P4) a
        vendor escalation closed with its outcome gone back to the partner case."""
        resolution = self.case.resolution or ""
        if self.case.intake.escalated_from:
            return (
                f"The vendor escalation is closed; partner case {self.case.intake.escalated_from}"
                f" has the outcome. {resolution}"
            ).strip()
        return f"The customer closed the case. {resolution}".strip()

    def _time_to_roll_over(self) -> bool:
        limit = self.options.continue_as_new_after_events
        info = workflow.info()
        if limit is not None and info.get_current_history_length() >= limit:
            return True
        return info.is_continue_as_new_suggested()

    async def _roll_over(self, clock: asyncio.Task[None]) -> None:
        """Continue-as-new with the whole state once no handler is mid-way and no side effect
        is outstanding. An action can arrive while the side effects drain (filing a PR waits on
        the tracker): wait for it too, or its caller gets an error and the new run loses it."""
        while True:
            await workflow.wait_condition(workflow.all_handlers_finished)
            await self._drain()
            if workflow.all_handlers_finished() and not self.pending:
                break
        clock.cancel()
        workflow.continue_as_new(self.options.model_copy(update={"carried": self.case}))

    # --- Case Center actions (E4), as updates ---------------------------------------------

    @workflow.update
    async def respond(self, payload: Any = None) -> ActionResult:
        return await self._act("respond", payload)

    @workflow.update
    async def comment(self, payload: Any = None) -> ActionResult:
        return await self._act("comment", payload)

    @workflow.update
    async def request_info(self, payload: Any = None) -> ActionResult:
        return await self._act("request_info", payload)

    @workflow.update
    async def provide_info(self, payload: Any = None) -> ActionResult:
        return await self._act("provide_info", payload)

    @workflow.update
    async def escalate(self, payload: Any = None) -> ActionResult:
        return await self._act("escalate", payload)

    @workflow.update
    async def file_problem_report(self, payload: Any = None) -> ActionResult:
        return await self._act("file_problem_report", payload)

    @workflow.update
    async def change_priority(self, payload: Any = None) -> ActionResult:
        return await self._act("change_priority", payload)

    @workflow.update
    async def resolve(self, payload: Any = None) -> ActionResult:
        return await self._act("resolve", payload)

    @workflow.update
    async def close(self, payload: Any = None) -> ActionResult:
        return await self._act("close", payload)

    @workflow.update
    async def reopen(self, payload: Any = None) -> ActionResult:
        return await self._act("reopen", payload)

    @workflow.update
    async def attach(self, payload: Any = None) -> ActionResult:
        return await self._act("attach", payload)

    @workflow.update
    async def request_log_approval(self, payload: Any = None) -> ActionResult:
        return await self._act("request_log_approval", payload)

    @workflow.update
    async def approve_logs(self, payload: Any = None) -> ActionResult:
        return await self._act("approve_logs", payload)

    @workflow.update
    async def decline_logs(self, payload: Any = None) -> ActionResult:
        return await self._act("decline_logs", payload)

    @workflow.signal
    async def act(self, payload: Any = None) -> None:
        """Any action as `{"action": name, ...}`; a refusal is recorded on the feed only."""
        name = payload.get("action") if isinstance(payload, dict) else None
        if not isinstance(name, str) or name not in ACTION_MODELS:
            self._record(
                _actor_id_of(payload),
                "unknown_action",
                f"refused: 'action' must be one of {', '.join(ACTION_MODELS)}",
                refused=True,
            )
            return
        fields = {k: v for k, v in payload.items() if k != "action"}
        try:
            await self._act(name, fields)
        except ApplicationError:
            pass

    @workflow.query
    def view(self, request: ViewRequest | None = None) -> CaseView:
        """Read-only, so a refused read cannot be recorded here; U5 still holds: a viewer
        outside the restricted queue (as the case last learned it) sees no content."""
        return self._view((request or ViewRequest()).viewer)

    # --- how an action is taken -----------------------------------------------------------

    async def _act(self, name: str, payload: Any) -> ActionResult:
        action = self._parse(name, payload)
        actor = self._actor(action.actor)
        async with self.lock:
            reason = self.lifecycle.refusal(
                name, actor=actor, priority=getattr(action, "priority", None)
            )
            if reason:
                raise self._refuse(name, action.actor, reason)
            message = await self._apply(name, action, actor)
        self._publish()
        return ActionResult(
            case_id=self.case.case_id,
            action=name,
            state=self.case.state,
            level=self.case.level,
            message=message,
            **self._escalation_answer(name),
        )

    def _escalation_answer(self, name: str) -> dict[str, str]:
        """E3: the caller of an escalation action learns its id and who has it."""
        if name not in ESCALATION_ACTIONS or not self.case.escalations:
            return {}
        escalation = self.case.escalations[-1]
        manager = escalation.manager
        return {
            "escalation_id": escalation.escalation_id,
            "escalation_manager": f"{manager.id} ({manager.name})",
        }

    def _parse(self, name: str, payload: Any) -> ActionBase:
        model = ACTION_MODELS[name]
        example = ", ".join(
            f'"{f}": ...' for f, info in model.model_fields.items() if info.is_required()
        )
        if not isinstance(payload, dict):
            raise self._refuse(
                name,
                _actor_id_of(payload),
                f"the payload must be a JSON object like {{{example}}}",
                kind="InvalidPayload",
            )
        try:
            return model.model_validate(payload)
        except ValidationError as e:
            raise self._refuse(
                name,
                _actor_id_of(payload),
                f"{_first_error(e)} (expected {{{example}}})",
                kind="InvalidPayload",
            ) from None

    def _refuse(
        self, name: str, actor: str, reason: str, kind: str = "ActionRefused"
    ) -> ApplicationError:
        """Record the refusal on the feed and build the error the caller sees."""
        self._record(actor, name, f"refused: {reason}", refused=True)
        return ApplicationError(
            f"{name} refused on {self.case.case_id}: {reason}", type=kind, non_retryable=True
        )

    def _actor(self, actor_id: str) -> Actor:
        escalation = self.case.active_escalation
        if escalation is not None and escalation.manager.id == actor_id:  # E3
            return Actor(actor_id, ActorRole.ESCALATION_MANAGER, has_escalation=True)
        if actor_id in self.case.intake.account_contacts:
            return Actor(
                actor_id, ActorRole.CONTACT, is_approver=actor_id in self.case.intake.approvers
            )
        owner = self.case.owner
        if owner is not None and owner.engineer_id == actor_id:
            return Actor(actor_id, ActorRole.ENGINEER, is_owner=True)
        return Actor(actor_id, ActorRole.UNKNOWN)

    async def _apply(self, name: str, action: ActionBase, actor: Actor) -> str:
        """The action is allowed: take the transition and its side effects."""
        case = self.case
        contact = case.intake.request.contact_id
        if name in FILE_AND_APPROVAL_ACTIONS:
            return await self._apply_files_and_approvals(name, action, actor)
        if name == "escalate" and self.lifecycle.partner_case_at_partner_top():
            assert isinstance(action, Escalate)
            return await self._escalate_to_vendor(action, actor)
        if name in ESCALATION_ACTIONS:
            return await self._apply_escalation(name, action, actor)
        if name == "file_problem_report":
            assert isinstance(action, FileProblemReport)
            pr_id = await self._file_problem_report(action)
            self.lifecycle.act(name, actor=actor)
            case.problem_report = pr_id
            self._record(actor.id, name, f"{pr_id}: {action.summary}")
            self._notify(
                "contact",
                contact,
                f"{case.case_id} linked to {pr_id}",
                "Product engineering is working on your issue; the case stays open.",
            )
            shared = await self._share_approved_logs(pr_id) if self._restricted else ""
            return f"filed {pr_id}{shared}; the case stays open and linked to it"

        self.lifecycle.act(name, actor=actor, priority=getattr(action, "priority", None))
        text = getattr(action, "text", "")
        if name == "respond":
            if case.sla.responded_at is None:
                case.sla.responded_at = workflow.now()
                self._record(actor.id, "first_response", text)
                self._record_facts()
                message = "first response recorded; the SLA clock stopped"
            else:
                self._record(actor.id, name, text)
                message = "response recorded"
            self._notify("contact", contact, f"Update on {case.case_id}", text)
            return message
        if name == "comment":
            self._record(actor.id, name, text)
            if actor.role is ActorRole.CONTACT and case.owner:
                self._notify("engineer", case.owner.engineer_id, f"Comment on {case.case_id}", text)
            elif actor.role is not ActorRole.CONTACT:
                self._notify("contact", contact, f"Comment on {case.case_id}", text)
            if case.state == "waiting_on_vendor" and actor.is_owner:
                return self._forward_to_vendor(actor.id, text)
            return "comment added"
        if name == "request_info":
            assert isinstance(action, RequestInfo)
            case.waiting_for = list(action.items)
            asked = ", ".join(i.replace("_", " ") for i in action.items)
            self._record(
                actor.id, name, f"waiting on the customer for: {asked}. {action.text}".strip()
            )
            self._notify(
                "contact",
                contact,
                f"{case.case_id} needs information from you",
                f"Please send: {asked}. {action.text}".strip(),
            )
            return f"waiting on the customer for: {asked}"
        if name == "provide_info":
            assert isinstance(action, ProvideInfo)
            case.waiting_for = []
            self._record(actor.id, name, action.text)
            if case.owner:
                self._notify(
                    "engineer",
                    case.owner.engineer_id,
                    f"{case.case_id}: the customer answered",
                    action.text,
                )
            return "information received; the case is back with the engineer"
        if name == "escalate":
            assert isinstance(action, Escalate)
            previous = case.level
            case.level = previous.next() or Level.L3
            case.queue = self._queue_for(case.intake, case.level)
            case.owner = None
            self._record(actor.id, name, f"{previous.value} -> {case.level.value}: {action.reason}")
            return f"escalated to {case.level.value}; routing to the {case.queue} queue"
        if name == "change_priority":
            assert isinstance(action, ChangePriority)
            return self._change_priority(actor.id, action)
        if name == "resolve":
            assert isinstance(action, Resolve)
            case.resolution = action.resolution
            case.waiting_for = []
            self._record(actor.id, name, action.resolution)
            self._notify("contact", contact, f"{case.case_id} resolved", action.resolution)
            return "resolved; the customer can close or reopen it"
        if name == "reopen":
            case.resolution = None
            self._record(actor.id, name, getattr(action, "reason", ""))
            if case.owner:
                self._notify(
                    "engineer",
                    case.owner.engineer_id,
                    f"{case.case_id} reopened",
                    getattr(action, "reason", ""),
                )
            return "reopened; back with the engineer"
        if name == "close":
            case.closed_at = workflow.now()
            self._record(actor.id, name, getattr(action, "reason", "") or "closed by the customer")
            return "closed"
        raise ApplicationError(f"no handler for {name}", non_retryable=True)  # pragma: no cover

    # --- files and the customer's approval before logs reach engineering (U5, U6) ----------

    async def _apply_files_and_approvals(self, name: str, action: ActionBase, actor: Actor) -> str:
        if isinstance(action, Attach):
            return self._attach(action, actor)
        if isinstance(action, RequestLogApproval):
            return self._request_log_approval(action, actor)
        assert isinstance(action, ApproveLogs | DeclineLogs)
        return await self._answer_log_approval(name, action, actor)

    def _attach(self, action: Attach, actor: Actor) -> str:
        """U5: the file stays in the attachment store; the case keeps a reference."""
        self.lifecycle.act("attach", actor=actor)
        attachment = Attachment(
            id=f"att-{len(self.case.attachments) + 1}",
            name=action.name,
            kind=action.kind,
            sha256=action.sha256,
            size=action.size,
            uploaded_by=actor.id,
            uploaded_at=workflow.now(),
        )
        self.case.attachments.append(attachment)
        self._record(
            actor.id,
            "attached",
            f"{attachment.id}: {attachment.name} ({attachment.kind}, {attachment.size} bytes)",
        )
        return f"attached as {attachment.id}"

    def _request_log_approval(self, action: RequestLogApproval, actor: Actor) -> str:
        """U6: the US citizen engineer asks before any log goes to product engineering; the
        request is a durable gate with a reminder and an expiry in business days."""
        case = self.case
        logs = {a.id: a for a in case.attachments if a.kind == "log"}
        unknown = [log for log in action.logs if log not in logs]
        if unknown:
            raise self._refuse(
                "request_log_approval",
                actor.id,
                f"{', '.join(unknown)}: not a log on this case; its logs are "
                f"{', '.join(logs) or 'none (attach them first)'}",
            )
        if not case.intake.approvers:
            raise self._refuse(
                "request_log_approval",
                actor.id,
                f"account {case.intake.request.account_id} has no contact authorised to approve "
                "sharing logs; ask the customer to name one in the directory",
            )
        terms = case.intake.entitlement.us_citizen or UsCitizenTerms()
        calendar = sla_rules.calendar_of(case.intake.entitlement.clock)
        now = workflow.now()
        self.lifecycle.act("request_log_approval", actor=actor)
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
        self._record(
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

    async def _answer_log_approval(
        self, name: str, action: ApproveLogs | DeclineLogs, actor: Actor
    ) -> str:
        """U6: an authorised contact approves exactly the named logs for one PR, or declines."""
        approval = pending_approval(self.case)
        assert approval is not None  # the lifecycle's approval_is_pending guard
        if action.request_id not in (None, approval.request_id):
            raise self._refuse(
                name, actor.id, f"the request waiting for an answer is {approval.request_id}"
            )
        status = "approved" if isinstance(action, ApproveLogs) else "declined"
        answered = approval.model_copy(
            update={"status": status, "decided_by": actor.id, "decided_at": workflow.now()}
        )
        try:  # on record before the case moves on: the sharing code checks this record
            await workflow.execute_activity(
                contracts.RECORD_LOG_APPROVAL,
                self._approval_record(answered),
                start_to_close_timeout=SIDE_EFFECT_TIMEOUT,
                schedule_to_close_timeout=CALLER_DEADLINE,
                retry_policy=SIDE_EFFECT_RETRY,
            )
        except ActivityError:
            raise self._refuse(
                name, actor.id, "the answer could not be recorded; nothing changed, try again"
            ) from None
        self.lifecycle.act(name, actor=actor)
        approval.status, approval.decided_by, approval.decided_at = (
            answered.status,
            answered.decided_by,
            answered.decided_at,
        )
        names = self._log_names(approval.logs)
        if status == "approved":
            self._record(
                actor.id, name, f"{approval.request_id}: approved sharing {names}, for one PR only"
            )
            self._notify_owner(
                f"{self.case.case_id}: logs approved", f"{approval.request_id}: {names}"
            )
            return f"approved: {names} may go to product engineering with this case's PR"
        reason = getattr(action, "reason", "")
        self._record(actor.id, name, f"{approval.request_id}: declined. {reason}".strip())
        self._tell_customer_of_delay(approval, "you declined to share logs")
        self._notify_owner(f"{self.case.case_id}: logs declined", approval.request_id)
        return "declined: the case goes on without sharing logs; resolution may take longer"

    def _start_gate(self, request_id: str) -> None:
        asyncio.create_task(self._approval_gate(request_id))

    async def _approval_gate(self, request_id: str) -> None:
        """U6: remind the customer after one business day; expire after five (policy)."""
        approval = next(a for a in self.case.log_approvals if a.request_id == request_id)
        while approval.status == "pending" and self.case.state != "closed":
            deadline = approval.expires_at if approval.reminded else approval.reminder_at
            left = deadline - workflow.now()
            if left > timedelta(0):
                try:
                    await workflow.wait_condition(
                        lambda: approval.status != "pending" or self.case.state == "closed",
                        timeout=left,
                    )
                    continue
                except TimeoutError:
                    pass
            if not approval.reminded:
                approval.reminded = True
                self._record(
                    "system",
                    "approval_reminder",
                    f"{approval.request_id}: reminded the customer; it expires "
                    f"{approval.expires_at.isoformat()}",
                )
                self._notify_approvers(
                    f"Reminder: {self.case.case_id} waits for your answer ({approval.request_id})",
                    f"Please approve or decline sharing {self._log_names(approval.logs)} by "
                    f"{approval.expires_at.isoformat()}.",
                )
                continue
            approval.status, approval.decided_at = "expired", workflow.now()
            self._record(
                "system",
                "approval_expired",
                f"{approval.request_id}: no answer in time; the case goes on without sharing logs",
            )
            self._record_approval(approval)
            self._tell_customer_of_delay(approval, "the request to share logs expired unanswered")
            self._notify_owner(f"{self.case.case_id}: log request expired", approval.request_id)
            self._publish()

    async def _share_approved_logs(self, pr_id: str) -> str:
        """U6: the PR gets exactly the approved logs, checked against the recorded approval by
        the sharing activity; without an approval, nothing is shared."""
        approval = usable_approval(self.case)
        if approval is None:
            last = self.case.log_approvals[-1] if self.case.log_approvals else None
            why = {
                "declined": "the customer declined",
                "expired": "the request to share logs expired",
            }.get(last.status if last else "", "no approval to share logs was given")
            self._record(
                "engineering-tracker", "pr_without_logs", f"{pr_id} carries no logs: {why}"
            )
            return " without logs"
        logs = [a for a in self.case.attachments if a.id in approval.logs]
        try:
            await workflow.execute_activity(
                contracts.SHARE_LOGS,
                contracts.ShareLogsRequest(
                    request_id=approval.request_id,
                    case_id=self.case.case_id,
                    pr_id=pr_id,
                    logs=logs,
                    at=workflow.now(),
                ),
                result_type=contracts.ShareLogsResult,
                start_to_close_timeout=SIDE_EFFECT_TIMEOUT,
                schedule_to_close_timeout=CALLER_DEADLINE,
                retry_policy=SIDE_EFFECT_RETRY,
            )
        except ActivityError as e:
            reason = str(e.cause) if e.cause else "the tracker did not answer"
            self._record(
                "engineering-tracker", "logs_not_shared", f"{pr_id}: {reason}", refused=True
            )
            return f" without logs ({reason})"
        approval.pr_id = pr_id
        names = self._log_names(approval.logs)
        self._record(
            "engineering-tracker",
            "logs_shared",
            f"{names} attached to {pr_id} under {approval.request_id}",
        )
        return f"; {names} shared under {approval.request_id}"

    def _approval_record(self, approval: LogApproval) -> contracts.ApprovalRecord:
        return contracts.ApprovalRecord(
            request_id=approval.request_id,
            case_id=self.case.case_id,
            logs=approval.logs,
            status=approval.status,
            decided_by=approval.decided_by,
            decided_at=approval.decided_at,
        )

    def _record_approval(self, approval: LogApproval) -> None:
        self._side_effect(contracts.RECORD_LOG_APPROVAL, self._approval_record(approval))

    def _log_names(self, log_ids: list[str]) -> str:
        names = {a.id: a.name for a in self.case.attachments}
        return ", ".join(f"{i} ({names.get(i, '?')})" for i in log_ids)

    def _notify_approvers(self, subject: str, body: str) -> None:
        for approver in self.case.intake.approvers:
            self._notify("contact", approver, subject, body)

    def _notify_owner(self, subject: str, body: str) -> None:
        if self.case.owner:
            self._notify("engineer", self.case.owner.engineer_id, subject, body)

    def _tell_customer_of_delay(self, approval: LogApproval, why: str) -> None:
        """U6: declining is allowed, and the customer is told what it may cost."""
        self._notify(
            "contact",
            self.case.intake.request.contact_id,
            f"{self.case.case_id}: continuing without logs",
            f"{why.capitalize()} ({approval.request_id}). We go on without them; without logs, "
            "product engineering may need significantly longer to resolve your case.",
        )

    # --- customer escalation and the Escalation Manager ladder (E3, S3, S4) ----------------

    @workflow.update
    async def escalate_now(self, payload: Any = None) -> ActionResult:
        """E3: a contact escalates (online, or by phone through Customer Care); the answer
        names the escalation and the Escalation Manager who has it."""
        return await self._act("escalate_now", payload)

    @workflow.update
    async def acknowledge_escalation(self, payload: Any = None) -> ActionResult:
        return await self._act("acknowledge_escalation", payload)

    @workflow.update
    async def de_escalate(self, payload: Any = None) -> ActionResult:
        return await self._act("de_escalate", payload)

    async def _apply_escalation(self, name: str, action: ActionBase, actor: Actor) -> str:
        if isinstance(action, EscalateNow):
            return await self._escalate_now(action, actor)
        escalation = self.case.active_escalation
        assert escalation is not None  # the lifecycle's escalation_is_active guard
        self.lifecycle.act(name, actor=actor)
        note = f" {action.note}" if isinstance(action, AcknowledgeEscalation | DeEscalate) else ""
        if name == "acknowledge_escalation":
            escalation.acknowledged_at, escalation.acknowledged_by = workflow.now(), actor.id
            escalation.step_due_at = None
            self._record(
                actor.id,
                name,
                f"{escalation.escalation_id}: acknowledged by {escalation.manager.name}; it "
                f"stays with them until they de-escalate or the case is resolved.{note}".rstrip(),
            )
            self._record_escalation(escalation)
            self._notify(
                "contact",
                self.case.intake.request.contact_id,
                f"{self.case.case_id}: {escalation.manager.name} has your escalation",
                f"Escalation Manager {escalation.manager.name} acknowledged "
                f"{escalation.escalation_id} and is working with the team on your case.",
            )
            return f"{escalation.escalation_id} acknowledged; it stays with you"
        self._end_escalation(escalation, actor.id, f"de-escalated.{note}".rstrip())
        return f"{escalation.escalation_id} de-escalated"

    async def _escalate_now(self, action: EscalateNow, actor: Actor) -> str:
        """E3: the same path online and by phone; E4/S4: it may raise the priority."""
        case = self.case
        if action.priority is not None and not is_higher(action.priority, case.priority):
            raise self._refuse(
                "escalate_now",
                actor.id,
                f"an escalation can raise the priority only; the case is {case.priority.value} "
                f"already: leave the priority out or ask for a higher one",
            )
        try:
            plan = await workflow.execute_activity(
                contracts.PLAN_ESCALATION,
                contracts.EscalationPlanRequest(
                    case_id=case.case_id, at=workflow.now(), recorded_by=action.recorded_by
                ),
                result_type=contracts.EscalationPlan,
                start_to_close_timeout=SIDE_EFFECT_TIMEOUT,
                schedule_to_close_timeout=CALLER_DEADLINE,
                retry_policy=SIDE_EFFECT_RETRY,
            )
        except ActivityError as e:
            refused = isinstance(e.cause, ApplicationError) and e.cause.non_retryable
            reason = (
                str(e.cause.message)
                if refused and isinstance(e.cause, ApplicationError)
                else "the directory did not answer; nothing changed, try again"
            )
            raise self._refuse("escalate_now", actor.id, reason) from None
        self.lifecycle.act("escalate_now", actor=actor)
        escalation = self._open_escalation(
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
            raised = f"; {self._change_priority(actor.id, change)}"
        self._record_escalation(escalation)  # after a raise: the report sees the new priority
        manager = escalation.manager
        return (
            f"{escalation.escalation_id} is with Escalation Manager {manager.name} "
            f"({manager.id}){raised}"
        )

    def _open_escalation(
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
        case = self.case
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
        self._record(
            recorded_by or raised_by,
            "escalate_now" if channel != "sla_breach" else "escalated",
            f"{escalation.escalation_id} {how}: {reason.replace('_', ' ')}. "
            f"{escalation.manager.name} ({escalation.manager.id}) is alerted and acknowledges "
            f"within {format_duration(plan.acknowledge_within)}. {note}".strip(),
        )
        self._alert_escalation_step(escalation)
        self._notify(
            "contact",
            case.intake.request.contact_id,
            f"{case.case_id} escalated ({escalation.escalation_id})",
            f"Escalation Manager {escalation.manager.name} has your escalation "
            f"{escalation.escalation_id}.",
        )
        self._start_ladder(escalation.escalation_id)
        self._publish_escalation()
        return escalation

    def _publish_escalation(self) -> None:
        """E3: `CaseEscalated` says whether an escalation is active. Upserted only when an
        escalation starts or ends, so that cases without escalations replay unchanged."""
        if self.options.index_search_attributes:
            escalated = self.case.active_escalation is not None
            workflow.upsert_search_attributes([sa.CASE_ESCALATED.value_set(escalated)])

    def _start_ladder(self, escalation_id: str) -> None:
        asyncio.create_task(self._escalation_ladder(escalation_id))

    async def _escalation_ladder(self, escalation_id: str) -> None:
        """E3: unacknowledged within the window, the escalation goes to the next manager of
        the rota, after the last one to the support director; each step a durable timer, on
        the feed and alerted once (idempotency key per step). It ends when its manager
        de-escalates or the case is resolved or closed."""
        escalation = next(e for e in self.case.escalations if e.escalation_id == escalation_id)

        def settled() -> bool:
            return (
                not escalation.active
                or escalation.acknowledged_at is not None
                or self.case.state in ("resolved", "closed")
            )

        while escalation.active and self.case.state not in ("resolved", "closed"):
            due = escalation.step_due_at
            if escalation.acknowledged_at is not None or due is None:
                await workflow.wait_condition(
                    lambda: not escalation.active or self.case.state in ("resolved", "closed")
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
            self._end_escalation(escalation, "system", f"the case was {self.case.state}")

    def _pass_on(self, escalation: Escalation) -> None:
        """E3: nobody acknowledged in time: the next rung of the ladder."""
        missed = escalation.manager
        window = format_duration(escalation.acknowledge_within)
        if escalation.step + 1 >= len(escalation.ladder):
            escalation.step_due_at = None
            self._record(
                "escalation-ladder",
                "escalation_unacknowledged",
                f"{escalation.escalation_id}: {missed.name} ({missed.id}) did not acknowledge "
                f"within {window}; the ladder ends with them and it stays theirs",
            )
            self._publish()
            return
        escalation.step += 1
        escalation.step_due_at = workflow.now() + escalation.acknowledge_within
        self._record(
            "escalation-ladder",
            "escalation_passed_on",
            f"{escalation.escalation_id}: {missed.name} ({missed.id}) did not acknowledge within "
            f"{window}; now with {escalation.manager.name} ({escalation.manager.id})",
        )
        self._alert_escalation_step(escalation)
        self._publish()

    def _alert_escalation_step(self, escalation: Escalation) -> None:
        """Alert the manager the escalation is with, once per step (E3, S3). U5: a restricted
        case's note stays on the case (the summary line carries no content either)."""
        note = "" if self._restricted else escalation.note
        self._side_effect(
            contracts.NOTIFY,
            contracts.Notification(
                key=f"{escalation.escalation_id}:step-{escalation.step}",
                case_id=self.case.case_id,
                recipient_kind="escalation_manager",
                recipient_id=escalation.manager.id,
                subject=f"Escalation {escalation.escalation_id} on {self.case.case_id}",
                body=(
                    f"{escalation.reason.replace('_', ' ')}: {note} "
                    f"{summary_line(self.case)}. Acknowledge within "
                    f"{format_duration(escalation.acknowledge_within)}: casework acknowledge "
                    f"{self.case.case_id} --as {escalation.manager.id}"
                ).strip(),
                at=workflow.now(),
            ),
        )

    def _end_escalation(self, escalation: Escalation, actor: str, why: str) -> None:
        escalation.ended_at, escalation.ended_because, escalation.step_due_at = (
            workflow.now(),
            why,
            None,
        )
        self._record(actor, "escalation_ended", f"{escalation.escalation_id}: {why}")
        self._record_escalation(escalation)
        self._publish()
        self._publish_escalation()

    def _record_escalation(self, escalation: Escalation) -> None:
        """The shared `escalations` table that `casework report` counts."""
        case = self.case
        self._side_effect(
            contracts.RECORD_ESCALATION,
            contracts.EscalationRecord(
                escalation_id=escalation.escalation_id,
                case_id=case.case_id,
                account=case.intake.request.account_id,
                tier=case.intake.entitlement.tier.value,
                priority=case.priority.value,
                channel=escalation.channel,
                reason=escalation.reason,
                raised_at=escalation.raised_at,
                acknowledged_at=escalation.acknowledged_at,
                acknowledged_by=escalation.acknowledged_by,
                ended_at=escalation.ended_at,
            ),
        )

    async def _escalate_breach(self, at: datetime) -> None:
        """S3: a breach alerts the Escalation Managers through the same ladder as E3; if the
        case is escalated already, its manager is told of the breach."""
        async with self.lock:
            if self.case.state in ("resolved", "closed"):
                return
            partner_id = self.case.intake.entitlement.partner_id
            if partner_id is not None:
                # P3: a partner case runs on the partner's targets, worked by its engineers:
                # the breach is the partner's to handle, not our Escalation Managers'.
                self._record("sla", "breach_told_to_partner", f"{partner_id} was told")
                self._notify(
                    "partner",
                    partner_id,
                    f"SLA breach on {self.case.case_id}",
                    f"Your first-response target was missed. {summary_line(self.case)}",
                )
                return
            active = self.case.active_escalation
            if active is not None:
                self._record(
                    "sla",
                    "breach_added_to_escalation",
                    f"{active.escalation_id} is active with {active.manager.name}; told them",
                )
                self._notify(
                    "escalation_manager",
                    active.manager.id,
                    f"SLA breach on {self.case.case_id}",
                    f"First-response target missed. {summary_line(self.case)}",
                )
                return
            try:
                plan = await workflow.execute_activity(
                    contracts.PLAN_ESCALATION,
                    contracts.EscalationPlanRequest(case_id=self.case.case_id, at=at),
                    result_type=contracts.EscalationPlan,
                    start_to_close_timeout=SIDE_EFFECT_TIMEOUT,
                    retry_policy=SIDE_EFFECT_RETRY,
                )
            except ActivityError as e:  # the directory refused: say so, never wedge the case
                self._record("sla", "escalation_failed", str(e.cause or e), refused=True)
                return
            escalation = self._open_escalation(
                plan,
                channel="sla_breach",
                reason=SLA_BREACH_REASON,
                note=f"no first response within {format_duration(self.case.sla.target)}",
                raised_by="sla",
                recorded_by=None,
                raised_at=at,
            )
            self._record_escalation(escalation)
        self._publish()

    # --- reads (U5) --------------------------------------------------------------------------

    @workflow.update
    async def read(self, payload: Any = None) -> CaseView:
        """The audited read: checks the viewer against the directory now and records a refused
        read of a restricted case on the feed (U5). Queries cannot record; this can."""
        if not isinstance(payload, dict):
            raise ApplicationError(
                'read needs {"viewer": "<id>"}', type="InvalidPayload", non_retryable=True
            )
        try:
            viewer = ViewRequest.model_validate(payload).viewer
        except ValidationError as e:
            raise ApplicationError(
                f"read refused: {_first_error(e)}", type="InvalidPayload", non_retryable=True
            ) from None
        if not self._restricted or viewer in self.case.intake.account_contacts:
            return self._view(viewer)
        try:
            status = await workflow.execute_activity(
                contracts.CHECK_VIEWER,
                contracts.ViewerCheck(viewer=viewer),
                result_type=contracts.ViewerStatus,
                start_to_close_timeout=SIDE_EFFECT_TIMEOUT,
                schedule_to_close_timeout=CALLER_DEADLINE,
                retry_policy=SIDE_EFFECT_RETRY,
            )
        except ActivityError:
            raise ApplicationError(
                "the directory did not answer; nothing was shown, try again",
                type="DirectoryUnavailable",
                non_retryable=True,
            ) from None
        self.case.restricted_members = status.restricted_members
        if not status.member:
            self._record(viewer, "read_refused", f"content withheld: {status.reason}", refused=True)
        return self._view(viewer)

    def _change_priority(self, actor_id: str, action: ChangePriority) -> str:
        """S4: the target is recomputed from the opening time under the new priority; if it has
        passed already the case is in breach now (the clock watcher sees it in this task)."""
        case = self.case
        previous = case.priority
        case.priority = action.priority
        target = case.intake.entitlement.targets[action.priority]
        case.sla = sla_rules.retarget(case.sla, case.opened_at, target, self._clock(case.intake))
        reason = f": {action.reason}" if action.reason else ""
        self._record(
            actor_id,
            "change_priority",
            f"{previous.value} -> {action.priority.value}{reason}; first response due "
            f"{case.sla.due_at.isoformat()}",
        )
        self._record_facts()
        if case.owner:
            self._notify(
                "engineer",
                case.owner.engineer_id,
                f"{case.case_id} is now {action.priority.value}",
                summary_line(case),
            )
        if sla_rules.is_running(case.sla) and case.sla.due_at <= workflow.now():
            return f"priority {action.priority.value}; its target has passed: the case is in breach"
        return f"priority {action.priority.value}; first response due {case.sla.due_at.isoformat()}"

    async def _file_problem_report(self, action: FileProblemReport) -> str:
        try:
            result = await workflow.execute_activity(
                contracts.FILE_PROBLEM_REPORT,
                contracts.ProblemReportRequest(
                    key=f"{self.case.case_id}:pr",
                    case_id=self.case.case_id,
                    summary=action.summary,
                    filed_by=action.actor,
                    at=workflow.now(),
                ),
                result_type=contracts.ProblemReportResult,
                start_to_close_timeout=SIDE_EFFECT_TIMEOUT,
                schedule_to_close_timeout=CALLER_DEADLINE,
                retry_policy=SIDE_EFFECT_RETRY,
            )
        except ActivityError:
            raise self._refuse(
                "file_problem_report",
                action.actor,
                "the engineering tracker did not answer; nothing was filed, try again",
                kind="TrackerUnavailable",
            ) from None
        return result.pr_id

    # --- bookkeeping ----------------------------------------------------------------------

    def _new_case(self, intake: IntakeResult) -> CaseState:
        now = workflow.now()
        priority = intake.request.priority
        target = intake.entitlement.targets[priority]
        # P4: a vendor escalation starts at our L3; A5: a security issue at L2 at the earliest
        level = Level.L3 if intake.escalated_from else first_level(intake.request.category)
        return CaseState(
            case_id=intake.case_id,
            intake=intake,
            priority=priority,
            level=level,
            queue=self._queue_for(intake, level),
            opened_at=now,
            sla=sla_rules.start_clock(now, target, self._clock(intake)),
        )

    @staticmethod
    def _queue_for(intake: IntakeResult, level: Level) -> str:
        """E1; U2: a restricted case stays in the US citizen queue at every level.
        P3: a partner case stays in its partner's queue."""
        if intake.entitlement.partner_id:
            return partner_queue(intake.entitlement.partner_id)
        return RESTRICTED_QUEUE if intake.entitlement.restricted else queue_for(level)

    @staticmethod
    def _clock(intake: IntakeResult) -> sla_rules.ServiceClock:
        return sla_rules.clock_for(intake.entitlement.clock)

    def _record(self, actor: str, kind: str, text: str = "", refused: bool = False) -> None:
        entry = FeedEntry(at=workflow.now(), actor=actor, kind=kind, text=text, refused=refused)
        self.case.feed.append(entry)
        if self.case.intake.escalated_from:
            self._tell_partner_case(entry)

    def _last_feed_kind(self) -> str | None:
        return self.case.feed[-1].kind if self.case.feed else None

    def _notify(self, kind: str, person: str, subject: str, body: str) -> None:
        if kind == "contact" and self.case.intake.escalated_from:
            # P4: on a vendor escalation we talk to the partner, never to its customer.
            kind, person = "partner", self.case.intake.request.partner_id or person
        self._side_effect(
            contracts.NOTIFY,
            contracts.Notification(
                key=f"{self.case.case_id}:{len(self.case.feed)}:{kind}:{person}",
                case_id=self.case.case_id,
                recipient_kind=kind,
                recipient_id=person,
                subject=subject,
                body=body,
                at=workflow.now(),
            ),
        )

    def _side_effect(self, activity: str, arg: Any) -> None:
        """Start an activity the case does not wait for; drained before close or roll-over."""
        self.pending = [p for p in self.pending if not p.done()]
        self.pending.append(
            workflow.start_activity(
                activity,
                arg,
                start_to_close_timeout=SIDE_EFFECT_TIMEOUT,
                retry_policy=SIDE_EFFECT_RETRY,
            )
        )

    async def _drain(self) -> None:
        while self.pending:
            batch, self.pending = self.pending, []
            await asyncio.gather(*batch)

    def _view(self, viewer: str) -> CaseView:
        now = workflow.now()
        view = present(
            self.case, viewer, now, self.lifecycle.allowed_now(), self._clock(self.case.intake)
        )
        return view if may_see_content(self.case, viewer) else redact(view, self.case)

    @property
    def _restricted(self) -> bool:
        return self.case.intake.entitlement.restricted

    def _publish(self) -> None:
        """Search attributes and the Web UI's details say where the case stands."""
        case = self.case
        workflow.set_current_details(
            f"**{case.state}** · {case.level.value} · "
            f"{case.owner.engineer_name if case.owner else 'unassigned'} · {summary_line(case)}"
        )
        if not self.options.index_search_attributes:
            return
        workflow.upsert_search_attributes(
            [
                sa.CASE_STATE.value_set(case.state),
                sa.CASE_PRIORITY.value_set(case.priority.value),
                sa.CASE_TIER.value_set(case.intake.entitlement.tier.value),
                sa.CASE_LEVEL.value_set(case.level.value),
                sa.CASE_ACCOUNT.value_set(case.intake.request.account_id),
                sa.CASE_CATEGORY.value_set(case.intake.request.category.value),
                sa.CASE_OWNER.value_set(case.owner.engineer_id if case.owner else ""),
                sa.CASE_QUEUE.value_set(case.queue),
                sa.CASE_SLA_BREACHED.value_set(case.sla.breached_at is not None),
                sa.CASE_SLA_DUE.value_set(case.sla.due_at),
                sa.CASE_RESTRICTED.value_set(self._restricted),
            ]
        )

    # --- Partner Branded Support: the vendor escalation (P3, P4) --------------------------

    async def _escalate_to_vendor(self, action: Escalate, actor: Actor) -> str:
        """P4: the partner's L2 cannot resolve it: our escalation team takes it as a vendor
        escalation, its own case workflow (a child of this one, id `<case>-esc-<n>`) at our L3,
        on our S1 clock, talking to the partner only. Only a validated partner that (still)
        owns the account escalates. ABANDON: closing or rolling over the partner case never
        kills our work; closing it withdraws the escalation explicitly (`_finish`)."""
        case = self.case
        partner_id = case.intake.entitlement.partner_id
        assert partner_id is not None
        try:
            status = await workflow.execute_activity(
                contracts.CHECK_PARTNER,
                contracts.PartnerCheck(
                    account_id=case.intake.request.account_id, partner_id=partner_id
                ),
                result_type=contracts.PartnerStatus,
                start_to_close_timeout=SIDE_EFFECT_TIMEOUT,
                schedule_to_close_timeout=CALLER_DEADLINE,
                retry_policy=SIDE_EFFECT_RETRY,
            )
        except ActivityError:
            raise self._refuse(
                "escalate",
                actor.id,
                "the directory did not answer; nothing was escalated, try again",
                kind="DirectoryUnavailable",
            ) from None
        if not status.allowed:
            raise self._refuse("escalate", actor.id, status.reason, kind="PartnerRefused")
        escalation_id = vendor_escalation_id_for(case.case_id, len(case.vendor_escalations) + 1)
        intake = escalation_intake(case, escalation_id, action.reason, actor.id)
        self.escalations[escalation_id] = await workflow.start_child_workflow(
            CaseWorkflow.run,
            CaseWorkflowInput(
                intake=intake, index_search_attributes=self.options.index_search_attributes
            ),
            id=escalation_id,
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            static_summary=summary_line_for_intake(intake),
        )
        self.lifecycle.act("escalate", actor=actor)
        case.vendor_escalations.append(
            VendorEscalation(
                escalation_id=escalation_id, reason=action.reason, opened_at=workflow.now()
            )
        )
        self._record(actor.id, "escalate", f"L2 -> vendor L3 as {escalation_id}: {action.reason}")
        return (
            f"escalated to the vendor's escalation team (L3) as {escalation_id}; "
            "the case waits on the vendor"
        )

    def _forward_to_vendor(self, actor_id: str, text: str) -> str:
        """P4: what the partner adds while it waits goes to our escalation team."""
        escalation = self._open_vendor_escalation()
        if escalation is None:  # pragma: no cover - waiting_on_vendor has an open escalation
            return "comment added"
        self.pending.append(
            asyncio.create_task(
                self._signal(
                    escalation.escalation_id,
                    "partner_info",
                    PartnerInfo(actor=actor_id, text=text),
                )
            )
        )
        return f"comment added and forwarded to {escalation.escalation_id}"

    def _open_vendor_escalation(self) -> VendorEscalation | None:
        return next((e for e in self.case.vendor_escalations if e.status == "open"), None)

    @workflow.signal
    async def vendor_progress(self, payload: Any = None) -> None:
        """P4: our escalation reports to its partner case: the partner sees our progress on
        its feed; a resolution returns the case to the partner's engineer."""
        try:
            progress = VendorProgress.model_validate(payload)
        except ValidationError as e:
            self._record(
                _actor_id_of(payload), "vendor_progress", f"refused: {_first_error(e)}", True
            )
            return
        escalation = next(
            (e for e in self.case.vendor_escalations if e.escalation_id == progress.escalation_id),
            None,
        )
        if escalation is None:
            self._record(
                progress.actor,
                "vendor_progress",
                f"refused: {progress.escalation_id} is not an escalation of this case",
                refused=True,
            )
            return
        async with self.lock:
            self._take_vendor_progress(escalation, progress)
        self._publish()

    def _take_vendor_progress(self, escalation: VendorEscalation, progress: VendorProgress) -> None:
        """Signals from one sender may overtake each other: the state is the latest by the
        escalation's own sequence, and its close carries the resolution too."""
        case = self.case
        if progress.seq >= escalation.seq:
            escalation.state, escalation.seq = progress.state, progress.seq
        text = f"{escalation.escalation_id}: {progress.text}" if progress.text else ""
        self._record(progress.actor, f"vendor_{progress.kind}", text or escalation.escalation_id)
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
            self.lifecycle.act("vendor_resolved", actor=Actor("vendor", ActorRole.SYSTEM))

    @workflow.signal
    async def partner_info(self, payload: Any = None) -> None:
        """P4: on a vendor escalation, information the partner added to its case: it answers
        our request for information when we wait on the partner, else it is a comment."""
        partner_id = self.case.intake.request.contact_id
        if not self.case.intake.escalated_from:
            self._record(
                _actor_id_of(payload),
                "partner_info",
                "refused: this case is not a vendor escalation",
                refused=True,
            )
            return
        try:
            info = PartnerInfo.model_validate(payload)
        except ValidationError as e:
            self._record(partner_id, "partner_info", f"refused: {_first_error(e)}", refused=True)
            return
        name = "provide_info" if self.case.state == "waiting_on_customer" else "comment"
        try:
            await self._act(name, {"actor": partner_id, "text": f"({info.actor}) {info.text}"})
        except ApplicationError:
            pass  # the refusal is on this case's feed

    def _tell_partner_case(self, entry: FeedEntry) -> None:
        """P4: the partner case sees our progress (what the partner itself said, it knows)."""
        partner_id = self.case.intake.request.contact_id
        if entry.refused or entry.kind not in PROGRESS_KINDS:
            return
        if entry.actor == partner_id and entry.kind != "close":
            return
        try:
            progress = VendorProgress(
                escalation_id=self.case.case_id,
                kind=entry.kind,
                actor=entry.actor,
                text=entry.text,
                state=self.case.state,
                seq=len(self.case.feed),
                resolution=self.case.resolution,
            )
        except ValidationError:  # pragma: no cover - feed entries carry valid ids
            return
        parent = self.case.intake.escalated_from
        assert parent is not None
        self.pending.append(asyncio.create_task(self._signal(parent, "vendor_progress", progress)))

    async def _signal(self, workflow_id: str, signal: str, arg: Any) -> bool:
        """Signal another case; False (logged) if it is gone: nothing left to tell."""
        try:
            await workflow.get_external_workflow_handle(workflow_id).signal(signal, arg)
        except Exception as e:  # the other case has closed or never existed
            workflow.logger.warning("signal %s to %s failed: %s", signal, workflow_id, e)
            return False
        return True

    def _escalation_answered(self) -> bool:
        """P4: a vendor escalation ends when we resolve it: the resolution returns to the
        partner case, which the partner then resolves with its customer."""
        return self.case.intake.escalated_from is not None and self.case.state == "resolved"

    def _return_to_partner_case(self) -> None:
        partner = Actor(self.case.intake.request.contact_id, ActorRole.CONTACT)
        self.lifecycle.act("close", actor=partner)
        self.case.closed_at = workflow.now()
        self._record(
            "system",
            "close",
            f"resolution returned to partner case {self.case.intake.escalated_from}",
        )
        self._publish()

    async def _withdraw_open_escalations(self) -> None:
        """P4: the partner case closed while we work on its escalation: the partner withdraws
        it, and the partner case waits for it to end (a child outliving its parent would be
        abandoned work, and the test server locks time skipping on it)."""
        for escalation in self.case.vendor_escalations:
            if escalation.status != "open":
                continue
            closed = await self._signal(
                escalation.escalation_id,
                "act",
                {
                    "action": "close",
                    "actor": self.case.intake.entitlement.partner_id,
                    "reason": f"the partner case {self.case.case_id} was closed",
                },
            )
            if not closed:
                escalation.status = "withdrawn"
                continue
            handle = self.escalations.get(escalation.escalation_id)
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

    # --- premium coverage (A3) -------------------------------------------------------------

    async def _offer_to_premium_expert(self) -> bool:
        """A3: on its first routing, a case of an account with a designated or dedicated expert
        is offered to that expert if it is inside their business hours; it goes to normal
        routing (and the expert is told) when it is outside them or when the expert does not
        accept in time. True when this routing round is over (the expert took the case, or the
        case left the queue meanwhile)."""
        premium = self.case.intake.entitlement.premium
        if premium is None or self.case.premium_offer is not None:
            return False
        case_id, account = self.case.case_id, self.case.intake.account_name
        expert = f"{premium.offering} expert {premium.expert_name} ({premium.expert_id})"
        now = workflow.now()
        closed = sla_rules.clock_for(premium.hours).paused_reason(now)
        if closed is not None:
            self.case.premium_offer = PremiumOffer(
                status="out_of_hours", expert_id=premium.expert_id, at=now
            )
            self._record("routing", "premium_out_of_hours", f"{expert} is {closed}")
            self._notify(
                "engineer",
                premium.expert_id,
                f"{case_id} of {account} opened outside your hours",
                f"{summary_line(self.case)}. It was routed to the support queues.",
            )
            self._publish()
            return False
        offer = PremiumOffer(
            status="offered",
            expert_id=premium.expert_id,
            at=now,
            expires_at=now + premium.accept_within,
        )
        self.case.premium_offer = offer
        self.case.queue = PREMIUM_QUEUE
        self._record(
            "routing",
            "offered_to_expert",
            f"{expert}: accept within {format_duration(premium.accept_within)}",
        )
        self._notify(
            "engineer",
            premium.expert_id,
            f"{case_id} of {account} offered to you ({premium.offering})",
            f"{summary_line(self.case)}. Accept within {format_duration(premium.accept_within)}:"
            f" casework accept {case_id} --as {premium.expert_id}",
        )
        self._publish()
        try:
            await workflow.wait_condition(
                lambda: offer.status != "offered" or self.case.state != "queued",
                timeout=premium.accept_within,
            )
        except TimeoutError:
            pass
        if self.case.state != "queued":
            return True
        if offer.status == "accepted":
            return await self._assign_premium_expert()
        offer.status = "expired"
        self._record(
            "routing",
            "expert_did_not_accept",
            f"{expert} did not accept within {format_duration(premium.accept_within)}; "
            "routing normally",
        )
        self._notify(
            "engineer",
            premium.expert_id,
            f"{case_id} of {account} went to the support queues",
            f"You did not accept {case_id} within {format_duration(premium.accept_within)}; "
            "it was routed normally.",
        )
        self.case.queue = self._queue_for(self.case.intake, self.case.level)
        return False

    async def _assign_premium_expert(self) -> bool:
        """A3: the expert accepted: record their assignment and hand them the case."""
        assert self.case.premium_offer is not None
        result = await self._route_to(engineer_id=self.case.premium_offer.expert_id)
        if self.case.state != "queued":
            return True
        if result.assignment is None:
            self._record("routing", "expert_unavailable", f"{result.reason}; routing normally")
            self.case.queue = self._queue_for(self.case.intake, self.case.level)
            return False
        self.case.level = max(self.case.level, result.assignment.level, key=list(Level).index)
        self.case.queue = result.queue
        self._assign(result.assignment)
        return True

    @workflow.update
    async def accept(self, payload: Any = None) -> ActionResult:
        """A3: the premium expert takes the case offered to them, within the offer's time."""
        if not isinstance(payload, dict):
            raise self._refuse(
                "accept",
                _actor_id_of(payload),
                'the payload must be a JSON object like {"actor": ...}',
                kind="InvalidPayload",
            )
        try:
            action = Accept.model_validate(payload)
        except ValidationError as e:
            raise self._refuse(
                "accept",
                _actor_id_of(payload),
                f'{_first_error(e)} (expected {{"actor": ...}})',
                kind="InvalidPayload",
            ) from None
        offer = self.case.premium_offer
        if offer is None or offer.status != "offered" or self.case.state != "queued":
            raise self._refuse(
                "accept", action.actor, "the case is not on offer to a premium expert now (A3)"
            )
        if action.actor != offer.expert_id:
            raise self._refuse(
                "accept",
                action.actor,
                f"the case is offered to {offer.expert_id}, the account's expert, only (A3)",
            )
        offer.status = "accepted"
        self._record(action.actor, "accept", "accepted the case offered to them (A3)")
        await workflow.wait_condition(
            lambda: self.case.owner is not None or self.case.state != "queued"
        )
        owner = self.case.owner
        taken = owner is not None and owner.engineer_id == action.actor
        return ActionResult(
            case_id=self.case.case_id,
            action="accept",
            state=self.case.state,
            level=self.case.level,
            message="the case is yours" if taken else "accepted; the case went on meanwhile",
        )

    # --- reporting ------------------------------------------------------------------------

    def _record_facts(self) -> None:
        """What `casework report` counts (S1-S3): the case's facts, upserted at opening, first
        response, priority change and breach. Behind a patch: recorded histories did not."""
        if not workflow.patched(CASE_FACTS):
            return
        case = self.case
        self._side_effect(
            contracts.RECORD_CASE_FACTS,
            contracts.CaseFacts(
                case_id=case.case_id,
                revision=len(case.feed),
                account=case.intake.request.account_id,
                tier=case.intake.entitlement.tier.value,
                priority=case.priority.value,
                category=case.intake.request.category.value,
                opened_at=case.opened_at,
                due_at=case.sla.due_at,
                responded_at=case.sla.responded_at,
                breached_at=case.sla.breached_at,
            ),
        )


def _actor_id_of(payload: Any) -> str:
    actor = payload.get("actor") if isinstance(payload, dict) else None
    return actor.strip()[:64] if isinstance(actor, str) and actor.strip() else "unknown"
