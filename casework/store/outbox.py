"""The notification outbox: every message under an idempotency key; a relay outside this
engine reads it and sends."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from casework.store.base import SealingRepository, insert_for
from casework.store.tables import outbox

MAX_ROWS = 1_000
"""Bound on one read of the outbox."""


class OutboxRepository(SealingRepository):
    def add(self, key: str, **fields: Any) -> bool:
        """Queue one notification; False if this key was queued before (a retried activity).
        The first write of a key is the one kept. U5: a restricted one's body is sealed."""
        fields.setdefault("created_at", datetime.now(UTC))
        if fields.get("restricted") and "body" in fields:
            fields["body"] = self.seal(fields["body"])
        with self.engine.begin() as conn:
            statement = insert_for(conn, outbox).values(idempotency_key=key, **fields)
            result = conn.execute(
                statement.on_conflict_do_nothing(
                    index_elements=[outbox.c.idempotency_key]
                ).returning(outbox.c.id)
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
