"""The case workflow: one per support case, from intake to close. Workflow id = case number.

Input: `CaseWorkflowInput` (the intake facts; the whole `CaseState` after continue-as-new).
Result: the final `CaseView` once the customer closes the case.

Updates, one per Case Center action (E4), each taking the action's JSON and answering an
`ActionResult`, or failing with `ActionRefused` / `InvalidPayload` and a sentence that says
what was wrong (the refusal is on the feed, the case unchanged):
    respond, comment, request_info, provide_info, escalate, file_problem_report,
    change_priority, resolve, close, reopen
Signal `act`: the same actions as `{"action": "<name>", ...}`, fire-and-forget, for the Web
UI's signal form; refusals land on the feed.
Query `view`: `{"viewer": "<id>"}` -> `CaseView`.

Timers: the first-response clock (S2/S3, moved at once by a priority change, S4); the routing
retry while no matching engineer is on shift (E1).
Continue-as-new: when the server suggests it (or after `continue_as_new_after_events`), once
all handlers have finished, with the whole state and feed.
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
    from casework.domain.lifecycle import Actor, CaseLifecycle
    from casework.domain.models import (
        ACTION_MODELS,
        ActionBase,
        ActionResult,
        ActorRole,
        Assignment,
        CaseState,
        CaseView,
        CaseWorkflowInput,
        ChangePriority,
        Escalate,
        FeedEntry,
        FileProblemReport,
        IntakeResult,
        Level,
        ProvideInfo,
        RequestInfo,
        Resolve,
        ViewRequest,
    )
    from casework.domain.presentation import present, summary_line
    from casework.domain.routing import queue_for

SIDE_EFFECT_TIMEOUT = timedelta(seconds=30)
"""start-to-close of one notification, routing or release attempt."""
SIDE_EFFECT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
)
"""Background side effects retry until the database answers: a case never forgets them."""
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
        self.lock = asyncio.Lock()
        self.pending: list[asyncio.Future[Any]] = []

    # --- the story of a case -------------------------------------------------------------

    @workflow.run
    async def run(self, input: CaseWorkflowInput) -> CaseView:
        if input.carried is None:
            self._announce_opening()
        else:
            self._record("system", "continued", "history rolled over; state and feed carried whole")
        self._publish()
        clock = asyncio.create_task(self._watch_first_response())

        while self.case.state != "closed":
            if self.case.state == "queued":
                await self._route()
                continue
            await workflow.wait_condition(
                lambda: self.case.state in ("queued", "closed") or self._time_to_roll_over()
            )
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

    async def _route(self) -> None:
        """E1: hand the case to a matching engineer; wait in the queue while there is none.

        No lock is held while the routing activity runs, so the customer can still comment
        on or close a queued case whatever the directory does."""
        self.case.routing_attempts += 1
        result = await workflow.execute_activity(
            contracts.ROUTE_CASE,
            contracts.RouteRequest(
                case_id=self.case.case_id,
                level=self.case.level,
                product=self.case.intake.request.product,
                category=self.case.intake.request.category,
                at=workflow.now(),
                attempt=self.case.routing_attempts,
            ),
            result_type=contracts.RouteResult,
            start_to_close_timeout=SIDE_EFFECT_TIMEOUT,
            retry_policy=SIDE_EFFECT_RETRY,
        )
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
        in the same workflow task, so a stale timer never fires a breach that no longer applies."""
        while sla_rules.is_running(self.case.sla) and self.case.state != "closed":
            due = self.case.sla.due_at
            left = due - workflow.now()
            timed_out = False
            if left > timedelta(0):
                try:
                    await workflow.wait_condition(self._clock_changed_since(due), timeout=left)
                    continue
                except TimeoutError:
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
        self._side_effect(
            contracts.RELEASE_CASE,
            contracts.ReleaseRequest(case_id=self.case.case_id, at=workflow.now()),
        )
        if self.case.owner:
            self._notify(
                "engineer",
                self.case.owner.engineer_id,
                f"{self.case.case_id} closed",
                f"The customer closed the case. {self.case.resolution or ''}".strip(),
            )
        self._publish()
        await self._drain()
        await workflow.wait_condition(workflow.all_handlers_finished)

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
        )

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
        if actor_id in self.case.intake.account_contacts:
            return Actor(actor_id, ActorRole.CONTACT)
        owner = self.case.owner
        if owner is not None and owner.engineer_id == actor_id:
            return Actor(actor_id, ActorRole.ENGINEER, is_owner=True)
        return Actor(actor_id, ActorRole.UNKNOWN)

    async def _apply(self, name: str, action: ActionBase, actor: Actor) -> str:
        """The action is allowed: take the transition and its side effects."""
        case = self.case
        contact = case.intake.request.contact_id
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
            return f"filed {pr_id}; the case stays open and linked to it"

        self.lifecycle.act(name, actor=actor, priority=getattr(action, "priority", None))
        text = getattr(action, "text", "")
        if name == "respond":
            if case.sla.responded_at is None:
                case.sla.responded_at = workflow.now()
                self._record(actor.id, "first_response", text)
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
            case.queue = queue_for(case.level)
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
        return CaseState(
            case_id=intake.case_id,
            intake=intake,
            priority=priority,
            level=Level.L0,
            queue=queue_for(Level.L0),
            opened_at=now,
            sla=sla_rules.start_clock(now, target, self._clock(intake)),
        )

    @staticmethod
    def _clock(intake: IntakeResult) -> sla_rules.ServiceClock:
        return sla_rules.clock_for(intake.entitlement.clock)

    def _record(self, actor: str, kind: str, text: str = "", refused: bool = False) -> None:
        self.case.feed.append(
            FeedEntry(at=workflow.now(), actor=actor, kind=kind, text=text, refused=refused)
        )

    def _last_feed_kind(self) -> str | None:
        return self.case.feed[-1].kind if self.case.feed else None

    def _notify(self, kind: str, person: str, subject: str, body: str) -> None:
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
        return present(self.case, viewer, workflow.now(), self.lifecycle.allowed_now())

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
            ]
        )


def _actor_id_of(payload: Any) -> str:
    actor = payload.get("actor") if isinstance(payload, dict) else None
    return actor.strip()[:64] if isinstance(actor, str) and actor.strip() else "unknown"
