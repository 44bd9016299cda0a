"""The shared `escalations` table (E3, S3): one row per escalation, written by the case and
counted by `casework report`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from casework.store.base import Repository
from casework.store.tables import escalations


class EscalationRepository(Repository):
    def record(self, row: dict[str, Any]) -> None:
        """Insert or bring up to date one escalation. Safe to retry and to run out of order
        (the case's writes are concurrent side effects): an acknowledgement or an end, once
        recorded, is never cleared by an older write. Two first writes at once: the loser
        fails on the key and its retry updates."""
        once_set = ("acknowledged_at", "acknowledged_by", "ended_at")
        with self.engine.begin() as conn:
            key = escalations.c.escalation_id == row["escalation_id"]
            if conn.execute(select(escalations.c.escalation_id).where(key)).first():
                changes = {k: v for k, v in row.items() if k not in once_set or v is not None}
                conn.execute(update(escalations).where(key).values(**changes))
            else:
                conn.execute(insert(escalations).values(**row))

    def rows(self, case_id: str | None = None) -> list[dict[str, Any]]:
        """Escalations (of one case), oldest first."""
        query = select(escalations).order_by(escalations.c.raised_at, escalations.c.escalation_id)
        if case_id:
            query = query.where(escalations.c.case_id == case_id)
        return self._rows(query)

    def raised(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Escalations raised in [start, end), oldest first."""
        query = (
            select(escalations)
            .where(escalations.c.raised_at >= start, escalations.c.raised_at < end)
            .order_by(escalations.c.raised_at, escalations.c.escalation_id)
        )
        return self._rows(query)
