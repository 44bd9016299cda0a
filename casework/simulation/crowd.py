"""The simulated crowd, as a workflow on the time-skipping server: customers open cases at the
load file's rates and sometimes Escalate Now, engineers take the cases the engine assigns them,
answer, work and resolve or escalate, Escalation Managers acknowledge what they are alerted to.
Its timers are the crowd's clock: the server skips from one to the next (or to the engine's own:
SLA deadlines, routing retries, business hours, the ladder) whenever nothing is outstanding, so
a week passes in minutes.

PINNED (issue 28) like the engine's workflows; the time-skipping server, where the crowd runs,
ignores versioning.

Input: `CrowdInput`. Signal `engine_said` (`EngineNote`, from the engine's wrapped activities,
casework.simulation.actors). Query `progress`. Result: `CrowdSummary`. Continues as new with
its whole state (`CrowdState`) when the history grows long.

Time: every act belongs to a whole minute and is sent at its kind's second of that minute
(casework.simulation.clock), and what the engine says is placed in the minute it happened: the
crowd reads `workflow.now()` only to check that the server's clock has not jumped past what it
is waiting for (`MAX_LAG`), which stops the run (`INVARIANT`), as does an arrival that cannot be
opened. Each finished case's story (`SimCase`, its visits to each level) goes to the run's
ledger with the next act.

An engineer works one case at a time while on shift: the highest priority, then the oldest, of
the cases the engine assigned them (E1); the first time a case is taken the engineer responds
(S2: the first response is the start of service), then after a service time drawn for their
level they escalate it (E2, with the level's probability) or resolve it, and the customer
closes it. With `triage`, Customer Care (L0) keeps one shared queue and passes the oldest case
up as soon as an engineer of the next level is free: the textbook's single queue.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, VersioningBehavior
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from casework.domain.models import Level
    from casework.simulation import plan
    from casework.simulation.clock import Phase, minute_of, server_instant
    from casework.simulation.crowd_rules import (
        event_key,
        jumped,
        most_urgent,
        note_lag,
        queue_of,
        triage_takers,
    )
    from casework.simulation.messages import (
        CROWD_WORKFLOW,
        ENGINE_SAID,
        INVARIANT,
        SIM_ACT,
        SIM_OPEN,
        SIM_RECORD,
        ActOrder,
        ActOutcome,
        CrowdInput,
        CrowdState,
        CrowdSummary,
        EngineerState,
        EngineNote,
        Event,
        OpenOrder,
        OpenOutcome,
        SimCase,
        Tally,
        Visit,
    )

ACT_TIMEOUT = timedelta(days=3650)
"""No timeout that the machine's speed could reach: an act outstanding holds the server's clock
(it runs in real time then), and an act that never ends is the watchdog's to report."""
ACT_RETRY = RetryPolicy(maximum_attempts=1)
"""An act that fails stops the run: sent twice, an escalation would climb two levels."""
HISTORY_LIMIT = 2000
"""Events before the crowd continues as new: short runs, so that a run the worker must replay
(after a failed or timed-out task) replays in well under the task timeout on a loaded machine."""
REFUSALS_KEPT = 10
HeapItem = tuple[datetime, tuple[str, ...], int, Event]


STOPPED = "the simulation stopped rather than measure a week that did not happen"


def went_wrong(reason: str) -> ApplicationError:
    return ApplicationError(reason, type=INVARIANT, non_retryable=True)


@workflow.defn(name=CROWD_WORKFLOW, versioning_behavior=VersioningBehavior.PINNED)
class CrowdWorkflow:
    @workflow.init
    def __init__(self, input: CrowdInput) -> None:
        self.input = input
        self.s: CrowdState = input.state or CrowdState()
        self.inbox: list[EngineNote] = list(self.s.inbox)
        self.s.inbox = []
        self.heap: list[HeapItem] = []
        for event in self.s.events:
            self._heap_push(event)
        self.end = input.start + timedelta(days=input.days)
        self.drain_until = self.end + timedelta(seconds=input.drain)

    @workflow.signal(name=ENGINE_SAID)
    def engine_said(self, note: EngineNote) -> None:
        self.inbox.append(note)

    @workflow.query
    def progress(self) -> Tally:
        return self.s.tally

    # --- the loop ------------------------------------------------------------------------

    @workflow.run
    async def run(self, input: CrowdInput) -> CrowdSummary:
        if input.state is None:
            for name in (e.id for e in input.roster.engineers):
                self.s.engineers[name] = EngineerState()
            self.s.minute = input.start
            self._push(input.start, "plan", "plan")
        while True:
            while self.inbox:
                await self._heard(self.inbox.pop(0))
            now = workflow.now()
            if self.heap and self.heap[0][0] <= now:
                due, _, _, event = heapq.heappop(self.heap)
                self._check_lag(event, due, now)
                self.s.minute = event.minute  # a late event still happens in its own minute
                self.s.last = max(self.s.last or event.minute, event.minute)
                await self._happen(event)
                continue
            if self._all_opened() and not self.s.cases:
                break
            drained = server_instant(self.drain_until, "plan")
            if self._all_opened() and now >= drained:
                self.s.minute = self.drain_until  # the rest stay open, and are shown so
                break
            if workflow.info().get_current_history_length() > HISTORY_LIMIT:
                await workflow.wait_condition(workflow.all_handlers_finished)
                self.s.events = [item[3] for item in self.heap]
                self.s.inbox = self.inbox  # heard while waiting: not lost across the new run
                workflow.continue_as_new(self.input.model_copy(update={"state": self.s}))
            until = min(self.heap[0][0], drained) if self.heap else drained
            try:
                await workflow.wait_condition(lambda: bool(self.inbox), timeout=until - now)
            except TimeoutError:
                pass
        self._account_for_every_case()
        await self._record(final=True)
        ended = max(self.s.last or self.input.start, self.s.minute or self.input.start)
        return CrowdSummary(tally=self.s.tally, timing=self.s.timing, ended_at=ended)

    def _check_lag(self, event: Event, due: datetime, now: datetime) -> None:
        problem = note_lag(self.s.timing, now - due)
        if problem:
            raise went_wrong(
                f"{problem} ({event.kind} {event.case_id or event.person_id} at "
                f"{due:%a %H:%M:%S}): {STOPPED}"
            )

    def _all_opened(self) -> bool:
        """Every day planned and every arrival opened: the crowd then runs on until every case
        is resolved, for at most the drain time."""
        return self.s.day >= self.input.days and not any(i[3].kind == "arrive" for i in self.heap)

    def _account_for_every_case(self) -> None:
        """Every planned arrival was opened; every case opened is in the ledger (resolved) or
        still open, as it stands."""
        tally = self.s.tally
        if tally.opened != tally.planned:
            raise went_wrong(
                f"{tally.planned} arrivals were planned but {tally.opened} cases opened"
            )
        self.s.records.extend(self.s.cases.values())

    def _heap_push(self, event: Event) -> None:
        self.s.seq += 1
        due = server_instant(event.minute, event.phase)
        heapq.heappush(self.heap, (due, event_key(event), self.s.seq, event))

    def _push(self, minute: datetime, phase: Phase, kind: str, **fields: object) -> None:
        self._heap_push(Event(minute=minute, phase=phase, kind=kind, **fields))  # type: ignore[arg-type]

    async def _happen(self, event: Event) -> None:
        if event.kind == "plan":
            self._plan_day()
        elif event.kind == "arrive":
            await self._arrive(event)
        elif event.kind == "finish":
            await self._finish(event.case_id, event.person_id)
        elif event.kind == "start":
            self.s.engineers[event.person_id].start_at = None
            await self._start(event.person_id)
        elif event.kind == "handoff":
            self.s.handoff_at = None
            await self._dispatch()
        elif event.kind == "escalate_now":
            await self._escalate_now(event.case_id)
        elif event.kind == "acknowledge":
            # quiet: a manager who comes too late finds it passed on, as in life
            if await self._act(
                event.case_id, event.person_id, "acknowledge_escalation", {}, quiet=True
            ):
                self.s.tally.acknowledged += 1

    # --- customers -----------------------------------------------------------------------

    def _plan_day(self) -> None:
        day = self.s.day
        if day >= self.input.days:
            return
        arrivals = plan.arrivals_for_day(
            self.input.load, self.input.roster, self.input.seed, day, self.input.start
        )
        for arrival in arrivals:
            self._push(arrival.at, "open", "arrive", arrival=arrival)
        self.s.tally.planned += len(arrivals)
        self.s.day += 1
        self._push(self.input.start + timedelta(days=day + 1), "plan", "plan")

    async def _arrive(self, event: Event) -> None:
        arrival = event.arrival
        assert arrival is not None
        before = workflow.now()
        opened: OpenOutcome = await workflow.execute_activity(
            SIM_OPEN,
            OpenOrder(
                arrival=arrival, phone_agent=self.input.roster.phone_agent, records=self._hand()
            ),
            result_type=OpenOutcome,
            start_to_close_timeout=ACT_TIMEOUT,
            retry_policy=ACT_RETRY,
        )
        self._check_no_jump(f"open {arrival.request_id}", before, opened.wall_seconds)
        level = plan.first_level_of(arrival.category)
        self.s.cases[opened.case_id] = SimCase(
            case_id=opened.case_id,
            request_id=arrival.request_id,
            account_id=arrival.account_id,
            contact_id=arrival.contact_id,
            tier=arrival.tier,
            priority=arrival.priority,
            level=level,
            opened_at=arrival.at,
            restricted=arrival.restricted,
            product=arrival.product,
            visits=[
                Visit(level=level, queue=queue_of(level, arrival.restricted), arrived=arrival.at)
            ],
        )
        self.s.tally.opened += 1
        if arrival.escalate_now_at is not None:
            self._push(arrival.escalate_now_at, "customer", "escalate_now", case_id=opened.case_id)

    async def _escalate_now(self, case_id: str) -> None:
        """E3: the customer escalates online if the case is still open."""
        case = self.s.cases.get(case_id)
        if case is None or case.done:
            return
        payload = {"reason": "lack_of_progress", "note": "simulated"}
        if await self._act(case_id, case.contact_id, "escalate_now", payload, quiet=True):
            self.s.tally.escalate_now += 1
            case.escalated_now = self.s.minute

    # --- what the engine said ------------------------------------------------------------

    async def _heard(self, note: EngineNote) -> None:
        """The engine's word changes what the crowd knows at once; what a person does about it
        waits for its kind's second of the minute it happened in."""
        minute = minute_of(note.at)
        if note.kind == "manager_alert":
            delay = plan.acknowledge_after(self.input.load, self.input.seed, note.key)
            self._push(
                minute + delay,
                "acknowledge",
                "acknowledge",
                case_id=note.case_id,
                person_id=note.person_id,
                key=note.key,
            )
            return
        if note.kind == "released":
            self._released(note.case_id, minute)
            return
        case = self.s.cases.get(note.case_id)
        if case is None:
            return  # resolved already: the crowd hears of a case only after its open came back
        engineer = self.input.roster.engineer(note.person_id)
        if engineer is None or note.person_id not in self.s.engineers:
            return
        case.owner = note.person_id
        case.level = engineer.level
        visit = case.visits[-1]
        visit.engineer, visit.assigned = note.person_id, max(minute, visit.arrived)
        if case.triaged:
            self.s.dispatching = max(0, self.s.dispatching - 1)
        if self.input.load.triage and engineer.level is Level.L0 and not case.triaged:
            # the oldest first, whatever order the engine's word came in
            self.s.triage.append(case.case_id)
            cases = self.s.cases
            self.s.triage = sorted(
                (c for c in self.s.triage if c in cases), key=lambda c: (cases[c].opened_at, c)
            )
            self._handoff(minute)
            return
        self.s.engineers[note.person_id].backlog.append(case.case_id)
        self._start_soon(note.person_id, minute)

    def _released(self, case_id: str, minute: datetime) -> None:
        """Triage: the engine released a closed case's engineer (E1 counts their open cases)."""
        for state in self.s.engineers.values():
            if case_id in state.unreleased:
                state.unreleased.remove(case_id)
                if not state.unreleased:
                    self._handoff(minute)

    def _start_soon(self, engineer_id: str, minute: datetime) -> None:
        state = self.s.engineers[engineer_id]
        if state.start_at is not None and state.start_at <= minute:
            return
        state.start_at = minute
        self._push(minute, "start", "start", person_id=engineer_id)

    def _handoff(self, minute: datetime) -> None:
        if not self.input.load.triage:
            return
        if self.s.handoff_at is not None and self.s.handoff_at <= minute:
            return
        self.s.handoff_at = minute
        self._push(minute, "handoff", "handoff")

    # --- engineers -----------------------------------------------------------------------

    def _on_shift(self, engineer_id: str) -> bool:
        engineer = self.input.roster.engineer(engineer_id)
        assert self.s.minute is not None
        return engineer is not None and engineer.shift.covers(self.s.minute)

    async def _start(self, engineer_id: str) -> None:
        """The engineer, if free and on shift, starts on their most urgent case."""
        state = self.s.engineers[engineer_id]
        cases, minute = self.s.cases, self.s.minute
        assert minute is not None
        state.backlog = [
            c
            for c in state.backlog
            if c in cases and not cases[c].done and cases[c].owner == engineer_id
        ]
        if state.current is not None or not state.backlog:
            return
        if not self._on_shift(engineer_id):
            roster_entry = self.input.roster.engineer(engineer_id)
            assert roster_entry is not None
            wake = plan.next_on_shift(roster_entry.shift, minute)
            if wake is not None:
                self._start_soon(engineer_id, wake)
            return
        pick = most_urgent(state.backlog, cases)
        state.backlog.remove(pick)
        state.current = pick
        case = cases[pick]
        case.visits[-1].started = minute
        if not case.responded:
            text = {"text": "Looking at it now"}
            if await self._act(pick, engineer_id, "respond", text):
                case.responded = True
                case.first_response = minute
                self.s.tally.responded += 1
        took = plan.service_time(self.input.load, self.input.seed, pick, case.level, case.visit)
        self._push(minute + took, "finish", "finish", case_id=pick, person_id=engineer_id)

    async def _finish(self, case_id: str, engineer_id: str) -> None:
        state = self.s.engineers[engineer_id]
        state.current = None
        case = self.s.cases.get(case_id)
        minute = self.s.minute
        assert minute is not None
        if case is not None and not case.done:
            seed, load = self.input.seed, self.input.load
            visit = case.visits[-1]
            visit.finished = minute
            if plan.escalates(load, seed, case_id, case.level, case.visit):
                case.visit += 1
                case.owner = None
                visit.outcome = "escalated"
                self._next_visit(case, arrived=minute)
                if await self._act(case_id, engineer_id, "escalate", {"reason": "simulated"}):
                    self.s.tally.escalated += 1
            else:
                case.done = True
                visit.outcome = "resolved"
                case.resolved = minute
                if load.triage:
                    state.unreleased.append(case_id)
                close = ActOrder(
                    case_id=case_id,
                    actor=case.contact_id,
                    action="close",
                    payload={"actor": case.contact_id, "reason": "resolved"},
                )
                if await self._act(
                    case_id, engineer_id, "resolve", {"resolution": "simulated"}, then=[close]
                ):
                    self.s.tally.resolved += 1
                self.s.records.append(self.s.cases.pop(case_id))
        self._start_soon(engineer_id, minute)
        self._handoff(minute)

    def _next_visit(self, case: SimCase, arrived: datetime) -> None:
        level = plan.NEXT_LEVEL.get(case.visits[-1].level, Level.L3)
        case.visits.append(
            Visit(level=level, queue=queue_of(level, case.restricted), arrived=arrived)
        )

    async def _dispatch(self) -> None:
        """Triage: Customer Care passes its oldest held case up while an engineer who could
        take it is free (nothing in hand, nothing unreleased) beyond those already promised a
        case (the engine routes to the fewest open cases, E1, so the free one gets it). The
        case waits at the next level from its opening."""
        while self.s.triage:
            case = self.s.cases.get(self.s.triage[0])
            if case is None or case.done or case.owner is None:
                self.s.triage.pop(0)
                continue
            free = triage_takers(self.input.roster, self.s.engineers, case, self._on_shift)
            if len(free) - self.s.dispatching <= 0:
                return
            case_id = self.s.triage.pop(0)
            case.triaged = True
            held = case.visits[-1]
            held.started = held.finished = held.arrived
            held.outcome = "passed_up"
            self._next_visit(case, arrived=case.opened_at)
            self.s.dispatching += 1
            self.s.tally.triaged += 1
            await self._act(case_id, case.owner, "escalate", {"reason": "triage"})

    # --- acting --------------------------------------------------------------------------

    def _hand(self) -> list[SimCase]:
        records, self.s.records = self.s.records, []
        return records

    async def _record(self, final: bool = False) -> None:
        if self.s.records or final:
            await workflow.execute_activity(
                SIM_RECORD,
                self._hand(),
                start_to_close_timeout=ACT_TIMEOUT,
                retry_policy=ACT_RETRY,
            )

    async def _act(
        self,
        case_id: str,
        actor: str,
        action: str,
        payload: Mapping[str, object],
        then: list[ActOrder] | None = None,
        quiet: bool = False,
    ) -> bool:
        before = workflow.now()
        outcome = await workflow.execute_activity(
            SIM_ACT,
            ActOrder(
                case_id=case_id,
                actor=actor,
                action=action,
                payload={"actor": actor, **payload},
                then=then or [],
                at=self.s.minute,
                records=self._hand(),
            ),
            result_type=ActOutcome,
            start_to_close_timeout=ACT_TIMEOUT,
            retry_policy=ACT_RETRY,
        )
        self._check_no_jump(f"{action} {case_id}", before, outcome.wall_seconds)
        if not outcome.done and not quiet:
            self.s.tally.refused += 1
            if len(self.s.tally.refusals) < REFUSALS_KEPT:
                self.s.tally.refusals.append(f"{case_id} {actor} {outcome.refusal}")
        return outcome.done

    def _check_no_jump(self, what: str, before: datetime, wall_seconds: float) -> None:
        problem = jumped(workflow.now() - before, wall_seconds)
        if problem:
            raise went_wrong(f"{problem} while `{what}` was outstanding: {STOPPED}")
