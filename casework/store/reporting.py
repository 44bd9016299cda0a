"""The facts of each case that `casework report` counts (S1-S3): one row per case, written by
the case workflow at opening, first response, priority change and breach."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from casework.store.base import Repository
from casework.store.dialect import insert_or_update
from casework.store.tables import case_facts


class ReportingRepository(Repository):
    def record_case_facts(self, facts: dict[str, Any]) -> bool:
        """Upsert the case's row; a retried or late write of an older revision loses to the
        newer one (the database decides, in the same statement). True if the row changed."""
        values = {k: v for k, v in facts.items() if k != "case_id"}
        with self.engine.begin() as conn:
            result = insert_or_update(
                conn,
                case_facts,
                facts,
                key=[case_facts.c.case_id],
                changes=lambda _new: values,
                where=lambda new: case_facts.c.revision <= new.revision,
                returning=[case_facts.c.case_id],
            )
            return result.first() is not None

    def cases_opened(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """The facts of cases opened in [start, end), oldest first."""
        return self._between(case_facts, "opened_at", start, end, then="case_id")
