"""The engine's database: one engine, one repository per group of tables.

    store = Store(url)
    store.directory    products, accounts, contacts, partners, engineers, authorised
                       locations, the Escalation Managers' rota, the support director
    store.intake       case numbers, referrals (P2)
    store.tracker      assignments (E1), Problem Reports (E2), log approvals and shared logs (U6)
    store.outbox       notifications
    store.escalations  escalations (E3, S3)
    store.reporting    case facts for `casework report`

SQLAlchemy Core over SQLite by default (a file in the state folder); a PostgreSQL URL works the
same. Only activities (and the operator's commands) use the store: workflows never touch the
database. Every method is a small transaction, safe to retry.
"""

from __future__ import annotations

from sqlalchemy import Boolean, create_engine, inspect, text
from sqlalchemy.engine import Engine

from casework.store.directory import DirectoryRepository
from casework.store.escalations import EscalationRepository
from casework.store.intake import IntakeRepository, referral_id_for
from casework.store.outbox import OutboxRepository
from casework.store.reporting import ReportingRepository
from casework.store.tables import metadata
from casework.store.tracker import LogSharingRefused, TrackerRepository, pr_id_for

__all__ = ["LogSharingRefused", "Store", "pr_id_for", "referral_id_for"]


class Store:
    """One database: one engine, shared by its repositories."""

    def __init__(self, url: str) -> None:
        self.url = url
        connect_args = {"timeout": 30} if url.startswith("sqlite") else {}
        self.engine: Engine = create_engine(url, connect_args=connect_args)
        metadata.create_all(self.engine)
        self._add_new_columns()
        self.directory = DirectoryRepository(self.engine)
        self.intake = IntakeRepository(self.engine)
        self.tracker = TrackerRepository(self.engine)
        self.outbox = OutboxRepository(self.engine)
        self.escalations = EscalationRepository(self.engine)
        self.reporting = ReportingRepository(self.engine)

    def _add_new_columns(self) -> None:
        """A database made by an older casework gets the columns added since (all nullable or
        defaulted), so an existing state folder keeps working."""
        existing = inspect(self.engine)
        with self.engine.begin() as conn:
            for table in metadata.sorted_tables:
                have = {c["name"] for c in existing.get_columns(table.name)}
                for column in table.columns:
                    if column.name in have:
                        continue
                    kind = column.type.compile(dialect=self.engine.dialect)
                    default = " DEFAULT 0 NOT NULL" if isinstance(column.type, Boolean) else ""
                    conn.execute(
                        text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}{default}')
                    )

    def dispose(self) -> None:
        self.engine.dispose()
