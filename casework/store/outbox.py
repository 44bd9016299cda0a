"""The notification outbox: every message under an idempotency key; the relay (issue 14,
`activities/relay.py`) reads the rows that are due, sends them and records how it went:
attempts, delivered-at, or the dead-letter state after its attempts run out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, case, delete, func, or_, select, update

from casework.store.base import SealingRepository, aware, utc
from casework.store.dialect import insert_or_nothing
from casework.store.tables import outbox

MAX_ROWS = 1_000
"""Bound on one read of the outbox."""
PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
URGENT_KINDS = ("escalation_manager", "support_director")
ERROR_CHARS = 1_000
"""Bound on the last error a row keeps."""


@dataclass(frozen=True)
class Attempt:
    """How one delivery attempt went: delivered (no error), to be retried at `retry_at`, or
    dead (an error and no retry)."""

    row_id: int
    at: datetime
    channels_done: list[str]
    error: str | None
    retry_at: datetime | None

    @property
    def status(self) -> str:
        return PENDING if self.error and self.retry_at else DEAD if self.error else DELIVERED


class OutboxRepository(SealingRepository):
    def add(self, key: str, **fields: Any) -> bool:
        """Queue one notification; False if this key was queued before (a retried activity).
        The first write of a key is the one kept. U5: a restricted one's body is sealed."""
        fields.setdefault("created_at", datetime.now(UTC))
        if fields.get("restricted") and "body" in fields:
            fields["body"] = self.seal(fields["body"])
        with self.engine.begin() as conn:
            result = insert_or_nothing(
                conn,
                outbox,
                {"idempotency_key": key, **fields},
                key=[outbox.c.idempotency_key],
                returning=[outbox.c.id],
            )
            return result.first() is not None

    def rows(self, case_id: str | None = None, limit: int = MAX_ROWS) -> list[dict[str, Any]]:
        """The newest `limit` notifications (of one case), in the order they were queued."""
        query = select(outbox).order_by(outbox.c.id.desc()).limit(max(1, min(limit, MAX_ROWS)))
        if case_id:
            query = query.where(outbox.c.case_id == case_id)
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(query).mappings()][::-1]
        for row in rows:
            row["body"] = self.unseal(row["body"])
        return rows

    # --- delivery (issue 14) ---------------------------------------------------------------

    def due(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        """The pending rows whose next attempt is due at `now` (bodies unsealed): alerts to
        Escalation Managers first (they page: E3, S3), then the oldest."""
        urgent = case((outbox.c.recipient_kind.in_(URGENT_KINDS), 0), else_=1)
        query = (
            select(outbox)
            .where(
                outbox.c.status == PENDING,
                or_(outbox.c.next_attempt_at.is_(None), outbox.c.next_attempt_at <= utc(now)),
            )
            .order_by(urgent, outbox.c.id)
            .limit(max(1, min(limit, MAX_ROWS)))
        )
        rows = self._rows(query)
        for row in rows:
            row["body"] = self.unseal(row["body"])
        return rows

    def next_due(self) -> datetime | None:
        """When the earliest pending row that waits for a retry is due (None: none waits)."""
        with self.engine.connect() as conn:
            found = conn.execute(
                select(func.min(outbox.c.next_attempt_at)).where(outbox.c.status == PENDING)
            ).scalar()
        return aware({"at": found})["at"] if found is not None else None

    def record_attempt(
        self,
        row_id: int,
        *,
        at: datetime,
        channels_done: list[str],
        error: str | None,
        retry_at: datetime | None,
    ) -> str:
        """One delivery attempt of a pending row: delivered (no error), to be retried at
        `retry_at`, or dead (an error and no retry). Returns the row's new status; a row that
        is not pending any more (retried twice at once) is left as it is."""
        outcome = Attempt(row_id, at, channels_done, error, retry_at)
        self.record_attempts([outcome])
        return outcome.status

    def record_attempts(self, attempts: list[Attempt]) -> None:
        """A round's attempts, in one transaction."""
        with self.engine.begin() as conn:
            for attempt in attempts:
                values: dict[str, Any] = {
                    "status": attempt.status,
                    "attempts": outbox.c.attempts + 1,
                    "channels_done": attempt.channels_done,
                    "next_attempt_at": utc(attempt.retry_at)
                    if attempt.retry_at and attempt.error
                    else None,
                    "last_error": attempt.error[:ERROR_CHARS] if attempt.error else None,
                    "failed_attempts": outbox.c.failed_attempts + 1 if attempt.error else 0,
                }
                if attempt.status == DELIVERED:
                    values["delivered_at"] = utc(attempt.at)
                conn.execute(
                    update(outbox)
                    .where(and_(outbox.c.id == attempt.row_id, outbox.c.status == PENDING))
                    .values(**values)
                )

    def failed(self, limit: int = MAX_ROWS) -> list[dict[str, Any]]:
        """The dead-letter rows, oldest first (bodies as stored: a caller withholds)."""
        query = (
            select(outbox)
            .where(outbox.c.status == DEAD)
            .order_by(outbox.c.id)
            .limit(max(1, min(limit, MAX_ROWS)))
        )
        rows = self._rows(query)
        for row in rows:
            row["body"] = self.unseal(row["body"])
        return rows

    def row(self, row_id: int) -> dict[str, Any] | None:
        rows = self._rows(select(outbox).where(outbox.c.id == row_id))
        for row in rows:
            row["body"] = self.unseal(row["body"])
        return rows[0] if rows else None

    def retry(self, row_id: int) -> bool:
        """Send a dead row again: pending now, its failed attempts counted afresh, its channels
        planned again from the directory of the moment (the channels that took it already are
        not sent to again: `channels_done`). False if the row is not dead."""
        from casework.store.tables import deliveries

        with self.engine.begin() as conn:
            result = conn.execute(
                update(outbox)
                .where(and_(outbox.c.id == row_id, outbox.c.status == DEAD))
                .values(status=PENDING, next_attempt_at=None, failed_attempts=0)
            )
            if result.rowcount == 1:  # issue 27: the relay plans its lanes afresh
                conn.execute(delete(deliveries).where(deliveries.c.outbox_id == row_id))
        return result.rowcount == 1
