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
- No local activity at all: every read and write a case asks is an ordinary activity,
  which the server dispatches only once it has kept the task that scheduled it. (A case
  used local activities for its reads and for its writes until release 0.5.0. But a query
  that lands while a local activity runs makes the worker end that workflow task early to
  answer it, with the activity's marker, and hand the activity's answer to the workflow only
  in the next task, together with whatever signal or update came meanwhile; a replay hands
  it over in the first task, alone. What the case did next then came in another order on
  replay: a nondeterminism error, and the case stuck on every worker that had to replay it.
  The Case Center and `temporal workflow query` read cases all day;
  tests/test_replay_under_queries.py is that case.)
- Reads the case waits for before it writes (`WAITED_READS`: the routing, the escalation
  plan, the checks) are counted, so that what a task decides waits for their answers and
  goes in one write. Two of them write a row keyed by its cause, whose first write every
  later attempt adopts: the intake's case number (keyed by the request id) and a routing's
  assignment (keyed by case, level and routing attempt: `route_case` chooses and records in
  one step, so that routings of different cases at once see each other's engineers busy; a
  discarded attempt's row is adopted by the kept one under the same key, and any other is
  released by the case's next assignment or its close). A third writes in a read's place
  since release 0.7.0: a breach's escalation plan alerts the ladder's first manager (S3) under
  the key of that escalation's first step (`<escalation>:step-0`), so the alert lands a task
  sooner; the case's own alert of that step, written later by `apply_effects` under the same
  key, is then a no-op. It is an ordinary activity, so only a kept task can ask it.
- What a task decides to write (feed, outbox, facts, escalation rows, assignments,
  approvals, release: one `apply_effects`) is written by an `apply_effects` activity it
  schedules, one at a time and in the order decided (`_write`): dispatched only once the
  task that decided is kept. A write retried after a worker lost it repeats under the keys
  the kept task assigned, and each table's `ON CONFLICT DO NOTHING` (or ordered upsert)
  keeps one copy.
- A write a handler must see done before it answers (the customer's log-sharing answer, which
  the sharing checks) is an ordinary activity (`ask`), which only a kept task can schedule.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Protocol, TypeVar

from temporalio import workflow
from temporalio.common import Priority, RetryPolicy
from temporalio.exceptions import ApplicationError

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
CALLER_DEADLINE = timedelta(minutes=1)
"""How long a caller waiting on an update (filing a PR) waits for an activity before a
refusal."""
WAITED_READS = frozenset(
    {
        contracts.ROUTE_CASE,
        contracts.PLAN_ESCALATION,
        contracts.CHECK_VIEWER,
        contracts.CHECK_PARTNER,
        contracts.CHECK_ATTACHMENT,
    }
)
"""The reads of casework's own database a case waits on before it writes what the task
decided: a case's opening waits for its routing's answer, and writes the opening and the
assignment together (`_settle`)."""
URGENT = Priority(priority_key=1)
"""The task-queue priority of an escalation's plan, which writes its first alert (S3, E3):
on an engine with a backlog (a burst of breaches due together), it runs ahead of every other
activity (default 3), so the Escalation Managers' alert does not queue behind the writes of
the cases' other work. Priority orders a backlog only; an idle engine runs all alike."""
URGENT_ASKS = frozenset({contracts.PLAN_ESCALATION})


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
        """Reads the case waits on the answer of (`ask`, `WAITED_READS`), this moment."""
        self._unwritten: list[tuple[list[contracts.Effect], int | None]] = []
        """Side effects decided and not written yet: (the effects, the feed position written
        up to with them)."""
        self._writer: asyncio.Future[None] | None = None
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
        one `apply_effects`: until no read the case waits on (`WAITED_READS`) is
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
        """What this task decided is written by an activity it schedules (see "Who may
        write"), in the order decided, by one writer; done once it is written (a run's
        start-up, a roll-over and the close wait for it)."""
        if not effects and upto is None:
            return
        self._unwritten.append((effects, upto))
        self._queued += 1
        mine = self._queued
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._write())
        await workflow.wait_condition(lambda: self._written >= mine)

    async def _write(self) -> None:
        """Write what the tasks decided, one `apply_effects` round at a time: what they
        decided while one round was out goes in the next, together."""
        while self._unwritten:
            taken, self._unwritten = self._unwritten, []
            effects = [effect for batch, _ in taken for effect in batch]
            await asyncio.gather(
                *(
                    workflow.execute_activity(
                        contracts.APPLY_EFFECTS,
                        contracts.EffectBatch(case_id=self.case.case_id, effects=batch),
                        result_type=int,
                        start_to_close_timeout=SIDE_EFFECT_TIMEOUT,
                        retry_policy=SIDE_EFFECT_RETRY,
                    )
                    for batch in effect_batches(effects)
                )
            )
            upto = max((u for _, u in taken if u is not None), default=None)
            if upto is not None:
                self.feed.saved(upto)
            self._written += len(taken)

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
        if activity in URGENT_ASKS:
            options["priority"] = URGENT
        if activity not in WAITED_READS:
            return await workflow.execute_activity(activity, arg, **options)
        self._asking += 1
        try:
            return await workflow.execute_activity(activity, arg, **options)
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
