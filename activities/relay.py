"""The relay's activity (issues 14 and 27): send what is due on one lane (a channel: email,
chat, page, webhook) and record how each send went, as it goes.

Lanes (issue 27): each channel has its own rounds, concurrency and timeout (`RelayConfig`), and
a row's channels are separate deliveries (`casework.store.deliveries`): a webhook receiver that
takes 14 s holds only the webhook lane, never an Escalation Manager's mail or page (E3, S3).
A round first *plans* the outbox rows no lane has taken yet (their channels, from the directory
of the moment), then sends its lane's due deliveries, urgent ones (to managers) first.

At least once, received once: a delivery is marked delivered only after its channel took it, so
a worker killed mid-round sends it again in the next round, under the same idempotency key
(Message-ID, `Idempotency-Key`, PagerDuty's dedup_key). A transient failure is retried with
backoff; after `max_attempts`, or at once when it cannot go out as things are (no channel, a
4xx), the delivery is dead and so, once its other channels are settled, the row (`casework
outbox --failed`; `casework outbox retry ID`). Every failure, retry and dead letter is logged
with the row id, the channel and the error's kind: never the receiver's URL (it may be its
credential) nor the message (U5).

U5: the recipient is checked against the row's own flag: a message about a restricted case to
someone who may not read it carries no content (casework.notify.compose).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from temporalio import activity

from activities.ports import RelayStore
from activities.relay_parts import Mailers, Recorder, log_outcome
from casework.domain.channels import channels_of
from casework.domain.us_citizen import notification_withheld
from casework.notify import compose, send
from casework.notify.config import LANES, RelayConfig
from casework.notify.contracts import BATCH, DELIVER_DUE, DeliveryReport, DeliveryRound
from casework.store.deliveries import Outcome, Plan
from casework.store.outbox import DEAD, DELIVERED

HEARTBEAT_EVERY = 2.0
"""Seconds between heartbeats while a round sends (the workflow's heartbeat timeout is 10 s:
a worker killed mid-round is noticed then, and the round runs again elsewhere)."""
TIMEOUT_GRACE = 1.0
"""Seconds past a lane's timeout after which a send still going is abandoned as timed out."""
LEASE_MARGIN = 2.0
"""Seconds a round's claim outlasts the longest its sends may take (issue 30): a round killed
mid-send leaves its deliveries to the next round that long after its last send would have
timed out."""
KEEP_CONNECTIONS = 5.0
"""Seconds a lane's SMTP connections here stay open after its last round (`idle_here`)."""
log = logging.getLogger("casework.relay")


class RelayActivities:
    def __init__(self, store: RelayStore, config: RelayConfig) -> None:
        self.store = store
        self.config = config
        self._planning = threading.Lock()
        """Lanes of this worker plan one at a time: the next finds the rows planned already."""
        self._clients: dict[str, tuple[asyncio.AbstractEventLoop, httpx.AsyncClient]] = {}
        self._mailers_here: dict[str, Mailers] = {}
        """The SMTP connections of the rounds here, kept from round to round until none has
        come for `KEEP_CONNECTIONS` (`idle_here`): mail at a steady pace costs a handshake now
        and then, not one a round."""
        self._rounds_here: dict[str, int] = {}

    @activity.defn(name=DELIVER_DUE)
    async def deliver_due(self, request: DeliveryRound) -> DeliveryReport:
        lanes: list[str] = [request.lane] if request.lane else list(LANES)
        beating = asyncio.ensure_future(_heartbeats())
        try:
            return await self.round(lanes, request.batch, request.lane)
        finally:
            beating.cancel()

    async def round_here(self, lane: str) -> DeliveryReport:
        """One round of `lane` in this process, outside any activity (issue 30): the worker
        that wrote a row sends it at once (casework.notify.waker), with no round trip through
        the relay workflow. Claims keep it from sending what a relay round holds."""
        self._rounds_here[lane] = self._rounds_here.get(lane, 0) + 1
        if lane not in self._mailers_here:
            self._mailers_here[lane] = self._mailers(lane)
        mailers = self._mailers_here[lane]
        return await self.round([lane], BATCH, lane, next_due=False, mailers=mailers)

    async def idle_here(self, lane: str) -> None:
        """No round of `lane` is waiting here: its SMTP connections are closed unless another
        round comes within `KEEP_CONNECTIONS` seconds (an SMTP server keeps an idle
        connection for minutes: RFC 5321 asks 5)."""
        rounds = self._rounds_here.get(lane, 0)
        await asyncio.sleep(KEEP_CONNECTIONS)
        if self._rounds_here.get(lane, 0) != rounds:
            return  # a round came: its own idle time closes them
        mailers = self._mailers_here.pop(lane, None)
        if mailers is not None:
            await mailers.close()

    async def round(
        self,
        lanes: list[str],
        batch: int,
        lane: str | None,
        *,
        next_due: bool = True,
        mailers: Mailers | None = None,
    ) -> DeliveryReport:
        """Plan the new rows, then send `lanes`' due deliveries; the report of it all (with
        when the lane's next retry is due, for the relay's timer, if `next_due`)."""
        dead, planning_full, planned = await asyncio.to_thread(self._plan, batch)
        rounds = await asyncio.gather(*(self._lane(one, batch, mailers) for one in lanes))
        report = DeliveryReport(
            full=planning_full or any(full for _, full in rounds),
            planned=[one for one in LANES if one in planned],
        )
        report.dead += len(dead)
        touched: dict[int, str] = {}
        failed: set[int] = set()
        for outcomes, _ in rounds:
            for row_id, status, error in outcomes:
                touched[row_id] = status
                if error:
                    failed.add(row_id)
        if len(lanes) > 1 and touched:  # several lanes recorded one row: its last summary
            touched = await asyncio.to_thread(self._statuses, list(touched))
        for row_id, status in touched.items():
            if status == DELIVERED:
                report.delivered += 1
            elif status == DEAD:
                report.dead += 1
            elif row_id in failed:
                report.retrying += 1
        if next_due:
            report.next_due_at = await asyncio.to_thread(self.store.deliveries.next_due, lane)
        return report

    # --- planning ---------------------------------------------------------------------------

    def _plan(self, batch: int) -> tuple[list[int], bool, set[str]]:
        """The channels of the rows no lane has taken yet; rows with none are dead at once.
        (dead rows, a full batch, the lanes planned on)."""
        with self._planning:
            return self._plan_unplanned(batch)

    def _plan_unplanned(self, batch: int) -> tuple[list[int], bool, set[str]]:
        rows = self.store.deliveries.unplanned(batch)
        if not rows:
            return [], False, set()
        plans = []
        people: dict[tuple[str, str], dict[str, Any] | str] = {}
        for row in rows:
            if row["recipient_kind"] == "webhook":
                plans.append(Plan(row["id"], ["webhook"]))
                continue
            key = (row["recipient_kind"], row["recipient_id"])
            if key not in people:
                try:
                    people[key] = self._person(row)
                except send.Undeliverable as e:
                    people[key] = str(e)
            found = people[key]
            if isinstance(found, str):
                plans.append(Plan(row["id"], None, found))
            else:
                plans.append(Plan(row["id"], list(found["channels"])))
        dead = self.store.deliveries.plan(plans, {r["id"]: r for r in rows}, datetime.now(UTC))
        for row_id in dead:
            log.error(
                "notification %d is dead: its recipient has no channel (fix the directory, "
                "then casework outbox retry %d)",
                row_id,
                row_id,
                extra={"row_id": row_id, "channel": None, "error_kind": "no_channel"},
            )
        lanes = {channel for plan in plans for channel in plan.channels or ()}
        return dead, len(rows) >= batch, lanes

    def _statuses(self, row_ids: list[int]) -> dict[int, str]:
        return {
            row_id: (found or {}).get("status", DEAD)
            for row_id in row_ids
            for found in [self.store.outbox.row(row_id)]
        }

    # --- one lane ---------------------------------------------------------------------------

    async def _lane(
        self, lane: str, batch: int, mailers: Mailers | None = None
    ) -> tuple[list[tuple[int, str, bool]], bool]:
        """Send `lane`'s due deliveries, each recorded as it ends; (row, status, failed) each."""
        concurrency, timeout = self.config.concurrency(lane), self.config.timeout(lane)

        def lease(rows: int) -> timedelta:
            """As long as `rows` sends may take, `concurrency` at a time (issue 30)."""
            waves = -(-rows // concurrency)
            return timedelta(seconds=waves * (timeout + TIMEOUT_GRACE) + LEASE_MARGIN)

        deliveries = self.store.deliveries
        token, rows = await asyncio.to_thread(deliveries.due, lane, datetime.now(UTC), batch, lease)
        if not rows:
            return [], False
        try:
            return await self._send(lane, rows, batch, mailers)
        except BaseException:  # what was not recorded (a failed or cancelled round): the next
            await asyncio.shield(asyncio.to_thread(deliveries.release, token))  # may take it
            raise

    async def _send(
        self, lane: str, rows: list[dict[str, Any]], batch: int, kept: Mailers | None
    ) -> tuple[list[tuple[int, str, bool]], bool]:
        """`kept`: SMTP connections that outlive the round (`round_here`), else the round's."""
        gate = asyncio.Semaphore(self.config.concurrency(lane))
        timeout = self.config.timeout(lane)
        mailers = kept or self._mailers(lane)
        round_ = _Round(lane, self._http(lane), mailers, timeout)
        recorder = Recorder(self.store)

        async def one(row: dict[str, Any]) -> tuple[int, str, bool]:
            async with gate:
                outcome = await self._attempt(row, round_)
            status = await recorder.record(outcome)
            return row["id"], status, outcome.error is not None

        try:
            done = await asyncio.gather(*(one(row) for row in rows))
        finally:
            recorder.close()
            if kept is None:
                await mailers.close()
        return list(done), len(rows) >= batch

    def _mailers(self, lane: str) -> Mailers:
        """The lane's SMTP connections: its concurrency, its timeout (opened on first use)."""
        return Mailers(self.config, self.config.timeout(lane), self.config.concurrency(lane))

    def _http(self, lane: str) -> httpx.AsyncClient:
        """The lane's HTTP client, kept for the worker's life: its connections are reused from
        round to round, and its TLS context is made once (making one costs a round's worth of
        CPU). Activities run on the worker's one event loop, which the clients belong to."""
        loop = asyncio.get_running_loop()
        found = self._clients.get(lane)
        if found is None or found[0] is not loop or found[1].is_closed:
            found = (loop, httpx.AsyncClient(timeout=self.config.timeout(lane)))
            self._clients[lane] = found
        return found[1]

    async def _attempt(self, row: dict[str, Any], round_: _Round) -> Outcome:
        lane, timeout = round_.lane, round_.timeout
        started = time.monotonic()
        error: str | None = None
        kind = ""
        permanent = False
        try:
            # in this task (asyncio.timeout), not a task of its own (wait_for on 3.11): a
            # round cancelled as a delivery failed left that task's error never retrieved
            async with asyncio.timeout(timeout + TIMEOUT_GRACE):
                await self._deliver(row, round_)
        except TimeoutError:
            error, kind = f"{lane}: no answer within {timeout:.0f} s", "timeout"
        except send.Undeliverable as e:
            error, kind, permanent = str(e), e.kind, True
        except send.SendFailed as e:
            error, kind = str(e), e.kind
        except Exception as e:  # a bug must not stop the other rows: dead-letter, say why
            log.exception(
                "delivering notification %d by %s",
                row["id"],
                lane,
                extra={"row_id": row["id"], "channel": lane, "error_kind": "bug"},
            )
            error, kind, permanent = f"{type(e).__name__}: {e}", type(e).__name__, True
        now = datetime.now(UTC)
        retry_at = None
        failures = int(row.get("channel_failures") or 0) + 1
        if error and not permanent and failures < self.config.max_attempts:
            retry_at = now + timedelta(seconds=self.config.backoff(failures))
        outcome = Outcome(row["id"], lane, now, error, retry_at)
        log_outcome(row, lane, kind, failures, outcome, time.monotonic() - started)
        return outcome

    async def _deliver(self, row: dict[str, Any], round_: _Round) -> None:
        lane = round_.lane
        if lane == "webhook":
            await self._webhook(round_.http, row)
            return
        person = await round_.person(self, row)
        if lane not in person["channels"]:
            raise send.Undeliverable(
                f"{person['id']} has no {lane} channel any more: fix the directory, then "
                "`casework outbox retry`",
                "no_channel",
            )
        message = compose.compose(
            row, withheld=await round_.withheld(self, row), public_url=self.config.public_url
        )
        if lane == "email":
            await round_.mailers.send(person["email"], message)
        else:
            await self._post(round_.http, lane, person["config"], message)

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
                "directory file, load it, then `casework outbox retry`",
                "no_channel",
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

    async def _post(
        self, http: httpx.AsyncClient, lane: str, config: Any, message: compose.Outgoing
    ) -> None:
        if lane == "chat":
            await send.post_json(
                http, config.chat, compose.chat_payload(message), message.key, "chat webhook"
            )
            return
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
            raise send.Undeliverable(
                f"webhook {row['recipient_id']} does not exist", "no_subscription"
            )
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
    """One round of a lane: its HTTP client, mail connections and timeout, and what it looks
    up once per recipient: who they are and how they are reached (the directory of the
    moment), and whether U5 withholds a restricted row from them."""

    def __init__(
        self, lane: str, http: httpx.AsyncClient, mailers: Mailers, timeout: float
    ) -> None:
        self.lane = lane
        self.http = http
        self.mailers = mailers
        self.timeout = timeout
        self.members: set[str] | None = None
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
            raise send.Undeliverable(found, "no_channel")
        return found

    async def withheld(self, relay: RelayActivities, row: dict[str, Any]) -> bool:
        if not row["restricted"]:
            return False
        if self.members is None:
            self.members = set(await asyncio.to_thread(relay.store.directory.restricted_members))
        key = (row["account_id"], row["recipient_id"])
        if key not in self.verdicts:
            self.verdicts[key] = await asyncio.to_thread(relay._withheld, row, self.members)
        return self.verdicts[key]


async def _heartbeats() -> None:
    while True:
        activity.heartbeat()
        await asyncio.sleep(HEARTBEAT_EVERY)
