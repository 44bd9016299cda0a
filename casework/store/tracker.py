"""Who works which case, and the engineering tracker: assignments (E1), Problem Reports (E2),
the customer's log-sharing approvals and the logs shared under them (U6)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from casework.codec.realm import realm_parent
from casework.store.base import SealingRepository
from casework.store.dialect import insert_or_nothing, insert_or_update
from casework.store.tables import (
    assignments,
    case_realms,
    log_approvals,
    problem_reports,
    shared_logs,
)

PENDING = "pending"
"""U6: the only status a log approval record moves on from."""


class LogSharingRefused(Exception):
    """U6: no recorded approval covers these logs for this PR."""


def pr_id_for(number: int) -> str:
    return f"PR-{number:06d}"


class TrackerRepository(SealingRepository):
    # --- assignments (E1) -----------------------------------------------------------------

    def open_case_counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(assignments.c.engineer_id, func.count())
                .where(assignments.c.released_at.is_(None))
                .group_by(assignments.c.engineer_id)
            )
            return {engineer_id: count for engineer_id, count in rows}

    def record_assignment(
        self, key: str, case_id: str, engineer_id: str, level: str, at: datetime
    ) -> str:
        """Record the case's assignment at `at` and release the case's earlier ones; idempotent
        by key. Returns the engineer of the recorded assignment (the first one on a retry).
        Ordered by `at`: an assignment that lands after a newer one of the same case (a late
        retry) is recorded as already released, and the newer one stays the case's owner."""
        with self.engine.begin() as conn:
            row = {
                "idempotency_key": key,
                "case_id": case_id,
                "engineer_id": engineer_id,
                "level": level,
                "assigned_at": at,
            }
            assignment_id = insert_or_nothing(
                conn,
                assignments,
                row,
                key=[assignments.c.idempotency_key],
                returning=[assignments.c.id],
            ).scalar()
            if assignment_id is None:
                existing = select(assignments.c.engineer_id).where(
                    assignments.c.idempotency_key == key
                )
                return str(conn.execute(existing).scalar_one())
            open_of_case = (
                assignments.c.case_id == case_id,
                assignments.c.released_at.is_(None),
                assignments.c.id != assignment_id,
            )
            conn.execute(
                update(assignments)
                .where(*open_of_case, assignments.c.assigned_at <= at)
                .values(released_at=at)
            )
            newer = conn.execute(
                select(func.min(assignments.c.assigned_at)).where(
                    *open_of_case, assignments.c.assigned_at > at
                )
            ).scalar()
            if newer is not None:
                conn.execute(
                    update(assignments)
                    .where(assignments.c.id == assignment_id)
                    .values(released_at=newer)
                )
            return engineer_id

    def release_assignments(self, case_id: str, at: datetime) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(
                update(assignments)
                .where(assignments.c.case_id == case_id, assignments.c.released_at.is_(None))
                .values(released_at=at)
            )
            return int(result.rowcount or 0)

    # --- Problem Reports (E2) ---------------------------------------------------------------

    def _restricted(self, conn: Connection, case_id: str) -> bool:
        """U5: whether `case_id` carries a restricted customer's data (its realm, casework.codec;
        a vendor escalation shares its case's); none on record is restricted (fail closed)."""
        ids = [case_id, *([p] if (p := realm_parent(case_id)) else [])]
        rows = conn.execute(
            select(case_realms.c.workflow_id, case_realms.c.restricted).where(
                case_realms.c.workflow_id.in_(ids)
            )
        ).all()
        found = {r.workflow_id: bool(r.restricted) for r in rows}
        return next((found[i] for i in ids if i in found), True)

    def file_problem_report(
        self, key: str, case_id: str, summary: str, filed_by: str, at: datetime
    ) -> str:
        """E2: one PR per key, however often (and however late) the filing is retried; a retry
        finds its PR before it would draw a new PR number. U5: a restricted case's summary is
        sealed at rest."""
        query = select(problem_reports.c.number).where(problem_reports.c.idempotency_key == key)
        with self.engine.begin() as conn:
            if self._restricted(conn, case_id):
                summary = self.seal(summary)
            number = conn.execute(query).scalar()
            if number is None:
                row = {
                    "idempotency_key": key,
                    "case_id": case_id,
                    "summary": summary,
                    "filed_by": filed_by,
                    "filed_at": at,
                }
                insert_or_nothing(
                    conn, problem_reports, row, key=[problem_reports.c.idempotency_key]
                )
                number = conn.execute(query).scalar_one()
            return pr_id_for(number)

    def problem_reports(self, case_id: str | None = None) -> list[dict[str, Any]]:
        query = select(problem_reports).order_by(problem_reports.c.number)
        if case_id:
            query = query.where(problem_reports.c.case_id == case_id)
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(query).mappings()]
        return [
            {**r, "summary": self.unseal(r["summary"]), "id": pr_id_for(r["number"])} for r in rows
        ]

    # --- log approvals and sharing (U6) -------------------------------------------------------

    def record_log_approval(
        self,
        request_id: str,
        case_id: str,
        logs: list[str],
        status: str,
        decided_by: str | None,
        decided_at: datetime | None,
    ) -> None:
        """The request and the customer's answer, as the sharing code checks it. Idempotent,
        and ordered: pending < approved, declined, expired; a decided record is final, so a
        retried (older) pending write or a second answer never replaces the answer on record."""
        values = {
            "case_id": case_id,
            "logs": logs,
            "status": status,
            "decided_by": decided_by,
            "decided_at": decided_at,
        }
        with self.engine.begin() as conn:
            insert_or_update(
                conn,
                log_approvals,
                {"request_id": request_id, **values},
                key=[log_approvals.c.request_id],
                changes=lambda _new: values,
                where=lambda _new: log_approvals.c.status == PENDING,
            )

    def share_logs(
        self,
        request_id: str,
        case_id: str,
        pr_id: str,
        logs: list[dict[str, str]],
        at: datetime,
    ) -> list[str]:
        """U6: attach logs to a PR only under a recorded approval that names each of them,
        for this case and this PR only. Raises LogSharingRefused and shares nothing otherwise.
        Idempotent: a retry shares nothing twice."""
        with self.engine.begin() as conn:
            approval = (
                conn.execute(select(log_approvals).where(log_approvals.c.request_id == request_id))
                .mappings()
                .first()
            )
            if approval is None or approval["status"] != "approved":
                raise LogSharingRefused(
                    f"no approval {request_id} from the customer is on record: nothing shared"
                )
            if approval["case_id"] != case_id:
                raise LogSharingRefused(
                    f"approval {request_id} is for another case: nothing shared"
                )
            if approval["pr_id"] not in (None, pr_id):
                raise LogSharingRefused(
                    f"approval {request_id} covers {approval['pr_id']} only: nothing shared"
                )
            unapproved = [log["id"] for log in logs if log["id"] not in approval["logs"]]
            if unapproved:
                raise LogSharingRefused(
                    f"{', '.join(unapproved)} not named in approval {request_id}: nothing shared"
                )
            conn.execute(
                update(log_approvals)
                .where(log_approvals.c.request_id == request_id)
                .values(pr_id=pr_id)
            )
            already = set(
                conn.execute(
                    select(shared_logs.c.attachment_id).where(shared_logs.c.pr_id == pr_id)
                ).scalars()
            )
            fresh = [log for log in logs if log["id"] not in already]
            sealed = self._restricted(conn, case_id)
            if fresh:
                conn.execute(
                    insert(shared_logs),
                    [
                        {
                            "pr_id": pr_id,
                            "attachment_id": log["id"],
                            "name": self.seal(log["name"]) if sealed else log["name"],
                            "sha256": log["sha256"],
                            "approval_request_id": request_id,
                            "shared_at": at,
                        }
                        for log in fresh
                    ],
                )
            return [log["id"] for log in logs]

    def logs_shared_with(self, pr_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            query = (
                select(shared_logs).where(shared_logs.c.pr_id == pr_id).order_by(shared_logs.c.id)
            )
            rows = [dict(r) for r in conn.execute(query).mappings()]
        return [{**r, "name": self.unseal(r["name"])} for r in rows]
