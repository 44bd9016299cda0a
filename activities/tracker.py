"""The engineering tracker: Problem Reports filed at L3 (E2)."""

from __future__ import annotations

from temporalio import activity

from casework.contracts import FILE_PROBLEM_REPORT, ProblemReportRequest, ProblemReportResult
from casework.store import Store


class TrackerActivities:
    def __init__(self, store: Store) -> None:
        self.store = store

    @activity.defn(name=FILE_PROBLEM_REPORT)
    def file_problem_report(self, request: ProblemReportRequest) -> ProblemReportResult:
        """E2: one PR per key, however often the activity is retried."""
        pr_id = self.store.file_problem_report(
            request.key, request.case_id, request.summary, request.filed_by, request.at
        )
        return ProblemReportResult(pr_id=pr_id)
