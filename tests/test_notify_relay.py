"""The relay's round (issue 14) against real local servers: an aiosmtpd sink and an HTTP
receiver. Mail carries the outbox key as its Message-ID; chat and paging carry it as
`Idempotency-Key` / PagerDuty's dedup_key; a failing receiver is retried with backoff, then the
row is dead (`casework outbox --failed`) until `casework outbox retry`; a restricted case's
message to a non-member carries none of its content (U5); integrations' webhooks are signed."""

from __future__ import annotations

import base64
import json
import secrets
import time
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from standardwebhooks import Webhook, WebhookVerificationError
from temporalio.testing import ActivityEnvironment

from activities import NotificationActivities
from activities.feed import FeedActivities
from activities.relay import RelayActivities
from casework.contracts import FeedBatch, FeedRow, ManagerAlert, Notification
from casework.domain.directory import Directory
from casework.notify import send
from casework.notify.compose import message_id
from casework.notify.config import RelayConfig
from casework.notify.contracts import DeliveryReport, DeliveryRound
from casework.notify.signing import (
    LEGACY_HEADERS_UNTIL,
    signed_headers,
    standard_secret,
    verify,
)
from casework.settings import DEMO_DIRECTORY
from casework.store import Store
from casework.store.base import aware
from casework.store.outbox import PENDING
from casework.store.tables import deliveries
from casework.yamlfiles import load_data
from tests import receivers
from tests.receivers import Receiver, Sink
from tests.waiting import eventually

receiver, smtp_sink = receivers.receiver, receivers.smtp_sink  # the fixtures

AT = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)  # em-ines is on duty (00:00-12:00 UTC)
SECRET_TEXT = "Enclave firewall drops the tunnel to site Bravo-7"


def directory_with(**notify: dict[str, Any]) -> Directory:
    """The demo directory, with `notify:` channels for the people named."""
    data = load_data(DEMO_DIRECTORY.read_text(), str(DEMO_DIRECTORY))
    people = [c for a in data["accounts"] for c in a["contacts"]]
    people += data["engineers"] + data["escalation_managers"]
    for person in people:
        if person["id"] in notify:
            person["notify"] = notify[person["id"]]
    return Directory.model_validate(data)


def config(sink: Sink, **overrides: Any) -> RelayConfig:
    return RelayConfig(
        smtp_host="127.0.0.1",
        smtp_port=sink.port,
        public_url="https://cases.example",
        backoff_seconds=0.05,
        backoff_max_seconds=0.2,
        max_attempts=3,
        **overrides,
    )


async def round_of(store: Store, relay: RelayConfig) -> DeliveryReport:
    report: DeliveryReport = await ActivityEnvironment().run(
        RelayActivities(store, relay).deliver_due, DeliveryRound()
    )
    return report


def retries_due(store: Store) -> bool:
    """Every delivery waiting for a retry is due now (its backoff has passed): the next round
    tries each of them."""
    waiting = select(deliveries.c.next_attempt_at).where(deliveries.c.status == PENDING)
    with store.engine.connect() as conn:
        retry_at = [aware(dict(r))["next_attempt_at"] for r in conn.execute(waiting).mappings()]
    now = datetime.now(UTC)
    return all(at is None or at <= now for at in retry_at)


def alert(store: Store, key: str = "case-000001-E1:step-0", **flags: Any) -> None:
    ActivityEnvironment().run(
        NotificationActivities(store).alert_escalation_manager,
        ManagerAlert(
            key=key,
            case_id="case-000001",
            subject="Escalation case-000001-E1 on case-000001",
            body=f"sla breach: {SECRET_TEXT}. Acknowledge within 15m.",
            at=AT,
            **flags,
        ),
    )


async def test_a_manager_alert_is_mailed_and_paged_once(
    store: Store, smtp_sink: Sink, receiver: Receiver
) -> None:
    """E3/S3: the manager on duty gets one mail (Message-ID from the key) and one page
    (PagerDuty Events v2, dedup_key = the key) with the command that acknowledges; the row
    records its delivery; the next round sends nothing again."""
    store.directory.replace(
        directory_with(
            **{"em-ines": {"page": {"kind": "pagerduty", "url": receiver.url, "routing_key": "R1"}}}
        )
    )
    alert(store)
    report = await round_of(store, config(smtp_sink))
    assert (report.delivered, report.retrying, report.dead) == (1, 0, 0)
    mails = smtp_sink.mails()
    assert [(m["to"], m["message_id"]) for m in mails] == [
        ("ines@vendor.example", message_id("case-000001-E1:step-0"))
    ]
    assert "casework --profile em-ines acknowledge case-000001" in mails[0]["text"]
    assert "https://cases.example/cases/case-000001" in mails[0]["text"]
    [page] = receiver.requests
    body = page.json()
    assert body["dedup_key"] == "case-000001-E1:step-0" and body["routing_key"] == "R1"
    assert body["event_action"] == "trigger"
    assert body["payload"]["custom_details"]["acknowledge"] == (
        "casework --profile em-ines acknowledge case-000001"
    )
    assert page.headers["idempotency-key"] == "case-000001-E1:step-0"
    [row] = store.outbox.rows("case-000001")
    assert (row["status"], row["attempts"], row["channels_done"]) == (
        "delivered",
        1,
        ["email", "page"],
    )
    assert row["delivered_at"] is not None
    again = await round_of(store, config(smtp_sink))
    assert (again.delivered, len(smtp_sink.mails()), len(receiver.requests)) == (0, 1, 1)


async def test_a_failing_receiver_is_retried_then_dead_lettered_then_sent_again(
    store: Store, smtp_sink: Sink, receiver: Receiver
) -> None:
    """A chat webhook answering 500: retried with backoff under the same Idempotency-Key, dead
    after max_attempts with the reason; the mail channel that took it is not sent twice;
    `outbox retry` (store.outbox.retry) sends it again once the receiver is back."""
    store.directory.replace(directory_with(**{"acme-alice": {"chat": receiver.url}}))
    receiver.fail_with = 500
    ActivityEnvironment().run(
        NotificationActivities(store).notify,
        Notification(
            key="k-chat",
            case_id="case-000002",
            recipient_kind="contact",
            recipient_id="acme-alice",
            subject="Update on case-000002",
            body="Looking at it now",
            at=AT,
        ),
    )
    relay = config(smtp_sink)
    statuses = []

    async def a_round() -> DeliveryReport:
        report = await round_of(store, relay)
        statuses.append((report.delivered, report.retrying, report.dead))
        return report

    await eventually(
        a_round,
        20,
        every=0.1,
        until=lambda report: report.dead,
        what=lambda: f"the chat message dead after its attempts; rounds: {statuses}",
    )
    assert statuses[-1] == (0, 0, 1), statuses
    [row] = store.outbox.failed()
    assert row["attempts"] == 3 and "answered 500" in (row["last_error"] or "")
    assert row["channels_done"] == ["email"]
    assert len(receiver.requests) == 3
    assert {r.headers["idempotency-key"] for r in receiver.requests} == {"k-chat"}
    assert len(smtp_sink.mails()) == 1  # the mail went out once, on the first attempt

    receiver.fail_with = None
    assert store.outbox.retry(row["id"]) and not store.outbox.retry(row["id"])
    report = await round_of(store, relay)
    assert report.delivered == 1
    assert list(receiver.processed) == ["k-chat"] and len(smtp_sink.mails()) == 1
    [row] = store.outbox.rows("case-000002")
    assert (row["status"], row["attempts"]) == ("delivered", 4)
    assert store.outbox.failed() == []


async def test_nobody_to_send_to_is_dead_at_once_with_the_fix(
    store: Store, smtp_sink: Sink
) -> None:
    ActivityEnvironment().run(
        NotificationActivities(store).notify,
        Notification(
            key="k-nobody",
            case_id="case-000003",
            recipient_kind="engineer",
            recipient_id="gsc-nobody",
            subject="s",
            body="b",
            at=AT,
        ),
    )
    report = await round_of(store, config(smtp_sink))
    assert report.dead == 1
    [row] = store.outbox.failed()
    assert "gsc-nobody (engineer) has no channel" in row["last_error"]
    assert "casework outbox retry" in row["last_error"]


async def test_a_restricted_case_tells_a_non_member_only_that_there_is_news(
    store: Store, smtp_sink: Sink, receiver: Receiver
) -> None:
    """U5: the manager on duty (not a member) gets no content by mail or page; the account's
    contact and a member of the restricted queue read it."""
    store.directory.replace(
        directory_with(**{"em-ines": {"page": {"kind": "webhook", "url": receiver.url}}})
    )
    flags = {"restricted": True, "account_id": "cyberdyne"}
    alert(store, **flags)
    notify = NotificationActivities(store).notify
    for key, kind, person in (
        ("k-judy", "contact", "cyberdyne-judy"),
        ("k-kara", "engineer", "usc-kara"),
    ):
        ActivityEnvironment().run(
            notify,
            Notification(
                key=key,
                case_id="case-000001",
                recipient_kind=kind,
                recipient_id=person,
                subject="Update on case-000001",
                body=SECRET_TEXT,
                at=AT,
                **flags,
            ),
        )
    report = await round_of(store, config(smtp_sink))
    assert report.delivered == 3
    mails = {m["to"]: m for m in smtp_sink.mails()}
    to_manager = mails["ines@vendor.example"]
    assert SECRET_TEXT not in to_manager["text"] and "sign in" in to_manager["text"]
    assert "casework --profile em-ines acknowledge case-000001" in to_manager["text"]
    [page] = receiver.requests
    assert SECRET_TEXT not in page.body.decode() and "sign in" in page.json()["text"]
    assert SECRET_TEXT in mails["judy@cyberdyne.example"]["text"]
    assert SECRET_TEXT in mails["kara@vendor.example"]["text"]


async def test_an_integrations_webhook_is_signed_and_retried_under_one_event_id(
    store: Store, smtp_sink: Sink, receiver: Receiver
) -> None:
    """Issue 13's webhooks: a breach (feed entry sla_breached) becomes an event for the
    subscriptions to `breached`; its delivery is signed (HMAC-SHA256 over timestamp.body with
    the secret shown at creation) and carries the event id; a 500 is retried with the same
    event id; the case's other entries are not events for this subscription. U5: a restricted
    case's event says only that it happened."""
    webhook_id, secret = store.webhooks.add(receiver.url, ["breached"], "operator")
    other_id, _ = store.webhooks.add(receiver.url + "/all", ["opened", "closed"], "operator")
    feed = FeedActivities(store)
    entries = [
        FeedRow(seq=0, at=AT, actor="intake", kind="opened", text=SECRET_TEXT),
        FeedRow(seq=1, at=AT, actor="sla", kind="sla_breached", text="no first response"),
        FeedRow(seq=2, at=AT, actor="x", kind="sla_breached", text="refused", refused=True),
    ]
    for restricted, case_id in ((False, "case-000004"), (True, "case-000005")):
        batch = FeedBatch(
            case_id=case_id,
            entries=entries,
            restricted=restricted,
            account_id="cyberdyne" if restricted else "acme",
        )
        ActivityEnvironment().run(feed.record_feed, batch)
        ActivityEnvironment().run(feed.record_feed, batch)  # a retried activity adds nothing
    receiver.fail_with = 500
    await round_of(store, config(smtp_sink))
    receiver.fail_with = None
    await eventually(lambda: retries_due(store), what="the failed deliveries' retries to fall due")
    report = await round_of(store, config(smtp_sink))
    assert report.delivered == 4 and report.dead == 0
    breaches = [r for r in receiver.requests if r.path == "/"]
    assert len(breaches) == 4  # two events, each failed once and then taken
    for request in breaches:
        timestamp = int(request.headers["casework-timestamp"])
        assert verify(
            secret, timestamp, request.body, request.headers["casework-signature"], time.time()
        )
        assert not verify(
            "whsec_wrong",
            timestamp,
            request.body,
            request.headers["casework-signature"],
            time.time(),
        )
    assert sorted(r.headers["casework-event-id"] for r in breaches) == [
        "case-000004:1",
        "case-000004:1",
        "case-000005:1",
        "case-000005:1",
    ]
    events = {
        json.loads(r.body)["case_id"]: json.loads(r.body)
        for r in receiver.processed.values()
        if r.path == "/"
    }
    assert events["case-000004"]["event"] == "breached"
    assert events["case-000004"]["text"] == "no first response"
    restricted = events["case-000005"]
    assert restricted["restricted"] is True and restricted["event"] == "breached"
    assert "text" not in restricted and "actor" not in restricted
    opened = [json.loads(r.body) for r in receiver.processed.values() if r.path == "/all"]
    assert sorted(e["case_id"] for e in opened) == ["case-000004", "case-000005"]
    assert SECRET_TEXT not in str([e for e in opened if e["case_id"] == "case-000005"])
    assert store.webhooks.remove(other_id) and not store.webhooks.remove(other_id)
    assert [w["id"] for w in store.webhooks.active()] == [webhook_id]


async def test_an_integration_verifies_a_delivery_with_a_standard_webhooks_library(
    store: Store, smtp_sink: Sink, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 25: a delivery carries webhook-id (the event), webhook-timestamp and
    webhook-signature, so the integrator's off-the-shelf library verifies it with the secret
    shown at creation, and a body changed on the way fails. A subscription made before (its
    secret in the URL-safe spelling, as casework made them) verifies with the standard spelling
    of the same secret. Until 2027-06-30 the Casework-* headers come too, as before."""
    _, secret = store.webhooks.add(receiver.url + "/new", ["breached"], "operator")
    old_secret = "whsec_" + secrets.token_urlsafe(32)  # what casework made before issue 25
    monkeypatch.setattr("casework.store.webhooks.new_secret", lambda: old_secret)
    store.webhooks.add(receiver.url + "/old", ["breached"], "operator")
    breach = FeedRow(seq=1, at=AT, actor="sla", kind="sla_breached", text="no first response")
    batch = FeedBatch(case_id="case-000006", entries=[breach], restricted=False, account_id="acme")
    ActivityEnvironment().run(FeedActivities(store).record_feed, batch)
    report = await round_of(store, config(smtp_sink))
    assert (report.delivered, report.dead) == (2, 0)
    delivered = {r.path: r for r in receiver.requests}
    assert set(delivered) == {"/new", "/old"}
    for path, verifying_secret in (("/new", secret), ("/old", standard_secret(old_secret))):
        request = delivered[path]
        event = Webhook(verifying_secret).verify(request.body, request.headers)
        assert (event["case_id"], event["event"]) == ("case-000006", "breached")
        assert request.headers["webhook-id"] == "case-000006:1"
        tampered = request.body.replace(b"no first response", b"responded in time")
        with pytest.raises(WebhookVerificationError):
            Webhook(verifying_secret).verify(tampered, request.headers)
        assert request.headers["casework-event-id"] == "case-000006:1"
    assert verify(
        old_secret,
        int(delivered["/old"].headers["casework-timestamp"]),
        delivered["/old"].body,
        delivered["/old"].headers["casework-signature"],
        time.time(),
    )


def test_the_casework_headers_stop_after_the_stated_day() -> None:
    """The Casework-* headers come until LEGACY_HEADERS_UNTIL (2027-06-30, UTC) included;
    the Standard Webhooks headers always."""
    last = int(datetime(2027, 6, 30, 23, 59, 59, tzinfo=UTC).timestamp())
    secret = "whsec_" + base64.b64encode(bytes(range(32))).decode()
    on_the_day = signed_headers(secret, "case-000001:3", "{}", last)
    after = signed_headers(secret, "case-000001:3", "{}", last + 1)
    standard = {"webhook-id", "webhook-timestamp", "webhook-signature"}
    legacy = {"Casework-Event-Id", "Casework-Timestamp", "Casework-Signature"}
    assert set(on_the_day) == standard | legacy and set(after) == standard
    assert LEGACY_HEADERS_UNTIL == date(2027, 6, 30)


async def test_a_secret_that_cannot_sign_is_dead_at_once_naming_no_secret() -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(send.Undeliverable) as dead:
            await send.post_signed(
                http, "http://127.0.0.1:9/", "{}", key="k", event_id="e", secret="whsec_#%!"
            )
    assert "secret cannot sign: a webhook secret is base64 after whsec_" in str(dead.value)
    assert "#%!" not in str(dead.value) and dead.value.kind == "bad_secret"
