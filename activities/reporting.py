"""Reporting: the facts of each case, kept in the database for `casework report`, and the
case list's row of each case (issue 26)."""

from __future__ import annotations

from temporalio import activity

from activities.ports import ReportingStore
from casework.contracts import RECORD_CASE_FACTS, RECORD_CASE_ROW, CaseFacts, CaseRow


class ReportingActivities:
    def __init__(self, store: ReportingStore) -> None:
        self.store = store

    @activity.defn(name=RECORD_CASE_FACTS)
    def record_case_facts(self, facts: CaseFacts) -> bool:
        """Upsert the case's row (idempotent: a retry or a late older write changes nothing)."""
        return self.store.reporting.record_case_facts(facts.model_dump())

    @activity.defn(name=RECORD_CASE_ROW)
    def record_case_row(self, row: CaseRow) -> bool:
        """Upsert the case's list row (idempotent: a retry or a late older write changes
        nothing)."""
        return self.store.case_rows.record(row.model_dump())
