"""Delivered where it was written (issue 30): the worker that queues a notification sends it
itself, at once, with no round trip through the relay workflow; the relay stays the backstop
for retries and for what a killed worker left. Claims on deliveries keep two rounds (one here,
one the relay's, or two workers') from sending one delivery twice.

Against real local servers (an aiosmtpd sink, HTTP receivers) and, for the retry, the relay
workflow on the dev server.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from activities import NotificationActivities
from activities.relay import RelayActivities
from casework.attachments import AttachmentStore
from casework.contracts import Notification
from casework.notify.contracts import relay_id
from casework.notify.waker import RelayWaker
from casework.store import Store
from tests import receivers
from tests.conftest import TEST_RING
from tests.receivers import Receiver, Sink
from tests.test_notify_relay import config, directory_with
from tests.test_relay_workflow import fast_policy, stop_relay
from tests.waiting import eventually
from worker import activities_for, build_worker

receiver, smtp_sink = receivers.receiver, receivers.smtp_sink  # the fixtures


def to_alice(key: str) -> Notification:
    return Notification(
        key=key,
        case_id="case-000042",
        recipient_kind="contact",
        recipient_id="acme-alice",
        subject="Update on case-000042",
        body="We are on it",
        at=datetime.now(UTC),
    )


def chat_to(receiver: Receiver) -> dict[str, Any]:
    return {"acme-alice": {"email": False, "chat": receiver.url}}


def notify_of(activities: list[Any]) -> Any:
    """The worker's `notify` activity (it wakes the worker's waker)."""
    return next(a for a in activities if getattr(a, "__name__", "") == "notify")


async def relay_exists(env: WorkflowEnvironment, task_queue: str) -> bool:
    try:
        await env.client.get_workflow_handle(relay_id(task_queue)).describe()
    except RPCError as e:
        if e.status is RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def test_a_customers_mail_goes_out_from_the_worker_that_queued_it(
    dev_env: WorkflowEnvironment, store: Store, files: AttachmentStore, smtp_sink: Sink
) -> None:
    """S3: Alice's update is mailed at once by the worker whose activity queued it; the relay
    workflow is never asked (it does not even exist: no signal, no round, no activity)."""
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    waker = RelayWaker(dev_env.client, task_queue, asyncio.get_running_loop())
    activities = activities_for(
        store, fast_policy(), attachments=files, relay=config(smtp_sink), waker=waker
    )
    await asyncio.to_thread(notify_of(activities), to_alice("k-here"))

    [mail] = await eventually(smtp_sink.mails, what="Alice's mail")
    assert mail["key"] == "k-here" and mail["to"] == "alice@acme.example"
    [row] = await eventually(
        lambda: [r for r in store.outbox.rows("case-000042") if r["status"] == "delivered"],
        what="the row recorded as delivered",
    )
    assert row["attempts"] == 1 and row["channels_done"] == ["email"]
    assert not await relay_exists(dev_env, task_queue)


async def test_a_send_that_fails_here_is_retried_by_the_relay(
    dev_env: WorkflowEnvironment,
    store: Store,
    files: AttachmentStore,
    smtp_sink: Sink,
    receiver: Receiver,
) -> None:
    """Alice's chat receiver is down for the first try: the round here records the failure and
    wakes the relay's chat lane, whose timer tries again after the backoff; the message is
    delivered on the second attempt, once."""
    store.directory.replace(directory_with(**chat_to(receiver)))
    receiver.fail_with = 500
    answer = receiver.handle

    def down_once(request: Any) -> int:
        status = answer(request)
        receiver.fail_with = None  # up again from the second request on
        return status

    receiver.handle = down_once  # type: ignore[method-assign]
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    waker = RelayWaker(dev_env.client, task_queue, asyncio.get_running_loop())
    activities = activities_for(
        store, fast_policy(), attachments=files, relay=config(smtp_sink), waker=waker
    )
    async with build_worker(
        dev_env.client, task_queue=task_queue, activities=activities, ring=TEST_RING
    ):
        try:
            await asyncio.to_thread(notify_of(activities), to_alice("k-retried"))
            [row] = await eventually(
                lambda: [r for r in store.outbox.rows("case-000042") if r["status"] == "delivered"],
                what="the retry by the relay, delivered",
            )
            assert await relay_exists(dev_env, task_queue)
        finally:
            await stop_relay(dev_env.client, task_queue)
    assert row["attempts"] == 2
    assert list(receiver.processed) == ["k-retried"]


async def test_a_delivery_one_round_holds_is_not_sent_by_another(
    store: Store, smtp_sink: Sink, receiver: Receiver
) -> None:
    """Two rounds of the chat lane at once (one here, one the relay's; or two workers'): the
    first claims Alice's message and is still sending it (her receiver holds the request); the
    second finds nothing to send. Once the receiver answers, the message was sent once."""
    store.directory.replace(directory_with(**chat_to(receiver)))
    receiver.hang = threading.Event()
    NotificationActivities(store).notify(to_alice("k-held"))
    relay = config(smtp_sink)
    first = asyncio.ensure_future(RelayActivities(store, relay).round_here("chat"))
    try:
        await asyncio.to_thread(receiver.got_one.wait, 30)
        second = await RelayActivities(store, relay).round_here("chat")
        assert (second.delivered, second.retrying) == (0, 0)
        assert len(receiver.requests) == 1
    finally:
        receiver.hang.set()
    report = await first
    assert report.delivered == 1 and len(receiver.requests) == 1
    [row] = store.outbox.rows("case-000042")
    assert row["status"] == "delivered" and row["attempts"] == 1


async def test_a_claim_runs_out_so_a_killed_rounds_deliveries_go_out_after_all(
    store: Store, smtp_sink: Sink
) -> None:
    """A round that claims a delivery and dies (a worker killed mid-send) holds it only for its
    lease: the relay's next round is due when the lease runs out (`next_due`), and takes it
    then. A round that fails lets go of what it did not record at once (`release`)."""
    NotificationActivities(store).notify(to_alice("k-claimed"))
    await RelayActivities(store, config(smtp_sink)).round_here("chat")  # plans: email only
    deliveries = store.deliveries
    now = datetime.now(UTC)

    def lease(rows: int) -> timedelta:
        return timedelta(seconds=20)

    token, [row] = deliveries.due("email", now, 10, lease)
    assert row["idempotency_key"] == "k-claimed"
    assert deliveries.due("email", now + timedelta(seconds=19), 10, lease)[1] == []
    assert deliveries.next_due("email") == now + timedelta(seconds=20)
    _, [again] = deliveries.due("email", now + timedelta(seconds=21), 10, lease)
    assert again["idempotency_key"] == "k-claimed"  # the lease ran out: taken by the next

    later = now + timedelta(seconds=22)
    token, [row] = deliveries.due("email", later + timedelta(seconds=21), 10, lease)
    deliveries.release(token)
    assert deliveries.next_due("email") is None  # let go: nothing held, nothing to wait for
    assert [r["idempotency_key"] for r in deliveries.due("email", later, 10, lease)[1]] == [
        "k-claimed"
    ]


async def test_a_round_claims_at_most_its_batch_and_the_next_takes_the_rest(
    store: Store, smtp_sink: Sink
) -> None:
    """Three of Alice's updates are due on the email lane: a round of two takes the two oldest,
    the next round the third, and a third round finds nothing free."""
    for n in range(3):
        NotificationActivities(store).notify(to_alice(f"k-batch-{n}"))
    await RelayActivities(store, config(smtp_sink)).round_here("chat")  # plans: email only
    now = datetime.now(UTC)

    def lease(rows: int) -> timedelta:
        return timedelta(seconds=30)

    keys = [
        [r["idempotency_key"] for r in store.deliveries.due("email", now, 2, lease)[1]]
        for _ in range(3)
    ]
    assert keys == [["k-batch-0", "k-batch-1"], ["k-batch-2"], []]
