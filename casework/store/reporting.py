"""The facts of each case that `casework report` counts (S1-S3): one row per case, written by
the case workflow at opening, first response, priority change and breach."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from casework.store.base import Repository
from casework.store.tables import case_facts


class ReportingRepository(Repository):
    def record_case_facts(self, facts: dict[str, Any]) -> bool:
        """Upsert the case's row; a retried or late write of an older revision loses to the
        newer one. True if the row changed."""
        with self.engine.begin() as conn:
            existing = conn.execute(
                select(case_facts.c.revision).where(case_facts.c.case_id == facts["case_id"])
            ).scalar()
            if existing is None:
                try:
                    conn.execute(insert(case_facts).values(**facts))
                except IntegrityError:
                    return False
                return True
            if existing > facts["revision"]:
                return False
            conn.execute(
                update(case_facts).where(case_facts.c.case_id == facts["case_id"]).values(**facts)
            )
            return True

    def cases_opened(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """The facts of cases opened in [start, end), oldest first."""
        query = (
            select(case_facts)
            .where(case_facts.c.opened_at >= start, case_facts.c.opened_at < end)
            .order_by(case_facts.c.opened_at, case_facts.c.case_id)
        )
        return self._rows(query)
