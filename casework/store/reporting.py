"""The facts of each case that `casework report` counts (S1-S3): one row per case, written by
the case workflow at opening, first response, priority change and breach."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from casework.store.base import Repository
from casework.store.dialect import insert_or_newer
from casework.store.tables import case_facts


class ReportingRepository(Repository):
    def record_case_facts(self, facts: dict[str, Any]) -> bool:
        """Upsert the case's row; a retried or late write of an older revision loses to the
        newer one (the database decides, in the same statement). True if the row changed."""
        update = sorted(k for k in facts if k != "case_id")
        with self.engine.begin() as conn:
            return insert_or_newer(conn, case_facts, facts, key="case_id", update=update)

    def cases_opened(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """The facts of cases opened in [start, end), oldest first."""
        return self._between(case_facts, "opened_at", start, end, then="case_id")
