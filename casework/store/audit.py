"""U5: every read of a restricted case's content, granted or refused, from any path (the
door's API, the codec server, the operator's commands), for `casework audit`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import insert, select

from casework.store.base import Repository, utc
from casework.store.tables import audit

MAX_LISTED = 1_000
"""Bound on one listing of the audit table."""

AuditPath = Literal["api", "codec", "cli"]


class AuditRepository(Repository):
    def record(
        self,
        *,
        principal: str,
        path: AuditPath,
        action: str,
        case_id: str | None,
        account_id: str | None,
        granted: bool,
        reason: str = "",
        on_behalf_of: str | None = None,
        at: datetime | None = None,
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(audit).values(
                    at=utc(at or datetime.now(UTC)),
                    principal=principal[:64],
                    on_behalf_of=on_behalf_of[:64] if on_behalf_of else None,
                    path=path,
                    action=action[:64],
                    case_id=case_id[:200] if case_id else None,
                    account_id=account_id[:64] if account_id else None,
                    granted=granted,
                    reason=reason,
                )
            )

    def list(
        self,
        *,
        case_id: str | None = None,
        principal: str | None = None,
        refused_only: bool = False,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Newest first, at most `limit` (bounded by MAX_LISTED)."""
        query = select(audit).order_by(audit.c.at.desc(), audit.c.id.desc())
        if case_id is not None:
            query = query.where(audit.c.case_id == case_id)
        if principal is not None:
            query = query.where(audit.c.principal == principal)
        if refused_only:
            query = query.where(audit.c.granted.is_(False))
        return self._rows(query.limit(max(0, min(limit, MAX_LISTED))))
