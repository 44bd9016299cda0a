"""The relay end to end on the Temporal dev server (issue 14), with real local receivers: a
breach alert reaches the Escalation Manager on duty exactly once by mail and pages them, and
the acknowledgement the message asks for stops the ladder (E3, S3); a worker killed in the
middle of a delivery does not make a de-duplicating receiver act twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.common import WorkerDeploymentVersion
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities import NotificationActivities
from casework.attachments import AttachmentStore
from casework.contracts import Notification
from casework.domain.routing import manager_on_duty
from casework.domain.sla import SlaPolicy, policy_with
from casework.notify.config import RelayConfig
from casework.notify.contracts import relay_id
from casework.notify.waker import RelayWaker
from casework.store import Store
from casework.store.outbox import PENDING
from tests import receivers
from tests.conftest import SETTLE_TIMEOUT, TEST_RING, Desk, signed, target_of
from tests.receivers import Receiver, Sink
from tests.test_notify_relay import directory_with
from tests.waiting import eventually
from worker import activities_for, build_worker

receiver, smtp_sink = receivers.receiver, receivers.smtp_sink  # the fixtures
ROOT = Path(__file__).resolve().parent.parent


ACK_WINDOW = timedelta(seconds=4)
"""How long an Escalation Manager has to acknowledge under `fast_policy`."""


def fast_policy() -> SlaPolicy:
    return policy_with(
        {"GOLD": {"P1": "60s", "P3": "480s"}, "PLATINUM": {"P1": "2s", "P3": "240s"}},
        every_tier={"P2": "60s"},
        routing_retry="5s",
        escalation_acknowledge_within=f"{ACK_WINDOW.seconds}s",
    )


async def short_timers_left(desk: Desk, case_id: str, within: timedelta) -> list[int]:
    """The case's timers of at most `within` (an acknowledgement window) that
    have neither fired nor been cancelled: the ids of the events that started them."""
    left: set[int] = set()
    async for event in desk.case(case_id).fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
            started = event.timer_started_event_attributes
            if started.start_to_fire_timeout.ToTimedelta() <= within:
                left.add(event.event_id)
        elif event.event_type == EventType.EVENT_TYPE_TIMER_FIRED:
            left.discard(event.timer_fired_event_attributes.started_event_id)
        elif event.event_type == EventType.EVENT_TYPE_TIMER_CANCELED:
            left.discard(event.timer_canceled_event_attributes.started_event_id)
    return sorted(left)


async def stop_relay(client: Client, task_queue: str) -> None:
    try:
        await client.get_workflow_handle(relay_id(task_queue)).terminate(reason="test finished")
    except RPCError:
        pass


@pytest.fixture
def paged_directory(store: Store, receiver: Receiver) -> str:
    """Both rota managers are paged at the receiver (PagerDuty Events v2); who is on duty now."""
    pager = {"page": {"kind": "pagerduty", "url": receiver.url, "routing_key": "R-casework"}}
    store.directory.replace(directory_with(**{"em-ines": pager, "em-jon": pager}))
    return manager_on_duty(store.directory.rota(), datetime.now(UTC)).id


@pytest.fixture
async def relay_desk(
    dev_env: WorkflowEnvironment, store: Store, files: AttachmentStore, smtp_sink: Sink
) -> AsyncIterator[Desk]:
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    relay = RelayConfig(
        smtp_host="127.0.0.1", smtp_port=smtp_sink.port, public_url="https://cases.example"
    )
    waker = RelayWaker(dev_env.client, task_queue, asyncio.get_running_loop())
    async with build_worker(
        dev_env.client,
        task_queue=task_queue,
        activities=activities_for(
            store, fast_policy(), attachments=files, relay=relay, waker=waker
        ),
        ring=TEST_RING,
    ):
        desk = Desk(signed(dev_env.client), task_queue, {})
        try:
            yield desk
        finally:
            await desk.tidy_up()
            await stop_relay(dev_env.client, task_queue)


async def test_a_breach_alert_reaches_the_manager_on_duty_once_and_acknowledging_stops_it(
    relay_desk: Desk, store: Store, smtp_sink: Sink, receiver: Receiver, paged_directory: str
) -> None:
    """S3/E3: a Platinum P1 unanswered for its 2 s target breaches; the manager on duty gets
    exactly one mail and one page for the escalation, each with the command that acknowledges;
    they acknowledge, and no one is alerted for the next rung after the 4 s window."""
    manager = paged_directory
    case_id = await relay_desk.open(priority="P1", account_id="acme", contact_id="acme-alice")
    key = f"{case_id}-E1:step-0"

    def alerts() -> list[dict[str, str]]:
        return [m for m in smtp_sink.mails() if m["key"].startswith(f"{case_id}-E1:")]

    [mail] = await eventually(alerts, what="the breach alert's mail")
    page = await eventually(
        lambda: [r for r in receiver.requests if r.json().get("dedup_key") == key], what="the page"
    )
    assert mail["key"] == key and mail["to"].endswith("@vendor.example")
    assert f"casework --profile {manager} acknowledge {case_id}" in mail["text"]
    assert page[0].json()["payload"]["custom_details"]["acknowledge"] == (
        f"casework --profile {manager} acknowledge {case_id}"
    )
    await relay_desk.act(case_id, "acknowledge_escalation", actor=manager)
    view = await relay_desk.view(case_id)
    assert view.escalations[0].acknowledged_by == manager
    # Past the 4 s window, without a pause of its length: every timer of the case as short as
    # the window has fired or been cancelled (an unacknowledged ladder's fires, and alerts the
    # next rung), the case has done what followed, and the relay has sent all it queued.
    await eventually(
        lambda: short_timers_left(relay_desk, case_id, ACK_WINDOW),
        until=lambda left: not left,
        what=f"{case_id}'s timers of at most {ACK_WINDOW} to fire or be cancelled",
    )
    assert await relay_desk.settle(case_id), f"{case_id} never settled"
    await eventually(
        lambda: not [r for r in store.outbox.rows(case_id) if r["status"] == PENDING],
        what=f"the relay to send all {case_id} queued",
    )
    assert [m["key"] for m in alerts()] == [key]
    assert [r.json()["dedup_key"] for r in receiver.requests] == [key]
    rows = [r for r in store.outbox.rows(case_id) if r["idempotency_key"] == key]
    assert [(r["status"], r["attempts"]) for r in rows] == [("delivered", 1)]
    assert rows[0]["recipient_id"] == manager


def deployment_of(task_queue: str) -> WorkerDeploymentVersion:
    """The deployment version of a test's worker processes: a deployment of the test's own."""
    return WorkerDeploymentVersion(f"casework-{task_queue}", metadata.version("casework"))


def worker_process(
    dev_env: WorkflowEnvironment, tmp_path: Path, store: Store, task_queue: str, sink: Sink
) -> subprocess.Popen[bytes]:
    """`python worker.py`, as a deployment runs it: a process the test can kill. Its
    deployment version (issue 28) is `deployment_of(task_queue)`'s, the package's build."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CASEWORK_DEPLOYMENT_NAME": deployment_of(task_queue).deployment_name,
        "TEMPORAL_ADDRESS": target_of(dev_env),
        "CASEWORK_STATE_DIR": str(tmp_path / "worker-state"),
        "CASEWORK_DB_URL": store.url,
        "CASEWORK_TASK_QUEUE": task_queue,
        "CASEWORK_KEYRING_FILE": str(ROOT / "tests" / "data" / "test-keyring.json"),
        "CASEWORK_SMTP_HOST": "127.0.0.1",
        "CASEWORK_SMTP_PORT": str(sink.port),
    }
    return subprocess.Popen(
        [sys.executable, str(ROOT / "worker.py")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "worker.log", "wb"),  # noqa: SIM115
        start_new_session=True,
    )


async def test_a_worker_killed_mid_delivery_does_not_deliver_twice(
    dev_env: WorkflowEnvironment,
    tmp_path: Path,
    store: Store,
    files: AttachmentStore,
    smtp_sink: Sink,
    receiver: Receiver,
) -> None:
    """At least once, received once: the chat receiver holds the first delivery while the
    worker that sent it is killed (SIGKILL); the relay's round runs again on another worker,
    which sends it again under the same Idempotency-Key: the receiver, de-duplicating by it,
    acts once, and the row ends delivered."""
    store.directory.replace(
        directory_with(**{"acme-alice": {"email": False, "chat": receiver.url}})
    )
    receiver.hang = __import__("threading").Event()
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    process = worker_process(dev_env, tmp_path, store, task_queue, smtp_sink)
    try:
        NotificationActivities(store).notify(
            Notification(
                key="k-killed",
                case_id="case-000009",
                recipient_kind="contact",
                recipient_id="acme-alice",
                subject="Update on case-000009",
                body="We are on it",
                at=datetime.now(UTC),
            )
        )
        # the worker wakes its relay as it starts; the round sends the row and hangs
        assert await asyncio.to_thread(receiver.got_one.wait, SETTLE_TIMEOUT), (
            tmp_path / "worker.log"
        ).read_text()[-2000:]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
        receiver.hang.set()
        relay = RelayConfig(smtp_host="127.0.0.1", smtp_port=smtp_sink.port)
        async with build_worker(  # the same version: the relay is pinned to it
            dev_env.client,
            task_queue=task_queue,
            activities=activities_for(store, fast_policy(), attachments=files, relay=relay),
            ring=TEST_RING,
            version=deployment_of(task_queue),
        ):
            [row] = await eventually(
                lambda: [r for r in store.outbox.rows("case-000009") if r["status"] == "delivered"],
                what="the row to be delivered by the second worker",
            )
            await stop_relay(dev_env.client, task_queue)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert len(receiver.requests) == 2  # sent twice: at least once
    assert {r.headers["idempotency-key"] for r in receiver.requests} == {"k-killed"}
    assert list(receiver.processed) == ["k-killed"]  # acted on once
    assert row["attempts"] == 1 and row["channels_done"] == ["chat"]


async def test_the_relay_continues_as_new_and_keeps_delivering(
    relay_desk: Desk, store: Store, smtp_sink: Sink
) -> None:
    """The relay never ends and its history stays bounded: after `rounds_per_run` rounds it
    continues as new, carrying only its counters, and the next run delivers what is queued."""
    from casework.notify.contracts import RELAY_WORKFLOW, WAKE, RelayState

    client = relay_desk.client
    handle = await client.start_workflow(
        RELAY_WORKFLOW,
        RelayState(rounds_per_run=2),
        id=relay_id(relay_desk.task_queue),
        task_queue=relay_desk.task_queue,
    )
    notify = NotificationActivities(store).notify
    for n in range(4):
        notify(
            Notification(
                key=f"k-run-{n}",
                case_id="case-000011",
                recipient_kind="contact",
                recipient_id="acme-alice",
                subject=f"note {n}",
                body="b",
                at=datetime.now(UTC),
            )
        )
        await handle.signal(WAKE)
        await eventually(
            lambda n=n: any(m["key"] == f"k-run-{n}" for m in smtp_sink.mails()), what=f"mail {n}"
        )
    described = await client.get_workflow_handle(relay_id(relay_desk.task_queue)).describe()
    assert described.run_id != handle.result_run_id  # a later run than the one started
    keys = [m["key"] for m in smtp_sink.mails() if m["key"].startswith("k-run-")]
    assert sorted(keys) == [f"k-run-{n}" for n in range(4)]
    # issue 27: the first run (a round on every lane at once) replays as it ran
    from temporalio.worker import Replayer

    from casework.notify.contracts import LANES
    from tests.conftest import CONVERTER
    from workflows.relay import NotificationRelay

    first = client.get_workflow_handle(handle.id, run_id=handle.result_run_id)
    history = await first.fetch_history()
    kinds = [e.event_type for e in history.events]
    first_task = kinds.index(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
    rounds = kinds[first_task:].index(EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)
    started = kinds[first_task : first_task + rounds].count(
        EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    )
    assert started == len(LANES), f"{started} rounds started at once, not one per lane"
    await Replayer(workflows=[NotificationRelay], data_converter=CONVERTER).replay_workflow(history)


async def test_the_relay_rolls_over_when_asked_and_keeps_delivering(
    relay_desk: Desk, store: Store, smtp_sink: Sink
) -> None:
    """Issue 28: `roll_over` (what a rollout sends; any payload) winds the relay's lanes down
    and it continues as new at once, not after its 500 rounds, and the next run delivers; the
    run that rolled over replays as it ran."""
    from temporalio.worker import Replayer

    from casework.notify.contracts import RELAY_WORKFLOW, WAKE, RelayState
    from tests.conftest import CONVERTER
    from workflows.relay import NotificationRelay

    client = relay_desk.client
    handle = await client.start_workflow(
        RELAY_WORKFLOW,
        RelayState(),
        id=relay_id(relay_desk.task_queue),
        task_queue=relay_desk.task_queue,
    )
    await handle.signal("roll_over", {"from": "a stranger"})
    latest = client.get_workflow_handle(handle.id)
    await eventually(
        latest.describe, until=lambda d: d.run_id != handle.result_run_id, what="a new relay run"
    )
    NotificationActivities(store).notify(
        Notification(
            key="k-after-roll-over",
            case_id="case-000012",
            recipient_kind="contact",
            recipient_id="acme-alice",
            subject="after the roll-over",
            body="b",
            at=datetime.now(UTC),
        )
    )
    await latest.signal(WAKE)
    await eventually(
        lambda: any(m["key"] == "k-after-roll-over" for m in smtp_sink.mails()), what="the mail"
    )
    first = client.get_workflow_handle(handle.id, run_id=handle.result_run_id)
    history = await first.fetch_history()
    assert history.events[-1].HasField("workflow_execution_continued_as_new_event_attributes")
    await Replayer(workflows=[NotificationRelay], data_converter=CONVERTER).replay_workflow(history)


def test_a_recorded_relay_run_is_replayed() -> None:
    """tests/test_replay.py replays every history: the relay's is among them (a round on each
    lane, then continue-as-new), so a change to the relay that does not replay fails there."""
    import json

    recorded = json.loads((ROOT / "tests" / "histories" / "relay-run1.json").read_text())
    assert recorded["workflowId"].startswith("casework-relay-")
    assert recorded["events"][-1]["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW"
