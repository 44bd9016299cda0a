"""The notification outbox: every message under an idempotency key; a relay outside this
engine reads it and sends."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from casework.store.base import Repository
from casework.store.tables import outbox


class OutboxRepository(Repository):
    def add(self, key: str, **fields: Any) -> bool:
        """Queue one notification; False if this key was queued before (a retried activity)."""
        with self.engine.begin() as conn:
            if conn.execute(select(outbox.c.id).where(outbox.c.idempotency_key == key)).first():
                return False
            try:
                conn.execute(
                    insert(outbox).values(
                        idempotency_key=key,
                        created_at=fields.pop("created_at", datetime.now(UTC)),
                        **fields,
                    )
                )
            except IntegrityError:
                return False
            return True

    def rows(self, case_id: str | None = None) -> list[dict[str, Any]]:
        """The notifications (of one case), in the order they were queued."""
        query = select(outbox).order_by(outbox.c.id)
        if case_id:
            query = query.where(outbox.c.case_id == case_id)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]
