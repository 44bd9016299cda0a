"""The shared `escalations` table (E3, S3): one row per escalation, written by the case and
counted by `casework report`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, select

from casework.store.base import Repository
from casework.store.dialect import insert_or_update
from casework.store.tables import escalations

ONCE_SET = ("acknowledged_at", "acknowledged_by", "ended_at")
"""Set once in an escalation's life; a write that does not know them yet never clears them."""


def _progress(row: Any) -> ColumnElement[int]:
    """How far along in its life a version of the row is: raised 0, acknowledged +1, ended +1."""
    return case((row.acknowledged_at.is_not(None), 1), else_=0) + case(
        (row.ended_at.is_not(None), 1), else_=0
    )


class EscalationRepository(Repository):
    def record(self, row: dict[str, Any]) -> None:
        """Insert or bring up to date one escalation, in one statement. Safe to retry and to
        run out of order (the case's writes are concurrent side effects): a write that knows
        less of the escalation's life than the row on record (no acknowledgement or end where
        the row has one) changes nothing, and an acknowledgement or an end, once recorded, is
        never cleared."""

        def changes(new: Any) -> dict[str, Any]:
            return {
                name: func.coalesce(new[name], escalations.c[name])
                if name in ONCE_SET
                else new[name]
                for name in row
                if name != "escalation_id"
            }

        with self.engine.begin() as conn:
            insert_or_update(
                conn,
                escalations,
                row,
                key=[escalations.c.escalation_id],
                changes=changes,
                where=lambda new: _progress(new) >= _progress(escalations.c),
                shape="escalation",  # `changes` names the row's columns only, not its values
            )

    def rows(self, case_id: str | None = None) -> list[dict[str, Any]]:
        """Escalations (of one case), oldest first."""
        query = select(escalations).order_by(escalations.c.raised_at, escalations.c.escalation_id)
        if case_id:
            query = query.where(escalations.c.case_id == case_id)
        return self._rows(query)

    def raised(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Escalations raised in [start, end), oldest first."""
        return self._between(escalations, "raised_at", start, end, then="escalation_id")
