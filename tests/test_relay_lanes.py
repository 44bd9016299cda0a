"""The relay's lanes (issue 27), end to end on the dev server: an integration's webhook receiver
that holds its request does not hold the Escalation Manager's mail and page for a breach (E3,
S3): they arrive while the webhook is still unanswered, and the webhook is delivered once it
answers. (`benchmarks/delivery_lateness.py --compare` gives the figures.)"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from casework.attachments import AttachmentStore
from casework.notify.config import RelayConfig
from casework.notify.subscriptions import subscription
from casework.notify.waker import RelayWaker
from casework.store import Store
from tests import receivers
from tests.conftest import TEST_RING, Desk, signed
from tests.receivers import Receiver, Sink
from tests.test_relay_workflow import fast_policy, paged_directory, stop_relay
from tests.waiting import eventually
from worker import activities_for, build_worker

receiver, smtp_sink = receivers.receiver, receivers.smtp_sink  # the fixtures
__all__ = ["paged_directory"]  # a fixture, imported for this module's test


class HeldReceiver:
    """An integration's endpoint that holds every request until `release` is set."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.arrived: list[str] = []
        self.answered: list[str] = []
        held = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                key = self.headers.get("Idempotency-Key", "")
                held.arrived.append(key)
                held.release.wait(60)
                held.answered.append(key)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def held() -> Iterator[HeldReceiver]:
    found = HeldReceiver()
    yield found
    found.release.set()
    found.server.shutdown()
    found.server.server_close()


@pytest.fixture
async def lanes_desk(
    dev_env: WorkflowEnvironment, store: Store, files: AttachmentStore, smtp_sink: Sink
) -> AsyncIterator[Desk]:
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    relay = RelayConfig(
        smtp_host="127.0.0.1",
        smtp_port=smtp_sink.port,
        public_url="https://cases.example",
        webhook_timeout_seconds=120,  # the held receiver answers when the test says
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


async def test_a_held_webhook_does_not_hold_the_managers_mail_and_page(
    lanes_desk: Desk,
    store: Store,
    smtp_sink: Sink,
    receiver: Receiver,
    paged_directory: str,  # noqa: F811
    held: HeldReceiver,
) -> None:
    store.webhooks.add(held.url, subscription(held.url, ["all"]).events, "operator")
    case_id = await lanes_desk.open(priority="P1", account_id="acme", contact_id="acme-alice")
    key = f"{case_id}-E1:step-0"
    await eventually(lambda: held.arrived, what="the webhook of the case's opening, held")
    await eventually(
        lambda: [m for m in smtp_sink.mails() if m["key"] == key], what="the breach alert's mail"
    )
    await eventually(
        lambda: [r for r in receiver.requests if r.json().get("dedup_key") == key], what="the page"
    )
    assert held.answered == [], "the mail and the page went out while the webhook was held"

    def alert_recorded() -> list[dict[str, Any]]:
        rows = [r for r in store.outbox.rows(case_id) if r["idempotency_key"] == key]
        return [r for r in rows if r["status"] == "delivered"]

    [row] = await eventually(alert_recorded, what="the alert recorded as delivered")
    assert row["channels_done"] == ["email", "page"]
    assert held.answered == [], "recorded while the webhook was still held"
    held.release.set()

    def webhooks_delivered() -> bool:
        rows = [r for r in store.outbox.rows(case_id) if r["recipient_kind"] == "webhook"]
        return bool(rows) and all(r["status"] == "delivered" for r in rows)

    await eventually(webhooks_delivered, what="the webhooks, once the receiver answers")
