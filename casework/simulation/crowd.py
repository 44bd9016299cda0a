"""The simulated crowd, as a workflow on the time-skipping server: customers open cases at
the load file's rates and sometimes Escalate Now, engineers take the cases the engine assigns
them, answer, work and resolve or escalate, Escalation Managers acknowledge what they are
alerted to. Its timers are the crowd's clock: the server skips from one to the next (or to the
engine's own: SLA deadlines, routing retries, business hours, the ladder) whenever nothing is
outstanding, so a week passes in minutes and every act lands at its simulated instant.

Input: `CrowdInput`. Signal `engine_said` (`EngineNote`, from the engine's wrapped activities,
casework.simulation.actors). Query `progress`. Result: `CrowdSummary`. Continues as new with
its whole state (`CrowdState`: the pending events, open cases, engineers' work) when the
history grows long.

An engineer works one case at a time while on shift: the highest priority, then the oldest, of
the cases the engine assigned them (E1); the first time they take a case they respond (S2: the
first response is the start of service), then after a service time drawn for their level they
escalate it (E2, with the level's probability) or resolve it, and the customer closes it. With
`triage`, Customer Care (L0) keeps one shared queue and passes the oldest case up as soon as an
engineer of the next level is free: the textbook's single queue (see README, Simulation).
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from casework.domain.models import Level
    from casework.simulation import plan
    from casework.simulation.messages import (
        CROWD_WORKFLOW,
        ENGINE_SAID,
        SIM_ACT,
        SIM_OPEN,
        ActOrder,
        ActOutcome,
        CrowdInput,
        CrowdState,
        CrowdSummary,
        EngineerState,
        EngineNote,
        Event,
        OpenOrder,
        SimCase,
        Tally,
    )

ACT_TIMEOUT = timedelta(seconds=120)
ACT_RETRY = RetryPolicy(maximum_attempts=3)
HISTORY_LIMIT = 2000
"""Events before the crowd continues as new: short runs, so that a run the worker must replay
(after a failed or timed-out task) replays in well under the task timeout on a loaded machine."""
REFUSALS_KEPT = 10


@workflow.defn(name=CROWD_WORKFLOW)
class CrowdWorkflow:
    @workflow.init
    def __init__(self, input: CrowdInput) -> None:
        self.input = input
        self.s: CrowdState = input.state or CrowdState()
        self.inbox: list[EngineNote] = []
        self.heap: list[tuple[datetime, int, Event]] = [(e.at, e.seq, e) for e in self.s.events]
        heapq.heapify(self.heap)
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
            self._push(Event(at=max(input.start, workflow.now()), seq=0, kind="day"))
        while True:
            while self.inbox:
                await self._heard(self.inbox.pop(0))
            now = workflow.now()
            if self.heap and self.heap[0][0] <= now:
                _, _, event = heapq.heappop(self.heap)
                await self._happen(event)
                continue
            if self._finished(now):
                break
            if workflow.info().get_current_history_length() > HISTORY_LIMIT:
                await workflow.wait_condition(workflow.all_handlers_finished)
                self.s.events = [e for _, _, e in self.heap]
                workflow.continue_as_new(self.input.model_copy(update={"state": self.s}))
            until = self.heap[0][0] if self.heap else self.drain_until
            try:
                await workflow.wait_condition(lambda: bool(self.inbox), timeout=until - now)
            except TimeoutError:
                pass
        return CrowdSummary(tally=self.s.tally, ended_at=workflow.now())

    def _finished(self, now: datetime) -> bool:
        """After the last day: once every case opened has had its first response (or the
        drain time is up)."""
        if now < self.end:
            return False
        if now >= self.drain_until:
            return True
        return all(c.responded for c in self.s.cases.values())

    def _push(self, event: Event) -> None:
        self.s.seq += 1
        event.seq = self.s.seq
        heapq.heappush(self.heap, (event.at, event.seq, event))

    async def _happen(self, event: Event) -> None:
        if event.kind == "day":
            self._plan_day()
        elif event.kind == "arrive":
            assert event.arrival is not None
            await self._arrive(event)
        elif event.kind == "finish":
            await self._finish(event.case_id, event.person_id)
        elif event.kind == "wake":
            engineer = self.s.engineers[event.person_id]
            engineer.wake_at = None
            await self._take_next(event.person_id)
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
        day = self.s.now_day
        if day >= self.input.days:
            return
        for arrival in plan.arrivals_for_day(
            self.input.load, self.input.roster, self.input.seed, day, self.input.start
        ):
            self._push(Event(at=arrival.at, seq=0, kind="arrive", arrival=arrival))
        self.s.now_day += 1
        self._push(Event(at=self.input.start + timedelta(days=day + 1), seq=0, kind="day"))

    async def _arrive(self, event: Event) -> None:
        arrival = event.arrival
        assert arrival is not None
        case_id = await workflow.execute_activity(
            SIM_OPEN,
            OpenOrder(arrival=arrival, phone_agent=self.input.roster.phone_agent),
            result_type=str,
            start_to_close_timeout=ACT_TIMEOUT,
            retry_policy=ACT_RETRY,
        )
        self.s.cases[case_id] = SimCase(
            case_id=case_id,
            account_id=arrival.account_id,
            contact_id=arrival.contact_id,
            tier=arrival.tier,
            priority=arrival.priority,
            level=plan.first_level_of(arrival.category),
            opened_at=arrival.at,
            restricted=arrival.restricted,
            product=arrival.product,
        )
        self.s.tally.opened += 1
        if arrival.escalate_now_at is not None:
            self._push(
                Event(at=arrival.escalate_now_at, seq=0, kind="escalate_now", case_id=case_id)
            )
        waiting = [n for n in self.s.pending if n.case_id == case_id]
        self.s.pending = [n for n in self.s.pending if n.case_id != case_id]
        for note in waiting:
            await self._heard(note)

    async def _escalate_now(self, case_id: str) -> None:
        """E3: the customer escalates online if the case is still open."""
        case = self.s.cases.get(case_id)
        if case is None or case.done:
            return
        payload = {"reason": "lack_of_progress", "note": "simulated"}
        if await self._act(case_id, case.contact_id, "escalate_now", payload, quiet=True):
            self.s.tally.escalate_now += 1

    # --- what the engine said ------------------------------------------------------------

    async def _heard(self, note: EngineNote) -> None:
        if note.kind == "manager_alert":
            delay = plan.acknowledge_after(self.input.load, self.input.seed, note.key)
            self._push(
                Event(
                    at=workflow.now() + delay,
                    seq=0,
                    kind="acknowledge",
                    case_id=note.case_id,
                    person_id=note.person_id,
                    key=note.key,
                )
            )
            return
        if note.kind == "released":
            for state in self.s.engineers.values():
                if note.case_id in state.unreleased:
                    state.unreleased.remove(note.case_id)
                    if not state.unreleased:
                        await self._dispatch()
            self.s.cases.pop(note.case_id, None)
            return
        case = self.s.cases.get(note.case_id)
        if case is None:
            self.s.pending.append(note)  # assigned before its open came back
            return
        engineer = self.input.roster.engineer(note.person_id)
        if engineer is None or note.person_id not in self.s.engineers:
            return
        case.owner = note.person_id
        case.level = engineer.level
        if case.triaged:
            self.s.dispatching = max(0, self.s.dispatching - 1)
        if self.input.load.triage and engineer.level is Level.L0 and not case.triaged:
            self.s.triage.append(case.case_id)
            await self._dispatch()
            return
        self.s.engineers[note.person_id].backlog.append(case.case_id)
        await self._take_next(note.person_id)

    # --- engineers -----------------------------------------------------------------------

    def _on_shift(self, engineer_id: str) -> bool:
        engineer = self.input.roster.engineer(engineer_id)
        return engineer is not None and engineer.shift.covers(workflow.now())

    async def _take_next(self, engineer_id: str) -> None:
        """The engineer, if free and on shift, takes their most urgent case."""
        state = self.s.engineers[engineer_id]
        state.backlog = [c for c in state.backlog if c in self.s.cases and not self.s.cases[c].done]
        if state.current is not None or not state.backlog:
            return
        if not self._on_shift(engineer_id):
            roster_entry = self.input.roster.engineer(engineer_id)
            assert roster_entry is not None
            wake = plan.next_on_shift(roster_entry.shift, workflow.now())
            if wake is not None and state.wake_at is None:
                state.wake_at = wake
                self._push(Event(at=wake, seq=0, kind="wake", person_id=engineer_id))
            return
        cases = self.s.cases
        pick = min(
            state.backlog,
            key=lambda c: (plan.PRIORITY_ORDER[cases[c].priority], cases[c].opened_at),
        )
        state.backlog.remove(pick)
        state.current = pick
        case = cases[pick]
        if not case.responded:
            text = {"text": "Looking at it now"}
            if await self._act(pick, engineer_id, "respond", text):
                case.responded = True
                self.s.tally.responded += 1
        took = plan.service_time(self.input.load, self.input.seed, pick, case.level, case.visit)
        self._push(
            Event(
                at=workflow.now() + took, seq=0, kind="finish", case_id=pick, person_id=engineer_id
            )
        )

    async def _finish(self, case_id: str, engineer_id: str) -> None:
        state = self.s.engineers[engineer_id]
        state.current = None
        case = self.s.cases.get(case_id)
        if case is not None and not case.done:
            seed, load = self.input.seed, self.input.load
            if plan.escalates(load, seed, case_id, case.level, case.visit):
                case.visit += 1
                case.owner = None
                if await self._act(case_id, engineer_id, "escalate", {"reason": "simulated"}):
                    self.s.tally.escalated += 1
            else:
                case.done = True
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
        await self._take_next(engineer_id)
        await self._dispatch()

    async def _dispatch(self) -> None:
        """Triage: Customer Care passes its oldest held case up while an engineer who could
        take it is free (nothing in hand, nothing unreleased) beyond those already promised a
        case (the engine routes to the fewest open cases, E1, so the free one gets it)."""
        if not self.input.load.triage:
            return
        while self.s.triage:
            case = self.s.cases.get(self.s.triage[0])
            if case is None or case.done or case.owner is None:
                self.s.triage.pop(0)
                continue
            free = [
                e
                for e in self.input.roster.engineers
                if e.level is Level.L1
                and self._free(e.id)
                and self._on_shift(e.id)
                and case.product.casefold() in {s.casefold() for s in e.skills}
                and (e.restricted_member if case.restricted else not e.restricted_queue_only)
            ]
            if len(free) - self.s.dispatching <= 0:
                return
            case_id = self.s.triage.pop(0)
            case.triaged = True
            self.s.dispatching += 1
            self.s.tally.triaged += 1
            await self._act(case_id, case.owner, "escalate", {"reason": "triage"})

    def _free(self, engineer_id: str) -> bool:
        state = self.s.engineers[engineer_id]
        return state.current is None and not state.backlog and not state.unreleased

    # --- acting --------------------------------------------------------------------------

    async def _act(
        self,
        case_id: str,
        actor: str,
        action: str,
        payload: Mapping[str, object],
        then: list[ActOrder] | None = None,
        quiet: bool = False,
    ) -> bool:
        outcome = await workflow.execute_activity(
            SIM_ACT,
            ActOrder(
                case_id=case_id,
                actor=actor,
                action=action,
                payload={"actor": actor, **payload},
                then=then or [],
                at=workflow.now(),
            ),
            result_type=ActOutcome,
            start_to_close_timeout=ACT_TIMEOUT,
            retry_policy=ACT_RETRY,
        )
        if not outcome.done and not quiet:
            self.s.tally.refused += 1
            if len(self.s.tally.refusals) < REFUSALS_KEPT:
                self.s.tally.refusals.append(f"{case_id} {actor} {outcome.refusal}")
        return outcome.done
