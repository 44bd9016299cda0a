"""The relay's round parts (issue 27): the log line of each outcome, the recorder that writes
outcomes as they end, and the email lane's SMTP connections. `activities/relay.py` runs the
rounds with them."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from activities.ports import RelayStore
from casework.notify import compose, send
from casework.notify.config import RelayConfig
from casework.store.deliveries import Outcome
from casework.store.outbox import DELIVERED, PENDING

log = logging.getLogger("casework.relay")


def log_outcome(
    row: dict[str, Any], lane: str, kind: str, failures: int, outcome: Outcome, took: float
) -> None:
    """One line per failure, retry and dead letter (issue 27): ids, channel, kind; no URL."""
    fields = {
        "row_id": row["id"],
        "channel": lane,
        "recipient_kind": row["recipient_kind"],
        "error_kind": kind or None,
        "attempt": failures if outcome.error else None,
        "duration_ms": round(took * 1000, 1),
    }
    if outcome.status == DELIVERED:
        log.debug("notification %d delivered by %s", row["id"], lane, extra=fields)
    elif outcome.status == PENDING:
        wait = (outcome.retry_at - outcome.at).total_seconds() if outcome.retry_at else 0.0
        log.warning(
            "notification %d by %s failed (%s), attempt %d; retried in %.1f s",
            row["id"],
            lane,
            kind,
            failures,
            wait,
            extra={**fields, "retry_in_seconds": round(wait, 1)},
        )
    else:
        log.error(
            "notification %d by %s is dead (%s) after %d attempt(s): casework outbox retry %d",
            row["id"],
            lane,
            kind,
            failures,
            row["id"],
            extra=fields,
        )


class Recorder:
    """A lane's outcomes written as they end: one transaction for those that end together
    (while one write runs, the next ones gather), so a burst of sends costs a few
    transactions, and a slow send never holds the record of a fast one."""

    def __init__(self, store: RelayStore) -> None:
        self.store = store
        self.waiting: list[tuple[Outcome, asyncio.Future[str]]] = []
        self.ready = asyncio.Event()
        self.task = asyncio.ensure_future(self._write())

    async def record(self, outcome: Outcome) -> str:
        answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.waiting.append((outcome, answer))
        self.ready.set()
        return await answer

    async def _write(self) -> None:
        while True:
            await self.ready.wait()
            self.ready.clear()
            batch, self.waiting = self.waiting, []
            if not batch:
                continue
            try:
                statuses = await asyncio.to_thread(
                    self.store.deliveries.record_many, [outcome for outcome, _ in batch]
                )
            except Exception as e:  # each sender learns it: its round fails, and is retried
                for _, answer in batch:
                    answer.set_exception(e)
                continue
            for (_, answer), status in zip(batch, statuses, strict=True):
                answer.set_result(status)

    def close(self) -> None:
        self.task.cancel()


class Mailers:
    """The email lane's SMTP connections: up to `size` at once, each sending one mail at a
    time, opened on first use and reused for the round (casework.notify.send.Mailer); the
    rounds in the worker keep theirs across rounds (RelayActivities.idle_here closes them)."""

    def __init__(self, config: RelayConfig, timeout: float, size: int) -> None:
        self.config = config.model_copy(update={"timeout_seconds": timeout})
        self.free: asyncio.Queue[send.Mailer] = asyncio.Queue()
        self.made: list[send.Mailer] = []
        self.size = size

    async def send(self, to: str | None, message: compose.Outgoing) -> None:
        if not to:
            raise send.Undeliverable("no email address any more", "no_channel")
        if self.free.empty() and len(self.made) < self.size:
            self.made.append(send.Mailer(self.config))
            self.free.put_nowait(self.made[-1])
        mailer = await self.free.get()
        try:
            await mailer.send(to, message)
        except asyncio.CancelledError:  # timed out mid-conversation: that connection is done
            if mailer.smtp is not None:
                mailer.smtp.close()
                mailer.smtp = None
            raise
        finally:
            self.free.put_nowait(mailer)

    async def close(self) -> None:
        for mailer in self.made:
            await mailer.close()
