"""The engine's database: directory, case numbers, assignments, engineering tracker, outbox.

SQLAlchemy Core over SQLite by default (a file in the state folder); a Postgres URL works the
same. Only activities (and the operator's directory load) call this module: workflows never
touch the database.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, CursorResult, Engine
from sqlalchemy.exc import IntegrityError

from casework.domain.directory import (
    Account,
    Contact,
    Directory,
    Engineer,
    EscalationManager,
    Partner,
    SupportDirector,
)
from casework.domain.us_citizen import is_restricted_member

metadata = MetaData()

products = Table("products", metadata, Column("name", String(200), primary_key=True))
accounts = Table(
    "accounts",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("tier", String(16), nullable=False),
    Column("users", Integer, nullable=False),
    Column("us_citizen_support", Boolean, nullable=False, default=False),
    Column("zone", String(64)),
    Column("partner", String(64)),
    Column("premium", JSON),  # A3: {"offering": ..., "expert": ...}
)
partners = Table(
    "partners",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("email", String(320)),
    Column("phone", String(200)),
    Column("url", String(300)),
    Column("support_now_validated", Boolean, nullable=False, default=False),
)
contacts = Table(
    "contacts",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("account_id", String(64), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("email", String(320)),
    Column("phone", String(200)),
    Column("approver", Boolean, nullable=False, default=False),
)
engineers = Table(
    "engineers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("level", String(4), nullable=False),
    Column("skills", JSON, nullable=False),
    Column("shift", JSON, nullable=False),
    Column("email", String(320)),
    Column("citizenship", JSON),
    Column("work_location", String(64)),
    Column("restricted_queue_only", Boolean, nullable=False, default=False),
    Column("partner", String(64)),
    Column("zone", String(64)),  # A3: a premium expert's business-hours zone
)
authorised_locations = Table(
    "authorised_locations", metadata, Column("id", String(64), primary_key=True)
)
escalation_managers = Table(
    "escalation_managers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("rota_position", Integer, nullable=False),
    Column("name", String(200), nullable=False),
    Column("email", String(320)),
    Column("phone", String(200)),
    Column("shift", JSON, nullable=False),
)
support_director = Table(
    "support_director",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("email", String(320)),
    Column("phone", String(200)),
)
case_numbers = Table(
    "case_numbers",
    metadata,
    Column("number", Integer, primary_key=True, autoincrement=True),
    Column("request_id", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
assignments = Table(
    "assignments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("case_id", String(32), nullable=False, index=True),
    Column("engineer_id", String(64), nullable=False, index=True),
    Column("level", String(4), nullable=False),
    Column("assigned_at", DateTime(timezone=True), nullable=False),
    Column("released_at", DateTime(timezone=True)),
)
problem_reports = Table(
    "problem_reports",
    metadata,
    Column("number", Integer, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("case_id", String(32), nullable=False, index=True),
    Column("summary", Text, nullable=False),
    Column("filed_by", String(64), nullable=False),
    Column("filed_at", DateTime(timezone=True), nullable=False),
)
log_approvals = Table(
    "log_approvals",
    metadata,
    Column("request_id", String(64), primary_key=True),
    Column("case_id", String(32), nullable=False, index=True),
    Column("logs", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("decided_by", String(64)),
    Column("decided_at", DateTime(timezone=True)),
    Column("pr_id", String(32)),
)
shared_logs = Table(
    "shared_logs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("pr_id", String(32), nullable=False, index=True),
    Column("attachment_id", String(64), nullable=False),
    Column("name", String(300), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("approval_request_id", String(64), nullable=False),
    Column("shared_at", DateTime(timezone=True), nullable=False),
)
referrals = Table(
    "referrals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", String(64), nullable=False, unique=True),
    Column("account", String(64), nullable=False, index=True),
    Column("contact", String(64), nullable=False),
    Column("partner", String(64), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)
case_facts = Table(
    "case_facts",
    metadata,
    Column("case_id", String(32), primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("account", String(64), nullable=False),
    Column("tier", String(16), nullable=False),
    Column("priority", String(4), nullable=False),
    Column("category", String(32), nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False, index=True),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("responded_at", DateTime(timezone=True)),
    Column("breached_at", DateTime(timezone=True)),
)
"""One row per case for `casework report`: written by the case workflow (through the
`record_case_facts` activity) at opening, first response, priority change and breach."""
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("case_id", String(32), index=True),
    Column("recipient_kind", String(32), nullable=False),
    Column("recipient_id", String(64), nullable=False),
    Column("address", String(320)),
    Column("subject", String(300), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
escalations = Table(
    "escalations",
    metadata,
    Column("escalation_id", String, primary_key=True),  # "<case_id>-E<n>", n from 1
    Column("case_id", String, nullable=False),
    Column("account", String, nullable=False),
    Column("tier", String, nullable=False),
    Column("priority", String, nullable=False),
    Column("channel", String, nullable=False),  # "online", "phone" or "sla_breach"
    Column("reason", String, nullable=False),
    Column("raised_at", DateTime(timezone=True), nullable=False),
    Column("acknowledged_at", DateTime(timezone=True), nullable=True),
    Column("acknowledged_by", String, nullable=True),
    Column("ended_at", DateTime(timezone=True), nullable=True),
)


class LogSharingRefused(Exception):
    """U6: no recorded approval covers these logs for this PR."""


def pr_id_for(number: int) -> str:
    return f"PR-{number:06d}"


def referral_id_for(number: int) -> str:
    return f"REF-{number:06d}"


PENDING = "pending"
"""U6: the only status a log approval record moves on from."""


def _insert_for(conn: Connection, table: Table) -> sqlite.Insert | postgresql.Insert:
    """The dialect's INSERT, which has ON CONFLICT DO UPDATE ... WHERE and DO NOTHING."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"casework runs on SQLite or PostgreSQL, not {conn.dialect.name}")


def _new_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _referral_row(row: Any) -> dict[str, Any]:
    at = row["at"]
    return {
        "referral_id": referral_id_for(row["id"]),
        **{k: v for k, v in row.items() if k not in ("id", "at")},
        "at": at.replace(tzinfo=at.tzinfo or UTC),
    }


class Store:
    """One database. Methods are small transactions; each is safe to retry."""

    def __init__(self, url: str) -> None:
        self.url = url
        connect_args = {"timeout": 30} if url.startswith("sqlite") else {}
        self.engine: Engine = create_engine(url, connect_args=connect_args)
        metadata.create_all(self.engine)
        self._add_new_columns()

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

    # --- directory ------------------------------------------------------------------------

    def has_directory(self) -> bool:
        with self.engine.connect() as conn:
            return bool(conn.execute(select(func.count()).select_from(products)).scalar())

    def replace_directory(self, directory: Directory) -> None:
        """Load a validated directory, replacing the previous one in one transaction."""
        with self.engine.begin() as conn:
            for table in (
                products,
                contacts,
                accounts,
                engineers,
                escalation_managers,
                authorised_locations,
                partners,
            ):
                conn.execute(delete(table))
            if directory.partners:
                conn.execute(
                    insert(partners), [p.model_dump(mode="json") for p in directory.partners]
                )
            if directory.authorised_locations:
                conn.execute(
                    insert(authorised_locations),
                    [{"id": location} for location in directory.authorised_locations],
                )
            conn.execute(insert(products), [{"name": p} for p in directory.products])
            if directory.accounts:
                conn.execute(
                    insert(accounts),
                    [a.model_dump(mode="json", exclude={"contacts"}) for a in directory.accounts],
                )
                conn.execute(
                    insert(contacts),
                    [
                        {**c.model_dump(), "account_id": a.id}
                        for a in directory.accounts
                        for c in a.contacts
                    ],
                )
            if directory.engineers:
                conn.execute(
                    insert(engineers),
                    [e.model_dump(mode="json") for e in directory.engineers],
                )
            conn.execute(
                insert(escalation_managers),
                [
                    {**m.model_dump(mode="json"), "rota_position": i}
                    for i, m in enumerate(directory.escalation_managers)
                ],
            )
            self._replace_support_director(conn, directory)

    def product_names(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(products.c.name)).scalars())

    def account(self, account_id: str) -> Account | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(select(accounts).where(accounts.c.id == account_id)).mappings().first()
            )
            if row is None:
                return None
            people = conn.execute(
                select(contacts).where(contacts.c.account_id == account_id).order_by(contacts.c.id)
            ).mappings()
            return Account(
                **dict(row),
                contacts=[
                    Contact(**{k: v for k, v in p.items() if k != "account_id"}) for p in people
                ],
            )

    def partner(self, partner_id: str) -> Partner | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(select(partners).where(partners.c.id == partner_id)).mappings().first()
            )
            return Partner.model_validate(dict(row)) if row else None

    def contact_address(self, contact_id: str) -> str | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(contacts.c.email, contacts.c.phone).where(contacts.c.id == contact_id)
            ).first()
            return (row.email or row.phone) if row else None

    def engineers(self) -> list[Engineer]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(engineers).order_by(engineers.c.id)).mappings()
            return [Engineer.model_validate(dict(r)) for r in rows]

    def engineer(self, engineer_id: str) -> Engineer | None:
        return next((e for e in self.engineers() if e.id == engineer_id), None)

    def authorised_locations(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(authorised_locations.c.id)).scalars())

    def restricted_members(self) -> list[str]:
        """U2/U7: engineers with verified US citizenship at an authorised location."""
        locations = set(self.authorised_locations())
        return [e.id for e in self.engineers() if is_restricted_member(e, locations)]

    def set_us_citizen_support(self, account_id: str, on: bool, zone: str | None = None) -> Account:
        """U1: flag or unflag an account; refused (ValueError, nothing changed) for a Gold
        account or one without a zone."""
        account = self.account(account_id)
        if account is None:
            raise ValueError(f"unknown account {account_id!r}")
        changes: dict[str, Any] = {"us_citizen_support": on}
        if zone is not None:
            changes["zone"] = zone
        updated = Account.model_validate({**account.model_dump(), **changes})
        with self.engine.begin() as conn:
            conn.execute(
                update(accounts)
                .where(accounts.c.id == account_id)
                .values(us_citizen_support=updated.us_citizen_support, zone=updated.zone)
            )
        return updated

    # --- log approvals and sharing (U6) ---------------------------------------------------

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
            statement = _insert_for(conn, log_approvals).values(request_id=request_id, **values)
            conn.execute(
                statement.on_conflict_do_update(
                    index_elements=[log_approvals.c.request_id],
                    set_=values,
                    where=log_approvals.c.status == PENDING,
                )
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
            if fresh:
                conn.execute(
                    insert(shared_logs),
                    [
                        {
                            "pr_id": pr_id,
                            "attachment_id": log["id"],
                            "name": log["name"],
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
            return [dict(r) for r in conn.execute(query).mappings()]

    def rota(self) -> list[EscalationManager]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(escalation_managers).order_by(escalation_managers.c.rota_position)
            ).mappings()
            return [
                EscalationManager.model_validate(
                    {k: v for k, v in r.items() if k != "rota_position"}
                )
                for r in rows
            ]

    # --- referrals to partners (P2) -------------------------------------------------------

    def record_referral(
        self, request_id: str, account: str, contact: str, partner: str, channel: str, at: datetime
    ) -> tuple[dict[str, Any], bool]:
        """P2: one referral per open request: a retry of the same request gets the same one
        (created=False)."""
        query = select(referrals).where(referrals.c.request_id == request_id)
        try:
            with self.engine.begin() as conn:
                existing = conn.execute(query).mappings().first()
                if existing is not None:
                    return _referral_row(existing), False
                conn.execute(
                    insert(referrals).values(
                        request_id=request_id,
                        account=account,
                        contact=contact,
                        partner=partner,
                        channel=channel,
                        at=at,
                    )
                )
                return _referral_row(conn.execute(query).mappings().one()), True
        except IntegrityError:  # the same request, recorded by a concurrent retry
            with self.engine.connect() as conn:
                return _referral_row(conn.execute(query).mappings().one()), False

    def referrals(self, account: str | None = None) -> list[dict[str, Any]]:
        """P2: the referrals on record, oldest first (an integration lists them here)."""
        query = select(referrals).order_by(referrals.c.id)
        if account:
            query = query.where(referrals.c.account == account)
        with self.engine.connect() as conn:
            return [_referral_row(r) for r in conn.execute(query).mappings()]

    # --- case numbers ---------------------------------------------------------------------

    def allocate_case_number(self, request_id: str, at: datetime) -> tuple[int, bool]:
        """The case number for an open request: a retry of the same request gets the same
        number (created=False)."""
        query = select(case_numbers.c.number).where(case_numbers.c.request_id == request_id)
        try:
            with self.engine.begin() as conn:
                existing = conn.execute(query).scalar()
                if existing is not None:
                    return int(existing), False
                result = conn.execute(
                    insert(case_numbers).values(request_id=request_id, created_at=at)
                )
                return _new_id(result), True
        except IntegrityError:  # the same request, allocated by a concurrent retry
            with self.engine.connect() as conn:
                return int(conn.execute(query).scalar_one()), False

    def start_case_numbers_at(self, first: int) -> None:
        """Number new cases from `first` on (a deployment that takes over from another
        system, or a test that shares a Temporal server with others). No-op if cases exist
        at or above it."""
        with self.engine.begin() as conn:
            highest = conn.execute(select(func.max(case_numbers.c.number))).scalar() or 0
            if highest < first - 1:
                conn.execute(
                    insert(case_numbers).values(
                        number=first - 1,
                        request_id=f"(numbering starts at {first})",
                        created_at=datetime.now(UTC),
                    )
                )

    # --- assignments ----------------------------------------------------------------------

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
        """Release the case's earlier assignment and record the new one; idempotent by key.
        Returns the engineer of the recorded assignment (the first one on a retry)."""
        with self.engine.begin() as conn:
            existing = conn.execute(
                select(assignments.c.engineer_id).where(assignments.c.idempotency_key == key)
            ).scalar()
            if existing is not None:
                return str(existing)
            conn.execute(
                update(assignments)
                .where(assignments.c.case_id == case_id, assignments.c.released_at.is_(None))
                .values(released_at=at)
            )
            conn.execute(
                insert(assignments).values(
                    idempotency_key=key,
                    case_id=case_id,
                    engineer_id=engineer_id,
                    level=level,
                    assigned_at=at,
                )
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

    # --- engineering tracker (E2) ---------------------------------------------------------

    def file_problem_report(
        self, key: str, case_id: str, summary: str, filed_by: str, at: datetime
    ) -> str:
        with self.engine.begin() as conn:
            existing = conn.execute(
                select(problem_reports.c.number).where(problem_reports.c.idempotency_key == key)
            ).scalar()
            if existing is not None:
                return pr_id_for(existing)
            result = conn.execute(
                insert(problem_reports).values(
                    idempotency_key=key,
                    case_id=case_id,
                    summary=summary,
                    filed_by=filed_by,
                    filed_at=at,
                )
            )
            return pr_id_for(_new_id(result))

    def problem_reports(self, case_id: str | None = None) -> list[dict[str, Any]]:
        query = select(problem_reports).order_by(problem_reports.c.number)
        if case_id:
            query = query.where(problem_reports.c.case_id == case_id)
        with self.engine.connect() as conn:
            return [{**r, "id": pr_id_for(r["number"])} for r in conn.execute(query).mappings()]

    # --- escalations (E3, S3) ----------------------------------------------------------------

    @staticmethod
    def _replace_support_director(conn: Any, directory: Directory) -> None:
        conn.execute(delete(support_director))
        if directory.support_director is not None:
            conn.execute(
                insert(support_director), [directory.support_director.model_dump(mode="json")]
            )

    def support_director(self) -> SupportDirector | None:
        """E3/S3: the ladder's catch-all; None when the directory names none."""
        with self.engine.connect() as conn:
            row = conn.execute(select(support_director)).mappings().first()
            return SupportDirector.model_validate(dict(row)) if row else None

    def escalation_manager_address(self, person_id: str) -> str | None:
        """Where a rota manager or the support director is alerted: email, else phone."""
        with self.engine.connect() as conn:
            for table in (escalation_managers, support_director):
                row = conn.execute(
                    select(table.c.email, table.c.phone).where(table.c.id == person_id)
                ).first()
                if row:
                    return row.email or row.phone
        return None

    def record_escalation(self, row: dict[str, Any]) -> None:
        """Insert or bring up to date one escalation. Safe to retry and to run out of order
        (the case's writes are concurrent side effects): an acknowledgement or an end, once
        recorded, is never cleared by an older write. Two first writes at once: the loser
        fails on the key and its retry updates."""
        once_set = ("acknowledged_at", "acknowledged_by", "ended_at")
        with self.engine.begin() as conn:
            key = escalations.c.escalation_id == row["escalation_id"]
            if conn.execute(select(escalations.c.escalation_id).where(key)).first():
                changes = {k: v for k, v in row.items() if k not in once_set or v is not None}
                conn.execute(update(escalations).where(key).values(**changes))
            else:
                conn.execute(insert(escalations).values(**row))

    def escalation_rows(self, case_id: str | None = None) -> list[dict[str, Any]]:
        """Escalations (of one case), oldest first."""
        query = select(escalations).order_by(escalations.c.raised_at, escalations.c.escalation_id)
        if case_id:
            query = query.where(escalations.c.case_id == case_id)
        return self._rows(query)

    def escalations_raised(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Escalations raised in [start, end), oldest first."""
        query = (
            select(escalations)
            .where(escalations.c.raised_at >= start, escalations.c.raised_at < end)
            .order_by(escalations.c.raised_at, escalations.c.escalation_id)
        )
        return self._rows(query)

    # --- notification outbox --------------------------------------------------------------

    def add_notification(self, key: str, **fields: Any) -> bool:
        """Queue one notification; False if this key was queued before (a retried activity)."""
        with self.engine.begin() as conn:
            if conn.execute(select(outbox.c.id).where(outbox.c.idempotency_key == key)).first():
                return False
            try:
                conn.execute(
                    insert(outbox).values(
                        idempotency_key=key,
                        created_at=fields.pop("created_at", datetime.now(UTC)),
                        **fields,
                    )
                )
            except IntegrityError:
                return False
            return True

    def notifications(self, case_id: str | None = None) -> list[dict[str, Any]]:
        query = select(outbox).order_by(outbox.c.id)
        if case_id:
            query = query.where(outbox.c.case_id == case_id)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    # --- reporting: case facts and escalations --------------------------------------------

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

    def case_facts_opened(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """The facts of cases opened in [start, end), oldest first."""
        query = (
            select(case_facts)
            .where(case_facts.c.opened_at >= start, case_facts.c.opened_at < end)
            .order_by(case_facts.c.opened_at, case_facts.c.case_id)
        )
        return self._rows(query)

    def _rows(self, query: Any) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [_aware(dict(r)) for r in conn.execute(query).mappings()]


def _aware(row: dict[str, Any]) -> dict[str, Any]:
    """SQLite hands back naive datetimes; they were written in UTC."""
    return {
        k: v.replace(tzinfo=UTC) if isinstance(v, datetime) and v.tzinfo is None else v
        for k, v in row.items()
    }
