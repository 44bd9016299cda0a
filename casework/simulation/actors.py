"""The crowd's hands on the engine, and the engine's word back to the crowd.

`CrowdActivities` (on the crowd's task queue): open a case as its contact (or the Customer Care
agent taking the call) and act on one as a person, through the same client functions as the
CLI and the door (`casework.client.open_case`, `act_on_case`), each signed for the person with
the run's key ring (casework.identity), so the case checks who acts exactly as in production.

`EngineEars` wraps two of the engine's own activities on the engine's worker: `notify` (the
outbox: "case-000042 assigned to you", an Escalation Manager's alert) and `release_case` (a
closed case frees its engineer). Each does the real work first, then tells the crowd workflow
by signal, as the person's mailbox would. The time-skipping server holds its clock while the
activity and the signal's workflow task are outstanding, so the crowd hears at the very instant
of simulated time the engine acted: no polling.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from casework.client import CaseworkError, Opener, act_on_case, open_case
from casework.contracts import (
    NOTIFY,
    RELEASE_CASE,
    Notification,
    NotificationResult,
    ReleaseRequest,
)
from casework.domain.models import Channel, OpenCaseRequest
from casework.identity.interceptors import acting
from casework.identity.principal import Principal
from casework.simulation.clock import PHASE
from casework.simulation.messages import (
    ENGINE_SAID,
    SIM_ACT,
    SIM_OPEN,
    SIM_RECORD,
    ActOrder,
    ActOutcome,
    EngineNote,
    OpenOrder,
    OpenOutcome,
    SimCase,
)

CASE_OPTIONS = {"index_search_attributes": False}
"""The time-skipping server has no custom search attributes (STYLE.md)."""
ASSIGNED_SUFFIX = " assigned to you"
TELL_ATTEMPTS = 20


@dataclass
class Progress:
    """Where the run is, for the progress bar: read by the runner's thread, written by the
    activities."""

    sim_time: datetime | None = None
    opened: int = 0
    actions: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def saw(self, at: datetime | None, opened: int = 0) -> None:
        with self.lock:
            if at is not None and (self.sim_time is None or at > self.sim_time):
                self.sim_time = at
            self.opened += opened
            self.actions += 1


@dataclass
class Ledger:
    """Each case's story as the crowd lived it (`SimCase`, by case number), written by the
    crowd's activities in this process and read by the run when the crowd is done."""

    cases: dict[str, SimCase] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def write(self, records: list[SimCase]) -> None:
        with self.lock:
            for record in records:
                self.cases[record.case_id] = record


class CrowdActivities:
    """The crowd's hands: `client` must not unlock time skipping (a client built from the
    time-skipping environment's configuration does, whenever it awaits a workflow's result:
    the server would then skip past what the crowd is doing, STYLE.md)."""

    def __init__(
        self,
        client: Client,
        engine_task_queue: str,
        progress: Progress,
        ledger: Ledger,
        opener_at: Callable[[datetime], Opener] | None = None,
    ) -> None:
        """`opener_at`: the intake of the engine's worker done in this process for a case
        opening at an instant (`worker.opener`, as the door beside a worker opens cases);
        without one, cases open through the Intake workflow, as `casework open` does."""
        self.client = client
        self.engine_task_queue = engine_task_queue
        self.progress = progress
        self.ledger = ledger
        self.opener_at = opener_at

    @activity.defn(name=SIM_RECORD)
    async def record(self, records: list[SimCase]) -> None:
        self.ledger.write(records)

    @activity.defn(name=SIM_OPEN)
    async def open(self, order: OpenOrder) -> OpenOutcome:
        """Open the arrival's case as the engine's intake sees any other: web by the contact,
        phone taken by Customer Care (A2). Returns the case number."""
        began = time.monotonic()
        self.ledger.write(order.records)
        arrival = order.arrival
        phone = arrival.channel == Channel.PHONE.value
        request = OpenCaseRequest(
            request_id=arrival.request_id,
            channel=Channel(arrival.channel),
            account_id=arrival.account_id,
            contact_id=arrival.contact_id,
            product=arrival.product,
            version="7.4.3",
            priority=arrival.priority,
            category=arrival.category,
            description=f"simulated {arrival.priority.value} {arrival.product} case",
            received_by=order.phone_agent if phone else None,
        )
        opener = self.opener_at(arrival.at + PHASE["open"]) if self.opener_at else None
        result = await open_case(
            self.client,
            request,
            task_queue=self.engine_task_queue,
            case_options=CASE_OPTIONS,
            opener=opener,
        )
        self.progress.saw(arrival.at, opened=1)
        if not result.case_id:
            raise CaseworkError(f"no case opened for {arrival.request_id}: {result}")
        return OpenOutcome(case_id=result.case_id, wall_seconds=time.monotonic() - began)

    @activity.defn(name=SIM_ACT)
    async def act(self, order: ActOrder) -> ActOutcome:
        """The action as its actor, then the follow-ups; a refusal ends the chain (the crowd
        counts it: a crowd that acts as the rules allow meets none it did not expect)."""
        began = time.monotonic()
        self.ledger.write(order.records)
        for step in [order, *order.then]:
            with acting(Principal(id=step.actor, via="api-key")):
                try:
                    await act_on_case(self.client, step.case_id, step.action, step.payload)
                except CaseworkError as e:
                    return ActOutcome(
                        done=False,
                        refusal=f"{step.action}: {e}",
                        wall_seconds=time.monotonic() - began,
                    )
        self.progress.saw(order.at)
        return ActOutcome(done=True, wall_seconds=time.monotonic() - began)


class EngineEars:
    """The engine's `notify` and `release_case`, doing their real work and then telling the
    crowd workflow `crowd_id`."""

    def __init__(
        self,
        real_notify: Any,
        real_release: Any,
        client: Client,
        crowd_id: str,
        tell_releases: bool = True,
    ) -> None:
        """`tell_releases`: the crowd needs to hear releases only to hold triage (it knows a
        case is done when it resolves it)."""
        self.real_notify = real_notify
        self.real_release = real_release
        self.client = client
        self.crowd_id = crowd_id
        self.tell_releases = tell_releases

    async def _tell(self, note: EngineNote) -> None:
        """Signal the crowd; a signal that meets the crowd between two of its runs
        (continue-as-new) is refused as if it were done, and is sent again while it runs (a
        lost note would leave a case nobody works on). A crowd that is done (or was stopped):
        the engine goes on without listeners."""
        handle = self.client.get_workflow_handle(self.crowd_id)
        for attempt in range(TELL_ATTEMPTS):
            try:
                await handle.signal(ENGINE_SAID, note)
                return
            except RPCError as e:
                if e.status not in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
                    raise
            try:
                running = (await handle.describe()).status is WorkflowExecutionStatus.RUNNING
            except RPCError:
                running = False
            if not running:
                return
            await asyncio.sleep(0.01 * (attempt + 1))
        raise RuntimeError(f"the crowd did not take {note.kind} {note.case_id}; the run stops")

    @activity.defn(name=NOTIFY)
    async def notify(self, message: Notification) -> NotificationResult:
        result: NotificationResult = await asyncio.to_thread(self.real_notify, message)
        if message.recipient_kind == "engineer" and message.subject.endswith(ASSIGNED_SUFFIX):
            await self._tell(
                EngineNote(
                    kind="assigned",
                    case_id=message.case_id,
                    person_id=message.recipient_id,
                    at=message.at,
                )
            )
        elif message.recipient_kind == "escalation_manager":
            await self._tell(
                EngineNote(
                    kind="manager_alert",
                    case_id=message.case_id,
                    person_id=message.recipient_id,
                    key=message.key,
                    at=message.at,
                )
            )
        return result

    @activity.defn(name=RELEASE_CASE)
    async def release_case(self, request: ReleaseRequest) -> int:
        released: int = await asyncio.to_thread(self.real_release, request)
        if self.tell_releases:
            await self._tell(EngineNote(kind="released", case_id=request.case_id, at=request.at))
        return released
