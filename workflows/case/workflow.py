"""The case workflow: one per support case, from intake to close. Workflow id = case number.

Input: `CaseWorkflowInput` (the intake facts; the carried `CaseState` after continue-as-new).
Result: the final `CaseView` once the customer closes the case.

Updates, one per Case Center action of the catalogue (E4; casework/domain/catalogue.py, made
in updates.py; `accept`, A3, written here) plus `read` (the audited read, U5). Each takes the
action's JSON and answers an `ActionResult` (`read`: a `CaseView`). A payload
of the wrong shape (not an object the action's model accepts, unknown fields, larger than
MAX_PAYLOAD_CHARS) is rejected by the update's validator and never enters history; a
well-formed action the rules refuse (wrong actor, wrong state) fails with `ActionRefused` and
a sentence that says why, recorded on the feed, the case unchanged.
Signal `act`: the same actions as `{"action": "<name>", ...}`, fire-and-forget, for the Web
UI's signal form; refusals land on the feed, a payload that is not JSON too (taken raw,
signals.py). Signals `vendor_progress` and `partner_info`:
P4, between a partner case and its vendor escalation. Signal `roll_over` (any payload, not
read): roll over onto the current version at the next quiet point (issue 28, moves.py). Any
other signal name, and a signal payload the codec could not decrypt, is refused on the feed
(issue 24: no payload fails a workflow task); a start whose input does not decode fails the
case (workflows/inputs.py).
Query `view`: `{"viewer": "<id>"}` -> `CaseView`, with the feed's tail (`feed_total` says how
many entries the whole feed, in the database, has).

Timers live in the parts: the first-response clock (clock.py), routing and the premium offer
(routing.py), the log-approval gate (approvals.py), the Escalation Manager ladder
(escalations.py). Continue-as-new: when the server suggests it (or after
`continue_as_new_after_events`), or when asked to move to another version (moves.py), once
all handlers and side effects have finished, carrying the state with the feed's tail
(feed.py); the next run starts on the current version. PINNED (Worker Versioning): a run
stays on the build that started it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from temporalio import workflow
from temporalio.common import RawValue, VersioningBehavior
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from casework import contracts
    from casework.domain.actions import (
        ACTION_MODELS,
        ESCALATION_ACTIONS,
        Accept,
        ActionBase,
        ActionResult,
        ViewRequest,
    )
    from casework.domain.lifecycle import Actor
    from casework.domain.models import CaseView, CaseWorkflowInput
    from casework.domain.presentation import present
    from casework.domain.us_citizen import may_see_content, redact
    from casework.domain.validation import PayloadError, actor_id_of, parse_payload
    from casework.identity.principal import Principal

from workflows.case import signals
from workflows.case.actions import CaseActions
from workflows.case.approvals import LogApprovals
from workflows.case.callers import (
    Claimed,
    as_principal,
    checked_principal,
    operator_refusal,
    principal_now,
)
from workflows.case.clock import FirstResponseClock, opened_case
from workflows.case.context import CaseContext
from workflows.case.escalations import EscalationLadder
from workflows.case.feed import Feed
from workflows.case.moves import ROLL_OVER, Moves
from workflows.case.once import Once
from workflows.case.routing import Routing
from workflows.case.updates import (
    ActionUpdates,
    Handler,
    caller_field,
    handlers_of,
    model_of,
    validator,
)
from workflows.case.vendor import VendorEscalations
from workflows.inputs import NO_INPUT, start_input


@workflow.defn(name="Case", versioning_behavior=VersioningBehavior.PINNED)
class CaseWorkflow(ActionUpdates):
    """The parts, by the attribute each lives in (catalogue entries name them: `Part`)."""

    clock: FirstResponseClock
    actions: CaseActions
    approvals: LogApprovals
    ladder: EscalationLadder
    routing: Routing

    @workflow.init
    def __init__(self, start: RawValue = NO_INPUT) -> None:
        self.options = input = start_input(start, CaseWorkflowInput)
        case = input.carried or opened_case(input.intake)
        if input.carried is None:
            case.restricted_members = list(input.intake.restricted_members)
        self.case = case
        self.ctx = ctx = CaseContext(input, case)
        ctx.roll_over_due = self._time_to_roll_over
        self.moves = Moves()
        ctx.move_due = self.moves.due
        self.startup: list[asyncio.Future[Any]] | None = None
        """The side effects of the run's start-up; None until the run has started up."""
        self.vendor = VendorEscalations(ctx, act=self._act_quietly)
        self.feed = ctx.feed = Feed(ctx, on_record=self.vendor.tell_partner_case)
        self.clock = FirstResponseClock(ctx, self._escalate_breach)
        self.ladder = EscalationLadder(ctx, change_priority=self.clock.change_priority)
        self.routing = Routing(ctx)
        self.once = Once(ctx)
        self.approvals = LogApprovals(ctx)
        self.actions = CaseActions(
            ctx,
            share_logs=self.approvals.share_with,
            escalate_to_vendor=self.vendor.escalate,
            forward_to_vendor=self.vendor.forward,
        )
        self.handlers: dict[str, Handler] = handlers_of(self)

    # --- the story of a case -------------------------------------------------------------

    @workflow.run
    async def run(self, start: RawValue = NO_INPUT) -> CaseView:
        case = self.case
        self.floor: int | None = None
        if self.options.carried is None:
            self.clock.announce_opening()
            if self.ctx.restricted:
                self.routing.announce_restricted_routing()
            self.feed.record_facts()
        else:
            text = self.moves.continued_text(self.options.previous_build)
            self.feed.record("system", "continued", text)
            self.ctx.start_deferred()
        self.feed.publish()
        self.startup = list(self.ctx.pending)
        clock = asyncio.create_task(self.clock.watch())
        self.approvals.resume()
        self.ladder.resume()

        while case.state != "closed":
            if case.state == "queued" and not self.moves.due():
                await self.routing.route()
                continue
            await workflow.wait_condition(
                lambda: (
                    case.state in ("queued", "closed")
                    or self._time_to_roll_over()
                    or self.vendor.answered()
                )
            )
            if self.vendor.answered():
                await self.ctx.drain()  # the resolution reaches the partner case before the close
                if self.vendor.answered():
                    self.vendor.return_to_partner_case()
                continue
            if case.state != "closed" and self._time_to_roll_over():
                await self._roll_over(clock)

        clock.cancel()
        await self._finish()
        return self._view("system")

    def _started_up(self) -> bool:
        return self.startup is not None and self.routing.opening is None

    async def _escalate_breach(self, at: Any) -> None:
        await self.ladder.escalate_breach(at)

    async def _finish(self) -> None:
        if self.ctx.rolling_over:
            # closed as it was about to roll over (asked to move, or its history full): what it
            # set aside for a next run is written now, since a closed case has no next run
            self.ctx.rolling_over = False
            self.ctx.start_deferred()
        await self.vendor.withdraw_open()
        self.ctx.side_effect(
            contracts.RELEASE_CASE,
            contracts.ReleaseRequest(case_id=self.case.case_id, at=workflow.now()),
        )
        if self.case.owner:
            self.feed.notify(
                "engineer",
                self.case.owner.engineer_id,
                f"{self.case.case_id} closed",
                self._closing_notice(),
            )
        self.feed.publish()
        await self.ctx.drain()
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self.ctx.drain()  # what the last handlers recorded

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
        """When its history is full (`_history_full`), or once started up when asked to move
        to another version (moves.py), unless it has closed: a closed case has no next run."""
        if self.case.state == "closed":
            return False
        return self._history_full() or (self.startup is not None and self.moves.due())

    def _history_full(self) -> bool:
        """When the server suggests it, or after `continue_as_new_after_events`. A run counts
        the events after its own start-up (its side effects done), so a run that begins with
        more events than the limit still works before it rolls over (no roll-over loop)."""
        if self.startup is None:
            return False  # not started up yet
        limit = self.options.continue_as_new_after_events
        info = workflow.info()
        length = info.get_current_history_length()
        if self.floor is None:
            if any(not p.done() for p in self.startup):
                return info.is_continue_as_new_suggested()
            self.floor = length
        if limit is not None and length - (self.floor or 0) >= limit:
            return True
        return info.is_continue_as_new_suggested()

    async def _roll_over(self, clock: asyncio.Task[None]) -> None:
        """Continue-as-new once no handler is mid-way and no side effect is outstanding. An
        action can arrive while the side effects drain (filing a PR waits on the tracker):
        wait for it too, or its caller gets an error and the new run loses it. What actions
        decide meanwhile waits in the state for the next run (feed entries, notifications),
        so a stream of signals cannot keep the case from rolling over."""
        self.ctx.rolling_over = True
        self.routing.opening = None  # not taken by this run: the next one routes (same key)
        while True:
            await workflow.wait_condition(workflow.all_handlers_finished)
            await self.ctx.drain()
            if workflow.all_handlers_finished() and not self.ctx.pending:
                break
        clock.cancel()
        carried = {"carried": self.case, "opening_route": None}
        self.moves.continue_as_new(
            self.options.model_copy(update={**carried, "previous_build": self.moves.build_id()})
        )

    # --- how an action is taken: one path for every action --------------------------------

    async def _act(self, name: str, payload: Any) -> ActionResult:
        """An action, at most once: a token is taken once, and an update the case took before
        (the door's Idempotency-Key) is answered with its first outcome (once.py)."""
        principal = principal_now()
        self.once.take(name, principal)
        update = workflow.current_update_info()
        remembered = self.once.recall(name, principal, update)
        if remembered is not None:
            return remembered
        try:
            result = await self._take(name, payload, principal)
        except ApplicationError as e:
            self.once.remember(principal, update, refusal=e)
            raise
        self.once.remember(principal, update, result=result)
        return result

    async def _take(self, name: str, payload: Any, principal: Principal) -> ActionResult:
        """Know who acts (callers.py), parse, take the lock, ask the rules, apply; a refusal
        is on the feed and the caller gets its reason. Not before the case has started up
        and taken its opening routing (E1): an action can reach the case in its very first
        workflow task, whose handlers run before `run`, and would be judged on a case that
        looks unrouted (a door with no worker beside it answers as soon as the case starts)."""
        if not self._started_up():
            await workflow.wait_condition(self._started_up)
        action = self._parse(name, payload, principal)
        actor = self.ctx.actor(action.actor)
        async with self.ctx.lock:
            reason = self._refusal(name, action, actor)
            if principal.refused or reason:
                reason = operator_refusal(principal, reason or "")
            if self.ctx.over_roll_over_budget():
                reason = "the case is rolling its history over this moment; send it again"
            if reason:
                raise self.ctx.refuse(name, action.actor, reason)
            message = self.handlers[name](action, actor)
            if not isinstance(message, str):
                message = await message
            message += self.clock.after(name, actor)  # S2: the first word to the customer
            if principal.on_behalf_of:
                self.feed.record(
                    principal.id, "recorded_for", f"{name} recorded for {principal.on_behalf_of}"
                )
        self.feed.publish()
        return ActionResult(
            case_id=self.case.case_id,
            action=name,
            state=self.case.state,
            level=self.case.level,
            message=message,
            **(self.ladder.answer_for() if name in ESCALATION_ACTIONS else {}),
        )

    def _refusal(self, name: str, action: ActionBase, actor: Actor) -> str | None:
        if isinstance(action, Accept):
            return self.routing.accept_refusal(action)
        priority = getattr(action, "priority", None)
        return self.ctx.lifecycle.refusal(name, actor=actor, priority=priority)

    def _parse(self, name: str, payload: Any, principal: Principal) -> Any:
        """The handler's own check (validators do not run on replay, nor for signals), on
        the payload as the principal makes it (callers.py)."""
        try:
            payload = as_principal(payload, principal, caller_field(name))
            model = model_of(name)
            return parse_payload(model, payload)
        except Claimed as e:
            raise self.ctx.refuse(name, principal.acting_as, str(e), "CredentialRefused") from None
        except PayloadError as e:
            raise self.ctx.refuse(name, actor_id_of(payload), str(e), "InvalidPayload") from None

    async def _act_quietly(self, name: str, payload: dict[str, Any]) -> None:
        """An action whose refusal the feed says, with no caller to answer (signals: their
        token was taken by the signal's handler)."""
        try:
            await self._take(name, payload, principal_now())
        except ApplicationError:
            pass

    @workflow.update
    async def accept(self, payload: Any = None) -> ActionResult:
        """A3: the premium expert takes the case offered to them; answers once routed."""
        result = await self._act("accept", payload)
        expert = self._parse("accept", payload, principal_now()).actor
        taken = await self.routing.assigned_to(expert)
        message = "the case is yours" if taken else "accepted; the case went on meanwhile"
        return result.model_copy(
            update={"state": self.case.state, "level": self.case.level, "message": message}
        )

    accept.validator(validator("accept"))

    @workflow.signal
    async def act(self, payload: RawValue = signals.NO_PAYLOAD) -> None:
        """Any action as `{"action": name, ...}`; a refusal is recorded on the feed only. The
        payload is taken raw and decoded here (signals.py), so one that is not even JSON is
        refused on the feed too."""
        principal = principal_now()
        try:
            self.once.take("act", principal)
        except ApplicationError:
            return  # on the feed
        try:
            payload = signals.decode(payload)
        except PayloadError as e:
            self.feed.record(principal.acting_as, "act", f"refused: {e}", refused=True)
            return
        name = payload.get("action") if isinstance(payload, dict) else None
        if not isinstance(name, str) or name not in ACTION_MODELS:
            shape = (
                ""
                if isinstance(payload, dict)
                else f"the payload must be a JSON object like {signals.EXAMPLE}; "
            )
            self.feed.record(
                principal.acting_as,
                "unknown_action",
                f"refused: {shape}'action' must be one of {', '.join(ACTION_MODELS)}",
                refused=True,
            )
            return
        assert isinstance(payload, dict)
        await self._act_quietly(name, {k: v for k, v in payload.items() if k != "action"})

    @workflow.signal
    async def vendor_progress(self, payload: RawValue = signals.NO_PAYLOAD) -> None:
        value = self._refusals().decoded("vendor_progress", payload)
        if value is not signals.REFUSED and self._from_another_case("vendor_progress", value):
            await self.vendor.on_progress(value, actor_id_of)

    @workflow.signal
    async def partner_info(self, payload: RawValue = signals.NO_PAYLOAD) -> None:
        value = self._refusals().decoded("partner_info", payload)
        if value is not signals.REFUSED and self._from_another_case("partner_info", value):
            await self.vendor.on_partner_info(value, actor_id_of)

    @workflow.signal(dynamic=True)
    def stray_signal(self, name: str, args: Sequence[RawValue]) -> None:
        """`roll_over` (issue 28, moves.py; taken here, where no payload of any shape can keep
        it from the case), else a signal of a name the case does not define: refused on the
        feed, nothing kept."""
        if name == ROLL_OVER:
            self.moves.ask()
            return
        self._refusals().stray(name, args)

    def _refusals(self) -> signals.Refusals:
        return signals.Refusals(self.feed.record)

    def _from_another_case(self, name: str, payload: Any) -> bool:
        """P4's signals come from the partner case or its vendor escalation, signed by the
        engine; anyone else's are refused on the feed."""
        principal = principal_now()
        if principal.is_workflow:
            try:
                self.once.take(name, principal)
            except ApplicationError:
                return False  # on the feed
            return True
        self.feed.record(
            principal.acting_as,
            name,
            f"refused: only a case of this engine sends {name} "
            f"({principal.refused or 'it came without one'})",
            refused=True,
        )
        return False

    # --- reads (U5) --------------------------------------------------------------------------

    @workflow.query
    def view(self, request: ViewRequest | None = None) -> CaseView:
        """Read-only, so a refused read cannot be recorded here; U5 still holds: a viewer
        outside the restricted queue (as the case last learned it) sees no content."""
        principal = checked_principal()
        viewer = principal.acting_as if principal else (request or ViewRequest()).viewer
        return self._view(viewer)

    @workflow.update
    async def read(self, payload: Any = None) -> CaseView:
        """The audited read: checks the viewer against the directory now and records a refused
        read of a restricted case on the feed (U5). Queries cannot record; this can."""
        principal = principal_now()
        self.once.take("read", principal)
        viewer = self._parse("read", payload, principal).viewer
        if not self.ctx.restricted or viewer in self.case.intake.account_contacts:
            return self._view(viewer)
        try:
            status = await self.ctx.ask(
                contracts.CHECK_VIEWER, contracts.ViewerCheck(viewer=viewer), contracts.ViewerStatus
            )
        except ActivityError:
            raise ApplicationError(
                "the directory did not answer; nothing was shown, try again",
                type="DirectoryUnavailable",
                non_retryable=True,
            ) from None
        self.case.restricted_members = status.restricted_members
        if not status.member:
            self.feed.record(
                viewer, "read_refused", f"content withheld: {status.reason}", refused=True
            )
        return self._view(viewer)

    read.validator(validator("read"))

    def _view(self, viewer: str) -> CaseView:
        view = present(
            self.case, viewer, workflow.now(), self.ctx.lifecycle.allowed_now(), self.ctx.clock
        )
        return view if may_see_content(self.case, viewer) else redact(view, self.case)
