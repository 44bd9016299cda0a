"""Baseline: the schema casework made before it had migrations.

Exactly what `metadata.create_all` (plus the columns `_add_new_columns` added to older files)
made up to the last casework without Alembic: 17 tables. A database made by that casework has
these tables and no `alembic_version`; `casework.store.schema` stamps it with this revision
(after adding any column an even older file lacks) and upgrades it in place.

The tables are written out here, frozen: `casework/store/tables.py` moves on with later
revisions, this one never changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def baseline(metadata: sa.MetaData) -> None:
    """The 17 tables of revision 0001, on `metadata`, in the order they were always added."""
    for group in (_directory, _people, _case_work, _log_sharing, _records):
        group(metadata)


def _directory(metadata: sa.MetaData) -> None:
    """Products, accounts, Support Now partners and contacts (A1-A5, P1)."""
    sa.Table("products", metadata, sa.Column("name", sa.String(200), primary_key=True))
    sa.Table(
        "accounts",
        metadata,
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("users", sa.Integer, nullable=False),
        sa.Column("us_citizen_support", sa.Boolean, nullable=False, default=False),
        sa.Column("zone", sa.String(64)),
        sa.Column("partner", sa.String(64)),
        sa.Column("premium", sa.JSON),  # A3: {"offering": ..., "expert": ...}
    )
    sa.Table(
        "partners",
        metadata,
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320)),
        sa.Column("phone", sa.String(200)),
        sa.Column("url", sa.String(300)),
        sa.Column("support_now_validated", sa.Boolean, nullable=False, default=False),
    )
    sa.Table(
        "contacts",
        metadata,
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("account_id", sa.String(64), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320)),
        sa.Column("phone", sa.String(200)),
        sa.Column("approver", sa.Boolean, nullable=False, default=False),
    )


def _people(metadata: sa.MetaData) -> None:
    """Engineers, authorised locations, the Escalation Manager rota and the support director
    (E1, E3, U2, U7)."""
    sa.Table(
        "engineers",
        metadata,
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("level", sa.String(4), nullable=False),
        sa.Column("skills", sa.JSON, nullable=False),
        sa.Column("shift", sa.JSON, nullable=False),
        sa.Column("email", sa.String(320)),
        sa.Column("citizenship", sa.JSON),
        sa.Column("work_location", sa.String(64)),
        sa.Column("restricted_queue_only", sa.Boolean, nullable=False, default=False),
        sa.Column("partner", sa.String(64)),
        sa.Column("zone", sa.String(64)),  # A3: a premium expert's business-hours zone
    )
    sa.Table("authorised_locations", metadata, sa.Column("id", sa.String(64), primary_key=True))
    sa.Table(
        "escalation_managers",
        metadata,
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("rota_position", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320)),
        sa.Column("phone", sa.String(200)),
        sa.Column("shift", sa.JSON, nullable=False),
    )
    sa.Table(
        "support_director",
        metadata,
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320)),
        sa.Column("phone", sa.String(200)),
    )


def _case_work(metadata: sa.MetaData) -> None:
    """Case numbers, assignments and Problem Reports (E1, E2)."""
    sa.Table(
        "case_numbers",
        metadata,
        sa.Column("number", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    sa.Table(
        "assignments",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
        sa.Column("case_id", sa.String(32), nullable=False, index=True),
        sa.Column("engineer_id", sa.String(64), nullable=False, index=True),
        sa.Column("level", sa.String(4), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True)),
    )
    sa.Table(
        "problem_reports",
        metadata,
        sa.Column("number", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
        sa.Column("case_id", sa.String(32), nullable=False, index=True),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("filed_by", sa.String(64), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
    )


def _log_sharing(metadata: sa.MetaData) -> None:
    """Log-sharing approvals and what was shared (U6)."""
    sa.Table(
        "log_approvals",
        metadata,
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column("case_id", sa.String(32), nullable=False, index=True),
        sa.Column("logs", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.String(64)),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("pr_id", sa.String(32)),
    )
    sa.Table(
        "shared_logs",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("pr_id", sa.String(32), nullable=False, index=True),
        sa.Column("attachment_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("approval_request_id", sa.String(64), nullable=False),
        sa.Column("shared_at", sa.DateTime(timezone=True), nullable=False),
    )


def _records(metadata: sa.MetaData) -> None:
    """Referrals (P2), the report's case facts (S3), the outbox and escalations (E3)."""
    sa.Table(
        "referrals",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(64), nullable=False, unique=True),
        sa.Column("account", sa.String(64), nullable=False, index=True),
        sa.Column("contact", sa.String(64), nullable=False),
        sa.Column("partner", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    sa.Table(
        "case_facts",
        metadata,
        sa.Column("case_id", sa.String(32), primary_key=True),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("priority", sa.String(4), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("responded_at", sa.DateTime(timezone=True)),
        sa.Column("breached_at", sa.DateTime(timezone=True)),
    )
    sa.Table(
        "outbox",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
        sa.Column("case_id", sa.String(32), index=True),
        sa.Column("recipient_kind", sa.String(32), nullable=False),
        sa.Column("recipient_id", sa.String(64), nullable=False),
        sa.Column("address", sa.String(320)),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    sa.Table(
        "escalations",
        metadata,
        sa.Column("escalation_id", sa.String, primary_key=True),  # "<case_id>-E<n>", n from 1
        sa.Column("case_id", sa.String, nullable=False),
        sa.Column("account", sa.String, nullable=False),
        sa.Column("tier", sa.String, nullable=False),
        sa.Column("priority", sa.String, nullable=False),
        sa.Column("channel", sa.String, nullable=False),  # "online", "phone" or "sla_breach"
        sa.Column("reason", sa.String, nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String, nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    )


def upgrade() -> None:
    metadata = sa.MetaData()
    baseline(metadata)
    metadata.create_all(op.get_bind(), checkfirst=False)


def downgrade() -> None:
    metadata = sa.MetaData()
    baseline(metadata)
    metadata.drop_all(op.get_bind(), checkfirst=False)
