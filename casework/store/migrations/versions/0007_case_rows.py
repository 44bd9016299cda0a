"""The case list's rows (issue 26): `case_rows`, one per case, written by the case workflow
whenever what the list shows changes, so that the list pages with a cursor, says how many
match, sorts by any column and searches subjects and descriptions on SQLite and PostgreSQL
(Temporal's visibility does neither text search nor custom sorting on the dev server). No
backfill: a case writes its row from its next run (cases opened before it: at their next
roll-over), and a row without a subject shows its
description's first line.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_rows",
        sa.Column("case_id", sa.String(64), primary_key=True),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("priority", sa.String(4), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("level", sa.String(4), nullable=False),
        sa.Column("owner", sa.String(64)),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("restricted", sa.Boolean, nullable=False),
        sa.Column("breached", sa.Boolean, nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("responded_at", sa.DateTime(timezone=True)),
        sa.Column("clock", sa.JSON, nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("subject_key", sa.String(120), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
    )
    for column in ("account", "owner", "queue", "opened_at"):
        op.create_index(f"ix_case_rows_{column}", "case_rows", [column])


def downgrade() -> None:
    for column in ("account", "owner", "queue", "opened_at"):
        op.drop_index(f"ix_case_rows_{column}", "case_rows")
    op.drop_table("case_rows")
