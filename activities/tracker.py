"""The engineering tracker: Problem Reports filed at L3 (E2)."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.ports import LogSharingStore, TrackerStore
from casework.contracts import (
    FILE_PROBLEM_REPORT,
    RECORD_LOG_APPROVAL,
    SHARE_LOGS,
    ApprovalRecord,
    ProblemReportRequest,
    ProblemReportResult,
    ShareLogsRequest,
    ShareLogsResult,
)
from casework.store.tracker import LogSharingRefused


class TrackerActivities:
    def __init__(self, store: TrackerStore) -> None:
        self.store = store

    @activity.defn(name=FILE_PROBLEM_REPORT)
    def file_problem_report(self, request: ProblemReportRequest) -> ProblemReportResult:
        """E2: one PR per key, however often the activity is retried."""
        pr_id = self.store.tracker.file_problem_report(
            request.key, request.case_id, request.summary, request.filed_by, request.at
        )
        return ProblemReportResult(pr_id=pr_id)


class LogSharingActivities:
    """U6: the customer's answers on record, and the only code that attaches logs to a PR."""

    def __init__(self, store: LogSharingStore) -> None:
        self.store = store

    @activity.defn(name=RECORD_LOG_APPROVAL)
    def record_log_approval(self, record: ApprovalRecord) -> None:
        self.store.tracker.record_log_approval(
            record.request_id,
            record.case_id,
            record.logs,
            record.status,
            record.decided_by,
            record.decided_at,
        )

    @activity.defn(name=SHARE_LOGS)
    def share_logs_with_problem_report(self, request: ShareLogsRequest) -> ShareLogsResult:
        """U6: no log leaves without the customer's recorded approval naming it, for this PR."""
        try:
            shared = self.store.tracker.share_logs(
                request.request_id,
                request.case_id,
                request.pr_id,
                [log.model_dump(include={"id", "name", "sha256"}) for log in request.logs],
                request.at,
            )
        except LogSharingRefused as refused:
            raise ApplicationError(
                str(refused), type="LogSharingRefused", non_retryable=True
            ) from None
        return ShareLogsResult(shared=shared)
