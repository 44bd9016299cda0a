"""Integrations' webhook subscriptions to case events: the secret the relay signs with is
shown once at creation and kept sealed (with the ring's key) for signing."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update

from casework.notify.signing import new_secret
from casework.store.base import SealingRepository
from casework.store.tables import webhooks

MAX_SUBSCRIPTIONS = 200
"""Bound on the subscriptions a deployment keeps (each event is one outbox row per match)."""


class WebhookRepository(SealingRepository):
    def add(self, url: str, events: list[str], created_by: str) -> tuple[str, str]:
        """A new subscription: its id and its secret (`whsec_...`), the only time it is told."""
        if len(self.active()) >= MAX_SUBSCRIPTIONS:
            raise ValueError(
                f"there are {MAX_SUBSCRIPTIONS} webhooks already; remove one first "
                "(casework webhooks remove ID)"
            )
        webhook_id = f"wh_{secrets.token_hex(6)}"
        secret = new_secret()  # Standard Webhooks' spelling (older ones: signing.signing_key)
        kept = self.seal(secret) if self.ring is not None else secret
        with self.engine.begin() as conn:
            conn.execute(
                insert(webhooks).values(
                    id=webhook_id,
                    url=url,
                    events=sorted(set(events)),
                    secret=kept,
                    created_at=datetime.now(UTC),
                    created_by=created_by,
                )
            )
        return webhook_id, secret

    def active(self) -> list[dict[str, Any]]:
        """Every subscription not removed, oldest first, without its secret."""
        rows = self._rows(
            select(
                webhooks.c.id,
                webhooks.c.url,
                webhooks.c.events,
                webhooks.c.created_at,
                webhooks.c.created_by,
            )
            .where(webhooks.c.removed_at.is_(None))
            .order_by(webhooks.c.created_at, webhooks.c.id)
        )
        return rows

    def subscribed(self, event: str) -> list[dict[str, Any]]:
        return [w for w in self.active() if event in w["events"]]

    def secret(self, webhook_id: str) -> str | None:
        """The signing secret of a subscription (removed ones too: their queued events are
        still signed), or None if there is no such subscription."""
        with self.engine.connect() as conn:
            kept = conn.execute(
                select(webhooks.c.secret).where(webhooks.c.id == webhook_id)
            ).scalar()
        return self.unseal(kept) if kept is not None else None

    def remove(self, webhook_id: str) -> bool:
        """False if there is no such active subscription."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(webhooks)
                .where(webhooks.c.id == webhook_id, webhooks.c.removed_at.is_(None))
                .values(removed_at=datetime.now(UTC))
            )
        return result.rowcount == 1
