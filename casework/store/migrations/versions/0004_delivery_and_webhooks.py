"""Notifications that reach people (issue 14): the outbox records its delivery, people have
channels, integrations subscribe to case events.

- `outbox`: status, attempts, failed_attempts, next_attempt_at, delivered_at, last_error,
  channels_done. Rows queued before this revision were never meant to be sent (delivery was
  outside the engine): they are marked `before_relay`, so an upgrade does not mail old news.
- `notify_channels`: each person's channels (email, chat, page), from the directory file.
- `webhooks`: integrations' subscriptions, with the secret the relay signs with (sealed).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(
            sa.Column("status", sa.String(16), nullable=False, server_default="pending")
        )
        batch.add_column(sa.Column("attempts", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("failed_attempts", sa.Integer, nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("delivered_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("last_error", sa.Text))
        batch.add_column(sa.Column("channels_done", sa.JSON))
    op.execute("UPDATE outbox SET status = 'before_relay'")
    op.create_index("ix_outbox_status_next_attempt_at", "outbox", ["status", "next_attempt_at"])
    op.create_table(
        "notify_channels",
        sa.Column("person_id", sa.String(64), primary_key=True),
        sa.Column("channels", sa.JSON, nullable=False),
    )
    op.create_table(
        "webhooks",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("url", sa.String(300), nullable=False),
        sa.Column("events", sa.JSON, nullable=False),
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True)),
    )


def downgrade() -> None:
    op.drop_table("webhooks")
    op.drop_table("notify_channels")
    op.drop_index("ix_outbox_status_next_attempt_at", "outbox")
    with op.batch_alter_table("outbox") as batch:
        for column in (
            "channels_done",
            "last_error",
            "delivered_at",
            "next_attempt_at",
            "failed_attempts",
            "attempts",
            "status",
        ):
            batch.drop_column(column)
