"""The relay's activity (issue 14): send the outbox rows that are due, through each
recipient's channels in the directory, and record how it went.

At least once, received once: a row is marked delivered only after every channel took it, so a
worker killed mid-round sends it again in the next round, under the same idempotency key
(Message-ID, `Idempotency-Key`, PagerDuty's dedup_key); channels that took it are recorded and
not sent to again. A transient failure is retried with backoff; after `max_attempts`, or at
once when it cannot go out as things are (no channel, a 4xx), the row is dead (`casework outbox
--failed`; `casework outbox retry ID`).

U5: the recipient is checked against the row's own flag: a message about a restricted case to
someone who may not read it carries no content (casework.notify.compose).
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from temporalio import activity

from casework.domain.channels import channels_of
from casework.domain.us_citizen import notification_withheld
from casework.notify import compose, send
from casework.notify.config import RelayConfig
from casework.notify.contracts import DELIVER_DUE, DeliveryReport, DeliveryRound
from casework.store import Store
from casework.store.outbox import DEAD, DELIVERED, Attempt

CONCURRENCY = 16
"""Rows sent at once within a round."""
HEARTBEAT_EVERY = 2.0
"""Seconds between heartbeats while a round sends (the workflow's heartbeat timeout is 10 s:
a worker killed mid-round is noticed then, and the round runs again elsewhere)."""
log = logging.getLogger(__name__)


class RelayActivities:
    def __init__(self, store: Store, config: RelayConfig) -> None:
        self.store = store
        self.config = config

    @activity.defn(name=DELIVER_DUE)
    async def deliver_due(self, request: DeliveryRound) -> DeliveryReport:
        now = datetime.now(UTC)
        rows = await asyncio.to_thread(self.store.outbox.due, now, request.batch)
        report = DeliveryReport(full=len(rows) >= request.batch)
        if rows:
            round_ = _Round(
                members=set(await asyncio.to_thread(self.store.directory.restricted_members))
            )
            gate = asyncio.Semaphore(CONCURRENCY)
            beating = asyncio.ensure_future(_heartbeats())
            mailer = send.Mailer(self.config)
            async with httpx.AsyncClient(timeout=self.config.timeout_seconds) as http:

                async def one(row: dict[str, Any]) -> Attempt:
                    async with gate:
                        return await self._deliver(http, mailer, row, round_)

                try:
                    attempts = await asyncio.gather(*(one(row) for row in rows))
                finally:
                    beating.cancel()
                    await mailer.close()
            await asyncio.to_thread(self.store.outbox.record_attempts, attempts)
            for attempt in attempts:
                if attempt.status == DELIVERED:
                    report.delivered += 1
                elif attempt.status == DEAD:
                    report.dead += 1
                else:
                    report.retrying += 1
        report.next_due_at = await asyncio.to_thread(self.store.outbox.next_due)
        return report

    async def _deliver(
        self,
        http: httpx.AsyncClient,
        mailer: send.Mailer,
        row: dict[str, Any],
        round_: _Round,
    ) -> Attempt:
        done: list[str] = list(row["channels_done"] or [])
        error: str | None = None
        permanent = False
        try:
            if row["recipient_kind"] == "webhook":
                await self._webhook(http, row)
                done.append("webhook")
            else:
                person = await round_.person(self, row)
                message = compose.compose(
                    row,
                    withheld=await round_.withheld(self, row),
                    public_url=self.config.public_url,
                )
                for channel in person["channels"]:
                    if channel in done:
                        continue
                    await self._send(http, mailer, channel, person, message)
                    done.append(channel)
        except send.Undeliverable as e:
            error, permanent = str(e), True
        except send.SendFailed as e:
            error = str(e)
        except Exception as e:  # a bug must not stop the other rows: dead-letter, say why
            log.exception("delivering outbox row %s", row["id"])
            error, permanent = f"{type(e).__name__}: {e}", True
        now = datetime.now(UTC)
        retry_at = None
        if error and not permanent and row["failed_attempts"] + 1 < self.config.max_attempts:
            retry_at = now + timedelta(seconds=self.config.backoff(row["failed_attempts"] + 1))
        return Attempt(row["id"], now, done, error, retry_at)

    # --- who, how ---------------------------------------------------------------------------

    def _person(self, row: dict[str, Any]) -> dict[str, Any]:
        """The recipient's email and channels from the directory of the moment."""
        kind, person_id = row["recipient_kind"], row["recipient_id"]
        directory = self.store.directory
        email: str | None = None
        if kind == "engineer":
            engineer = directory.engineer(person_id)
            email = engineer.email if engineer else None
        elif kind == "contact":
            found = directory.contact(person_id)
            email = found[1].email if found else None
        elif kind == "partner":
            partner = directory.partner(person_id)
            email = partner.email if partner else None
        elif kind in compose.MANAGERS:
            manager = next((m for m in directory.rota() if m.id == person_id), None)
            director = directory.support_director()
            if manager is not None:
                email = manager.email
            elif director is not None and director.id == person_id:
                email = director.email
        channels = directory.channels(person_id)
        names = channels_of(email, channels)
        if not names:
            raise send.Undeliverable(
                f"{person_id} ({kind}) has no channel: give them an email or channels in the "
                "directory file, load it, then `casework outbox retry`"
            )
        return {"id": person_id, "email": email, "channels": names, "config": channels}

    def _withheld(self, row: dict[str, Any], members: set[str]) -> bool:
        """U5, by the row's own flag, as `casework outbox` withholds."""
        if not row["restricted"]:
            return False
        contacts: set[str] = set()
        if row["account_id"]:
            account = self.store.directory.account(row["account_id"])
            contacts = {c.id for c in account.contacts} if account else set()
        return notification_withheld(
            True, row["account_id"], row["recipient_id"], members, contacts
        )

    async def _send(
        self,
        http: httpx.AsyncClient,
        mailer: send.Mailer,
        channel: str,
        person: dict[str, Any],
        message: compose.Outgoing,
    ) -> None:
        config = person["config"]
        if channel == "email":
            await mailer.send(person["email"], message)
        elif channel == "chat":
            await send.post_json(
                http, config.chat, compose.chat_payload(message), message.key, "chat webhook"
            )
        elif channel == "page":
            pager = config.page
            payload = (
                compose.pagerduty_payload(message, pager.routing_key)
                if pager.kind == "pagerduty"
                else compose.page_webhook_payload(message)
            )
            await send.post_json(http, pager.url, payload, message.key, "pager")

    async def _webhook(self, http: httpx.AsyncClient, row: dict[str, Any]) -> None:
        secret = await asyncio.to_thread(self.store.webhooks.secret, row["recipient_id"])
        if secret is None or not row["address"]:
            raise send.Undeliverable(f"webhook {row['recipient_id']} does not exist")
        event_id = json.loads(row["body"]).get("id", row["idempotency_key"])
        await send.post_signed(
            http,
            row["address"],
            row["body"],
            key=row["idempotency_key"],
            event_id=event_id,
            secret=secret,
        )


class _Round:
    """What one round looks up once per recipient: who they are and how they are reached
    (the directory of the moment), and whether U5 withholds a restricted row from them."""

    def __init__(self, members: set[str]) -> None:
        self.members = members
        self.people: dict[tuple[str, str], dict[str, Any] | str] = {}
        self.verdicts: dict[tuple[str | None, str], bool] = {}

    async def person(self, relay: RelayActivities, row: dict[str, Any]) -> dict[str, Any]:
        key = (row["recipient_kind"], row["recipient_id"])
        if key not in self.people:
            try:
                self.people[key] = await asyncio.to_thread(relay._person, row)
            except send.Undeliverable as e:
                self.people[key] = str(e)
        found = self.people[key]
        if isinstance(found, str):
            raise send.Undeliverable(found)
        return found

    async def withheld(self, relay: RelayActivities, row: dict[str, Any]) -> bool:
        if not row["restricted"]:
            return False
        key = (row["account_id"], row["recipient_id"])
        if key not in self.verdicts:
            self.verdicts[key] = await asyncio.to_thread(relay._withheld, row, self.members)
        return self.verdicts[key]


async def _heartbeats() -> None:
    while True:
        activity.heartbeat()
        await asyncio.sleep(HEARTBEAT_EVERY)
