"""A new outbox row wakes only the relay lanes it goes out on (issue 30).

Before, every `wake` ran a round on each of the four lanes (email, chat, page, webhook): four
activities through the server for a row that goes out by mail. Now the waker names the row's
lanes, and a round that plans a row onto a lane no wake named (the directory changed in
between) wakes that lane itself, so no delivery waits for the poll. Here the relay workflow runs
on the dev server with a `deliver_due` that records which lanes ran and what it planned; the
notification activity names the lanes from the real directory.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from activities import NotificationActivities
from casework.notify.contracts import DELIVER_DUE, DeliveryReport, DeliveryRound, relay_id
from casework.notify.waker import RelayWaker
from casework.store import Store
from tests import receivers
from tests.receivers import Receiver
from tests.test_activities import note
from tests.test_relay_workflow import paged_directory, stop_relay
from tests.waiting import eventually
from workflows.unversioned import UnversionedRelay

receiver = receivers.receiver  # a fixture
__all__ = ["paged_directory"]  # a fixture, imported for this module's test


class Rounds:
    """`deliver_due` as the relay calls it: the lane of each round, in order; `plan_next`
    is what the next round of a lane reports it planned."""

    def __init__(self) -> None:
        self.lanes: list[str] = []
        self.plan_next: dict[str, list[str]] = {}
        self.relay: WorkflowHandle[Any, Any] | None = None

    @activity.defn(name=DELIVER_DUE)
    async def deliver_due(self, request: DeliveryRound) -> DeliveryReport:
        lane = request.lane or "all"
        self.lanes.append(lane)
        return DeliveryReport(planned=self.plan_next.pop(lane, []))  # type: ignore[arg-type]

    async def after(self, count: int) -> list[str]:
        """The lanes of the rounds after the first `count`, once the relay is quiet again:
        every lane a wake brought has had its round (the relay schedules every lane it wakes
        in the task that takes the wake, or in the one that takes the round that planned)."""
        await eventually(lambda: len(self.lanes) > count, what="a round")
        await eventually(self.quiet, what="the relay quiet, every lane waiting")
        return sorted(self.lanes[count:])

    async def quiet(self) -> bool:
        assert self.relay is not None
        described = (await self.relay.describe()).raw_description
        if described.pending_activities or described.HasField("pending_workflow_task"):
            return False
        last = [e async for e in self.relay.fetch_history_events()][-1]
        return last.event_type == EventType.EVENT_TYPE_TIMER_STARTED  # each lane waits


@pytest.fixture
async def relay(dev_env: WorkflowEnvironment) -> AsyncIterator[tuple[Rounds, RelayWaker]]:
    rounds = Rounds()
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    waker = RelayWaker(dev_env.client, task_queue, asyncio.get_running_loop())
    rounds.relay = dev_env.client.get_workflow_handle(relay_id(task_queue))
    async with Worker(
        dev_env.client,
        task_queue=task_queue,
        workflows=[UnversionedRelay],  # the relay, without Worker Versioning
        activities=[rounds.deliver_due],
    ):
        try:
            yield rounds, waker
        finally:
            await stop_relay(dev_env.client, task_queue)


async def test_a_wake_runs_a_round_on_the_lanes_it_names_only(
    relay: tuple[Rounds, RelayWaker],
) -> None:
    rounds, waker = relay
    waker.wake()  # a worker starting: every lane
    assert await rounds.after(0) == ["chat", "email", "page", "webhook"]

    waker.wake(["email"])  # a mail to a customer
    assert await rounds.after(4) == ["email"]

    waker.wake(["email", "page"])  # an Escalation Manager's alert
    assert await rounds.after(5) == ["email", "page"]

    waker.wake(["webhook"])  # an integration's event
    assert await rounds.after(7) == ["webhook"]

    waker.wake(["no-such-lane"])  # names nothing the relay has: every lane, never none
    assert await rounds.after(8) == ["chat", "email", "page", "webhook"]


async def test_a_round_that_plans_onto_a_lane_no_wake_named_wakes_it(
    relay: tuple[Rounds, RelayWaker],
) -> None:
    """The directory gave the person a pager after the row was written: the email round plans
    the row onto the page lane, and the page lane runs at once instead of at the poll."""
    rounds, waker = relay
    waker.wake()
    await rounds.after(0)
    rounds.plan_next["email"] = ["email", "page"]
    waker.wake(["email"])
    assert await rounds.after(4) == ["email", "page"]

    # and the run, its wakes naming lanes, replays
    history = await waker.client.get_workflow_handle(relay_id(waker.task_queue)).fetch_history()
    converter = waker.client.data_converter
    await Replayer(workflows=[UnversionedRelay], data_converter=converter).replay_workflow(history)


class Wakes:
    """A waker that records the lanes each wake names."""

    def __init__(self) -> None:
        self.named: list[list[str] | None] = []

    def wake(self, lanes: Any = None) -> None:
        self.named.append(None if lanes is None else sorted(lanes))


def test_a_notification_wakes_the_lanes_of_its_recipient(
    store: Store, receiver: Receiver, paged_directory: str
) -> None:
    """A customer is mailed: the email lane. The manager on duty is mailed and paged (the
    directory gives them a pager): the email and page lanes."""
    wakes = Wakes()
    notifications = NotificationActivities(store, wakes)  # type: ignore[arg-type]

    notifications.notify(note("k-1", "contact", "acme-alice"))
    notifications.notify(note("k-2", "escalation_manager", paged_directory))
    notifications.notify(note("k-1", "contact", "acme-alice"))  # the same key: queued once
    assert wakes.named == [["email"], ["email", "page"]]
