"""The relay's lanes (issue 27): `deliveries`, one row per outbox row and channel (email, chat,
page, webhook) with that channel's own attempts, retry time, error and delivery, so that a slow
webhook receiver never holds an Escalation Manager's mail or page. The outbox row keeps the
summary it had. Rows pending at the upgrade get their deliveries when the relay first takes
them (the channels they list as done are not sent again).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("outbox_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("channel", sa.String(16), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("failed_attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.Text),
    )
    op.create_index(
        "ix_deliveries_channel_status_next_attempt_at",
        "deliveries",
        ["channel", "status", "next_attempt_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_channel_status_next_attempt_at", "deliveries")
    op.drop_table("deliveries")
