"""The case feed in the database (E4 Show Feed): the case hands over its new entries in
batches, so the feed grows in the database instead of in workflow state. Entries that are case
events (opened, responded, breached, escalated, resolved, closed) are queued in the outbox for
the integrations' webhooks that subscribe to them (casework.notify.events); the relay sends."""

from __future__ import annotations

import time
from typing import Any

from temporalio import activity

from activities.ports import FeedStore
from casework.contracts import RECORD_FEED, FeedBatch
from casework.notify import events
from casework.notify.waker import RelayWaker

SUBSCRIPTIONS_FRESH_FOR = 2.0
"""Seconds the subscriptions read by one activity serve the next ones (a query per batch
otherwise); a new subscription takes effect within this."""


class FeedActivities:
    def __init__(
        self, store: FeedStore, waker: RelayWaker | None = None, public_url: str | None = None
    ) -> None:
        self.store = store
        self.waker = waker
        self.public_url = public_url
        self._subscriptions: tuple[float, list[dict[str, Any]]] = (0.0, [])

    @activity.defn(name=RECORD_FEED)
    def record_feed(self, batch: FeedBatch) -> int:
        """Append the batch; idempotent by (case, seq), so a retry adds nothing twice. Returns
        how many entries were new."""
        added = self.store.feed.append(
            batch.case_id, [e.model_dump() for e in batch.entries], restricted=batch.restricted
        )
        self._queue_webhooks(batch)
        return added

    def _active(self) -> list[dict[str, Any]]:
        read_at, found = self._subscriptions
        if time.monotonic() - read_at > SUBSCRIPTIONS_FRESH_FOR:
            found = self.store.webhooks.active()
            self._subscriptions = (time.monotonic(), found)
        return found

    def _queue_webhooks(self, batch: FeedBatch) -> None:
        """One outbox row per event and subscription, under a key of both: a retried batch
        queues nothing twice."""
        subscriptions = self._active()
        if not subscriptions:
            return
        queued = False
        for entry in batch.entries:
            event = events.event_of(entry.kind, entry.refused)
            if event is None or entry.seq is None:
                continue
            body = events.event_body(
                event,
                batch.case_id,
                entry.seq,
                entry.at,
                entry.actor,
                entry.text,
                batch.restricted,
                self.public_url,
            )
            for hook in subscriptions:
                if event not in hook["events"]:
                    continue
                queued |= self.store.outbox.add(
                    f"webhook:{hook['id']}:{events.event_id(batch.case_id, entry.seq)}",
                    case_id=batch.case_id,
                    recipient_kind="webhook",
                    recipient_id=hook["id"],
                    address=hook["url"],
                    subject=f"case.{event}",
                    body=body,
                    created_at=entry.at,
                    restricted=batch.restricted,
                    account_id=batch.account_id,
                )
        if queued and self.waker is not None:
            self.waker.wake(["webhook"])  # only integrations' webhooks are queued here
