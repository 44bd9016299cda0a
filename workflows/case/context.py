"""What every part of a case shares: its state, its lifecycle, the lock that orders actions,
the side effects in flight, and the port to its feed. Not a part itself: each part is given
one `CaseContext` by the workflow, so parts never import each other.

Who may write (issue 24; the rule for every table a case writes)
------------------------------------------------------------------
Temporal may run a workflow task and then discard it. An update arrives in a *speculative*
task, which the server keeps only in memory: when it loses it (its workflow cache or update
registry is cleared, a shard moves), the task leaves no trace in the history, its updates are
aborted, and their clients send them again, to be taken in another task, in another order,
among other updates. A local activity runs inside the task, so whatever it wrote stays written
although the task that wrote it never happened; keyed by a number the attempt assigned (the
feed's seq, an escalation's number), a discarded attempt's row then stands in for the row of
the attempt the server kept: accepted comments vanish, others show twice.

So:
- A local activity in the task that decides reads (`LOCAL_READS`: the escalation plan, the
  checks). The one exception is a row keyed by its cause whose first write every later
  attempt adopts: the intake's case number (keyed by the request id) and a routing's
  assignment (keyed by case, level and routing attempt: `route_case` chooses and records in
  one step, so that routings of different cases at once see each other's engineers busy; a
  discarded attempt's row is adopted by the kept one under the same key, and any other is
  released by the case's next assignment or its close).
- What a task decides to write (feed, outbox, facts, escalation rows, assignments,
  approvals, release: one `apply_effects`) is written by a LATER task of the case, as a local
  activity: a task runs on the history of the tasks before it, so what they decided was kept
  (`_write`; an activity that does nothing, `wake_case`, brings a later task when nothing
  else does: the server dispatches it only once it has kept the task that scheduled it). A
  later task that is itself discarded only wrote what kept tasks decided, under the keys
  they assigned, so its writes repeat and each table's `ON CONFLICT DO NOTHING` (or ordered
  upsert) keeps one copy.
- A write a handler must see done before it answers (the customer's log-sharing answer, which
  the sharing checks) is an ordinary activity (`ask`), which only a kept task can schedule.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Protocol, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as ActivityTimeout

with workflow.unsafe.imports_passed_through():
    from casework import contracts
    from casework.domain import sla as sla_rules
    from casework.domain.lifecycle import Actor, CaseLifecycle
    from casework.domain.models import ActorRole, CaseState, CaseWorkflowInput, DeferredEffect

T = TypeVar("T")

SIDE_EFFECT_TIMEOUT = timedelta(seconds=30)
"""start-to-close of one notification, routing or release attempt."""
SIDE_EFFECT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
)
"""Background side effects retry until the database answers: a case never forgets them."""
ROLL_OVER_BUDGET = 300_000
"""Characters of feed text and side effects a rolling-over case may hold for its next run;
past it, actions are refused until the new run takes them (send them again)."""
WAKE_TIMEOUT = timedelta(seconds=10)
"""start-to-close of the `wake_case` activity, which brings a later task of the case to write
what a task decided when nothing else brings one first (retried like a side effect)."""
CALLER_DEADLINE = timedelta(minutes=1)
"""How long a caller waiting on an update (filing a PR) waits for an activity before a
refusal."""
LOCAL_READS = frozenset(
    {
        contracts.ROUTE_CASE,
        contracts.PLAN_ESCALATION,
        contracts.CHECK_VIEWER,
        contracts.CHECK_PARTNER,
        contracts.CHECK_ATTACHMENT,
    }
)
"""The reads of casework's own database a case asks as local activities, in the workflow
task that needs them (no round trip through the server's task queue, no activity events in
the history: one marker); see "Who may write" above. Every other activity the case waits on
(filing a Problem Report, sharing logs, recording the customer's log-sharing answer) is an
ordinary activity, retried and timed by the server."""
LOCAL = LOCAL_READS | {contracts.APPLY_EFFECTS}
"""Every local activity a case runs: its reads, and the write-behind of what its kept tasks
decided (`apply_effects`)."""


class FeedPort(Protocol):
    """What parts may say about the case: the `Feed` part implements it."""

    def record(self, actor: str, kind: str, text: str = "", refused: bool = False) -> None: ...

    def notify(
        self, kind: str, person: str, subject: str, body: str, key: str | None = None
    ) -> None: ...

    def publish(self) -> None: ...

    def publish_escalation(self) -> None: ...

    def record_facts(self) -> None: ...

    def last_kind(self) -> str | None: ...

    def take_unsent(self) -> tuple[list[contracts.FeedBatch], int | None]: ...

    def saved(self, upto: int) -> None: ...

    def upsert_published(self) -> None: ...

    def take_row(self) -> list[contracts.Effect]: ...


class CaseContext:
    def __init__(self, options: CaseWorkflowInput, case: CaseState) -> None:
        self.options = options
        self.case = case
        self.lifecycle = CaseLifecycle(case)
        self.lock = asyncio.Lock()
        self.pending: list[asyncio.Future[Any]] = []
        self.rolling_over = False
        """While the case rolls over, new side effects wait in its state for the next run,
        so a case that never stops receiving signals still finds a moment to roll over."""
        self.feed: FeedPort  # wired by the workflow once the Feed part exists
        self.roll_over_due: Callable[[], bool] = lambda: False
        """Whether the case should roll over now (the workflow's rule); set by the workflow."""
        self.move_due: Callable[[], bool] = lambda: False
        """Whether the case is asked to move to another version (moves.py): a queued case
        leaves its routing wait to roll over; set by the workflow."""
        self._effects: list[contracts.Effect] = []
        self._flush_due = False
        self._decided = 0
        """How many times this run decided something to write (`flush_at_end_of_task`)."""
        self._asking = 0
        """Local activities the case waits on the answer of (`ask`), this moment."""
        self._unwritten: list[tuple[int, list[contracts.Effect], int | None]] = []
        """Side effects decided and not written yet: (the history length of the task that
        decided them, the effects, the feed position written up to with them)."""
        self._writer: asyncio.Future[None] | None = None
        self._wake: asyncio.Future[None] | None = None
        self._queued = 0
        """Batches handed to the writer, and written, in this run."""
        self._written = 0

    @property
    def restricted(self) -> bool:
        return self.case.intake.entitlement.restricted

    @property
    def clock(self) -> sla_rules.ServiceClock:
        return sla_rules.clock_for(self.case.intake.entitlement.clock)

    def actor(self, actor_id: str) -> Actor:
        """Who `actor_id` is to this case: its Escalation Manager (E3), a contact (and an
        approver, U6), the owning engineer, on a vendor escalation an engineer of its partner
        (P4), or nobody in particular."""
        case = self.case
        escalation = case.active_escalation
        if escalation is not None and escalation.manager.id == actor_id:
            return Actor(actor_id, ActorRole.ESCALATION_MANAGER, has_escalation=True)
        if actor_id in case.intake.account_contacts:
            return Actor(actor_id, ActorRole.CONTACT, is_approver=actor_id in case.intake.approvers)
        owner = case.owner
        if owner is not None and owner.engineer_id == actor_id:
            return Actor(actor_id, ActorRole.ENGINEER, is_owner=True)
        if actor_id in case.intake.partner_engineers:
            return Actor(actor_id, ActorRole.PARTNER_ENGINEER)
        return Actor(actor_id, ActorRole.UNKNOWN)

    def refuse(
        self, name: str, actor: str, reason: str, kind: str = "ActionRefused"
    ) -> ApplicationError:
        """Record the refusal on the feed and build the error the caller sees."""
        self.feed.record(actor, name, f"refused: {reason}", refused=True)
        return ApplicationError(
            f"{name} refused on {self.case.case_id}: {reason}", type=kind, non_retryable=True
        )

    def side_effect(self, activity: str, arg: Any) -> None:
        """A write the case does not wait for: with the rest of what this workflow task
        decides, in one `apply_effects` written by a later task (see "Who may write"); while
        the case rolls over, kept in its state for the next run. Drained before close or
        roll-over."""
        value = arg if isinstance(arg, dict) else arg.model_dump(mode="json")
        if self._rolling_over_now():
            self.case.deferred.append(DeferredEffect(activity=activity, arg=value))
            return
        self._effects.append(contracts.Effect(activity=activity, arg=value))
        self.flush_at_end_of_task()

    def flush_at_end_of_task(self) -> None:
        """Once per workflow task: when this task's handlers have run (or wait), write what
        they decided in one activity. Not while the case rolls over: what it decides then
        waits in its state for the next run (so a flood of signals cannot keep adding work to
        drain), and the next run publishes its search attributes when it starts."""
        self._decided += 1
        if not self._flush_due and not self._rolling_over_now():
            self._flush_due = True
            self.in_background(asyncio.ensure_future(self._flush()))

    def _rolling_over_now(self) -> bool:
        """Whether the case rolls over, or is due to: once it is due, what this task decides
        waits in its state for the next run, as while rolling over, instead of being written
        in this task. Local activities would run inside the task that
        continues as new, and the server refuses a continue-as-new when signals came in
        meanwhile: under a flood of signals a long task would be refused again and again
        (each time replaying the whole run)."""
        if not self.rolling_over and self.roll_over_due():
            self.rolling_over = True
        return self.rolling_over

    async def _settle(self) -> None:
        """Wait until this task has nothing more to decide, so that what it decides goes in
        one `apply_effects`: until no local activity the case asks is
        outstanding (a case's opening waits for its routing's answer, and writes the opening
        and the assignment together), and until a round of the workflow's waiting code has run
        without deciding anything (a close's handler, then the case's finish: one write).
        Costs no history: a condition already true records nothing."""
        while True:
            decided = self._decided
            await workflow.wait_condition(lambda: self._asking == 0)
            if self._decided == decided:
                return

    async def _flush(self) -> None:
        await self._settle()
        self._flush_due = False
        self.feed.upsert_published()
        feed_batches, upto = self.feed.take_unsent()
        effects = [
            contracts.Effect(activity=contracts.RECORD_FEED, arg=b.model_dump(mode="json"))
            for b in feed_batches
        ]
        effects += self._effects
        effects += self.feed.take_row()
        self._effects = []
        await self._write_behind(effects, upto)

    async def _write_behind(self, effects: list[contracts.Effect], upto: int | None) -> None:
        """What this task decided is written by a later task of the case (see "Who may
        write"), in the order decided, by one writer; done once it is written (a
        run's start-up, a roll-over and the close wait for it)."""
        if not effects and upto is None:
            return
        self._unwritten.append((workflow.info().get_current_history_length(), effects, upto))
        self._queued += 1
        mine = self._queued
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._write())
        await workflow.wait_condition(lambda: self._written >= mine)

    async def _write(self) -> None:
        """Write what earlier tasks decided, once a later task runs: this one's history holds
        theirs, so the server kept them. When nothing else brings a later task, the
        `wake_case` activity does (one at a time, never cancelled, so that it cannot race its
        own completion). Not a timer: the server fires timers to the second, so a 10 ms timer
        wrote a breach alert (S3) or a comment's feed entry about a second late."""
        while self._unwritten:
            decided_in = self._unwritten[0][0]

            def later(decided_in: int = decided_in) -> bool:
                return workflow.info().get_current_history_length() > decided_in

            if not later():
                if self._wake is None or self._wake.done():
                    self._wake = asyncio.ensure_future(
                        workflow.execute_activity(
                            contracts.WAKE_CASE,
                            start_to_close_timeout=WAKE_TIMEOUT,
                            retry_policy=SIDE_EFFECT_RETRY,
                        )
                    )
                await workflow.wait_condition(later)
            now = workflow.info().get_current_history_length()
            while self._unwritten and self._unwritten[0][0] < now:
                _, effects, upto = self._unwritten.pop(0)
                await asyncio.gather(
                    *(
                        workflow.start_local_activity(
                            contracts.APPLY_EFFECTS,
                            contracts.EffectBatch(case_id=self.case.case_id, effects=batch),
                            result_type=int,
                            start_to_close_timeout=SIDE_EFFECT_TIMEOUT,
                            retry_policy=SIDE_EFFECT_RETRY,
                        )
                        for batch in effect_batches(effects)
                    )
                )
                if upto is not None:
                    self.feed.saved(upto)
                self._written += 1

    def over_roll_over_budget(self) -> bool:
        """While rolling over: has the case already set aside all it may carry?"""
        if not self.rolling_over:
            return False
        held = sum(len(e.text) for e in self.case.feed if (e.seq or 0) >= self.case.feed_saved)
        held += sum(len(str(d.arg)) for d in self.case.deferred)
        return held > ROLL_OVER_BUDGET

    def start_deferred(self) -> None:
        """The side effects the previous run decided on while it rolled over."""
        deferred, self.case.deferred = self.case.deferred, []
        for effect in deferred:
            self.side_effect(effect.activity, effect.arg)

    def in_background(self, work: asyncio.Future[Any]) -> None:
        """Work the case does not wait for now but finishes before close or roll-over."""
        self.pending.append(work)

    async def drain(self) -> None:
        while self.pending:
            batch, self.pending = self.pending, []
            await asyncio.gather(*batch)
        if self._wake is not None and not self._wake.done():
            # Let the write-behind wake-up finish before the case closes or rolls
            # over; a run that ended with it pending would race its completion.
            await self._wake

    async def ask(
        self, activity: str, arg: Any, result_type: type[T], *, caller_waits: bool = True
    ) -> T:
        """Run an activity the case needs the answer of. With a caller waiting (an update),
        give up after CALLER_DEADLINE so the caller gets a refusal instead of a hang."""
        options: dict[str, Any] = {
            "result_type": result_type,
            "start_to_close_timeout": SIDE_EFFECT_TIMEOUT,
            "schedule_to_close_timeout": CALLER_DEADLINE if caller_waits else None,
            "retry_policy": SIDE_EFFECT_RETRY,
        }
        if activity not in LOCAL_READS:
            return await workflow.execute_activity(activity, arg, **options)
        self._asking += 1
        try:
            return await workflow.execute_local_activity(activity, arg, **options)
        except (ApplicationError, ActivityTimeout) as e:
            # a local activity's failure arrives bare; the parts expect an activity's
            raise ActivityError(
                f"{activity} failed",
                scheduled_event_id=0,
                started_event_id=0,
                identity="",
                activity_type=activity,
                activity_id="",
                retry_state=None,
            ) from e
        finally:
            self._asking -= 1


def effect_batches(effects: list[contracts.Effect]) -> list[list[contracts.Effect]]:
    """Consecutive runs of effects within a batch's bounds (EFFECTS_PER_BATCH, and about
    EFFECT_BATCH_CHARS of input; a feed batch alone is at most FEED_BATCH_CHARS of text)."""
    batches: list[list[contracts.Effect]] = []
    chars = 0
    for effect in effects:
        size = _size(effect.arg)
        if (
            not batches
            or len(batches[-1]) >= contracts.EFFECTS_PER_BATCH
            or (batches[-1] and chars + size > contracts.EFFECT_BATCH_CHARS)
        ):
            batches.append([])
            chars = 0
        batches[-1].append(effect)
        chars += size
    return batches


def _size(value: Any) -> int:
    """About how many characters `value` takes as JSON (its strings' lengths, plus a little
    for every other item)."""
    if isinstance(value, str):
        return len(value) + 2
    if isinstance(value, dict):
        return sum(len(str(k)) + _size(v) + 4 for k, v in value.items())
    if isinstance(value, list):
        return sum(_size(v) + 1 for v in value)
    return 8
